"""The value and key encodings (docs/python.md, "Values" and "Keys").

Values. ``None``, ``bool``, ``int`` (in int64), ``float``, ``str`` (without
NUL) and ``bytes`` are stored as the store's own scalars, so C programs and
the CLI read them as they are. Anything else is stored as bytes::

    b"\x00MPS" + b"p" + pickle        (protocol 5; proxies inside are
                                      references, see below)
    b"\x00MPS" + b"b" + raw bytes     (a bytes value that itself begins
                                      with b"\x00MPS")

A proxy inside a stored value (``d['k'] = m.list()``, ``l.append([q1, q2])``)
is pickled as a persistent id ``("mpstore", typeid, name, state)``: a
reference to the container, resolved against the daemon the value is read
from. Reading it back gives a proxy of the same container (shared, as with
Python 3.6+'s managers); anything else comes back as a copy.

Protobuf messages (an object of a class protoc generated, or
:class:`Message` bytes) are sent as messages, for containers typed with a
message type (docs/schemas.md); their elements come back as the message's
encoding (bytes): ``Job.FromString(jobs[0])``.

Keys (dicts). A dict container has string keys; a ``str`` key is stored as
it is unless it begins with U+001F or contains NUL. Other keys::

    "\x1fs" + key      a str beginning with U+001F
    "\x1fi" + digits   an int (and a bool or an integral float, which equal
                       that int in Python)
    "\x1fp" + base64   anything else hashable (and a str with a NUL), pickled
"""
import base64
import io
import pickle

from . import _core

MAGIC = _core.MAGIC
_PICKLED = MAGIC + b"p"
_BYTES = MAGIC + b"b"
KEY_ESC = "\x1f"  # not NUL: the wire's strings end at a NUL

# set by _proxy: typeid, name, state, ctx -> proxy
_rebuild_ref = None


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        ref = getattr(obj, "_mps_ref", None)
        if ref is not None and not isinstance(obj, type):
            return ref()
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data, ctx):
        super().__init__(io.BytesIO(data))
        self._ctx = ctx

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "mpstore"):
            raise pickle.UnpicklingError("unknown persistent id %r" % (pid,))
        return _rebuild_ref(pid[1], pid[2], pid[3], self._ctx)


class Message(bytes):
    """The protobuf encoding of a message, to store as a message (in a
    container typed with a message type) rather than as bytes."""


def encode(obj):
    """bytes for a value the store has no scalar for (called by _core); a
    1-tuple (bytes,) for a protobuf message."""
    if type(obj) is bytes:
        return _BYTES + obj
    if isinstance(obj, Message):
        return (bytes(obj),)
    if hasattr(obj, "SerializeToString") and hasattr(obj, "DESCRIPTOR"):
        return (obj.SerializeToString(),)  # a generated protobuf class's object
    buf = io.BytesIO()
    buf.write(_PICKLED)
    _Pickler(buf, protocol=5).dump(obj)
    return buf.getvalue()


def decode(data, ctx):
    """The value of bytes beginning with MAGIC (called by _core); ctx is
    the Connection the value was read through."""
    tag = data[4:5]
    if tag == b"p":
        return _Unpickler(data[5:], ctx).load()
    if tag == b"b":
        return data[5:]
    return data  # not ours after all: leave it as it is


_core.set_codec(encode, decode)


def enc_key(key):
    t = type(key)
    if t is str:
        if "\x00" not in key:  # (one with a NUL is pickled, below)
            return KEY_ESC + "s" + key if key[:1] == KEY_ESC else key
    if t is int or t is bool:
        return "%si%d" % (KEY_ESC, key)
    if t is float and key.is_integer():
        return "%si%d" % (KEY_ESC, int(key))
    try:
        hash(key)
    except TypeError:
        raise TypeError("unhashable type: %r" % t.__name__) from None
    return KEY_ESC + "p" + base64.b64encode(pickle.dumps(key, protocol=5)).decode("ascii")


def dec_key(s):
    if type(s) is not str or s[:1] != KEY_ESC:
        return s
    tag, rest = s[1:2], s[2:]
    if tag == "s":
        return rest
    if tag == "i":
        return int(rest)
    if tag == "p":
        return pickle.loads(base64.b64decode(rest))
    return s
