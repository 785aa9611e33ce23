"""Signing a person in: the browser (desktop) flow and the device-code flow.

Stage: interactive sign-in. Called by the delegated token provider (``InitiateOAuth=
GETANDREFRESH`` with nothing to refresh) and by ``GetOAuthAccessToken`` with ``AuthMode=APP``;
both hand the msal result on to ``TokenResult.from_msal``.

* Browser: the authorization code flow with PKCE
  (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow): build the
  authorize URL with msal, open it in the browser, receive the code on the loopback
  ``CallbackURL`` (``loopback.py``; ``response_mode=form_post`` so the code never sits in the
  browser's history), redeem it. Works for public apps and for apps with ``OAuthClientSecret``
  (msal's own ``acquire_token_interactive`` refuses a secret).
* Device code (``OAuthGrantType=DEVICE_CODE``), for machines without a browser
  (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code): the message
  "To sign in, use a web browser to open … and enter the code …" goes to the device-code
  prompt (stderr by default), then the token endpoint is polled until the person is done.

Hooks: ``set_browser(callable)`` replaces ``webbrowser.open`` (a test plays the browser, an
application can show the URL its own way); ``set_device_code_prompt(callable)`` receives the
device-code dict. ``token_provider(props, browser=…, device_code_prompt=…)`` takes them per
provider too.
"""

from __future__ import annotations

import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from o365sql.auth.apps import AppHandle
from o365sql.auth.loopback import LoopbackListener
from o365sql.auth.settings import AuthSettings
from o365sql.auth.signin_errors import (
    Redactor,
    aadsts_facts,
    error_from_exception,
    error_from_result,
)
from o365sql.auth.store import StoreState
from o365sql.exceptions import AuthenticationError, ProgrammingError

__all__ = [
    "SIGN_IN_AGAIN_HERE",
    "SIGN_IN_TIMEOUT",
    "BrowserHook",
    "DeviceCodePrompt",
    "browser_sign_in",
    "device_code_sign_in",
    "set_browser",
    "set_device_code_prompt",
]

#: Called with the authorize URL; returning ``False`` means "could not open a browser".
BrowserHook = Callable[[str], object]
#: Called with ``{"message", "user_code", "verification_uri", "expires_in"}``.
DeviceCodePrompt = Callable[[Mapping[str, Any]], object]

#: How to try again after a failed interactive sign-in.
SIGN_IN_AGAIN_HERE = (
    "sign in again: connect again with InitiateOAuth=GETANDREFRESH, or run EXEC "
    "GetOAuthAccessToken or `o365sql login`"
)

#: How long a person has to finish signing in, in seconds.
SIGN_IN_TIMEOUT = 300.0
#: Loopback address used when CallbackURL is not set (any free port).
DEFAULT_CALLBACK = "http://localhost:0"

_hooks_lock = threading.Lock()
_browser_hook: BrowserHook | None = None
_device_code_hook: DeviceCodePrompt | None = None


def set_browser(hook: BrowserHook | None) -> BrowserHook | None:
    """Install the process-wide browser hook (None: ``webbrowser.open``); returns the old one."""
    global _browser_hook
    with _hooks_lock:
        previous, _browser_hook = _browser_hook, hook
    return previous


def set_device_code_prompt(hook: DeviceCodePrompt | None) -> DeviceCodePrompt | None:
    """Install the process-wide device-code prompt (None: print to stderr); returns the old one."""
    global _device_code_hook
    with _hooks_lock:
        previous, _device_code_hook = _device_code_hook, hook
    return previous


def _open(url: str, hook: BrowserHook | None) -> None:
    opener = hook or _browser_hook
    try:
        opened = opener(url) if opener is not None else webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if opened is False:
        # No browser here (an ssh session, a container): the person can open it elsewhere,
        # as long as that browser can reach this machine's loopback CallbackURL.
        print(f"o365sql: open this URL in a browser to sign in to Office 365:\n  {url}",
              file=sys.stderr, flush=True)


