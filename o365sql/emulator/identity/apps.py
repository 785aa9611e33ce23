"""App registrations known to the emulator's identity platform.

Stage: identity. ``AppRegistry`` answers "which app is this client id, may it use this redirect
URI, which secrets and certificates does it hold, which Graph permissions is it configured
for". ``Emulator.register_app`` and ``POST /_emulator/apps`` add apps at run time.

Redirect URIs follow Entra's rules
(https://learn.microsoft.com/entra/identity-platform/reply-url): exact match, except that for
``http://localhost`` and ``http://127.0.0.1`` the port is ignored (native apps pick a free
port), and a registered ``http://127.0.0.1:*`` or ``http://localhost:*`` spells that out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import aadsts

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


@dataclass
class RegisteredApp:
    """One app registration. Secrets and keys are left out of ``repr``."""

    client_id: str
    name: str = "app"
    public: bool = False
    client_secrets: list[str] = field(default_factory=list, repr=False)
    certificates: list[bytes] = field(default_factory=list, repr=False)  # PEM public certs
    redirect_uris: list[str] = field(default_factory=list)
    delegated_scopes: list[str] = field(default_factory=list)  # Graph short names
    app_roles: list[str] = field(default_factory=list)  # granted application permissions
    cert_path: str | None = None
    key_path: str | None = None
    thumbprint: str | None = None  # SHA-1 hex of the first certificate

    @property
    def client_secret(self) -> str | None:
        return self.client_secrets[0] if self.client_secrets else None

    def redirect_allowed(self, uri: str) -> bool:
        return any(_redirect_matches(registered, uri) for registered in self.redirect_uris)

    def describe(self) -> dict[str, object]:
        """A JSON-friendly description without secrets or keys."""
        return {
            "client_id": self.client_id, "name": self.name, "public": self.public,
            "redirect_uris": list(self.redirect_uris),
            "delegated_scopes": list(self.delegated_scopes), "app_roles": list(self.app_roles),
            "certificates": len(self.certificates), "thumbprint": self.thumbprint,
        }


def _norm_path(path: str) -> str:
    return path if path not in ("", "/") else "/"


def _redirect_matches(registered: str, uri: str) -> bool:
    if registered == uri:
        return True
    try:
        reg, got = urlsplit(registered), urlsplit(uri)
        got_port = got.port  # raises ValueError for a bad port
    except ValueError:
        return False
    del got_port
    reg_host = (reg.hostname or "").lower()
    got_host = (got.hostname or "").lower()
    if reg.scheme != "http" or got.scheme != "http" or reg_host not in _LOOPBACK_HOSTS:
        return False
    # Loopback: any port, same host, same path and query (the port of the registration, even a
    # "*" placeholder, is ignored).
    return (
        reg_host == got_host
        and _norm_path(reg.path) == _norm_path(got.path)
        and reg.query == got.query
    )


class AppRegistry:
    """Thread-safe map of client id → ``RegisteredApp``."""

    def __init__(self, directory_name: str) -> None:
        self._apps: dict[str, RegisteredApp] = {}
        self._lock = threading.Lock()
        self._directory_name = directory_name

    def add(self, app: RegisteredApp) -> RegisteredApp:
        with self._lock:
            self._apps[app.client_id.lower()] = app
        return app

    def get(self, client_id: str | None) -> RegisteredApp:
        """The app, or ``AADSTS700016`` (unknown client) / ``AADSTS900144`` (no client id)."""
        if not client_id:
            raise aadsts.missing_parameter("client_id")
        with self._lock:
            app = self._apps.get(client_id.strip().lower())
        if app is None:
            raise aadsts.unknown_client(client_id, self._directory_name)
        return app

    def find(self, client_id: str | None) -> RegisteredApp | None:
        with self._lock:
            return self._apps.get((client_id or "").strip().lower())

    def all(self) -> list[RegisteredApp]:
        with self._lock:
            return list(self._apps.values())


def as_list(value: str | Iterable[str] | None) -> list[str]:
    """Accept one string (space separated) or an iterable of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value]
