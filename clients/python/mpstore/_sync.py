"""Proxies of the blocking kinds: Queue, Lock, RLock, Semaphore,
BoundedSemaphore, Condition, Event, Barrier (docs/python.md, docs/sync.md).

Locks belong to the calling thread's session (each thread has its own
client), so they behave as Python's do across threads and processes, and a
process that dies holding one releases it. Waits without a deadline are
made of one-second waits in the daemon, so Ctrl-C (and any signal handler)
gets through between them; a barrier wait (which a partial wait would
break) is sent once and waited for in slices, and an interrupted one breaks
the barrier, as threading.Barrier does.
"""
import math
import queue
import threading
import time

from . import _core as C
from ._containers import R_FLAG, _check
from ._proxy import BaseProxy, register

NOVAL = C.NOVAL
O_VALUE, O_COUNT, O_FLAG = 0, 1, 2  # fields of an op() result
CHUNK_MS = 1000  # longest single wait in the daemon for an unbounded wait
FOREVER = -1


_TOO_MANY_DONE = {C.ERR_INVALID: (ValueError, "task_done() called too many times")}
_NOTIFY_UNHELD = {C.ERR_NOT_OWNER: (RuntimeError, "cannot notify on un-acquired lock")}


def _deadline(block, timeout):
    """None (forever), or a monotonic deadline (now for a non-blocking call)."""
    if not block:
        return time.monotonic()
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return time.monotonic() + timeout


def _slice_ms(deadline):
    if deadline is None:
        return CHUNK_MS
    left = deadline - time.monotonic()
    return 0 if left <= 0 else min(CHUNK_MS, max(1, math.ceil(left * 1000)))


class _Waiter(BaseProxy):
    __slots__ = ()

    def _wait_op(self, code, deadline, value=NOVAL, again=(C.ERR_TIMEOUT,), until_flag=False):
        """Run a blocking op in slices until it completes or the deadline
        passes; the last slice's result, or _core.Error."""
        client = self._conn.client
        while True:
            ms = _slice_ms(deadline)
            try:
                r = client().op(code, self._name, value, 0, 0, 0, ms)
            except C.Error as e:
                if e.args[0] in again and ms > 0 and (
                        deadline is None or time.monotonic() < deadline):
                    continue
                raise
            if until_flag and not r[2] and ms > 0 and (
                    deadline is None or time.monotonic() < deadline):
                continue
            return r


@register
class QueueProxy(_Waiter):
    """queue.Queue's API (also JoinableQueue's: task_done() and join())."""

    _typeid = "Queue"
    _aliases = ("JoinableQueue",)
    _kind = C.KIND_QUEUE
    __slots__ = ("_maxsize",)

    def __init__(self, conn, name, manager=None, typeid=None, maxsize=0):
        super().__init__(conn, name, manager, typeid)
        self._maxsize = maxsize

    def _setstate(self, state):
        self._maxsize = state or 0

    def _getstate(self):
        return self._maxsize or None

    @property
    def maxsize(self):
        return self._maxsize

    def put(self, obj, block=True, timeout=None):
        if self._maxsize <= 0 and block:
            # an unbounded queue never makes a put wait (and it may be batched)
            self._send(C.OP_QUEUE_PUT, obj, 0, 0, 0, FOREVER)
            return
        try:
            self._wait_op(C.OP_QUEUE_PUT, _deadline(block, timeout), obj)
        except C.Error as e:
            if e.args[0] in (C.ERR_FULL, C.ERR_TIMEOUT):
                raise queue.Full from None
            raise self._error(e) from None

    def put_nowait(self, obj):
        return self.put(obj, False)

    def get(self, block=True, timeout=None):
        try:
            return self._wait_op(C.OP_QUEUE_GET, _deadline(block, timeout))[O_VALUE]
        except C.Error as e:
            if e.args[0] in (C.ERR_EMPTY, C.ERR_TIMEOUT):
                raise queue.Empty from None
            raise self._error(e) from None

    def get_nowait(self):
        return self.get(False)

    def qsize(self):
        return self._op(C.OP_QUEUE_SIZE)[1]

    def empty(self):
        return bool(self._op(C.OP_QUEUE_EMPTY)[2])

    def full(self):
        return bool(self._op(C.OP_QUEUE_FULL)[2])

    def task_done(self):
        self._op_raising(_TOO_MANY_DONE, C.OP_QUEUE_TASK_DONE)

    def join(self):
        try:
            self._wait_op(C.OP_QUEUE_JOIN, None)
        except C.Error as e:
            raise self._error(e) from None

    def _getvalue(self):
        return "<Queue %s: %d items>" % (self._name, self.qsize())


