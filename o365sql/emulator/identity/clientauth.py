"""Client authentication at the token endpoint: secret (body or HTTP Basic), certificate
assertion (``private_key_jwt``), or none for public clients.

Stage: identity. ``identity/grants.py`` calls ``authenticate`` before any grant; it returns the app and
how it proved itself, or raises the ``OAuthError`` Entra would send
(https://learn.microsoft.com/entra/identity-platform/certificate-credentials).

msal quirks honoured (reference msal.md §6): ``x5t``/``x5t#S256`` arrive base64url *with* ``=``
padding, so padding is stripped before comparing; msal reuses one signed assertion (same
``jti``) for about 9 minutes, so ``jti`` replay is only rejected when the config asks for it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..server.tls import certificate_thumbprints
from . import aadsts
from .apps import AppRegistry, RegisteredApp
from .grantstore import GrantStore

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class ClientProof:
    app: RegisteredApp
    method: str  # "client_secret_post" | "client_secret_basic" | "private_key_jwt" | "none"


def authenticate(
    form: dict[str, str],
    headers: dict[str, str],
    apps: AppRegistry,
    store: GrantStore,
    audiences: Iterable[str],
) -> ClientProof:
    client_id = form.get("client_id")
    secret = form.get("client_secret")
    basic = headers.get("authorization", "")
    method = "client_secret_post"
    if basic[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(basic[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise aadsts.OAuthError("invalid_client", 7000216,
                                    "The Authorization header is malformed.", 401) from None
        cid, _, sec = decoded.partition(":")
        client_id, secret, method = unquote_plus(cid), unquote_plus(sec), "client_secret_basic"
    app = apps.get(client_id)
    assertion = form.get("client_assertion")
    if assertion is not None:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise aadsts.bad_assertion_type()
        if app.public:
            raise aadsts.public_client_secret()
        _check_assertion(app, assertion, store, set(audiences))
        return ClientProof(app, "private_key_jwt")
    if secret is not None:
        if app.public:
            raise aadsts.public_client_secret()
        if secret not in app.client_secrets:
            raise aadsts.bad_secret(app.client_id)
        return ClientProof(app, method)
    if not app.public:
        raise aadsts.missing_credential()
    return ClientProof(app, "none")


def _check_assertion(app: RegisteredApp, assertion: str, store: GrantStore,
                     audiences: set[str]) -> None:
    try:
        header: dict[str, Any] = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise aadsts.bad_assertion("The client assertion is not a well-formed JWT.") from None
    alg = header.get("alg")
    if alg not in ("RS256", "PS256"):
        raise aadsts.bad_assertion(f"The signing algorithm '{alg}' is not supported.")
    x5t = str(header.get("x5t") or "").rstrip("=")
    x5t256 = str(header.get("x5t#S256") or "").rstrip("=")
    cert_pem = None
    for pem in app.certificates:
        sha1, sha256 = certificate_thumbprints(pem)
        if (x5t and x5t == sha1) or (x5t256 and x5t256 == sha256):
            cert_pem = pem
            break
    if cert_pem is None:
        raise aadsts.bad_assertion(
            "The key was not found. The certificate with identifier used to sign the client "
            f"assertion is not registered on application '{app.client_id}'."
        )
    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        # RS256/PS256 (the only algorithms accepted above) verify with an RSA key alone: a
        # certificate with any other key cannot have signed this assertion.
        raise aadsts.bad_assertion("The signature does not match the registered key.")
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion, key, algorithms=[str(alg)],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                     "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise aadsts.bad_assertion("The signature does not match the registered key.") from None
    except jwt.PyJWTError:
        raise aadsts.bad_assertion("The client assertion could not be read.") from None
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= now:
        raise aadsts.assertion_expired()
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and nbf > now + 300:
        raise aadsts.assertion_expired()
    if claims.get("aud") not in audiences:
        raise aadsts.OAuthError(
            "invalid_client", 700212,
            f"The audience '{claims.get('aud')}' of the client assertion is not this token "
            "endpoint.", 401,
        )
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise aadsts.OAuthError(
            "invalid_client", 700021,
            "The client assertion's iss and sub claims must be the client id of the application.",
            401,
        )
    jti = claims.get("jti")
    if not jti:
        raise aadsts.bad_assertion("The client assertion has no jti claim.")
    with store.lock:
        for old in [k for k, until in store.seen_jti.items() if until < now]:
            del store.seen_jti[old]
        replayed = str(jti) in store.seen_jti
        store.seen_jti[str(jti)] = float(exp)
    if replayed and store.config.reject_assertion_replay:
        raise aadsts.assertion_replayed()
