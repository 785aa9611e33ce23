"""The web application's sign-in in two steps that may run in different processes.

Stage: sign-in for web apps, behind the OAuth procedures. ``authorization_url`` (behind
``GetOAuthAuthorizationURL``) builds the authorize URL; ``redeem_code`` (behind
``GetOAuthAccessToken AuthMode=WEB``) redeems the code the callback received.
``redeem_refresh_token`` is behind ``RefreshOAuthAccessToken``. Tokens obtained here are
written to the token store, so a later connection with ``InitiateOAuth=REFRESH``/
``GETANDREFRESH`` and the same ``OAuthSettingsLocation`` uses them.

Which flow depends on whether the caller gives a State:

* **With State** (what a web app should do: a value bound to the visitor's session is its CSRF
  protection): msal's auth-code flow with PKCE (S256) and a nonce. The flow dict waits in a
  private pending-sign-in directory keyed by the State; the redemption takes it back by that
  State (given as a parameter, or read from the whole callback URL) and proves the verifier.
* **Without State** (the flow as CData documents it: the URL, then the bare code): nothing can
  carry a PKCE verifier from the first step to the second, because the code alone names no
  sign-in. The URL is made with msal's stateless ``get_authorization_request_url`` (no PKCE,
  no nonce, and no state: a generated one would never reach the caller, and the bare code
  could not be checked against it, so it would only look like CSRF protection), and the code
  is redeemed with ``acquire_token_by_authorization_code``. That is the only path without
  PKCE; it is also what a code from an authorize URL made elsewhere gets.

Pending sign-ins: one 0600 JSON file per state in ``<OAuthSettingsLocation>.pending/`` (or
``$TMPDIR/o365sql-<uid>/pending/`` for ``memory://`` and unset locations), used once, and
dropped after ``PENDING_TTL`` seconds, like the ten minutes an authorization code lives
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from o365sql.auth.apps import app_for
from o365sql.auth.settings import RESERVED_SCOPES, AuthSettings, split_scopes
from o365sql.auth.signin_errors import (
    SIGN_IN_AGAIN,
    WEB_SIGN_IN_AGAIN,
    Redactor,
    error_from_exception,
    error_from_result,
)
from o365sql.auth.store import FileTokenStore, MemoryTokenStore
from o365sql.auth.token_result import TokenResult, remember
from o365sql.exceptions import AuthenticationError, ProgrammingError

__all__ = [
    "PENDING_TTL",
    "admin_consent_url",
    "authorization_url",
    "redeem_code",
    "redeem_refresh_token",
    "save_pending",
    "take_pending",
]

PENDING_TTL = 600.0
Store = FileTokenStore | MemoryTokenStore


# ---------------------------------------------------------------------- pending sign-ins
def _pending_path(directory: Path, state: str) -> Path:
    # The state is caller-chosen text: hash it into a safe file name.
    return directory / (hashlib.sha256(state.encode()).hexdigest()[:40] + ".json")


def _prune(directory: Path, now: float) -> None:
    for path in directory.glob("*.json"):
        try:
            if now - path.stat().st_mtime > PENDING_TTL:
                path.unlink()
        except FileNotFoundError:
            pass


def save_pending(directory: Path, flow: dict[str, Any], *, client_id: str, authority: str) -> None:
    now = time.time()
    _prune(directory, now)
    path = _pending_path(directory, flow["state"])
    record = {"created": now, "client_id": client_id, "authority": authority, "flow": flow}
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(path.with_suffix(".tmp"), path)


def take_pending(directory: Path, state: str) -> dict[str, Any] | None:
    """The pending sign-in for ``state`` (removing it: a code is redeemed once), or None."""
    path = _pending_path(directory, state)
    claimed = path.with_suffix(f".{os.getpid()}.claimed")
    try:
        os.replace(path, claimed)  # atomic: two redeemers cannot both get it
    except FileNotFoundError:
        return None
    try:
        record: dict[str, Any] = json.loads(claimed.read_text(encoding="utf-8"))
    finally:
        claimed.unlink()
    if time.time() - float(record.get("created", 0)) > PENDING_TTL:
        return None
    return record


# ---------------------------------------------------------------------- the two steps
def msal_scopes(scope_text: str | None, settings: AuthSettings) -> list[str]:
    scopes = [s for s in split_scopes(scope_text) if s not in RESERVED_SCOPES]
    return scopes or list(settings.scopes)


def authorization_url(settings: AuthSettings, store: Store, *, callback_url: str | None,
                      scope: str | None = None, state: str | None = None,
                      prompt: str | None = "select_account",
                      response_mode: str = "query") -> str:
    """The authorize URL for a web app's user (``GetOAuthAuthorizationURL``)."""
    doing = "GetOAuthAuthorizationURL"
    redirect = callback_url or settings.callback_url
    if not redirect:
        raise ProgrammingError(f"{doing} needs CallbackUrl (or the CallbackURL property): the "
                               "address the sign-in page redirects to, as registered for the app")
    if response_mode not in ("query", "form_post"):
        raise ProgrammingError(f"{doing}: ResponseMode must be query or form_post, "
                               f"got {response_mode!r}")
    handle = app_for(settings, doing=doing)
    redact = Redactor(settings.secrets())
    scopes = msal_scopes(scope, settings)
    prompt = None if (prompt or "").lower() in ("", "none") else prompt
    try:
        with warnings.catch_warnings():
            # msal recommends form_post; query mode is what lets a web app (and a person
            # pasting the address bar) read the code from the callback URL.
            warnings.filterwarnings("ignore", message="response_mode='form_post'",
                                    category=UserWarning)
            if not state:
                return _stateless_url(handle.app, scopes, redirect, prompt, response_mode)
            flow = handle.app.initiate_auth_code_flow(
                scopes, redirect_uri=redirect, state=state, prompt=prompt,
                response_mode=response_mode)
    except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
        raise error_from_exception(exc, doing, settings.authority, redact) from None
    save_pending(store.pending_dir(), flow, client_id=settings.client_id or "",
                 authority=settings.authority)
    return str(flow["auth_uri"])


