"""Fixtures for the mpstore package's unit tests (pytest).

Every test gets daemons of its own: `manager` is a private Manager per test
module (a private mpstored in its own temporary directory, stopped by
shutdown()); tests that need more start their own. FORK_SAFE says whether
this libmpstore gives a forked child its own handle (probed once: a child
forked after the parent used a handle appends to a list); tests that fork
workers are expected to fail (mpstore.ForkError in the child) until it does.
"""
import multiprocessing
import os

import pytest

import mpstore


def _probe_fork_safe():
    m = mpstore.Manager()
    try:
        lst = m.list([0])
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                lst.append(1)
                code = 0
            except mpstore.ForkError:
                code = 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0 and lst[:] == [0, 1]
    finally:
        m.shutdown()


FORK_SAFE = _probe_fork_safe()
FORK_REASON = ("libmpstore without fork-safe handles: a child forked after its parent "
               "used libmpstore cannot open a handle (mpstore.ForkError)")
needs_fork_safe = pytest.mark.xfail(not FORK_SAFE, reason=FORK_REASON, strict=True)

START_METHODS = [pytest.param("fork", marks=needs_fork_safe), "spawn", "forkserver"]


@pytest.fixture(scope="module")
def manager():
    m = mpstore.Manager()
    yield m
    m.shutdown()


@pytest.fixture(params=START_METHODS)
def ctx(request):
    """A multiprocessing context per start method (fork: expected to fail
    until libmpstore's handles are fork-safe)."""
    return multiprocessing.get_context(request.param)


def join_all(procs, timeout=60):
    for p in procs:
        p.join(timeout)
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
    return [p.exitcode for p in procs]


def get_while_alive(q, proc, timeout=60):
    """q.get(), but fail as soon as proc has died (instead of waiting)."""
    import queue
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return q.get(timeout=0.2)
        except queue.Empty:
            if proc.exitcode not in (None, 0):
                raise AssertionError("the child died (exit status %s)" % proc.exitcode)
    raise AssertionError("nothing from the child in %d s" % timeout)
