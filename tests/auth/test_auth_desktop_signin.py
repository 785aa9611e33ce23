"""Desktop sign-in end to end: InitiateOAuth=GETANDREFRESH opens "the browser" (a scripted
person on the emulator's real sign-in pages), the loopback CallbackURL listener receives the
code, msal redeems it; device-code sign-in on the /devicelogin page."""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest
import requests

from o365sql import auth
from o365sql.auth import interactive
from o365sql.exceptions import AuthenticationError, ProgrammingError


def whoami(emu: Any, token: str) -> str:
    r = requests.get(emu.graph_url + "/me", headers={"Authorization": f"Bearer {token}"},
                     verify=emu.ca_path, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["userPrincipalName"])


def token_grants(emu: Any) -> list[str]:
    return [e.grant_type for e in emu.log if e.grant_type]


def test_confidential_app_signs_in_through_the_browser(emu, props, browser, tmp_path):
    person = browser(user=emu.users[2])
    provider = auth.token_provider(
        props(initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0/callback"),
        browser=person)
    token = provider.access_token()

    assert whoami(emu, token) == emu.users[2]
    visit = person.visits[0]
    # the real pages were used: picker with the chosen user, then the consent page
    assert any("signin-form" in p for p in visit.pages)
    assert any("consent-form" in p for p in visit.pages)
    # response_mode=form_post delivered the code to our listener on the CallbackURL path
    assert visit.final_url is not None and visit.final_url.startswith("http://localhost:")
    assert visit.final_url.endswith("/callback") and "code" in visit.final_fields
    # the token store: 0600 file, 0600 lock file, the account recorded
    store = tmp_path / "tokens.json"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(f"{store}.lock").st_mode) == 0o600
    assert emu.users[2] in repr(provider)
    # a second call is served from memory: no new token request
    emu.clear_log()
    assert provider.access_token() == token
    assert token_grants(emu) == []


def test_stored_tokens_serve_a_later_connection_without_a_browser(emu, props, browser):
    first = auth.token_provider(props(initiate_oauth="GETANDREFRESH",
                                      callback_url="http://localhost:33333"),
                                browser=browser(user=emu.users[0]))
    first.access_token()

    def no_browser(url: str) -> bool:
        raise AssertionError("a stored refresh token should have been used")

    for mode in ("REFRESH", "GETANDREFRESH"):
        later = auth.token_provider(props(initiate_oauth=mode), browser=no_browser)
        assert whoami(emu, later.access_token()) == emu.users[0]


def test_public_client_signs_in_without_a_secret(emu, props, browser):
    person = browser(user=emu.users[3])
    provider = auth.token_provider(
        props(oauth_client_id=emu.public_app.client_id, oauth_client_secret=None,
              initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0"),
        browser=person)
    assert whoami(emu, provider.access_token()) == emu.users[3]


def test_declined_consent_is_an_authentication_error(emu, props, browser):
    provider = auth.token_provider(
        props(initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0/callback"),
        browser=browser(consent=False))
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    assert info.value.code and info.value.code.startswith("AADSTS")
    assert "browser sign-in failed" in str(info.value)


def test_unregistered_redirect_uri_is_shown_by_the_authority(emu, props, browser, monkeypatch):
    # /elsewhere is not among the app's redirect URIs: Entra shows AADSTS50011 in the browser
    # and never redirects, so the listener gives up after the sign-in timeout.
    monkeypatch.setattr(interactive, "SIGN_IN_TIMEOUT", 1.5)
    person = browser()
    provider = auth.token_provider(
        props(initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0/elsewhere"),
        browser=person)
    with pytest.raises(AuthenticationError, match="timed out"):
        provider.access_token()
    assert person.visits[0].error_page is not None
    assert "AADSTS50011" in person.visits[0].error_page


def test_callback_url_must_be_loopback_for_desktop_sign_in(props, browser):
    provider = auth.token_provider(
        props(initiate_oauth="GETANDREFRESH", callback_url="https://app.example/cb"),
        browser=browser())
    with pytest.raises(ProgrammingError, match="loopback CallbackURL"):
        provider.access_token()


def _with_grant_type(p: Any, grant: str) -> Any:
    return p.replace(oauth_grant_type=grant)


def test_device_code_sign_in_on_the_devicelogin_page(emu, props, browser):
    person = browser(user=emu.users[1])
    shown: list[dict[str, Any]] = []

    def prompt(info: Any) -> None:
        shown.append(dict(info))
        # the person types the code on another device: the /devicelogin page
        page = person.session.get(info["verification_uri"], verify=emu.ca_path, timeout=30)
        assert "devicecode-form" in page.text
        response = person.session.post(info["verification_uri"], data={"otc": info["user_code"]},
                                       verify=emu.ca_path, timeout=30, allow_redirects=False)
        assert response.status_code == 200 and "signin-form" in response.text
        # pick the account and consent, exactly as on the browser pages
        visit = person.drive(response)
        assert visit.error_page is not None and "signed in" in visit.error_page

    p = _with_grant_type(props(oauth_client_id=emu.public_app.client_id,
                               oauth_client_secret=None, initiate_oauth="GETANDREFRESH"),
                         "DEVICE_CODE")
    provider = auth.token_provider(p, device_code_prompt=prompt)
    assert whoami(emu, provider.access_token()) == emu.users[1]
    assert shown and shown[0]["user_code"] in shown[0]["message"]
    assert "urn:ietf:params:oauth:grant-type:device_code" in token_grants(emu)


def test_device_code_needs_a_public_client(props):
    p = _with_grant_type(props(initiate_oauth="GETANDREFRESH"), "DEVICE_CODE")
    with pytest.raises(ProgrammingError, match="public client"):
        auth.token_provider(p, device_code_prompt=lambda info: None).access_token()
