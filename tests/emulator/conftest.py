"""Fixtures for the emulator's tests: one running emulator per session, sessions that trust its CA
per request, and msal app builders.

``reset_emulator`` (autouse) puts faults, limits, identity settings and the log back after every
test, so tests that change them do not leak into each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import msal
import pytest
import requests

from o365sql.emulator import Emulator
from o365sql.emulator.identity.browser import SignInBrowser
from o365sql.emulator.identity.grantstore import IdentityConfig
from o365sql.emulator.server.limits import LimitSettings

GRAPH_SCOPES = ["https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/User.Read"]
DEFAULT_SCOPE = ["https://graph.microsoft.com/.default"]


class PinnedCASession(requests.Session):
    """Trusts one CA per request: per-request ``verify`` beats ``REQUESTS_CA_BUNDLE``."""

    def __init__(self, ca_path: str, timeout: float = 30) -> None:
        super().__init__()
        self.verify = ca_path
        self._timeout = timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=1, port=0) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def reset_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emu" not in request.fixturenames:
        return
    emulator = request.getfixturevalue("emu")
    if not isinstance(emulator, Emulator):
        return
    emulator.faults.clear()
    defaults = LimitSettings()
    emulator.limits.configure(**{f.name: getattr(defaults, f.name) for f in fields(defaults)})
    emulator.limits.reset()
    config = IdentityConfig()
    emulator.config.update(config.as_dict())


@pytest.fixture
def http(emu: Emulator) -> Iterator[PinnedCASession]:
    session = PinnedCASession(emu.ca_path)
    yield session
    session.close()


@pytest.fixture
def sessions(emu: Emulator) -> Iterator[Any]:
    """Factory of ``PinnedCASession``s, all closed after the test."""
    made: list[PinnedCASession] = []

    def build() -> PinnedCASession:
        made.append(PinnedCASession(emu.ca_path))
        return made[-1]

    yield build
    for session in made:
        session.close()


@pytest.fixture
def browsers(emu: Emulator, sessions: Any) -> Any:
    """Factory of scripted browsers (each with its own cookie jar)."""
    return lambda: SignInBrowser(emu.ca_path, sessions())


@pytest.fixture
def make_cca(emu: Emulator, sessions: Any) -> Any:
    """Factory of fresh confidential clients: ``make_cca(credential=..., client_id=..., authority=...)``."""

    def build(credential: Any = None, client_id: str | None = None,
              authority: str | None = None) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            client_id or emu.app.client_id,
            client_credential=credential if credential is not None else emu.app.client_secret,
            authority=authority or emu.authority, instance_discovery=False,
            http_client=sessions(), token_cache=msal.SerializableTokenCache(),
        )

    return build


@pytest.fixture
def make_pca(emu: Emulator, sessions: Any) -> Any:
    """Factory of fresh public clients: ``make_pca(client_id=...)``."""

    def build(client_id: str | None = None) -> msal.PublicClientApplication:
        return msal.PublicClientApplication(
            client_id or emu.public_app.client_id, authority=emu.authority,
            instance_discovery=False, http_client=sessions(),
            token_cache=msal.SerializableTokenCache(),
        )

    return build
