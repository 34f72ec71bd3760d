"""BaseProxy: what every mpstore proxy shares.

A proxy is a container's name plus the Connection to its daemon; it holds
no data. Every call is one request (or a few, atomically, see
_containers.py) made with the calling thread's client. Pickling a proxy
pickles that reference (typeid, name, daemon address, and the few settings
a proxy keeps, e.g. an Array's typecode), never the contents, so a proxy
passed to a Process or a Pool worker, put in a Queue or stored in another
container names the same shared container in every process.
"""
from multiprocessing.context import get_spawning_popen

from . import _codec, _conn, _core, _errors

PROXY_TYPES = {}  # typeid -> proxy class


def register(cls):
    PROXY_TYPES[cls._typeid] = cls
    for alias in getattr(cls, "_aliases", ()):
        PROXY_TYPES[alias] = cls
    return cls


def _rebuild(typeid, name, url, authkey, state):
    """Unpickle a proxy (the reference pickled by BaseProxy.__reduce__)."""
    return PROXY_TYPES[typeid]._attach(_conn.lookup(url, authkey), name, state, typeid)


def _rebuild_ref(typeid, name, state, conn):
    """A proxy stored inside a value: it names a container of the daemon
    the value was read from."""
    if conn is None:
        raise _errors.Error(_core.ERR_INVALID, "a stored proxy read without a connection")
    return PROXY_TYPES[typeid]._attach(conn, name, state, typeid)


_codec._rebuild_ref = _rebuild_ref


class BaseProxy:
    """A reference to one shared container (``name``) of one daemon."""

    _typeid = None
    _kind = _core.KIND_NONE
    __slots__ = ("_conn", "_name", "_manager", "_tid", "__weakref__")

    def __init__(self, conn, name, manager=None, typeid=None):
        self._conn = conn
        self._name = name
        self._manager = manager  # keeps a private daemon alive while proxies live
        self._tid = typeid or self._typeid

    @classmethod
    def _attach(cls, conn, name, state, typeid=None):
        p = cls.__new__(cls)
        BaseProxy.__init__(p, conn, name, None, typeid)
        p._setstate(state)
        return p

    def _setstate(self, state):
        pass

    def _getstate(self):
        return None

    # ---- references ----

    def __reduce__(self):
        # the auth key travels only to a child being started (as Python's
        # proxies do): anywhere else the receiver uses its own
        authkey = self._conn.authkey if get_spawning_popen() is not None else None
        return (_rebuild, (self._tid, self._name, self._conn.url, authkey, self._getstate()))

    def _mps_ref(self):
        return ("mpstore", self._tid, self._name, self._getstate())

    @property
    def name(self):
        """The container's name in the daemon."""
        return self._name

    @property
    def address(self):
        """The daemon's address."""
        return self._conn.url

    def __repr__(self):
        return "<%s object, typeid %r at %#x>" % (type(self).__name__, self._tid, id(self))

    def __str__(self):
        try:
            return str(self._getvalue())
        except Exception as e:
            return repr(self)[:-1] + "; '__str__()' failed: %s>" % e

    def _getvalue(self):
        """A local copy of the shared object."""
        raise NotImplementedError

    def _callmethod(self, methodname, args=(), kwds={}):
        """Python's BaseProxy._callmethod, for code that calls it."""
        if methodname.startswith("_") and methodname not in _DUNDER_OK:
            raise _errors.Error(_core.ERR_INVALID, "method %r is not exposed" % methodname)
        return getattr(self, methodname)(*args, **kwds)

    def __hash__(self):
        return hash((self._conn.url, self._name))

    # ---- requests ----

    def _client(self):
        return self._conn.client()

    def _op(self, code, *args):
        """One op now: (value, count, flag, revision, token)."""
        try:
            return self._conn.client().op(code, self._name, *args)
        except _core.Error as e:
            raise self._error(e) from None

    def _op_raising(self, errors, code, *args):
        """_op(), with the statuses in errors ({status: (exception class,
        message)}) raised as those Python exceptions."""
        try:
            return self._conn.client().op(code, self._name, *args)
        except _core.Error as e:
            exc = errors.get(e.args[0])
            if exc is not None:
                raise exc[0](exc[1]) from None
            raise self._error(e) from None

    def _send(self, code, *args):
        """One op whose result is not needed (queued inside Manager.batch())."""
        try:
            self._conn.client().send(code, self._name, *args)
        except _core.Error as e:
            raise self._error(e) from None

    def _run(self, ops, compares=None, else_ops=None):
        try:
            return self._conn.client().run(ops, compares, else_ops)
        except _core.Error as e:
            raise self._error(e) from None

    def _error(self, e):
        return _errors.translate(e)

    # ---- watching (docs/python.md, "Watch and mirror") ----

    def watch(self, from_revision=0, resync_first=False, timeout=None):
        """Iterate over this container's changes as they are committed:
        :class:`mpstore.Change` tuples (revision, op, value, ...). Changes
        from ``from_revision`` on (0: from now on); ``timeout`` seconds
        without a change ends the iteration (None: never)."""
        from . import _watch
        return _watch.Watch(self, from_revision, resync_first, timeout)

    def mirror(self, timeout=5.0):
        """A local read-only copy, kept current by a watch: reads never ask
        the daemon. Lists, dicts, Namespaces, Values, Arrays and Queues."""
        from . import _watch
        return _watch.open_mirror(self, timeout)


_DUNDER_OK = {"__getitem__", "__setitem__", "__delitem__", "__len__", "__contains__",
              "__iter__", "__add__", "__mul__", "__rmul__", "__imul__", "__reversed__"}


def check_name(name):
    if not isinstance(name, str) or not name or len(name.encode()) > 255 or name.endswith("*"):
        raise ValueError("a container name is 1 to 255 bytes and does not end with '*': %r"
                         % (name,))
    return name