def browser_sign_in(handle: AppHandle, state: StoreState, settings: AuthSettings, *,
                    browser: BrowserHook | None = None, prompt: str | None = "select_account",
                    timeout: float | None = None, login_hint: str | None = None
                    ) -> dict[str, Any]:
    """Run the browser sign-in; return msal's token response (``access_token`` present).

    Raises:
        ProgrammingError: CallbackURL is not a loopback http URL.
        AuthenticationError: the person did not finish in time, the authority reported an
            error, or the response's state did not match.
    """
    redact = Redactor(settings.secrets())
    doing = "browser sign-in"
    timeout = SIGN_IN_TIMEOUT if timeout is None else timeout
    with LoopbackListener(settings.callback_url or DEFAULT_CALLBACK) as listener:
        try:
            with handle.bound_to(state) as app:
                flow = app.initiate_auth_code_flow(
                    list(settings.scopes), redirect_uri=listener.redirect_uri,
                    prompt=prompt or None, login_hint=login_hint, response_mode="form_post")
        except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
            raise error_from_exception(exc, doing, settings.authority, redact) from None
        _open(flow["auth_uri"], browser)
        response = listener.wait(timeout)
    if response is None:
        raise AuthenticationError(
            f"{doing} timed out after {int(timeout)} s: nobody completed the sign-in page at "
            f"{urlsplit(settings.authority).netloc} (the redirect goes to {listener.redirect_uri})")
    if "error" in response:
        raise error_from_result(response, doing, SIGN_IN_AGAIN_HERE, redact)
    if response.get("state") != flow["state"]:
        raise AuthenticationError(
            f"{doing} failed: the response's state does not match the request's (a response "
            "from another sign-in, or a forged one); sign in again")
    try:
        with handle.bound_to(state) as app:
            result = app.acquire_token_by_auth_code_flow(flow, response)
    except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
        raise error_from_exception(exc, doing, settings.authority, redact) from None
    if "access_token" not in result:
        raise error_from_result(result, doing, SIGN_IN_AGAIN_HERE, redact)
    return dict(result)


def device_code_sign_in(handle: AppHandle, state: StoreState, settings: AuthSettings, *,
                        prompt: DeviceCodePrompt | None = None,
                        timeout: float | None = None) -> dict[str, Any]:
    """Run the device-code sign-in; return msal's token response.

    The app's token cache is bound to ``state`` only for each poll, so other connections of
    this process can use the same app while the person is signing in.
    """
    redact = Redactor(settings.secrets())
    doing = "device-code sign-in"
    timeout = SIGN_IN_TIMEOUT if timeout is None else timeout
    if handle.confidential:
        raise ProgrammingError(
            "OAuthGrantType=DEVICE_CODE needs a public client: remove OAuthClientSecret / "
            "OAuthJWTCert and enable 'Allow public client flows' on the app registration")
    try:
        with handle.bound_to(state) as app:
            flow = app.initiate_device_flow(scopes=list(settings.scopes))
    except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
        raise error_from_exception(exc, doing, settings.authority, redact) from None
    if "user_code" not in flow:
        raise error_from_result(flow, doing, "check OAuthClientId and Scope, then "
                                + SIGN_IN_AGAIN_HERE, redact)
    shown = {k: flow.get(k) for k in ("message", "user_code", "verification_uri", "expires_in")}
    show = prompt or _device_code_hook
    if show is not None:
        show(shown)
    else:
        print(f"o365sql: {flow.get('message')}", file=sys.stderr, flush=True)
    deadline = min(float(flow.get("expires_at", 0)), time.time() + timeout)
    while True:
        try:
            with handle.bound_to(state) as app:
                result = app.acquire_token_by_device_flow(flow, exit_condition=lambda _f: True)
        except Exception as exc:  # noqa: BLE001 - msal raises many types; see signin_errors
            raise error_from_exception(exc, doing, settings.authority, redact) from None
        if "access_token" in result:
            return dict(result)
        if result.get("error") not in ("authorization_pending", "slow_down"):
            raise error_from_result(result, doing, SIGN_IN_AGAIN_HERE, redact)
        if time.time() + flow.get("interval", 5) > deadline:
            code, trace_id, _ = aadsts_facts(result)
            raise AuthenticationError(
                f"{doing} timed out: the code {flow['user_code']} was not entered at "
                f"{flow.get('verification_uri')} in time. To fix: {SIGN_IN_AGAIN_HERE}, and "
                "enter the new code", code=code, request_id=trace_id)
        # msal warns when polled before `interval` has passed since the last attempt.
        time.sleep(max(0.0, flow.get("latest_attempt_at", 0) + flow.get("interval", 5)
                       - time.time()) + 0.05)
