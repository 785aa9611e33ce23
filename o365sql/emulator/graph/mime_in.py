"""MIME request bodies (emulator service stage): a message given as MIME instead of JSON.

Graph takes a whole message as MIME, base64-encoded, in a request with ``Content-Type:
text/plain`` when creating a draft (``POST /me/messages``, user-post-messages.md) and when
sending (``POST /me/sendMail``, user-sendmail.md); a body that is not base64 is refused with
400 ``ErrorMimeContentInvalidBase64String`` "Invalid base64 string for MIME content."
(graph-semantics §9). ``message_from_mime`` turns such a body into the JSON message the routes
already create, so MIME and JSON drafts are the same items afterwards.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import email.utils
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from ..errors import GraphError

if TYPE_CHECKING:
    from .context import Ctx

__all__ = ["is_mime", "message_from_mime"]



def _invalid() -> GraphError:
    return GraphError(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")


def is_mime(ctx: Ctx) -> bool:
    """True when the request carries a MIME message (``Content-Type: text/plain``)."""
    return ctx.req.headers.get("content-type", "").split(";")[0].strip().lower() == "text/plain"


def message_from_mime(ctx: Ctx) -> dict[str, Any]:
    """The JSON message (subject, body, recipients, sender, headers, file attachments) of the
    request's base64 MIME body."""
    raw = b"".join((ctx.req.body or b"").split())  # base64 may be wrapped in lines
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not data.strip():
        raise _invalid()
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    message: dict[str, Any] = {"subject": str(parsed.get("Subject") or "")}
    for header, key in (("To", "toRecipients"), ("Cc", "ccRecipients"), ("Bcc", "bccRecipients"),
                        ("Reply-To", "replyTo")):
        found = _addresses(parsed, header)
        if found:
            message[key] = found
    sender = _addresses(parsed, "From")
    if sender:
        message["from"] = sender[0]
    if parsed.get("Message-ID"):
        message["internetMessageId"] = str(parsed["Message-ID"]).strip()
    custom = [{"name": k, "value": str(v)} for k, v in parsed.items() if k.lower().startswith("x-")]
    if custom:
        message["internetMessageHeaders"] = custom
    part = parsed.get_body(preferencelist=("html", "plain"))
    if part is not None:
        kind = "html" if part.get_content_subtype() == "html" else "text"
        message["body"] = {"contentType": kind, "content": str(part.get_content())}
    attachments = []
    for item in parsed.iter_attachments():
        decoded = item.get_payload(decode=True)
        content = decoded if isinstance(decoded, bytes) else b""
        attachments.append({"@odata.type": "#microsoft.graph.fileAttachment",
                            "name": item.get_filename() or "attachment",
                            "contentType": item.get_content_type(),
                            "contentBytes": base64.b64encode(content).decode("ascii")})
    if attachments:
        message["attachments"] = attachments
    return message


def _addresses(parsed: EmailMessage, header: str) -> list[dict[str, Any]]:
    values = [str(v) for v in parsed.get_all(header, [])]
    return [{"emailAddress": {"name": name or address, "address": address}}
            for name, address in email.utils.getaddresses(values) if address]
