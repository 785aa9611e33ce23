"""Fixtures for the command-line tests: one emulator per session (real HTTPS on loopback), the
connection properties of its first user (a token minted by the emulator, as its token endpoint
would sign it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from o365sql.emulator import Emulator


@pytest.fixture(scope="session")
def emu() -> Iterator[Any]:
    with Emulator(seed=5, users=3, messages_per_user=40, events_per_user=12,
                  contacts_per_user=6, groups=2) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def token(emu: Any) -> str:
    return str(emu.mint_token(user=emu.users[0], lifetime=3600))


@pytest.fixture(scope="session")
def conn_props(emu: Any, token: str) -> dict[str, str]:
    """Connection properties for the emulator's first user."""
    return {"GraphURL": emu.graph_url, "AuthorityURL": emu.base_url,
            "AzureTenant": emu.tenant_id, "SSLServerCert": emu.ca_path,
            "OAuthAccessToken": token, "InitiateOAuth": "OFF"}


@pytest.fixture
def p_args(conn_props: dict[str, str]) -> list[str]:
    """The same properties as ``-p Key=Value`` arguments."""
    out: list[str] = []
    for key, value in conn_props.items():
        out += ["-p", f"{key}={value}"]
    return out


@pytest.fixture
def cli_env(tmp_path: Any) -> dict[str, str]:
    """An environment without the user's own settings (token file, history) in the way."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"),
            "O365SQL_HISTORY": str(tmp_path / "history")}
