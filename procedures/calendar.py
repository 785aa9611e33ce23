"""The calendar action procedures, with CData's names: RespondToEvent, CancelEvent,
ForwardEvent, DismissEventReminder, SnoozeEventReminder.

Stage: procedure calls → Graph client. Each maps onto one Graph action on an event
(https://learn.microsoft.com/graph/api/event-accept, event-tentativelyaccept, event-decline,
event-cancel, event-forward, event-dismissreminder, event-snoozereminder); each answers 202.
A proposed new time goes with a tentative answer or a decline only, as Graph allows it
(event-tentativelyaccept.md: ``proposedNewTime``).
"""

from __future__ import annotations

from typing import Any

from o365sql.procedures import Parameter, Procedure, ResultColumn, register

from o365sql.exceptions import ProgrammingError

from ._graph_calls import (
    USER_ID_DOC,
    call,
    date_time_zone,
    item,
    mailbox,
    recipients,
)

__all__: list[str] = []

_STATUS = (ResultColumn("Status", "String", "Success when Graph accepted the action"),)
_USER = Parameter("UserId", "String", False, USER_ID_DOC)
_EVENT = Parameter("Id", "String", True, "the event (an Events.Id)")
_RESPONSES = {"accept": "accept", "accepted": "accept", "tentative": "tentativelyAccept",
              "tentativelyaccept": "tentativelyAccept", "tentativelyaccepted": "tentativelyAccept",
              "decline": "decline", "declined": "decline"}


def _event_path(context: Any, args: dict[str, Any], procedure: str, action: str) -> str:
    base = mailbox(context, procedure, args["UserId"])
    return f"{base}/events/{item(args['Id'], procedure)}/{action}"


def _respond(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    answer = str(args.get("Response") or "").strip().lower()
    action = _RESPONSES.get(answer)
    if action is None:
        raise ProgrammingError("procedure RespondToEvent: @Response is accept, tentative or "
                               f"decline, not {args.get('Response')!r}")
    body: dict[str, Any] = {"comment": args.get("Comment") or "",
                            "sendResponse": bool(True if args["SendResponse"] is None
                                                 else args["SendResponse"])}
    start, end = args.get("ProposedStartDateTime"), args.get("ProposedEndDateTime")
    if start is not None or end is not None:
        if action == "accept":
            raise ProgrammingError("procedure RespondToEvent: a new time is proposed with a "
                                   "tentative answer or a decline, not with accept")
        if start is None or end is None:
            raise ProgrammingError("procedure RespondToEvent: give both "
                                   "@ProposedStartDateTime and @ProposedEndDateTime")
        zone = args.get("ProposedTimeZone")
        body["proposedNewTime"] = {
            "start": date_time_zone(start, zone, "RespondToEvent", "ProposedStartDateTime"),
            "end": date_time_zone(end, zone, "RespondToEvent", "ProposedEndDateTime")}
    call(context, "POST", _event_path(context, args, "RespondToEvent", action), body)
    return [("Success",)]


def _cancel(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    call(context, "POST", _event_path(context, args, "CancelEvent", "cancel"),
         {"comment": args.get("Comment") or ""})
    return [("Success",)]


def _forward(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    to = recipients(args.get("ToRecipients"), "ForwardEvent", "ToRecipients")
    if not to:
        raise ProgrammingError("procedure ForwardEvent needs @ToRecipients")
    call(context, "POST", _event_path(context, args, "ForwardEvent", "forward"),
         {"comment": args.get("Comment") or "", "toRecipients": to})
    return [("Success",)]


def _dismiss(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    call(context, "POST", _event_path(context, args, "DismissEventReminder", "dismissReminder"))
    return [("Success",)]


def _snooze(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    when = date_time_zone(args.get("NewReminderTime"), args.get("TimeZone"),
                          "SnoozeEventReminder", "NewReminderTime")
    call(context, "POST", _event_path(context, args, "SnoozeEventReminder", "snoozeReminder"),
         {"newReminderTime": when})
    return [("Success",)]


register(Procedure(
    "RespondToEvent", "Accepts, tentatively accepts or declines an invitation, with a comment "
    "and, when not accepting, a proposed new time.",
    [_EVENT, Parameter("Response", "String", True, "accept, tentative or decline"),
     Parameter("Comment", "String"),
     Parameter("SendResponse", "Boolean", False, "tell the organizer (default true)", True),
     Parameter("ProposedStartDateTime", "Datetime", False, "a new start to propose"),
     Parameter("ProposedEndDateTime", "Datetime", False, "a new end to propose"),
     Parameter("ProposedTimeZone", "String", False, "the zone of the proposed times (UTC)"),
     _USER],
    _STATUS, _respond))
register(Procedure(
    "CancelEvent", "Cancels a meeting the mailbox organizes and tells its attendees.",
    [_EVENT, Parameter("Comment", "String"), _USER], _STATUS, _cancel))
register(Procedure(
    "ForwardEvent", "Forwards a meeting invitation to other people.",
    [_EVENT, Parameter("ToRecipients", "String", True, "addresses separated by ';'"),
     Parameter("Comment", "String"), _USER], _STATUS, _forward))
register(Procedure(
    "DismissEventReminder", "Dismisses an event's reminder.", [_EVENT, _USER], _STATUS, _dismiss))
register(Procedure(
    "SnoozeEventReminder", "Postpones an event's reminder to a new time.",
    [_EVENT, Parameter("NewReminderTime", "Datetime", True, "when to remind again"),
     Parameter("TimeZone", "String", False, "the zone of NewReminderTime (UTC)"), _USER],
    _STATUS, _snooze))
