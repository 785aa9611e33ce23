"""Token providers: what the Graph client asks for a bearer token before each request.

Stage: end of sign-in. ``token_provider(props)`` (in ``auth/__init__.py``) picks one of these
and hands it to the Graph client, which calls ``access_token()`` per request and
``access_token(force_refresh=True)`` once after a 401 ``InvalidAuthenticationToken``.

* ``DelegatedTokenProvider`` (``AuthScheme=AzureAD``, ``InitiateOAuth=GETANDREFRESH`` or
  ``REFRESH``): tokens of a signed-in person from the token store; msal refreshes them with
  the refresh token. With nothing to refresh, GETANDREFRESH signs the person in (browser or
  device code); REFRESH never does and says how to sign in instead.
* ``AppOnlyTokenProvider`` (``AzureServicePrincipal``/``AzureServicePrincipalCert``): client
  credentials with the secret or certificate; a new token is simply requested again.

A wrong credential never gets a token from the store, although msal files tokens by client id
alone: app-only tokens are kept under a fingerprint of the secret or certificate
(``apps.credential_fingerprint``), and a person's tokens are served from the cache only to the
credential recorded with them. Any other secret or certificate (or none, a public client of the
same id) first redeems the refresh token, so the authority checks it (AADSTS7000215 for a wrong
secret); once that succeeds, as after a secret rotation, the store belongs to the new one.

With ``InitiateOAuth=REFRESH`` and nothing to refresh the error comes without any network
call: it says where the store is and how to sign in first.

Both keep the current token in memory and only touch the store (a file lock and a read) when
it has less than ``REFRESH_MARGIN`` seconds left: msal itself treats an access token with less
than five minutes left as expired (``acquire_token_silent``), so this matches its rule.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

from o365sql.auth.apps import app_for
from o365sql.auth.interactive import (
    BrowserHook,
    DeviceCodePrompt,
    browser_sign_in,
    device_code_sign_in,
)
from o365sql.auth.settings import RESERVED_SCOPES, AuthSettings
from o365sql.auth.signin_errors import (
    SIGN_IN_AGAIN,
    Redactor,
    error_from_exception,
    error_from_result,
)
from o365sql.auth.store import FileTokenStore, MemoryTokenStore, StoreState
from o365sql.auth.token_result import TokenResult, remember
from o365sql.auth.webflow import redeem_code
from o365sql.exceptions import AuthenticationError, Error

__all__ = ["REFRESH_MARGIN", "AppOnlyTokenProvider", "DelegatedTokenProvider"]

REFRESH_MARGIN = 300.0
Store = FileTokenStore | MemoryTokenStore


class DelegatedTokenProvider:
    """A signed-in person's tokens, refreshed before they expire.

    Args:
        settings: resolved sign-in settings (``initiate`` is GETANDREFRESH or REFRESH).
        store: the token store of ``OAuthSettingsLocation``.
        browser, device_code_prompt: hooks for the interactive sign-in (see ``interactive``).
    """

    def __init__(self, settings: AuthSettings, store: Store, *,
                 browser: BrowserHook | None = None,
                 device_code_prompt: DeviceCodePrompt | None = None) -> None:
        self._settings = settings
        self._store = store
        self._browser = browser
        self._device_code_prompt = device_code_prompt
        self._lock = threading.Lock()
        self._current: TokenResult | None = None
        self._redact = Redactor(settings.secrets())

    # ------------------------------------------------------------------ the protocol
    def access_token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            current = self._current
            if (not force_refresh and current is not None
                    and current.expires_at - time.time() > REFRESH_MARGIN):
                return current.access_token
            rejected = current.access_token if (force_refresh and current) else None
            token = self._obtain(rejected=rejected, force_refresh=force_refresh)
            self._current = token
            self._redact.add(token.access_token, token.refresh_token)
            return token.access_token

    # ------------------------------------------------------------------ extras
    @property
    def username(self) -> str | None:
        return self._current.username if self._current else None

    def sign_in(self, *, prompt: str | None = "select_account") -> TokenResult:
        """Sign the person in now (browser or device code), whatever is stored; save it."""
        with self._lock, self._store.transaction() as state:
            token = self._interactive(state, prompt=prompt)
            self._current = token
            return token

    def __repr__(self) -> str:
        who = self._current.username if self._current else None
        return (f"DelegatedTokenProvider(client_id={self._settings.client_id!r}, "
                f"initiate={self._settings.initiate!r}, store={self._store.location!r}, "
                f"user={who!r})")

    __str__ = __repr__

    # ------------------------------------------------------------------ internals
    def _obtain(self, *, rejected: str | None, force_refresh: bool) -> TokenResult:
        settings = self._settings
        if settings.initiate == "REFRESH" and not settings.refresh_token and not settings.verifier:
            # Nothing to refresh needs no authority: say so before building the msal app,
            # which would fetch the authority's discovery document (and fail offline).
            with self._store.transaction() as state:
                refreshable = _holds_tokens_for(state, settings.client_id or "")
            if not refreshable:
                return self._without_refresh(force_refresh, failure=None)
        handle = app_for(settings, doing="refreshing the access token")
        failure: dict[str, Any] | None = None
        used_supplied = False
        with self._store.transaction() as state:
            try:
                with handle.bound_to(state) as app:
                    account = self._account(app, state)
                    result: dict[str, Any] | None = None
                    if account is not None:
                        scopes = _silent_scopes(settings, state)
                        if _obtained_with(state, settings, handle.credential):
                            # Another process may already have replaced the token Graph
                            # rejected.
                            result = app.acquire_token_silent_with_error(scopes, account)
                            if force_refresh and result and (
                                    rejected is None or result.get("access_token") == rejected):
                                result = app.acquire_token_silent_with_error(
                                    scopes, account, force_refresh=True)
                        else:
                            # The stored tokens were obtained with another secret or
                            # certificate (or none), or before the store said which: a cached
                            # access token would be handed out without any check of this
                            # credential. Redeeming the refresh token makes the authority check
                            # it (a confidential client's refresh token only works with one of
                            # the app's credentials).
                            result = app.acquire_token_silent_with_error(
                                scopes, account, force_refresh=True)
                        if result is not None and "access_token" not in result:
                            failure, result = result, None
                    if result is None and settings.refresh_token and not _used_refresh_token(
                            state, settings.refresh_token):
                        result = app.acquire_token_by_refresh_token(
                            settings.refresh_token, list(settings.scopes))
                        if "access_token" not in result:
                            failure, result = result, None
                        else:
                            used_supplied = True
            except Error:
                raise
            except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
                raise error_from_exception(exc, "refreshing the access token",
                                           settings.authority, self._redact) from None
            if result is not None:
                token = TokenResult.from_msal(
                    result, username=account.get("username") if account else None,
                    account_id=account.get("home_account_id") if account else None)
                if token.source != "cache" or not state.record:
                    remember(state, token, client_id=app.client_id,
                             authority=settings.authority, credential=handle.credential)
                if used_supplied and settings.refresh_token:
                    state.record["supplied_refresh_token_used"] = _fingerprint(
                        settings.refresh_token)
                return token
        if settings.verifier and failure is None:
            # OAuthVerifier: a code from GetOAuthAuthorizationURL, redeemed on a machine that
            # cannot show a browser (CData's headless sign-in). Once redeemed, the store holds
            # the account and the silent path above serves later connections.
            return redeem_code(settings, self._store, verifier=settings.verifier)
        if settings.initiate == "GETANDREFRESH":
            with self._store.transaction() as state:
                return self._interactive(state)
        return self._without_refresh(force_refresh, failure=failure)

    def _without_refresh(self, force_refresh: bool, *, failure: dict[str, Any] | None
                         ) -> TokenResult:
        """REFRESH with nothing that works: ``OAuthAccessToken`` while it lasts, else an error."""
        settings = self._settings
        if settings.access_token and not force_refresh and (
                settings.access_token_expires_at is None
                or settings.access_token_expires_at > time.time()):
            return TokenResult(access_token=settings.access_token,
                               expires_at=settings.access_token_expires_at or time.time() + 3600,
                               source="OAuthAccessToken")
        if failure is not None:
            raise error_from_result(failure, "refreshing the access token", SIGN_IN_AGAIN,
                                    self._redact)
        where = (f"the token store {self._store.location!r}" if settings.settings_location
                 else "this process's memory (OAuthSettingsLocation is not set)")
        what = "Graph rejected the access token, and there are " if force_refresh else ""
        raise AuthenticationError(
            f"{what}no tokens to refresh in {where}: it holds none for OAuthClientId "
            f"{settings.client_id!r}, and OAuthRefreshToken is not set. "
            f"InitiateOAuth={settings.initiate} never signs anyone in: sign in first with "
            "InitiateOAuth=GETANDREFRESH, `o365sql login`, or EXEC GetOAuthAccessToken "
            "(GetOAuthAuthorizationURL then GetOAuthAccessToken AuthMode=WEB for a web app), "
            "with the same OAuthSettingsLocation")

    def _account(self, app: Any, state: StoreState) -> dict[str, Any] | None:
        accounts = app.get_accounts()
        if not accounts:
            return None
        wanted = state.record.get("home_account_id")
        for account in accounts:
            if wanted and account.get("home_account_id") == wanted:
                return dict(account)
        return dict(accounts[0])

    def _interactive(self, state: StoreState, *, prompt: str | None = "select_account"
                     ) -> TokenResult:
        settings = self._settings
        handle = app_for(settings, doing="signing in")
        if settings.grant_type == "DEVICE_CODE":
            result = device_code_sign_in(handle, state, settings, prompt=self._device_code_prompt)
        else:
            result = browser_sign_in(handle, state, settings, browser=self._browser,
                                     prompt=prompt)
        token = TokenResult.from_msal(result)
        remember(state, token, client_id=handle.app.client_id, authority=settings.authority,
                 credential=handle.credential)
        return token


def _silent_scopes(settings: AuthSettings, state: StoreState) -> list[str]:
    """The scopes to look the cached token up by.

    msal files an access token under the scopes the response named. For ``…/.default`` the
    identity platform answers with the permissions it granted instead, so looking the token up
    by ``.default`` never finds it and every lookup would spend a refresh
    (AzureAD/microsoft-authentication-library-for-python#450). The store's record keeps the
    granted list; use it when ``.default`` was asked for.
    """
    wanted = list(settings.scopes)
    granted = [s for s in str(state.record.get("scope") or "").split()
               if s not in RESERVED_SCOPES]
    if (len(wanted) == 1 and wanted[0].endswith("/.default") and granted
            and state.record.get("client_id") == settings.client_id):
        return granted
    return wanted


def _obtained_with(state: StoreState, settings: AuthSettings, credential: str) -> bool:
    """True when the store's tokens were obtained by this client id with this credential."""
    record = state.record
    return (record.get("credential") == credential
            and str(record.get("client_id") or "").lower() == (settings.client_id or "").lower())


def _holds_tokens_for(state: StoreState, client_id: str) -> bool:
    """Whether msal could find anything of a person's to use for ``client_id`` (offline check).

    A refresh token of the app (or of its family, which msal may use too), or an access token
    of a signed-in account.
    """
    if not state.msal_cache:
        return False
    try:
        cache = json.loads(state.msal_cache)
    except ValueError:
        return True  # let msal report it
    wanted = client_id.lower()
    for entry in (cache.get("RefreshToken") or {}).values():
        if isinstance(entry, dict) and (str(entry.get("client_id", "")).lower() == wanted
                                        or entry.get("family_id")):
            return True
    for entry in (cache.get("AccessToken") or {}).values():
        if (isinstance(entry, dict) and entry.get("home_account_id")
                and str(entry.get("client_id", "")).lower() == wanted):
            return True
    return False


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


def _used_refresh_token(state: StoreState, refresh_token: str) -> bool:
    """True once the OAuthRefreshToken given in the properties was redeemed into this store.

    Refresh tokens rotate: after the first redemption the store holds the newer one, and the
    property's value must not be redeemed again on every new connection.
    """
    return state.record.get("supplied_refresh_token_used") == _fingerprint(refresh_token)


class AppOnlyTokenProvider:
    """App-only tokens (client credentials with a secret or a certificate)."""

    def __init__(self, settings: AuthSettings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._lock = threading.Lock()
        self._current: TokenResult | None = None
        self._redact = Redactor(settings.secrets())

    def access_token(self, *, force_refresh: bool = False) -> str:
        settings = self._settings
        doing = f"app-only sign-in (AuthScheme={settings.scheme})"
        with self._lock:
            current = self._current
            if (not force_refresh and current is not None
                    and current.expires_at - time.time() > REFRESH_MARGIN):
                return current.access_token
            handle = app_for(settings, doing=doing)
            with self._store.transaction() as state:
                try:
                    # Under the credential's own name: msal would hand any credential of this
                    # client id the app token another one obtained (see apps.py).
                    with handle.bound_to(state, partition=handle.credential) as app:
                        if force_refresh:
                            # The cached app token is the one Graph rejected: ask for another.
                            app.remove_tokens_for_client()
                        result = app.acquire_token_for_client(list(settings.scopes))
                except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
                    raise error_from_exception(exc, doing, settings.authority,
                                               self._redact) from None
            if "access_token" not in result:
                hint = ("check OAuthClientId, AzureTenant and the "
                        + ("certificate (OAuthJWTCert)" if settings.uses_certificate
                           else "client secret (OAuthClientSecret)")
                        + ", and that the app has the Graph application permissions it needs; "
                        "the next connection signs the app in again")
                raise error_from_result(result, doing, hint, self._redact, hint_after_fix=False)
            token = TokenResult.from_msal(result)
            self._current = token
            self._redact.add(token.access_token)
            return token.access_token

    @property
    def last_token(self) -> TokenResult | None:
        """The token handed out last (for ``GetOAuthAccessToken``'s ExpiresIn)."""
        return self._current

    def __repr__(self) -> str:
        return (f"AppOnlyTokenProvider(client_id={self._settings.client_id!r}, "
                f"scheme={self._settings.scheme!r}, authority={self._settings.authority!r})")

    __str__ = __repr__