def _stateless_url(app: Any, scopes: list[str], redirect: str, prompt: str | None,
                   response_mode: str) -> str:
    """The authorize URL without PKCE or state, for a caller that gives no State (see the
    module docstring): its bare code is redeemed on its own by ``redeem_code``."""
    with warnings.catch_warnings():
        # msal marks the stateless pair deprecated in favour of the flow API, which needs the
        # flow (and so a State to find it by) at redemption.
        warnings.simplefilter("ignore", DeprecationWarning)
        url = str(app.get_authorization_request_url(scopes, redirect_uri=redirect,
                                                     prompt=prompt))
    # msal's stateless builder takes no response_mode; the identity platform reads it from
    # the query (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow).
    return f"{url}&{urlencode({'response_mode': response_mode})}"


def _split_verifier(verifier: str) -> dict[str, str]:
    """The code, or the whole callback URL (or its query) pasted from the address bar."""
    text = verifier.strip()
    if "code=" in text or "error=" in text:
        query = urlsplit(text).query if "://" in text else text.lstrip("?")
        return dict(parse_qsl(query))
    return {"code": text}


def _redirect_of(verifier: str, doing: str) -> str:
    """The redirect URI a whole callback URL was sent to (it is that address plus the query)."""
    parts = urlsplit(verifier.strip())
    if parts.scheme and parts.netloc:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    raise ProgrammingError(
        f"{doing} needs CallbackUrl (or the CallbackURL property) to redeem a code without "
        "State: the redirect URL the authorization URL was made for")


