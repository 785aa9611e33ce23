"""Graph mail routes: messages, mail folders, sendMail and the message actions (emulator service).

Reads go through the OData engine with the MESSAGES / MAIL_FOLDERS rules; writes follow the
status codes of graph-semantics §9: create draft 201 (isDraft, in Drafts), send/sendMail/reply/
replyAll/forward 202, createReply* 201, move/copy 201 with a new id, PATCH 200 (body, subject,
internetMessageId and replyTo only on drafts), DELETE 204 (a soft delete into Recoverable
Items, out of every listing). Sent mail lands in Sent Items and in the Inbox of every in-tenant
recipient (new ids, unread, same conversationId/internetMessageId).

Bodies are checked against the EDM types first (``Ctx.entity_body``/``action_body``,
``odata.body``); ``mailFolders/{id}/messages/delta`` is served by ``graph.delta``.

Hands on: ``EmuResponse`` to ``graph.service``; deliveries to other mailboxes are queued on
``ctx.after`` and run once the sender's mailbox lock is released.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import html
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from ..errors import GraphError
from ..server.wire import EmuResponse
from ..tenant import item_ids
from ..tenant.mail_json import (
    HTML_HEAD,
    HTML_TAIL,
    folder_json,
    html_to_text,
    message_items,
    message_json,
    message_view,
)
from ..tenant.mail_store import (
    DELIVERY_RECEIPT,
    DRAFT,
    FLAG_SHIFT,
    FLAG_STATUS,
    IMPORTANCE,
    IMPORTANCE_SHIFT,
    OTHER,
    READ,
    READ_RECEIPT,
    MailFolder,
    MessageRecord,
)
from . import attachments as graph_attachments
from .context import Ctx, collection, count, entity
from .extended import merge_extended
from .item_errors import bad_segment, malformed, not_found
from .mime_in import is_mime, message_from_mime
from .permissions import MAIL_READ, MAIL_SEND, MAIL_WRITE, check_mailbox

if TYPE_CHECKING:
    from ..tenant.tenant import Mailbox

ALWAYS_WRITABLE = {"singleValueExtendedProperties", "categories", "flag", "importance", "inferenceClassification", "isRead",
                   "isDeliveryReceiptRequested", "isReadReceiptRequested", "toRecipients", "ccRecipients",
                   "bccRecipients", "from", "sender"}
DRAFT_ONLY = {"body", "subject", "internetMessageId", "replyTo"}
CREATE_ONLY = {"internetMessageHeaders", "attachments"}
READ_ONLY = {"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "receivedDateTime", "sentDateTime",
             "hasAttachments", "bodyPreview", "parentFolderId", "conversationId", "conversationIndex", "isDraft",
             "webLink", "uniqueBody"}


def find_message(mb: Mailbox, text: str) -> MessageRecord:
    try:
        ident = item_ids.decode(text)
    except item_ids.MalformedId as exc:
        raise malformed() from exc
    rec = mb.mail.messages.get(ident.serial) if ident.mailbox == mb.key and ident.kind == item_ids.MESSAGE else None
    if rec is None:
        raise not_found()
    return rec


def find_folder(mb: Mailbox, text: str) -> MailFolder:
    folder = mb.mail.folder_by_name(text)
    if folder is not None:
        return folder
    try:
        ident = item_ids.decode(text)
    except item_ids.MalformedId as exc:
        raise malformed() from exc
    found = mb.mail.folders.get(ident.serial) if ident.mailbox == mb.key and ident.kind == item_ids.MAIL_FOLDER else None
    if found is None:
        raise not_found()
    return found


def route(ctx: Ctx, mb: Mailbox, segs: list[str], ref: str) -> EmuResponse:
    """``segs`` follow ``/me`` or ``/users/{x}``; the first is messages, mailFolders or sendMail."""
    head = segs[0].lower()
    users = f"{ctx.base}/$metadata#users('{ref}')"
    if head == "sendmail" and len(segs) == 1:
        if ctx.method != "POST":
            raise graph_attachments.method_not_allowed()
        check_mailbox(ctx.service.tenant, ctx.req.principal, mb, MAIL_SEND)
        return send_mail(ctx, mb)
    if head == "messages":
        return messages(ctx, mb, segs[1:], users + "/messages", None)
    if head == "mailfolders":
        return folders(ctx, mb, segs[1:], users)
    raise bad_segment(segs[0])


def _need(ctx: Ctx, mb: Mailbox, write: bool = False, send: bool = False) -> None:
    check_mailbox(ctx.service.tenant, ctx.req.principal, mb, MAIL_SEND if send else MAIL_WRITE if write else MAIL_READ)


# messages -----------------------------------------------------------------------------------------
def messages(ctx: Ctx, mb: Mailbox, segs: list[str], context: str, folder: MailFolder | None) -> EmuResponse:
    from ..odata.rules import MESSAGES

    if not segs:
        if ctx.method == "GET":
            _need(ctx, mb)
            recs = mb.mail.in_folder(folder.serial) if folder else mb.mail.ordered()
            return collection(ctx, message_items(mb, recs), MESSAGES, context, body=True,
                              cache_key=(mb.number, mb.version, folder.serial if folder else 0))
        if ctx.method == "POST":
            _need(ctx, mb, write=True)
            target = folder or mb.mail.folders[mb.mail.well_known["drafts"]]
            data = message_from_mime(ctx) if is_mime(ctx) else ctx.entity_body("message")
            rec = create_draft(ctx, mb, data, target)
            return entity(ctx, message_json(mb, rec), MESSAGES, context, status=201, body=True, select=False)
        raise graph_attachments.method_not_allowed()
    if segs[0] == "$count" and len(segs) == 1:
        _need(ctx, mb)
        recs = mb.mail.in_folder(folder.serial) if folder else mb.mail.ordered()
        return count(ctx, message_items(mb, recs), MESSAGES,
                     cache_key=(mb.number, mb.version, folder.serial if folder else 0))
    if segs[0].lower() == "delta" and len(segs) == 1:
        if folder is None:
            # §7/§12: message delta is per folder (CSDL: user/messages ChangeTracking=false);
            # Graph's answer for /me/messages/delta is not documented (inferred).
            raise GraphError(400, "ErrorInvalidUrlQuery",
                             "Change tracking is supported per mail folder only: use /mailFolders/{id}/messages/delta.")
        if ctx.method != "GET":
            raise graph_attachments.method_not_allowed()
        _need(ctx, mb)
        from . import delta as graph_delta

        return graph_delta.message_delta(ctx, mb, folder)
    rec = find_message(mb, segs[0])
    rest = segs[1:]
    if folder is not None and rec.folder != folder.serial:
        raise not_found()
    if not rest:
        if ctx.method == "GET":
            _need(ctx, mb)
            # A lazy view: a $select builds only the properties it names.
            return entity(ctx, message_view(mb, rec), MESSAGES, context, body=True)
        if ctx.method == "PATCH":
            _need(ctx, mb, write=True)
            update_message(ctx, mb, rec, ctx.entity_body("message"))
            return entity(ctx, message_json(mb, rec), MESSAGES, context, body=True, select=False)
        if ctx.method == "DELETE":
            _need(ctx, mb, write=True)
            # message-delete.md documents only the 204; Exchange soft-deletes the item into
            # Recoverable Items (not Deleted Items: that takes a move to "deleteditems"), so it
            # leaves every listing and its id stops resolving (graph-semantics §9, inferred).
            mb.mail.soft_delete(rec.serial)
            return EmuResponse(204)
        raise graph_attachments.method_not_allowed()
    action = rest[0].lower()
    if action == "$value" and len(rest) == 1 and ctx.method == "GET":
        _need(ctx, mb)
        return EmuResponse(200, mime(mb, rec), content_type="text/plain")
    if action == "attachments":
        _need(ctx, mb, write=ctx.method != "GET")
        mid = mb.item_id(item_ids.MESSAGE, rec.serial)
        parent = context.rsplit("/", 1)[0] + f"/messages('{mid}')"
        return graph_attachments.route(ctx, mb, rec, item_ids.MESSAGE, parent, rest[1:])
    if len(rest) != 1:
        raise bad_segment(rest[1])
    if ctx.method != "POST":
        raise graph_attachments.method_not_allowed()
    return message_action(ctx, mb, rec, action, context)


def message_action(ctx: Ctx, mb: Mailbox, rec: MessageRecord, action: str, context: str) -> EmuResponse:
    from ..odata.body import ACTIONS
    from ..odata.rules import MESSAGES

    if action not in ACTIONS or action in ("sendmail", "accept", "decline", "tentativelyaccept", "cancel",
                                           "dismissreminder", "snoozereminder"):
        raise bad_segment(action)
    if is_mime(ctx) and action in ("reply", "replyall", "forward", "createreply",
                                   "createreplyall", "createforward"):
        # The response given whole as MIME: its headers (To, Cc, Subject) and body replace the
        # generated ones (message-reply.md, message-forward.md, message-createreply.md: MIME).
        body: dict[str, Any] = {"message": message_from_mime(ctx)}
    else:
        body = ctx.action_body(action)
    if action == "send":
        _need(ctx, mb, send=True)
        if not rec.flags & DRAFT:
            raise GraphError(400, "ErrorInvalidOperation", "Only draft messages can be sent.")
        deliver(ctx, mb, rec, save=True)
        return EmuResponse(202)
    if action in ("reply", "replyall", "forward"):
        _need(ctx, mb, send=True)
        draft = make_response(ctx, mb, rec, action, body)
        _require_recipients(mb, draft)  # a forward names its recipients (message-forward.md)
        deliver(ctx, mb, draft, save=True)
        return EmuResponse(202)
    if action in ("createreply", "createreplyall", "createforward"):
        _need(ctx, mb, write=True)
        draft = make_response(ctx, mb, rec, action[len("create"):], body)
        return entity(ctx, message_json(mb, draft), MESSAGES, context, status=201, body=True, select=False)
    if action in ("move", "copy"):
        _need(ctx, mb, write=True)
        dest_id = body.get("destinationId")
        if not isinstance(dest_id, str) or not dest_id:
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'DestinationId' is empty.")
        dest = find_folder(mb, dest_id)
        new = rec.copy(mb.mail.next_serial(), dest.serial)
        if action == "move":
            # Exchange gives a moved item a new id (graph-semantics §9, outlook-immutable-id.md).
            mb.mail.remove(rec.serial)
        else:
            new.modified = int(ctx.service.tenant.now())
        mb.mail.add(new)
        # message-move.md: the answer names its type even for a plain message.
        moved = {"@odata.type": "#microsoft.graph.message", **message_json(mb, new)}
        return entity(ctx, moved, MESSAGES, context, status=201, body=True, select=False)
    raise bad_segment(action)


# folders ------------------------------------------------------------------------------------------
def folders(ctx: Ctx, mb: Mailbox, segs: list[str], users: str) -> EmuResponse:
    from ..odata.rules import MAIL_FOLDERS

    store = mb.mail
    if not segs:
        return _folder_list(ctx, mb, store.folders[store.root], users + "/mailFolders", top_level=True)
    if segs[0] == "$count" and len(segs) == 1:
        _need(ctx, mb)
        return count(ctx, _children(ctx, mb, store.folders[store.root]), MAIL_FOLDERS)
    if segs[0].lower() == "delta" and len(segs) == 1:
        if ctx.method != "GET":
            raise graph_attachments.method_not_allowed()
        _need(ctx, mb)
        from . import delta as graph_delta

        return graph_delta.mail_folder_delta(ctx, mb)
    folder = find_folder(mb, segs[0])
    path = f"{users}/mailFolders('{segs[0]}')"
    rest = segs[1:]
    while len(rest) >= 2 and rest[0].lower() == "childfolders" and rest[1] != "$count":
        child = find_folder(mb, rest[1])
        if child.parent != folder.serial:
            raise not_found()
        folder, path, rest = child, f"{path}/childFolders('{rest[1]}')", rest[2:]
    if not rest:
        if ctx.method == "GET":
            _need(ctx, mb)
            return entity(ctx, folder_json(mb, folder), MAIL_FOLDERS, users + "/mailFolders")
        if ctx.method == "PATCH":
            _need(ctx, mb, write=True)
            data = ctx.entity_body("mailFolder")
            if "displayName" in data:
                name = _folder_name(data)
                _unique_name(mb, folder.parent, name, folder.serial)
                folder.display_name = name
            return entity(ctx, folder_json(mb, folder), MAIL_FOLDERS, users + "/mailFolders", select=False)
        if ctx.method == "DELETE":
            _need(ctx, mb, write=True)
            if folder.well_known:
                raise GraphError(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
            store.remove_folder(folder.serial)
            return EmuResponse(204)
        raise graph_attachments.method_not_allowed()
    head = rest[0].lower()
    if head == "childfolders":
        if len(rest) == 2 and rest[1] == "$count":
            _need(ctx, mb)
            return count(ctx, _children(ctx, mb, folder), MAIL_FOLDERS)
        return _folder_list(ctx, mb, folder, path + "/childFolders", top_level=False)
    if head == "messages":
        return messages(ctx, mb, rest[1:], path + "/messages", folder)
    if head in ("move", "copy") and len(rest) == 1 and ctx.method == "POST":
        _need(ctx, mb, write=True)
        dest = find_folder(mb, str(ctx.action_body(head).get("destinationId") or ""))
        if folder.well_known:
            raise GraphError(400, "ErrorMoveDistinguishedFolder", "Distinguished folders cannot be moved.")
        if dest.serial in store.subtree(folder.serial):
            raise GraphError(400, "ErrorMoveCopyFailed", "The move or copy operation failed.")
        if head == "move":
            _unique_name(mb, dest.serial, folder.display_name, folder.serial)
            store.reparent_folder(folder.serial, dest.serial)
            result = folder
        else:
            result = _copy_folder(mb, folder, dest.serial)
        return entity(ctx, folder_json(mb, result), MAIL_FOLDERS, users + "/mailFolders", select=False)
    raise bad_segment(rest[0])


def _children(ctx: Ctx, mb: Mailbox, parent: MailFolder) -> list[dict[str, Any]]:
    hidden = ctx.params().get("includehiddenfolders", "").lower() == "true"
    kids = [mb.mail.folders[s] for s in parent.children]
    return [folder_json(mb, f) for f in sorted(kids, key=lambda f: f.display_name.lower())
            if hidden or not f.hidden]


def _folder_list(ctx: Ctx, mb: Mailbox, parent: MailFolder, context: str, *, top_level: bool) -> EmuResponse:
    from ..odata.rules import MAIL_FOLDERS

    if ctx.method == "GET":
        _need(ctx, mb)
        return collection(ctx, _children(ctx, mb, parent), MAIL_FOLDERS, context)
    if ctx.method == "POST":
        _need(ctx, mb, write=True)
        data = ctx.entity_body("mailFolder")
        name = _folder_name(data)
        _unique_name(mb, parent.serial, name, None)
        folder = mb.mail.add_folder(name, parent.serial, hidden=bool(data.get("isHidden")))
        return entity(ctx, folder_json(mb, folder), MAIL_FOLDERS, context.rsplit("/", 1)[0] + "/mailFolders",
                      status=201, select=False)
    raise graph_attachments.method_not_allowed()


def _folder_name(data: dict[str, Any]) -> str:
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'DisplayName' is empty.")
    return name


def _unique_name(mb: Mailbox, parent: int, name: str, exclude: int | None) -> None:
    for s in mb.mail.folders[parent].children:
        if s != exclude and mb.mail.folders[s].display_name.lower() == name.lower():
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")


def _copy_folder(mb: Mailbox, folder: MailFolder, dest: int) -> MailFolder:
    copy = mb.mail.add_folder(folder.display_name, dest, hidden=folder.hidden)
    for rec in [r for r in mb.mail.messages.values() if r.folder == folder.serial]:
        mb.mail.add(rec.copy(mb.mail.next_serial(), copy.serial))
    for child in list(folder.children):
        _copy_folder(mb, mb.mail.folders[child], copy.serial)
    return copy


# writes -------------------------------------------------------------------------------------------
def recipients(ctx: Ctx, value: Any, prop: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise GraphError(400, "RequestBodyRead", f"Invalid value for property '{prop}': an array is expected.")
    return [recipient_of(ctx, r, prop) for r in value]


def recipient_of(ctx: Ctx, value: Any, prop: str) -> dict[str, Any]:
    addr = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(addr, dict) or not isinstance(addr.get("address"), str):
        raise GraphError(400, "ErrorInvalidRecipients", f"At least one recipient in '{prop}' is not valid.")
    address = addr["address"]
    tenant = ctx.service.tenant
    name = addr.get("name")
    if not name:
        mbx = tenant.mailbox_by_address(address)
        name = mbx.user["displayName"] if mbx else address
    return {"emailAddress": {"name": name, "address": address}}


def _body(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise GraphError(400, "RequestBodyRead", "Invalid value for property 'body'.")
    kind = str(value.get("contentType") or "text").lower()
    if kind not in ("text", "html"):
        raise GraphError(400, "RequestBodyRead",
                         f"Cannot convert the literal '{value.get('contentType')}' to the expected type 'microsoft.graph.bodyType'.")
    content = str(value.get("content") or "")
    if kind == "html" and "<html" not in content.lower():
        content = HTML_HEAD + content + HTML_TAIL
    return {"contentType": kind, "content": content}


def _enum(value: Any, choices: tuple[str, ...], prop: str, type_name: str) -> int:
    text = str(value).lower() if value is not None else ""
    for i, c in enumerate(choices):
        if c.lower() == text:
            return i
    raise GraphError(400, "RequestBodyRead",
                     f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.{type_name}'.")


def apply_fields(ctx: Ctx, mb: Mailbox, rec: MessageRecord, data: dict[str, Any], *, creating: bool) -> None:
    # Every change is made on copies and applied once all of ``data`` is accepted: a refused
    # update leaves the message as it was (Graph's PATCH is all or nothing).
    extra = dict(rec.extra or {})
    draft = bool(rec.flags & DRAFT)
    flags, cats = rec.flags, rec.cats
    read: bool | None = None
    for key, value in data.items():
        if key.startswith("@odata."):
            continue
        if key in READ_ONLY:
            raise GraphError(400, "ErrorInvalidPropertySet", f"The property '{key}' is read-only and can't be set.")
        if key in CREATE_ONLY and not creating:
            raise GraphError(400, "ErrorInvalidPropertySet", f"The property '{key}' can only be set when the message is created.")
        if key in DRAFT_ONLY and not draft:
            # Exchange refuses to rewrite sent/received content (message-update.md: draft only).
            raise GraphError(400, "ErrorInvalidPropertyUpdateSentMessage",
                             "Update operation is not allowed on a message that has already been sent.")
        if key not in ALWAYS_WRITABLE | DRAFT_ONLY | CREATE_ONLY:
            raise GraphError(400, "RequestBodyRead", f"The property '{key}' does not exist on type "
                             "'microsoft.graph.message'. Make sure to only use property names that are defined by the type.")
        if key == "subject":
            extra["subject"] = "" if value is None else str(value)
        elif key == "body":
            extra["body"] = _body(value)
        elif key in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
            extra[key] = recipients(ctx, value, key)
        elif key in ("from", "sender"):
            extra[key] = recipient_of(ctx, value, key)
        elif key == "importance":
            flags = (flags & ~(3 << IMPORTANCE_SHIFT)) | (_enum(value, IMPORTANCE, key, "importance") << IMPORTANCE_SHIFT)
        elif key == "inferenceClassification":
            other = _enum(value, ("focused", "other"), key, "inferenceClassificationType")
            flags = flags | OTHER if other else flags & ~OTHER
        elif key == "isRead":
            if not isinstance(value, bool):
                raise GraphError(400, "RequestBodyRead", "Invalid value for property 'isRead'.")
            read = value
        elif key in ("isDeliveryReceiptRequested", "isReadReceiptRequested"):
            bit = DELIVERY_RECEIPT if key == "isDeliveryReceiptRequested" else READ_RECEIPT
            flags = flags | bit if value else flags & ~bit
        elif key == "categories":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise GraphError(400, "RequestBodyRead", "Invalid value for property 'categories'.")
            cats = tuple(value)
        elif key == "flag":
            status = _enum((value or {}).get("flagStatus", "notFlagged"), FLAG_STATUS, key, "followupFlagStatus")
            if (value or {}).get("dueDateTime") and not (value or {}).get("startDateTime"):
                raise GraphError(400, "ErrorInvalidRequest", "The dueDateTime of a flag requires a startDateTime.")
            flags = (flags & ~(3 << FLAG_SHIFT)) | (status << FLAG_SHIFT)
            extra["flag"] = {"flagStatus": FLAG_STATUS[status],
                             **{k: v for k, v in (value or {}).items() if k != "flagStatus"}}
        elif key == "internetMessageId":
            extra["internetMessageId"] = str(value)
        elif key == "internetMessageHeaders":
            for h in value or []:
                if not str(h.get("name", "")).lower().startswith("x-"):
                    raise GraphError(400, "InvalidInternetMessageHeader",
                                     f"The internet message header name '{h.get('name')}' should start with 'x-' or 'X-'.")
            extra["internetMessageHeaders"] = [{"name": h["name"], "value": h.get("value")} for h in value or []]
        elif key == "singleValueExtendedProperties":
            extra[key] = merge_extended(extra.get(key), value)
        elif key == "attachments":
            atts = []
            for i, a in enumerate(value or []):
                atts.append(graph_attachments.new_attachment(ctx, a, i + 1))
            extra["__attachments"] = atts
    rec.extra, rec.flags, rec.cats = extra, flags, cats
    if read is not None:
        if creating:  # not filed yet: folder counters are updated when it is added
            rec.flags = rec.flags | READ if read else rec.flags & ~READ
        else:
            mb.mail.set_read(rec, read)


def create_draft(ctx: Ctx, mb: Mailbox, data: dict[str, Any], folder: MailFolder) -> MessageRecord:
    tenant = ctx.service.tenant
    now = int(tenant.now())
    rec = MessageRecord(mb.mail.next_serial(), folder.serial, 0, now, now, DRAFT | READ | (1 << IMPORTANCE_SHIFT),
                        mb.person, (), (), tenant.new_conversation(), 0, ())
    rec.extra = {"subject": "", "body": {"contentType": "text", "content": ""}, "toRecipients": [],
                 "ccRecipients": [], "__attachments": []}
    apply_fields(ctx, mb, rec, data, creating=True)
    mb.mail.add(rec)
    return rec


def update_message(ctx: Ctx, mb: Mailbox, rec: MessageRecord, data: dict[str, Any]) -> None:
    apply_fields(ctx, mb, rec, data, creating=False)
    rec.change += 1
    rec.modified = int(ctx.service.tenant.now())


def _owner_recipient(mb: Mailbox) -> dict[str, Any]:
    return {"emailAddress": {"name": mb.user["displayName"], "address": mb.address}}


def make_response(ctx: Ctx, mb: Mailbox, orig: MessageRecord, action: str, body: dict[str, Any]) -> MessageRecord:
    """The draft of a reply, reply-all or forward (createReply & co., message-createreply.md)."""
    original = message_json(mb, orig)
    prefix = "FW: " if action == "forward" else "RE: "
    subject = original["subject"] or ""
    if subject[:4].upper() == prefix:  # Outlook does not stack "RE: RE: "
        prefix = ""
    sender = original.get("from") or _owner_recipient(mb)
    if action == "reply":
        to = [sender]
        cc: list[dict[str, Any]] = []
    elif action == "replyall":
        me = mb.address.lower()
        to = [sender] + [r for r in original["toRecipients"] if r["emailAddress"]["address"].lower() != me]
        cc = [r for r in original["ccRecipients"] if r["emailAddress"]["address"].lower() != me]
    else:
        to, cc = [], []
    comment = str(body.get("comment") or "")
    quoted = (f"<div>{html.escape(comment, quote=False)}</div><hr><div><b>From:</b> "
              f"{html.escape(sender['emailAddress']['name'], quote=False)} &lt;{html.escape(sender['emailAddress']['address'], quote=False)}&gt;<br>"
              f"<b>Sent:</b> {original['sentDateTime']}<br><b>Subject:</b> {html.escape(original['subject'] or '', quote=False)}</div>"
              f"<div>{html.escape(html_to_text(original['body']['content']) if original['body']['contentType'] == 'html' else original['body']['content'], quote=False)}</div>")
    data: dict[str, Any] = {"subject": prefix + subject,
                            "body": {"contentType": "html", "content": HTML_HEAD + quoted + HTML_TAIL},
                            "toRecipients": to, "ccRecipients": cc}
    overrides = body.get("message") or {}
    if action == "forward" and body.get("toRecipients") is not None:
        data["toRecipients"] = body["toRecipients"]
    data.update({k: v for k, v in overrides.items() if k != "body" or not comment})
    draft = create_draft(ctx, mb, data, mb.mail.folders[mb.mail.well_known["drafts"]])
    draft.conv, draft.conv_pos = orig.conv, orig.conv_pos + 1
    return draft


def send_mail(ctx: Ctx, mb: Mailbox) -> EmuResponse:
    if is_mime(ctx):
        # A MIME message is sent and saved in Sent Items (user-sendmail.md, MIME example).
        draft = create_draft(ctx, mb, message_from_mime(ctx), mb.mail.folders[mb.mail.well_known["drafts"]])
        _require_recipients(mb, draft)
        deliver(ctx, mb, draft, save=True)
        return EmuResponse(202)
    body = ctx.action_body("sendMail")
    message = body.get("message")
    if not isinstance(message, dict):
        raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
    save = body.get("saveToSentItems", True)
    if isinstance(save, str):  # the docs sample sends "false" as a string (user-sendmail.md)
        save = save.lower() != "false"
    draft = create_draft(ctx, mb, message, mb.mail.folders[mb.mail.well_known["drafts"]])
    _require_recipients(mb, draft)
    deliver(ctx, mb, draft, save=bool(save))
    return EmuResponse(202)


# Exchange's answer to sending mail that has no recipient at all: observed for sendMail
# (microsoftgraph/php-connect-sample#13) and for other sends (msgraph-sdk-dotnet#1891, "At least
# one recipient is not valid., ..."); the reference (graph-semantics §8.3, §9) gives no text.
NO_RECIPIENTS = "At least one recipient isn't valid., A message can't be sent because it contains no recipients."


def _require_recipients(mb: Mailbox, draft: MessageRecord) -> None:
    extra = draft.extra or {}
    if not (extra.get("toRecipients") or extra.get("ccRecipients") or extra.get("bccRecipients")):
        mb.mail.remove(draft.serial)
        raise GraphError(400, "ErrorInvalidRecipients", NO_RECIPIENTS)


def deliver(ctx: Ctx, mb: Mailbox, draft: MessageRecord, *, save: bool) -> None:
    """Sends a draft: to Sent Items (new id) and to each in-tenant recipient's Inbox."""
    tenant = ctx.service.tenant
    now = int(tenant.now())
    extra = dict(draft.extra or {})
    if not extra.get("internetMessageId"):
        digest = hashlib.blake2b(f"{mb.user_id}/{draft.serial}/{now}".encode(), digest_size=12).hexdigest().upper()
        extra["internetMessageId"] = f"<{digest}@MWHPR13{digest[:6]}.namprd13.prod.outlook.com>"
    extra.setdefault("from", _owner_recipient(mb))
    extra.setdefault("sender", extra["from"])
    draft.extra = extra
    mb.mail.remove(draft.serial)
    if save:
        sent = draft.copy(mb.mail.next_serial(), mb.mail.well_known["sentitems"])
        sent.flags = (sent.flags & ~DRAFT) | READ
        sent.received = sent.sent = sent.modified = now
        mb.mail.add(sent)
    targets: list[str] = []
    for key in ("toRecipients", "ccRecipients", "bccRecipients"):
        for r in extra.get(key) or []:
            targets.append(r["emailAddress"]["address"])
    seen: set[str] = set()
    for address in targets:
        other = tenant.mailbox_by_address(address)
        if other is None or other.user_id in seen:
            continue
        seen.add(other.user_id)
        ctx.after.append(functools.partial(_receive, other, draft, now))


