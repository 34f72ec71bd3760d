"""A private mpstored for a Manager (docs/python.md, "The daemon").

Which mpstored: the ``mpstored=`` argument, else ``$MPSTORED``, else the
one installed next to the package (``mpstore/mpstored``), else ``mpstored``
on ``PATH``.

The daemon runs in a temporary directory of its own (mode 0700: only this
user reaches its socket), serves ``ipc://DIR/mpstore.ipc`` (or the address
given), publishes on ``ipc://DIR/pub.ipc`` and, by default, keeps nothing on
disk (``--durability memory``): its containers live as long as the manager.
A small ``/bin/sh`` guard started with it stops it when the manager's
process ends, however it ends (it waits for EOF on a pipe only this process
holds: forked children drop their copy).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import weakref

from . import _core

# the guard (sh -c GUARD mpstore-guard DIR MPSTORED ARGS...): start the
# daemon (output to the log), say its pid, wait for EOF on stdin, stop it,
# remove its directory (also when nobody is left to do it), exit with its
# status
_GUARD = ('dir=$1; shift; "$@" >&2 & pid=$!; echo $pid; read _; '
          'kill -TERM $pid 2>/dev/null; wait $pid; s=$?; rm -rf "$dir"; exit $s')

_live = weakref.WeakSet()  # daemons started by this process


def _after_fork_in_child():
    # a forked child must not keep its parent's daemon alive: it closes its
    # copy of the guard's pipe, and must not stop the daemon either
    for d in list(_live):
        p, d.proc = d.proc, None
        if p is not None:
            p.returncode = 0  # not the child's to wait for (and no warning when freed)
            for f in (p.stdin, p.stdout):
                try:
                    f.close()
                except (OSError, AttributeError):
                    pass


os.register_at_fork(after_in_child=_after_fork_in_child)


def find_mpstored(explicit=None):
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpstored")
    for cand in (explicit, os.environ.get("MPSTORED"), here, shutil.which("mpstored")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise FileNotFoundError(
        "mpstored not found: pass mpstored=PATH, set $MPSTORED, install it next to the "
        "mpstore package or on PATH")


class Daemon:
    def __init__(self, url=None, durability=None, db=None, authkey=None, exe=None,
                 extra_args=()):
        self.exe = find_mpstored(exe)
        self.dir = tempfile.mkdtemp(prefix="mpstore-")
        os.chmod(self.dir, 0o700)
        self.url = url or "ipc://%s/mpstore.ipc" % self.dir
        # with a key the daemon publishes nothing (an unauthenticated PUB
        # socket would hand every change to whoever connects): watches then
        # pull changes over their own authenticated connection
        self.pub = None if url or authkey else "ipc://%s/pub.ipc" % self.dir
        self.durability = durability or ("log" if db else "memory")
        self.db = db or (os.path.join(self.dir, "mpstore.db") if self.durability != "memory"
                         else ":memory:")
        self.authkey = authkey
        self.extra_args = list(extra_args)
        self.log = os.path.join(self.dir, "mpstored.log")
        self.proc = None
        self.pid = None
        self.owner = os.getpid()

    def start(self, timeout=10.0):
        args = [self.exe, "--listen", self.url, "--db", self.db,
                "--durability", self.durability]
        if self.pub:
            args += ["--pub", self.pub]
        if self.authkey:
            keyfile = os.path.join(self.dir, "authkey")
            fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(self.authkey)
            args += ["--auth-key-file", keyfile]
        args += self.extra_args
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["/bin/sh", "-c", _GUARD, "mpstore-guard", self.dir]
                                         + args,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, start_new_session=True)
        _live.add(self)
        line = self.proc.stdout.readline()
        try:
            self.pid = int(line)
        except ValueError:
            log = self.log_tail()
            self.stop()
            raise RuntimeError("mpstored did not start: %s" % log) from None
        self._wait_ready(timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                _core.Client(self.url, 2000, self.authkey).close()
                return
            except _core.Error as e:
                err = e
            if (self.proc.poll() is not None or not self._running()
                    or time.monotonic() > deadline):
                log = self.log_tail()  # before stop() removes the directory
                self.stop()
                raise RuntimeError("mpstored at %s did not answer (%s): %s"
                                   % (self.url, err.args[1], log))
            time.sleep(0.01)

    def _running(self):
        """False once mpstored has exited (a zombie under its guard, which
        waits on its pipe before it reaps it)."""
        try:
            with open("/proc/%d/stat" % self.pid, "rb") as f:
                return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except (OSError, IndexError):
            return False

    def log_tail(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-2000:].decode(errors="replace").strip() or "(no output)"
        except OSError:
            return "(no log)"

    def stop(self, timeout=10.0):
        """Stop the daemon (SIGTERM through its guard, then SIGKILL) and
        remove its directory. Returns its exit status (None: not running,
        or not started by this process)."""
        status = None
        if os.getpid() != self.owner:
            return None
        p, self.proc = self.proc, None
        if p is not None:
            try:
                p.stdin.close()  # the guard sends SIGTERM and waits for it
            except OSError:
                pass
            try:
                status = p.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in (self.pid, p.pid):
                    if pid:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
                status = p.wait()
            p.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return status
