"""Replica stage, calendarView windows (pure): how the replica names, reads and first chooses
the time windows it keeps (tracking.py, "windows").

A window is a pair of aware UTC datetimes; the replica names its scope
``2026-10-01T00:00:00Z/2026-12-01T00:00:00Z`` (the text Graph's ``startDateTime`` and
``endDateTime`` parameters get). A first copy that REPLICATE gives no window keeps
``ReplicateWindow`` days either side of that day: computed once, stored with the delta link
as the scope's name, never recomputed from the clock afterwards.
"""

from __future__ import annotations

import datetime as _dt
import time

from ..value_model import as_utc, datetime_text

Window = tuple[_dt.datetime, _dt.datetime]


def window_text(window: Window) -> str:
    """A window as the replica names its scope: ``2026-10-01T00:00:00Z/2026-12-01T00:00:00Z``."""
    return f"{iso(window[0])}/{iso(window[1])}"


def parse_window(text: str) -> Window:
    start, _, end = text.partition("/")
    return as_utc(start), as_utc(end)


def default_window(days: int, now: float | None = None) -> Window:
    """``days`` either side of the day ``now`` falls in (UTC midnight): the window a first
    copy of CalendarView keeps when REPLICATE names none. Computed once, then stored."""
    moment = _dt.datetime.fromtimestamp(time.time() if now is None else now, _dt.UTC)
    today = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    span = _dt.timedelta(days=days)
    return today - span, today + span


def iso(value: _dt.datetime) -> str:
    """A UTC instant as Graph's window parameters take it (fractions only when present)."""
    return datetime_text(value.astimezone(_dt.UTC), "T") + "Z"
