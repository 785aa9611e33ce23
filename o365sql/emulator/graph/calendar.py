"""Graph calendar routes: calendars, events, calendarView, instances and meeting responses.

Emulator service stage. ``/events`` lists single instances and series masters of the default
calendar; ``calendarView`` and ``/instances`` expand series into occurrences and require
``startDateTime``/``endDateTime`` (else 400 ErrorInvalidParameter, graph-semantics §3.4); the
window carries its own offset (none = UTC) and ignores ``Prefer: outlook.timezone``, which only
changes how start/end are written. Writes per §9: create 201 (response in the Prefer zone or the
event's own zone), PATCH 200, DELETE 204, accept/decline/tentativelyAccept/cancel 202.
Invitations (a calendar copy plus an eventMessageRequest in the Inbox, ``tenant.meeting_requests``),
responses and cancellations reach in-tenant attendees and organisers. ``calendarView/delta`` is
served by ``graph.delta``.

Hands on: ``EmuResponse`` to ``graph.service``; cross-mailbox updates via ``ctx.after``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import GraphError
from ..server.wire import EmuResponse
from ..tenant import item_ids, timezones
from ..tenant.calendar_store import (
    EPOCH,
    CalendarRecord,
    EventRecord,
    calendar_json,
    event_json,
    occurrences,
    overlaps,
)
from ..tenant.mail_json import HTML_HEAD, HTML_TAIL
from . import attachments as graph_attachments
from .context import Ctx, collection, count, entity
from .extended import merge_extended
from .item_errors import bad_segment, malformed, not_found
from .mail import recipient_of, recipients
from .permissions import CALENDAR_READ, CALENDAR_WRITE, check_mailbox

if TYPE_CHECKING:
    from ..tenant.tenant import Mailbox

WINDOW_MESSAGE = ("This request requires a time window specified by the query string parameters "
                  "StartDateTime and EndDateTime.")
WRITABLE = {"subject", "body", "start", "end", "isAllDay", "location", "locations", "attendees", "categories",
            "importance", "sensitivity", "showAs", "isReminderOn", "reminderMinutesBeforeStart", "recurrence",
            "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals", "responseRequested",
            "hideAttendees", "transactionId", "originalStartTimeZone", "originalEndTimeZone", "isDraft"}
IGNORED = {"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId", "type", "seriesMasterId",
           "webLink", "responseStatus", "isOrganizer", "organizer", "hasAttachments", "bodyPreview",
           "isCancelled", "onlineMeetingUrl", "onlineMeeting", "originalStart", "uid", "cancelledOccurrences"}


def _need(ctx: Ctx, mb: Mailbox, write: bool = False) -> None:
    check_mailbox(ctx.service.tenant, ctx.req.principal, mb, CALENDAR_WRITE if write else CALENDAR_READ)


def find_calendar(mb: Mailbox, text: str) -> CalendarRecord:
    try:
        ident = item_ids.decode(text)
    except item_ids.MalformedId as exc:
        raise malformed() from exc
    cal = mb.calendars.calendars.get(ident.serial) if ident.mailbox == mb.key and ident.kind == item_ids.CALENDAR else None
    if cal is None:
        raise not_found()
    return cal


def find_event(mb: Mailbox, text: str) -> tuple[EventRecord, date | None]:
    try:
        ident = item_ids.decode(text)
    except item_ids.MalformedId as exc:
        raise malformed() from exc
    if ident.mailbox != mb.key or ident.kind not in (item_ids.EVENT, item_ids.OCCURRENCE):
        raise not_found()
    rec = mb.calendars.events.get(ident.serial)
    if rec is None:
        raise not_found()
    if ident.kind == item_ids.OCCURRENCE:
        day = EPOCH + timedelta(days=ident.extra)
        if not rec.is_master or day in rec.cancelled:
            raise not_found()
        return rec, day
    return rec, None


def route(ctx: Ctx, mb: Mailbox, segs: list[str], ref: str) -> EmuResponse:
    users = f"{ctx.base}/$metadata#users('{ref}')"
    head = segs[0].lower()
    store = mb.calendars
    if head == "calendars":
        if len(segs) == 1:
            return _calendar_list(ctx, mb, users + "/calendars")
        cal = find_calendar(mb, segs[1])
        return _in_calendar(ctx, mb, cal, segs[2:], users + "/calendars", f"{users}/calendars('{segs[1]}')")
    if head == "calendar":
        return _in_calendar(ctx, mb, store.calendars[store.default], segs[1:], users + "/calendar",
                            users + "/calendar", default=True)
    if head == "events":
        return _events(ctx, mb, store.calendars[store.default], segs[1:], users + "/events")
    if head == "calendarview":
        return _view(ctx, mb, store.calendars[store.default], segs[1:], users + "/calendarView")
    raise bad_segment(segs[0])


def _calendar_list(ctx: Ctx, mb: Mailbox, context: str) -> EmuResponse:
    from ..odata.rules import CALENDARS

    store = mb.calendars
    if ctx.method == "GET":
        _need(ctx, mb)
        return collection(ctx, [calendar_json(mb, c) for c in store.calendars.values()], CALENDARS, context)
    if ctx.method == "POST":
        _need(ctx, mb, write=True)
        data = ctx.entity_body("calendar")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Name' is empty.")
        _unique_calendar(mb, name, None)
        cal = store.add_calendar({"name": name, "color": data.get("color", "auto"),
                                  "hexColor": data.get("hexColor", "")})
        return entity(ctx, calendar_json(mb, cal), CALENDARS, context, status=201, select=False)
    raise graph_attachments.method_not_allowed()


def _unique_calendar(mb: Mailbox, name: str, exclude: int | None) -> None:
    for c in mb.calendars.calendars.values():
        if c.serial != exclude and c.data["name"].lower() == name.lower():
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")


def _in_calendar(ctx: Ctx, mb: Mailbox, cal: CalendarRecord, rest: list[str], entity_context: str,
                 path: str, default: bool = False) -> EmuResponse:
    from ..odata.rules import CALENDARS

    if not rest:
        if ctx.method == "GET":
            _need(ctx, mb)
            if default:  # GET /me/calendar: context ".../calendar/$entity"
                return entity(ctx, calendar_json(mb, cal), CALENDARS, entity_context.rsplit("/", 1)[0] + "/calendar")
            return entity(ctx, calendar_json(mb, cal), CALENDARS, entity_context)
        if ctx.method == "PATCH":
            _need(ctx, mb, write=True)
            data = ctx.entity_body("calendar")
            if "name" in data:
                if not isinstance(data["name"], str) or not data["name"].strip():
                    raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Name' is empty.")
                _unique_calendar(mb, str(data["name"]), cal.serial)
                cal.data["name"] = str(data["name"])
            for key in ("color", "hexColor"):
                if key in data:
                    cal.data[key] = data[key]
            cal.change += 1
            return entity(ctx, calendar_json(mb, cal), CALENDARS, entity_context, select=False)
        if ctx.method == "DELETE":
            _need(ctx, mb, write=True)
            if cal.data.get("isDefaultCalendar"):
                raise GraphError(400, "ErrorCannotDeleteObject", "The default calendar can't be deleted.")
            for rec in mb.calendars.in_calendar(cal.serial):
                del mb.calendars.events[rec.serial]
            del mb.calendars.calendars[cal.serial]
            return EmuResponse(204)
        raise graph_attachments.method_not_allowed()
    head = rest[0].lower()
    if head == "events":
        return _events(ctx, mb, cal, rest[1:], path + "/events")
    if head == "calendarview":
        return _view(ctx, mb, cal, rest[1:], path + "/calendarView")
    raise bad_segment(rest[0])


def _window(ctx: Ctx, params: dict[str, str] | None = None) -> tuple[datetime, datetime]:
    params = ctx.params() if params is None else params
    start, end = params.get("startdatetime"), params.get("enddatetime")
    if not start or not end:
        raise GraphError(400, "ErrorInvalidParameter", WINDOW_MESSAGE)
    return _instant(start, "StartDateTime"), _instant(end, "EndDateTime")


def _instant(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter", f"The value '{text}' of parameter '{name}' is invalid.") from exc
    if value.tzinfo is None:  # no offset means UTC (user-list-calendarview.md)
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _view(ctx: Ctx, mb: Mailbox, cal: CalendarRecord, rest: list[str], context: str) -> EmuResponse:
    from ..odata.rules import CALENDAR_VIEW

    if ctx.method != "GET":
        raise graph_attachments.method_not_allowed()
    if rest and rest != ["$count"] and [r.lower() for r in rest] != ["delta"]:
        raise bad_segment(rest[0])
    _need(ctx, mb)
    if rest and rest[0].lower() == "delta":
        return _view_delta(ctx, mb, cal)
    values = _view_items(ctx, mb, cal, *_window(ctx))
    if rest == ["$count"]:
        return count(ctx, values, CALENDAR_VIEW)
    return collection(ctx, values, CALENDAR_VIEW, context, tz=True, body=True)


def _view_items(ctx: Ctx, mb: Mailbox, cal: CalendarRecord, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Occurrences, exceptions and single instances overlapping the window, by start (§3.4)."""
    items: list[tuple[datetime, dict[str, Any]]] = []
    for rec in mb.calendars.in_calendar(cal.serial):
        if rec.is_master:
            for day in occurrences(rec, start, end):
                item = event_json(mb, rec, occurrence=day)
                items.append((timezones.to_utc(datetime.combine(day, rec.start.time()), rec.tz), item))
        elif overlaps(rec, start, end):
            items.append((rec.utc_span()[0], event_json(mb, rec)))
    items.sort(key=lambda pair: pair[0])
    return [item for _, item in items]


