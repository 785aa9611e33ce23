"""Every msal flow completes against the emulator's identity platform, over real HTTPS.

The sign-in pages are driven the way a browser would (GET the authorize URL, POST the account
picker form, POST the consent form) by ``o365sql.emulator.identity.browser.SignInBrowser``.
"""

from __future__ import annotations

import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest

from o365sql.emulator import Emulator
from o365sql.emulator.identity.browser import ScriptedBrowser, parse_forms

SCOPES = ["https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/User.Read"]


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def graph_me(http: Any, emu: Emulator, token: str) -> dict[str, Any]:
    resp = http.get(emu.graph_url + "/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_auth_code_flow_with_pkce_form_post(emu: Emulator, make_cca: Any, http: Any, browsers: Any) -> None:
    app = make_cca()
    user = emu.users[1]
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://localhost:33333/callback",
                                       response_mode="form_post")
    assert "code_challenge=" in flow["auth_uri"]
    browser = browsers()
    landing = browser.sign_in(flow["auth_uri"], user=user)
    assert landing.mode == "form_post"
    assert landing.url == "http://localhost:33333/callback"
    assert set(landing.params) >= {"code", "state", "client_info", "session_state"}
    result = app.acquire_token_by_auth_code_flow(flow, landing.params)
    assert "access_token" in result, result
    assert result["expires_in"] > 300
    assert result["id_token_claims"]["preferred_username"] == user
    assert result["id_token_claims"]["aud"] == emu.app.client_id
    assert "refresh_token" in result
    at = claims(result["access_token"])
    assert at["aud"] == "https://graph.microsoft.com"
    assert at["upn"] == user and at["tid"] == emu.tenant_id
    assert set(at["scp"].split()) == {"Mail.ReadWrite", "User.Read"}
    assert [a["username"] for a in app.get_accounts()] == [user]
    assert graph_me(http, emu, result["access_token"])["userPrincipalName"] == user
    pkce = [e for e in emu.log if e.grant_type == "authorization_code"]
    assert pkce and pkce[-1].extra.get("pkce") == "S256"


def test_consent_page_lists_scopes_and_is_shown_once(emu: Emulator, http: Any, browsers: Any) -> None:
    user = emu.users[2]
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
           "&response_type=code&redirect_uri=http://localhost:33333&scope=Calendars.ReadWrite%20openid"
           f"&state=s1&login_hint={user}")
    browser = browsers()
    first = browser.session.get(url, verify=emu.ca_path, allow_redirects=False)
    assert first.status_code == 200
    form = parse_forms(first.text)[0]
    assert form.form_id == "consent-form"
    assert "Calendars.ReadWrite" in first.text and 'id="accept"' in first.text
    landing = browser.sign_in(url, user=user)
    assert landing.mode == "query" and landing.params["state"] == "s1" and "code" in landing.params
    again = browsers().sign_in(url)
    assert "code" in again.params  # consent remembered: no page the second time


def test_account_picker_has_a_button_per_user(emu: Emulator, http: Any) -> None:
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
           "&response_type=code&redirect_uri=http://localhost:33333&scope=User.Read")
    page = http.get(url, allow_redirects=False)
    assert page.status_code == 200
    form = parse_forms(page.text)[0]
    assert form.form_id == "signin-form"
    assert [b["value"] for b in form.buttons] == emu.users
    assert all(b["name"] == "user" for b in form.buttons)
    disabled = [u["userPrincipalName"] for u in emu.tenant.users if u.get("accountEnabled") is False]
    assert all(upn not in page.text for upn in disabled)  # shared mailboxes cannot sign in


def test_cancel_on_consent_redirects_access_denied(emu: Emulator, http: Any, browsers: Any) -> None:
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
           "&response_type=code&redirect_uri=http://localhost:33333&scope=Contacts.ReadWrite"
           f"&state=xyz&prompt=consent&login_hint={emu.users[0]}")
    landing = browsers().sign_in(url, consent=False)
    assert landing.params["error"] == "access_denied"
    assert landing.params["error_description"].startswith("AADSTS65004")
    assert landing.params["state"] == "xyz"


def test_fragment_response_mode(emu: Emulator, http: Any, browsers: Any) -> None:
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
           "&response_type=code&redirect_uri=http://localhost:33333&scope=User.Read"
           f"&response_mode=fragment&state=f&login_hint={emu.users[0]}&prompt=none")
    emu.config.require_consent = False
    landing = browsers().sign_in(url)
    # prompt=none without a browser session: Entra answers login_required on the redirect URI.
    assert landing.mode == "fragment" and landing.params["error"] == "login_required"
    url = url.replace("&prompt=none", "")
    landing = browsers().sign_in(url)
    assert landing.mode == "fragment" and "code" in landing.params


