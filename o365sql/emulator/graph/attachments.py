"""Attachments of messages and events: storage view, JSON and routes (emulator service stage).

Seeded message attachments are generated from the message's seed; once a message's attachments
change they are stored explicitly in ``extra["__attachments"]``. Shapes per
message-list-attachments.md / attachment-get.md: ``@odata.type`` (``#microsoft.graph.fileAttachment``
with ``contentBytes`` base64, or ``#microsoft.graph.itemAttachment``), ``$value`` gives the raw
bytes. ``$filter`` is ignored on /attachments (known issue, graph-semantics §3.8), which the
ATTACHMENTS rules encode.

Hands on: ``route`` answers ``.../{messages|events}/{id}/attachments[/...]``.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import GraphError
from ..server.wire import EmuResponse
from ..tenant import item_ids, seed_words
from ..tenant.mail_json import iso
from ..tenant.mail_store import ATTACH_SHIFT, MessageRecord
from .context import Ctx, collection, entity
from .item_errors import not_found

if TYPE_CHECKING:
    from ..tenant.calendar_store import EventRecord
    from ..tenant.tenant import Mailbox

FILE = "#microsoft.graph.fileAttachment"
ITEM = "#microsoft.graph.itemAttachment"
REFERENCE = "#microsoft.graph.referenceAttachment"


def _content(name: str, rng: random.Random) -> bytes:
    if name.endswith((".txt", ".csv")):
        lines = [rng.choice(seed_words.SENTENCES) for _ in range(3 + rng.randrange(8))]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")
    magic = {".pdf": b"%PDF-1.4\n", ".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff\xe0"}.get(
        name[name.rfind("."):], b"PK\x03\x04")
    return magic + rng.getrandbits(8 * 256).to_bytes(256, "big") * (1 + rng.randrange(4))


def seeded(rec: MessageRecord) -> list[dict[str, Any]]:
    n = (rec.flags >> ATTACH_SHIFT) & 7
    rng = random.Random(rec.seed ^ 0xA77AC4)
    out = []
    for i in range(n):
        name, ctype = seed_words.ATTACHMENT_FILES[rng.randrange(len(seed_words.ATTACHMENT_FILES))]
        data = _content(name, rng)
        out.append({"__n": i + 1, "@odata.type": FILE, "name": name, "contentType": ctype,
                    "size": len(data) + 180, "isInline": False, "contentId": None, "contentLocation": None,
                    "contentBytes": base64.b64encode(data).decode("ascii"),
                    "lastModifiedDateTime": iso(rec.received)})
    return out


def message_attachments(rec: MessageRecord, *, for_update: bool = False) -> list[dict[str, Any]]:
    if rec.extra and "__attachments" in rec.extra:
        kept: list[dict[str, Any]] = rec.extra["__attachments"]
        return kept
    items = seeded(rec)
    if for_update:
        rec.extra = dict(rec.extra or {})
        rec.extra["__attachments"] = items
        rec.flags &= ~(7 << ATTACH_SHIFT)
    return items


def attachment_json(mb: Mailbox, kind: int, parent: int, att: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"@odata.type": att.get("@odata.type", FILE)}
    if out["@odata.type"] == FILE:
        out["@odata.mediaContentType"] = att.get("contentType")
    out["id"] = mb.item_id(kind, parent, att["__n"])
    out["lastModifiedDateTime"] = att.get("lastModifiedDateTime")
    out["name"] = att.get("name")
    out["contentType"] = att.get("contentType")
    out["size"] = att.get("size", 0)
    out["isInline"] = bool(att.get("isInline"))
    if out["@odata.type"] == FILE:
        out["contentId"] = att.get("contentId")
        out["contentLocation"] = att.get("contentLocation")
        out["contentBytes"] = att.get("contentBytes")
    return out


def new_attachment(ctx: Ctx, data: dict[str, Any], number: int) -> dict[str, Any]:
    """A stored attachment from a POST body (fileAttachment or itemAttachment)."""
    return stored_attachment(ctx.service.tenant.now(), data, number)


def stored_attachment(clock: float, data: dict[str, Any], number: int) -> dict[str, Any]:
    """A stored attachment from a POST body or a finished upload session, made at ``clock``."""
    kind = data.get("@odata.type") or FILE
    if not kind.startswith("#"):
        kind = "#" + kind
    now = datetime.fromtimestamp(clock, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind.lower() == FILE.lower():
        raw = data.get("contentBytes")
        if not data.get("name") or raw is None:
            raise GraphError(400, "ErrorInvalidParameter", "The attachment must have a name and contentBytes.")
        try:
            size = len(base64.b64decode(raw, validate=True))
        except ValueError as exc:
            raise GraphError(400, "ErrorInvalidParameter", "Invalid base64 string for contentBytes.") from exc
        return {"__n": number, "@odata.type": FILE, "name": data["name"],
                "contentType": data.get("contentType") or "application/octet-stream", "size": size,
                "isInline": bool(data.get("isInline")), "contentId": data.get("contentId"),
                "contentLocation": data.get("contentLocation"), "contentBytes": raw,
                "lastModifiedDateTime": now}
    if kind.lower() == ITEM.lower():
        item = data.get("item") or {}
        text = json.dumps(item, ensure_ascii=False)
        return {"__n": number, "@odata.type": ITEM, "name": data.get("name") or item.get("subject"),
                "contentType": None, "size": len(text.encode("utf-8")) + 2000, "isInline": False,
                "item": item, "lastModifiedDateTime": now}
    raise GraphError(400, "ErrorInvalidParameter", f"Attachment type '{kind}' is not supported.")


def route(ctx: Ctx, mb: Mailbox, owner: MessageRecord | EventRecord, parent_kind: int,
          parent_context: str, segs: list[str]) -> EmuResponse:
    """``segs`` follows ``attachments``: [] | ["$count"] | [id] | [id, "$value"]."""
    from ..odata.rules import ATTACHMENTS

    is_message = isinstance(owner, MessageRecord)
    kind = item_ids.ATTACHMENT if is_message else item_ids.EVENT_ATTACHMENT
    context = parent_context + "/attachments"
    writing = ctx.method in ("POST", "DELETE")
    atts = (message_attachments(owner, for_update=writing) if isinstance(owner, MessageRecord)
            else owner.attachments)
    if not segs:
        if ctx.method == "GET":
            items = [attachment_json(mb, kind, owner.serial, a) for a in atts]
            return collection(ctx, items, ATTACHMENTS, context)
        if ctx.method == "POST":
            added = attach(ctx.service.tenant.now(), owner, ctx.entity_body("attachment"))
            return entity(ctx, attachment_json(mb, kind, owner.serial, added), ATTACHMENTS, context,
                          status=201, select=False)
        raise method_not_allowed()
    if segs[0].lower() == "createuploadsession" and len(segs) == 1:
        if ctx.method != "POST":
            raise method_not_allowed()
        item = mb.item_id(item_ids.MESSAGE if is_message else item_ids.EVENT, owner.serial)
        area = "messages" if is_message else "events"
        return ctx.service.uploads.create(
            ctx, mb.user["id"], area, item,
            f"{ctx.base}/users('{mb.user['id']}')/{area}('{item}')", ctx.json_body())
    if segs[0] == "$count" and len(segs) == 1 and ctx.method == "GET":
        return EmuResponse(200, str(len(atts)), content_type="text/plain")
    try:
        ident = item_ids.decode(segs[0])
    except item_ids.MalformedId as exc:
        raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.") from exc
    att = next((a for a in atts if ident.kind == kind and ident.serial == owner.serial and a["__n"] == ident.extra
                and ident.mailbox == mb.key), None)
    if att is None:
        raise not_found()
    if len(segs) == 2 and segs[1].lower() == "$value" and ctx.method == "GET":
        if att.get("@odata.type") == FILE:
            return EmuResponse(200, base64.b64decode(att["contentBytes"]),
                               content_type=att.get("contentType") or "application/octet-stream")
        return EmuResponse(200, "Subject: " + str(att.get("name")) + "\r\n\r\n" + json.dumps(att.get("item")),
                           content_type="text/plain")
    if len(segs) != 1:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[1]}'.")
    if ctx.method == "GET":
        return entity(ctx, attachment_json(mb, kind, owner.serial, att), ATTACHMENTS, context)
    if ctx.method == "DELETE":
        atts.remove(att)
        _touch(ctx, owner)
        return EmuResponse(204)
    raise method_not_allowed()


def attach(clock: float, owner: MessageRecord | EventRecord, data: dict[str, Any]) -> dict[str, Any]:
    """Add an attachment (a POST body, or a finished upload session's file) to ``owner``."""
    if isinstance(owner, MessageRecord):
        atts = message_attachments(owner, for_update=True)
        number = 1 + max((a["__n"] for a in atts), default=0)
    else:
        atts = owner.attachments
        number = owner.next_attachment
        owner.next_attachment += 1
    added = stored_attachment(clock, data, number)
    atts.append(added)
    owner.change += 1
    owner.modified = clock
    return added


def _touch(ctx: Ctx, owner: Any) -> None:
    owner.change += 1
    owner.modified = ctx.service.tenant.now()


def method_not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
