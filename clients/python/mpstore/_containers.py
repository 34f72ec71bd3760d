"""Proxies of the data containers: list, dict, Namespace (docs/python.md).

Each method is one request where the store has the op (append, d[k] = v,
pop, ...). What the store cannot do in one op (sort, slice assignment,
remove of a value it cannot compare as Python does, popitem) reads the
container and its revision in one request, computes locally, and writes back
in a transaction that holds only if the revision is unchanged, retrying
otherwise: atomic, like the Manager's single server-side call.
"""
import operator
import sys
from multiprocessing.managers import Namespace

from . import _codec
from . import _core as C
from ._proxy import BaseProxy, register

NOVAL = C.NOVAL
PAGE = 1000  # elements per request when iterating

# result tuple fields (see src/client.c)
R_STATUS, R_ERROR, R_VALUE, R_VALUES, R_KEYS, R_COUNT, R_FLAG, R_REV, R_TOKEN, R_NEXT = range(10)


_POP_ERRORS = {C.ERR_EMPTY: (IndexError, "pop from empty list"),
               C.ERR_INDEX: (IndexError, "pop index out of range")}
_DEL_ERRORS = {C.ERR_EMPTY: (IndexError, "list assignment index out of range"),
               C.ERR_INDEX: (IndexError, "list assignment index out of range")}
_NOT_IN_LIST = {C.ERR_INVALID: (ValueError, "list.remove(x): x not in list")}


def _check(res):
    if res[R_STATUS] != C.OK:
        raise C.Error(res[R_STATUS], res[R_ERROR])
    return res


def _index(i, what="list"):
    try:
        return operator.index(i)
    except TypeError:
        raise TypeError("%s indices must be integers or slices, not %s"
                        % (what, type(i).__name__)) from None


def _by_value(fn, reflected=False):
    """An operator method applying fn to the contents (a list or dict)
    and the other operand (a plain one, or another proxy's contents)."""
    def method(self, other):
        o = self._other(other)
        if o is None:
            return NotImplemented
        return fn(o, self._getvalue()) if reflected else fn(self._getvalue(), o)
    return method


class _Rewritable(BaseProxy):
    """Read-compute-write at an unchanged revision (see the module doc)."""

    __slots__ = ()

    def _read_at_rev(self, read_op):
        res, _, _ = self._run([read_op, (C.OP_INFO, self._name)])
        _check(res[0])
        _check(res[1])
        return res[0], res[1][R_REV]

    def _write_at_rev(self, rev, ops):
        _, _, ok = self._run(ops, compares=[(self._name, C.TARGET_REVISION, C.CMP_EQ, NOVAL, rev)])
        return ok


