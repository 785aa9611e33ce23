"""Fixtures for the SQLAlchemy and pandas tests: one emulator per session (real HTTPS on
loopback), an engine on ``o365sql://`` signed in as its first user, and a raw DB-API connection
for comparing results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import o365sql
from o365sql.emulator import Emulator


@pytest.fixture(scope="session")
def emu() -> Iterator[Any]:
    with Emulator(seed=11, users=3, messages_per_user=30, events_per_user=10,
                  contacts_per_user=5, groups=2) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def props(emu: Any) -> dict[str, str]:
    return {"GraphURL": emu.graph_url, "AuthorityURL": emu.base_url,
            "SSLServerCert": emu.ca_path}


@pytest.fixture(scope="session")
def token(emu: Any) -> str:
    return str(emu.mint_token(user=emu.users[0], lifetime=3600))


@pytest.fixture(scope="session")
def url(emu: Any, props: dict[str, str]) -> sa.URL:
    return sa.URL.create("o365sql", host=emu.tenant_id, query=props)


@pytest.fixture
def engine(url: sa.URL, token: str) -> Iterator[sa.Engine]:
    # The token goes in connect_args: the URL's query string shows in repr(engine).
    eng = sa.create_engine(url, connect_args={"OAuthAccessToken": token})
    yield eng
    eng.dispose()


@pytest.fixture
def raw(emu: Any, props: dict[str, str], token: str) -> Iterator[o365sql.Connection]:
    conn = o365sql.connect(AzureTenant=emu.tenant_id, OAuthAccessToken=token, **props)
    yield conn
    conn.close()
