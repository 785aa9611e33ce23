"""The mail action procedures, with CData's names: SendMail, MoveMail, CopyMail, ForwardMail,
ReplyToMessage, CreateFolder.

Stage: procedure calls → Graph client. Each maps onto one Graph action
(https://learn.microsoft.com/graph/api/user-sendmail, message-send, message-move, message-copy,
message-forward, message-reply, message-replyall, user-post-mailfolders). SendMail takes
CData's inputs (cdata-data-model.md §3.3): recipients separated by ``;``, ``ContentType`` text
(default) or html, attachments as ``name, content; name, content`` (content base64, or
``@path``), or one ``FileName`` with ``LocalFile``/``ContentBytes``.

A destination folder is a folder id, a well-known name (``'Archive'``, ``'Inbox'``: Graph takes
them in place of ids, mailfolder resource) or the display name of a folder at the top of the
mailbox, looked up once.
"""

from __future__ import annotations

import base64
import os
from typing import Any
from urllib.parse import quote

from o365sql.procedures import Parameter, Procedure, ResultColumn, register

from o365sql.exceptions import DataError, ProgrammingError
from o365sql.graph.request import GraphRequest

from ._graph_calls import (
    USER_ID_DOC,
    call,
    file_content,
    item,
    mailbox,
    recipients,
)

__all__ = ["WELL_KNOWN_FOLDERS"]

#: Names Graph accepts in place of a mail folder id (mailfolder resource, graph-semantics §3.1).
WELL_KNOWN_FOLDERS = frozenset({
    "archive", "clutter", "conflicts", "conversationhistory", "deleteditems", "drafts", "inbox",
    "junkemail", "localfailures", "msgfolderroot", "outbox", "recoverableitemsdeletions",
    "scheduled", "searchfolders", "sentitems", "serverfailures", "syncissues"})

_STATUS = (ResultColumn("Status", "String", "Success when Graph accepted the action"),)
_USER = Parameter("UserId", "String", False, USER_ID_DOC)
_MESSAGE = Parameter("Id", "String", True, "the message (a Messages.Id)")


def _attachments(args: dict[str, Any]) -> list[dict[str, Any]]:
    """File attachments from ``Attachments`` and/or ``FileName`` + ``LocalFile``/``ContentBytes``."""
    found: list[dict[str, Any]] = []
    listed = args.get("Attachments")
    if listed:
        for part in str(listed).split(";"):
            if not part.strip():
                continue
            name, sep, content = part.partition(",")
            if not sep or not name.strip() or not content.strip():
                raise DataError("procedure SendMail: @Attachments takes 'name, content' pairs "
                                "separated by ';' (content base64, or @path of a file)")
            content = content.strip()
            data = (file_content("SendMail", local_file=content[1:]) if content.startswith("@")
                    else file_content("SendMail", content_bytes=content))
            found.append(_file(name.strip(), data))
    if args.get("FileName"):
        data = file_content("SendMail", local_file=args.get("LocalFile"),
                            content_bytes=args.get("ContentBytes"))
        found.append(_file(str(args["FileName"]), data))
    return found


def _file(name: str, data: bytes, content_type: str | None = None) -> dict[str, Any]:
    out = {"@odata.type": "#microsoft.graph.fileAttachment", "name": name,
           "contentBytes": base64.b64encode(data).decode("ascii")}
    if content_type:
        out["contentType"] = content_type
    return out


def _content_type(value: Any) -> str:
    text = str(value or "text").strip().lower()
    if text not in ("text", "html"):
        raise DataError(f"procedure SendMail: @ContentType is text or html, not {value!r}")
    return text


def mime_request(path: str, mime: Any, procedure: str) -> GraphRequest:
    """A POST of a whole MIME message: base64, ``Content-Type: text/plain`` (user-sendmail.md,
    user-post-messages.md)."""
    if isinstance(mime, str):
        mime = mime.encode("utf-8")
    if not isinstance(mime, (bytes, bytearray)) or not mime.strip():
        raise ProgrammingError(f"procedure {procedure}: @MimeContent takes the message as MIME "
                               "text or bytes")
    return GraphRequest("POST", path, headers=(("Content-Type", "text/plain"),),
                        body=base64.b64encode(bytes(mime)).decode("ascii"))


