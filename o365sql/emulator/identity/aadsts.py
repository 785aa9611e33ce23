"""Errors of the identity platform, in the shape Entra ID sends them.

Stage: identity endpoints (``routes.py``, ``grants.py``, ``clientauth.py``, ``signin.py``)
raise ``OAuthError``; the server writes ``OAuthError.body()`` as JSON, or, for errors Entra shows
to the person in the browser, an error page.

Body fields, as Entra returns them
(https://learn.microsoft.com/entra/identity-platform/reference-error-codes)::

    {"error": "invalid_client",
     "error_description": "AADSTS7000215: Invalid client secret provided. ...\\r\\n"
                          "Trace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp: 2026-01-01 10:00:00Z",
     "error_codes": [7000215], "timestamp": "2026-01-01 10:00:00Z",
     "trace_id": "...", "correlation_id": "...",
     "error_uri": "https://login.microsoftonline.com/error?code=7000215"}

The AADSTS numbers follow the public error-code reference; where Entra's exact text for a case
was not documented, the message says the same thing in Entra's style.
"""

from __future__ import annotations

import time
import uuid
from typing import Any


class OAuthError(Exception):
    """An identity-platform error: OAuth ``error``, AADSTS number, text and HTTP status."""

    def __init__(self, error: str, code: int, description: str, status: int = 400) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.error = error
        self.code = code
        self.description = description
        self.status = status

    def body(self, correlation_id: str | None = None) -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.description}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation}\r\nTimestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


# The catalogue: one function per AADSTS case the emulator produces.


