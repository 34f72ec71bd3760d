"""mpstore: multiprocessing.Manager() over mpstored, a durable, watchable
shared-object store (docs/python.md).

Change one import line::

    from multiprocessing import Manager      # before
    from mpstore import Manager              # after

and the lists, dicts, Values, Queues, locks, ... your processes share live
in mpstored instead of a Python server process.
"""
try:
    from . import _core
except ImportError as e:  # pragma: no cover - a build problem, said plainly
    raise ImportError("mpstore's C extension (_core) is missing or does not load: build "
                      "clients/python with CMake or pip (%s)" % e) from e

from . import _codec  # noqa: F401  (installs the value encoding)
from ._codec import Message  # noqa: F401
from ._errors import (AuthenticationError, ConnectionError, ContainerGone, Error,  # noqa: F401
                      ForkError, KindError)
from ._manager import Manager, SyncManager  # noqa: F401
from ._proxy import BaseProxy  # noqa: F401
from ._containers import DictProxy, ListProxy, NamespaceProxy  # noqa: F401
from ._values import ArrayProxy, ValueProxy  # noqa: F401
from ._sync import (AcquirerProxy, BarrierProxy, ConditionProxy, EventProxy,  # noqa: F401
                    QueueProxy)
from ._watch import Change, DictMirror, ListMirror, Mirror, ValueMirror, Watch  # noqa: F401

__version__ = _core.LIB_VERSION


def batch(obj):
    """``with mpstore.batch(proxy or manager): ...``: Manager.batch(), also
    where there is only a proxy (a worker process): in this thread, calls
    that return nothing are queued and sent together at the end."""
    from ._manager import _Batch
    return _Batch(obj._conn if isinstance(obj, BaseProxy) else obj._live_conn())


def watch(proxy, from_revision=0, resync_first=False, timeout=None):
    """proxy.watch(...), also for a Namespace (whose attributes are all its own)."""
    return BaseProxy.watch(proxy, from_revision, resync_first, timeout)


def mirror(proxy, timeout=5.0):
    """proxy.mirror(...), also for a Namespace."""
    return BaseProxy.mirror(proxy, timeout)


__all__ = ["Manager", "SyncManager", "Error", "ConnectionError", "AuthenticationError",
           "ContainerGone", "KindError", "ForkError", "BaseProxy", "ListProxy", "DictProxy",
           "NamespaceProxy", "ValueProxy", "ArrayProxy", "QueueProxy", "AcquirerProxy",
           "ConditionProxy", "EventProxy", "BarrierProxy", "Change", "Watch", "Mirror",
           "ListMirror", "DictMirror", "ValueMirror", "Message", "batch", "watch", "mirror"]
