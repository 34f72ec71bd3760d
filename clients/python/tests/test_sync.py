"""Queues and the synchronisation proxies: Python's exceptions, locks owned
by threads, holder death, barrier actions, waits that a signal interrupts."""
import os
import queue
import signal
import threading
import time

import pytest

import mpstore
from conftest import join_all


def test_queue_exceptions(manager):
    q = manager.Queue(2)
    q.put(1)
    q.put_nowait(2)
    assert q.full() and q.qsize() == 2
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.05)
    with pytest.raises(queue.Full):
        q.put(3, False)
    assert q.get() == 1 and q.get_nowait() == 2 and q.empty()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(ValueError, match="non-negative"):
        q.get(timeout=-1)
    j = manager.JoinableQueue()
    j.put(1)
    j.get()
    j.task_done()
    with pytest.raises(ValueError, match="too many times"):
        j.task_done()
    j.join()  # nothing unfinished


def test_lock_semantics(manager):
    lock = manager.Lock()
    assert lock.acquire() and not lock.acquire(False) and lock.locked()
    t0 = time.monotonic()
    assert lock.acquire(timeout=0.1) is False and time.monotonic() - t0 >= 0.09
    with pytest.raises(RuntimeError, match="deadlock"):
        lock.acquire()  # Python would hang for ever here
    lock.release()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    with lock:
        assert lock.locked()
    assert not lock.locked()


def test_locks_belong_to_threads(manager):
    lock, rlock = manager.Lock(), manager.RLock()
    assert lock.acquire() and rlock.acquire()
    seen = {}

    def other():
        seen["lock"] = lock.acquire(timeout=0.1)  # held by the main thread: waits
        seen["rlock"] = rlock.acquire(False)      # not re-entrant across threads
        try:
            rlock.release()
        except RuntimeError as e:
            seen["release"] = str(e)
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == {"lock": False, "rlock": False, "release": "cannot release un-acquired lock"}
    lock.release()
    rlock.release()


def test_semaphores(manager):
    s = manager.BoundedSemaphore(2)
    assert s.acquire() and s.acquire() and not s.acquire(False) and s.get_value() == 0
    s.release(2)
    with pytest.raises(ValueError, match="released too many times"):
        s.release()
    u = manager.Semaphore(0)
    assert u.acquire(timeout=0.05) is False
    u.release(3)
    assert u.get_value() == 3


def test_condition_between_threads(manager):
    cond, box = manager.Condition(), manager.list()

    def waiter():
        with cond:
            assert cond.wait_for(lambda: len(box) > 0, timeout=30)
            box.append("woken")
    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    with cond:
        box.append("go")
        cond.notify()
    t.join(30)
    assert box[:] == ["go", "woken"]
    with pytest.raises(RuntimeError, match="un-acquired"):
        cond.wait(0)
    with pytest.raises(RuntimeError, match="un-acquired"):
        cond.notify()
    with pytest.raises(NotImplementedError):
        manager.Condition(manager.Lock())


def _hold_lock(lock, held):
    lock.acquire()
    held.set()
    time.sleep(600)


def test_holder_death_releases_lock(manager):
    """A process holding m.Lock() is killed with SIGKILL; another one
    acquires it (Python's manager would keep it locked for ever)."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    lock, held = manager.Lock(), manager.Event()
    p = ctx.Process(target=_hold_lock, args=(lock, held))
    p.start()
    try:
        assert held.wait(60)
        assert lock.acquire(timeout=0.2) is False  # really held
        os.kill(p.pid, signal.SIGKILL)
        assert lock.acquire(timeout=30)  # freed when its connection closed
        lock.release()
    finally:
        join_all([p])


def test_barrier_action_runs_before_anyone_passes(manager):
    done = manager.list()
    b = manager.Barrier(3, action=lambda: done.append("action"))
    seen = []

    def party():
        b.wait()
        seen.append(len(done))
    ts = [threading.Thread(target=party) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert seen == [1, 1, 1] and done[:] == ["action"]
    assert b.parties == 3 and b.n_waiting == 0 and not b.broken


def test_barrier_breaks(manager):
    b = manager.Barrier(2)
    with pytest.raises(threading.BrokenBarrierError):
        b.wait(0.1)
    assert b.broken
    b.reset()
    assert not b.broken
    b.abort()
    with pytest.raises(threading.BrokenBarrierError):
        b.wait()


class Interrupt(Exception):
    pass


def test_waits_give_way_to_signals(manager):
    """An endless wait lets a signal handler run (Ctrl-C works); an
    interrupted barrier wait breaks the barrier, as threading.Barrier's."""
    def boom(signum, frame):
        raise Interrupt()
    old = signal.signal(signal.SIGALRM, boom)
    try:
        for wait in (manager.Event().wait, manager.Queue().get, manager.Semaphore(0).acquire,
                     manager.Barrier(2).wait):
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            t0 = time.monotonic()
            with pytest.raises(Interrupt):
                wait()
            assert time.monotonic() - t0 < 10
        b = manager.Barrier(2)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupt):
            b.wait()
        assert b.broken
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_container_gone(manager):
    lst = manager.list()
    manager.delete(lst)
    with pytest.raises(mpstore.ContainerGone):
        lst.append(1)
    with pytest.raises(LookupError):
        len(lst)
