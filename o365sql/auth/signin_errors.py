"""Turning msal's answers and exceptions into o365sql's PEP 249 errors, without secrets.

Stage: sign-in error reporting. Every sign-in module passes failures through here before they
leave ``auth/``; the result is an ``AuthenticationError`` (the identity platform said no) or an
``OperationalError`` (it could not be reached), carrying the AADSTS code as ``code``, the trace
id as ``request_id`` and a sentence saying how to sign in again.

msal returns the identity platform's 4xx answers as dicts (``error``, ``error_description``
"AADSTSnnnn: text\\r\\nTrace ID: …", ``error_codes``, ``trace_id``, ``correlation_id``; see
https://learn.microsoft.com/entra/identity-platform/reference-error-codes) and raises on 5xx,
network failures and malformed input. Errors are raised ``from None``: a chained msal or
requests exception could show a request body in a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from o365sql.exceptions import AuthenticationError, Error, OperationalError, ProgrammingError

__all__ = [
    "SIGN_IN_AGAIN",
    "WEB_SIGN_IN_AGAIN",
    "Redactor",
    "aadsts_facts",
    "error_from_exception",
    "error_from_result",
    "install_log_scrubber",
]

#: What a user can do when no token can be had without them.
SIGN_IN_AGAIN = (
    "sign in again: run EXEC GetOAuthAccessToken (AuthMode=APP for this machine's browser, or "
    "GetOAuthAuthorizationURL + GetOAuthAccessToken AuthMode=WEB), `o365sql login`, or connect "
    "with InitiateOAuth=GETANDREFRESH"
)
#: The same for the web application's two steps.
WEB_SIGN_IN_AGAIN = (
    "sign in again: EXEC GetOAuthAuthorizationURL, open the URL, and redeem the new code with "
    "EXEC GetOAuthAccessToken AuthMode=WEB"
)

# AADSTS errors about the app's credential or registration rather than the person's sign-in:
# signing in again does not help until this is fixed. Codes and meanings from
# https://learn.microsoft.com/entra/identity-platform/reference-error-codes
_CODE_HINTS = {
    "AADSTS7000215": "check OAuthClientSecret: the app registration holds no such secret (give "
                     "the secret's Value, not its Secret ID)",
    "AADSTS7000222": "OAuthClientSecret has expired: add a new client secret to the app "
                     "registration and use it",
    "AADSTS7000218": "the app registration is confidential: set OAuthClientSecret or "
                     "OAuthJWTCert (or enable 'Allow public client flows' on it)",
    "AADSTS700025": "the app registration is a public client: remove OAuthClientSecret and "
                    "OAuthJWTCert",
    "AADSTS700027": "check OAuthJWTCert: the app registration holds no such certificate",
    "AADSTS700016": "check OAuthClientId and AzureTenant: the app is not registered in that "
                    "tenant (or not consented to in it)",
    "AADSTS50011": "add the CallbackURL to the app registration's redirect URIs",
    "AADSTS65001": "the permissions are not consented to: the person can consent when signing "
                   "in, or an administrator grants them with EXEC GetAdminConsentURL",
    "AADSTS501481": "this code belongs to a sign-in started with PKCE: give GetOAuthAccessToken "
                    "its State, or the whole callback URL as Verifier (or as OAuthVerifier)",
}

_MASK = "********"
# A JWT (access or id token) or anything shaped like one, and refresh-token-like blobs.
_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
_AADSTS = re.compile(r"AADSTS(\d+)")


class Redactor:
    """Removes known secret values (and anything JWT-shaped) from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s and len(s) >= 4}

    def add(self, *values: str | None) -> None:
        self._secrets.update(v for v in values if v and len(v) >= 4)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, _MASK)
        return _JWT.sub(_MASK, text)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} values)"


# msal's DEBUG "event=…" lines mask tokens and the client secret but not the authorization
# code, the PKCE verifier or a certificate's signed client assertion (msal/token_cache.py, add).
_LOGGED_CREDENTIALS = re.compile(
    r'("(?:code|code_verifier|client_assertion|device_code|assertion)"\s*:\s*")[^"]*(")')


class _ScrubbingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: logging reports it itself
            return True
        cleaned = _JWT.sub(_MASK, _LOGGED_CREDENTIALS.sub(rf"\1{_MASK}\2", text))
        if cleaned != text:
            record.msg, record.args = cleaned, ()
        return True


_scrubber_installed = False


def install_log_scrubber() -> None:
    """Mask credentials in msal's debug log lines (once per process)."""
    global _scrubber_installed
    if not _scrubber_installed:
        logging.getLogger("msal.token_cache").addFilter(_ScrubbingFilter())
        _scrubber_installed = True


def _first_line(description: str) -> str:
    # Entra appends "\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …"; the trace id is
    # reported separately, the rest is noise in a one-line message.
    return description.replace("\r", "").split("\n", 1)[0].strip()


