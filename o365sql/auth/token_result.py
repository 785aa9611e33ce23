"""A token obtained from the identity platform, and o365sql's record of the last one.

Stage: sign-in results. Every grant (silent refresh, browser, device code, code redemption,
refresh-token redemption) ends in ``TokenResult.from_msal``; the providers hand its
``access_token`` to the Graph client and the OAuth procedures turn it into their result row.
``remember`` writes it into the token store's ``last_tokens`` record, which says which account
the store belongs to and lets ``InitiateOAuth=REFRESH`` find its refresh token.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from o365sql.auth.store import StoreState

__all__ = ["TokenResult", "home_account_id", "remember"]


def home_account_id(result: Mapping[str, Any]) -> str | None:
    """msal's account key ``<uid>.<utid>`` from a token response's ``client_info``."""
    info = result.get("client_info")
    if not isinstance(info, str):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(info + "=" * (-len(info) % 4)))
    except ValueError:
        return None
    if "uid" in data and "utid" in data:
        return f"{data['uid']}.{data['utid']}"
    return None


@dataclass(frozen=True, repr=False)
class TokenResult:
    """An access token with what is known about it. ``repr`` shows no token."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    scope: str = ""
    username: str | None = None
    home_account_id: str | None = None
    source: str = "identity_provider"

    @classmethod
    def from_msal(cls, result: Mapping[str, Any], *, username: str | None = None,
                  account_id: str | None = None) -> TokenResult:
        claims = result.get("id_token_claims") or {}
        try:
            lifetime = float(result.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        return cls(
            access_token=str(result["access_token"]),
            expires_at=time.time() + (lifetime if lifetime > 0 else 600.0),  # msal's default
            refresh_token=result.get("refresh_token"),
            scope=str(result.get("scope") or ""),
            username=claims.get("preferred_username") or claims.get("upn") or username,
            home_account_id=home_account_id(result) or account_id,
            source=str(result.get("token_source") or "identity_provider"),
        )

    @property
    def expires_in(self) -> int:
        """Seconds left, rounded down (CData's ``ExpiresIn``)."""
        return max(0, int(self.expires_at - time.time()))

    def __repr__(self) -> str:
        return (f"TokenResult(username={self.username!r}, expires_in={self.expires_in}, "
                f"has_refresh_token={self.refresh_token is not None}, source={self.source!r})")

    __str__ = __repr__


def remember(state: StoreState, result: TokenResult, *, client_id: str, authority: str,
             credential: str) -> None:
    """Record ``result`` as the store's last tokens (keeping a refresh token it did not renew).

    ``credential``: ``AppHandle.credential``, the fingerprint of the secret or certificate that
    obtained the tokens; only that credential is served them without asking the authority.
    """
    previous = state.record if state.record.get("client_id") == client_id else {}
    refresh = result.refresh_token or previous.get("refresh_token")
    state.set_record({
        "client_id": client_id,
        "authority": authority,
        "home_account_id": result.home_account_id or previous.get("home_account_id"),
        "username": result.username or previous.get("username"),
        "scope": result.scope or previous.get("scope", ""),
        "access_token": result.access_token,
        "refresh_token": refresh,
        "expires_at": int(result.expires_at),
        "obtained_at": int(time.time()),
        "credential": credential,
        # Which OAuthRefreshToken property value was already redeemed (a hash, see providers).
        "supplied_refresh_token_used": previous.get("supplied_refresh_token_used"),
    })
