"""Helpers of the write tests: connections to the emulator and statement results as tuples."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import o365sql
from o365sql.emulator import Emulator

WRITE_SCOPES = ["Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite", "Contacts.ReadWrite",
                "User.Read.All"]


def connect(emu: Emulator, user: str | None, scopes: Sequence[str] | None,
            **props: Any) -> Any:
    """A connection as ``user`` with ``scopes``; ``user=None``: the demo app signing in with
    client credentials (through msal and the emulator's token endpoint), with its roles."""
    if user is None:
        credentials = {"AuthScheme": "AzureServicePrincipal", "AuthorityURL": emu.base_url,
                       "OAuthClientId": emu.app.client_id,
                       "OAuthClientSecret": emu.app.client_secret}
    else:
        credentials = {"AuthorityURL": emu.authority,
                       "OAuthAccessToken": emu.mint_token(user=user, scopes=list(scopes or ()))}
    return o365sql.connect(GraphURL=emu.graph_url, AzureTenant=emu.tenant_id,
                           SSLServerCert=emu.ca_path, **credentials, **props)


def rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


def tag() -> str:
    """A word no seeded item contains, to find what a test wrote."""
    return "t" + uuid.uuid4().hex[:10]
