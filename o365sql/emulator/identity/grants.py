"""The token endpoint, ``POST /{tenant}/oauth2/v2.0/token``: one function per grant type.

Stage: identity. Authenticates the client (``identity/clientauth.py``), redeems the grant (a code from
``identity/signin.py``, a refresh token, a device code, a password, or the client's own credentials) and
answers with ``IdentityPlatform.token_response``. Failures are Entra's ``OAuthError``s
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-token-endpoint-errors).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from . import aadsts, scopes
from .clientauth import ClientProof, authenticate
from .grantstore import AuthCode
from .platform import MULTI_TENANT, IdentityPlatform

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def token(idp: IdentityPlatform, tenant_segment: str, base_url: str, form: dict[str, str],
          headers: dict[str, str], note: dict[str, Any]) -> dict[str, Any]:
    """Answer a token request; ``note`` collects facts for the request log (never secrets)."""
    grant = form.get("grant_type")
    note["grant_type"] = grant
    if not grant:
        raise aadsts.missing_parameter("grant_type")
    proof = authenticate(form, headers, idp.apps, idp.store, _audiences(idp, base_url))
    note["client_id"] = proof.app.client_id
    note["client_auth"] = proof.method
    want_client_info = form.get("client_info") == "1"
    if grant == "authorization_code":
        return _authorization_code(idp, proof, form, want_client_info, note)
    if grant == "refresh_token":
        return _refresh_token(idp, proof, form, want_client_info)
    if grant == "client_credentials":
        return _client_credentials(idp, proof, tenant_segment, form)
    if grant == DEVICE_CODE_GRANT:
        return _device_code(idp, proof, form, want_client_info)
    if grant == "password":
        return _password(idp, proof, form, want_client_info)
    raise aadsts.unsupported_grant(grant)


def _audiences(idp: IdentityPlatform, base_url: str) -> set[str]:
    """Token-endpoint URLs a client assertion may name as ``aud`` (any alias of this tenant)."""
    out: set[str] = set()
    hosts = {base_url.rstrip("/")}
    port = base_url.rsplit(":", 1)[-1]
    hosts |= {f"https://127.0.0.1:{port}", f"https://localhost:{port}"}
    segments = {idp.directory.tenant_id, *idp.directory.domains, *MULTI_TENANT}
    for host in hosts:
        for seg in segments:
            out.add(f"{host}/{seg}/oauth2/v2.0/token")
            out.add(f"{host}/{seg}/oauth2/token")
        out.add(f"{host}/{idp.directory.tenant_id}/v2.0")
    return out


def _authorization_code(idp: IdentityPlatform, proof: ClientProof, form: dict[str, str],
                        want_client_info: bool, note: dict[str, Any]) -> dict[str, Any]:
    value = form.get("code")
    if not value:
        raise aadsts.missing_parameter("code")
    with idp.store.lock:
        code: AuthCode | None = idp.store.codes.get(value)
        if code is None or code.expires < time.time():
            raise aadsts.code_expired()
        if code.redeemed:
            raise aadsts.code_redeemed()
        if code.client_id.lower() != proof.app.client_id.lower():
            raise aadsts.grant_other_client()
        if code.redirect_uri != form.get("redirect_uri", code.redirect_uri):
            raise aadsts.redirect_uri_changed()
        if code.challenge:
            verifier = form.get("code_verifier", "")
            note["pkce"] = code.challenge_method or "plain"
            if not _pkce_ok(verifier, code.challenge, code.challenge_method):
                raise aadsts.pkce_mismatch()
        # Single use: a second redemption is AADSTS54005, not "unknown code".
        code.redeemed = True
    requested = scopes.parse(form.get("scope"), idp.directory.primary_domain)
    extra = [g for g in requested.graph if g not in code.graph]
    if extra:
        raise aadsts.consent_required(proof.app.client_id, " ".join(extra))
    graph = requested.graph or code.graph
    if requested.default:
        graph = code.graph
    echo = requested.echo if requested.graph else code.echo
    person = idp.person(code.user_oid)
    return idp.token_response(
        client_id=proof.app.client_id, person=person, graph=graph, echo=echo,
        oidc=code.oidc | requested.oidc, nonce=code.nonce, client_info=want_client_info,
    )


def _pkce_ok(verifier: str, challenge: str, method: str | None) -> bool:
    if not verifier:
        return False
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


def _refresh_token(idp: IdentityPlatform, proof: ClientProof, form: dict[str, str],
                   want_client_info: bool) -> dict[str, Any]:
    value = form.get("refresh_token")
    if not value:
        raise aadsts.missing_parameter("refresh_token")
    now = time.time()
    config = idp.store.config
    with idp.store.lock:
        grant = idp.store.refresh.get(value)
        if grant is None:
            raise aadsts.grant_malformed()
        if grant.client_id.lower() != proof.app.client_id.lower():
            raise aadsts.grant_other_client()
        valid_from = idp.store.valid_from.get(grant.user_oid.lower())
        if valid_from is not None and grant.issued <= valid_from:
            raise aadsts.refresh_revoked(_stamp(grant.issued), _stamp(valid_from))
        if now - grant.last_used > config.refresh_token_lifetime:
            raise aadsts.refresh_expired(_stamp(grant.issued), (now - grant.last_used) / 86400)
        grant.last_used = now
    requested = scopes.parse(form.get("scope"), idp.directory.primary_domain)
    extra = [g for g in requested.graph if g not in grant.graph]
    consented = idp.store.consented(grant.user_oid, proof.app.client_id)
    missing = [g for g in extra if g not in consented]
    if missing:
        raise aadsts.consent_required(proof.app.client_id, " ".join(missing))
    graph = grant.graph if (requested.default or not requested.graph) else requested.graph
    echo = requested.echo if requested.graph else []
    person = idp.person(grant.user_oid)
    return idp.token_response(
        client_id=proof.app.client_id, person=person, graph=graph, echo=echo,
        oidc=grant.oidc | requested.oidc, client_info=want_client_info, refresh_grant=grant,
    )


def _stamp(epoch: float) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(epoch))


def _client_credentials(idp: IdentityPlatform, proof: ClientProof, tenant_segment: str,
                        form: dict[str, str]) -> dict[str, Any]:
    if proof.app.public:
        raise aadsts.public_client_credentials()
    if tenant_segment.lower() in MULTI_TENANT:
        raise aadsts.common_for_app_only(tenant_segment)
    scope = form.get("scope", "")
    items = scope.split()
    if len(items) != 1 or not items[0].endswith("/.default"):
        raise aadsts.client_credentials_scope(scope)
    scopes.parse(scope, idp.directory.primary_domain)  # the resource must be Graph
    with idp.store.lock:
        roles = list(proof.app.app_roles)
    return idp.token_response(client_id=proof.app.client_id, person=None, graph=[], roles=roles)


def _device_code(idp: IdentityPlatform, proof: ClientProof, form: dict[str, str],
                 want_client_info: bool) -> dict[str, Any]:
    value = form.get("device_code") or form.get("code")
    if not value:
        raise aadsts.missing_parameter("device_code")
    config = idp.store.config
    with idp.store.lock:
        grant = idp.store.devices.get(value)
        if grant is None or grant.client_id.lower() != proof.app.client_id.lower():
            raise aadsts.device_code_unknown()
        if grant.expires < time.time():
            raise aadsts.device_code_expired()
        if grant.declined:
            raise aadsts.device_code_declined()
        grant.polls += 1
        auto = config.device_auto_approve_after
        if grant.user_oid is None and auto is not None and grant.polls > auto:
            grant.user_oid = idp.directory.people[0].oid
        if grant.user_oid is None:
            raise aadsts.authorization_pending()
        del idp.store.devices[value]
    person = idp.person(grant.user_oid)
    return idp.token_response(
        client_id=proof.app.client_id, person=person, graph=grant.graph, echo=grant.echo,
        oidc=grant.oidc, client_info=want_client_info,
    )


def _password(idp: IdentityPlatform, proof: ClientProof, form: dict[str, str],
              want_client_info: bool) -> dict[str, Any]:
    person = idp.directory.find_enabled(form.get("username"))
    password = form.get("password", "")
    if person is None or not hmac.compare_digest(password.encode(), idp.demo_password.encode()):
        raise aadsts.bad_credentials()
    requested = scopes.parse(form.get("scope"), idp.directory.primary_domain)
    graph = list(proof.app.delegated_scopes) if requested.default else requested.graph
    return idp.token_response(
        client_id=proof.app.client_id, person=person, graph=graph, echo=requested.echo,
        oidc=requested.oidc, client_info=want_client_info,
    )
