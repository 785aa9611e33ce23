"""Graph JSON of messages and mail folders, rebuilt from compact records (emulator data stage).

Shapes follow the real responses in graph-examples.json (``user-post-messages.md``,
``message-move.md``, ``user-list-mailfolders.md``): property order, ``@odata.etag`` =
``W/"<changeKey>"``, ``webLink`` with the percent-encoded id, drafts without ``from``/``sender``.
Bodies are generated from a per-message seed when asked for, never stored.

Hands on: ``message_json`` / ``folder_json`` dicts to ``graph_mail``; ``html_to_text`` and
``text_to_html`` to the Prefer handling.
"""

from __future__ import annotations

import base64
import hashlib
import html
import random
import re
import struct
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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

if TYPE_CHECKING:
    from .tenant import Mailbox

HTML_HEAD = ('<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
             '\r\n</head>\r\n<body>\r\n')
HTML_TAIL = "\r\n</body>\r\n</html>\r\n"


def iso(ts: float) -> str:
    """Graph's UTC DateTimeOffset form, second precision: ``2017-07-22T01:53:56Z``."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def message_json(mb: Mailbox, rec: MessageRecord) -> dict[str, Any]:
    """The full Graph message (including uniqueBody and internetMessageHeaders, which Graph only
    returns when selected; the query engine's default $select set leaves them out)."""
    people = mb.tenant.people
    flags = rec.flags
    extra = rec.extra or {}
    mid = mb.item_id(item_ids.MESSAGE, rec.serial)
    ck = change_key(mb, item_ids.MESSAGE, rec.serial, rec.change)
    if "body" in extra:
        body = dict(extra["body"])
        text = body["content"] if body["contentType"] == "text" else html_to_text(body["content"])
    else:
        body_html, text = generated_body(mb, rec)
        body = {"contentType": "html", "content": body_html}
    msg: dict[str, Any] = {}
    if flags & MEETING_REQUEST:
        msg["@odata.type"] = "#microsoft.graph.eventMessageRequest"
    msg["@odata.etag"] = f'W/"{ck}"'
    msg["id"] = mid
    msg["createdDateTime"] = iso(rec.received)
    msg["lastModifiedDateTime"] = iso(rec.modified)
    msg["changeKey"] = ck
    msg["categories"] = list(rec.cats)
    msg["receivedDateTime"] = iso(rec.received)
    msg["sentDateTime"] = iso(rec.sent)
    msg["hasAttachments"] = attachment_count(rec) > 0
    msg["internetMessageId"] = extra.get("internetMessageId") or internet_message_id(mb, rec)
    msg["subject"] = extra["subject"] if "subject" in extra else subject_of(rec)
    msg["bodyPreview"] = preview(text)
    msg["importance"] = IMPORTANCE[(flags >> IMPORTANCE_SHIFT) & 3]
    msg["parentFolderId"] = mb.folder_id(rec.folder)
    msg["conversationId"] = item_ids.conversation_id(mb.tenant.key, rec.conv)
    msg["conversationIndex"] = base64.b64encode(
        struct.pack(">BI", 1, rec.conv) + mb.tenant.key[:17] + bytes(5 * rec.conv_pos)).decode("ascii")
    msg["isDeliveryReceiptRequested"] = bool(flags & DELIVERY_RECEIPT)
    msg["isReadReceiptRequested"] = bool(flags & READ_RECEIPT)
    msg["isRead"] = bool(flags & READ)
    msg["isDraft"] = bool(flags & DRAFT)
    msg["webLink"] = ("https://outlook.office365.com/owa/?ItemID=" + quote(mid, safe="")
                      + "&exvsurl=1&viewmodel=ReadMessageItem")
    msg["inferenceClassification"] = "other" if flags & OTHER else "focused"
    msg["body"] = body
    msg["uniqueBody"] = dict(body)
    if not (flags & DRAFT) or "from" in extra:
        sender = extra.get("from") or recipient(people[rec.sender])
        msg["sender"] = extra.get("sender") or sender
        msg["from"] = sender
    msg["toRecipients"] = extra["toRecipients"] if "toRecipients" in extra else [recipient(people[i]) for i in rec.to]
    msg["ccRecipients"] = extra["ccRecipients"] if "ccRecipients" in extra else [recipient(people[i]) for i in rec.cc]
    msg["bccRecipients"] = extra.get("bccRecipients", [])
    msg["replyTo"] = extra.get("replyTo", [])
    msg["flag"] = extra["flag"] if "flag" in extra else _flag(rec)
    msg["internetMessageHeaders"] = extra.get("internetMessageHeaders") or [
        {"name": "MIME-Version", "value": "1.0"},
        {"name": "Content-Type", "value": "multipart/alternative"},
        {"name": "Message-ID", "value": msg["internetMessageId"]},
        {"name": "Subject", "value": msg["subject"]},
    ]
    if flags & MEETING_REQUEST:
        start = datetime.fromtimestamp(rec.received + 3 * 86400, UTC).replace(minute=0, second=0)
        end = start.replace(hour=(start.hour + 1) % 24)
        msg["meetingMessageType"] = "meetingRequest"
        msg["startDateTime"] = {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}
        msg["endDateTime"] = {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}
        msg["location"] = {"displayName": "Conf Room 3", "locationType": "default",
                           "uniqueIdType": "unknown"}
        msg["type"] = "singleInstance"
        msg["recurrence"] = None
        msg["isOutOfDate"] = False
        msg["isAllDay"] = False
        msg["isDelegated"] = False
        msg["responseRequested"] = True
        msg["allowNewTimeProposals"] = True
    return msg


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
