"""The emulator's request log and counters, for tests and benchmarks to check what clients did.

Stage: ``server.py`` records one ``LogEntry`` per request when it has answered (test-control
requests under ``/_emulator`` are not recorded). ``Emulator.log``/``counters`` and
``GET /_emulator/log`` read it. No token, secret or body is ever recorded.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LogEntry:
    """One answered request. ``kind``: ``graph``, ``batch``, ``identity`` or ``other``."""

    time: float
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    kind: str
    client_id: str | None = None
    mailbox: str | None = None
    request_id: str | None = None
    grant_type: str | None = None
    error: str | None = None  # Graph error code or OAuth error
    fault: str | None = None  # "latency", "hold", "status", "drop", "trickle", "empty"
    inner: list[dict[str, Any]] = field(default_factory=list)  # $batch: id, method, url, status
    extra: dict[str, Any] = field(default_factory=dict)
    raw_path: str = ""  # the path as sent, still percent-encoded (``path`` is decoded)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Bounded, thread-safe log (the newest ``capacity`` entries) plus running counters."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._by_status: Counter[int] = Counter()
        self._by_kind: Counter[str] = Counter()
        self._inner_by_status: Counter[int] = Counter()
        self._total = 0

    def record(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._total += 1
            self._by_status[entry.status] += 1
            self._by_kind[entry.kind] += 1
            for inner in entry.inner:
                status = inner.get("status")
                if isinstance(status, int):
                    self._inner_by_status[status] += 1

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_status.clear()
            self._by_kind.clear()
            self._inner_by_status.clear()
            self._total = 0

    def counters(self) -> dict[str, Any]:
        """``{"total": n, "by_status": {200: n, ...}, "by_kind": {"graph": n, ...},
        "batch_inner_by_status": {...}}``"""
        with self._lock:
            return {
                "total": self._total,
                "by_status": dict(self._by_status),
                "by_kind": dict(self._by_kind),
                "batch_inner_by_status": dict(self._inner_by_status),
            }