@register
class ListProxy(_Rewritable):
    """A shared list: Python's list API, every call on the shared data."""

    _typeid = "list"
    _kind = C.KIND_LIST
    __slots__ = ()

    # ---- reads ----

    def __len__(self):
        return self._op(C.OP_LIST_LEN)[1]

    def _getvalue(self):
        res, _, _ = self._run([(C.OP_LIST_SLICE, self._name)])
        return _check(res[0])[R_VALUES] or []

    def _slice(self, start, stop):
        flags = 0
        if stop is not None:
            flags = C.FLAG_HAS_STOP
        else:
            stop = 0
        res, _, _ = self._run([(C.OP_LIST_SLICE, self._name, NOVAL, start, 0, flags, 0, NOVAL,
                                None, None, stop)])
        return _check(res[0])[R_VALUES] or []

    def __getitem__(self, i):
        if type(i) is int:
            try:
                return self._conn.client().op(C.OP_LIST_GET, self._name, NOVAL, i)[0]
            except C.Error as e:
                if e.args[0] == C.ERR_INDEX:
                    raise IndexError("list index out of range") from None
                raise self._error(e) from None
        if isinstance(i, slice):
            step = 1 if i.step is None else _index(i.step)
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step == 1:
                start = 0 if i.start is None else _index(i.start)
                stop = None if i.stop is None else _index(i.stop)
                return self._slice(start, stop)
            return self._getvalue()[i]
        return self[_index(i)]

    def __iter__(self):
        return _ListIterator(self)

    def __reversed__(self):
        return reversed(self._getvalue())

    def __contains__(self, x):
        if type(x) is str:  # only a str equals a str: the daemon can look
            try:
                self._conn.client().op(C.OP_LIST_INDEX, self._name, x)
                return True
            except C.Error as e:
                if e.args[0] == C.ERR_INVALID:
                    return False
                raise self._error(e) from None
        return x in self._getvalue()

    def index(self, x, start=0, stop=sys.maxsize):
        return self._getvalue().index(x, start, stop)

    def count(self, x):
        return self._getvalue().count(x)

    def copy(self):
        return self._getvalue()

    # ---- writes ----

    def append(self, x):
        self._send(C.OP_LIST_APPEND, x)

    def extend(self, iterable):
        values = iterable._getvalue() if isinstance(iterable, BaseProxy) else list(iterable)
        if values:
            self._send(C.OP_LIST_EXTEND, NOVAL, 0, 0, 0, 0, NOVAL, values)

    def insert(self, i, x):
        self._send(C.OP_LIST_INSERT, x, _index(i))

    def pop(self, i=-1):
        i = _index(i)
        if i == -1:
            return self._op_raising(_POP_ERRORS, C.OP_LIST_POP)[0]
        return self._op_raising(_POP_ERRORS, C.OP_LIST_POP, NOVAL, i, 0, C.FLAG_HAS_INDEX)[0]

    def remove(self, x):
        if type(x) is str:
            self._op_raising(_NOT_IN_LIST, C.OP_LIST_REMOVE, x)
            return
        while True:
            res, rev = self._read_at_rev((C.OP_LIST_SLICE, self._name))
            try:
                i = (res[R_VALUES] or []).index(x)
            except ValueError:
                raise ValueError(_NOT_IN_LIST[C.ERR_INVALID][1]) from None
            if self._write_at_rev(rev, [(C.OP_LIST_POP, self._name, NOVAL, i, 0,
                                         C.FLAG_HAS_INDEX)]):
                return

    def clear(self):
        self._send(C.OP_LIST_CLEAR)

    def __setitem__(self, i, x):
        if type(i) is not slice:
            try:
                self._conn.client().send(C.OP_LIST_SET, self._name, x, _index(i))
            except C.Error as e:
                if e.args[0] == C.ERR_INDEX:
                    raise IndexError("list assignment index out of range") from None
                raise self._error(e) from None
            return
        new = x._getvalue() if isinstance(x, BaseProxy) else list(x)

        def assign(values):
            values[i] = new
            return values, None
        self._rewrite(assign)

    def __delitem__(self, i):
        if type(i) is not slice:
            self._op_raising(_DEL_ERRORS, C.OP_LIST_POP, NOVAL, _index(i), 0, C.FLAG_HAS_INDEX)
            return

        def delete(values):
            del values[i]
            return values, None
        self._rewrite(delete)

    def reverse(self):
        self._rewrite(lambda v: (v[::-1], None))

    def sort(self, *, key=None, reverse=False):
        def do_sort(values):
            values.sort(key=key, reverse=reverse)
            return values, None
        self._rewrite(do_sort)

    def _rewrite(self, fn):
        """Replace the contents by fn(values)[0] atomically; fn(values)[1]."""
        while True:
            res, rev = self._read_at_rev((C.OP_LIST_SLICE, self._name))
            values = res[R_VALUES] or []
            new, ret = fn(values)
            ops = [(C.OP_LIST_CLEAR, self._name)]
            if new:
                ops.append((C.OP_LIST_EXTEND, self._name, NOVAL, 0, 0, 0, 0, NOVAL, new))
            if self._write_at_rev(rev, ops):
                return ret

    # ---- operators ----

    def __iadd__(self, other):
        self.extend(other)
        return self

    def __imul__(self, n):
        n = _index(n)
        if n <= 0:
            self.clear()
        elif n > 1:
            self._rewrite(lambda v: (v * n, None))
        return self

    def __add__(self, other):
        if isinstance(other, ListProxy):
            other = other._getvalue()
        return self._getvalue() + other

    def __radd__(self, other):
        return other + self._getvalue()

    def __mul__(self, n):
        return self._getvalue() * n

    __rmul__ = __mul__

    def _other(self, other):
        if isinstance(other, ListProxy):
            return other._getvalue()
        return other if isinstance(other, list) else None

    __eq__ = _by_value(operator.eq)
    __ne__ = _by_value(operator.ne)
    __lt__ = _by_value(operator.lt)
    __le__ = _by_value(operator.le)
    __gt__ = _by_value(operator.gt)
    __ge__ = _by_value(operator.ge)
    __hash__ = BaseProxy.__hash__