def _view_delta(ctx: Ctx, mb: Mailbox, cal: CalendarRecord) -> EmuResponse:
    """GET /me/calendarView/delta (§7, event-delta.md): the window comes with the first request
    and lives on in the tokens; no $select (every property is returned)."""
    from ..odata.rules import CALENDAR_VIEW_DELTA
    from . import delta as graph_delta

    params = ctx.params()
    if "$skiptoken" not in params and "$deltatoken" not in params:
        _window(ctx)  # the first request must carry the window

    graph_delta.plain_options(params, "Events")

    def current(first: dict[str, str]) -> list[graph_delta.Entry]:
        return graph_delta.json_entries(_view_items(ctx, mb, cal, *_window(ctx, first)))
    return graph_delta.serve(ctx, f"{mb.user_id}/calendars/{cal.serial}/calendarView", CALENDAR_VIEW_DELTA,
                             "event", current, selectable=False, tz=True, body=True)


def _events(ctx: Ctx, mb: Mailbox, cal: CalendarRecord, rest: list[str], context: str) -> EmuResponse:
    from ..odata.rules import EVENTS

    if not rest:
        if ctx.method == "GET":
            _need(ctx, mb)
            items = [event_json(mb, r) for r in mb.calendars.in_calendar(cal.serial)]
            return collection(ctx, items, EVENTS, context, tz=True, body=True)
        if ctx.method == "POST":
            _need(ctx, mb, write=True)
            rec = create_event(ctx, mb, cal, ctx.entity_body("event"))
            return entity(ctx, event_json(mb, rec), EVENTS, context, status=201, tz=True, body=True,
                          tz_default=rec.tz, select=False)
        raise graph_attachments.method_not_allowed()
    if rest == ["$count"]:
        _need(ctx, mb)
        return count(ctx, [event_json(mb, r) for r in mb.calendars.in_calendar(cal.serial)], EVENTS)
    rec, day = find_event(mb, rest[0])
    tail = rest[1:]
    if not tail:
        if ctx.method == "GET":
            _need(ctx, mb)
            return entity(ctx, event_json(mb, rec, occurrence=day), EVENTS, context, tz=True, body=True)
        if ctx.method == "PATCH":
            _need(ctx, mb, write=True)
            if day is not None:
                raise GraphError(400, "ErrorInvalidRequest", "Changing a single occurrence is not supported by the emulator.")
            update_event(ctx, mb, rec, ctx.entity_body("event"))
            return entity(ctx, event_json(mb, rec), EVENTS, context, tz=True, body=True, tz_default=rec.tz,
                          select=False)
        if ctx.method == "DELETE":
            _need(ctx, mb, write=True)
            if day is not None:
                # The master changes (its cancelledOccurrences): a new changeKey, as for any
                # change of an event (resources/event.md, changeKey).
                rec.cancelled.add(day)
                rec.change += 1
                rec.modified = ctx.service.tenant.now()
            else:
                del mb.calendars.events[rec.serial]
                if rec.data.get("isOrganizer", True):
                    _to_attendees(ctx, mb, rec, _cancel_copy(ctx))
            return EmuResponse(204)
        raise graph_attachments.method_not_allowed()
    action = tail[0].lower()
    if action == "attachments":
        _need(ctx, mb, write=ctx.method != "GET")
        parent = context.rsplit("/", 1)[0] + f"/events('{rest[0]}')"
        return graph_attachments.route(ctx, mb, rec, item_ids.EVENT, parent, tail[1:])
    if action == "instances" and len(tail) == 1 and ctx.method == "GET":
        from ..odata.rules import EVENT_INSTANCES

        _need(ctx, mb)
        start, end = _window(ctx)
        items = [event_json(mb, rec, occurrence=d) for d in occurrences(rec, start, end)]
        return collection(ctx, items, EVENT_INSTANCES, context.rsplit("/", 1)[0] + f"/events('{rest[0]}')/instances",
                          tz=True, body=True)
    if len(tail) == 1 and ctx.method == "POST" and action in ("accept", "decline", "tentativelyaccept", "cancel"):
        _need(ctx, mb, write=True)
        respond(ctx, mb, rec, action, ctx.action_body(action))
        return EmuResponse(202)
    if len(tail) == 1 and ctx.method == "POST" and action in ("forward", "dismissreminder", "snoozereminder"):
        _need(ctx, mb, write=True)
        reminder_or_forward(ctx, mb, rec, action, ctx.action_body(action))
        return EmuResponse(202)
    raise bad_segment(tail[0])


