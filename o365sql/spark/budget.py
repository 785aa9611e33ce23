"""The app-wide request budget, kept by every task pacing its own share.

Stage: the task's sign-in seam. Graph limits an app across a tenant (130,000 requests per 10
seconds per app; delta-limits-spark.md §5.3) and per mailbox (10,000 requests per 10 minutes,
four at once). Spark has no cluster-wide rate limiter, so the option ``requestsPerSecond`` is
split evenly: each task may send ``requestsPerSecond / taskSlots`` requests a second, and since
at most ``taskSlots`` tasks run at once, together they stay within the budget.

The Graph client asks its token provider for a token before every HTTP attempt (retries
included, ``graph/client.py``), so a provider that waits its turn before answering paces every
request the task sends, whatever path (paging, ``$batch``, retries) sends it.
"""

from __future__ import annotations

import threading
import time

from ..auth.tokens import TokenProvider


class PacedTokens:
    """A ``TokenProvider`` that lets at most ``rate`` calls a second through (evenly spaced)."""

    def __init__(self, inner: TokenProvider, rate: float) -> None:
        self._inner = inner
        self._interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self.waited = 0.0

    def access_token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            now = time.monotonic()
            due = max(now, self._next)
            self._next = due + self._interval
        if due > now:
            self.waited += due - now
            time.sleep(due - now)
        return self._inner.access_token(force_refresh=force_refresh)


def task_rate(requests_per_second: float | None, task_slots: int | None,
              partitions: int) -> float | None:
    """One task's share of the budget (None: no budget)."""
    if requests_per_second is None:
        return None
    slots = max(1, min(task_slots or partitions, partitions))
    return requests_per_second / slots
