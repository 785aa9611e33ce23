"""The token-provider boundary between sign-in (``auth/``) and the Graph client (``graph/``)."""

from __future__ import annotations

from typing import Protocol


class TokenProvider(Protocol):
    """Gives the Graph client a bearer token.

    ``access_token()`` returns a token valid for at least the next minute, refreshing it first
    when it is close to expiry. ``access_token(force_refresh=True)`` is called once after Graph
    answers 401 ``InvalidAuthenticationToken``; it raises ``AuthenticationError`` (saying how to
    sign in again) when no refresh is possible.
    """

    def access_token(self, *, force_refresh: bool = False) -> str: ...
