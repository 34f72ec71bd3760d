"""Proxies of Value and Array (docs/python.md, "Value and Array").

A Value holds any value, like the Manager's (the typecode is remembered
for repr, not enforced). ``value.add(n)`` is one atomic op; ``v.value += 1``
is a read and a write, two requests, which other processes can interleave:
take ``v.get_lock()`` around it (as seed 002 does with a shared-memory
Value) or use ``add``. Arrays are fixed-length typed arrays in the store
(int64, double or bool), with Python's ranges checked for each typecode.
"""
import array

from . import _core as C
from ._containers import R_VALUES, _check, _index
from ._proxy import BaseProxy, register

NOVAL = C.NOVAL
LOCK_SUFFIX = ".lock"


class _Locked(BaseProxy):
    """A typecode (kept by references too), get_lock() (an RLock of its
    own, as multiprocessing.Value has), acquire() and release()."""

    __slots__ = ("_lock", "_typecode")
    _default_typecode = None

    def __init__(self, conn, name, manager=None, typeid=None, typecode=None):
        super().__init__(conn, name, manager, typeid)
        self._setstate(typecode if typecode is not None else self._default_typecode)

    def _setstate(self, state):
        self._typecode = state
        self._lock = None

    def _getstate(self):
        return self._typecode

    def get_lock(self):
        lock = self._lock
        if lock is None:
            from ._sync import AcquirerProxy
            name = self._name + LOCK_SUFFIX
            res, _, _ = self._run([(C.OP_CREATE, name, NOVAL, 0, 0, 0, 0, NOVAL, None, None,
                                    0, NOVAL, C.KIND_RLOCK)])
            _check(res[0])
            lock = self._lock = AcquirerProxy(self._conn, name, self._manager, "RLock")
        return lock

    def acquire(self, block=True, timeout=None):
        return self.get_lock().acquire(block, timeout)

    def release(self):
        return self.get_lock().release()


@register
class ValueProxy(_Locked):
    """A shared value: ``.value``, ``get()``, ``set()``, ``add(n)``."""

    _typeid = "Value"
    _kind = C.KIND_VALUE
    __slots__ = ()

    def get(self):
        return self._op(C.OP_VALUE_GET)[0]

    def set(self, value):
        self._send(C.OP_VALUE_SET, value)

    value = property(get, set)

    def add(self, n=1):
        """Add n atomically (one op); returns the new value."""
        try:
            return self._conn.client().op(C.OP_VALUE_ADD, self._name, n)[0]
        except C.Error as e:
            if e.args[0] == C.ERR_WRONG_TYPE:
                raise TypeError("Value.add: %s" % e.args[1]) from None
            if e.args[0] == C.ERR_INVALID:
                raise OverflowError("Value.add: %s" % e.args[1]) from None
            raise self._error(e) from None

    def compare_and_set(self, expected, value):
        """Set to value if the value equals expected (one op); True if set."""
        res, _, _ = self._run([(C.OP_VALUE_CAS, self._name, value, 0, 0, 0, 0, NOVAL, None,
                                None, 0, expected)])
        return bool(_check(res[0])[6])

    def _getvalue(self):
        return self.get()

    def __str__(self):
        return "Value(%r, %r)" % (self._typecode, self.get())


# typecode -> (element type, lowest, highest); None: no range (floats)
_INT = C.TYPE_INT64
TYPECODES = {
    "b": (_INT, -2 ** 7, 2 ** 7 - 1), "B": (_INT, 0, 2 ** 8 - 1),
    "h": (_INT, -2 ** 15, 2 ** 15 - 1), "H": (_INT, 0, 2 ** 16 - 1),
    "i": (_INT, -2 ** 31, 2 ** 31 - 1), "I": (_INT, 0, 2 ** 32 - 1),
    "l": (_INT, -2 ** 63, 2 ** 63 - 1), "L": (_INT, 0, 2 ** 63 - 1),
    "q": (_INT, -2 ** 63, 2 ** 63 - 1), "Q": (_INT, 0, 2 ** 63 - 1),
    "f": (C.TYPE_DOUBLE, None, None), "d": (C.TYPE_DOUBLE, None, None),
    "?": (C.TYPE_BOOL, None, None),
}


def array_typecode(typecode_or_type):
    """A typecode, also for a ctypes type (c_int -> 'i')."""
    return getattr(typecode_or_type, "_type_", typecode_or_type)


def array_type(typecode):
    try:
        return TYPECODES[typecode][0]
    except (KeyError, TypeError):
        raise ValueError("mpstore arrays take the typecodes %s (ints, floats, bools), not %r"
                         % (", ".join(TYPECODES), typecode)) from None


@register
class ArrayProxy(_Locked):
    """A shared fixed-length array of ints, floats or bools."""

    _typeid = "Array"
    _kind = C.KIND_ARRAY
    __slots__ = ()
    _default_typecode = "q"

    @property
    def typecode(self):
        return self._typecode

    def _conv(self, v):
        """v as the store's element type, checked as array.array would."""
        etype, lo, hi = TYPECODES[self._typecode]
        if etype == C.TYPE_DOUBLE:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
            raise TypeError("must be real number, not %s" % type(v).__name__)
        if etype == C.TYPE_BOOL:
            return bool(v)
        if isinstance(v, float) or not hasattr(v, "__index__"):
            raise TypeError("'%s' object cannot be interpreted as an integer" % type(v).__name__)
        v = v.__index__()
        if not lo <= v <= hi:
            raise OverflowError("value %d out of range for typecode %r" % (v, self._typecode))
        return v

    def __len__(self):
        return self._op(C.OP_LIST_LEN)[1]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return array.array(self._typecode if self._typecode != "?" else "b",
                               self._getvalue_list()[i])
        try:
            return self._conn.client().op(C.OP_LIST_GET, self._name, NOVAL, _index(i, "array"))[0]
        except C.Error as e:
            if e.args[0] == C.ERR_INDEX:
                raise IndexError("array index out of range") from None
            raise self._error(e) from None

    def __setitem__(self, i, v):
        if isinstance(i, slice):
            idx = range(*i.indices(len(self)))
            values = [self._conv(x) for x in v]
            if len(values) != len(idx):
                raise ValueError("Can only assign sequence of same size")
            if values and idx.step == 1:
                self._send(C.OP_LIST_SET, NOVAL, idx.start, 0, 0, 0, NOVAL, values)
            elif values:  # one transaction: all or nothing
                self._run([(C.OP_LIST_SET, self._name, x, j) for j, x in zip(idx, values)],
                          compares=[(self._name, C.TARGET_EXISTS, C.CMP_EQ, NOVAL, True)])
            return
        try:
            self._conn.client().send(C.OP_LIST_SET, self._name, self._conv(v), _index(i, "array"))
        except C.Error as e:
            if e.args[0] == C.ERR_INDEX:
                raise IndexError("array assignment index out of range") from None
            raise self._error(e) from None

    def _getvalue_list(self):
        res, _, _ = self._run([(C.OP_LIST_SLICE, self._name)])
        return _check(res[0])[R_VALUES] or []

    def __iter__(self):
        return iter(self._getvalue_list())

    def __contains__(self, x):
        return x in self._getvalue_list()

    def tolist(self):
        return self._getvalue_list()

    def _getvalue(self):
        if self._typecode == "?":
            return self._getvalue_list()
        return array.array(self._typecode, self._getvalue_list())

    def __eq__(self, other):
        if isinstance(other, ArrayProxy):
            other = other._getvalue_list()
        if isinstance(other, (list, array.array)):
            return self._getvalue_list() == list(other)
        return NotImplemented

    __hash__ = BaseProxy.__hash__
