"""list, dict and Namespace proxies against Python's own list, dict and
Namespace: the same results, the same exceptions with the same messages."""
import pytest


def both(manager, ops, start):
    """Apply each op to a real list and a proxy; compare results/errors."""
    real, prox = list(start), manager.list(start)
    for op in ops:
        outcome = []
        for target in (real, prox):
            try:
                outcome.append(("ok", op(target)))
            except Exception as e:  # the same type and message
                outcome.append(("err", type(e), str(e)))
        assert outcome[0] == outcome[1], (op, outcome)
        assert prox[:] == real
    return prox


LIST_OPS = [
    lambda l: l[1], lambda l: l[-1], lambda l: l[10], lambda l: l[1:3], lambda l: l[::2],
    lambda l: l[-2:], lambda l: l[5:1], lambda l: l["x"], lambda l: l.append(9),
    lambda l: l.insert(0, -1), lambda l: l.insert(100, 100), lambda l: l.insert(-1, "x"),
    lambda l: l.pop(), lambda l: l.pop(0), lambda l: l.pop(50), lambda l: l.index(3),
    lambda l: l.index(42), lambda l: l.count(3), lambda l: 3 in l, lambda l: "x" in l,
    lambda l: l.remove("x"), lambda l: l.remove("x"), lambda l: l.remove(3),
    lambda l: l.remove((1, 2)), lambda l: l.extend([(1, 2), 5.5]), lambda l: len(l),
    lambda l: l.__setitem__(0, "zero"), lambda l: l.__setitem__(99, 0),
    lambda l: l.__setitem__(slice(1, 3), ["a", "b", "c"]), lambda l: l.__delitem__(0),
    lambda l: l.__delitem__(slice(0, 2)), lambda l: l.__delitem__(77), lambda l: l.reverse(),
    lambda l: l.__setitem__(slice(None, None, 2), [0] * len(l[::2])),
    lambda l: l.sort(key=str), lambda l: l.sort(key=str, reverse=True), lambda l: list(l),
    lambda l: list(reversed(l)), lambda l: l + [1], lambda l: [1] + l, lambda l: l * 2,
    lambda l: 2 * l, lambda l: l.clear(), lambda l: l.pop(),
]


def test_list_matches_python(manager):
    both(manager, LIST_OPS, [1, 2, 3, 4, 5])


def test_list_operators(manager):
    a = manager.list([1, 2])
    a += [3]
    assert a[:] == [1, 2, 3]
    a *= 2
    assert a[:] == [1, 2, 3, 1, 2, 3]
    a *= 0
    assert a[:] == []
    b = manager.list([1, 2])
    assert b == [1, 2] and b != [2] and b < [1, 3] and b >= [1, 2] and b == manager.list([1, 2])
    assert (b == "x") is False
    assert hash(b) == hash(b) and len({b, b}) == 1


def test_list_iteration_sees_changes_like_python(manager):
    a = manager.list(range(2500))  # more than one page
    assert list(a) == list(range(2500))
    it = iter(a)
    a[0] = "before"
    assert next(it) == "before"  # nothing is fetched before next()
    a[1500] = "later"  # a page not fetched yet (pages of 1000)
    rest = list(it)
    assert rest[1499] == "later" and len(rest) == 2499


def test_dict_matches_python(manager):
    real, d = {}, manager.dict()
    for target in (real, d):
        target["a"] = 1
        target[2] = "two"
        target.update({"b": [1]}, c=3)
        target.update([("d", 4)])
        target.setdefault("e", 5)
        target.setdefault("a", 99)
    assert d.copy() == real and list(d) == list(real) and d.items() == list(real.items())
    assert d.keys() == list(real.keys()) and d.values() == list(real.values())
    assert d.pop("a") == real.pop("a") and d.pop("zz", "dflt") == "dflt"
    with pytest.raises(KeyError):
        d.pop("zz")
    assert d.popitem() == real.popitem()
    assert d == real and d != {} and (d | {"z": 0}) == (real | {"z": 0})
    d |= {"y": 1}
    real |= {"y": 1}
    assert d.copy() == real
    with pytest.raises(KeyError) as e:
        d["missing"]
    assert e.value.args == ("missing",)
    with pytest.raises(KeyError):
        del d["missing"]
    d.clear()
    with pytest.raises(KeyError, match="popitem"):
        d.popitem()


def test_dict_get_returns_the_callers_default(manager):
    d = manager.dict()
    sentinel = object()
    assert d.get("x", sentinel) is sentinel and d.get("x") is None


def test_dict_iteration_raises_when_size_changes(manager):
    d = manager.dict({i: i for i in range(3000)})
    assert list(d) == list(range(3000))
    it = iter(d)
    next(it)
    d["new"] = 1
    next(it)  # within the page already fetched
    with pytest.raises(RuntimeError, match="changed size"):
        for _ in it:
            pass


def test_namespace(manager):
    n = manager.Namespace(a=1)
    n.b = [1]
    n.name = "a field called name"  # public names are the namespace's own
    n._local = "private"
    assert (n.a, n.b, n.name) == (1, [1], "a field called name")
    assert str(n) == "Namespace(a=1, b=[1], name='a field called name')"
    del n.a
    assert not hasattr(n, "a")
    with pytest.raises(AttributeError):
        del n.a
    other = manager.attach(n._name)
    assert other.b == [1] and not hasattr(other, "_local")


def test_named_containers_are_shared_and_typed(manager):
    jobs = manager.dict("jobs")
    jobs["x"] = 1
    assert manager.dict("jobs")["x"] == 1  # the same container
    assert manager.dict("jobs", {"ignored": 1}).copy() == {"x": 1}  # exists: kept as is
    fresh = manager.list("fresh")
    assert fresh.name == "fresh" and fresh[:] == []
    assert manager.list(name="filled", sequence=[1]).__getitem__(0) == 1
    with pytest.raises(TypeError, match="is a dict, not a list"):
        manager.list("jobs")
    assert type(manager.attach("jobs")).__name__ == "DictProxy"


def test_batch_sends_queued_calls_in_order(manager):
    lst, d, q = manager.list(), manager.dict(), manager.Queue()
    with manager.batch():
        for i in range(2500):  # over the 1000 that go out at once
            lst.append(i)
        d.update(a=1)
        q.put("x")
        assert len(lst) == 2500  # a call with a result sends what is queued first
        lst.extend([1, 2])
    assert lst[-3:] == [2499, 1, 2] and d["a"] == 1 and q.get() == "x"


def test_batch_errors_arrive_when_sent(manager):
    arr = manager.Array("i", 2)
    with pytest.raises(IndexError):
        arr[5] = 1
    lst = manager.list()
    typed = manager.Array("q", 1)
    with pytest.raises(mpstore_error()):
        with manager.batch():
            lst.append(1)
            typed._send(30, "x")  # a list op on an array: refused when sent
    assert lst[:] == [1]  # the ops before it were applied


def mpstore_error():
    import mpstore
    return mpstore.Error
