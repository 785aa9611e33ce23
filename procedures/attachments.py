"""The attachment procedures, with CData's names: AddAttachments, DownloadAttachments,
DeleteAttachment.

Stage: procedure calls → Graph client. AddAttachments posts a ``fileAttachment`` to a message
or an event (https://learn.microsoft.com/graph/api/message-post-attachments,
event-post-attachments) from a file, base64 text or bytes; Graph takes under 3 MB that way, so
a larger file (up to 150 MB) goes through an upload session (attachment-createuploadsession.md,
outlook-large-attachments.md): created on the item, then PUT in slices of under 4 MB. DownloadAttachments reads each
attachment's raw bytes from ``/attachments/{id}/$value`` (attachment-get.md) and either writes
them to files in a folder or returns them as rows. DeleteAttachment deletes one.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

from o365sql.procedures import Parameter, Procedure, ResultColumn, register

from o365sql.exceptions import NotSupportedError, OperationalError, ProgrammingError
from o365sql.graph.request import GraphRequest

from ._graph_calls import USER_ID_DOC, call, file_content, item, mailbox

__all__ = ["MAX_SIMPLE_ATTACHMENT"]

#: The largest attachment Graph takes in one POST (message-post-attachments.md: "under 3 MB").
MAX_SIMPLE_ATTACHMENT = 3 * 1024 * 1024
#: The largest an upload session takes (attachment-createuploadsession.md: 150 MB).
MAX_UPLOAD = 150 * 1024 * 1024
#: Bytes per PUT of an upload session: at most 4 MB each (outlook-large-attachments.md); a
#: multiple of 320 KiB, the slice unit Microsoft's upload sessions are built on.
SLICE = 12 * 320 * 1024
_USER = Parameter("UserId", "String", False, USER_ID_DOC)
_KIND = Parameter("DestinationType", "String", False, "Message (default) or Event", "Message")
_COLLECTIONS = {"message": "messages", "messages": "messages", "event": "events",
                "events": "events"}


def _owner(context: Any, args: dict[str, Any], procedure: str) -> str:
    kind = str(args.get("DestinationType") or "Message").strip().lower()
    collection = _COLLECTIONS.get(kind)
    if collection is None:
        raise ProgrammingError(f"procedure {procedure}: @DestinationType is Message or Event, "
                               f"not {args.get('DestinationType')!r}")
    base = mailbox(context, procedure, args["UserId"])
    return f"{base}/{collection}/{item(args['Id'], procedure)}/attachments"


def _add(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    import base64

    name = args.get("FileName")
    if not isinstance(name, str) or not name.strip():
        raise ProgrammingError("procedure AddAttachments needs @FileName")
    data = file_content("AddAttachments", local_file=args.get("LocalFile"),
                        content_bytes=args.get("ContentBytes"), content=args.get("Content"))
    if len(data) > MAX_UPLOAD:
        raise NotSupportedError(f"procedure AddAttachments: {name} is {len(data)} bytes; Graph "
                                "takes attachments of at most 150 MB")
    if len(data) >= MAX_SIMPLE_ATTACHMENT:
        return [_upload(context, args, name, data)]
    body: dict[str, Any] = {"@odata.type": "#microsoft.graph.fileAttachment", "name": name,
                            "contentBytes": base64.b64encode(data).decode("ascii"),
                            "isInline": bool(args.get("IsInline") or False)}
    if args.get("ContentType"):
        body["contentType"] = str(args["ContentType"])
    added = call(context, "POST", _owner(context, args, "AddAttachments"), body) or {}
    return [(added.get("id"), added.get("name"), added.get("contentType"), added.get("size"),
             added.get("lastModifiedDateTime"))]


def _upload(context: Any, args: dict[str, Any], name: str, data: bytes) -> tuple[Any, ...]:
    """A large file through an upload session: create it, PUT the slices, read the result."""
    owner = _owner(context, args, "AddAttachments")
    item = {"attachmentType": "file", "name": name, "size": len(data),
            "isInline": bool(args.get("IsInline") or False)}
    if args.get("ContentType"):
        item["contentType"] = str(args["ContentType"])
    session = call(context, "POST", f"{owner}/createUploadSession", {"AttachmentItem": item}) or {}
    url = session.get("uploadUrl")
    if not isinstance(url, str):
        raise OperationalError("procedure AddAttachments: Graph's upload session has no uploadUrl")
    location = None
    for start in range(0, len(data), SLICE):
        status, answer, headers = context.graph.upload_slice(url, data[start:start + SLICE],
                                                             start, len(data))
        expected = (answer or {}).get("nextExpectedRanges") if status == 200 else None
        if expected and not str(expected[0]).startswith(str(start + SLICE)):
            raise OperationalError(f"procedure AddAttachments: the upload session expects "
                                   f"{expected[0]} after bytes {start}-{start + SLICE - 1}")
        location = headers.get("Location")
    found = re.search(r"attachments\('([^']+)'\)", location or "")
    if found is None:
        raise OperationalError("procedure AddAttachments: the finished upload names no attachment")
    added = call(context, "GET", f"{owner}/{quote(found.group(1), safe='')}") or {}
    return (added.get("id"), added.get("name"), added.get("contentType"), added.get("size"),
            added.get("lastModifiedDateTime"))


def _download(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    path = _owner(context, args, "DownloadAttachments")
    wanted = args.get("AttachmentId")
    listing = context.graph.send(GraphRequest(
        "GET", path, params=(("$select", "id,name,contentType,size"),))) or {}
    found = [a for a in listing.get("value", []) if not wanted or a.get("id") == wanted]
    if wanted and not found:
        raise ProgrammingError(f"procedure DownloadAttachments: the item has no attachment "
                               f"{wanted!r}")
    folder = args.get("DownloadLocation")
    if folder is not None:
        folder = os.fspath(folder)
        if not os.path.isdir(folder):
            raise ProgrammingError(f"procedure DownloadAttachments: @DownloadLocation {folder!r} "
                                   "is not a folder")
    rows: list[tuple[Any, ...]] = []
    for attachment in found:
        data = b"".join(context.graph.download(GraphRequest(
            "GET", f"{path}/{quote(str(attachment['id']), safe='')}/$value")))
        target = None
        if folder is not None:
            target = _free_name(folder, str(attachment.get("name") or attachment["id"]),
                                bool(args.get("Overwrite")))
            with open(target, "wb") as handle:
                handle.write(data)
        rows.append((attachment.get("id"), attachment.get("name"), attachment.get("contentType"),
                     len(data), data if folder is None else None, target))
    return rows


def _free_name(folder: str, name: str, overwrite: bool) -> str:
    """A path in ``folder`` for ``name``: never outside it, numbered when taken."""
    safe = os.path.basename(name.replace("\\", "/")) or "attachment"
    stem, ext = os.path.splitext(safe)
    target = os.path.join(folder, safe)
    number = 1
    while not overwrite and os.path.exists(target):
        target = os.path.join(folder, f"{stem} ({number}){ext}")
        number += 1
    return target


def _delete(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    attachment = item(args.get("AttachmentId"), "DeleteAttachment", "AttachmentId")
    call(context, "DELETE", f"{_owner(context, args, 'DeleteAttachment')}/{attachment}")
    return [("Success",)]


register(Procedure(
    "AddAttachments", "Adds a file attachment to a message or an event (upload sessions for "
    "files of 3 MB and more, up to 150 MB).",
    [Parameter("Id", "String", True, "the message or event"), _KIND,
     Parameter("FileName", "String", True, "the attachment's name"),
     Parameter("LocalFile", "String", False, "path of the file to attach"),
     Parameter("ContentBytes", "String", False, "the content, base64"),
     Parameter("Content", "Binary", False, "the content, bytes"),
     Parameter("ContentType", "String", False, "its MIME type"),
     Parameter("IsInline", "Boolean", False, "an inline attachment", False), _USER],
    (ResultColumn("Id", "String"), ResultColumn("Name", "String"),
     ResultColumn("ContentType", "String"), ResultColumn("Size", "Integer"),
     ResultColumn("LastModifiedDateTime", "String")), _add))
register(Procedure(
    "DownloadAttachments", "Downloads the attachments of a message or an event, to files in a "
    "folder or as rows with their content.",
    [Parameter("Id", "String", True, "the message or event"), _KIND,
     Parameter("AttachmentId", "String", False, "only this attachment"),
     Parameter("DownloadLocation", "String", False,
               "a folder to write the files to; without it the content comes back as rows"),
     Parameter("Overwrite", "Boolean", False, "replace files of the same name", False), _USER],
    (ResultColumn("Id", "String"), ResultColumn("Name", "String"),
     ResultColumn("ContentType", "String"), ResultColumn("Size", "Integer"),
     ResultColumn("Content", "Binary", "the bytes (when no DownloadLocation)"),
     ResultColumn("FilePath", "String", "the file written (with DownloadLocation)")),
    _download))
register(Procedure(
    "DeleteAttachment", "Deletes an attachment of a message or an event.",
    [Parameter("Id", "String", True, "the message or event"), _KIND,
     Parameter("AttachmentId", "String", True, "the attachment"), _USER],
    (ResultColumn("Status", "String"),), _delete))
