"""The web application's sign-in through the OAuth procedures: GetOAuthAuthorizationURL in one
process, the person at the browser, GetOAuthAccessToken (AuthMode=WEB) in another process;
then the saved tokens serve a connection with InitiateOAuth=REFRESH. Also state and redirect
URI mismatches, single use, expiry of pending sign-ins, RefreshOAuthAccessToken and
GetAdminConsentURL."""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest
from web_support import CALLBACK, context, query, step, whoami

from o365sql import auth, procedures
from o365sql.exceptions import AuthenticationError, ProgrammingError


def test_web_flow_across_two_processes(emu, browser, tmp_path, props):
    store = str(tmp_path / "web-tokens.json")
    first = step(emu, store, "GetOAuthAuthorizationURL",
                 {"CallbackUrl": CALLBACK, "State": "s-123"})
    url = first["rows"][0][0]
    assert url.startswith(emu.authority) and query(url)["state"] == "s-123"
    assert query(url)["code_challenge_method"] == "S256"  # PKCE

    visit = browser(user=emu.users[2]).visit(url)
    assert visit.final_url is not None and visit.final_url.startswith(CALLBACK)
    code = query(visit.final_url)["code"]
    assert query(visit.final_url)["state"] == "s-123"

    second = step(emu, store, "GetOAuthAccessToken",
                  {"AuthMode": "WEB", "Verifier": code, "State": "s-123", "CallbackUrl": CALLBACK})
    assert second["pid"] != first["pid"]
    access, refresh, expires_in = second["rows"][0]
    assert whoami(emu, access) == emu.users[2]
    assert refresh and 3000 < int(expires_in) <= 3599
    assert os.stat(store).st_mode & 0o777 == 0o600

    # a later connection refreshes what the procedure saved, without any browser
    later = auth.token_provider(props(initiate_oauth="REFRESH", oauth_settings_location=store))
    assert whoami(emu, later.access_token(force_refresh=True)) == emu.users[2]


def test_the_whole_callback_url_is_accepted_as_verifier(emu, browser, props):
    p = props()
    url = procedures.get("getoauthauthorizationurl").run(context(p), {"callbackurl": CALLBACK})
    visit = browser().visit(url[0][0])
    rows = procedures.get("GetOAuthAccessToken").run(
        context(p), {"@AuthMode": "WEB", "@Verifier": visit.final_url, "@CallbackUrl": CALLBACK})
    assert whoami(emu, rows[0][0]) == emu.users[1]


def test_state_mismatch_is_refused(emu, browser, props):
    p = props()
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(p), {"CallbackUrl": CALLBACK, "State": "mine"})[0][0]
    visit = browser().visit(url)
    code = query(visit.final_url)["code"]
    run = procedures.get("GetOAuthAccessToken").run
    with pytest.raises(AuthenticationError, match="no sign-in started"):
        run(context(p), {"AuthMode": "WEB", "Verifier": code, "State": "theirs",
                         "CallbackUrl": CALLBACK})
    with pytest.raises(AuthenticationError, match="State does not match"):
        run(context(p), {"AuthMode": "WEB", "Verifier": visit.final_url, "State": "theirs"})
    # the right state still works, once
    rows = run(context(p), {"AuthMode": "WEB", "Verifier": code, "State": "mine"})
    assert rows[0][0]
    with pytest.raises(AuthenticationError, match="used already"):
        run(context(p), {"AuthMode": "WEB", "Verifier": code, "State": "mine"})


def test_callback_url_must_match_the_one_the_url_was_made_for(emu, browser, props):
    p = props()
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(p), {"CallbackUrl": CALLBACK, "State": "s-cb"})[0][0]
    code = query(browser().visit(url).final_url)["code"]
    with pytest.raises(AuthenticationError, match="CallbackUrl"):
        procedures.get("GetOAuthAccessToken").run(
            context(p), {"AuthMode": "WEB", "Verifier": code, "State": "s-cb",
                         "CallbackUrl": "https://app.example/other"})


def test_unregistered_callback_url_is_refused_by_the_authority(emu, browser, props):
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(props()), {"CallbackUrl": "https://evil.example/cb"})[0][0]
    visit = browser().visit(url)
    assert visit.final_url is None  # never redirected to the unregistered address
    assert visit.error_page is not None and "AADSTS50011" in visit.error_page


def test_code_redeemed_with_another_redirect_uri_fails_at_the_authority(emu, browser, props):
    # A URL built elsewhere (no pending sign-in, no state given): the one-step redemption.
    p = props()
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(p), {"CallbackUrl": CALLBACK})[0][0]
    code = query(browser().visit(url).final_url)["code"]
    with pytest.raises(AuthenticationError) as info:
        procedures.get("GetOAuthAccessToken").run(
            context(p), {"AuthMode": "WEB", "Verifier": code,
                         "CallbackUrl": "http://localhost:33333"})
    assert info.value.code is not None and info.value.code.startswith("AADSTS")
    assert info.value.request_id  # the authority's trace id
    assert code not in str(info.value)


def test_pending_sign_ins_expire(emu, browser, props, tmp_path):
    p = props()
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(p), {"CallbackUrl": CALLBACK, "State": "old"})[0][0]
    pending = list((tmp_path / "tokens.json.pending").glob("*.json"))
    assert len(pending) == 1 and pending[0].stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tokens.json.pending").stat().st_mode & 0o777 == 0o700
    eleven_minutes_ago = time.time() - 660
    os.utime(pending[0], (eleven_minutes_ago, eleven_minutes_ago))
    # the file's content says when it was made; rewrite it as if made then
    text = pending[0].read_text().replace('"created": ', '"created": 0, "was": ', 1)
    pending[0].write_text(text)
    code = query(browser().visit(url).final_url)["code"]
    with pytest.raises(AuthenticationError, match="older than 10 minutes"):
        procedures.get("GetOAuthAccessToken").run(
            context(p), {"AuthMode": "WEB", "Verifier": code, "State": "old"})


