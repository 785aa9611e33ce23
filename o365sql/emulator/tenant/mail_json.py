"""Graph JSON of messages and mail folders, rebuilt from compact records (emulator data stage).

Shapes follow the real responses in graph-examples.json (``user-post-messages.md``,
``message-move.md``, ``user-list-mailfolders.md``): property order, ``@odata.etag`` =
``W/"<changeKey>"``, ``webLink`` with the percent-encoded id, drafts without ``from``/``sender``.
Bodies are generated from a per-message seed when asked for, never stored. A message's JSON is
described once, property by property, by ``MESSAGE_TABLE`` (a ``record_view.PropertyTable``):
``message_json`` runs every builder; lists go through ``message_items``, whose lazy views run
only the builders a query touches (see ``tenant.record_view``).

Hands on: ``message_json`` / ``folder_json`` dicts and ``message_items`` to ``graph.mail``;
``html_to_text`` and ``text_to_html`` to the Prefer handling.
"""

from __future__ import annotations

import base64
import hashlib
import html
import random
import re
import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import item_ids, seed_words
from .mail_store import (
    ATTACH_SHIFT,
    DELIVERY_RECEIPT,
    DRAFT,
    FLAG_SHIFT,
    FLAG_STATUS,
    IMPORTANCE,
    IMPORTANCE_SHIFT,
    MEETING_REQUEST,
    OTHER,
    READ,
    READ_RECEIPT,
    MailFolder,
    MessageRecord,
)
from .record_view import ABSENT, Builder, OfRecord, PropertyTable, RecordItems, RecordView

if TYPE_CHECKING:
    from .tenant import Mailbox

HTML_HEAD = ('<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
             '\r\n</head>\r\n<body>\r\n')
HTML_TAIL = "\r\n</body>\r\n</html>\r\n"


_DAY_PREFIX: dict[int, str] = {}