def _acquire_args(blocking, timeout):
    if not blocking and timeout not in (None, -1):
        raise ValueError("can't specify a timeout for a non-blocking call")
    return _deadline(blocking, None if timeout == -1 else timeout)  # threading's -1: forever


@register
class AcquirerProxy(_Waiter):
    """Lock, RLock, Semaphore and BoundedSemaphore (typeid says which)."""

    _typeid = "Lock"
    _aliases = ("RLock", "Semaphore", "BoundedSemaphore")
    __slots__ = ()

    @property
    def _is_sem(self):
        return self._tid in ("Semaphore", "BoundedSemaphore")

    def acquire(self, blocking=True, timeout=None):
        deadline = _acquire_args(blocking, timeout)
        code = C.OP_SEM_ACQUIRE if self._is_sem else C.OP_LOCK_ACQUIRE
        try:
            return bool(self._wait_op(code, deadline, until_flag=True)[O_FLAG])
        except C.Error as e:
            if e.args[0] == C.ERR_TIMEOUT:
                return False
            if e.args[0] == C.ERR_INVALID and "already held" in e.args[1]:
                # a Lock acquired again by the thread holding it: Python
                # would wait for another thread to release it, which
                # mpstore does not allow (only the holder releases)
                if deadline is None:
                    raise RuntimeError("deadlock: this thread already holds the Lock %r"
                                       % self._name) from None
                time.sleep(max(0.0, deadline - time.monotonic()))
                return False
            raise self._error(e) from None

    def release(self, n=1):
        try:
            if self._is_sem:
                if n < 1:
                    raise ValueError("n must be one or more")
                self._conn.client().op(C.OP_SEM_RELEASE, self._name, NOVAL, 0, n)
            else:
                self._conn.client().op(C.OP_LOCK_RELEASE, self._name)
        except C.Error as e:
            if e.args[0] == C.ERR_INVALID and self._is_sem:
                raise ValueError("Semaphore released too many times") from None
            if e.args[0] == C.ERR_NOT_OWNER:
                if self._tid == "Lock":
                    raise RuntimeError("release unlocked lock") from None
                raise RuntimeError("cannot release un-acquired lock") from None
            raise self._error(e) from None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def locked(self):
        if self._is_sem:
            return self._op(C.OP_SEM_VALUE)[1] == 0
        return bool(self._op(C.OP_LOCK_LOCKED)[2])

    def get_value(self):
        """A semaphore's value (what multiprocessing's get_value() says)."""
        if not self._is_sem:
            raise NotImplementedError("get_value() is for semaphores")
        return self._op(C.OP_SEM_VALUE)[1]

    def token(self):
        """The fencing token of the current grant (0 when free; locks)."""
        return self._op(C.OP_LOCK_LOCKED)[4]

    def _getvalue(self):
        return "<%s %s: %s>" % (self._tid, self._name,
                                "locked" if self.locked() else "unlocked")