def missing_parameter(name: str) -> OAuthError:
    return OAuthError(
        "invalid_request", 900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def unknown_tenant(tenant: str) -> OAuthError:
    return OAuthError(
        "invalid_tenant", 90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def unknown_client(client_id: str, directory: str) -> OAuthError:
    return OAuthError(
        "unauthorized_client", 700016,
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{directory}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant.",
    )


def bad_secret(client_id: str) -> OAuthError:
    return OAuthError(
        "invalid_client", 7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
        401,
    )


def missing_credential() -> OAuthError:
    return OAuthError(
        "invalid_client", 7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
        401,
    )


def public_client_secret() -> OAuthError:
    return OAuthError(
        "invalid_client", 700025,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        401,
    )


def bad_assertion(reason: str) -> OAuthError:
    return OAuthError("invalid_client", 700027, f"Client assertion failed signature validation. [Reason - {reason}]", 401)


def assertion_expired() -> OAuthError:
    return OAuthError(
        "invalid_client", 700024,
        "Client assertion is not within its valid time range.", 401,
    )


def assertion_replayed() -> OAuthError:
    return OAuthError(
        "invalid_client", 700027,
        "Client assertion contains an invalid signature. [Reason - The jti claim was already used.]",
        401,
    )


def bad_assertion_type() -> OAuthError:
    return OAuthError(
        "invalid_request", 50027,
        "Invalid JWT token. The client_assertion_type must be "
        "'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
    )


def bad_scope(scope: str) -> OAuthError:
    return OAuthError(
        "invalid_scope", 70011,
        f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is "
        "not valid.",
    )


def client_credentials_scope(scope: str) -> OAuthError:
    return OAuthError(
        "invalid_scope", 1002012,
        f"The provided value for scope {scope} is not valid. Client credential flows must have a "
        "scope value with /.default suffixed to the resource identifier (application ID URI).",
    )


def unknown_resource(resource: str, directory: str) -> OAuthError:
    return OAuthError(
        "invalid_resource", 500011,
        f"The resource principal named {resource} was not found in the tenant named {directory}. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant.",
    )


def bad_redirect_uri(redirect_uri: str, client_id: str) -> OAuthError:
    return OAuthError(
        "invalid_request", 50011,
        f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
        f"URIs configured for the application '{client_id}'. Make sure the redirect URI sent in "
        "the request matches one added to your application in the Azure portal.",
    )


def code_redeemed() -> OAuthError:
    return OAuthError(
        "invalid_grant", 54005,
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
        "use an existing refresh token.",
    )


def code_expired() -> OAuthError:
    return OAuthError(
        "invalid_grant", 70008,
        "The provided authorization code or refresh token has expired due to inactivity. Send a "
        "new interactive authorization request for this user and resource.",
    )


def grant_malformed() -> OAuthError:
    return OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")


def grant_other_client() -> OAuthError:
    return OAuthError(
        "invalid_grant", 70000,
        "Provided grant is invalid or malformed. The grant was issued to a different client.",
    )


def redirect_uri_changed() -> OAuthError:
    return OAuthError(
        "invalid_grant", 500112,
        "The reply address does not match the reply address provided when requesting the "
        "authorization code.",
    )


def pkce_mismatch() -> OAuthError:
    return OAuthError(
        "invalid_grant", 501481,
        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    )


def refresh_expired(issued: str, inactive_days: float) -> OAuthError:
    return OAuthError(
        "invalid_grant", 700082,
        f"The refresh token has expired due to inactivity. The token was issued on {issued} and "
        f"was inactive for {inactive_days:.2f} days.",
    )


def refresh_revoked(issued: str, valid_from: str) -> OAuthError:
    return OAuthError(
        "invalid_grant", 50173,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
        "The user might have changed or reset their password. The grant was issued on "
        f"'{issued}' and the TokensValidFrom date (before which tokens are not valid) for this "
        f"user is '{valid_from}'.",
    )


def consent_required(client_id: str, scopes: str) -> OAuthError:
    return OAuthError(
        "invalid_grant", 65001,
        "The user or administrator has not consented to use the application with ID "
        f"'{client_id}'. Send an interactive authorization request for this user and resource "
        f"(scopes: {scopes}).",
    )


def bad_credentials() -> OAuthError:
    return OAuthError(
        "invalid_grant", 50126,
        "Error validating credentials due to invalid username or password.",
    )


def unknown_user(upn: str) -> OAuthError:
    return OAuthError(
        "invalid_request", 50034,
        f"The user account {upn} does not exist in the directory. To sign into this application, "
        "the account must be added to the directory.",
    )


def unsupported_grant(grant: str) -> OAuthError:
    return OAuthError(
        "unsupported_grant_type", 70003,
        f"The app requested an unsupported grant type '{grant}'.",
    )


def unsupported_response_type(value: str) -> OAuthError:
    return OAuthError(
        "unsupported_response_type", 700054,
        f"response_type '{value}' is not enabled for the application.",
    )


def post_only(method: str) -> OAuthError:
    return OAuthError(
        "invalid_request", 900561,
        f"The endpoint only accepts POST requests. Received a {method} request.",
    )


def common_for_app_only(tenant: str) -> OAuthError:
    return OAuthError(
        "invalid_request", 900023,
        f"Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid "
        "external domain.",
    )


def public_client_credentials() -> OAuthError:
    return OAuthError(
        "unauthorized_client", 700025,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    )


def authorization_pending() -> OAuthError:
    return OAuthError(
        "authorization_pending", 70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    )


def device_code_expired() -> OAuthError:
    return OAuthError("expired_token", 70020, "The provided value for the input parameter "
                      "'device_code' is not valid. This device code has expired.")


def device_code_declined() -> OAuthError:
    return OAuthError("authorization_declined", 70019, "The user declined the sign-in request.")


def device_code_unknown() -> OAuthError:
    return OAuthError(
        "bad_verification_code", 70000,
        "The provided value for the input parameter 'device_code' is not valid.",
    )


def user_declined() -> OAuthError:
    return OAuthError("access_denied", 65004, "User declined to consent to access the app.")


def login_required() -> OAuthError:
    return OAuthError(
        "login_required", 50058,
        "A silent sign-in request was sent but no user is signed in.",
    )


def interaction_required(client_id: str) -> OAuthError:
    return OAuthError(
        "consent_required", 65001,
        "The user or administrator has not consented to use the application with ID "
        f"'{client_id}'. Send an interactive authorization request for this user and resource.",
    )
