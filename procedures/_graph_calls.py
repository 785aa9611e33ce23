"""What the action procedures share: the mailbox a call addresses, sending one Graph call, and
reading CData's list and file conventions.

Stage: procedure calls → Graph client. Not a procedure module (its name starts with ``_``, so
the registry does not import it as one).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import os
from typing import Any
from urllib.parse import quote

from o365sql.auth.settings import APP_ONLY_SCHEMES
from o365sql.exceptions import DataError, ProgrammingError
from o365sql.graph.request import GraphRequest

__all__ = ["USER_ID_DOC", "call", "date_time_zone", "file_content", "item", "mailbox", "recipients"]

USER_ID_DOC = ("the mailbox (a user id or userPrincipalName); default: the signed-in user "
               "(required with app-only sign-in)")


def mailbox(context: Any, procedure: str, user_id: Any) -> str:
    """``/me`` or ``/users/{UserId}`` for a call of ``procedure``."""
    if user_id is not None and str(user_id).strip() and str(user_id).lower() != "me":
        return "/users/" + quote(str(user_id).strip(), safe="")
    scheme = getattr(getattr(context, "properties", None), "auth_scheme", None)
    if isinstance(scheme, str) and scheme.lower() in {s.lower() for s in APP_ONLY_SCHEMES}:
        raise ProgrammingError(f"procedure {procedure}: an application signs in as no user; "
                               "give @UserId (a user id or userPrincipalName)")
    return "/me"


def item(value: Any, procedure: str, parameter: str = "Id") -> str:
    """An item id for a path, percent-encoded (ids hold ``/``, ``+``, ``=``)."""
    if not isinstance(value, str) or not value.strip():
        raise ProgrammingError(f"procedure {procedure} needs @{parameter} (an item id)")
    return quote(value.strip(), safe="")


def call(context: Any, method: str, path: str, body: Any = None) -> Any:
    """Send one Graph call through the connection's client; Graph's answer (None for 202/204)."""
    return context.graph.send(GraphRequest(method, path, body=body))


def recipients(value: Any, procedure: str, parameter: str) -> list[dict[str, Any]]:
    """CData's recipient lists: addresses separated by ``;`` (or ``,``), or the JSON array of
    recipients a SELECT returns (``[{"emailAddress":{"address":...}}]``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        import json

        try:
            parsed = json.loads(value)
        except ValueError:
            raise DataError(f"procedure {procedure}: @{parameter} is not valid JSON") from None
        if isinstance(parsed, list) and all(isinstance(p, dict) for p in parsed):
            return parsed
        raise DataError(f"procedure {procedure}: @{parameter} must be an array of recipients")
    if not isinstance(value, str):
        raise DataError(f"procedure {procedure}: @{parameter} takes addresses separated by ';'")
    found = [a.strip() for a in value.replace(",", ";").split(";") if a.strip()]
    return [{"emailAddress": {"address": address}} for address in found]


def file_content(procedure: str, *, local_file: Any = None, content_bytes: Any = None,
                 content: Any = None) -> bytes:
    """An attachment's bytes from ``@LocalFile`` (a path), ``@ContentBytes`` (base64 text) or
    ``@Content`` (bytes), exactly one of them."""
    given = [v for v in (local_file, content_bytes, content) if v is not None]
    if len(given) != 1:
        raise ProgrammingError(f"procedure {procedure} needs exactly one of @LocalFile, "
                               "@ContentBytes (base64) and @Content (bytes)")
    if local_file is not None:
        path = os.fspath(local_file)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise ProgrammingError(f"procedure {procedure}: cannot read @LocalFile "
                                   f"{path!r}: {exc.strerror}") from None
    if content_bytes is not None:
        if isinstance(content_bytes, (bytes, bytearray)):
            return bytes(content_bytes)
        try:
            return base64.b64decode(str(content_bytes), validate=True)
        except (binascii.Error, ValueError):
            raise DataError(f"procedure {procedure}: @ContentBytes is not base64") from None
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    raise DataError(f"procedure {procedure}: @Content must be bytes")


def date_time_zone(value: Any, zone: Any, procedure: str, parameter: str) -> dict[str, str]:
    """A Graph ``dateTimeTimeZone`` from a datetime (or ISO text) and a zone (default UTC)."""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise DataError(f"procedure {procedure}: @{parameter} must be an ISO 8601 "
                            "datetime") from None
    if not isinstance(value, _dt.datetime):
        raise DataError(f"procedure {procedure}: @{parameter} must be a datetime")
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        zone = zone or "UTC"
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": str(zone or "UTC")}
