"""Connections: one daemon address as seen from one process.

A :class:`Connection` hands each thread its own ``_core.Client`` (its own
daemon session), opened on first use: locks, rlocks and conditions belong
to a session, and Python's belong to a thread, so two threads of one
process must not share one (Python's managers also give each thread its
own connection). A forked child drops what it inherited and opens its own
clients lazily, so a proxy works in the process that unpickled or inherited
it. Connections are kept per (address, authkey) for the life of the
process: a proxy unpickled in another process finds (or makes) its own.
"""
import os
import threading

from . import _core, _errors

DEFAULT_TIMEOUT = 30.0  # seconds a non-blocking request may take

_registry = {}
_registry_lock = threading.Lock()


class Connection:
    def __init__(self, url, authkey=None, timeout=None):
        self.url = url
        self.authkey = bytes(authkey) if authkey else None
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        self.closed = False
        self._tls = threading.local()
        self._pid = os.getpid()

    def __repr__(self):
        return "<mpstore.Connection %s%s>" % (self.url, " closed" if self.closed else "")

    @classmethod
    def get(cls, url, authkey=None, timeout=None):
        """The process's connection to url (made on first use)."""
        key = (url, bytes(authkey) if authkey else None)
        with _registry_lock:
            conn = _registry.get(key)
            if conn is None or conn.closed:
                conn = _registry[key] = cls(url, authkey, timeout)
            return conn

    def client(self):
        """This thread's client, opened on first use."""
        try:
            return self._tls.c
        except AttributeError:
            return self._open()

    def _open(self):
        if self.closed:
            raise _errors.ConnectionError(
                _core.ERR_CLOSED, "the manager of %s was shut down" % self.url)
        try:
            c = _core.Client(self.url, int(self.timeout * 1000), self.authkey, self)
        except _core.Error as e:
            code, msg = e.args
            if code == _core.ERR_INVALID and "fork" in msg:
                raise _errors.ForkError(code, msg) from None
            raise _errors.translate(e) from None
        self._tls.c = c
        return c

    def close(self):
        """Stop handing out clients: each thread's next call fails at once
        (its client is dropped with the old thread-local store)."""
        self.closed = True
        c = getattr(self._tls, "c", None)
        self._tls = threading.local()
        if c is not None:
            c.close()

    def _after_fork(self):
        # the parent's clients belong to the parent's sessions
        self._tls = threading.local()
        self._pid = os.getpid()

    # ---- one-off requests used by the manager and the proxies ----

    def run(self, ops, compares=None, else_ops=None, raw=False):
        try:
            return self.client().run(ops, compares, else_ops, raw)
        except _core.Error as e:
            raise _errors.translate(e) from None


def lookup(url, authkey=None):
    """The connection a proxy unpickled here uses: the process's own to
    url (whatever its key) if it has one, else a new one with authkey."""
    with _registry_lock:
        for (u, _), conn in _registry.items():
            if u == url and not conn.closed and (authkey is None or conn.authkey == authkey):
                return conn
    return Connection.get(url, authkey)


def _after_fork_in_child():
    global _registry_lock
    _registry_lock = threading.Lock()  # another thread may have held it at fork
    for conn in list(_registry.values()):
        conn._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