def _receive(mb: Mailbox, draft: MessageRecord, now: int) -> None:
    with mb.lock:
        copy = draft.copy(mb.mail.next_serial(), mb.mail.well_known["inbox"])
        copy.flags &= ~(DRAFT | READ)
        copy.received = copy.modified = now
        copy.sent = now - 1
        if copy.extra:
            copy.extra.pop("bccRecipients", None)
        mb.mail.add(copy)
        mb.version += 1


def mime(mb: Mailbox, rec: MessageRecord) -> str:
    """GET /messages/{id}/$value: the message as MIME (message-get.md)."""
    msg = message_json(mb, rec)
    out = EmailMessage()
    sender = msg.get("from") or _owner_recipient(mb)
    out["From"] = email.utils.formataddr((sender["emailAddress"]["name"], sender["emailAddress"]["address"]))
    for header, key in (("To", "toRecipients"), ("Cc", "ccRecipients")):
        if msg[key]:
            out[header] = ", ".join(email.utils.formataddr((r["emailAddress"]["name"], r["emailAddress"]["address"]))
                                    for r in msg[key])
    out["Subject"] = msg["subject"]
    out["Date"] = email.utils.format_datetime(datetime.fromtimestamp(rec.sent, UTC))
    out["Message-ID"] = msg["internetMessageId"]
    out["MIME-Version"] = "1.0"
    if msg["body"]["contentType"] == "html":
        out.set_content(html_to_text(msg["body"]["content"]))
        out.add_alternative(msg["body"]["content"], subtype="html")
    else:
        out.set_content(msg["body"]["content"])
    for att in graph_attachments.message_attachments(rec):
        if att.get("@odata.type") == graph_attachments.FILE:
            maintype, _, subtype = (att.get("contentType") or "application/octet-stream").partition("/")
            out.add_attachment(base64.b64decode(att["contentBytes"]), maintype=maintype,
                               subtype=subtype or "octet-stream", filename=att.get("name"))
    return out.as_string()
