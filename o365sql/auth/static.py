"""A token provider for a bearer token the user already has (``OAuthAccessToken`` with
``InitiateOAuth=OFF``): the sign-in stage reduced to handing that token to the Graph client.

Nothing can be refreshed here, so ``force_refresh=True`` (called after Graph answered 401)
raises ``AuthenticationError`` saying how to get a new token.
"""

from __future__ import annotations

import time

from o365sql.exceptions import AuthenticationError

__all__ = ["StaticTokenProvider"]


class StaticTokenProvider:
    """Hands out one fixed access token.

    Args:
        token: the bearer token (never shown in ``repr`` or messages).
        expires_at: epoch seconds after which the token is known to be expired, if known
            (from ``OAuthTokenTimestamp`` + ``OAuthExpiresIn``); asking for it then raises.
    """

    def __init__(self, token: str, *, expires_at: float | None = None) -> None:
        if not token:
            raise AuthenticationError("OAuthAccessToken is empty")
        self._token = token
        self.expires_at = expires_at

    def access_token(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            raise AuthenticationError(
                "Graph rejected the access token given in OAuthAccessToken and it cannot be "
                "refreshed with InitiateOAuth=OFF: pass a new OAuthAccessToken, or set "
                "InitiateOAuth=REFRESH with OAuthRefreshToken, or GETANDREFRESH to sign in",
                code="InvalidAuthenticationToken",
            )
        if self.expires_at is not None and time.time() >= self.expires_at:
            raise AuthenticationError(
                "the access token given in OAuthAccessToken has expired "
                "(OAuthTokenTimestamp + OAuthExpiresIn): pass a new one, or set InitiateOAuth "
                "to REFRESH or GETANDREFRESH"
            )
        return self._token

    def __repr__(self) -> str:
        return "StaticTokenProvider(token=********)"
