"""Routes of the emulated Microsoft identity platform (the v2.0 endpoints msal talks to).

Stage: identity. ``server.py`` hands every request that is neither Graph (``/v1.0``) nor test
control (``/_emulator``) to ``IdentityService.handle``; it answers discovery, JWKS, the token and
device-code endpoints itself and passes browser pages to ``identity/signin.py``. Errors are Entra's JSON
(``aadsts.OAuthError``), or an error page where Entra shows one.

Endpoints (``{t}`` = tenant GUID, a verified domain, ``common`` or ``organizations``)::

    GET      /{t}/v2.0/.well-known/openid-configuration   (and /{t}/.well-known/... for oidc_authority)
    GET      /{t}/discovery/v2.0/keys                     JWKS
    GET      /common/discovery/instance                   instance discovery (when a client asks)
    GET      /common/userrealm/{upn}                      user realm (msal's ROPC asks)
    GET/POST /{t}/oauth2/v2.0/authorize                   sign-in pages → code
    POST     /{t}/oauth2/v2.0/token                       all grants
    POST     /{t}/oauth2/v2.0/devicecode                  device authorization
    GET      /{t}/oauth2/v2.0/logout                      ends the browser session
    GET/POST /devicelogin                                 enter a device code, pick a user
    GET      /{t}/adminconsent, /{t}/v2.0/adminconsent    tenant-wide consent (also /adminconsent)
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from ..server.transport import HttpRequest, HttpResponse, html_response, json_response, redirect
from . import aadsts, grants, pages, scopes
from .grantstore import DeviceGrant, user_code
from .platform import MULTI_TENANT, IdentityPlatform
from .signin import SESSION_COOKIE, SignIn
from .tokens import b64url

_TENANT_ROUTES = {
    "v2.0/.well-known/openid-configuration", ".well-known/openid-configuration",
    "discovery/v2.0/keys", "discovery/keys", "oauth2/v2.0/authorize", "oauth2/v2.0/token",
    "oauth2/v2.0/devicecode", "oauth2/v2.0/logout", "login", "consent", "adminconsent",
    "v2.0/adminconsent", "discovery/instance",
}


class IdentityService:
    def __init__(self, idp: IdentityPlatform) -> None:
        self.idp = idp
        self.signin = SignIn(idp)

    def handles(self, path: str) -> bool:
        """True when ``path`` is one of the identity platform's routes (any tenant segment)."""
        if path in ("/devicelogin", "/adminconsent") or path.startswith("/common/userrealm/"):
            return True
        _, _, rest = path.lstrip("/").partition("/")
        return rest.rstrip("/") in _TENANT_ROUTES

    def handle(self, req: HttpRequest, note: dict[str, Any]) -> HttpResponse:
        correlation = req.headers.get("client-request-id")
        try:
            return self._route(req, note)
        except aadsts.OAuthError as err:
            note["error"] = err.error
            note["aadsts"] = err.code
            return json_response(err.status, err.body(correlation))

    def _route(self, req: HttpRequest, note: dict[str, Any]) -> HttpResponse:
        path = req.path
        if path == "/devicelogin":
            return self.signin.device_login(req)
        if path == "/adminconsent" and req.method == "GET":
            return self.signin.admin_consent(self.idp.directory.tenant_id, req)
        if path.startswith("/common/userrealm/"):
            return self._user_realm(unquote(path.rsplit("/", 1)[-1]))
        segment, _, rest = path.lstrip("/").partition("/")
        rest = rest.rstrip("/")
        if rest == "oauth2/v2.0/authorize" or rest in ("login", "consent", "adminconsent",
                                                        "v2.0/adminconsent"):
            try:
                self.idp.resolve_tenant(segment)
            except aadsts.OAuthError as err:
                return html_response(400, pages.error(err.code, err.description))
            if rest == "oauth2/v2.0/authorize":
                if req.method not in ("GET", "POST"):
                    raise aadsts.OAuthError("invalid_request", 900561, "Use GET or POST.", 405)
                return self.signin.authorize(segment, req)
            if req.method == "GET" and rest.endswith("adminconsent"):
                return self.signin.admin_consent(segment, req)
            if req.method != "POST":
                raise aadsts.post_only(req.method)
            return self.signin.login(segment, req) if rest == "login" else self.signin.consent(segment, req)
        tenant = self.idp.resolve_tenant(segment)
        if rest in ("v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"):
            return json_response(200, self.discovery(req.base_url, tenant), {"Cache-Control": "max-age=86400, private"})
        if rest in ("discovery/v2.0/keys", "discovery/keys"):
            return json_response(200, self.idp.issuer.jwks(), {"Cache-Control": "max-age=86400, private"})
        if rest == "discovery/instance":
            return json_response(200, self._instance(req))
        if rest == "oauth2/v2.0/logout":
            return self._logout(req)
        if req.method != "POST":
            raise aadsts.post_only(req.method)
        if rest == "oauth2/v2.0/token":
            body = grants.token(self.idp, segment, req.base_url, req.form(), req.headers, note)
            return json_response(200, body)
        if rest == "oauth2/v2.0/devicecode":
            return json_response(200, self._device_code(req, note))
        raise aadsts.OAuthError("invalid_request", 900561, f"Unknown endpoint '{path}'.", 404)

    # -- discovery -------------------------------------------------------------------------

    def discovery(self, base_url: str, tenant: str) -> dict[str, Any]:
        """The OpenID configuration; a domain resolves to the GUID in the endpoints, while
        ``common``/``organizations`` stay as they are (msal then caches under that realm)."""
        base = base_url.rstrip("/")
        tid = self.idp.directory.tenant_id
        prefix = f"{base}/{tenant}"
        issuer_tid = "{tenantid}" if tenant in MULTI_TENANT else tid
        return {
            "token_endpoint": f"{prefix}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{prefix}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{prefix}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{prefix}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{prefix}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time",
                "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash",
                "email"],
            "kerberos_endpoint": f"{prefix}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": urlsplit(base).netloc,  # Graph is served by the same emulator
            "rbac_url": "https://pas.windows.net",
        }

    def _instance(self, req: HttpRequest) -> dict[str, Any]:
        host = urlsplit(req.base_url).hostname or "127.0.0.1"
        auth = req.query_params().get("authorization_endpoint", "")
        segment = urlsplit(auth).path.lstrip("/").split("/", 1)[0] or "common"
        return {
            "tenant_discovery_endpoint":
                f"{req.base_url}/{segment}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }

    def _user_realm(self, upn: str) -> HttpResponse:
        domain = upn.partition("@")[2]
        known = self.idp.directory.is_tenant(domain)
        return json_response(200, {
            "ver": "1.0", "account_type": "Managed" if known else "Unknown",
            "domain_name": domain, "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        })

    def _logout(self, req: HttpRequest) -> HttpResponse:
        cookie = req.cookies().get(SESSION_COOKIE)
        if cookie:
            with self.idp.store.lock:
                self.idp.store.sessions.pop(cookie, None)
        expire = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=None"
        target = req.query_params().get("post_logout_redirect_uri")
        if target:
            return redirect(target, {"Set-Cookie": expire})
        return html_response(200, pages.done("You signed out of your account."), {"Set-Cookie": expire})

    # -- device authorization ----------------------------------------------------------------

    def _device_code(self, req: HttpRequest, note: dict[str, Any]) -> dict[str, Any]:
        form = req.form()
        app = self.idp.apps.get(form.get("client_id"))
        note["client_id"] = app.client_id
        if not form.get("scope"):
            raise aadsts.missing_parameter("scope")
        requested = scopes.parse(form.get("scope"), self.idp.directory.primary_domain)
        graph = list(app.delegated_scopes) if requested.default else requested.graph
        config = self.idp.config
        code = user_code()
        grant = DeviceGrant(
            device_code="EMUDC." + b64url(secrets.token_bytes(36)), user_code=code,
            client_id=app.client_id, graph=graph, echo=requested.echo, oidc=set(requested.oidc),
            expires=time.time() + config.device_code_lifetime,
        )
        self.idp.store.new_device(grant)
        uri = f"{req.base_url}/devicelogin"
        return {
            "user_code": code,
            "device_code": grant.device_code,
            "verification_uri": uri,
            "expires_in": int(config.device_code_lifetime),
            "interval": int(config.device_interval),
            "message": f"To sign in, use a web browser to open the page {uri} and enter the "
                       f"code {code} to authenticate.",
        }