# writes -------------------------------------------------------------------------------------------
def _dtz(value: Any, name: str) -> tuple[datetime, str]:
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphError(400, "ErrorInvalidRequest", f"The property '{name}' is required and must be a dateTimeTimeZone.")
    tz = value.get("timeZone") or "UTC"
    try:
        timezones.zone(tz)
        return timezones.parse_local(str(value["dateTime"])), tz
    except timezones.UnknownTimeZone as exc:
        raise GraphError(400, "TimeZoneNotSupportedException", f"A valid TimeZone value must be specified. "
                         f"The following TimeZone value is not supported: '{tz}'.") from exc
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"Cannot convert the literal '{value['dateTime']}' to a date and time.") from exc


def _location(value: dict[str, Any], single: bool) -> dict[str, Any]:
    name = str(value.get("displayName") or "")
    out: dict[str, Any] = {"displayName": name, "locationType": str(value.get("locationType") or "default")}
    out["locationType"] = out["locationType"][0].lower() + out["locationType"][1:]
    if value.get("locationEmailAddress"):
        out["locationEmailAddress"] = value["locationEmailAddress"]
    if single or name or value.get("address") or value.get("coordinates"):
        # A named location gets its name as uniqueId, in ``location`` and in each of
        # ``locations`` (event-post-events.md: "uniqueId": "Harry's Bar", "private").
        out["uniqueId"] = value.get("uniqueId") or name
        out["uniqueIdType"] = "private"
    else:
        out["uniqueIdType"] = "unknown"
    for key in ("address", "coordinates"):
        if value.get(key):
            out[key] = value[key]
    return out


