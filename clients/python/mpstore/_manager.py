"""Manager() and SyncManager: multiprocessing's, over mpstored.

A manager is a daemon address plus the containers it made. ``start()``
starts a private mpstored (or, given an address where a daemon answers,
uses that one); ``connect()`` only connects. The factories create a
container and return its proxy; anonymous containers are named
``py.<manager id>.<pid>.<n>`` and are deleted by ``shutdown()`` (with the
whole private daemon, or one by one on a shared daemon); named ones
(``m.dict('jobs')``) outlive the manager on a shared daemon.
"""
import itertools
import multiprocessing.pool
import os
import secrets
import weakref
from multiprocessing import util
from multiprocessing.context import ProcessError

from . import _core as C
from . import _errors
from ._codec import enc_key
from ._conn import Connection
from ._containers import DictProxy, ListProxy, NamespaceProxy, R_STATUS, R_ERROR
from ._daemon import Daemon
from ._proxy import PROXY_TYPES, check_name
from ._sync import (AcquirerProxy, BarrierProxy, ConditionProxy, EventProxy, QueueProxy,
                    ACTION_SUFFIX)
from ._values import ArrayProxy, ValueProxy, TYPECODES, array_type, array_typecode

NOVAL = C.NOVAL
INITIAL, STARTED, SHUTDOWN = "initial", "started", "shutdown"
I_KIND, I_ELEM, I_KEY = 1, 2, 3  # fields of an info tuple

# typeid -> kind (what attach() picks for an existing container)
KIND_TYPEID = {C.KIND_LIST: "list", C.KIND_DICT: "dict", C.KIND_NAMESPACE: "Namespace",
               C.KIND_VALUE: "Value", C.KIND_ARRAY: "Array", C.KIND_QUEUE: "Queue",
               C.KIND_LOCK: "Lock", C.KIND_RLOCK: "RLock", C.KIND_SEMAPHORE: "Semaphore",
               C.KIND_BOUNDED_SEMAPHORE: "BoundedSemaphore", C.KIND_CONDITION: "Condition",
               C.KIND_EVENT: "Event", C.KIND_BARRIER: "Barrier"}


def address_url(address):
    """A daemon URL for what Python's managers take as an address: a URL,
    a (host, port) pair (tcp) or a filesystem path (ipc)."""
    if address is None:
        return None
    if isinstance(address, tuple):
        host, port = address
        return "tcp://%s:%d" % (host or "127.0.0.1", port)
    if "://" in address:
        return address
    return "ipc://" + os.path.abspath(address)


def _named(args, name):
    """(args, name): a str first positional argument names the container
    (``m.list('jobs', [1])``), the rest are the factory's own."""
    if args and isinstance(args[0], str):
        if name is not None:
            raise TypeError("name given twice")
        return args[1:], args[0]
    return args, name


class _Batch:
    """Manager.batch(): see there."""

    def __init__(self, conn):
        self._conn = conn

    def __enter__(self):
        c = self._c = self._conn.client()
        self._outer = c.batching
        if not self._outer:
            c.begin()
        return self

    def flush(self):
        """Send what is queued so far."""
        try:
            self._c.flush()
        except C.Error as e:
            raise _errors.translate(e) from None

    def __exit__(self, *exc):
        if self._outer:
            return
        try:
            self._c.end()
        except C.Error as e:
            if exc[0] is None:
                raise _errors.translate(e) from None