def redeem_code(settings: AuthSettings, store: Store, *, verifier: str | None,
                callback_url: str | None = None, state: str | None = None,
                scope: str | None = None) -> TokenResult:
    """Redeem the code the callback got (``GetOAuthAccessToken AuthMode=WEB``); save tokens."""
    doing = "GetOAuthAccessToken"
    if not verifier:
        raise ProgrammingError(f"{doing} with AuthMode=WEB needs Verifier: the code (or the whole "
                               "callback URL) the sign-in page redirected to CallbackUrl with")
    redact = Redactor(settings.secrets())
    redact.add(verifier)
    response = _split_verifier(verifier)
    if "error" in response:
        raise error_from_result(response, doing, WEB_SIGN_IN_AGAIN, redact)
    code = response.get("code")
    if not code:
        raise ProgrammingError(f"{doing}: Verifier holds no code")
    redact.add(code)
    given_state = state or None
    url_state = response.get("state")
    if given_state and url_state and given_state != url_state:
        raise AuthenticationError(
            f"{doing}: State does not match the state in the callback URL given as Verifier; "
            "the response belongs to another sign-in (or was forged)")
    chosen_state = given_state or url_state
    pending = take_pending(store.pending_dir(), chosen_state) if chosen_state else None
    if chosen_state and pending is None:
        raise AuthenticationError(
            f"{doing}: no sign-in started by GetOAuthAuthorizationURL has this State (the states "
            f"differ, or it was used already, or it is older than {int(PENDING_TTL / 60)} "
            "minutes); call GetOAuthAuthorizationURL again")
    if pending is not None and pending.get("client_id") != (settings.client_id or ""):
        raise AuthenticationError(f"{doing}: the sign-in with this State was started for another "
                                  "OAuthClientId")
    stateless_redirect = None
    if pending is None:
        stateless_redirect = (callback_url or settings.callback_url
                              or _redirect_of(verifier, doing))
    handle = app_for(settings, doing=doing)
    try:
        with store.transaction() as saved, handle.bound_to(saved) as app:
            if pending is not None:
                flow = pending["flow"]
                redirect = callback_url or settings.callback_url
                if redirect and redirect != flow.get("redirect_uri"):
                    raise AuthenticationError(
                        f"{doing}: CallbackUrl {redirect!r} differs from the one the sign-in "
                        f"was started with ({flow.get('redirect_uri')!r})")
                auth_response = dict(response, state=chosen_state)
                result = app.acquire_token_by_auth_code_flow(flow, auth_response)
            else:
                # No State: a URL made without PKCE (GetOAuthAuthorizationURL without State,
                # or made elsewhere). The one-step redemption; msal flags it as deprecated in
                # favour of the flow API above, which needs the flow found by State.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    result = app.acquire_token_by_authorization_code(
                        code, msal_scopes(scope, settings), redirect_uri=stateless_redirect)
            if "access_token" not in result:
                raise error_from_result(result, doing, WEB_SIGN_IN_AGAIN, redact)
            token = TokenResult.from_msal(result)
            remember(saved, token, client_id=app.client_id, authority=settings.authority,
                     credential=handle.credential)
    except (AuthenticationError, ProgrammingError):
        raise
    except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
        raise error_from_exception(exc, doing, settings.authority, redact) from None
    return token


def redeem_refresh_token(settings: AuthSettings, store: Store, refresh_token: str | None, *,
                         scope: str | None = None,
                         doing: str = "RefreshOAuthAccessToken") -> TokenResult:
    """New tokens for a refresh token (``RefreshOAuthAccessToken``); save them."""
    handle = app_for(settings, doing=doing)
    redact = Redactor(settings.secrets())
    with store.transaction() as saved:
        token_text = refresh_token or settings.refresh_token or saved.record.get("refresh_token")
        if not token_text:
            raise ProgrammingError(f"{doing} needs OAuthRefreshToken (the parameter or the "
                                   "connection property), or a token store that holds one")
        redact.add(token_text)
        try:
            with handle.bound_to(saved) as app:
                result = app.acquire_token_by_refresh_token(token_text,
                                                            msal_scopes(scope, settings))
        except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
            raise error_from_exception(exc, doing, settings.authority, redact) from None
        if "access_token" not in result:
            raise error_from_result(result, doing, SIGN_IN_AGAIN, redact)
        token = TokenResult.from_msal(result)
        remember(saved, token, client_id=settings.client_id or "", authority=settings.authority,
                 credential=handle.credential)
    return token


def admin_consent_url(settings: AuthSettings, *, callback_url: str | None,
                      state: str | None = None) -> str:
    """The URL an administrator opens to grant the app's permissions tenant-wide.

    https://learn.microsoft.com/entra/identity-platform/v2-admin-consent
    """
    client_id = settings.require_client_id("build the admin consent URL")
    redirect = callback_url or settings.callback_url
    if not redirect:
        raise ProgrammingError("GetAdminConsentURL needs CallbackUrl (or the CallbackURL "
                               "property): where the consent page sends the administrator back")
    # Admin consent needs a real tenant; 'common' lets the admin pick theirs at sign-in, but
    # the documented form uses 'organizations' for that.
    tenant = "organizations" if settings.tenant.lower() == "common" else settings.tenant
    resource = next((s.rsplit("/", 1)[0] for s in settings.scopes if s.endswith("/.default")),
                    "https://graph.microsoft.com")
    query = {"client_id": client_id, "scope": f"{resource}/.default", "redirect_uri": redirect}
    if state:
        query["state"] = state
    return f"{settings.authority_host}/{tenant}/v2.0/adminconsent?{urlencode(query)}"