def test_session_cookie_gives_sso_and_prompt_none(emu: Emulator, http: Any, browsers: Any) -> None:
    emu.config.require_consent = False
    browser = browsers()
    base = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
            "&response_type=code&redirect_uri=http://localhost:33333&scope=User.Read")
    first = browser.sign_in(base, user=emu.users[3])
    assert "code" in first.params
    silent = browser.sign_in(base + "&prompt=none")
    assert "code" in silent.params
    for prompt in ("login", "select_account"):
        page = browser.session.get(base + "&prompt=" + prompt, verify=emu.ca_path, allow_redirects=False)
        assert parse_forms(page.text)[0].form_id == "signin-form"
    other = browsers().sign_in(base + "&prompt=none")
    assert other.params["error"] == "login_required"  # a browser without the session cookie


def test_automatic_sign_in_mode(emu: Emulator, http: Any) -> None:
    emu.config.signin = "auto"
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
           "&response_type=code&redirect_uri=http://localhost:33333&scope=User.Read&state=a")
    resp = http.get(url, allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("http://localhost:33333?code=")
    resp = http.get(url + "&prompt=consent", allow_redirects=False)
    assert parse_forms(resp.text)[0].form_id == "consent-form"


def test_legacy_auth_code_without_pkce(emu: Emulator, make_cca: Any, http: Any, browsers: Any) -> None:
    app = make_cca()
    with pytest.warns(DeprecationWarning):
        url = app.get_authorization_request_url(SCOPES, redirect_uri="http://localhost:33333",
                                                state="legacy-1")
    assert "code_challenge" not in url
    landing = browsers().sign_in(url, user=emu.users[0])
    assert landing.params["state"] == "legacy-1"
    second = make_cca()  # another process would build its own app
    with pytest.warns(DeprecationWarning):
        result = second.acquire_token_by_authorization_code(
            landing.params["code"], SCOPES, redirect_uri="http://localhost:33333")
    assert "access_token" in result, result
    assert claims(result["access_token"])["upn"] == emu.users[0]


def _signed_in_app(emu: Emulator, make_cca: Any, browsers: Any, user: str) -> tuple[Any, dict[str, Any]]:
    app = make_cca()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://localhost:33333",
                                       response_mode="form_post", login_hint=user)
    landing = browsers().sign_in(flow["auth_uri"])
    result = app.acquire_token_by_auth_code_flow(flow, landing.params)
    assert "access_token" in result, result
    return app, result


def test_refresh_tokens_rotate_and_silent_refresh(emu: Emulator, make_cca: Any, browsers: Any) -> None:
    app, first = _signed_in_app(emu, make_cca, browsers, emu.users[0])
    account = app.get_accounts()[0]
    cached = app.acquire_token_silent(SCOPES, account=account)
    assert cached["token_source"] == "cache"
    refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]  # rotated
    other = make_cca()
    migrated = other.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    assert "access_token" in migrated, migrated
    assert [a["username"] for a in other.get_accounts()] == [emu.users[0]]


def test_short_lived_access_token_is_refreshed_by_msal(emu: Emulator, make_cca: Any, browsers: Any) -> None:
    emu.config.access_token_lifetime = 240  # < 300 s: msal treats it as expired
    app, _ = _signed_in_app(emu, make_cca, browsers, emu.users[1])
    again = app.acquire_token_silent(SCOPES, account=app.get_accounts()[0])
    assert again["token_source"] == "identity_provider"