def _recurrence(value: Any, start: datetime, tz: str) -> dict[str, Any] | None:
    if value is None:
        return None
    pattern = dict(value.get("pattern") or {})
    rng = dict(value.get("range") or {})
    out_pattern = {"type": pattern.get("type", "daily"), "interval": int(pattern.get("interval") or 1),
                   "month": int(pattern.get("month") or 0), "dayOfMonth": int(pattern.get("dayOfMonth") or 0),
                   "daysOfWeek": [str(d).lower() for d in pattern.get("daysOfWeek") or []],
                   "firstDayOfWeek": str(pattern.get("firstDayOfWeek") or "sunday").lower(),
                   "index": str(pattern.get("index") or "first").lower()}
    out_range = {"type": rng.get("type", "noEnd"), "startDate": rng.get("startDate") or start.date().isoformat(),
                 "endDate": rng.get("endDate") or "0001-01-01", "recurrenceTimeZone": rng.get("recurrenceTimeZone") or tz,
                 "numberOfOccurrences": int(rng.get("numberOfOccurrences") or 0)}
    if out_pattern["type"] not in ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"):
        raise GraphError(400, "ErrorInvalidRequest", f"Unknown recurrence pattern type '{out_pattern['type']}'.")
    return {"pattern": out_pattern, "range": out_range}


