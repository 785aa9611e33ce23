"""The two web flows GetOAuthAuthorizationURL + GetOAuthAccessToken AuthMode=WEB offer, chosen
by whether the caller gives a State:

* with State: PKCE (S256) and a nonce; msal's flow waits in a pending sign-in keyed by the
  State, so the code is redeemed with its verifier (in this process or another);
* without State (the flow as CData documents it: the URL, then the bare code): no PKCE and no
  state in the URL, and the bare code is redeemed on its own (msal's stateless pair,
  get_authorization_request_url + acquire_token_by_authorization_code).

Both run end to end across two processes; the legacy one also in-process. The emulator's
request log says which PKCE method each code redemption proved (None: none was asked for)."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import CALLBACK, context, query, step, whoami

from o365sql import auth, procedures
from o365sql.exceptions import AuthenticationError


def code_redemptions(emu: Any) -> list[tuple[Any, int]]:
    """(the PKCE method the emulator checked, or None, HTTP status) of each code redemption."""
    return [(e.extra.get("pkce"), e.status) for e in emu.log
            if e.grant_type == "authorization_code"]


# ---------------------------------------------------------------------- across two processes
def test_cdata_web_flow_without_state_across_two_processes(emu, browser, tmp_path, props):
    # As CData documents it: no State anywhere, and only the code comes back to the app.
    store = str(tmp_path / "web.json")
    first = step(emu, store, "GetOAuthAuthorizationURL", {"CallbackUrl": CALLBACK})
    url = first["rows"][0][0]
    q = query(url)
    assert url.startswith(emu.authority) and q["redirect_uri"] == CALLBACK
    assert "code_challenge" not in q and "state" not in q  # nothing to carry to step two
    # nothing waits for step two either
    assert not list((tmp_path / "web.json.pending").glob("*.json"))

    callback = browser(user=emu.users[2]).visit(url).final_url or ""
    assert callback.startswith(CALLBACK) and "state" not in query(callback)
    code = query(callback)["code"]
    emu.clear_log()
    second = step(emu, store, "GetOAuthAccessToken",
                  {"AuthMode": "WEB", "Verifier": code, "CallbackUrl": CALLBACK})
    assert second["pid"] != first["pid"]
    access, refresh, expires_in = second["rows"][0]
    assert whoami(emu, access) == emu.users[2]
    assert refresh and int(expires_in) > 3000
    assert code_redemptions(emu) == [(None, 200)]  # redeemed without a verifier, as asked
    # saved in the store: a later connection refreshes them
    later = auth.token_provider(props(initiate_oauth="REFRESH", oauth_settings_location=store))
    assert whoami(emu, later.access_token(force_refresh=True)) == emu.users[2]


def test_web_flow_with_state_and_bare_code_across_two_processes_uses_pkce(emu, browser,
                                                                           tmp_path):
    store = str(tmp_path / "web.json")
    first = step(emu, store, "GetOAuthAuthorizationURL",
                 {"CallbackUrl": CALLBACK, "State": "visitor-42"})
    q = query(first["rows"][0][0])
    assert q["state"] == "visitor-42" and q["code_challenge_method"] == "S256"
    assert len(list((tmp_path / "web.json.pending").glob("*.json"))) == 1

    callback = browser(user=emu.users[3]).visit(first["rows"][0][0]).final_url or ""
    assert query(callback)["state"] == "visitor-42"
    emu.clear_log()
    second = step(emu, store, "GetOAuthAccessToken",
                  {"AuthMode": "WEB", "Verifier": query(callback)["code"],
                   "State": "visitor-42", "CallbackUrl": CALLBACK})
    assert second["pid"] != first["pid"]
    assert whoami(emu, second["rows"][0][0]) == emu.users[3]
    assert code_redemptions(emu) == [("S256", 200)]
    assert not list((tmp_path / "web.json.pending").glob("*.json"))  # used once


# ---------------------------------------------------------------------- in one process
def test_without_state_in_process_bare_code_and_whole_callback_url(emu, browser, props):
    p = props()
    run_url = procedures.get("GetOAuthAuthorizationURL").run
    run_token = procedures.get("GetOAuthAccessToken").run
    emu.clear_log()
    url = run_url(context(p), {"CallbackUrl": CALLBACK})[0][0]
    assert "code_challenge" not in query(url) and "state" not in query(url)
    code = query(browser(user=emu.users[0]).visit(url).final_url or "")["code"]
    rows = run_token(context(p), {"AuthMode": "WEB", "Verifier": code, "CallbackUrl": CALLBACK})
    assert whoami(emu, rows[0][0]) == emu.users[0]
    # the whole callback URL of such a sign-in works the same way
    url = run_url(context(p), {"CallbackUrl": CALLBACK, "Prompt": "login"})[0][0]
    assert query(url)["prompt"] == "login"
    callback = browser(user=emu.users[1]).visit(url).final_url
    rows = run_token(context(p), {"AuthMode": "WEB", "Verifier": callback})
    assert whoami(emu, rows[0][0]) == emu.users[1]
    assert code_redemptions(emu) == [(None, 200), (None, 200)]


def test_without_state_form_post_is_still_offered(emu, browser, props):
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(props()), {"CallbackUrl": CALLBACK, "ResponseMode": "form_post"})[0][0]
    assert query(url)["response_mode"] == "form_post" and "code_challenge" not in query(url)
    visit = browser(user=emu.users[2]).visit(url)
    assert visit.final_url == CALLBACK and "code" in visit.final_fields
    rows = procedures.get("GetOAuthAccessToken").run(
        context(props()), {"AuthMode": "WEB", "Verifier": visit.final_fields["code"],
                           "CallbackUrl": CALLBACK})
    assert whoami(emu, rows[0][0]) == emu.users[2]


def test_a_pkce_code_redeemed_without_its_state_says_to_give_the_state(emu, browser, props):
    # The one mix-up left: the URL was made with a State (PKCE), the code comes back bare.
    p = props()
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context(p), {"CallbackUrl": CALLBACK, "State": "s-forgotten"})[0][0]
    code = query(browser().visit(url).final_url or "")["code"]
    with pytest.raises(AuthenticationError) as info:
        procedures.get("GetOAuthAccessToken").run(
            context(p), {"AuthMode": "WEB", "Verifier": code, "CallbackUrl": CALLBACK})
    assert info.value.code == "AADSTS501481"
    assert "State" in str(info.value) and code not in str(info.value)
    # with its State it is redeemed (the emulator did not use the code up on the refusal)
    rows = procedures.get("GetOAuthAccessToken").run(
        context(p), {"AuthMode": "WEB", "Verifier": code, "State": "s-forgotten",
                     "CallbackUrl": CALLBACK})
    assert whoami(emu, rows[0][0]) == emu.users[1]


def test_procedure_descriptions_say_when_pkce_is_used():
    url_state = {p.name: p for p in procedures.get("GetOAuthAuthorizationURL").parameters}
    token_state = {p.name: p for p in procedures.get("GetOAuthAccessToken").parameters}
    assert "PKCE" in url_state["State"].description
    assert "PKCE" in token_state["State"].description