def test_client_credentials_with_secret(emu: Emulator, make_cca: Any, http: Any) -> None:
    app = make_cca()
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    at = claims(result["access_token"])
    assert at["idtyp"] == "app" and at["appid"] == emu.app.client_id
    assert set(at["roles"]) == set(emu.app.app_roles)
    assert "scp" not in at
    assert app.acquire_token_for_client(["https://graph.microsoft.com/.default"])["token_source"] == "cache"
    resp = http.get(emu.graph_url + "/users", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert resp.status_code != 401


@pytest.mark.parametrize("form", ["thumbprint", "public_certificate"])
def test_client_credentials_with_certificate(emu: Emulator, make_cca: Any, form: str) -> None:
    key = Path(emu.app.key_path).read_text()
    if form == "thumbprint":  # RS256 with x5t
        credential = {"private_key": key, "thumbprint": emu.app.thumbprint}
    else:  # PS256 with x5t#S256 and x5c
        credential = {"private_key": key, "public_certificate": Path(emu.app.cert_path).read_text()}
    app = make_cca(credential=credential)
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    entry = [e for e in emu.log if e.grant_type == "client_credentials"][-1]
    assert entry.extra["client_auth"] == "private_key_jwt"
    # msal reuses the same signed assertion (same jti) for ~9 minutes: must still work.
    app.remove_tokens_for_client()
    assert "access_token" in app.acquire_token_for_client(["https://graph.microsoft.com/.default"])


def test_device_code_flow_public_client_with_device_login_page(
        emu: Emulator, make_pca: Any, http: Any, browsers: Any) -> None:
    emu.clear_log()
    app = make_pca()
    flow = app.initiate_device_flow(scopes=["https://graph.microsoft.com/Mail.ReadWrite"])
    assert flow["verification_uri"] == emu.base_url + "/devicelogin"
    assert flow["user_code"] in flow["message"]
    user = emu.users[2]
    page_texts: list[str] = []

    def pending_polls() -> bool:
        return any(e.error == "authorization_pending" for e in emu.log)

    def person() -> None:
        # Sign in only once msal has polled and heard "pending", not after a guessed delay.
        deadline = time.monotonic() + 30
        while not pending_polls() and time.monotonic() < deadline:
            time.sleep(0.02)
        browser = browsers()
        page_texts.append(browser.device_login(flow["verification_uri"], flow["user_code"], user))

    helper = threading.Thread(target=person)
    helper.start()
    result = app.acquire_token_by_device_flow(flow)
    helper.join()
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == user
    assert "signed in" in page_texts[0]
    polls = [e for e in emu.log if e.grant_type == "urn:ietf:params:oauth:grant-type:device_code"]
    assert any(e.error == "authorization_pending" for e in polls)


def test_device_code_flow_approved_from_python(emu: Emulator, make_pca: Any) -> None:
    app = make_pca()
    flow = app.initiate_device_flow(scopes=["https://graph.microsoft.com/User.Read"])
    timer = threading.Timer(0.2, emu.approve_device_code, args=(flow["user_code"], emu.users[0]))
    timer.start()
    result = app.acquire_token_by_device_flow(flow)
    timer.join()
    assert result["id_token_claims"]["preferred_username"] == emu.users[0]


def test_password_grant(emu: Emulator, make_pca: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # msal drops the authority's port and would look the user's realm up on port 443
    # (reference msal.md §2.5); this is its documented escape hatch.
    skip = set(msal.authority.Authority._domains_without_user_realm_discovery) | {"127.0.0.1"}
    monkeypatch.setattr(msal.authority.Authority, "_domains_without_user_realm_discovery", skip)
    app = make_pca()
    with pytest.warns(DeprecationWarning):
        result = app.acquire_token_by_username_password(
            emu.users[0], emu.demo_password, scopes=["https://graph.microsoft.com/User.Read"])
    assert "access_token" in result, result
    with pytest.warns(DeprecationWarning):
        bad = app.acquire_token_by_username_password(
            emu.users[0], "wrong", scopes=["https://graph.microsoft.com/User.Read"])
    assert bad["error"] == "invalid_grant" and bad["error_codes"] == [50126]


def test_interactive_public_client(emu: Emulator, make_pca: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted = ScriptedBrowser(emu.ca_path, user=emu.users[1])
    emu.config.require_consent = False
    monkeypatch.setattr(webbrowser, "_tryorder", ["o365sql-scripted"])
    monkeypatch.setattr(webbrowser, "_browsers", {"o365sql-scripted": [None, scripted]})
    app = make_pca()
    result = app.acquire_token_interactive(["https://graph.microsoft.com/User.Read"], timeout=20)
    for thread in scripted.threads:
        thread.join()
    assert not scripted.errors
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == emu.users[1]


def test_admin_consent(emu: Emulator, http: Any, browsers: Any) -> None:
    app = emu.register_app(redirect_uris=["https://admin.example/done"], name="admin consent test")
    url = (f"{emu.base_url}/adminconsent?client_id={app.client_id}"
           "&redirect_uri=https://admin.example/done&state=adm")
    landing = browsers().sign_in(url)
    assert landing.params == {"admin_consent": "True", "tenant": emu.tenant_id, "state": "adm"}
    # Once an admin consented, users are not asked again.
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={app.client_id}&response_type=code"
           f"&redirect_uri=https://admin.example/done&scope=Mail.ReadWrite&login_hint={emu.users[4]}")
    assert "code" in browsers().sign_in(url).params


@pytest.mark.parametrize("tenant", ["organizations", "common", "domain"])
def test_other_authority_forms(emu: Emulator, make_cca: Any, http: Any, tenant: str, browsers: Any) -> None:
    segment = emu.directory.primary_domain if tenant == "domain" else tenant
    doc = http.get(f"{emu.base_url}/{segment}/v2.0/.well-known/openid-configuration").json()
    expected = emu.tenant_id if tenant == "domain" else tenant
    assert doc["token_endpoint"] == f"{emu.base_url}/{expected}/oauth2/v2.0/token"
    app = make_cca(authority=f"{emu.base_url}/{segment}")
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri="http://localhost:33333",
                                       response_mode="form_post", login_hint=emu.users[0])
    landing = browsers().sign_in(flow["auth_uri"])
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, landing.params)