def test_refresh_procedure_rotates_tokens_and_saves_them(emu, browser, props, tmp_path):
    p = props()
    url = procedures.get("GetOAuthAuthorizationURL").run(context(p), {"CallbackUrl": CALLBACK})
    first = procedures.get("GetOAuthAccessToken").run(
        context(p), {"AuthMode": "WEB", "Verifier": browser().visit(url[0][0]).final_url})[0]
    again = procedures.get("RefreshOAuthAccessToken").run(
        context(p), {"OAuthRefreshToken": first[1]})[0]
    assert again[0] != first[0] and again[1] and again[1] != first[1]
    assert whoami(emu, again[0]) == emu.users[1]
    # without the parameter, the refresh token comes from the token store
    third = procedures.get("RefreshOAuthAccessToken").run(context(p), {})[0]
    assert third[0] != again[0]
    # a made-up refresh token: the authority's error, without the token in it
    with pytest.raises(AuthenticationError) as info:
        procedures.get("RefreshOAuthAccessToken").run(
            context(p), {"OAuthRefreshToken": "not-a-refresh-token-1234"})
    assert "not-a-refresh-token-1234" not in str(info.value)
    assert "GetOAuthAccessToken" in str(info.value)


def test_admin_consent_url(emu, props, browser):
    rows = procedures.get("GetAdminConsentURL").run(
        context(props()), {"CallbackUrl": CALLBACK, "State": "adm"})
    url = rows[0][0]
    q = query(url)
    assert urlsplit(url).path == f"/{emu.tenant_id}/v2.0/adminconsent"
    assert q == {"client_id": emu.app.client_id, "redirect_uri": CALLBACK, "state": "adm",
                 "scope": "https://graph.microsoft.com/.default"}
    visit = browser().visit(url)  # the emulator's admin-consent page accepts it
    assert visit.final_url is not None and query(visit.final_url).get("admin_consent") == "True"


def test_procedures_name_what_is_missing(props):
    with pytest.raises(ProgrammingError, match="CallbackUrl"):
        procedures.get("GetOAuthAuthorizationURL").run(context(props()), {})
    with pytest.raises(ProgrammingError, match="Verifier"):
        procedures.get("GetOAuthAccessToken").run(context(props()), {"AuthMode": "WEB"})
    with pytest.raises(ProgrammingError, match="OAuthClientId"):
        procedures.get("GetOAuthAuthorizationURL").run(
            context(props(oauth_client_id=None)), {"CallbackUrl": CALLBACK})


def test_oauth_verifier_property_completes_a_headless_sign_in(emu, browser, props):
    # Step 1 on the headless machine: the URL; step 2 elsewhere: the person signs in and
    # copies the callback address; step 3: connect with OAuthVerifier set to it.
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(props()), {"CallbackUrl": CALLBACK, "State": "headless"})[0][0]
    callback = browser(user=emu.users[3]).visit(url).final_url
    provider = auth.token_provider(props(initiate_oauth="REFRESH", oauth_verifier=callback,
                                         callback_url=CALLBACK))
    assert whoami(emu, provider.access_token()) == emu.users[3]
    # the store now holds the account: a later connection does not redeem the code again
    later = auth.token_provider(props(initiate_oauth="REFRESH", oauth_verifier=callback))
    assert whoami(emu, later.access_token(force_refresh=True)) == emu.users[3]


def test_app_mode_signs_in_with_this_machines_browser(emu, browser, props, tmp_path):
    person = browser(user=emu.users[0])
    previous = auth.set_browser(person)
    try:
        rows = procedures.get("GetOAuthAccessToken").run(
            context(props()), {"CallbackUrl": "http://localhost:0/callback"})
    finally:
        auth.set_browser(previous)
    access, refresh, expires_in = rows[0]
    assert whoami(emu, access) == emu.users[0] and refresh and int(expires_in) > 3000
    assert len(person.visits) == 1
    # saved: a REFRESH connection on the same store needs no browser
    later = auth.token_provider(props(initiate_oauth="REFRESH"))
    assert whoami(emu, later.access_token()) == emu.users[0]


def test_without_a_settings_location_the_web_procedures_keep_no_tokens(emu, browser, props):
    # A web process signs in many site users and keeps each one's tokens itself: with no
    # OAuthSettingsLocation the procedures return the tokens and hold none in this process.
    p = props(oauth_settings_location=None)
    assert p.oauth_settings_location is None
    url = procedures.get("GetOAuthAuthorizationURL").run(context(p), {"CallbackUrl": CALLBACK})
    first = procedures.get("GetOAuthAccessToken").run(
        context(p), {"AuthMode": "WEB", "Verifier": browser().visit(url[0][0]).final_url})[0]
    again = procedures.get("RefreshOAuthAccessToken").run(
        context(p), {"OAuthRefreshToken": first[1]})[0]
    assert whoami(emu, again[0]) == emu.users[1]
    store = auth.open_token_store(auth.AuthSettings.from_properties(p))
    with store.transaction() as state:
        kept = repr((state.msal_cache, state.record, state.partitions))
    for token in (*first[:2], *again[:2]):
        assert token not in kept, "the process kept a site user's tokens"
