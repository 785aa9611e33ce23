"""Signing and checking the emulator's JWTs: access tokens for Graph and OpenID Connect ID tokens.

Stage: identity (the token endpoint and ``Emulator.mint_token`` issue tokens) and the Graph
gate (``server.py`` turns a bearer token into a ``wire.Principal`` or a Graph 401).

Access tokens look like the v1.0 tokens Entra issues for Microsoft Graph: RS256, ``aud``
``https://graph.microsoft.com``, ``iss`` ``https://sts.windows.net/{tid}/``, ``scp`` (space
separated, delegated) or ``roles`` (app-only), ``appid``/``azp``, ``oid``, ``upn``, a unique
``uti``. Clients must treat them as opaque; only the emulator reads them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import GraphError
from ..server.wire import Principal

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_AUDIENCES = frozenset({GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID})

# Graph's 401 answers carry this challenge (observed on graph.microsoft.com responses).
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_APP_ID}"'
)
# The texts Graph uses in its 401 bodies (graph-semantics.md §8.3, error catalogue).
EMPTY = "Access token is empty."
MALFORMED = "CompactToken parsing failed with error code: 80049217"
EXPIRED = "Lifetime validation failed, the token is expired."
NOT_YET_VALID = "Lifetime validation failed, the token is not yet valid."
BAD_AUDIENCE = "Access token validation failure. Invalid audience."
INVALID = "Access token validation failure."


def b64url(raw: bytes | str) -> str:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message,
                      headers={"WWW-Authenticate": WWW_AUTHENTICATE})


@dataclass(frozen=True)
class UserClaims:
    """What a token says about a signed-in user."""

    oid: str
    upn: str
    name: str


class TokenIssuer:
    """Signs tokens with the emulator's RSA key and checks the ones Graph requests carry."""

    def __init__(self, signing_key_path: Path, tenant_id: str, issuer_base: str) -> None:
        key = serialization.load_pem_private_key(signing_key_path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("the emulator's signing key must be RSA")
        self._key = key
        self._public = key.public_key()
        der = self._public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = b64url(hashlib.sha256(der).digest()[:20])
        self.tenant_id = tenant_id
        self.issuer_base = issuer_base.rstrip("/")
        self.clock_skew = 0.0  # seconds of leeway on exp/nbf; 0 makes expiry tests exact
        self._verified: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    # -- issuing -------------------------------------------------------------------------

    @property
    def access_issuer(self) -> str:
        return f"https://sts.windows.net/{self.tenant_id}/"

    @property
    def oidc_issuer(self) -> str:
        return f"{self.issuer_base}/{self.tenant_id}/v2.0"

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256",
                          headers={"typ": "JWT", "kid": self.kid, "x5t": self.kid})

    def access_token(
        self,
        *,
        client_id: str,
        user: UserClaims | None,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        lifetime: float = 3599,
        audience: str = GRAPH_RESOURCE,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.access_issuer,
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime),
            "tid": self.tenant_id,
            "appid": client_id,
            "azp": client_id,
            "ver": "1.0",
            "uti": b64url(secrets.token_bytes(16)),
        }
        if user is not None:
            claims.update(
                oid=user.oid, sub=user.oid, upn=user.upn, unique_name=user.upn,
                preferred_username=user.upn, name=user.name, idtyp="user",
                scp=" ".join(scopes),
            )
        else:
            claims.update(oid=client_id, sub=client_id, idtyp="app", roles=sorted(set(roles)))
        return self.sign(claims)

    def id_token(self, *, client_id: str, user: UserClaims, nonce: str | None,
                 lifetime: float = 3600) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": self.oidc_issuer,
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime),
            "name": user.name,
            "oid": user.oid,
            "preferred_username": user.upn,
            "email": user.upn,
            # v2.0 `sub` is pairwise: stable per (user, app), unlike oid.
            "sub": b64url(hashlib.sha256((user.oid + client_id).encode()).digest()),
            "tid": self.tenant_id,
            "ver": "2.0",
            "uti": b64url(secrets.token_bytes(16)),
        }
        if nonce:
            claims["nonce"] = nonce
        return self.sign(claims)

    def jwks(self) -> dict[str, Any]:
        nums = self._public.public_numbers()

        def enc(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {"keys": [{
            "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
            "n": enc(nums.n), "e": enc(nums.e), "issuer": self.oidc_issuer,
        }]}

    # -- checking ------------------------------------------------------------------------

    def principal(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header, or a Graph 401 ``GraphError``."""
        raw = (authorization or "").strip()
        scheme, _, token = raw.partition(" ")
        token = token.strip()
        if not raw or scheme.lower() != "bearer" or not token:
            raise unauthorized(EMPTY)
        now = time.time()
        with self._lock:
            hit = self._verified.get(token)
        if hit is not None:
            principal, nbf, exp = hit
            self._check_lifetime(nbf, exp, now)
            return principal
        claims = self._decode(token)
        principal = self._to_principal(claims)
        nbf, exp = float(claims.get("nbf", 0)), float(claims["exp"])
        self._check_lifetime(nbf, exp, now)
        with self._lock:
            self._verified[token] = (principal, nbf, exp)
            while len(self._verified) > 4096:
                self._verified.popitem(last=False)
        return principal

    def _check_lifetime(self, nbf: float, exp: float, now: float) -> None:
        if now >= exp + self.clock_skew:
            raise unauthorized(EXPIRED)
        if now + self.clock_skew < nbf:
            raise unauthorized(NOT_YET_VALID)

    def _decode(self, token: str) -> dict[str, Any]:
        if token.count(".") != 2:
            raise unauthorized(MALFORMED)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthorized(MALFORMED) from None
        if header.get("alg") != "RS256":
            raise unauthorized(INVALID)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._public, algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False, "require": ["exp", "aud"]},
            )
        except jwt.InvalidSignatureError:
            raise unauthorized(INVALID) from None
        except jwt.PyJWTError:
            raise unauthorized(MALFORMED) from None
        if claims.get("aud") not in _AUDIENCES:
            raise unauthorized(BAD_AUDIENCE)
        if str(claims.get("tid", "")).lower() != self.tenant_id.lower():
            raise unauthorized(INVALID)
        return claims

    @staticmethod
    def _to_principal(claims: dict[str, Any]) -> Principal:
        client_id = str(claims.get("appid") or claims.get("azp") or "")
        if claims.get("idtyp") == "app" or "scp" not in claims:
            roles = claims.get("roles") or []
            return Principal(client_id=client_id, user_id=None,
                             roles=frozenset(str(r) for r in roles))
        return Principal(
            client_id=client_id,
            user_id=str(claims["oid"]),
            scopes=frozenset(str(claims.get("scp", "")).split()),
            roles=frozenset(str(r) for r in claims.get("roles") or []),
        )
