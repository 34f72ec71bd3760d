"""CPython's own manager tests, run against mpstore.Manager.

    python3 cpython_manager_tests.py fork|spawn|forkserver [unittest args]

Lib/test/_test_multiprocessing.py (Debian: libpython3.11-testsuite) builds
its WithManager* test classes from multiprocessing.Manager and its
TestSyncManagerTypes from multiprocessing.managers.SyncManager. This module
points both names at mpstore's before the suite is imported and installed
(also in the children that spawn and forkserver start, which import this
module again as __mp_main__), keeps only those classes, and runs them
under one start method.

Tests that cannot apply to mpstore are skipped with the reason (the same
list is in docs/python.md). Every other test counts, under fork too:
when a child cannot open a libmpstore handle (mpstore.ForkError) the test
is stopped at once and fails, rather than waiting for the work the child
will never do.
"""
import functools
import multiprocessing
import multiprocessing.managers
import os
import signal
import sys
import tempfile
import threading
import unittest

import mpstore
import mpstore._conn

START_METHOD = os.environ.setdefault(
    "MPSTORE_TEST_START_METHOD", sys.argv[1] if __name__ == "__main__" and len(sys.argv) > 1
    else "spawn")

multiprocessing.Manager = mpstore.Manager
multiprocessing.managers.SyncManager = mpstore.SyncManager

import test._test_multiprocessing as suite  # noqa: E402  (after the substitution)

suite.install_tests_in_module_dict(globals(), START_METHOD)
for _name in [n for n, v in globals().items() if isinstance(v, type)
              and issubclass(v, unittest.TestCase)]:
    if not (_name.startswith("WithManager") or _name == "TestSyncManagerTypes"):
        del globals()[_name]

HOLDER_DEATH = ("a process that ends releases what it holds (holder death, docs/sync.md): "
                "the child's grant is gone when the parent releases it")
NOT_APPLICABLE = {
    "TestSyncManagerTypes.test_lock": HOLDER_DEATH + " (RuntimeError: release unlocked lock)",
    "TestSyncManagerTypes.test_bounded_semaphore": HOLDER_DEATH +
        " (ValueError: the returned unit would pass the bound)",
    "TestSyncManagerTypes.test_pool": "Manager.Pool() is a Pool of the calling process, not "
        "of a server process, and a Pool cannot be passed to another process",
    "WithManagerTestPool.test_make_pool": "Manager.Pool() is a Pool of the calling process: "
        "a bad size raises ValueError there, not a server's RemoteError",
}

# a test that blocks for ever fails instead (waits are interruptible, docs/python.md)
TEST_TIMEOUT = int(os.environ.get("MPSTORE_TEST_TIMEOUT", "120"))
MAIN_PID = int(os.environ.setdefault("MPSTORE_TEST_MAIN_PID", str(os.getpid())))
FORK_MARK = os.environ.setdefault(
    "MPSTORE_FORK_MARK", os.path.join(tempfile.gettempdir(), "mpstore-forkmark-%d" % MAIN_PID))


def _record_fork_error():
    """In a forked child that cannot open a handle: note its pid (the main
    process's watchdog looks for it)."""
    _open = mpstore._conn.Connection._open

    def _open_marking(self):
        try:
            return _open(self)
        except mpstore.ForkError:
            with open(FORK_MARK, "a") as f:
                f.write("%d\n" % os.getpid())
            raise
    mpstore._conn.Connection._open = _open_marking


_record_fork_error()

_running = {"test": False, "pids": set()}


def _record_starts():
    start = multiprocessing.process.BaseProcess.start

    def start_recording(self):
        start(self)
        _running["pids"].add(self.pid)
    multiprocessing.process.BaseProcess.start = start_recording


_record_starts()


class _Timeout(Exception):
    pass


class _ForkUnsupported(Exception):
    pass


def _on_alarm(signum, frame):
    if _running["test"]:
        raise _Timeout("test took more than %d s" % TEST_TIMEOUT)


def _marked_pids():
    try:
        with open(FORK_MARK) as f:
            return {int(line) for line in f if line.strip()}
    except OSError:
        return set()


def _on_fork_error(signum, frame):
    if _running["test"]:
        raise _ForkUnsupported("a child forked by this test could not open a libmpstore "
                               "handle (mpstore.ForkError)")


def _watchdog(stop, main):
    """While a test runs: once one of its children could not open a
    handle, interrupt the main thread (again every half second: a signal
    handler's exception is dropped where Python ignores exceptions), so
    the test stops waiting for work the child will never do."""
    while not stop.wait(0.2):
        if _marked_pids() & _running["pids"]:
            signal.pthread_kill(main, signal.SIGUSR1)
            stop.wait(0.3)


def _wrap(fn):
    @functools.wraps(fn)
    def run(self, *args, **kwargs):
        if os.path.exists(FORK_MARK):
            os.unlink(FORK_MARK)
        _running["pids"] = set()
        stop = threading.Event()
        dog = threading.Thread(target=_watchdog, args=(stop, threading.get_ident()), daemon=True)
        old = signal.signal(signal.SIGALRM, _on_alarm)
        old_usr1 = signal.signal(signal.SIGUSR1, _on_fork_error)
        _running["test"] = True
        dog.start()
        signal.alarm(TEST_TIMEOUT)
        try:
            return fn(self, *args, **kwargs)
        except BaseException:
            _running["test"] = False
            if START_METHOD == "fork" and _marked_pids() & _running["pids"]:
                # a forked child could not use libmpstore: the test fails,
                # and its cleanups would wait for threads that wait for
                # that child's work
                self._cleanups.clear()
            raise
        finally:
            _running["test"] = False
            stop.set()
            signal.alarm(0)
            dog.join()
            signal.signal(signal.SIGALRM, old)
            signal.signal(signal.SIGUSR1, old_usr1)
    return run


def _prepare():
    for cname, cls in list(globals().items()):
        if not (isinstance(cls, type) and issubclass(cls, unittest.TestCase)):
            continue
        for tname in unittest.TestLoader().getTestCaseNames(cls):
            reason = NOT_APPLICABLE.get("%s.%s" % (cname, tname))
            fn = getattr(cls, tname)
            setattr(cls, tname, unittest.skip(reason)(fn) if reason else _wrap(fn))


_prepare()


def main():
    argv = [sys.argv[0]] + sys.argv[2:]
    runner = unittest.TextTestRunner(verbosity=2)
    prog = unittest.main(module=__name__, argv=argv, exit=False, testRunner=runner)
    r = prog.result
    skipped = len(r.skipped)
    xfail = len(r.expectedFailures)
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    passed = r.testsRun - failed - skipped - xfail
    print("mpstore: CPython manager tests under %s: %d passed, %d failed, %d skipped, "
          "%d expected failures" % (START_METHOD, passed, failed, skipped, xfail))
    for title, items in (("expected failures", r.expectedFailures), ("skipped", r.skipped),
                         ("failed", r.failures + r.errors)):
        for test, why in items:
            why = why if title == "skipped" else why.strip().splitlines()[-1]
            print("mpstore: %s: %s: %s" % (title, test.id().split(".", 1)[1], why))
    if os.path.exists(FORK_MARK):
        os.unlink(FORK_MARK)
    # none run (the suite did not load) is a failure too
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
