"""Nested proxies (docs/python.md, "Nested containers"): a proxy stored in a
container is a reference, so changes through it are shared (as with
Python 3.6+'s managers); a plain list or dict stored in one is a copy, so
changing what d['k'] returned changes nothing shared (the pitfall of
CPython gh-91192, gh-76719, gh-80300), in every process."""
import multiprocessing

import pytest

from conftest import START_METHODS, join_all


def test_proxy_in_dict_is_shared(manager):
    d = manager.dict()
    d["jobs"] = manager.list()
    d["jobs"].append("a")
    d["jobs"].append("b")
    assert d["jobs"][:] == ["a", "b"]
    inner = d["jobs"]
    assert type(inner).__name__ == "ListProxy" and inner.name == d["jobs"].name


def test_plain_value_in_dict_is_a_copy(manager):
    d = manager.dict()
    d["k"] = []
    d["k"].append(1)  # appends to a local copy
    assert d["k"] == []
    tmp = d["k"]
    tmp.append(1)
    d["k"] = tmp  # the way to change a plain value: store it again
    assert d["k"] == [1]


def test_references_inside_plain_values(manager):
    a, b = manager.list([1]), manager.dict(x=1)
    outer = manager.list([[a, {"b": b}], (a,)])
    first = outer[0]
    assert type(first) is list
    first[0].append(2)
    first[1]["b"]["y"] = 2
    assert a[:] == [1, 2] and b.copy() == {"x": 1, "y": 2}
    assert outer[1][0][:] == [1, 2]


def test_self_reference_and_queues(manager):
    lst = manager.list()
    lst.append(lst)
    assert lst[0][0][0].name == lst.name
    q = manager.Queue()
    holder = manager.dict(q=q)
    holder["q"].put(5)
    assert q.get() == 5


def _child_appends(d):
    d["jobs"].append("from child")
    d["plain"].append("lost")


@pytest.mark.parametrize("method", START_METHODS)
def test_nested_in_another_process(manager, method):
    d = manager.dict()
    d["jobs"] = manager.list(["from parent"])
    d["plain"] = ["copy"]
    p = multiprocessing.get_context(method).Process(target=_child_appends, args=(d,))
    p.start()
    assert join_all([p]) == [0]
    assert d["jobs"][:] == ["from parent", "from child"]
    assert d["plain"] == ["copy"]


def test_nested_containers_outlive_the_local_proxy(manager):
    d = manager.dict()
    d["inner"] = manager.dict(a=1)  # the only proxy of it is gone at once
    import gc
    gc.collect()
    assert d["inner"]["a"] == 1
