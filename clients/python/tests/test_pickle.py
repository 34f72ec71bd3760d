"""Proxies pickle by reference (container name, daemon address, a proxy's
few settings; never the contents, never the auth key except to a child
being started) and work in Process and Pool workers under fork, spawn and
forkserver, each process with its own connection and session."""
import multiprocessing
import os
import pickle

import pytest

import mpstore
from conftest import START_METHODS, get_while_alive, join_all


def test_pickle_is_a_reference(manager):
    big = manager.list(range(10000))
    data = pickle.dumps(big)
    assert len(data) < 300  # a name, not 10000 elements
    again = pickle.loads(data)
    assert again.name == big.name and len(again) == 10000
    again.append("x")
    assert big[-1] == "x"


def test_every_proxy_type_survives_pickling(manager):
    proxies = [manager.list(), manager.dict(), manager.Namespace(), manager.Value("d", 1.5),
               manager.Array("h", 3), manager.Queue(4), manager.JoinableQueue(), manager.Lock(),
               manager.RLock(), manager.Semaphore(2), manager.BoundedSemaphore(), manager.Event(),
               manager.Condition(), manager.Barrier(3, timeout=2.5)]
    for p in proxies:
        q = pickle.loads(pickle.dumps(p))
        assert type(q) is type(p) and q._name == p._name and q._tid == p._tid
        assert q._getstate() == p._getstate() and repr(q).split(" at ")[0] == \
            repr(p).split(" at ")[0]


def test_auth_key_travels_only_to_children(tmp_path):
    key = b"k3y-for-this-test"
    m = mpstore.Manager(authkey=key)
    try:
        lst = m.list([1])
        assert key not in pickle.dumps(lst)
        from multiprocessing.context import set_spawning_popen
        set_spawning_popen(object())
        try:
            assert key in pickle.dumps(lst)
        finally:
            set_spawning_popen(None)
    finally:
        m.shutdown()


def _worker(lst, counter, lock, hits, n):
    for i in range(n):
        lst.append((os.getpid(), i))
        with lock:
            counter.value += 1  # two requests: safe under the lock only
        hits.add(1)  # one atomic op


def test_processes(manager, ctx):
    lst, counter, lock = manager.list(), manager.Value("i", 0), manager.Lock()
    hits = manager.Value("i", 0)
    procs = [ctx.Process(target=_worker, args=(lst, counter, lock, hits, 20)) for _ in range(3)]
    for p in procs:
        p.start()
    assert join_all(procs) == [0, 0, 0]
    assert len(lst) == 60 and counter.value == 60 and hits.value == 60
    assert len({pid for pid, _ in lst}) == 3


def _square_into(d, x):
    d[x] = x * x
    return os.getpid()


def test_pool(manager, ctx):
    d = manager.dict()
    with ctx.Pool(2) as pool:
        pids = pool.starmap(_square_into, [(d, i) for i in range(20)])
    assert d.copy() == {i: i * i for i in range(20)}
    assert os.getpid() not in pids


def _put_proxies(q, n):
    for i in range(n):
        q.put(q)  # a proxy through a queue: its reference
    q.put(None)


@pytest.mark.parametrize("method", START_METHODS)
def test_proxies_through_a_queue(manager, method):
    q = manager.Queue()
    p = multiprocessing.get_context(method).Process(target=_put_proxies, args=(q, 3))
    p.start()
    got = []
    while True:
        item = get_while_alive(q, p)
        if item is None:
            break
        got.append(item)
    assert join_all([p]) == [0]
    assert [g.name for g in got] == [q.name] * 3


def test_manager_object_in_forked_child_makes_containers(manager):
    """Under fork a child may use the manager object it inherited: names
    carry the pid, so the parent's and the child's never clash."""
    ctx = multiprocessing.get_context("fork")
    out = manager.Queue()
    p = ctx.Process(target=_make_in_child, args=(manager, out))
    p.start()
    name = get_while_alive(out, p)
    assert join_all([p]) == [0]
    assert name != manager.list().name and manager.attach(name)[:] == ["child"]


def _make_in_child(manager, out):
    out.put(manager.list(["child"]).name)