def apply_event_fields(ctx: Ctx, rec: EventRecord, data: dict[str, Any]) -> None:
    d = rec.data
    for key, value in data.items():
        if key.startswith("@odata.") or key in IGNORED:
            continue
        if key == "singleValueExtendedProperties":
            d[key] = merge_extended(d.get(key), value)
            continue
        if key not in WRITABLE:
            raise GraphError(400, "RequestBodyRead", f"The property '{key}' does not exist on type "
                             "'microsoft.graph.event'. Make sure to only use property names that are defined by the type.")
        if key == "start":
            rec.start, rec.tz = _dtz(value, key)
        elif key == "end":
            rec.end, rec.end_tz = _dtz(value, key)
        elif key == "body":
            kind = str((value or {}).get("contentType") or "text").lower()
            content = str((value or {}).get("content") or "")
            if kind == "html" and "<html" not in content.lower():
                content = HTML_HEAD + content + HTML_TAIL
            d["body"] = {"contentType": kind, "content": content}
        elif key == "location":
            d["location"] = _location(value or {}, single=True)
            if "locations" not in data:
                d["locations"] = [_location({**(value or {}), "uniqueId": None}, single=False)] if value else []
        elif key == "locations":
            d["locations"] = [_location(v, single=False) for v in value or []]
            if "location" not in data:
                d["location"] = _location({"displayName": "; ".join(v.get("displayName") or "" for v in value or [])},
                                          single=True)
        elif key == "attendees":
            d["attendees"] = [{"type": str(a.get("type") or "required").lower(),
                               "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                               **recipient_of(ctx, a, key)} for a in value or []]
        elif key in ("importance", "sensitivity", "showAs", "onlineMeetingProvider"):
            d[key] = str(value)[0].lower() + str(value)[1:] if value else value
        elif key in ("originalStartTimeZone", "originalEndTimeZone", "isDraft"):
            continue  # derived from start/end; accepted and ignored as Graph does
        else:
            d[key] = value
    if "recurrence" in data:
        d["recurrence"] = _recurrence(data["recurrence"], rec.start, rec.tz)
    if timezones.to_utc(rec.end, rec.end_tz) < timezones.to_utc(rec.start, rec.tz):
        raise GraphError(400, "ErrorCalendarEndDateIsEarlierThanStartDate", "The end date occurs before the start date.")


def create_event(ctx: Ctx, mb: Mailbox, cal: CalendarRecord, data: dict[str, Any]) -> EventRecord:
    tenant = ctx.service.tenant
    if "start" not in data or "end" not in data:
        raise GraphError(400, "ErrorInvalidRequest", "The event must have a start and an end.")
    now = tenant.now()
    uid = f"040000008200E00074C5B7101A82E00800000000{mb.key.hex().upper()}{mb.calendars.next_serial():08X}"
    rec = EventRecord(mb.calendars.next_serial(), cal.serial,
                      {"iCalUId": uid, "isOrganizer": True, "categories": [],
                       "organizer": {"emailAddress": {"name": mb.user["displayName"], "address": mb.address}},
                       "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
                       "body": {"contentType": "html", "content": ""}},
                      datetime(2000, 1, 1), datetime(2000, 1, 1), "UTC", "UTC", now, now)
    apply_event_fields(ctx, rec, data)
    mb.calendars.add_event(rec)
    _invite(ctx, mb, rec)
    return rec


def update_event(ctx: Ctx, mb: Mailbox, rec: EventRecord, data: dict[str, Any]) -> None:
    apply_event_fields(ctx, rec, data)
    rec.change += 1
    rec.modified = ctx.service.tenant.now()
    if rec.data.get("isOrganizer", True):
        snapshot = (dict(rec.data), rec.start, rec.end, rec.tz, rec.end_tz)

        def sync(copy: EventRecord) -> None:
            keep = {k: copy.data.get(k) for k in ("isOrganizer", "responseStatus")}
            copy.data = {**snapshot[0], **keep}
            copy.start, copy.end, copy.tz, copy.end_tz = snapshot[1:]
            copy.change += 1
        _to_attendees(ctx, mb, rec, sync)
        _invite(ctx, mb, rec)


def _attendee_mailboxes(ctx: Ctx, mb: Mailbox, rec: EventRecord) -> list[Mailbox]:
    out = []
    for a in rec.data.get("attendees", []):
        other = ctx.service.tenant.mailbox_by_address(a["emailAddress"]["address"])
        if other is not None and other is not mb and other not in out:
            out.append(other)
    return out


def _invite(ctx: Ctx, mb: Mailbox, rec: EventRecord) -> None:
    """Puts a copy of the meeting in each in-tenant attendee's default calendar and its meeting
    request in their Inbox (once per attendee)."""
    data = dict(rec.data)
    span = (rec.start, rec.end, rec.tz, rec.end_tz)
    for other in _attendee_mailboxes(ctx, mb, rec):
        ctx.after.append(functools.partial(_add_copy, ctx, mb, other, data, span))


def _add_copy(ctx: Ctx, organizer: Mailbox, other: Mailbox, data: dict[str, Any],
              span: tuple[datetime, datetime, str, str]) -> None:
    from ..tenant import meeting_requests

    with other.lock:
        if other.calendars.by_ical_uid(data["iCalUId"]) is not None:
            return
        copy_data = {**data, "isOrganizer": False,
                     "responseStatus": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"}}
        now = ctx.service.tenant.now()
        copy = EventRecord(other.calendars.next_serial(), other.calendars.default, copy_data, *span, now, now)
        other.calendars.add_event(copy)
        # graph-semantics §9: "invitations are sent to attendees on create" (user-post-events.md).
        meeting_requests.deliver(organizer, other, copy, now)
        other.version += 1


def _to_attendees(ctx: Ctx, mb: Mailbox, rec: EventRecord, change: Callable[[EventRecord], None]) -> None:
    uid = rec.data.get("iCalUId")
    for other in _attendee_mailboxes(ctx, mb, rec):
        def run(other: Mailbox = other) -> None:
            with other.lock:
                copy = other.calendars.by_ical_uid(uid) if uid else None
                if copy is not None:
                    change(copy)
                    other.version += 1
        ctx.after.append(run)


def _cancel_copy(ctx: Ctx) -> Callable[[EventRecord], None]:
    """An attendee's copy of a meeting its organiser cancelled turns ``isCancelled``; like any
    change of an event it gets a new changeKey and lastModifiedDateTime (resources/event.md,
    changeKey: "Every time the event is changed, ChangeKey changes as well")."""
    def change(copy: EventRecord) -> None:
        copy.data["isCancelled"] = True
        copy.change += 1
        copy.modified = ctx.service.tenant.now()
    return change


def reminder_or_forward(ctx: Ctx, mb: Mailbox, rec: EventRecord, action: str, body: dict[str, Any]) -> None:
    """event-forward.md, event-dismissreminder.md, event-snoozereminder.md: each answers 202.

    A forward needs recipients; a snooze needs ``newReminderTime`` (a dateTimeTimeZone). The
    reminder state is not a property of the event resource, so only the answer is visible.
    """
    if action == "forward":
        if not body.get("toRecipients"):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        recipients(ctx, body.get("toRecipients"), "toRecipients")
        return
    if action == "snoozereminder":
        when = body.get("newReminderTime")
        if not isinstance(when, dict) or not when.get("dateTime"):
            raise GraphError(400, "ErrorInvalidParameter",
                             "The value of the parameter 'NewReminderTime' is empty.")
        return
    rec.modified = ctx.service.tenant.now()


def respond(ctx: Ctx, mb: Mailbox, rec: EventRecord, action: str, body: dict[str, Any]) -> None:
    tenant = ctx.service.tenant
    organizer = rec.data.get("isOrganizer", True)
    if action == "cancel":
        if not organizer:
            raise GraphError(400, "ErrorAccessDenied",
                             "Your request can't be completed. You need to be an organizer to cancel a meeting.")
        del mb.calendars.events[rec.serial]
        _to_attendees(ctx, mb, rec, _cancel_copy(ctx))
        return
    if organizer:
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. You can't respond to a meeting you organized.")
    response = {"accept": "accepted", "decline": "declined", "tentativelyaccept": "tentativelyAccepted"}[action]
    stamp = datetime.fromtimestamp(tenant.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rec.data["responseStatus"] = {"response": response, "time": stamp}
    rec.change += 1
    rec.modified = tenant.now()
    send = body.get("sendResponse", True)
    if send is False or (isinstance(send, str) and send.lower() == "false"):
        return
    org_address = ((rec.data.get("organizer") or {}).get("emailAddress") or {}).get("address", "")
    org_mb = tenant.mailbox_by_address(org_address)
    uid = rec.data.get("iCalUId")
    if org_mb is None or org_mb is mb or not uid:
        return
    proposed = body.get("proposedNewTime") if action != "accept" else None

    def record(org_mb: Mailbox = org_mb) -> None:
        with org_mb.lock:
            master = org_mb.calendars.by_ical_uid(uid)
            if master is None:
                return
            for attendee in master.data.get("attendees", []):
                if attendee["emailAddress"]["address"].lower() == mb.address.lower():
                    attendee["status"] = {"response": response, "time": stamp}
                    if proposed is not None:
                        # The organizer sees the attendee's proposal on the attendee
                        # (outlook-calendar-meeting-proposals.md: attendees[].proposedNewTime).
                        attendee["proposedNewTime"] = proposed
            master.change += 1
            org_mb.version += 1
    ctx.after.append(record)
