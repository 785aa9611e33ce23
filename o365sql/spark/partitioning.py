"""Partition planning: mailboxes (and their sizes) into even Spark tasks.

Stage: pure. A partition is a tuple of :class:`Slice` s, each one mailbox or a half-open time
range ``[low, high)`` of one. Mailboxes larger than the target are split into about
``size / target`` ranges of equal length between their first and last item (mail arrives
steadily enough that equal time is near equal count; the ranges are disjoint by
construction, so no row is read twice and none is missed). Smaller mailboxes are packed into
partitions of about the target, the largest first, each into the lightest partition so far.
A mailbox whose size is unknown (not counted, or its count failed) gets a partition of its own.

Slices of one split mailbox are spread through the partition order, because Spark starts tasks
in that order and Outlook allows four concurrent requests per mailbox
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

#: The weight of a mailbox with no rows: reading it still costs a request.
MIN_WEIGHT = 20


@dataclass(frozen=True)
class Slice:
    """One mailbox, or the part of it whose split column lies in ``[low, high)`` (ISO 8601
    UTC text; None is unbounded)."""

    mailbox: str | None
    low: str | None = None
    high: str | None = None


@dataclass(frozen=True)
class MailboxSize:
    """What the planner knows of one mailbox: its row count (None: unknown) and the first
    and last value of the split column (None: not read)."""

    mailbox: str
    rows: int | None = None
    first: datetime | None = None
    last: datetime | None = None


def plan(sizes: Sequence[MailboxSize], target: int) -> list[tuple[Slice, ...]]:
    """Partitions of about ``target`` rows each (see the module docstring)."""
    target = max(1, target)
    split: list[list[tuple[Slice, ...]]] = []
    own: list[tuple[Slice, ...]] = []
    small: list[MailboxSize] = []
    for size in sizes:
        if size.rows is None:
            own.append((Slice(size.mailbox),))
        elif size.rows > target and size.first is not None and size.last is not None and \
                size.last > size.first:
            split.append([(s,) for s in time_slices(size, math.ceil(size.rows / target))])
        else:
            small.append(size)
    packed = _pack(small, target)
    return _interleave(split, own + packed)


def time_slices(size: MailboxSize, pieces: int) -> list[Slice]:
    """``pieces`` half-open ranges covering every value (the first and last are unbounded)."""
    assert size.first is not None and size.last is not None
    span = (size.last - size.first) / pieces
    bounds: list[str] = []
    for i in range(1, pieces):
        edge = (size.first + span * i).astimezone(UTC).replace(microsecond=0)
        text = iso(edge)
        if not bounds or text > bounds[-1]:
            bounds.append(text)
    edges: list[str | None] = [None, *bounds, None]
    return [Slice(size.mailbox, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def iso(value: datetime) -> str:
    """UTC ISO 8601 text with ``Z`` (what the driver parses and Graph compares)."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _pack(small: list[MailboxSize], target: int) -> list[tuple[Slice, ...]]:
    """Largest first, each into the lightest partition when it fits, else a new one."""
    ordered = sorted(small, key=lambda s: (-_weight(s), s.mailbox))
    heap: list[tuple[int, int]] = []  # (load, partition number)
    groups: list[list[str]] = []
    for size in ordered:
        weight = _weight(size)
        if heap and heap[0][0] + weight <= target:
            load, number = heapq.heappop(heap)
        else:
            load, number = 0, len(groups)
            groups.append([])
        groups[number].append(size.mailbox)
        heapq.heappush(heap, (load + weight, number))
    return [tuple(Slice(m) for m in sorted(group)) for group in groups]


def _weight(size: MailboxSize) -> int:
    return max(size.rows or 0, MIN_WEIGHT)


def _interleave(split: list[list[tuple[Slice, ...]]], rest: list[tuple[Slice, ...]]
                ) -> list[tuple[Slice, ...]]:
    """Round-robin over the split mailboxes, then the rest: consecutive slices of one
    mailbox are as far apart as the number of split mailboxes allows."""
    ordered: list[tuple[Slice, ...]] = []
    queues = [list(q) for q in split]
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered + rest


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)