def iso(ts: float) -> str:
    """Graph's UTC DateTimeOffset form, second precision: ``2017-07-22T01:53:56Z``.

    Formatted by hand from a per-day prefix: ``datetime.strftime`` cost ~7 µs a call, four
    calls a message, and listings format hundreds of thousands of them."""
    day, seconds = divmod(int(ts), 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
        if len(_DAY_PREFIX) < 200_000:  # bounded: ~550 years of days
            _DAY_PREFIX[day] = prefix
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{prefix}{hours:02d}:{minutes:02d}:{secs:02d}Z"


def change_key(mb: Mailbox, kind: int, serial: int, change: int) -> str:
    # Exchange change keys start with "CQAAABYAAA" (bytes 09 00 00 00 16 00 00 00) for messages.
    head = b"\x09\x00\x00\x00\x16\x00\x00\x00" if kind == item_ids.MESSAGE else b"\x0e\x00\x00\x00\x16\x00\x00\x00"
    return base64.b64encode(head + mb.key[:8] + struct.pack(">IH", serial, change)).decode("ascii")


def topic(conv: int) -> str:
    return seed_words.TOPICS[(conv * 2654435761) % len(seed_words.TOPICS)]


def subject_of(rec: MessageRecord) -> str:
    base = topic(rec.conv)
    if rec.conv_pos == 0:
        return base
    return ("FW: " if rec.conv_pos % 5 == 4 else "RE: ") + base


def internet_message_id(mb: Mailbox, rec: MessageRecord) -> str:
    digest = hashlib.blake2b(struct.pack(">II", rec.conv, rec.conv_pos) + mb.tenant.key,
                             digest_size=12).hexdigest().upper()
    _name, address = mb.tenant.people[rec.sender]
    if address.lower().endswith("@" + mb.tenant.domain.lower()):
        return f"<{digest}@MWHPR13{digest[:6]}.namprd13.prod.outlook.com>"
    return f"<{digest.lower()}@mail.{address.rsplit('@', 1)[-1]}>"


def recipient(person: tuple[str, str]) -> dict[str, Any]:
    return {"emailAddress": {"name": person[0], "address": person[1]}}


def generated_body(mb: Mailbox, rec: MessageRecord) -> tuple[str, str]:
    """(html, text) of a seeded message, derived from its seed alone."""
    rng = random.Random(rec.seed)
    people = mb.tenant.people
    to_name = people[rec.to[0]][0].split(" ")[0] if rec.to else "all"
    sender_name = people[rec.sender][0]
    sentences = [seed_words.SENTENCES[rng.randrange(len(seed_words.SENTENCES))]
                 for _ in range(2 + rng.randrange(4))]
    para = " ".join(sentences)
    text = f"Hi {to_name},\r\n\r\n{para}\r\n\r\nRegards,\r\n{sender_name}\r\n"
    body_html = (HTML_HEAD + f"<div><p>Hi {html.escape(to_name, quote=False)},</p><p>{html.escape(para, quote=False)}</p>"
                 f"<p>Regards,<br>{html.escape(sender_name, quote=False)}</p></div>" + HTML_TAIL)
    return body_html, text


def html_to_text(content: str) -> str:
    """Outlook's text rendering of an HTML body, near enough: tags dropped, entities decoded."""
    body = re.sub(r"(?is)<head.*?</head>", "", content)
    body = re.sub(r"(?i)<br\s*/?>", "\r\n", body)
    body = re.sub(r"(?i)</(p|div|tr|h[1-6]|li)>", "\r\n", body)
    body = re.sub(r"<[^>]+>", "", body)
    body = html.unescape(body)
    return re.sub(r"(\r\n){3,}", "\r\n\r\n", body).strip() + "\r\n"


def text_to_html(content: str) -> str:
    escaped = html.escape(content, quote=False).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return HTML_HEAD + "<div>" + escaped + "</div>" + HTML_TAIL


def preview(text: str) -> str:
    """bodyPreview: the first 255 characters of the text body (message.md)."""
    return re.sub(r"\s+", " ", text).strip()[:255]


def _flag(rec: MessageRecord) -> dict[str, Any]:
    status = FLAG_STATUS[(rec.flags >> FLAG_SHIFT) & 3]
    flag: dict[str, Any] = {"flagStatus": status}
    if status == "flagged":
        start = datetime.fromtimestamp(rec.received, UTC).strftime("%Y-%m-%dT00:00:00.0000000")
        flag["startDateTime"] = {"dateTime": start, "timeZone": "UTC"}
        flag["dueDateTime"] = {"dateTime": start, "timeZone": "UTC"}
    elif status == "complete":
        done = datetime.fromtimestamp(rec.received + 86400, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")
        flag["completedDateTime"] = {"dateTime": done, "timeZone": "UTC"}
    return flag


def attachment_count(rec: MessageRecord) -> int:
    if rec.extra and "__attachments" in rec.extra:
        return sum(1 for a in rec.extra["__attachments"] if not a.get("isInline"))
    return (rec.flags >> ATTACH_SHIFT) & 7


# One builder per message property, in the order of the real responses. ``message_json`` runs
# them all; a ``record_view.RecordView`` runs only those a query reads (graph.mail lists).
def _body_and_text(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> tuple[dict[str, str], str]:
    cached = scratch.get("body")
    if cached is None:
        extra = rec.extra or {}
        if "body" in extra:
            body = dict(extra["body"])
            text = body["content"] if body["contentType"] == "text" else html_to_text(body["content"])
        else:
            body_html, text = generated_body(mb, rec)
            body = {"contentType": "html", "content": body_html}
        cached = scratch["body"] = (body, text)
    return cached


def _message_id(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> str:
    mid = scratch.get("id")
    if mid is None:
        mid = scratch["id"] = mb.item_id(item_ids.MESSAGE, rec.serial)
    return mid


def _change_key(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> str:
    ck = scratch.get("ck")
    if ck is None:
        ck = scratch["ck"] = change_key(mb, item_ids.MESSAGE, rec.serial, rec.change)
    return ck


def _imid(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> str:
    value = scratch.get("imid")
    if value is None:
        value = scratch["imid"] = (rec.extra or {}).get("internetMessageId") or internet_message_id(mb, rec)
    return value


def _subject(rec: MessageRecord) -> str:
    extra = rec.extra
    return extra["subject"] if extra and "subject" in extra else subject_of(rec)


def _sender(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> Any:
    extra = rec.extra or {}
    if rec.flags & DRAFT and "from" not in extra:
        return ABSENT  # drafts carry no from/sender until one is set (user-post-messages.md)
    return extra.get("from") or recipient(mb.tenant.people[rec.sender])


def _sender_prop(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> Any:
    sender = _sender(mb, rec, scratch)
    if sender is ABSENT:
        return ABSENT
    return (rec.extra or {}).get("sender") or sender


def _recipients(key: str, field: str) -> Builder:
    def build(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> Any:
        extra = rec.extra
        if extra and key in extra:
            return extra[key]
        people = mb.tenant.people
        return [recipient(people[i]) for i in getattr(rec, field)]
    return build


def _headers(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> Any:
    return (rec.extra or {}).get("internetMessageHeaders") or [
        {"name": "MIME-Version", "value": "1.0"},
        {"name": "Content-Type", "value": "multipart/alternative"},
        {"name": "Message-ID", "value": _imid(mb, rec, scratch)},
        {"name": "Subject", "value": _subject(rec)},
    ]


def _meeting(value: Callable[[MessageRecord], Any], key: str | None = None) -> Builder:
    """A property only #microsoft.graph.eventMessageRequest items have: the stored value of a
    real invitation (``extra["__meeting"]``, see ``tenant.meeting_requests``), else the seeded one."""
    def build(mb: Mailbox, rec: MessageRecord, scratch: dict[str, Any]) -> Any:
        if not rec.flags & MEETING_REQUEST:
            return ABSENT
        stored = (rec.extra or {}).get("__meeting")
        if stored is not None and key is not None and key in stored:
            return stored[key]
        return value(rec)
    return build


def _meeting_start(rec: MessageRecord) -> datetime:
    return datetime.fromtimestamp(rec.received + 3 * 86400, UTC).replace(minute=0, second=0)


def _meeting_dtz(rec: MessageRecord, end: bool) -> dict[str, str]:
    start = _meeting_start(rec)
    moment = start.replace(hour=(start.hour + 1) % 24) if end else start
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


# The timestamps' seconds: the builders above write exactly these seconds as ``...Z`` text
# (``iso``), so they order like the values (``native``) and filters compare them (``instants``).
_INSTANTS: dict[str, Callable[[MessageRecord], Any]] = {
    "receivedDateTime": lambda rec: int(rec.received),
    "createdDateTime": lambda rec: int(rec.received),
    "sentDateTime": lambda rec: int(rec.sent),
    "lastModifiedDateTime": lambda rec: int(rec.modified),
}

MESSAGE_TABLE = PropertyTable([
    ("@odata.type", _meeting(lambda rec: "#microsoft.graph.eventMessageRequest")),
    ("@odata.etag", lambda mb, rec, sc: f'W/"{_change_key(mb, rec, sc)}"'),
    ("id", _message_id),
    ("createdDateTime", lambda mb, rec, sc: iso(rec.received)),
    ("lastModifiedDateTime", lambda mb, rec, sc: iso(rec.modified)),
    ("changeKey", _change_key),
    ("categories", lambda mb, rec, sc: list(rec.cats)),
    ("receivedDateTime", lambda mb, rec, sc: iso(rec.received)),
    ("sentDateTime", lambda mb, rec, sc: iso(rec.sent)),
    ("hasAttachments", OfRecord(lambda rec: attachment_count(rec) > 0)),
    ("internetMessageId", _imid),
    ("subject", OfRecord(_subject)),
    ("bodyPreview", lambda mb, rec, sc: preview(_body_and_text(mb, rec, sc)[1])),
    ("importance", OfRecord(lambda rec: IMPORTANCE[(rec.flags >> IMPORTANCE_SHIFT) & 3])),
    ("parentFolderId", lambda mb, rec, sc: mb.folder_id(rec.folder)),
    ("conversationId", lambda mb, rec, sc: item_ids.conversation_id(mb.tenant.key, rec.conv)),
    ("conversationIndex", lambda mb, rec, sc: base64.b64encode(
        struct.pack(">BI", 1, rec.conv) + mb.tenant.key[:17] + bytes(5 * rec.conv_pos)).decode("ascii")),
    ("isDeliveryReceiptRequested", OfRecord(lambda rec: bool(rec.flags & DELIVERY_RECEIPT))),
    ("isReadReceiptRequested", OfRecord(lambda rec: bool(rec.flags & READ_RECEIPT))),
    ("isRead", OfRecord(lambda rec: bool(rec.flags & READ))),
    ("isDraft", OfRecord(lambda rec: bool(rec.flags & DRAFT))),
    # webLink carries the id percent-encoded; ids are URL-safe base64, so only "=" needs it.
    ("webLink", lambda mb, rec, sc: "https://outlook.office365.com/owa/?ItemID="
     + _message_id(mb, rec, sc).replace("=", "%3D") + "&exvsurl=1&viewmodel=ReadMessageItem"),
    ("inferenceClassification", OfRecord(lambda rec: "other" if rec.flags & OTHER else "focused")),
    ("body", lambda mb, rec, sc: _body_and_text(mb, rec, sc)[0]),
    ("uniqueBody", lambda mb, rec, sc: dict(_body_and_text(mb, rec, sc)[0])),
    ("sender", _sender_prop),
    ("from", _sender),
    ("toRecipients", _recipients("toRecipients", "to")),
    ("ccRecipients", _recipients("ccRecipients", "cc")),
    ("bccRecipients", lambda mb, rec, sc: (rec.extra or {}).get("bccRecipients", [])),
    ("replyTo", lambda mb, rec, sc: (rec.extra or {}).get("replyTo", [])),
    ("flag", lambda mb, rec, sc: rec.extra["flag"] if rec.extra and "flag" in rec.extra else _flag(rec)),
    ("internetMessageHeaders", _headers),
    # Stored single-value extended properties: absent unless a write set some (Graph returns
    # them only with $expand; the OData engine leaves them out unless selected).
    ("singleValueExtendedProperties",
     lambda mb, rec, sc: (rec.extra or {}).get("singleValueExtendedProperties") or ABSENT),
    ("meetingMessageType", _meeting(lambda rec: "meetingRequest", "meetingMessageType")),
    ("startDateTime", _meeting(lambda rec: _meeting_dtz(rec, end=False), "startDateTime")),
    ("endDateTime", _meeting(lambda rec: _meeting_dtz(rec, end=True), "endDateTime")),
    ("location", _meeting(lambda rec: {"displayName": "Conf Room 3", "locationType": "default",
                                       "uniqueIdType": "unknown"}, "location")),
    ("type", _meeting(lambda rec: "singleInstance", "type")),
    ("recurrence", _meeting(lambda rec: None, "recurrence")),
    ("isOutOfDate", _meeting(lambda rec: False, "isOutOfDate")),
    ("isAllDay", _meeting(lambda rec: False, "isAllDay")),
    ("isDelegated", _meeting(lambda rec: False, "isDelegated")),
    ("responseRequested", _meeting(lambda rec: True, "responseRequested")),
    ("allowNewTimeProposals", _meeting(lambda rec: True, "allowNewTimeProposals")),
], native=_INSTANTS, instants=_INSTANTS,
    id_order=lambda rec: item_ids.order_key(item_ids.MESSAGE, rec.serial))


def message_json(mb: Mailbox, rec: MessageRecord) -> dict[str, Any]:
    """The full Graph message (including uniqueBody and internetMessageHeaders, which Graph only
    returns when selected; the query engine's default $select set leaves them out)."""
    return MESSAGE_TABLE.build(mb, rec)


def message_view(mb: Mailbox, rec: MessageRecord) -> RecordView:
    """One message as a lazy view (``record_view``): what is read of it is all that is built."""
    return RecordView(MESSAGE_TABLE, mb, rec)


def message_items(mb: Mailbox, records: Sequence[MessageRecord]) -> RecordItems:
    """Messages as the OData engine reads them: lazy views over records that are already in
    Outlook's default order (``MailStore.ordered``: newest received first, then by id)."""
    return RecordItems(records, MESSAGE_TABLE, mb, presorted=(("receivedDateTime", True),),
                       cache_token=(mb.number, mb.version))


def folder_json(mb: Mailbox, folder: MailFolder) -> dict[str, Any]:
    """mailFolder in the property order of user-list-mailfolders.md."""
    return {
        "id": mb.folder_id(folder.serial),
        "displayName": folder.display_name,
        "parentFolderId": mb.folder_id(folder.parent) if folder.parent else mb.folder_id(folder.serial),
        "childFolderCount": len(folder.children),
        "unreadItemCount": folder.unread,
        "totalItemCount": folder.total,
        "isHidden": folder.hidden,
    }
