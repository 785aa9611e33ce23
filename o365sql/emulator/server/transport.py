"""The emulator's own view of one HTTP exchange, before it is split into Graph and identity work.

Stage: ``server.py`` parses the wire into an ``HttpRequest``; the identity endpoints and the
test-control endpoints answer with an ``HttpResponse``, which the server encodes and writes in
one send. (The Graph side speaks ``wire.EmuRequest``/``wire.EmuResponse`` instead.)
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class HttpRequest:
    """One parsed request. ``path`` is percent-decoded; ``query`` is the raw query string."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    base_url: str  # scheme://host:port as the client addressed us (from the Host header)

    def query_params(self) -> dict[str, str]:
        """Query parameters, first value wins (as Entra reads them)."""
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            out.setdefault(key, value)
        return out

    def form(self) -> dict[str, str]:
        """The form-encoded body (``application/x-www-form-urlencoded``), first value wins."""
        out: dict[str, str] = {}
        text = self.body.decode("utf-8", errors="replace")
        for key, value in parse_qsl(text, keep_blank_values=True):
            out.setdefault(key, value)
        return out

    def json(self) -> Any:
        """The JSON body (empty body → empty dict); raises ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body)

    def cookies(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in self.headers.get("cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                out[name] = value
        return out


@dataclass
class HttpResponse:
    """An answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    # Entra sends no-store on every token-endpoint answer (RFC 6749 §5.1).
    hdrs = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
    hdrs.update(headers or {})
    return HttpResponse(status, body, JSON_TYPE, hdrs)


def html_response(status: int, page: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
    hdrs = {"Cache-Control": "no-store, no-cache"}
    hdrs.update(headers or {})
    return HttpResponse(status, page.encode("utf-8"), HTML_TYPE, hdrs)


def redirect(location: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
    hdrs = {"Location": location, "Cache-Control": "no-store, no-cache"}
    hdrs.update(headers or {})
    return HttpResponse(302, b"", "text/html; charset=utf-8", hdrs)


def add_query(url: str, params: Mapping[str, str]) -> str:
    """Append parameters to a URL that may already have a query."""
    sep = "&" if "?" in url else "?"
    return url + sep + urlencode(params)


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class Outcome:
    """What the server writes: the response, and whether to cut it off (drop fault)."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    trickle: float = 0.0  # seconds between bytes (trickle fault)
