"""mpstore's exceptions, and the translation of libmpstore's error codes
into the exceptions Python's own types raise (docs/python.md, "Errors").

Every failure libmpstore reports arrives as ``_core.Error(code, message)``.
Where Python has an exception for the situation (IndexError for a list
index, KeyError for a dict key, queue.Empty, threading.BrokenBarrierError,
...), the proxies raise that; the rest become the classes below, all
subclasses of :class:`Error`.
"""
import builtins
import multiprocessing

from . import _core


class Error(Exception):
    """A failure reported by mpstored or libmpstore. ``code`` is the
    status number (docs/errors.md), ``name`` its name."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.name = _core.err_name(code)

    def __reduce__(self):
        return type(self), (self.code, self.args[0])


class ConnectionError(Error, builtins.ConnectionError):
    """The daemon cannot be reached (or the handle is closed)."""


class AuthenticationError(Error, multiprocessing.AuthenticationError):
    """The daemon wants an auth key and the manager's is missing or wrong."""


class ContainerGone(Error, LookupError):
    """The container behind a proxy does not exist (deleted, or its
    manager shut down)."""


class KindError(Error, TypeError):
    """A named container exists with another kind than the one asked for."""


class ForkError(Error, RuntimeError):
    """libmpstore refused to open a handle in a forked child of a process
    that used it (a library without fork-safe handles)."""


_BY_CODE = {
    _core.ERR_CONNECT: ConnectionError,
    _core.ERR_CLOSED: ConnectionError,
    _core.ERR_TRANSPORT: ConnectionError,
    _core.ERR_AUTH: AuthenticationError,
    _core.ERR_NOT_FOUND: ContainerGone,
    _core.ERR_WRONG_KIND: KindError,
    _core.ERR_EXISTS: KindError,
}


def translate(err):
    """An mpstore exception for a ``_core.Error`` with no better match."""
    code, message = err.args
    if code == _core.ERR_WRONG_TYPE:
        return TypeError(message)
    if code in (_core.ERR_LIMIT, _core.ERR_NOMEM) and "memory" in message:
        return MemoryError(message)
    return _BY_CODE.get(code, Error)(code, message)
