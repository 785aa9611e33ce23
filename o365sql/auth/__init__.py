"""Sign-in on msal: from connection properties to a ``TokenProvider`` for the Graph client.

Stage: sign-in. ``token_provider(props)`` is what ``Connection.token_provider`` calls; the
Graph client then asks the provider for a bearer token before each request (and once with
``force_refresh=True`` after a 401). The OAuth stored procedures (``o365sql.procedures.oauth``)
use ``webflow``/``interactive`` directly.

Which provider, by ``AuthScheme`` and ``InitiateOAuth``:

==========================  ===============  ==========================================
AuthScheme                  InitiateOAuth    provider
==========================  ===============  ==========================================
AzureAD                     OFF (default)    ``StaticTokenProvider``: ``OAuthAccessToken``
                                             as given; expired or rejected → error
AzureAD                     REFRESH          ``DelegatedTokenProvider``: refresh the
                                             tokens in the store / ``OAuthRefreshToken``;
                                             never signs in (with nothing to refresh it
                                             says so without any network call)
AzureAD                     GETANDREFRESH    ``DelegatedTokenProvider``: as REFRESH, and
                                             signs the person in when nothing can be
                                             refreshed (browser on ``CallbackURL``, or
                                             device code with ``OAuthGrantType=DEVICE_CODE``)
AzureServicePrincipal[Cert] any              ``AppOnlyTokenProvider`` (client credentials);
                                             with OFF and ``OAuthAccessToken`` set, that
                                             token as given
==========================  ===============  ==========================================

``OAuthSettingsLocation``: a file path (shared by processes) or ``memory://<id>``; unset, the
tokens stay in this process's memory, shared by connections of the same app and authority.

A store shared by connections with different credentials of one client id never lets a wrong
one through: app-only tokens are kept per credential fingerprint, and a person's tokens are
served from the cache only to the credential that obtained them (others must redeem the
refresh token, which the authority checks). See ``providers`` and ``apps``.

PKCE (S256) is used by every flow in which o365sql builds the authorize URL and can carry the
verifier to the redemption: the desktop browser sign-in, ``GetOAuthAccessToken AuthMode=APP``,
and ``GetOAuthAuthorizationURL`` with a State + ``GetOAuthAccessToken AuthMode=WEB`` or
``OAuthVerifier`` (the verifier waits in the pending sign-in, keyed by State). The one path
without it is the one where the caller gives no State (CData's documented web flow: URL, then
the bare code): nothing links the code back to a verifier, so that URL is made without PKCE and
without a state, and the code is redeemed on its own; a code from an authorize URL made
elsewhere goes the same way (see ``webflow``). Device code and client credentials have no
authorize step.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from o365sql.auth.settings import APP_ONLY_SCHEMES, AuthSettings
from o365sql.auth.static import StaticTokenProvider
from o365sql.auth.tokens import TokenProvider
from o365sql.exceptions import ProgrammingError

if TYPE_CHECKING:
    from o365sql.auth.interactive import (
        BrowserHook,
        DeviceCodePrompt,
        set_browser,
        set_device_code_prompt,
    )
    from o365sql.auth.providers import AppOnlyTokenProvider, DelegatedTokenProvider

#: Names imported on first use: signing in (msal, the browser and loopback listener, the token
#: store) is not loaded by a connection that is given its access token (``StaticTokenProvider``),
#: which keeps a process's first query fast.
_LAZY = {
    "AppOnlyTokenProvider": "o365sql.auth.providers",
    "DelegatedTokenProvider": "o365sql.auth.providers",
    "BrowserHook": "o365sql.auth.interactive",
    "DeviceCodePrompt": "o365sql.auth.interactive",
    "set_browser": "o365sql.auth.interactive",
    "set_device_code_prompt": "o365sql.auth.interactive",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

__all__ = [
    "AppOnlyTokenProvider",
    "AuthSettings",
    "DelegatedTokenProvider",
    "StaticTokenProvider",
    "TokenProvider",
    "open_token_store",
    "set_browser",
    "set_device_code_prompt",
    "token_provider",
]


def open_token_store(settings: AuthSettings) -> Any:
    """The token store of ``OAuthSettingsLocation`` (unset: this process's memory, per app)."""
    from o365sql.auth.store import open_store

    default_id = f"default:{settings.authority.lower()}:{settings.client_id or ''}"
    return open_store(settings.settings_location, default_id)


def token_provider(props: Any, *, browser: BrowserHook | None = None,
                   device_code_prompt: DeviceCodePrompt | None = None) -> TokenProvider:
    """The token provider for a connection's properties.

    Args:
        props: ``o365sql.properties.Properties`` (or any object with its attribute names).
        browser: opens the sign-in URL instead of ``webbrowser.open`` (``GETANDREFRESH``).
        device_code_prompt: receives the device-code message instead of stderr.

    Raises:
        ProgrammingError: properties that cannot work together, naming them. Nothing is
            fetched here: the first ``access_token()`` call signs in.
    """
    settings = AuthSettings.from_properties(props)
    if settings.scheme in APP_ONLY_SCHEMES:
        if settings.initiate == "OFF" and settings.access_token:
            return StaticTokenProvider(settings.access_token,
                                       expires_at=settings.access_token_expires_at)
        settings.require_client_id(f"sign in with AuthScheme={settings.scheme}")
        if settings.scheme == "AzureServicePrincipal" and not settings.client_secret:
            raise ProgrammingError(
                "OAuthClientSecret is required with AuthScheme=AzureServicePrincipal (or use "
                "AuthScheme=AzureServicePrincipalCert with OAuthJWTCert)")
        from o365sql.auth.providers import AppOnlyTokenProvider

        return AppOnlyTokenProvider(settings, open_token_store(settings))
    if settings.initiate == "OFF":
        if not settings.access_token:
            raise ProgrammingError(
                "no way to get a token: with InitiateOAuth=OFF (the default) OAuthAccessToken is "
                "required; set InitiateOAuth=GETANDREFRESH (with OAuthClientId) to sign in, or "
                "REFRESH with OAuthRefreshToken or a token store in OAuthSettingsLocation")
        return StaticTokenProvider(settings.access_token,
                                   expires_at=settings.access_token_expires_at)
    settings.require_client_id(f"sign in with InitiateOAuth={settings.initiate}")
    from o365sql.auth.providers import DelegatedTokenProvider

    return DelegatedTokenProvider(settings, open_token_store(settings), browser=browser,
                                  device_code_prompt=device_code_prompt)
