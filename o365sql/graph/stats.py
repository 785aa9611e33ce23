"""Counters of what the Graph client sent and received, read by tests, benchmarks and
``EXPLAIN ANALYZE``-style reports; shared by ``client.py`` and ``batch.py`` worker threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

__all__ = ["ClientStats"]


@dataclass
class ClientStats:
    """Running totals for one ``GraphClient`` (thread-safe updates through ``add``).

    Attributes:
        requests: HTTP requests sent, every attempt counted (a ``$batch`` POST is one).
        pages: pages delivered to callers (top-level or inner ``$batch`` responses).
        batches: ``$batch`` POSTs sent (logical; their retries count in ``retries``).
        batch_items: inner requests carried by those batches, retried ones included.
        retries: attempts repeated after 429/503/504 or a network failure (inner ones too).
        throttled: 429/503/504 answers seen, top-level or inner.
        refreshes: tokens force-refreshed after a 401.
        missing: lookups answered "no such item", yielded as empty pages
            (``fan_out(missing_ok=True)``).
        resolved: creates whose answer was lost, settled by looking their client marker up
            (``writes.send_writes``).
        wait_seconds: time slept before retries.
        bytes: response body bytes received.
        max_in_flight: the most ``$batch`` POSTs a ``fan_out`` had in flight at once (a
            high-water mark kept by its dispatcher, counting each batch from its submission to
            the handling of its answer, so it bounds the real overlap from above; at most
            ``max_concurrency``). Kept across calls until ``reset``.
    """

    requests: int = 0
    pages: int = 0
    batches: int = 0
    batch_items: int = 0
    retries: int = 0
    throttled: int = 0
    refreshes: int = 0
    missing: int = 0
    resolved: int = 0
    wait_seconds: float = 0.0
    bytes: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        """Add to several counters at once: ``stats.add(requests=1, bytes=512)``."""
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def note_in_flight(self, count: int) -> None:
        """Raise the ``max_in_flight`` high-water mark to ``count`` if it is higher."""
        with self._lock:
            self.max_in_flight = max(self.max_in_flight, count)

    def snapshot(self) -> dict[str, float]:
        """A consistent copy of every counter, as a dict."""
        with self._lock:
            return {
                f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")
            }

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            for f in fields(self):
                if not f.name.startswith("_"):
                    setattr(self, f.name, type(getattr(self, f.name))())
