"""Fixtures for the sign-in tests: one emulator over TLS with its own CA, the machine-wide CA
bundle in REQUESTS_CA_BUNDLE (as on our machines), and a scripted person at a browser who uses
the emulator's real sign-in pages (account picker, consent, form_post hand-back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from signin_browser import SYSTEM_BUNDLE, Browser

try:
    from o365sql.emulator import Emulator
except ImportError:  # the package's __init__ may not export it yet
    from o365sql.emulator.runtime import Emulator

from o365sql.auth import apps as auth_apps
from o365sql.properties import parse_properties


@pytest.fixture(scope="session")
def emu() -> Iterator[Any]:
    with Emulator(seed=7, users=4, messages_per_user=2, events_per_user=1,
                  contacts_per_user=1, groups=1) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _system_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    # REQUESTS_CA_BUNDLE overrides Session.verify in requests: the code under test must pass
    # the emulator's CA per request to work here.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)


@pytest.fixture(autouse=True)
def _identity_defaults(emu: Any) -> Iterator[None]:
    saved = emu.config.as_dict()
    yield
    emu.config.update(saved)


@pytest.fixture
def props(emu: Any, tmp_path: Any) -> Callable[..., Any]:
    """``props(**overrides)``: Properties for the emulator's confidential app."""

    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = {
            "oauth_client_id": emu.app.client_id,
            "oauth_client_secret": emu.app.client_secret,
            "authority_url": emu.base_url,
            "azure_tenant": emu.tenant_id,
            "graph_url": emu.graph_url,
            "ssl_server_cert": emu.ca_path,
            "oauth_settings_location": str(tmp_path / "tokens.json"),
        }
        values.update(overrides)
        return parse_properties(None, {k: v for k, v in values.items() if v is not None})

    return make


@pytest.fixture
def browser(emu: Any) -> Callable[..., Browser]:
    return lambda user=None, consent=True: Browser(emu, user, consent)


@pytest.fixture(autouse=True)
def _no_stray_apps() -> Iterator[None]:
    yield
    # Each test's apps are keyed by authority and credential; dropping them keeps msal's
    # per-app 400-response cache from carrying a failure into the next test.
    auth_apps.clear_registry()


@pytest.fixture
def stranger_pem(tmp_path: Any) -> Any:
    """A certificate and key no registered app knows (PEM file: certificate, then key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    path = tmp_path / "stranger.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return path

