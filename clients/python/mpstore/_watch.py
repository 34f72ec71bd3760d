"""proxy.watch() and proxy.mirror() (docs/python.md, "Watch and mirror").

Both rest on libmpstore's watch (docs/watch.md): every committed change of
the container, once, in revision order, or an explicit resync with the full
state when changes were lost and could not be recovered. A Watch or Mirror
belongs to the process that opened it (its thread lives there): a forked
child opens its own.
"""
import collections
import time

from . import _codec
from . import _core as C
from ._proxy import BaseProxy

Change = collections.namedtuple("Change", "revision op value index count name kind")
Change.__doc__ = """One change of a watched container.

revision  the store's revision of the change (one transaction's share one)
op        'set', 'list_insert', 'list_set', 'list_delete', 'dict_set',
          'dict_delete', 'queue_put', 'queue_get', 'clear', 'create',
          'delete', 'state' (the state bytes of a lock, event, ...), or
          'resync' (value is the full state: drop what you knew)
value     set: the new value; list_insert, queue_put: the values added;
          list_set: the value (a list for a run of array elements);
          dict_set: {key: value}; dict_delete: [keys]; resync: the whole
          list, dict or value; otherwise None
index     list_insert, list_set, list_delete: the position
count     list_delete, queue_get: how many elements went
"""


def _keys(proxy, keys):
    of = getattr(proxy, "_keys_of", None)
    return of(keys) if of is not None else list(keys or ())


def _event_value(proxy, ev):
    etype, change, kind = ev[0], ev[4], ev[3]
    value, keys, values = ev[7], ev[8], ev[9]
    if etype == C.WATCH_RESYNC:
        if kind in (C.KIND_DICT, C.KIND_NAMESPACE):
            return dict(zip(_keys(proxy, keys), values or ()))
        if kind in (C.KIND_LIST, C.KIND_ARRAY, C.KIND_QUEUE):
            return values or []
        return value
    if change == C.CH_DICT_SET:
        return dict(zip(_keys(proxy, keys), values or ()))
    if change == C.CH_DICT_DELETE:
        return _keys(proxy, keys)
    if change in (C.CH_LIST_INSERT, C.CH_QUEUE_PUT):
        return values or []
    if change == C.CH_LIST_SET:
        return values if values else value
    if change in (C.CH_SET, C.CH_STATE):
        return value
    return None


class Watch:
    """An iterator over a container's changes (see BaseProxy.watch)."""

    def __init__(self, proxy, from_revision=0, resync_first=False, timeout=None):
        self._proxy = proxy
        self._timeout = timeout
        flags = C.WATCH_F_RESYNC_FIRST if resync_first else 0
        try:
            self._w = C.Watcher(proxy._conn.client(), proxy._name, None, from_revision, flags)
        except C.Error as e:
            raise proxy._error(e) from None

    def __iter__(self):
        return self

    def __next__(self):
        ev = self.next(self._timeout)
        if ev is None:
            raise StopIteration
        return ev

    def next(self, timeout=None):
        """The next change, or None when none came within timeout seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ms = 500 if deadline is None else max(0, min(500, int((deadline - time.monotonic())
                                                                  * 1000)))
            try:
                ev = self._w.next(ms)
            except C.Error as e:
                raise self._proxy._error(e) from None
            if ev is not None and ev[0] != C.WATCH_PROGRESS:
                op = "resync" if ev[0] == C.WATCH_RESYNC else C.change_name(ev[4])
                return Change(ev[1], op, _event_value(self._proxy, ev),
                              ev[5], ev[6], ev[2], C.kind_name(ev[3]))
            if ev is None and deadline is not None and time.monotonic() >= deadline:
                return None

    @property
    def revision(self):
        """Every change up to this revision has been delivered."""
        return self._w.revision()

    def stats(self):
        return self._w.stats()

    def close(self):
        self._w.close()  # in a forked child: abandoned, not closed (_core)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Mirror(C.Mirror):
    """A read-only local copy of one container, kept current by a watch.
    Reads never ask the daemon; everything one read returns is at one
    revision (``revision``). ``m[key]`` is read in C."""

    def __init__(self, proxy, timeout, enc=None):
        self._proxy = proxy
        try:
            super().__init__(proxy._conn.client(), proxy._name, None,
                             int((timeout or 5.0) * 1000), enc)
        except C.Error as e:
            raise proxy._error(e) from None

    @property
    def revision(self):
        return self._revision()

    def wait_revision(self, revision, timeout=None):
        """Wait until the copy has every change up to revision; False on
        timeout."""
        return self._wait_revision(revision, -1 if timeout is None else int(timeout * 1000))

    def sync(self, timeout=None):
        """Wait until the copy has every change the daemon had committed
        when sync() was called (e.g. one's own writes)."""
        res, rev, _ = self._proxy._run([(C.OP_PING, "")])
        return self.wait_revision(rev, timeout)

    def close(self):
        self._close()  # in a forked child: abandoned, not closed (_core)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self):
        return self._len()

    def __repr__(self):
        return "<%s of %r at revision %d>" % (type(self).__name__, self._proxy._name,
                                             self.revision)


class ListMirror(Mirror):
    """Mirror of a list, Array or Queue (head first)."""

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.copy()[i]
        return C.Mirror.__getitem__(self, i)

    def copy(self):
        return self._items()[1]

    def __iter__(self):
        return iter(self.copy())

    def __contains__(self, x):
        return x in self.copy()

    def index(self, x, *args):
        return self.copy().index(x, *args)

    def count(self, x):
        return self.copy().count(x)

    def __eq__(self, other):
        return self.copy() == (list(other) if isinstance(other, (ListMirror, BaseProxy))
                               else other)

    __hash__ = None


class DictMirror(Mirror):
    """Mirror of a dict or Namespace."""

    def __init__(self, proxy, timeout):
        raw = getattr(proxy, "_raw", True)  # a Namespace's keys are as they are
        super().__init__(proxy, timeout, None if raw else _codec.enc_key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        try:
            self[key]
            return True
        except KeyError:
            return False

    def items(self):
        keys, values, _ = self._items()
        return list(zip(_keys(self._proxy, keys), values))

    def keys(self):
        return [k for k, _ in self.items()]

    def values(self):
        return self._items()[1]

    def copy(self):
        return dict(self.items())

    def __iter__(self):
        return iter(self.keys())

    def __getattr__(self, name):  # a Namespace's attributes
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __eq__(self, other):
        return self.copy() == other

    __hash__ = None


class ValueMirror(Mirror):
    """Mirror of a Value."""

    def get(self):
        return self._value()

    value = property(get)


_MIRRORS = {C.KIND_LIST: ListMirror, C.KIND_ARRAY: ListMirror, C.KIND_QUEUE: ListMirror,
            C.KIND_DICT: DictMirror, C.KIND_NAMESPACE: DictMirror, C.KIND_VALUE: ValueMirror}


def open_mirror(proxy, timeout):
    cls = _MIRRORS.get(proxy._kind)
    if cls is None:
        raise TypeError("mirror() works on lists, dicts, Namespaces, Values, Arrays and "
                        "Queues, not on a %s" % proxy._tid)
    return cls(proxy, timeout)
