"""The OAuth stored procedures, with CData's names and signatures.

Stage: procedure calls → sign-in. ``EXEC GetOAuthAuthorizationURL``, ``GetOAuthAccessToken``,
``RefreshOAuthAccessToken`` and ``GetAdminConsentURL`` read the connection's properties from
the execution context, let parameters override ``CallbackURL``/``Scope``, and call
``o365sql.auth.webflow`` / ``o365sql.auth.providers``. Tokens they obtain are also saved in
``OAuthSettingsLocation``, so a later connection with ``InitiateOAuth=REFRESH`` or
``GETANDREFRESH`` picks them up.

The web application flow, as CData documents it (no State)::

    EXEC GetOAuthAuthorizationURL @CallbackUrl='https://app.example/cb'
      -- the person opens URL, signs in; the browser comes back to
      -- https://app.example/cb?code=...
    EXEC GetOAuthAccessToken @AuthMode='WEB', @Verifier='<code>',
                             @CallbackUrl='https://app.example/cb'

and as a web app should run it, with a State bound to the visitor's session (CSRF protection),
which also turns PKCE on::

    EXEC GetOAuthAuthorizationURL @CallbackUrl='https://app.example/cb', @State='s1'
      -- ... https://app.example/cb?code=...&state=s1
    EXEC GetOAuthAccessToken @AuthMode='WEB', @Verifier='<code>', @State='s1',
                             @CallbackUrl='https://app.example/cb'

The two calls may run in different processes. With a State, the first keeps msal's flow (PKCE
verifier, nonce) in a private pending-sign-in file keyed by the State, for ten minutes, and the
second takes it back by that State (or by the state in a whole callback URL given as Verifier).
Without one, a bare code cannot lead back to any kept verifier, so that URL is made without
PKCE and without a state, and the code is redeemed on its own (``o365sql.auth.webflow``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from o365sql.procedures import Parameter, Procedure, ResultColumn, register

from o365sql.auth import AuthSettings, open_token_store
from o365sql.auth.providers import AppOnlyTokenProvider, DelegatedTokenProvider
from o365sql.auth.settings import APP_ONLY_SCHEMES
from o365sql.auth.store import EphemeralTokenStore
from o365sql.auth.token_result import TokenResult
from o365sql.auth.webflow import (
    admin_consent_url,
    authorization_url,
    msal_scopes,
    redeem_code,
    redeem_refresh_token,
)
from o365sql.exceptions import ProgrammingError

__all__ = [
    "get_access_token",
    "get_admin_consent_url",
    "get_authorization_url",
    "refresh_access_token",
]

_TOKEN_COLUMNS = (
    ResultColumn("OAuthAccessToken", "String", "the access token"),
    ResultColumn("OAuthRefreshToken", "String", "the refresh token (empty for app-only tokens)"),
    ResultColumn("ExpiresIn", "String", "seconds the access token has left to live"),
)


def _properties(context: Any) -> Any:
    props = getattr(context, "properties", None)
    if props is None:
        props = getattr(getattr(context, "connection", None), "properties", None)
    if props is None:
        from o365sql.properties import Properties

        props = Properties()
    return props


def _settings(context: Any, *, callback_url: str | None = None, scope: str | None = None
              ) -> AuthSettings:
    settings = AuthSettings.from_properties(_properties(context))
    changes: dict[str, Any] = {}
    if callback_url:
        changes["callback_url"] = callback_url
    if scope:
        changes["scopes"] = tuple(msal_scopes(scope, settings))
    return dataclasses.replace(settings, **changes) if changes else settings


def _token_row(token: TokenResult) -> list[tuple[Any, ...]]:
    return [(token.access_token, token.refresh_token or "", str(token.expires_in))]


# ---------------------------------------------------------------------- GetOAuthAuthorizationURL
def get_authorization_url(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    settings = _settings(context)
    settings.require_client_id("run GetOAuthAuthorizationURL")
    if settings.scheme in APP_ONLY_SCHEMES:
        raise ProgrammingError(
            f"GetOAuthAuthorizationURL signs a person in; AuthScheme={settings.scheme} signs the "
            "app in without one (use AuthScheme=AzureAD)")
    url = authorization_url(
        settings, open_token_store(settings), callback_url=args["CallbackUrl"],
        scope=args["Scope"], state=args["State"], prompt=args["Prompt"],
        response_mode=(args["ResponseMode"] or "query").lower())
    return [(url,)]


register(Procedure(
    "GetOAuthAuthorizationURL",
    "Gets the authorization URL a person opens to sign in and grant access to the app "
    "(web applications). With State the URL uses PKCE, and GetOAuthAccessToken needs that "
    "State (or the whole callback URL) to redeem the code; without State, as CData documents "
    "the flow, the URL has no PKCE and no state, and the bare code is redeemed.",
    [
        Parameter("CallbackUrl", description="the redirect URL registered for the app; default "
                  "the CallbackURL property"),
        Parameter("Scope", description="space-separated scopes; default the Scope property"),
        Parameter("State", description="round-tripped to the callback; give a value bound to "
                  "the visitor's session (CSRF protection). Given: PKCE (S256) is used and "
                  "the sign-in waits 10 minutes under this State. Not given: no PKCE and no "
                  "state in the URL"),
        Parameter("Prompt", default="select_account",
                  description="select_account (default), login, consent or none"),
        Parameter("ResponseMode", default="query",
                  description="o365sql extension: query (default; the code comes back in the "
                  "callback URL) or form_post"),
    ],
    [ResultColumn("URL", "String", "the authorization URL to open in a browser")],
    get_authorization_url,
))


def _web_store(settings: AuthSettings, store: Any) -> Any:
    """Where the web procedures keep the tokens they return.

    With ``OAuthSettingsLocation`` set, there (a following connection with InitiateOAuth=REFRESH
    uses them). Without it, nowhere: a web process signs in many site users, and the caller
    keeps each one's tokens itself, so the process must not pile them up in its memory.
    """
    return store if settings.settings_location else EphemeralTokenStore()


# ---------------------------------------------------------------------- GetOAuthAccessToken
def get_access_token(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    settings = _settings(context, callback_url=args["CallbackUrl"], scope=args["Scope"])
    verifier = args["Verifier"] or settings.verifier
    mode = (args["AuthMode"] or ("WEB" if args["Verifier"] else "APP")).upper()
    if mode not in ("APP", "WEB"):
        raise ProgrammingError(f"GetOAuthAccessToken: AuthMode must be APP or WEB, got {mode!r}")
    store = open_token_store(settings)
    if settings.scheme in APP_ONLY_SCHEMES:
        settings.require_client_id("run GetOAuthAccessToken")
        provider = AppOnlyTokenProvider(settings, store)
        token_text = provider.access_token()
        last = provider.last_token
        return [(token_text, "", str(last.expires_in if last is not None else 0))]
    settings.require_client_id("run GetOAuthAccessToken")
    if mode == "WEB":
        token = redeem_code(settings, _web_store(settings, store), verifier=verifier, callback_url=args["CallbackUrl"],
                            state=args["State"], scope=args["Scope"])
        return _token_row(token)
    prompt = args["Prompt"]
    person = DelegatedTokenProvider(dataclasses.replace(settings, initiate="GETANDREFRESH"), store)
    token = person.sign_in(prompt=None if (prompt or "").lower() == "none" else prompt)
    return _token_row(token)


register(Procedure(
    "GetOAuthAccessToken",
    "Gets an access token: signs a person in on this machine (AuthMode=APP) or redeems the "
    "code a web application received (AuthMode=WEB).",
    [
        Parameter("AuthMode", description="APP (default; browser or device code on this "
                  "machine) or WEB (redeem Verifier)"),
        Parameter("Verifier", description="the code the sign-in page sent to CallbackUrl, or the "
                  "whole callback URL (its state then counts as State)"),
        Parameter("CallbackUrl", description="the redirect URL; must match the one used for the "
                  "authorization URL"),
        Parameter("State", description="the State given to GetOAuthAuthorizationURL: finds "
                  "that sign-in's PKCE verifier. Leave it out only for a URL made without "
                  "State (the code is then redeemed without PKCE)"),
        Parameter("Scope", description="space-separated scopes; default the Scope property"),
        Parameter("Prompt", default="select_account",
                  description="select_account (default), login, consent or none (AuthMode=APP)"),
    ],
    list(_TOKEN_COLUMNS),
    get_access_token,
))


# ---------------------------------------------------------------------- RefreshOAuthAccessToken
def refresh_access_token(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    settings = _settings(context)
    settings.require_client_id("run RefreshOAuthAccessToken")
    if settings.scheme in APP_ONLY_SCHEMES:
        raise ProgrammingError(
            f"RefreshOAuthAccessToken refreshes a person's tokens; AuthScheme={settings.scheme} "
            "has no refresh token (GetOAuthAccessToken returns a new app token)")
    store = _web_store(settings, open_token_store(settings))
    token = redeem_refresh_token(settings, store, args["OAuthRefreshToken"])
    return _token_row(token)


register(Procedure(
    "RefreshOAuthAccessToken",
    "Gets a new access token (and refresh token) with a refresh token.",
    [Parameter("OAuthRefreshToken", description="the refresh token; default the "
               "OAuthRefreshToken property, then the token store")],
    list(_TOKEN_COLUMNS),
    refresh_access_token,
))


# ---------------------------------------------------------------------- GetAdminConsentURL
def get_admin_consent_url(context: Any, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    settings = _settings(context)
    return [(admin_consent_url(settings, callback_url=args["CallbackUrl"], state=args["State"]),)]


register(Procedure(
    "GetAdminConsentURL",
    "Gets the URL an administrator opens to grant the app's permissions for the whole tenant.",
    [
        Parameter("CallbackUrl", description="where the consent page sends the administrator "
                  "back; default the CallbackURL property"),
        Parameter("State", description="round-tripped to the callback"),
    ],
    [ResultColumn("URL", "String", "the admin consent URL")],
    get_admin_consent_url,
))
