"""Every AuthenticationError made from an identity-platform (AADSTS) answer carries the AADSTS
code as ``.code``, the trace id as ``.request_id`` (and in the message), the correlation id,
and says how to fix it or sign in again; each flow that can get such an answer is driven into
one against the emulator."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from o365sql import auth, procedures
from o365sql.auth import interactive
from o365sql.auth.signin_errors import aadsts_facts, error_from_result
from o365sql.exceptions import AuthenticationError

CALLBACK = "https://app.example/cb"


def context(p: Any) -> Any:
    return types.SimpleNamespace(properties=p, graph=None, connection=None)


def failure(call: Callable[[], Any]) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        call()
    return info.value


def check(error: AuthenticationError, code: str, *how: str) -> None:
    text = str(error)
    assert error.code == code, text
    assert error.request_id, text  # the authority's trace id
    assert error.request_id in text
    assert error.extra.get("correlation_id") and error.extra["correlation_id"] in text
    assert "To fix:" in text
    for words in how:
        assert words in text, (words, text)


# ---------------------------------------------------------------------- app-only
def test_app_only_wrong_secret_and_unknown_certificate(emu, props, stranger_pem):
    check(failure(auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                            oauth_client_secret="wrong-secret-98765")
                                      ).access_token),
          "AADSTS7000215", "OAuthClientSecret")
    check(failure(auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                            oauth_jwt_cert=str(stranger_pem))
                                      ).access_token),
          "AADSTS700027", "OAuthJWTCert")


# ---------------------------------------------------------------------- a person's tokens
def test_revoked_refresh_token_and_wrong_secret_on_refresh(emu, props, browser, tmp_path):
    store = str(tmp_path / "t.json")
    auth.token_provider(props(initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0",
                              oauth_settings_location=store),
                        browser=browser(user=emu.users[1])).access_token()
    check(failure(auth.token_provider(props(initiate_oauth="REFRESH",
                                            oauth_client_secret="wrong-secret-98765",
                                            oauth_settings_location=store)).access_token),
          "AADSTS7000215", "OAuthClientSecret", "then sign in again", "GetOAuthAccessToken")
    emu.revoke_refresh_tokens(emu.users[1])
    refresh = auth.token_provider(props(initiate_oauth="REFRESH", oauth_settings_location=store))
    check(failure(lambda: refresh.access_token(force_refresh=True)),
          "AADSTS50173", "sign in again", "InitiateOAuth=GETANDREFRESH", "GetOAuthAccessToken")


def test_refresh_procedure_with_a_bad_refresh_token(emu, props):
    run = procedures.get("RefreshOAuthAccessToken").run
    check(failure(lambda: run(context(props()), {"OAuthRefreshToken": "bogus-refresh-1234"})),
          "AADSTS9002313", "sign in again", "GetOAuthAccessToken")


# ---------------------------------------------------------------------- browser sign-ins
@pytest.fixture
def fresh_app(emu: Any, props: Any) -> Callable[..., Any]:
    """Properties of a newly registered app: nobody has consented to it yet."""
    app = emu.register_app(client_secret="fresh-app-secret-0001",
                           redirect_uris=["http://localhost", CALLBACK], name="fresh")
    return lambda **extra: props(oauth_client_id=app.client_id,
                                 oauth_client_secret="fresh-app-secret-0001", **extra)


def test_desktop_sign_in_declined(emu, fresh_app, browser):
    provider = auth.token_provider(fresh_app(initiate_oauth="GETANDREFRESH",
                                             callback_url="http://localhost:0"),
                                   browser=browser(consent=False))
    check(failure(provider.access_token), "AADSTS65004", "sign in again",
          "InitiateOAuth=GETANDREFRESH")


def test_web_sign_in_declined_and_code_redeemed_badly(emu, fresh_app, browser):
    p = fresh_app()
    get_url, get_token = (procedures.get("GetOAuthAuthorizationURL").run,
                          procedures.get("GetOAuthAccessToken").run)
    url = get_url(context(p), {"CallbackUrl": CALLBACK, "State": "declined"})[0][0]
    declined = browser(consent=False).visit(url).final_url
    assert declined is not None and "error=" in declined
    check(failure(lambda: get_token(context(p), {"AuthMode": "WEB", "Verifier": declined})),
          "AADSTS65004", "GetOAuthAuthorizationURL", "AuthMode=WEB")
    # the code of a PKCE sign-in (its URL made with a State), redeemed without that State:
    # the authority wants the verifier
    url = get_url(context(p), {"CallbackUrl": CALLBACK, "State": "pkce"})[0][0]
    code = parse_qs(urlsplit(browser().visit(url).final_url or "").query)["code"][0]
    error = failure(lambda: get_token(context(p), {"AuthMode": "WEB", "Verifier": code,
                                                   "CallbackUrl": CALLBACK}))
    check(error, "AADSTS501481", "State", "GetOAuthAuthorizationURL")
    assert code not in str(error)


# ---------------------------------------------------------------------- device code
def test_device_code_declined_and_timed_out(emu, props, browser, monkeypatch):
    app = emu.register_app(public=True, name="fresh public")  # nobody has consented yet
    base = props(oauth_client_id=app.client_id, oauth_client_secret=None,
                 initiate_oauth="GETANDREFRESH").replace(oauth_grant_type="DEVICE_CODE")
    person = browser(consent=False)

    def decline(info: Any) -> None:
        page = person.session.post(info["verification_uri"], data={"otc": info["user_code"]},
                                   verify=emu.ca_path, timeout=30, allow_redirects=False)
        person.drive(page)

    check(failure(auth.token_provider(base, device_code_prompt=decline).access_token),
          "AADSTS70019", "sign in again")
    monkeypatch.setattr(interactive, "SIGN_IN_TIMEOUT", 0.2)
    error = failure(auth.token_provider(base, device_code_prompt=lambda info: None).access_token)
    assert "timed out" in str(error)
    assert error.code == "AADSTS70016" and error.request_id and error.request_id in str(error)
    assert "sign in again" in str(error)


# ---------------------------------------------------------------------- the pure parts
def test_facts_come_from_the_description_of_a_redirected_error():
    result = {"error": "access_denied",
              "error_description": "AADSTS65004: User declined to consent to access the app."
                                   "\r\nTrace ID: 0f0e0d0c-1111-2222-3333-444455556666"
                                   "\r\nCorrelation ID: aaaabbbb-1111-2222-3333-444455556666"
                                   "\r\nTimestamp: 2026-01-01 10:00:00Z"}
    assert aadsts_facts(result) == ("AADSTS65004", "0f0e0d0c-1111-2222-3333-444455556666",
                                    "aaaabbbb-1111-2222-3333-444455556666")
    error = error_from_result(result, "browser sign-in", "sign in again")
    assert error.code == "AADSTS65004" and "Timestamp" not in str(error)
    assert str(error).count("0f0e0d0c-1111-2222-3333-444455556666") == 1


def test_credential_errors_say_what_to_fix_before_signing_in_again():
    result = {"error": "invalid_client", "error_codes": [7000222],
              "error_description": "AADSTS7000222: The provided client secret keys are expired.",
              "trace_id": "t-1", "correlation_id": "c-1"}
    text = str(error_from_result(result, "refreshing the access token", "sign in again"))
    assert "To fix: OAuthClientSecret has expired" in text and text.index(
        "OAuthClientSecret") < text.index("then sign in again")
    text = str(error_from_result(result, "app-only sign-in", "a checklist",
                                 hint_after_fix=False))
    assert "OAuthClientSecret has expired" in text and "a checklist" not in text
