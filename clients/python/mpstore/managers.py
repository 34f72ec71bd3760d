"""mpstore.managers: the names of multiprocessing.managers that mpstore
provides, for code that imports them from there::

    from multiprocessing.managers import SyncManager   # before
    from mpstore.managers import SyncManager           # after
"""
from multiprocessing.managers import Namespace, RemoteError, Token  # noqa: F401

from ._manager import SyncManager  # noqa: F401
from ._proxy import BaseProxy  # noqa: F401
from ._containers import DictProxy, ListProxy, NamespaceProxy  # noqa: F401
from ._values import ArrayProxy, ValueProxy  # noqa: F401
from ._sync import AcquirerProxy, BarrierProxy, ConditionProxy, EventProxy  # noqa: F401

__all__ = ["SyncManager", "BaseProxy", "ListProxy", "DictProxy", "NamespaceProxy",
           "ValueProxy", "ArrayProxy", "AcquirerProxy", "ConditionProxy", "EventProxy",
           "BarrierProxy", "Namespace", "RemoteError"]
