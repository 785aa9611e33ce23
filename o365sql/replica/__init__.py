"""The local replica: copies of tables kept current with Graph delta queries (DESIGN §5.3).

``store`` (the SQLite file, its bookkeeping, lock and transactions), ``tracking`` (which
tables and through which delta functions), ``refresh`` (delta rounds applied in one
transaction per mailbox) and ``source`` (the replica as a second source for the planner's
scans, AutoCache and Offline). The execution stage uses it for ``REPLICATE`` and for SELECTs
when ``AutoCache`` or ``Offline`` is set; nothing here knows SQL beyond SQLite's own.
"""

from __future__ import annotations

from .refresh import Outcome, Refresher
from .source import Coverage, ReplicaSource, offline_error
from .store import ReplicaStore, includable
from .tracking import TRACKED, tracking

__all__ = ["TRACKED", "Coverage", "Outcome", "Refresher", "ReplicaSource", "ReplicaStore",
           "includable", "offline_error", "tracking"]
