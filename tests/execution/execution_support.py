"""Helpers of the execution tests: a connection to the emulator with a delegated token, and the
rows of a statement as plain tuples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import o365sql
from o365sql.emulator import Emulator

SCOPES = ["Mail.Read", "User.Read.All", "Calendars.Read", "Contacts.Read", "Group.Read.All"]


def connect(emu: Emulator, token: str | None = None, **props: Any) -> Any:
    """A connection to ``emu``; without ``token``, the first user's with ``SCOPES``."""
    if token is None:
        token = emu.mint_token(user=emu.users[0], scopes=SCOPES)
    return o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                           AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                           OAuthAccessToken=token, **props)


def rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


@contextmanager
def on_and_off(emu: Emulator, token: str | None = None, **props: Any
               ) -> Iterator[tuple[Any, Any]]:
    """Two connections with one token: pushdown on, and off (the reference answer)."""
    on, off = connect(emu, token, **props), connect(emu, token, Pushdown=False, **props)
    try:
        yield on, off
    finally:
        on.close()
        off.close()
