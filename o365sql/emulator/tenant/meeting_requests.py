"""The meeting request an invitation leaves in an attendee's Inbox (emulator service stage).

When an organiser creates an event with attendees, Outlook sends each of them an invitation
("invitations are sent to attendees on create", graph-semantics §9, user-post-events.md): a
message of the derived type ``#microsoft.graph.eventMessageRequest`` with
``meetingMessageType: "meetingRequest"`` and the meeting's time, place and recurrence, as the
eventMessage samples of the docs show (§1.3: derived types carry ``@odata.type`` inside message
lists; graph-examples.json, outlook-calendar-meeting-proposals.md).

Hands on: ``deliver`` is called by ``graph.calendar`` (holding the attendee's mailbox lock) once
per attendee that newly receives the meeting.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import timezones
from .mail_store import IMPORTANCE, IMPORTANCE_SHIFT, MEETING_REQUEST, MessageRecord

if TYPE_CHECKING:
    from .calendar_store import EventRecord
    from .tenant import Mailbox


def _utc_dtz(local: datetime, tz: str) -> dict[str, str]:
    return timezones.dtz(timezones.to_utc(local, tz), "UTC")


def deliver(organizer: Mailbox, attendee: Mailbox, event: EventRecord, now: float) -> MessageRecord:
    """Files the meeting request for ``event`` (organised in ``organizer``) into ``attendee``'s
    Inbox, unread, from the organiser to the attendees."""
    data = event.data
    stamp = int(now)
    importance = str(data.get("importance") or "normal")
    level = IMPORTANCE.index(importance) if importance in IMPORTANCE else 1
    flags = MEETING_REQUEST | (level << IMPORTANCE_SHIFT)
    tenant = attendee.tenant
    rec = MessageRecord(attendee.mail.next_serial(), attendee.mail.well_known["inbox"], 0, stamp,
                        stamp - 1, flags, organizer.person, (), (), tenant.new_conversation(), 0,
                        tuple(data.get("categories") or ()))
    organizer_recipient = {"emailAddress": {"name": organizer.user["displayName"],
                                            "address": organizer.address}}
    to = [{"emailAddress": dict(a["emailAddress"])} for a in data.get("attendees", [])
          if a.get("type") != "optional"]
    cc = [{"emailAddress": dict(a["emailAddress"])} for a in data.get("attendees", [])
          if a.get("type") == "optional"]
    digest = hashlib.blake2b(f"{data.get('iCalUId')}/{attendee.user_id}".encode(),
                             digest_size=12).hexdigest().upper()
    rec.extra = {
        "subject": str(data.get("subject") or ""),
        "body": dict(data.get("body") or {"contentType": "html", "content": ""}),
        "from": organizer_recipient, "sender": organizer_recipient,
        "toRecipients": to, "ccRecipients": cc,
        "internetMessageId": f"<{digest}@{organizer.address.split('@')[-1]}>",
        "__meeting": _meeting(event),
    }
    attendee.mail.add(rec)
    return rec


def _meeting(event: EventRecord) -> dict[str, Any]:
    data = event.data
    location = data.get("location") or {"displayName": "", "locationType": "default",
                                         "uniqueIdType": "unknown"}
    return {
        "meetingMessageType": "meetingRequest",
        "startDateTime": _utc_dtz(event.start, event.tz),
        "endDateTime": _utc_dtz(event.end, event.end_tz),
        "location": dict(location),
        "type": "seriesMaster" if data.get("recurrence") else "singleInstance",
        "recurrence": data.get("recurrence"),
        "isOutOfDate": False,
        "isAllDay": bool(data.get("isAllDay")),
        "isDelegated": False,
        "responseRequested": data.get("responseRequested", True) is not False,
        "allowNewTimeProposals": data.get("allowNewTimeProposals", True) is not False,
    }
