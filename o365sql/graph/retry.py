"""The one retry policy of the Graph client: when a failed call is tried again and how long to wait.

Used by ``client.py`` for every HTTP call and by ``batch.py`` for inner ``$batch`` requests
that failed alone. It is pure apart from reading the clock: it hands the caller a delay or a
verdict to give up, and the caller sleeps (cancellably) and raises.

Every call also has a deadline: the connection's ``Timeout`` seconds from its first attempt.
A wait that would pass it is not made; the caller fails at once instead (``past_deadline``).

Graph's guidance (https://learn.microsoft.com/graph/throttling): on 429 wait the
``Retry-After`` seconds (the docs' sample is fractional, ``2.128``), retry, and fall back to
exponential backoff when the header is absent; 503 may carry ``Retry-After`` too and 504 may
come with it (https://learn.microsoft.com/graph/errors).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass, field

__all__ = [
    "RETRY_STATUSES",
    "UNREACHABLE_DELAY",
    "RetryPolicy",
    "RetryState",
    "parse_retry_after",
]

#: Statuses that mean "not now": throttled, unavailable, gateway timeout.
RETRY_STATUSES = frozenset({429, 503, 504})
#: Pause before the one retry after a failed name lookup or a refused connection: such a
#: failure rarely heals within seconds, so it is retried once, quickly, not with backoff.
UNREACHABLE_DELAY = 0.2


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (fractional accepted) or an
    HTTP-date (RFC 9110 §10.2.3). None when absent or unreadable; never negative.

    Example:
        >>> parse_retry_after("2.128"), parse_retry_after("0"), parse_retry_after("soon")
        (2.128, 0.0, None)
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412480.0)
        5.0
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP-date is always GMT
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):  # "nan", "inf"
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one logical request is retried.

    Attributes:
        max_attempts: tries in total for one request (the first one included).
        max_total_wait: seconds of waiting allowed across the retries of one request; a
            ``Retry-After`` that would exceed what is left ends the retries at once.
        backoff_base: first backoff delay when Graph gives no ``Retry-After``; doubles per try.
        backoff_cap: largest backoff delay.
        jitter: spread backoff delays randomly over [delay/2, delay] so that parallel
            workers do not retry in lockstep. ``Retry-After`` values are honoured exactly.
    """

    max_attempts: int = 6
    max_total_wait: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    jitter: bool = True

    def start(self, timeout: float | None = None) -> RetryState:
        """A fresh attempt counter for one logical request that must be done within
        ``timeout`` seconds of its first attempt (None: no deadline)."""
        return RetryState(self, timeout=timeout if timeout and timeout > 0 else None)

    def backoff(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (1 = the first) when Graph sent no Retry-After."""
        delay = min(self.backoff_cap, self.backoff_base * (2.0 ** (retry_number - 1)))
        if self.jitter:
            delay = delay / 2 + random.uniform(0, delay / 2)
        return delay


@dataclass
class RetryState:
    """Attempts, waiting and the deadline of one logical request under a ``RetryPolicy``.

    Attributes:
        timeout: seconds the request may take, retries included (None: no limit).
        deadline: ``time.monotonic()`` value by which it must be done; set by ``begin``.
        past_deadline: the last ``next_delay`` gave up because its wait would pass the deadline.
        last_delay: the wait the last ``next_delay`` computed (made or not).
    """

    policy: RetryPolicy
    attempts: int = 0
    waited: float = 0.0
    reasons: list[str] = field(default_factory=list)
    timeout: float | None = None
    deadline: float | None = None
    past_deadline: bool = False
    last_delay: float = 0.0

    def begin(self) -> None:
        """Start the clock (at the first attempt; later calls change nothing). A ``$batch``
        inner request starts it when its batch is sent, not when it is queued."""
        if self.deadline is None and self.timeout is not None:
            self.deadline = time.monotonic() + self.timeout

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or None without one."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def give_up(self, reason: str) -> None:
        """Record a failed attempt that will not be retried (for ``summary``)."""
        self.attempts += 1
        self.reasons.append(reason)

    def next_delay(self, reason: str, retry_after: float | None = None) -> float | None:
        """Record a failed attempt and return how long to wait before the next one, or None
        when the policy says to give up (attempts used up, the wait would pass the budget,
        or it would pass the deadline: then ``past_deadline`` is set).

        ``reason`` is a short fact for the final error (``"429 ApplicationThrottled"``).
        """
        self.attempts += 1
        self.reasons.append(reason)
        self.past_deadline = False
        delay = retry_after if retry_after is not None else self.policy.backoff(self.attempts)
        self.last_delay = delay
        if self.attempts >= self.policy.max_attempts:
            return None
        if self.waited + delay > self.policy.max_total_wait:
            return None
        if self.deadline is not None and time.monotonic() + delay >= self.deadline:
            self.past_deadline = True
            return None
        self.waited += delay
        return delay

    def summary(self) -> str:
        """For error messages, e.g. ``after 6 attempts over 3.2 s of waiting (429 x5, 503)``."""
        counts: dict[str, int] = {}
        for reason in self.reasons:
            counts[reason] = counts.get(reason, 0) + 1
        seen = ", ".join(f"{r} x{n}" if n > 1 else r for r, n in counts.items())
        plural = "s" if self.attempts != 1 else ""
        return f"after {self.attempts} attempt{plural} over {self.waited:.1f} s of waiting ({seen})"
