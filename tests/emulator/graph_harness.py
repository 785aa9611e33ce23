"""In-process harness for the Graph service tests: a seeded tenant and ``GraphService.handle``
called with hand-made ``EmuRequest``s (errors turned into Graph's status/JSON as the server does)."""

from __future__ import annotations

import json
from typing import Any

from o365sql.emulator.errors import GraphError
from o365sql.emulator.graph.service import GraphService
from o365sql.emulator.server.wire import EmuRequest, Principal
from o365sql.emulator.tenant.build import build_tenant

BASE = "https://emu.test/v1.0"
ALL = frozenset({"Mail.ReadWrite", "Mail.Send", "User.Read", "Calendars.ReadWrite", "Contacts.ReadWrite",
                 "User.ReadBasic.All", "Group.Read.All"})


class Client:
    def __init__(self, seed: int = 1, **options: Any) -> None:
        self.tenant = build_tenant(seed=seed, **options)
        self.service = GraphService(self.tenant, BASE)

    def principal(self, user: int | None = 0, scopes: frozenset[str] = ALL, roles: frozenset[str] = frozenset()) -> Principal:
        uid = self.tenant.users[user]["id"] if user is not None else None
        return Principal("client", uid, scopes if user is not None else frozenset(), roles)

    def call(self, method: str, path: str, query: str = "", body: Any = None, headers: dict[str, str] | None = None,
             principal: Principal | None = None, raw: bytes | None = None,
             **who: Any) -> tuple[int, Any, dict[str, str]]:
        """One request; ``body`` is sent as JSON, ``raw`` as given (a MIME body)."""
        if raw is None:
            raw = json.dumps(body).encode() if body is not None else b""
        req = EmuRequest(method, path, query, {k.lower(): v for k, v in (headers or {}).items()}, raw,
                         principal or self.principal(**who), "req-1")
        try:
            r = self.service.handle(req)
            return r.status, r.body, r.headers
        except GraphError as e:
            return e.status, e.body("req-1"), e.headers


def code(body: Any) -> str:
    return str(body["error"]["code"])