class SyncManager:
    """multiprocessing.managers.SyncManager over mpstored.

    address: None (a private daemon), a daemon URL ("ipc:///path",
    "tcp://host:port"), a (host, port) pair or a socket path. authkey: the
    daemon's auth key (bytes), None for none. Keyword-only extras:
    durability and db for a daemon start() starts (default: memory, nothing
    on disk), mpstored (its path), daemon_args (more mpstored flags),
    timeout (seconds one non-blocking request may take)."""

    def __init__(self, address=None, authkey=None, serializer="pickle", ctx=None, *,
                 shutdown_timeout=10.0, durability=None, db=None, mpstored=None,
                 daemon_args=(), timeout=None):
        if serializer != "pickle":
            raise ValueError("mpstore encodes values itself; serializer must be 'pickle'")
        self._url = address_url(address)
        self._authkey = bytes(authkey) if authkey is not None else None
        self._state = INITIAL
        self._daemon_opts = dict(durability=durability, db=db, exe=mpstored,
                                 extra_args=daemon_args)
        self._timeout = timeout
        self._shutdown_timeout = shutdown_timeout
        self._daemon = None
        self._conn = None
        self._prefix = "py.%s." % secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._pools = weakref.WeakSet()
        self._finalizer = None

    # ---- life cycle ----

    def start(self, initializer=None, initargs=()):
        """Start a private mpstored (no address, or nothing answers at the
        address), or use the daemon answering at the address.
        initializer is accepted for compatibility and not called: there is
        no Python server process to run it in."""
        if self._state != INITIAL:
            raise ProcessError("Already started server" if self._state == STARTED
                               else "Manager has shut down")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        daemon = None
        if self._url is None or not self._answers(self._url):
            daemon = Daemon(url=self._url, authkey=self._authkey, **self._daemon_opts)
            daemon.start()
            self._url = daemon.url
        self._begin(daemon)

    def connect(self):
        """Use the daemon at the address (which must answer)."""
        if self._url is None:
            raise ValueError("connect() needs an address")
        if self._state != INITIAL:
            raise ProcessError("Already started server")
        conn = Connection.get(self._url, self._authkey, self._timeout)
        conn.client()  # fails now if the daemon does not answer
        self._begin(None)

    def _answers(self, url):
        try:
            Connection(url, self._authkey, self._timeout).client().close()
            return True
        except _errors.ConnectionError:
            return False

    def _begin(self, daemon):
        self._daemon = daemon
        self._conn = Connection.get(self._url, self._authkey, self._timeout)
        self._state = STARTED
        self._finalizer = util.Finalize(
            self, SyncManager._finalize_manager,
            args=(daemon, self._conn, self._prefix, self._pools, self._shutdown_timeout),
            exitpriority=0)

    @staticmethod
    def _finalize_manager(daemon, conn, prefix, pools, timeout):
        for p in list(pools):
            try:
                p.terminate()
            except Exception:
                pass
        if daemon is not None:
            conn.close()
            daemon.stop(timeout)  # then SIGKILL
            return
        try:  # a shared daemon: remove what this manager made
            res, _, _ = conn.run([(C.OP_LIST_CONTAINERS, prefix)])
            names = [info[0] for info in res[0][11]]
            for i in range(0, len(names), 1000):
                conn.run([(C.OP_DELETE, n) for n in names[i:i + 1000]])
        except Exception:
            pass

    def shutdown(self):
        """Stop a daemon start() started (everything in it goes), or delete
        the containers this manager made on a shared daemon. Idempotent."""
        if self._finalizer is not None:
            self._finalizer()
        self._state = SHUTDOWN if self._state != INITIAL else INITIAL

    def join(self, timeout=None):
        """Nothing to wait for: shutdown() waits for the daemon to stop."""

    def __enter__(self):
        if self._state == INITIAL:
            self.start()
        if self._state != STARTED:
            raise ProcessError("Unable to start server")
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.shutdown()

    def __repr__(self):
        return "<mpstore.SyncManager %s %s>" % (self._url, self._state)

    @property
    def address(self):
        """The daemon's URL."""
        return self._url

    def get_server(self):
        raise NotImplementedError("mpstore's server is mpstored: use start(), or run "
                                  "mpstored and connect()")

    @classmethod
    def register(cls, typeid, callable=None, proxytype=None, exposed=None,
                 method_to_typeid=None, create_method=True):
        raise NotImplementedError(
            "mpstore serves its own container kinds, not arbitrary Python objects: keep "
            "multiprocessing.managers.BaseManager for registered types")

    # ---- containers ----

    def _live_conn(self):
        if self._state != STARTED:
            raise ProcessError("the manager is not started" if self._state == INITIAL
                               else "the manager has shut down")
        return self._conn

    def _newname(self):
        return "%s%x.%d" % (self._prefix, os.getpid(), next(self._counter))

    def _make(self, kind, name, *, count=0, value=NOVAL, elem_type=C.TYPE_ANY, init=lambda n: ()):
        """Create the container (anonymous when name is None) with the ops
        init(name) filling it; attach to an existing named one (of this
        kind) as it is. Returns (name, info)."""
        conn = self._live_conn()
        if name is None:
            name = self._newname()
        else:
            check_name(name)
        create = (C.OP_CREATE, name, value, 0, count, 0, 0, NOVAL, None, None, 0, NOVAL,
                  kind, elem_type)
        ops = [create] + list(init(name))
        try:
            if name.startswith(self._prefix):
                res, _, ok = conn.client().run(ops)
            else:  # named: fill it only if this call creates it
                res, _, ok = conn.client().run(
                    ops, [(name, C.TARGET_EXISTS, C.CMP_EQ, NOVAL, False)],
                    [(C.OP_INFO, name)])
        except C.Error as e:
            raise _errors.translate(e) from None
        for r in res:
            if r[R_STATUS] != C.OK:
                raise _errors.translate(C.Error(r[R_STATUS], r[R_ERROR]))
        info = res[0][10]
        if info[I_KIND] != kind:
            raise _errors.KindError(C.ERR_EXISTS, "container %r is a %s, not a %s"
                                    % (name, C.kind_name(info[I_KIND]), C.kind_name(kind)))
        return name, info

    def _proxy(self, cls, name, typeid=None, **kw):
        return cls(self._conn, name, self, typeid, **kw)

    def list(self, *args, name=None, sequence=()):
        """list(sequence=()): a shared list; ``list('jobs', [...])`` names it."""
        args, name = _named(args, name)
        if len(args) > 1:
            raise TypeError("list() takes at most one sequence")
        values = list(args[0] if args else sequence)
        name, _ = self._make(C.KIND_LIST, name, init=lambda n: [
            (C.OP_LIST_EXTEND, n, NOVAL, 0, 0, 0, 0, NOVAL, values)] if values else [])
        return self._proxy(ListProxy, name)

    def dict(self, *args, name=None, **kwargs):
        """A shared dict: dict()'s arguments; ``dict('jobs')`` names it."""
        args, name = _named(args, name)
        pairs = list(dict(*args, **kwargs).items())

        def init(n):
            if not pairs:
                return []
            return [(C.OP_DICT_UPDATE, n, NOVAL, 0, 0, 0, 0, NOVAL, [v for _, v in pairs],
                     [enc_key(k) for k, _ in pairs])]
        name, info = self._make(C.KIND_DICT, name, init=init)
        return self._proxy(DictProxy, name, raw_keys=info[I_KEY] == C.KEY_INT64)

    def Namespace(self, *args, name=None, **kwds):
        """A shared namespace; ``Namespace('cfg')`` names it."""
        args, name = _named(args, name)
        if args:
            raise TypeError("Namespace() takes keyword arguments only (and a name)")
        name, _ = self._make(C.KIND_NAMESPACE, name, init=lambda n: [
            (C.OP_DICT_SET, n, v, 0, 0, 0, 0, k) for k, v in kwds.items()])
        return self._proxy(NamespaceProxy, name)

    def Value(self, typecode, value, lock=True, *, name=None):
        """A shared value (any value, as the Manager's: the typecode is
        only shown by repr). get_lock() gives its lock; add(n) adds
        atomically."""
        name, _ = self._make(C.KIND_VALUE, name, value=value)
        return self._proxy(ValueProxy, name, typecode=typecode)

    def Array(self, typecode, sequence, lock=True, *, name=None):
        """A shared fixed-length array of ints, floats or bools (typecode
        b B h H i I l L q Q f d, or '?'; a ctypes type also works);
        sequence: the initial values, or a length."""
        typecode = array_typecode(typecode)
        etype = array_type(typecode)
        proto = ArrayProxy(None, "", typecode=typecode)
        values = [0] * sequence if isinstance(sequence, int) else list(sequence)
        values = [proto._conv(v) for v in values]
        if not values:
            raise ValueError("mpstore arrays have 1 to 16777216 elements")
        name, info = self._make(C.KIND_ARRAY, name, count=len(values), elem_type=etype,
                                init=lambda n: [(C.OP_LIST_SET, n, NOVAL, 0, 0, 0, 0, NOVAL,
                                                 values)] if any(values) else [])
        if info[I_ELEM] != etype:
            raise _errors.KindError(C.ERR_EXISTS, "array %r holds %s, not typecode %r"
                                    % (name, info[I_ELEM], typecode))
        return self._proxy(ArrayProxy, name, typecode=typecode)

    def Queue(self, *args, name=None, maxsize=0, _typeid="Queue"):
        """Queue(maxsize=0): a shared queue.Queue; ``Queue('jobs', 10)`` names it."""
        args, name = _named(args, name)
        maxsize = (args[0] if args else maxsize) or 0
        if maxsize < 0:
            maxsize = 0  # queue.Queue: <= 0 is unbounded
        name, info = self._make(C.KIND_QUEUE, name, count=maxsize)
        return self._proxy(QueueProxy, name, _typeid, maxsize=info[7])

    def JoinableQueue(self, *args, name=None, maxsize=0):
        """The same as Queue (Python's manager serves both as queue.Queue)."""
        args, name = _named(args, name)
        return self.Queue(*args, name=name, maxsize=maxsize, _typeid="JoinableQueue")

    def _acquirer(self, kind, typeid, name, count=0, cls=AcquirerProxy):
        name, _ = self._make(kind, name, count=count)
        return self._proxy(cls, name, typeid)

    def Lock(self, name=None):
        """A shared lock, owned by the thread that acquires it."""
        return self._acquirer(C.KIND_LOCK, "Lock", name)

    def RLock(self, name=None):
        return self._acquirer(C.KIND_RLOCK, "RLock", name)

    def _semaphore(self, kind, typeid, args, name, value):
        args, name = _named(args, name)
        value = args[0] if args else value
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        return self._acquirer(kind, typeid, name, value)

    def Semaphore(self, *args, name=None, value=1):
        return self._semaphore(C.KIND_SEMAPHORE, "Semaphore", args, name, value)

    def BoundedSemaphore(self, *args, name=None, value=1):
        return self._semaphore(C.KIND_BOUNDED_SEMAPHORE, "BoundedSemaphore", args, name, value)

    def Condition(self, *args, name=None, lock=None):
        """A shared condition with its own re-entrant lock."""
        args, name = _named(args, name)
        lock = args[0] if args else lock
        if lock is not None:
            raise NotImplementedError("an mpstore Condition has its own lock: "
                                      "Condition(lock) is not supported")
        return self._acquirer(C.KIND_CONDITION, "Condition", name, cls=ConditionProxy)

    def Event(self, name=None):
        name, _ = self._make(C.KIND_EVENT, name)
        return self._proxy(EventProxy, name)

    def Barrier(self, parties, action=None, timeout=None, *, name=None):
        """threading.Barrier(parties, action, timeout); the last process to
        arrive runs action (it must pickle)."""
        if parties < 1:
            raise ValueError("parties must be >= 1")
        name, info = self._make(C.KIND_BARRIER, name, count=parties)
        if action is not None:
            self._make(C.KIND_BARRIER, name + ACTION_SUFFIX, count=parties)
        return self._proxy(BarrierProxy, name, state=(info[7], action, timeout))

    def Pool(self, processes=None, initializer=None, initargs=(), maxtasksperchild=None):
        """A multiprocessing Pool run by this process (not by the daemon);
        terminated by shutdown()."""
        pool = multiprocessing.pool.Pool(processes, initializer, initargs, maxtasksperchild)
        self._pools.add(pool)
        return pool

    # ---- beyond Python's manager ----

    def attach(self, name):
        """A proxy of the existing container name, whatever its kind."""
        try:
            res, _, _ = self._live_conn().client().run([(C.OP_INFO, check_name(name))])
        except C.Error as e:
            raise _errors.translate(e) from None
        if res[0][R_STATUS] != C.OK:
            raise _errors.translate(C.Error(res[0][R_STATUS], res[0][R_ERROR]))
        info = res[0][10]
        typeid = KIND_TYPEID.get(info[I_KIND])
        if typeid is None:
            raise _errors.KindError(C.ERR_WRONG_KIND, "no proxy for a %s"
                                    % C.kind_name(info[I_KIND]))
        cls = PROXY_TYPES[typeid]
        if typeid == "dict":
            return self._proxy(cls, name, raw_keys=info[I_KEY] == C.KEY_INT64)
        if typeid == "Array":
            code = {C.TYPE_INT64: "q", C.TYPE_DOUBLE: "d", C.TYPE_BOOL: "?"}[info[I_ELEM]]
            return self._proxy(cls, name, typecode=code)
        if typeid == "Value":
            return self._proxy(cls, name)
        if typeid == "Queue":
            return self._proxy(cls, name, maxsize=info[7])
        if typeid == "Barrier":
            return self._proxy(cls, name, state=(info[7], None, None))
        return self._proxy(cls, name, typeid)

    def delete(self, container):
        """Delete a container (a proxy or a name) from the daemon."""
        name = container if isinstance(container, str) else container._name
        self._live_conn().run([(C.OP_DELETE, name), (C.OP_DELETE, name + ".lock"),
                               (C.OP_DELETE, name + ACTION_SUFFIX)])

    def batch(self):
        """``with m.batch(): ...``: in this thread, calls that return
        nothing (append, d[k] = v, put on an unbounded queue, set, extend,
        update, ...) are queued and sent together, in order, in one request
        at the end of the block (or when 1000 are queued, or before any call
        that returns something). Errors of queued calls are raised when
        they are sent."""
        return _Batch(self._live_conn())

    def _number_of_objects(self):
        return len(self._containers())

    def _debug_info(self):
        return "\n".join("  %s: %s" % (n, C.kind_name(k)) for n, k in self._containers())

    def _containers(self):
        try:
            res, _, _ = self._live_conn().run([(C.OP_LIST_CONTAINERS, self._prefix)])
        except (ProcessError, _errors.Error):
            return []
        return [(info[0], info[1]) for info in res[0][11]]


def Manager(address=None, authkey=None, **kwargs):
    """A started SyncManager: multiprocessing.Manager() over mpstored (a
    private daemon when no address is given; see SyncManager)."""
    m = SyncManager(address, authkey, **kwargs)
    m.start()
    return m


__all__ = ["Manager", "SyncManager", "TYPECODES"]
