"""Fault injection: latency, holds, 5xx answers with Retry-After, connections dropped
mid-response, and answers trickled out one byte at a time (a slow server or link), for all requests or those whose path contains a filter, a limited number of times
or for a seeded random fraction of requests.

Stage: ``server.py`` asks ``FaultInjector.pick`` once per request (test-control requests under
``/_emulator`` are exempt) and applies the result: sleep, wait at a hold, answer with the status,
or send part of the real response and close the socket.

A hold keeps the requests it catches inside the server, after they passed the mailbox limits,
until the rule is released (``release``, ``remove`` or ``clear``), so a test can have exactly N
requests in flight without depending on the clock or on thread scheduling: ``wait_held(n)``
returns once n requests are waiting. A hold never lasts longer than its ``delay`` (30 s when 0),
so a forgotten rule cannot hang the server.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

_KINDS = ("latency", "status", "drop", "hold", "trickle", "empty")
HOLD_CAP = 30.0  # seconds a hold keeps a request at most when the rule gives no ``delay``
TRICKLE_CAP = 120.0  # seconds a trickled answer takes at most; the rest then goes at once


@dataclass
class FaultRule:
    """One rule. ``kind``: ``latency`` (sleep ``delay`` s), ``status`` (answer ``status``, e.g.
    503/504, with ``retry_after``), ``drop`` (send headers and part of the body, then close),
    ``hold`` (wait until the rule is released, at most ``delay`` s or ``HOLD_CAP``),
    ``trickle`` (send the answer, status line and headers included, one byte every ``delay``
    s, for at most ``TRICKLE_CAP`` s, then the rest at once), ``empty`` (a collection page
    answered with no entities and an ``@odata.nextLink`` to the same page, which Graph may
    send: "a page may contain zero results", graph-semantics §2, concepts/paging.md).
    ``path``: substring the request path must contain (None = all); ``method``: only this
    method; ``fraction``: probability a matching request is hit (seeded); ``count``: how many
    more times it fires (None = unlimited). ``fired`` counts the hits, ``held`` the requests a
    hold keeps waiting now."""

    kind: str = "status"
    status: int = 503
    delay: float = 0.0
    retry_after: float | None = None
    path: str | None = None
    method: str | None = None
    fraction: float = 1.0
    count: int | None = None
    id: int = field(default=0)
    fired: int = field(default=0)
    held: int = field(default=0)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(_KINDS)}, not {self.kind!r}")
        if not 0.0 <= float(self.fraction) <= 1.0:
            raise ValueError("fault fraction must be between 0 and 1")

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path or self.path in path

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """What to do to one request: sleep ``delay``, wait at the ``holds`` (rule ids), then
    answer ``status`` or ``drop``."""

    delay: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    drop: bool = False
    rule_ids: tuple[int, ...] = ()
    holds: tuple[int, ...] = ()
    trickle: float = 0.0  # seconds between the bytes of the answer (0: sent at once)
    empty: bool = False  # a collection page sent without its entities (FaultRule "empty")

    @property
    def active(self) -> bool:
        return bool(self.delay or self.status or self.drop or self.holds or self.empty)


NO_FAULT = Decision()


class FaultInjector:
    def __init__(self, seed: int = 1) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        # Signalled when a hold is released or a request starts or stops waiting at one.
        self._hold_changed = threading.Condition(self._lock)
        self._closed_holds: set[int] = set()  # hold rules that no longer keep anyone
        self._random = random.Random(seed)
        self._next_id = 1

    # -- configuring ------------------------------------------------------------------------

    def add(self, rule: FaultRule | None = None, **values: Any) -> FaultRule:
        """Add a rule (a ``FaultRule`` or its fields as keywords); returns it with its id."""
        if rule is None:
            known = {f.name for f in fields(FaultRule)} - {"id", "fired"}
            unknown = sorted(set(values) - known)
            if unknown:
                raise KeyError(f"unknown fault field(s): {', '.join(unknown)}")
            rule = FaultRule(**values)
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def latency(self, delay: float, **values: Any) -> FaultRule:
        return self.add(kind="latency", delay=delay, **values)

    def status(self, status: int = 503, retry_after: float | None = None, **values: Any) -> FaultRule:
        return self.add(kind="status", status=status, retry_after=retry_after, **values)

    def drop(self, **values: Any) -> FaultRule:
        return self.add(kind="drop", **values)

    def trickle(self, delay: float = 1.0, **values: Any) -> FaultRule:
        """Send matching answers one byte every ``delay`` seconds (see ``FaultRule``)."""
        return self.add(kind="trickle", delay=delay, **values)

    def hold(self, **values: Any) -> FaultRule:
        """Keep matching requests waiting in the server until ``release`` (see the module doc)."""
        return self.add(kind="hold", **values)

    def release(self, rule_id: int | None = None) -> None:
        """Let the requests held by one hold rule (or by all) go on; the rule then holds no
        more requests. ``remove`` and ``clear`` release too."""
        with self._hold_changed:
            for rule in self._rules:
                if rule.kind == "hold" and (rule_id is None or rule.id == rule_id):
                    self._closed_holds.add(rule.id)
            self._hold_changed.notify_all()

    def remove(self, rule_id: int) -> None:
        with self._hold_changed:
            self._rules = [r for r in self._rules if r.id != rule_id]
            self._closed_holds.add(rule_id)
            self._hold_changed.notify_all()

    def clear(self) -> None:
        with self._hold_changed:
            self._closed_holds.update(r.id for r in self._rules)
            self._rules.clear()
            self._hold_changed.notify_all()

    def held(self) -> int:
        """How many requests hold rules keep waiting now."""
        with self._lock:
            return sum(r.held for r in self._rules)

    def wait_held(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` requests are waiting at holds; False after ``timeout``
        seconds without (the caller's sign that fewer requests ever got that far)."""
        with self._hold_changed:
            return self._hold_changed.wait_for(
                lambda: sum(r.held for r in self._rules) >= count, timeout)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random.seed(seed)

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    # -- applying ---------------------------------------------------------------------------

    def pick(self, method: str, path: str, *, connection: bool = True) -> Decision:
        """The faults for one request; ``connection=False`` (a request inside a ``$batch``)
        skips ``drop`` rules, which act on the connection."""
        if not self._rules:  # the common case, without taking the lock
            return NO_FAULT
        delay = 0.0
        status: int | None = None
        retry_after: float | None = None
        drop = False
        empty = False
        trickle = 0.0
        ids: list[int] = []
        holds: list[int] = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path) or (rule.kind == "drop" and not connection):
                    continue
                if rule.kind == "hold" and rule.id in self._closed_holds:
                    continue
                if rule.kind in ("status", "drop") and (status is not None or drop):
                    continue  # one failure per request; latencies and holds add up
                if rule.fraction < 1.0 and self._random.random() >= rule.fraction:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                rule.fired += 1
                ids.append(rule.id)
                if rule.kind == "hold":
                    holds.append(rule.id)
                    continue
                if rule.kind == "trickle":
                    trickle = max(trickle, float(rule.delay))
                    continue
                if rule.kind == "empty":
                    empty = True
                    continue
                delay += float(rule.delay)
                if rule.kind == "status":
                    status, retry_after = int(rule.status), rule.retry_after
                elif rule.kind == "drop":
                    drop = True
        if not ids:
            return NO_FAULT
        return Decision(delay, status, retry_after, drop, tuple(ids), tuple(holds), trickle,
                        empty)

    def wait_at_holds(self, decision: Decision) -> None:
        """Where a request caught by hold rules waits (called by the server after the mailbox
        limits admitted the request, so a held request occupies its mailbox slot)."""
        for rule_id in decision.holds:
            with self._hold_changed:
                rule = next((r for r in self._rules if r.id == rule_id), None)
                if rule is None or rule_id in self._closed_holds:
                    continue
                cap = float(rule.delay) or HOLD_CAP
                deadline = time.monotonic() + cap
                rule.held += 1
                self._hold_changed.notify_all()
                try:
                    while rule_id not in self._closed_holds:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        self._hold_changed.wait(remaining)
                finally:
                    rule.held -= 1
                    self._hold_changed.notify_all()
