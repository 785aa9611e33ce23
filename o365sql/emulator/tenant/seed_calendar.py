"""Seeds calendars and events (emulator data stage).

Each user gets a default "Calendar" plus two more, and ``events_per_user`` meetings they
organise, spread nine months either side of the tenant's anchor, in several time zones:
single meetings, all-day events and series (daily, weekly, absolute/relative monthly, yearly;
one occurrence sometimes cancelled). In-tenant attendees get their own copy of the meeting (same
iCalUId) with their response, which is also recorded in the organiser's attendee list.

Hands on: records added to each mailbox's ``CalendarStore``.
"""

from __future__ import annotations

import base64
import html
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import seed_words
from .calendar_store import EventRecord
from .mail_json import HTML_HEAD, HTML_TAIL

if TYPE_CHECKING:
    from .tenant import Mailbox, Tenant

ZONES = ["Pacific Standard Time", "Eastern Standard Time", "W. Europe Standard Time", "UTC",
         "Tokyo Standard Time", "India Standard Time", "Romance Standard Time", "Europe/Paris"]
RESPONSES = ["accepted", "accepted", "tentativelyAccepted", "declined", "none", "notResponded"]


def seed_calendars(tenant: Tenant, mb: Mailbox, rng: random.Random, count: int) -> None:
    store = mb.calendars
    if not store.calendars:
        _add_default_calendars(mb)
    extra = [c.serial for c in store.calendars.values() if not c.data.get("isDefaultCalendar")]
    for _ in range(count):
        cal = extra[0] if extra and rng.random() < 0.1 else store.default
        _seed_event(tenant, mb, rng, cal)


def _add_default_calendars(mb: Mailbox) -> None:
    store = mb.calendars
    store.add_calendar({"name": "Calendar", "color": "auto", "hexColor": "", "isDefaultCalendar": True})
    store.add_calendar({"name": "Project Alpha", "color": "lightGreen", "hexColor": "#87d28e"})
    store.add_calendar({"name": "Fêtes & Feiertage", "color": "lightOrange", "hexColor": "#fcab73",
                        "canShare": False})


