"""The browser side of sign-in: ``/authorize``, the account picker and consent pages,
``/devicelogin`` and ``/adminconsent``.

Stage: identity. A person (or a script posting the forms) picks a demo user and consents; the
result is an authorization code handed back to the app's redirect URI (query, fragment or
``form_post``), an approved device code, or an admin-consent grant. Codes go to ``identity.grantstore``
for the token endpoint (``identity/grants.py``) to redeem.

Entra's rules kept here (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow):
an unknown client or a redirect URI that is not registered is shown as an error page and never
redirected (AADSTS700016 / AADSTS50011); every later error is sent to the redirect URI.
``prompt``: ``login`` and ``select_account`` always show the picker, ``consent`` always shows
the consent page, ``none`` never shows a page (``login_required`` / ``consent_required``).
A known ``login_hint`` skips the picker.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode

from ..server.transport import HttpRequest, HttpResponse, add_query, html_response, redirect
from . import aadsts, pages, scopes
from .directory import Person
from .grantstore import AuthCode, PendingSignIn
from .platform import IdentityPlatform

SESSION_COOKIE = "esctx-emu"
_MODES = ("query", "fragment", "form_post")


class SignIn:
    def __init__(self, idp: IdentityPlatform) -> None:
        self.idp = idp

    # -- /authorize ------------------------------------------------------------------------

    def authorize(self, tenant: str, req: HttpRequest) -> HttpResponse:
        params = req.query_params() if req.method == "GET" else req.form()
        try:
            app = self.idp.apps.get(params.get("client_id"))
        except aadsts.OAuthError as err:
            return _error_page(err)
        redirect_uri = params.get("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
        if not redirect_uri or not app.redirect_allowed(redirect_uri):
            return _error_page(aadsts.bad_redirect_uri(redirect_uri, app.client_id))
        params["redirect_uri"] = redirect_uri
        if not params.get("response_type"):
            # Without a response_type Entra cannot tell how to answer the redirect URI, so it
            # shows AADSTS900144 on its own error page (reference-error-codes: 900144
            # EmptyRequestBodyParameter), as for the missing client_id above.
            return _error_page(aadsts.missing_parameter("response_type"))
        try:
            return self._authorize(tenant, params, req)
        except aadsts.OAuthError as err:
            return self._send_error(params, err)

    def _authorize(self, tenant: str, params: dict[str, str], req: HttpRequest) -> HttpResponse:
        app = self.idp.apps.get(params["client_id"])
        if params["response_type"] != "code":
            raise aadsts.unsupported_response_type(params["response_type"])
        if params.get("response_mode", "query") not in _MODES:
            raise aadsts.OAuthError("invalid_request", 900144,
                                    f"The response_mode '{params['response_mode']}' is not supported.")
        if not params.get("scope"):
            raise aadsts.missing_parameter("scope")
        requested = scopes.parse(params["scope"], self.idp.directory.primary_domain)
        method = params.get("code_challenge_method")
        if params.get("code_challenge") and (method or "plain") not in ("S256", "plain"):
            raise aadsts.OAuthError("invalid_request", 501491,
                                    "Invalid code_challenge_method. Use S256 or plain.")
        prompt = params.get("prompt", "").lower()
        config = self.idp.config
        session_user = self._session_user(req)
        hint = self.idp.directory.find_enabled(params.get("login_hint"))
        graph = list(app.delegated_scopes) if requested.default else requested.graph

        person: Person | None = None
        if prompt not in ("login", "select_account"):
            if hint is not None:
                person = hint
            elif session_user is not None:
                person = session_user
            elif config.signin == "auto" and prompt != "none":
                person = self.idp.directory.people[0]
        if prompt == "none":
            if person is None or (hint is not None and session_user is None
                                  and config.signin != "auto"):
                raise aadsts.login_required()
            if self._needs_consent(person, app.client_id, graph, prompt):
                raise aadsts.interaction_required(app.client_id)
            return self._issue_code(params, person)
        pending = PendingSignIn(params=dict(params), tenant=tenant, created=time.time())
        if person is None:
            flow = self.idp.store.new_pending(pending)
            return html_response(200, pages.account_picker(
                f"/{tenant}/login", flow, self.idp.directory.people, app.name,
                params.get("login_hint")))
        return self._after_user(pending, person, set_cookie=False)

    def _session_user(self, req: HttpRequest) -> Person | None:
        value = req.cookies().get(SESSION_COOKIE)
        if not value:
            return None
        with self.idp.store.lock:
            oid = self.idp.store.sessions.get(value)
        return self.idp.directory.find(oid)

    def _needs_consent(self, person: Person, client_id: str, graph: list[str], prompt: str) -> bool:
        config = self.idp.config
        if prompt == "consent":
            return True
        if not config.require_consent or config.signin == "auto":
            return False
        granted = self.idp.store.consented(person.oid, client_id)
        return not set(graph) <= granted

    # -- the picker and the consent page post here -----------------------------------------

    def login(self, tenant: str, req: HttpRequest) -> HttpResponse:
        form = req.form()
        pending = self._pending(form.get("flow"))
        if pending is None:
            return _error_page(aadsts.OAuthError(
                "invalid_request", 90014, "The sign-in session has expired. Start again."))
        person = self.idp.directory.find_enabled(form.get("user"))
        if person is None:
            app = self.idp.apps.find(pending.params.get("client_id"))
            flow = self.idp.store.new_pending(pending)
            return html_response(400, pages.account_picker(
                f"/{pending.tenant}/login", flow, self.idp.directory.people,
                app.name if app else "", None))
        return self._after_user(pending, person, set_cookie=True)

    def _after_user(self, pending: PendingSignIn, person: Person, set_cookie: bool) -> HttpResponse:
        headers: dict[str, str] = {}
        if set_cookie:
            cookie = self.idp.store.new_session(person.oid)
            headers["Set-Cookie"] = f"{SESSION_COOKIE}={cookie}; Path=/; Secure; HttpOnly; SameSite=None"
        pending.user_oid = person.oid
        app = self.idp.apps.get(pending.params.get("client_id"))
        graph, shown = self._scopes_of(pending)
        prompt = pending.params.get("prompt", "").lower()
        if self._needs_consent(person, app.client_id, graph, prompt):
            flow = self.idp.store.new_pending(pending)
            response = html_response(200, pages.consent(
                f"/{pending.tenant}/consent", flow, person, app.name, shown))
        else:
            response = self._finish(pending, person)
        response.headers.update(headers)
        return response

    def consent(self, tenant: str, req: HttpRequest) -> HttpResponse:
        form = req.form()
        pending = self._pending(form.get("flow"))
        if pending is None:
            return _error_page(aadsts.OAuthError(
                "invalid_request", 90014, "The sign-in session has expired. Start again."))
        app = self.idp.apps.get(pending.params.get("client_id"))
        graph, _ = self._scopes_of(pending)
        accepted = form.get("consent") == "accept"
        if pending.admin_consent:
            return self._finish_admin_consent(pending, app.client_id, graph, accepted)
        person = self.idp.directory.find(pending.user_oid)
        if person is None:
            return _error_page(aadsts.login_required())
        if not accepted:
            if pending.device_code is not None:
                with self.idp.store.lock:
                    grant = self.idp.store.devices.get(pending.device_code)
                    if grant is not None:
                        grant.declined = True
                return html_response(200, pages.done("You declined to sign in to the application."))
            return self._send_error(pending.params, aadsts.user_declined())
        self.idp.store.grant_consent(person.oid, app.client_id, graph)
        return self._finish(pending, person)

    def _pending(self, flow: str | None) -> PendingSignIn | None:
        with self.idp.store.lock:
            return self.idp.store.pending.pop(flow or "", None)

    def _scopes_of(self, pending: PendingSignIn) -> tuple[list[str], list[str]]:
        """(Graph permissions asked for, the lines to show on the consent page)."""
        app = self.idp.apps.get(pending.params.get("client_id"))
        if pending.admin_consent:
            return list(app.delegated_scopes), list(app.delegated_scopes)
        requested = scopes.parse(pending.params.get("scope"), self.idp.directory.primary_domain)
        graph = list(app.delegated_scopes) if requested.default else requested.graph
        return graph, graph + sorted(requested.oidc)

    def _finish(self, pending: PendingSignIn, person: Person) -> HttpResponse:
        if pending.device_code is not None:
            with self.idp.store.lock:
                grant = self.idp.store.devices.get(pending.device_code)
                if grant is not None:
                    grant.user_oid = person.oid
            app = self.idp.apps.find(pending.params.get("client_id"))
            name = app.name if app else "the application"
            return html_response(200, pages.done(
                f"You have signed in to {name} on your device as {person.upn}. "
                "You may now close this window."))
        return self._issue_code(pending.params, person)

    def _issue_code(self, params: dict[str, str], person: Person) -> HttpResponse:
        app = self.idp.apps.get(params.get("client_id"))
        requested = scopes.parse(params.get("scope"), self.idp.directory.primary_domain)
        graph = list(app.delegated_scopes) if requested.default else requested.graph
        challenge = params.get("code_challenge") or None
        code = self.idp.store.new_code(AuthCode(
            client_id=app.client_id, redirect_uri=params["redirect_uri"], user_oid=person.oid,
            graph=graph, echo=requested.echo, oidc=set(requested.oidc),
            nonce=params.get("nonce"), challenge=challenge,
            challenge_method=(params.get("code_challenge_method") or "plain") if challenge else None,
            expires=time.time() + self.idp.config.code_lifetime,
        ))
        fields = {"code": code}
        if params.get("client_info") == "1":
            fields["client_info"] = self.idp.client_info(person)
        if "state" in params:
            fields["state"] = params["state"]
        fields["session_state"] = str(uuid.uuid4())
        return _deliver(params, fields)

    def _send_error(self, params: dict[str, str], err: aadsts.OAuthError) -> HttpResponse:
        body = err.body()
        fields = {"error": err.error, "error_description": body["error_description"],
                  "error_uri": body["error_uri"]}
        if "state" in params:
            fields["state"] = params["state"]
        return _deliver(params, fields)

    # -- /devicelogin ------------------------------------------------------------------------

    def device_login(self, req: HttpRequest) -> HttpResponse:
        if req.method == "GET":
            code = req.query_params().get("otc") or req.query_params().get("user_code")
            if not code:
                return html_response(200, pages.device_code_entry("/devicelogin"))
        else:
            code = req.form().get("otc")
        grant = self.idp.store.device_by_user_code(code or "")
        if grant is None or grant.expires < time.time():
            return html_response(400, pages.device_code_entry(
                "/devicelogin", "That code didn't work. Check the code and try again."))
        pending = PendingSignIn(
            params={"client_id": grant.client_id, "scope": " ".join(grant.echo + sorted(grant.oidc))},
            tenant=self.idp.directory.tenant_id, created=time.time(), device_code=grant.device_code)
        app = self.idp.apps.get(grant.client_id)
        flow = self.idp.store.new_pending(pending)
        return html_response(200, pages.account_picker(
            f"/{pending.tenant}/login", flow, self.idp.directory.people, app.name, None))

    def approve_device_code(self, user_code: str, upn: str) -> None:
        """Approve a device code for a user, as if they had used /devicelogin."""
        grant = self.idp.store.device_by_user_code(user_code)
        if grant is None:
            raise KeyError(f"no pending device code {user_code!r}")
        person = self.idp.person(upn)
        with self.idp.store.lock:
            grant.user_oid = person.oid

    # -- /adminconsent -----------------------------------------------------------------------

    def admin_consent(self, tenant: str, req: HttpRequest) -> HttpResponse:
        params = req.query_params()
        try:
            app = self.idp.apps.get(params.get("client_id"))
        except aadsts.OAuthError as err:
            return _error_page(err)
        redirect_uri = params.get("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
        if not redirect_uri or not app.redirect_allowed(redirect_uri):
            return _error_page(aadsts.bad_redirect_uri(redirect_uri, app.client_id))
        params["redirect_uri"] = redirect_uri
        pending = PendingSignIn(params=params, tenant=tenant, created=time.time(), admin_consent=True)
        flow = self.idp.store.new_pending(pending)
        admin = self.idp.directory.people[0]
        return html_response(200, pages.consent(
            f"/{tenant}/consent", flow, admin, app.name, app.delegated_scopes, admin=True))

    def _finish_admin_consent(self, pending: PendingSignIn, client_id: str, graph: list[str],
                              accepted: bool) -> HttpResponse:
        params = pending.params
        if accepted:
            self.idp.store.grant_admin_consent(client_id, graph)
            fields = {"admin_consent": "True", "tenant": self.idp.directory.tenant_id}
        else:
            err = aadsts.OAuthError("access_denied", 65004,
                                    "The admin canceled the consent request.")
            fields = {"error": err.error, "error_description": err.body()["error_description"],
                      "admin_consent": "False"}
        if "state" in params:
            fields["state"] = params["state"]
        return redirect(add_query(params["redirect_uri"], fields))


def _deliver(params: dict[str, str], fields: dict[str, str]) -> HttpResponse:
    mode = params.get("response_mode", "query")
    redirect_uri = params["redirect_uri"]
    if mode == "form_post":
        return html_response(200, pages.form_post(redirect_uri, fields))
    if mode == "fragment":
        return redirect(redirect_uri.split("#", 1)[0] + "#" + urlencode(fields))
    return redirect(add_query(redirect_uri, fields))


def _error_page(err: aadsts.OAuthError) -> HttpResponse:
    return html_response(max(err.status, 400),
                         pages.error(err.code, err.description))