def aadsts_facts(result: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """``(code, trace id, correlation id)`` of an identity-platform error answer.

    The code is ``AADSTSnnnn`` from ``error_codes`` or the description (else the OAuth
    ``error``); the ids come from their fields or, for errors handed back through a redirect,
    from the "Trace ID: …" / "Correlation ID: …" lines of the description.
    """
    error = str(result.get("error") or "error")
    full = str(result.get("error_description") or "")
    codes = result.get("error_codes") or []
    match = _AADSTS.search(full)
    code = f"AADSTS{codes[0]}" if codes else (f"AADSTS{match.group(1)}" if match else error)
    trace_id = result.get("trace_id")
    if not trace_id:
        found = re.search(r"Trace ID: ([0-9a-fA-F-]+)", full)
        trace_id = found.group(1) if found else None
    correlation_id = result.get("correlation_id")
    if not correlation_id:
        found = re.search(r"Correlation ID: ([0-9a-fA-F-]+)", full)
        correlation_id = found.group(1) if found else None
    return (code, str(trace_id) if trace_id else None,
            str(correlation_id) if correlation_id else None)


def error_from_result(result: Mapping[str, Any], doing: str, hint: str | None = None,
                      redact: Redactor | None = None, *,
                      hint_after_fix: bool = True) -> AuthenticationError:
    """An msal error dict → ``AuthenticationError`` naming the AADSTS code and trace id.

    Args:
        hint: how to sign in again. For the AADSTS codes about the app's credential or
            registration, what to fix comes first ("…; then <hint>"), or instead of the hint
            when ``hint_after_fix`` is false (app-only sign-in, where the hint is a checklist).
    """
    redact = redact or Redactor()
    error = str(result.get("error") or "error")
    description = _first_line(str(result.get("error_description") or ""))
    code, trace_id, correlation_id = aadsts_facts(result)
    parts = [f"{doing} failed: {error}"]
    if description:
        parts.append(f"({description})" if description.startswith("AADSTS")
                     else f"({code}: {description})")
    message = " ".join(parts)
    fix = _CODE_HINTS.get(code)
    if fix and hint and hint_after_fix:
        hint = f"{fix}; then {hint}"
    elif fix:
        hint = fix
    if hint:
        message += f". To fix: {hint}"
    # Written the way Error.__str__ would add them, so they are not repeated; the request-id
    # of an identity-platform error is its trace id, the number Microsoft support asks for.
    facts = [f"code {code}"]
    if trace_id:
        facts.append(f"request-id {trace_id} (the authority's trace id)")
    if correlation_id:
        facts.append(f"correlation id {correlation_id}")
    message += " (" + ", ".join(facts) + ")"
    return AuthenticationError(
        redact(message), code=code, request_id=trace_id, error=error,
        correlation_id=correlation_id,
    )


def error_from_exception(exc: BaseException, doing: str, authority: str,
                         redact: Redactor | None = None) -> Error:
    """A raised exception from msal/requests → ``OperationalError`` (or a subclass).

    Network failures and 5xx become ``OperationalError`` (try again later); a ``ValueError``
    from msal is about our input and becomes ``ProgrammingError``.
    """
    import requests

    redact = redact or Redactor()
    host = urlsplit(authority).netloc or authority
    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        return OperationalError(
            f"{doing} failed: the TLS certificate of the sign-in service at {host} is not "
            "trusted (SSLError); set SSLServerCert to the CA file that signs it")
    status = getattr(getattr(exc, "response", None), "status_code", None)
    from o365sql.auth.tls_session import SignInUnavailable

    if isinstance(exc, SignInUnavailable):  # the retries ran out (tls_session.py)
        return OperationalError(f"{doing} failed: the sign-in service at {host} answered "
                                f"{redact(str(exc))}", status=status)
    if isinstance(exc, requests.exceptions.Timeout) and "timed out after" in str(exc):
        # PinnedCASession's deadline (tls_session.py): its message names the Timeout.
        return OperationalError(f"{doing} failed: the sign-in service at {host} did not "
                                f"answer in time: {exc}")
    if isinstance(exc, requests.exceptions.RequestException):
        return OperationalError(
            f"{doing} failed: could not reach the sign-in service at {host} ({name})")
    text = redact(str(exc).splitlines()[0] if str(exc) else name)[:300]
    if isinstance(exc, ValueError) and "authority configuration" in text:
        return OperationalError(
            f"{doing} failed: the sign-in service at {host} does not know this tenant or "
            f"authority ({text}); check AzureTenant and AuthorityURL")
    if isinstance(exc, ValueError):
        return ProgrammingError(f"{doing} failed: {text}")
    return OperationalError(f"{doing} failed: the sign-in service at {host} answered with an "
                            f"error ({name}: {text})", status=status)