@register
class ConditionProxy(AcquirerProxy):
    """threading.Condition with its own re-entrant lock."""

    _typeid = "Condition"
    _aliases = ()
    __slots__ = ()

    def wait(self, timeout=None):
        deadline = _deadline(True, timeout)
        try:
            # a slice that ends re-takes the lock before the next one waits;
            # nobody can notify while this thread holds the lock, so no
            # notification is lost between slices
            return bool(self._wait_op(C.OP_COND_WAIT, deadline, until_flag=True)[O_FLAG])
        except C.Error as e:
            if e.args[0] == C.ERR_NOT_OWNER:
                raise RuntimeError("cannot wait on un-acquired lock") from None
            raise self._error(e) from None

    def wait_for(self, predicate, timeout=None):
        result = predicate()
        if result:
            return result
        endtime = None if timeout is None else time.monotonic() + timeout
        waittime = None
        while not result:
            if endtime is not None:
                waittime = endtime - time.monotonic()
                if waittime <= 0:
                    break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n=1):
        self._op_raising(_NOTIFY_UNHELD, C.OP_COND_NOTIFY, NOVAL, 0, n)

    def notify_all(self):
        self._op_raising(_NOTIFY_UNHELD, C.OP_COND_NOTIFY_ALL)

    notifyAll = notify_all


@register
class EventProxy(_Waiter):
    """threading.Event."""

    _typeid = "Event"
    _kind = C.KIND_EVENT
    __slots__ = ()

    def is_set(self):
        return bool(self._op(C.OP_EVENT_IS_SET)[2])

    def set(self):
        self._send(C.OP_EVENT_SET)

    def clear(self):
        self._send(C.OP_EVENT_CLEAR)

    def wait(self, timeout=None):
        try:
            return bool(self._wait_op(C.OP_EVENT_WAIT, _deadline(True, timeout),
                                      until_flag=True)[O_FLAG])
        except C.Error as e:
            raise self._error(e) from None

    def _getvalue(self):
        return "<Event %s: %s>" % (self._name, "set" if self.is_set() else "unset")


ACTION_SUFFIX = ".action"


@register
class BarrierProxy(BaseProxy):
    """threading.Barrier. With an action, the last process to arrive runs
    it before anyone passes (a second barrier, NAME.action, holds the
    others until it is done)."""

    _typeid = "Barrier"
    _kind = C.KIND_BARRIER
    __slots__ = ("_parties", "_action", "_timeout")

    def __init__(self, conn, name, manager=None, typeid=None, state=(0, None, None)):
        super().__init__(conn, name, manager, typeid)
        self._setstate(state)

    def _setstate(self, state):
        self._parties, self._action, self._timeout = state

    def _getstate(self):
        return (self._parties, self._action, self._timeout)

    def _barrier_wait(self, name, ms):
        try:
            pending = self._conn.client().start(C.OP_BARRIER_WAIT, name, NOVAL, 0, 0, 0, ms)
            try:
                while True:
                    r = pending.wait(200)  # signal handlers run in between
                    if r is not None:
                        return r[O_COUNT]
            except C.Error:
                raise
            except BaseException:
                # interrupted (Ctrl-C): like threading.Barrier, break the
                # barrier, which also answers the wait the daemon holds
                try:
                    self._conn.client().op(C.OP_BARRIER_ABORT, name)
                    pending.wait(-1)
                except C.Error:
                    pass
                raise
        except C.Error as e:
            if e.args[0] == C.ERR_BROKEN:
                raise threading.BrokenBarrierError from None
            raise self._error(e) from None

    def wait(self, timeout=None):
        if timeout is None:
            timeout = self._timeout
        ms = FOREVER if timeout is None else max(0, math.ceil(timeout * 1000))
        index = self._barrier_wait(self._name, ms)
        if self._action is not None:
            if index == self._parties - 1:
                try:
                    self._action()
                except BaseException:
                    self.abort()
                    raise
            self._barrier_wait(self._name + ACTION_SUFFIX, ms)
        return index

    def _all(self, code):
        names = [self._name]
        if self._action is not None:
            names.append(self._name + ACTION_SUFFIX)
        res, _, _ = self._run([(code, n) for n in names])
        for r in res:
            _check(r)
        return res

    def abort(self):
        self._all(C.OP_BARRIER_ABORT)

    def reset(self):
        self._all(C.OP_BARRIER_RESET)

    @property
    def parties(self):
        return self._parties

    @property
    def n_waiting(self):
        return self._op(C.OP_BARRIER_INFO)[1]

    @property
    def broken(self):
        return any(r[R_FLAG] for r in self._all(C.OP_BARRIER_INFO))

    def _getvalue(self):
        return "<Barrier %s: %d parties>" % (self._name, self._parties)