class _ListIterator:
    """Like list's iterator: by position, so it sees changes made meanwhile;
    fetches PAGE elements per request."""

    __slots__ = ("_p", "_pos", "_buf", "_bi")

    def __init__(self, proxy):
        self._p, self._pos, self._buf, self._bi = proxy, 0, [], 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._bi >= len(self._buf):
            if self._p is None:
                raise StopIteration
            self._buf = self._p._slice(self._pos, self._pos + PAGE)
            self._bi = 0
            if not self._buf:
                self._p = None
                raise StopIteration
        v = self._buf[self._bi]
        self._bi += 1
        self._pos += 1
        return v

    def __length_hint__(self):
        return len(self._buf) - self._bi


@register
class DictProxy(_Rewritable):
    """A shared dict: Python's dict API, insertion-ordered. Keys are
    encoded as docs/python.md says, unless the container was made with
    int keys by another program (then keys are ints, as stored)."""

    _typeid = "dict"
    _kind = C.KIND_DICT
    __slots__ = ("_raw",)

    def __init__(self, conn, name, manager=None, typeid=None, raw_keys=False):
        super().__init__(conn, name, manager, typeid)
        self._raw = raw_keys

    def _setstate(self, state):
        self._raw = bool(state)

    def _getstate(self):
        return self._raw or None

    def _k(self, key):
        return key if self._raw else _codec.enc_key(key)

    def _keys_of(self, keys):
        if self._raw:
            return keys or []
        dec = _codec.dec_key
        return [dec(k) for k in keys or ()]

    def _missing(self, e, key):
        if e.args[0] == C.ERR_NO_KEY or (self._raw and e.args[0] == C.ERR_WRONG_TYPE):
            return KeyError(key)
        return self._error(e)

    # ---- reads ----

    def __getitem__(self, key):
        try:
            return self._conn.client().op(C.OP_DICT_GET, self._name, NOVAL, 0, 0, 0, 0,
                                          self._k(key))[0]
        except C.Error as e:
            raise self._missing(e, key) from None

    def get(self, key, default=None):
        try:
            return self._conn.client().op(C.OP_DICT_GET, self._name, NOVAL, 0, 0, 0, 0,
                                          self._k(key))[0]
        except C.Error as e:
            err = self._missing(e, key)
            if isinstance(err, KeyError):
                return default  # the caller's own object, as dict.get returns it
            raise err from None

    def __contains__(self, key):
        try:
            return bool(self._conn.client().op(C.OP_DICT_CONTAINS, self._name, NOVAL, 0, 0, 0,
                                               0, self._k(key))[2])
        except C.Error as e:
            if self._raw and e.args[0] == C.ERR_WRONG_TYPE:
                return False
            raise self._error(e) from None

    def __len__(self):
        return self._op(C.OP_DICT_LEN)[1]

    def __iter__(self):
        return _DictIterator(self, len(self))

    def __reversed__(self):
        return reversed(self.keys())

    def _all(self, code):
        res, _, _ = self._run([(C.OP_DICT_ITEMS if code is None else code, self._name)])
        return _check(res[0])

    def keys(self):
        return self._keys_of(self._all(C.OP_DICT_KEYS)[R_KEYS])

    def values(self):
        return self._all(C.OP_DICT_VALUES)[R_VALUES] or []

    def items(self):
        r = self._all(C.OP_DICT_ITEMS)
        return list(zip(self._keys_of(r[R_KEYS]), r[R_VALUES] or []))

    def copy(self):
        return dict(self.items())

    _getvalue = copy

    # ---- writes ----

    def __setitem__(self, key, value):
        self._send(C.OP_DICT_SET, value, 0, 0, 0, 0, self._k(key))

    def __delitem__(self, key):
        try:
            self._conn.client().op(C.OP_DICT_DEL, self._name, NOVAL, 0, 0, 0, 0, self._k(key))
        except C.Error as e:
            raise self._missing(e, key) from None

    _NODEFAULT = object()

    def pop(self, key, default=_NODEFAULT):
        try:
            return self._conn.client().op(C.OP_DICT_POP, self._name, NOVAL, 0, 0, 0, 0,
                                          self._k(key))[0]
        except C.Error as e:
            err = self._missing(e, key)
            if isinstance(err, KeyError) and default is not DictProxy._NODEFAULT:
                return default
            raise err from None

    def setdefault(self, key, default=None):
        return self._op(C.OP_DICT_SETDEFAULT, default, 0, 0, 0, 0, self._k(key))[0]

    def popitem(self):
        while True:
            res, rev = self._read_at_rev((C.OP_DICT_KEYS, self._name))
            keys = res[R_KEYS]
            if not keys:
                raise KeyError("popitem(): dictionary is empty")
            key = keys[-1]
            pop = (C.OP_DICT_POP, self._name, NOVAL, 0, 0, 0, 0, key)
            res, _, ok = self._run([pop], compares=[(self._name, C.TARGET_REVISION, C.CMP_EQ,
                                                     NOVAL, rev)])
            if ok:
                return self._keys_of([key])[0], _check(res[0])[R_VALUE]

    def update(self, other=(), **kwds):
        if isinstance(other, DictProxy):
            pairs = other.items()
        elif hasattr(other, "keys"):
            pairs = [(k, other[k]) for k in other.keys()]
        else:
            pairs = []
            for item in other:
                k, v = item  # dict.update's own error for a bad element
                pairs.append((k, v))
        pairs.extend(kwds.items())
        if not pairs:
            return
        self._send(C.OP_DICT_UPDATE, NOVAL, 0, 0, 0, 0, NOVAL, [v for _, v in pairs],
                   [self._k(k) for k, _ in pairs])

    def clear(self):
        self._send(C.OP_DICT_CLEAR)

    # ---- operators ----

    def _other(self, other):
        if isinstance(other, DictProxy):
            return other.copy()
        return other if isinstance(other, dict) else None

    __eq__ = _by_value(operator.eq)
    __ne__ = _by_value(operator.ne)
    __or__ = _by_value(operator.or_)
    __ror__ = _by_value(operator.or_, reflected=True)

    def __ior__(self, other):
        self.update(other)
        return self

    __hash__ = BaseProxy.__hash__


