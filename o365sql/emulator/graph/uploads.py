"""Upload sessions for large attachments (emulator service stage).

``POST .../messages/{id}/attachments/createUploadSession`` (and the same on events) with
``{"AttachmentItem": {"attachmentType": "file", "name", "size", "contentType"?, "isInline"?}}``
answers 201 with an ``uploadSession``: ``uploadUrl``, ``expirationDateTime`` and
``nextExpectedRanges: ["0-"]`` (attachment-createuploadsession.md). The client then PUTs the
bytes to ``uploadUrl`` in slices of at most 4 MiB, each with ``Content-Range: bytes
start-end/size`` and no ``Authorization`` header (the URL carries its own token; Outlook
answers 401 to a PUT that has one, outlook-large-attachments.md). Each slice but the last is
answered 200 with the next expected range; the last adds the attachment to the item and is
answered 201 with its URL in ``Location``. A slice that does not start where the previous one
ended is 416; ``DELETE uploadUrl`` cancels the session (204). Attachments of 3 MB to 150 MB
take this path (a POST of the attachment itself is limited to 3 MB).

The upload URL lives outside the Graph version root, as Outlook's does
(``/api/v2.0/AttachmentSessions/{token}`` on the emulator's host); the router hands such
requests to ``GraphService.upload``.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import GraphError
from ..server.wire import EmuResponse

if TYPE_CHECKING:
    from ..tenant.tenant import Tenant
    from .context import Ctx

__all__ = ["MAX_SLICE", "UPLOAD_PREFIX", "UploadStore"]

#: Largest slice one PUT may carry (outlook-large-attachments.md: "up to 4 MB").
MAX_SLICE = 4 * 1024 * 1024
#: Smallest and largest attachment an upload session takes.
MIN_SIZE, MAX_SIZE = 3 * 1024 * 1024, 150 * 1024 * 1024
UPLOAD_PREFIX = "/api/v2.0/AttachmentSessions/"
LIFETIME = 15 * 60  # seconds a session lives without progress (inferred)
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


@dataclass
class _Session:
    mailbox: str  # the mailbox owner's user id
    kind: str  # "message" or "event"
    item: str  # the message or event id
    item_url: str  # the item's Graph URL, for the Location of the finished attachment
    attachment: dict[str, Any]
    expires: float
    data: bytearray = field(default_factory=bytearray)


class UploadStore:
    """The open upload sessions of one emulator, by their secret token."""

    def __init__(self, tenant: Tenant, root_url: str) -> None:
        self.tenant = tenant
        self.root_url = root_url.rstrip("/")
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def create(self, ctx: Ctx, mailbox: str, kind: str, item: str, item_url: str,
               body: dict[str, Any]) -> EmuResponse:
        spec = body.get("AttachmentItem") or body.get("attachmentItem")
        if not isinstance(spec, dict):
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'AttachmentItem' is empty.")
        if str(spec.get("attachmentType", "file")).lower() != "file":
            raise GraphError(400, "ErrorInvalidParameter", "Only file attachments can be uploaded in a session.")
        name, size = spec.get("name"), spec.get("size")
        if not isinstance(name, str) or not name or not isinstance(size, int) or isinstance(size, bool):
            raise GraphError(400, "ErrorInvalidParameter", "The attachment item needs a name and a size.")
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise GraphError(400, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                             "Attachment size must be between 3 MB and 150 MB for an upload session.")
        token = secrets.token_urlsafe(24)
        now = self.tenant.now()
        with self._lock:
            self._sessions[token] = _Session(
                mailbox, kind, item, item_url,
                {"name": name, "size": size, "contentType": spec.get("contentType"),
                 "isInline": bool(spec.get("isInline")), "contentId": spec.get("contentId")},
                now + LIFETIME)
        return EmuResponse(201, {
            "@odata.context": f"{ctx.base}/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": f"{self.root_url}{UPLOAD_PREFIX}{token}",
            "expirationDateTime": _iso(now + LIFETIME),
            "nextExpectedRanges": ["0-"]})

    def put(self, token: str, method: str, headers: dict[str, str], body: bytes,
            finish: Any) -> EmuResponse:
        """One request to an upload URL. ``finish(session_facts, data)`` adds the attachment
        when the last slice arrives and returns its Graph URL."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None or session.expires < self.tenant.now():
                self._sessions.pop(token, None)
                raise GraphError(404, "ErrorItemNotFound", "The upload session was not found or has expired.")
            if method == "DELETE":
                del self._sessions[token]
                return EmuResponse(204)
            if method != "PUT":
                raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
            if "authorization" in headers:
                raise GraphError(401, "InvalidAuthenticationToken",
                                 "The upload URL carries its own token: send no Authorization header.")
            match = _RANGE.match(headers.get("content-range", "").strip())
            if match is None:
                raise GraphError(400, "InvalidContentRange", "The Content-Range header is missing or malformed.")
            start, end, total = (int(g) for g in match.groups())
            size = session.attachment["size"]
            if total != size or end < start or end - start + 1 != len(body):
                raise GraphError(400, "InvalidContentRange",
                                 "The Content-Range does not match the body or the session's size.")
            if len(body) > MAX_SLICE:
                raise GraphError(413, "RequestEntityTooLarge", "A slice may carry at most 4 MB.")
            if start != len(session.data):
                raise GraphError(416, "InvalidRange",
                                 f"The expected range starts at {len(session.data)}.")
            session.data.extend(body)
            session.expires = self.tenant.now() + LIFETIME
            if len(session.data) < size:
                return EmuResponse(200, {"expirationDateTime": _iso(session.expires),
                                         "nextExpectedRanges": [str(len(session.data))]})
            del self._sessions[token]
        facts = {**session.attachment, "contentBytes": base64.b64encode(bytes(session.data)).decode("ascii")}
        location = finish(session.mailbox, session.kind, session.item, session.item_url, facts)
        return EmuResponse(201, None, {"Location": location})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
