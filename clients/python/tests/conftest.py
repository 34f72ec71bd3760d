"""Fixtures for the mpstore package's unit tests (pytest).

Every test gets daemons of its own: `manager` is a private Manager per test
module (a private mpstored in its own temporary directory, stopped by
shutdown()); tests that need more start their own. Tests that start
workers run under each start method, fork included (a forked child opens
its own connection and session).
"""
import multiprocessing
import os

import pytest

import mpstore


START_METHODS = ["fork", "spawn", "forkserver"]


@pytest.fixture(scope="module")
def manager():
    m = mpstore.Manager()
    yield m
    m.shutdown()


@pytest.fixture(params=START_METHODS)
def ctx(request):
    """A multiprocessing context per start method."""
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