class _DictIterator:
    """Keys in insertion order, PAGE per request; like dict's iterator it
    raises RuntimeError when the dict's size changed since iter()."""

    __slots__ = ("_p", "_size", "_cursor", "_buf", "_bi")

    def __init__(self, proxy, size):
        self._p, self._size, self._cursor, self._buf, self._bi = proxy, size, 0, [], 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._bi >= len(self._buf):
            p = self._p
            if p is None or self._cursor < 0:
                self._p = None
                raise StopIteration
            res, _, _ = p._run([(C.OP_DICT_LEN, p._name),
                                (C.OP_DICT_KEYS, p._name, NOVAL, self._cursor, PAGE)])
            if _check(res[0])[R_COUNT] != self._size:
                self._p = None
                raise RuntimeError("dictionary changed size during iteration")
            r = _check(res[1])
            self._buf, self._bi, self._cursor = p._keys_of(r[R_KEYS]), 0, r[R_NEXT]
            if not self._buf:
                self._p = None
                raise StopIteration
        k = self._buf[self._bi]
        self._bi += 1
        return k


@register
class NamespaceProxy(BaseProxy):
    """A shared namespace: attributes are shared, except those beginning
    with '_', which stay on the proxy (as with Python's NamespaceProxy)."""

    _typeid = "Namespace"
    _kind = C.KIND_NAMESPACE

    def __getattribute__(self, key):
        # every public name is the namespace's (use mpstore.watch(ns) and
        # mpstore.mirror(ns) for what other proxies have as methods)
        if key[0] == "_":
            return object.__getattribute__(self, key)
        return NamespaceProxy.__getattr__(self, key)

    def __getattr__(self, key):
        if key[0] == "_":
            return object.__getattribute__(self, key)
        try:
            return self._conn.client().op(C.OP_DICT_GET, self._name, NOVAL, 0, 0, 0, 0, key)[0]
        except C.Error as e:
            if e.args[0] == C.ERR_NO_KEY:
                raise AttributeError("'Namespace' object has no attribute %r" % key) from None
            raise self._error(e) from None

    def __setattr__(self, key, value):
        if key[0] == "_":
            return object.__setattr__(self, key, value)
        self._send(C.OP_DICT_SET, value, 0, 0, 0, 0, key)

    def __delattr__(self, key):
        if key[0] == "_":
            return object.__delattr__(self, key)
        try:
            self._conn.client().op(C.OP_DICT_DEL, self._name, NOVAL, 0, 0, 0, 0, key)
        except C.Error as e:
            if e.args[0] == C.ERR_NO_KEY:
                raise AttributeError(key) from None
            raise self._error(e) from None

    def _items(self):
        res, _, _ = self._run([(C.OP_DICT_ITEMS, self._name)])
        r = _check(res[0])
        return list(zip(r[R_KEYS] or [], r[R_VALUES] or []))

    def _getvalue(self):
        return Namespace(**dict(self._items()))

    def __str__(self):
        try:
            return repr(self._getvalue())
        except Exception:
            return repr(self)
