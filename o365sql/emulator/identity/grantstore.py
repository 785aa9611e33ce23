"""What the identity platform remembers between requests: codes, refresh tokens, device codes,
browser sessions, consents, and the settings tests may change.

Stage: identity. The sign-in pages (``identity/signin.py``) create codes, sessions and consents; the token
endpoint (``identity/grants.py``) redeems codes, refresh tokens and device codes. All in memory, guarded
by one lock.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .tokens import b64url


@dataclass
class IdentityConfig:
    """Settings of the identity side; change them from Python or ``POST /_emulator/config``."""

    access_token_lifetime: int = 3599  # > 300, or msal refreshes on every silent call
    refresh_in: int | None = None  # emit Entra's "refresh_in" (proactive refresh) when set
    code_lifetime: float = 600.0
    refresh_token_lifetime: float = 90 * 86400.0  # inactivity lifetime, as Entra's 90 days
    rotate_refresh_tokens: bool = True
    device_interval: int = 1  # Entra says 5; 1 keeps device-flow tests fast
    device_code_lifetime: int = 900
    device_auto_approve_after: int | None = None  # approve for the first user after N polls
    signin: str = "page"  # "page": sign-in and consent pages; "auto": sign in login_hint at once
    require_consent: bool = True  # show the consent page until the user (or admin) consented
    reject_assertion_replay: bool = False  # msal reuses one assertion (same jti) for ~9 min

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise KeyError(f"unknown identity setting(s): {', '.join(unknown)}")
        for key, value in values.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user_oid: str
    graph: list[str]
    echo: list[str]
    oidc: set[str]
    nonce: str | None
    challenge: str | None
    challenge_method: str | None
    expires: float
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    user_oid: str
    graph: list[str]
    oidc: set[str]
    issued: float
    last_used: float


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    graph: list[str]
    echo: list[str]
    oidc: set[str]
    expires: float
    user_oid: str | None = None
    declined: bool = False
    polls: int = 0


@dataclass
class PendingSignIn:
    """An authorize request waiting for the person to pick a user and consent."""

    params: dict[str, str]
    tenant: str
    created: float
    user_oid: str | None = None
    device_code: str | None = None  # set when the page serves /devicelogin
    admin_consent: bool = False  # set when the page serves /adminconsent


@dataclass
class GrantStore:
    """All remembered grants; every method takes the lock."""

    config: IdentityConfig = field(default_factory=IdentityConfig)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh: dict[str, RefreshGrant] = field(default_factory=dict)
    devices: dict[str, DeviceGrant] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # cookie value → user oid
    pending: dict[str, PendingSignIn] = field(default_factory=dict)
    consents: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (oid, client) → scopes
    admin_consents: dict[str, set[str]] = field(default_factory=dict)  # client → scopes
    valid_from: dict[str, float] = field(default_factory=dict)  # user oid → revocation time
    seen_jti: dict[str, float] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- authorization codes ---------------------------------------------------------------

    def new_code(self, code: AuthCode) -> str:
        value = "1.EMU." + b64url(secrets.token_bytes(48))
        with self.lock:
            self._expire_codes()
            self.codes[value] = code
        return value

    def _expire_codes(self) -> None:
        now = time.time()
        for key in [k for k, c in self.codes.items() if c.expires < now - 600]:
            del self.codes[key]

    # -- refresh tokens --------------------------------------------------------------------

    def new_refresh(self, grant: RefreshGrant) -> str:
        value = "1.EMURT." + b64url(secrets.token_bytes(48))
        with self.lock:
            self.refresh[value] = grant
        return value

    def revoke(self, user_oid: str) -> None:
        """Invalidate every refresh token issued to the user until now (like revokeSignInSessions)."""
        with self.lock:
            self.valid_from[user_oid.lower()] = time.time()
            for session, oid in list(self.sessions.items()):
                if oid.lower() == user_oid.lower():
                    del self.sessions[session]

    # -- consent ---------------------------------------------------------------------------

    def consented(self, user_oid: str, client_id: str) -> set[str]:
        with self.lock:
            out = set(self.admin_consents.get(client_id.lower(), set()))
            out |= self.consents.get((user_oid.lower(), client_id.lower()), set())
            return out

    def grant_consent(self, user_oid: str, client_id: str, graph: list[str]) -> None:
        with self.lock:
            self.consents.setdefault((user_oid.lower(), client_id.lower()), set()).update(graph)

    def grant_admin_consent(self, client_id: str, graph: list[str]) -> None:
        with self.lock:
            self.admin_consents.setdefault(client_id.lower(), set()).update(graph)

    # -- browser sign-in -------------------------------------------------------------------

    def new_pending(self, pending: PendingSignIn) -> str:
        flow = b64url(secrets.token_bytes(18))
        with self.lock:
            now = time.time()
            for key in [k for k, p in self.pending.items() if p.created < now - 3600]:
                del self.pending[key]
            self.pending[flow] = pending
        return flow

    def new_session(self, user_oid: str) -> str:
        value = b64url(secrets.token_bytes(24))
        with self.lock:
            self.sessions[value] = user_oid
        return value

    # -- device codes ----------------------------------------------------------------------

    def new_device(self, grant: DeviceGrant) -> None:
        with self.lock:
            self.devices[grant.device_code] = grant

    def device_by_user_code(self, user_code: str) -> DeviceGrant | None:
        wanted = user_code.strip().upper().replace("-", "")
        with self.lock:
            for grant in self.devices.values():
                if grant.user_code == wanted:
                    return grant
        return None


def user_code() -> str:
    # Entra's user codes are 9 characters from an alphabet without look-alikes.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(9))
