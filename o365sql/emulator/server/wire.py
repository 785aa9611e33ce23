"""Values passed between the emulator's HTTP server and the services behind it.

The server (``server.py``) parses HTTP, checks the bearer token, applies limits and faults,
then hands an ``EmuRequest`` to the Graph service, which returns an ``EmuResponse``. Nothing
here is shared with o365sql's driver code.

INTERFACE CONTRACT between the server/identity side and the Graph side of the emulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote


def path_segments(raw_path: str) -> tuple[str, ...]:
    """The segments of a still percent-encoded path, each decoded on its own.

    A server routes on the path as sent: ``%2F`` inside a segment is part of that segment's
    value (an id), never a separator, and an encoded ``%2E%2E`` is a value, not a dot segment
    (RFC 3986 §3.3, §6.2.2.2). Decoding the whole path first and splitting it after would let
    a value reach another resource. Empty segments (``//``, a trailing ``/``) carry nothing.
    """
    return tuple(unquote(s, errors="strict") for s in raw_path.split("/") if s)


@dataclass(frozen=True)
class Principal:
    """Who a validated access token speaks for.

    ``user_id`` is the signed-in user's object id (None for app-only tokens); ``identity.scopes`` are the
    delegated scopes (``Mail.Read`` ...), ``roles`` the application roles (``Mail.Read`` ... for
    app-only tokens). ``client_id`` is the app the token was issued to.
    """

    client_id: str
    user_id: str | None
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    @property
    def app_only(self) -> bool:
        return self.user_id is None


@dataclass
class EmuRequest:
    """A Graph request after the server has authenticated it.

    ``path`` is the percent-decoded path below ``/v1.0`` (``/me/messages``), for display;
    ``segments`` are its segments decoded one by one (``path_segments``), which routes read;
    ``query`` is the raw, still-encoded query string; header names are lower-case.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    principal: Principal
    request_id: str
    limits: MailboxLimits | None = None
    faults: InnerFaults | None = None
    segments: tuple[str, ...] | None = None  # None: ``path`` holds no encoded separators

    def route_segments(self) -> tuple[str, ...]:
        """The path's segments as a router must see them."""
        if self.segments is not None:
            return self.segments
        return tuple(s for s in self.path.split("/") if s)


@dataclass
class EmuResponse:
    """What the server writes back (in one send)."""

    status: int
    body: Any = None  # dict/list → JSON; str/bytes → sent as is; None → empty body
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


class EncodedResponse(EmuResponse):
    """A JSON answer already encoded (a message listing built from cached item texts): the
    server sends ``encoded`` as it is; ``body`` is that JSON decoded, on first read only
    (``$batch`` embeds it; in-process callers read it)."""

    def __init__(self, status: int, encoded: bytes, headers: dict[str, str] | None = None) -> None:
        self.encoded = encoded
        self._decoded: Any = None
        super().__init__(status, None, dict(headers or {}))

    @property
    def body(self) -> Any:
        if self._decoded is None:
            self._decoded = json.loads(self.encoded)
        return self._decoded

    @body.setter
    def body(self, value: Any) -> None:
        self._decoded = value


class MailboxLimits(Protocol):
    """Outlook's per-mailbox limits, owned by the server; ``$batch`` applies them per inner request.

    ``enter`` returns None when the request may proceed (then ``leave`` must be called when it
    ends) or the Retry-After seconds of a 429 to answer with; ``admit`` returns that 429 itself
    (its code depends on which limit was hit).
    """

    def enter(self, mailbox: str) -> float | None: ...

    def admit(self, mailbox: str) -> Any:
        """Like ``enter``, but the refusal is the ``errors.GraphError`` (429) to answer with."""
        ...

    def leave(self, mailbox: str) -> None: ...


class InnerFaults(Protocol):
    """Injected faults, owned by the server; ``$batch`` applies them per inner request.

    ``before`` is called with an inner request's method and path (below ``/v1.0``) before it
    runs: it sleeps for injected latency and raises ``errors.GraphError`` for an injected failure.
    """

    def before(self, method: str, path: str) -> None: ...
