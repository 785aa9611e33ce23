"""Calendars and events of one mailbox, and their Graph JSON (emulator data stage).

Events keep their wall-clock start/end in their original time zone (as Exchange does); JSON is
rendered on demand in UTC or in the zone of ``Prefer: outlook.timezone``. Series masters expand
into occurrences for calendarView and ``/instances`` (``tenant.recurrence``); ``/events`` lists single
instances and masters only (user-list-events.md). Shapes follow user-post-events.md.

Hands on: ``CalendarStore`` to the tenant, ``event_json``/``calendar_json``/``occurrences`` to
``graph.calendar``.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import item_ids, recurrence, timezones
from .mail_json import html_to_text, preview

if TYPE_CHECKING:
    from .tenant import Mailbox

EPOCH = date(1970, 1, 1)


@dataclass
class EventRecord:
    serial: int
    calendar: int
    data: dict[str, Any]  # Graph properties that are stored as given (subject, body, attendees, ...)
    start: datetime  # naive wall clock in ``tz``
    end: datetime  # naive wall clock in ``end_tz``
    tz: str
    end_tz: str
    created: float
    modified: float
    change: int = 0
    attachments: list[dict[str, Any]] = field(default_factory=list)
    next_attachment: int = 1
    cancelled: set[date] = field(default_factory=set)

    @property
    def is_master(self) -> bool:
        return bool(self.data.get("recurrence"))

    @property
    def all_day(self) -> bool:
        return bool(self.data.get("isAllDay"))

    def utc_span(self) -> tuple[datetime, datetime]:
        return timezones.to_utc(self.start, self.tz), timezones.to_utc(self.end, self.end_tz)


@dataclass
class CalendarRecord:
    serial: int
    data: dict[str, Any]  # name, color, hexColor, isDefaultCalendar, ...
    change: int = 0


class CalendarStore:
    """Calendars and events of one mailbox. Callers hold the mailbox lock."""

    def __init__(self, next_serial: Iterator[int]) -> None:
        self._next = next_serial
        self.calendars: dict[int, CalendarRecord] = {}
        self.events: dict[int, EventRecord] = {}
        self.default: int = 0

    def next_serial(self) -> int:
        return next(self._next)

    def add_calendar(self, data: dict[str, Any]) -> CalendarRecord:
        cal = CalendarRecord(self.next_serial(), data)
        self.calendars[cal.serial] = cal
        if data.get("isDefaultCalendar"):
            self.default = cal.serial
        return cal

    def add_event(self, rec: EventRecord) -> EventRecord:
        self.events[rec.serial] = rec
        return rec

    def in_calendar(self, serial: int | None) -> list[EventRecord]:
        return [e for e in self.events.values() if serial is None or e.calendar == serial]

    def by_ical_uid(self, uid: str) -> EventRecord | None:
        for e in self.events.values():
            if e.data.get("iCalUId") == uid:
                return e
        return None


def _key(mb: Mailbox, serial: int, change: int) -> str:
    return base64.b64encode(b"\xf9\x3c\x11\x0e" + mb.key[:10] + struct.pack(">IH", serial, change)).decode("ascii")


def _stamp(ts: float) -> str:
    # Calendar timestamps carry seven fractional digits (user-post-events.md).
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def calendar_json(mb: Mailbox, cal: CalendarRecord) -> dict[str, Any]:
    d = cal.data
    return {
        "id": mb.item_id(item_ids.CALENDAR, cal.serial),
        "name": d["name"],
        "color": d.get("color", "auto"),
        "hexColor": d.get("hexColor", ""),
        "isDefaultCalendar": bool(d.get("isDefaultCalendar")),
        "changeKey": _key(mb, cal.serial, cal.change),
        "canShare": d.get("canShare", True),
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": not d.get("isDefaultCalendar"),
        "owner": {"name": mb.user["displayName"], "address": mb.address},
    }


def _span_json(rec: EventRecord, start_utc: datetime, end_utc: datetime,
               tz: str | None) -> tuple[dict[str, str], dict[str, str]]:
    if rec.all_day:
        # All-day events are floating dates: midnight to midnight in whatever zone is asked for.
        s = rec.start.replace(hour=0, minute=0, second=0, microsecond=0) + (start_utc - timezones.to_utc(rec.start, rec.tz))
        e = s + (rec.end - rec.start)
        return ({"dateTime": timezones.fmt(s), "timeZone": tz or "UTC"},
                {"dateTime": timezones.fmt(e), "timeZone": tz or "UTC"})
    return timezones.dtz(start_utc, tz), timezones.dtz(end_utc, tz)


def event_json(mb: Mailbox, rec: EventRecord, tz: str | None = None, *,
               occurrence: date | None = None) -> dict[str, Any]:
    """The full Graph event; ``occurrence`` renders one occurrence of a series master."""
    d = rec.data
    ck = _key(mb, rec.serial, rec.change)
    start_utc, end_utc = rec.utc_span()
    master_id = mb.item_id(item_ids.EVENT, rec.serial)
    if occurrence is not None:
        shift = occurrence - rec.start.date()
        local_start = rec.start + shift
        start_utc = timezones.to_utc(local_start, rec.tz)
        end_utc = start_utc + (timezones.to_utc(rec.end, rec.end_tz) - timezones.to_utc(rec.start, rec.tz))
        event_id = mb.item_id(item_ids.OCCURRENCE, rec.serial, (occurrence - EPOCH).days)
        kind, series = "occurrence", master_id
    else:
        event_id = master_id
        kind, series = ("seriesMaster" if rec.is_master else "singleInstance"), None
    body = d.get("body") or {"contentType": "html", "content": ""}
    text = body["content"] if body.get("contentType") == "text" else html_to_text(body["content"])
    start, end = _span_json(rec, start_utc, end_utc, tz)
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{ck}"',
        "id": event_id,
        "createdDateTime": _stamp(rec.created),
        "lastModifiedDateTime": _stamp(rec.modified),
        "changeKey": ck,
        "categories": list(d.get("categories", [])),
        "transactionId": d.get("transactionId"),
        "originalStartTimeZone": rec.tz,
        "originalEndTimeZone": rec.end_tz,
        "iCalUId": d["iCalUId"],
        # Graph's documented event (outlook-calendar-meeting-proposals.md) carries ``uid``,
        # the meeting's id shared by every attendee's copy, beside iCalUId.
        "uid": d["iCalUId"],
        "reminderMinutesBeforeStart": d.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": d.get("isReminderOn", True),
        "hasAttachments": any(not a.get("isInline") for a in rec.attachments),
        "subject": d.get("subject", ""),
        "bodyPreview": preview(text),
        "importance": d.get("importance", "normal"),
        "sensitivity": d.get("sensitivity", "normal"),
        "isAllDay": rec.all_day,
        "isCancelled": bool(d.get("isCancelled")),
        "isOrganizer": bool(d.get("isOrganizer", True)),
        "responseRequested": d.get("responseRequested", True),
        "seriesMasterId": series,
        "showAs": d.get("showAs", "busy"),
        "type": kind,
        "webLink": ("https://outlook.office365.com/owa/?itemid=" + quote(event_id, safe="")
                    + "&exvsurl=1&path=/calendar/item"),
        "onlineMeetingUrl": None,
        "isOnlineMeeting": bool(d.get("isOnlineMeeting")),
        "onlineMeetingProvider": d.get("onlineMeetingProvider", "unknown"),
        "allowNewTimeProposals": d.get("allowNewTimeProposals", True),
        "isDraft": False,
        "hideAttendees": d.get("hideAttendees", False),
        "responseStatus": d.get("responseStatus") or {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": dict(body),
        "start": start,
        "end": end,
        "location": d.get("location") or {"displayName": "", "locationType": "default",
                                          "uniqueIdType": "unknown", "address": {}, "coordinates": {}},
        "locations": list(d.get("locations", [])),
        "recurrence": d.get("recurrence") if occurrence is None else None,
        "attendees": [dict(a) for a in d.get("attendees", [])],
        "organizer": d.get("organizer") or {"emailAddress": {"name": mb.user["displayName"], "address": mb.address}},
        "onlineMeeting": d.get("onlineMeeting"),
    }
    if occurrence is not None:
        out["originalStart"] = start_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    # A series master's cancelled occurrences by their ids (event resource page: "returned
    # only on $select", odata.rules select_only); [] on every other event.
    out["cancelledOccurrences"] = sorted(
        mb.item_id(item_ids.OCCURRENCE, rec.serial, (day - EPOCH).days) for day in rec.cancelled
    ) if rec.is_master and occurrence is None else []
    if d.get("singleValueExtendedProperties"):
        # Stored by a write; Graph returns them only with $expand (odata.rules select_only).
        out["singleValueExtendedProperties"] = [dict(p) for p in d["singleValueExtendedProperties"]]
    return out


def occurrences(rec: EventRecord, window_start: datetime, window_end: datetime) -> Iterator[date]:
    """Dates of the series' occurrences that overlap [window_start, window_end) (aware, UTC)."""
    if not rec.is_master:
        return
    duration = timezones.to_utc(rec.end, rec.end_tz) - timezones.to_utc(rec.start, rec.tz)
    until = (window_end + timedelta(days=2)).date()
    for day in recurrence.dates(rec.data["recurrence"], until):
        if day in rec.cancelled:
            continue
        start = timezones.to_utc(datetime.combine(day, rec.start.time()), rec.tz)
        if start < window_end and start + duration > window_start:
            yield day


def overlaps(rec: EventRecord, window_start: datetime, window_end: datetime) -> bool:
    start, end = rec.utc_span()
    return start < window_end and end > window_start