def _recurrence(rng: random.Random, start: datetime, tz: str) -> dict[str, Any]:
    weekday = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][start.weekday()]
    kind = rng.choice(["daily", "weekly", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly"])
    pattern: dict[str, Any] = {"type": kind, "interval": 1, "month": 0, "dayOfMonth": 0,
                               "daysOfWeek": [], "firstDayOfWeek": "sunday", "index": "first"}
    rng_part: dict[str, Any] = {"type": "numbered", "startDate": start.date().isoformat(), "endDate": "0001-01-01",
                                "recurrenceTimeZone": tz, "numberOfOccurrences": 0}
    if kind == "daily":
        rng_part["numberOfOccurrences"] = 5 + rng.randrange(10)
    elif kind == "weekly":
        pattern["interval"] = rng.choice([1, 1, 2])
        days = {weekday}
        if rng.random() < 0.3:
            days.add("thursday" if weekday != "thursday" else "tuesday")
        order = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
        pattern["daysOfWeek"] = [d for d in order if d in days]
        rng_part.update(type="endDate", endDate=(start + timedelta(weeks=12 + rng.randrange(30))).date().isoformat())
    elif kind == "absoluteMonthly":
        pattern["dayOfMonth"] = start.day
        rng_part["numberOfOccurrences"] = 6 + rng.randrange(12)
    elif kind == "relativeMonthly":
        pattern["daysOfWeek"] = [weekday]
        pattern["index"] = ["first", "second", "third", "fourth", "last"][min((start.day - 1) // 7, 4)]
        if pattern["index"] == "last" or start.day > 28:
            pattern["index"] = "last"
        rng_part.update(type="endDate", endDate=(start + timedelta(days=365)).date().isoformat())
    else:
        pattern.update(month=start.month, dayOfMonth=start.day)
        rng_part["type"] = "noEnd"
    return {"pattern": pattern, "range": rng_part}


def _seed_event(tenant: Tenant, mb: Mailbox, rng: random.Random, cal: int) -> None:
    tz = rng.choice(ZONES)
    day = tenant.anchor.replace(tzinfo=None) + timedelta(days=rng.randrange(-270, 270))
    kind = rng.random()
    if kind < 0.12:
        start = day.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1 + (rng.random() < 0.2) * rng.randrange(1, 4))
        all_day = True
    else:
        start = day.replace(hour=8 + rng.randrange(10), minute=rng.choice([0, 30]), second=0, microsecond=0)
        end = start + timedelta(minutes=rng.choice([30, 60, 60, 90, 120]))
        all_day = False
    subject = rng.choice(seed_words.MEETING_SUBJECTS)
    room = rng.choice(seed_words.ROOMS)
    text = " ".join(rng.choice(seed_words.SENTENCES) for _ in range(1 + rng.randrange(3)))
    organizer = {"emailAddress": {"name": mb.user["displayName"], "address": mb.address}}
    attendees: list[dict[str, Any]] = []
    copies: list[tuple[Mailbox, str]] = []
    n_users = len(tenant.users)
    for _ in range(rng.randrange(5)):
        if rng.random() < 0.7 and n_users > 1:
            other = tenant.users[rng.randrange(n_users)]
            if other["id"] == mb.user_id or any(a["emailAddress"]["address"] == other["mail"] for a in attendees):
                continue
            name, address = other["displayName"], other["mail"]
        else:
            name, address = rng.choice(seed_words.EXTERNAL_PEOPLE)
            if any(a["emailAddress"]["address"] == address for a in attendees):
                continue
        response = rng.choice(RESPONSES)
        time = "0001-01-01T00:00:00Z" if response in ("none", "notResponded") else (
            (start - timedelta(days=rng.randrange(1, 10))).strftime("%Y-%m-%dT%H:%M:%SZ"))
        attendees.append({"type": "optional" if rng.random() < 0.2 else "required",
                          "status": {"response": response, "time": time},
                          "emailAddress": {"name": name, "address": address}})
        other_mb = tenant.mailbox_by_address(address)
        if other_mb is not None:
            copies.append((other_mb, response))
    online = rng.random() < 0.35
    data: dict[str, Any] = {
        "subject": subject,
        "body": {"contentType": "html", "content": HTML_HEAD + "<div>" + html.escape(text, quote=False) + "</div>" + HTML_TAIL},
        "categories": [rng.choice(seed_words.CATEGORIES)] if rng.random() < 0.2 else [],
        "iCalUId": "040000008200E00074C5B7101A82E00800000000" + rng.getrandbits(128).to_bytes(16, "big").hex().upper(),
        "reminderMinutesBeforeStart": rng.choice([0, 5, 15, 15, 30, 1080]),
        "isReminderOn": not all_day,
        "importance": rng.choice(["normal"] * 8 + ["high", "low"]),
        "sensitivity": rng.choice(["normal"] * 8 + ["private", "personal"]),
        "isAllDay": all_day,
        "isOrganizer": True,
        "responseRequested": True,
        "showAs": "free" if all_day and rng.random() < 0.5 else rng.choice(["busy"] * 6 + ["tentative", "oof", "workingElsewhere"]),
        "isOnlineMeeting": online,
        "onlineMeetingProvider": "teamsForBusiness" if online else "unknown",
        "onlineMeeting": ({"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_"
                           + base64.urlsafe_b64encode(rng.getrandbits(96).to_bytes(12, "big")).decode()
                           + "%40thread.v2/0", "conferenceId": str(rng.randrange(10**8, 10**9)),
                           "tollNumber": "+1 425 555 0199"} if online else None),
        "allowNewTimeProposals": True,
        "location": {"displayName": room, "locationType": "default", "uniqueId": room, "uniqueIdType": "private"},
        "locations": [{"displayName": room, "locationType": "default", "uniqueId": room, "uniqueIdType": "private"}],
        "attendees": attendees,
        "organizer": organizer,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
    }
    if rng.random() < 0.15 and not all_day:
        data["recurrence"] = _recurrence(rng, start, tz)
    created = (start - timedelta(days=rng.randrange(1, 60))).timestamp()
    rec = EventRecord(mb.calendars.next_serial(), cal, data, start, end, tz, tz, created, created + rng.randrange(3600))
    if data.get("recurrence") and rng.random() < 0.5 and data["recurrence"]["pattern"]["type"] in ("daily", "weekly"):
        # One cancelled occurrence (the second one), as after "cancel this occurrence".
        from . import recurrence as rec_mod
        days = list(rec_mod.dates(data["recurrence"], start.date() + timedelta(days=60)))
        if len(days) > 2:
            rec.cancelled.add(days[1])
    if rng.random() < 0.06:
        content = f"Agenda for {subject}\r\n".encode()
        rec.attachments.append({"__n": 1, "name": "agenda.txt", "contentType": "text/plain",
                                "size": len(content), "isInline": False,
                                "contentBytes": base64.b64encode(content).decode("ascii"),
                                "lastModifiedDateTime": datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
        rec.next_attachment = 2
    mb.calendars.add_event(rec)
    for other_mb, response in copies:
        if not other_mb.calendars.calendars:
            _add_default_calendars(other_mb)
        copy_data = dict(data)
        copy_data["isOrganizer"] = False
        copy_data["responseStatus"] = {"response": response, "time": "0001-01-01T00:00:00Z"}
        copy_data["attendees"] = [dict(a) for a in attendees]
        copy = EventRecord(other_mb.calendars.next_serial(), other_mb.calendars.default, copy_data,
                           start, end, tz, tz, created, created + 60)
        copy.cancelled = set(rec.cancelled)
        other_mb.calendars.add_event(copy)