def _send_mail(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    base = mailbox(context, "SendMail", args["UserId"])
    if args.get("MimeContent") is not None:
        context.graph.send(mime_request(f"{base}/sendMail", args["MimeContent"], "SendMail"))
        return [("Success",)]
    if args.get("Id"):
        # A draft by id: its own recipients, subject and body (message-send.md).
        call(context, "POST", f"{base}/messages/{item(args['Id'], 'SendMail')}/send")
        return [("Success",)]
    to = recipients(args.get("ToRecipients"), "SendMail", "ToRecipients")
    cc = recipients(args.get("CCRecipients"), "SendMail", "CCRecipients")
    bcc = recipients(args.get("BccRecipients"), "SendMail", "BccRecipients")
    if not (to or cc or bcc):
        raise ProgrammingError("procedure SendMail needs @Id (a draft) or at least one of "
                               "@ToRecipients, @CCRecipients, @BccRecipients")
    message: dict[str, Any] = {
        "subject": args.get("Subject") or "",
        "body": {"contentType": _content_type(args.get("ContentType")),
                 "content": args.get("Content") or ""},
        "toRecipients": to,
    }
    if cc:
        message["ccRecipients"] = cc
    if bcc:
        message["bccRecipients"] = bcc
    if args.get("FromEmail"):
        message["from"] = {"emailAddress": {"address": str(args["FromEmail"])}}
    if args.get("SenderEmail"):
        message["sender"] = {"emailAddress": {"address": str(args["SenderEmail"])}}
    attachments = _attachments(args)
    if attachments:
        message["attachments"] = attachments
    save = args.get("SaveToSentItems")
    call(context, "POST", f"{base}/sendMail",
         {"message": message, "saveToSentItems": True if save is None else bool(save)})
    return [("Success",)]


def _draft_from_mime(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    base = mailbox(context, "CreateDraftFromMime", args["UserId"])
    created = context.graph.send(mime_request(f"{base}/messages", args.get("MimeContent"),
                                              "CreateDraftFromMime")) or {}
    return [(created.get("id"), created.get("subject"))]


def _download_email(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    base = mailbox(context, "DownloadEmail", args["UserId"])
    message = item(args.get("Id"), "DownloadEmail")
    data = b"".join(context.graph.download(GraphRequest("GET", f"{base}/messages/{message}/$value")))
    folder = args.get("DownloadLocation")
    if folder is None:
        return [(args["Id"], data, None)]
    if not os.path.isdir(os.fspath(folder)):
        raise ProgrammingError(f"procedure DownloadEmail: @DownloadLocation {folder!r} is not a "
                               "folder")
    target = os.path.join(os.fspath(folder), str(args.get("FileName") or "message.eml"))
    if os.path.basename(target) != str(args.get("FileName") or "message.eml"):
        raise ProgrammingError("procedure DownloadEmail: @FileName is a name, not a path")
    with open(target, "wb") as handle:
        handle.write(data)
    return [(args["Id"], None, target)]


def folder_id(context: Any, base: str, value: Any, procedure: str) -> str:
    """A folder id, well-known name, or the display name of a folder at the top of the
    mailbox (Inbox's children too), as Graph's ``destinationId``."""
    if not isinstance(value, str) or not value.strip():
        raise ProgrammingError(f"procedure {procedure} needs @DestinationId (a folder id, a "
                               "well-known name such as 'Archive', or a folder's name)")
    text = value.strip()
    if text.lower() in WELL_KNOWN_FOLDERS:
        return text
    quoted = text.replace("'", "''")
    for parent in (f"{base}/mailFolders", f"{base}/mailFolders/inbox/childFolders"):
        page = context.graph.send(GraphRequest(
            "GET", parent, params=(("$filter", f"displayName eq '{quoted}'"),
                                   ("$select", "id,displayName"))))
        found = [f for f in (page or {}).get("value", [])
                 if str(f.get("displayName", "")).lower() == text.lower()]
        if found:
            return str(found[0]["id"])
    return text  # an id: Graph says whether it names a folder


def _move_or_copy(action: str, procedure: str) -> Any:
    def run(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
        base = mailbox(context, procedure, args["UserId"])
        destination = folder_id(context, base, args.get("DestinationId"), procedure)
        moved = call(context, "POST", f"{base}/messages/{item(args['Id'], procedure)}/{action}",
                     {"destinationId": destination})
        return [((moved or {}).get("id"), (moved or {}).get("parentFolderId"))]
    return run


def _forward(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    base = mailbox(context, "ForwardMail", args["UserId"])
    to = recipients(args.get("ToRecipients"), "ForwardMail", "ToRecipients")
    if not to:
        raise ProgrammingError("procedure ForwardMail needs @ToRecipients")
    call(context, "POST", f"{base}/messages/{item(args['Id'], 'ForwardMail')}/forward",
         {"comment": args.get("Comment") or "", "toRecipients": to})
    return [("Success",)]


def _reply(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    base = mailbox(context, "ReplyToMessage", args["UserId"])
    action = "replyAll" if args.get("ReplyAll") else "reply"
    call(context, "POST", f"{base}/messages/{item(args['Id'], 'ReplyToMessage')}/{action}",
         {"comment": args.get("Comment") or ""})
    return [("Success",)]


def _create_folder(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    base = mailbox(context, "CreateFolder", args["UserId"])
    name = args.get("DisplayName")
    if not isinstance(name, str) or not name.strip():
        raise ProgrammingError("procedure CreateFolder needs @DisplayName")
    parent = args.get("ParentFolderId")
    path = (f"{base}/mailFolders/{quote(str(parent), safe='')}/childFolders" if parent
            else f"{base}/mailFolders")
    created = call(context, "POST", path, {"displayName": name,
                                           "isHidden": bool(args.get("IsHidden") or False)})
    return [((created or {}).get("id"), (created or {}).get("displayName"))]


register(Procedure(
    "SendMail",
    "Sends a message from the mailbox: a draft by Id, or a new one built from the inputs.",
    [Parameter("Id", "String", False, "a draft to send (its own recipients and content)"),
     Parameter("Subject", "String"), Parameter("Content", "String", False, "the body"),
     Parameter("Attachments", "String", False,
               "'name, content; name, content' (content base64, or @path of a file)"),
     Parameter("FileName", "String", False, "name of one attachment"),
     Parameter("LocalFile", "String", False, "path of that attachment's file"),
     Parameter("ContentBytes", "String", False, "that attachment's content, base64"),
     Parameter("ToRecipients", "String", False, "addresses separated by ';'"),
     Parameter("CCRecipients", "String", False, "addresses separated by ';'"),
     Parameter("BccRecipients", "String", False, "addresses separated by ';'"),
     Parameter("SenderEmail", "String", False, "send on behalf of this address"),
     Parameter("FromEmail", "String", False, "send as this address"),
     Parameter("ContentType", "String", False, "text (default) or html", "text"),
     Parameter("SaveToSentItems", "Boolean", False, "keep a copy in Sent Items", True),
     Parameter("MimeContent", "String", False,
               "the whole message as MIME (text or bytes), sent as Graph's MIME form instead"),
     _USER],
    _STATUS, _send_mail))

_MOVED = (ResultColumn("Id", "String", "the message's id in its new folder (a move changes it)"),
          ResultColumn("ParentFolderId", "String", "the destination folder's id"))
for _name, _action, _what in (("MoveMail", "move", "Moves"), ("CopyMail", "copy", "Copies")):
    register(Procedure(
        _name, f"{_what} a message to another mail folder.",
        [_MESSAGE,
         Parameter("DestinationId", "String", True,
                   "a folder id, a well-known name ('Archive', 'Inbox') or a folder's name"),
         _USER],
        _MOVED, _move_or_copy(_action, _name)))

register(Procedure("ForwardMail", "Forwards a message with a comment.", [
    _MESSAGE, Parameter("ToRecipients", "String", True, "addresses separated by ';'"),
    Parameter("Comment", "String"), _USER], _STATUS, _forward))
register(Procedure("ReplyToMessage", "Replies to the sender of a message, or to all its "
                   "recipients.", [
                       _MESSAGE, Parameter("Comment", "String", False, "the reply's text"),
                       Parameter("ReplyAll", "Boolean", False, "reply to every recipient", False),
                       _USER], _STATUS, _reply))

register(Procedure(
    "CreateFolder", "Creates a mail folder at the top of the mailbox or under ParentFolderId.",
    [Parameter("DisplayName", "String", True, "the folder's name"),
     Parameter("ParentFolderId", "String", False, "a folder id or well-known name"),
     Parameter("IsHidden", "Boolean", False, "create it hidden", False), _USER],
    (ResultColumn("Id", "String"), ResultColumn("DisplayName", "String")), _create_folder))

register(Procedure(
    "CreateDraftFromMime", "Creates a draft from a whole MIME message (Graph's MIME form).",
    [Parameter("MimeContent", "String", True, "the message as MIME (text or bytes)"), _USER],
    (ResultColumn("Id", "String"), ResultColumn("Subject", "String")), _draft_from_mime))
register(Procedure(
    "DownloadEmail", "Downloads a message as MIME (/$value): as a row, or to a file.",
    [_MESSAGE, Parameter("DownloadLocation", "String", False, "a folder to write the file to"),
     Parameter("FileName", "String", False, "the file's name (default message.eml)"), _USER],
    (ResultColumn("Id", "String"), ResultColumn("Content", "Binary", "the MIME bytes"),
     ResultColumn("FilePath", "String", "the file written (with DownloadLocation)")),
    _download_email))
