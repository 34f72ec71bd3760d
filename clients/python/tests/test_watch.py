"""proxy.watch() and proxy.mirror() (docs/python.md, "Watch and mirror")."""
import multiprocessing

import pytest

import mpstore
from conftest import join_all


def test_watch_a_list(manager):
    lst = manager.list([0])
    with lst.watch(timeout=10) as w:
        lst.append(1)
        lst.extend([2, (3,)])
        lst[0] = "zero"
        lst.pop(0)
        lst.clear()
        changes = [next(w) for _ in range(5)]
    assert [(c.op, c.value, c.index) for c in changes] == [
        ("list_insert", [1], 1), ("list_insert", [2, (3,)], 2), ("list_set", "zero", 0),
        ("list_delete", None, 0), ("clear", None, 0)]
    revs = [c.revision for c in changes]
    assert revs == sorted(revs) and len(set(revs)) == 5
    assert all(c.name == lst.name and c.kind == "list" for c in changes)


def test_watch_a_dict_value_and_queue(manager):
    d, v, q = manager.dict(), manager.Value("i", 0), manager.Queue()
    wd, wv, wq = d.watch(timeout=10), v.watch(timeout=10), q.watch(timeout=10)
    d[5] = "five"
    d.update(a=1, b=[2])
    del d["a"]
    v.add(3)
    v.value = "x"
    q.put({"job": 1})
    q.get()
    assert [(c.op, c.value) for c in (next(wd), next(wd), next(wd))] == [
        ("dict_set", {5: "five"}), ("dict_set", {"a": 1, "b": [2]}), ("dict_delete", ["a"])]
    assert [(c.op, c.value) for c in (next(wv), next(wv))] == [("set", 3), ("set", "x")]
    assert [(c.op, c.value, c.count) for c in (next(wq), next(wq))] == [
        ("queue_put", [{"job": 1}], 0), ("queue_get", None, 1)]
    for w in (wd, wv, wq):
        assert w.next(0.2) is None  # nothing else
        w.close()


def test_watch_from_a_revision_and_resync(manager):
    lst = manager.list()
    lst.append("a")
    first = next(iter(lst.watch(from_revision=1, timeout=10)))  # replays history
    assert first.op in ("create", "list_insert")
    w = lst.watch(resync_first=True, timeout=10)
    r = next(w)
    assert r.op == "resync" and r.value == ["a"]
    lst.append("b")
    assert next(w).value == ["b"] and w.revision >= r.revision
    w.close()


def _writer(d, n):
    for i in range(n):
        d["k%d" % (i % 7)] = i
    d["done"] = True


def test_mirror_follows_another_process(manager):
    d = manager.dict()
    with d.mirror() as m:
        assert len(m) == 0 and m.get("done") is None
        p = multiprocessing.get_context("spawn").Process(target=_writer, args=(d, 200))
        p.start()
        assert join_all([p]) == [0]
        assert m.sync(timeout=30)
        assert m.copy() == d.copy() and m["done"] is True and "k3" in m
        with pytest.raises(KeyError):
            m["nope"]
        d[42] = "int key"  # encoded keys read back as they were
        m.sync(30)
        assert m[42] == "int key" and 42 in m.keys()


def test_mirror_of_list_and_value(manager):
    lst, v = manager.list(range(5)), manager.Value("i", 1)
    ml, mv = lst.mirror(), v.mirror()
    lst.append([5])
    v.add(9)
    ml.sync(30)
    mv.sync(30)
    assert ml[-1] == [5] and len(ml) == 6 and list(ml) == lst[:] and ml[1:3] == [1, 2]
    assert mv.value == 10
    with pytest.raises(IndexError):
        ml[10]
    ml.close()
    mv.close()
    with pytest.raises(TypeError):
        manager.Lock().mirror()


def _daemon_requests(manager):
    res, _, _ = manager._conn.run([(mpstore._core.OP_STATS, "")])
    stats = dict(line.split("=", 1) for line in res[0][3])
    return int(stats["requests"])


def test_mirror_reads_do_not_ask_the_daemon(manager):
    d = manager.dict(k="v")
    m = d.mirror()
    m.sync(30)
    before = _daemon_requests(manager)
    for _ in range(10000):
        assert m["k"] == "v"
    # the watch's own catch-ups and keepalives may run meanwhile, not 10000
    assert _daemon_requests(manager) - before < 100
    m.close()


def test_namespace_watch_through_the_module(manager):
    n = manager.Namespace()
    w = mpstore.watch(n, timeout=10)
    n.x = 1
    assert next(w).value == {"x": 1}
    m = mpstore.mirror(n)
    m.sync(30)
    assert m.x == 1
    m.close()
    w.close()
