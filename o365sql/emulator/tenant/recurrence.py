"""Expands a patternedRecurrence into occurrence dates (emulator support for calendarView).

Pattern types daily, weekly, absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly and
range types endDate, noEnd, numbered, as defined on
https://learn.microsoft.com/graph/api/resources/recurrencepattern and
https://learn.microsoft.com/graph/api/resources/recurrencerange . Dates are wall-clock dates in
the recurrence's time zone; the caller attaches the start time and converts to UTC.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEXES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
MAX_OCCURRENCES = 5000


def _weekdays(pattern: dict[str, Any]) -> list[int]:
    return sorted(DAY_NAMES.index(d.lower()) for d in (pattern.get("daysOfWeek") or []))


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    m = month - 1 + n
    return year + m // 12, m % 12 + 1


def _relative_day(year: int, month: int, days: list[int], index: str | None) -> date | None:
    last = calendar.monthrange(year, month)[1]
    matches = [date(year, month, d) for d in range(1, last + 1) if date(year, month, d).weekday() in days]
    if not matches:
        return None
    i = INDEXES.get((index or "first").lower(), 0)
    return matches[i] if i < len(matches) else matches[-1]


def _candidates(pattern: dict[str, Any], start: date) -> Iterator[date]:
    kind = pattern.get("type", "daily")
    interval = max(1, int(pattern.get("interval") or 1))
    # Monthly and yearly patterns: a month without the day (the 31st, no fifth Monday) yields none.
    day: date | None
    if kind == "daily":
        d = start
        while True:
            yield d
            d += timedelta(days=interval)
    elif kind == "weekly":
        days = _weekdays(pattern) or [start.weekday()]
        first = DAY_NAMES.index((pattern.get("firstDayOfWeek") or "sunday").lower())
        week = start - timedelta(days=(start.weekday() - first) % 7)
        while True:
            for offset in range(7):
                d = week + timedelta(days=offset)
                if d.weekday() in days and d >= start:
                    yield d
            week += timedelta(days=7 * interval)
    elif kind in ("absoluteMonthly", "relativeMonthly"):
        year, month = start.year, start.month
        while True:
            if kind == "absoluteMonthly":
                dom = int(pattern.get("dayOfMonth") or start.day)
                day = date(year, month, dom) if dom <= calendar.monthrange(year, month)[1] else None
            else:
                day = _relative_day(
                    year, month, _weekdays(pattern) or [start.weekday()], pattern.get("index")
                )
            if day is not None and day >= start:
                yield day
            year, month = _add_months(year, month, interval)
    elif kind in ("absoluteYearly", "relativeYearly"):
        year = start.year
        month = int(pattern.get("month") or start.month)
        while True:
            if kind == "absoluteYearly":
                dom = int(pattern.get("dayOfMonth") or start.day)
                day = date(year, month, dom) if dom <= calendar.monthrange(year, month)[1] else None
            else:
                day = _relative_day(
                    year, month, _weekdays(pattern) or [start.weekday()], pattern.get("index")
                )
            if day is not None and day >= start:
                yield day
            year += interval
    else:
        raise ValueError(f"unknown recurrence pattern type {kind!r}")


def dates(recurrence: dict[str, Any], until: date) -> Iterator[date]:
    """Occurrence dates of a series, in order, up to ``until`` (inclusive) and the range's end."""
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    start = date.fromisoformat(rng["startDate"])
    end = date.fromisoformat(rng["endDate"]) if rng.get("type") == "endDate" and rng.get("endDate") else None
    count = int(rng.get("numberOfOccurrences") or 0) if rng.get("type") == "numbered" else 0
    for n, d in enumerate(_candidates(pattern, start)):  # n = occurrences yielded so far
        if d > until or (end is not None and d > end) or (count and n >= count) or n >= MAX_OCCURRENCES:
            return
        yield d
