"""PKCE (S256) wherever o365sql makes the authorize URL: the web flow through the procedures
(URL in one process, code redeemed in another), the desktop browser sign-in, and the headless
OAuthVerifier sign-in. Checked on both sides: the authorize URL carries code_challenge with
code_challenge_method=S256, and the emulator's request log shows the redemption proved it with
the matching code_verifier (a wrong or missing verifier is AADSTS501481 there)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from signin_browser import run_python

from o365sql import auth, procedures

CALLBACK = "https://app.example/cb"

_STEP = """
    import json, types
    from o365sql.properties import parse_properties
    from o365sql import procedures
    context = types.SimpleNamespace(properties=parse_properties({dsn!r}), graph=None,
                                    connection=None)
    print(json.dumps(procedures.get({name!r}).run(context, {args!r})))
"""


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()


def code_redemptions(emu: Any) -> list[tuple[Any, int]]:
    """(the PKCE method the emulator checked, HTTP status) of each code redemption."""
    return [(e.extra.get("pkce"), e.status) for e in emu.log
            if e.grant_type == "authorization_code"]


def assert_s256_challenge(url: str) -> str:
    q = query(url)
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43  # base64url of a SHA-256 digest
    return q["code_challenge"]


def test_web_flow_across_processes_uses_pkce_s256(emu, browser, tmp_path):
    store = tmp_path / "web.json"
    dsn = ";".join(f"{k}='{v}'" for k, v in {
        "OAuthClientId": emu.app.client_id, "OAuthClientSecret": emu.app.client_secret,
        "AuthorityURL": emu.base_url, "AzureTenant": emu.tenant_id,
        "SSLServerCert": emu.ca_path, "OAuthSettingsLocation": str(store)}.items())
    url = run_python(_STEP.format(dsn=dsn, name="GetOAuthAuthorizationURL",
                                  args={"CallbackUrl": CALLBACK, "State": "pkce-1"}))[0][0]
    challenge = assert_s256_challenge(url)
    # the verifier waits, private, in the pending sign-in the second process will take back
    (pending,) = (tmp_path / "web.json.pending").glob("*.json")
    verifier = json.loads(pending.read_text())["flow"]["code_verifier"]
    assert s256(verifier) == challenge and verifier not in url
    callback = browser().visit(url).final_url or ""
    emu.clear_log()
    rows = run_python(_STEP.format(dsn=dsn, name="GetOAuthAccessToken",
                                   args={"AuthMode": "WEB", "Verifier": callback}))
    assert rows[0][0]
    assert code_redemptions(emu) == [("S256", 200)]


def test_desktop_browser_sign_in_uses_pkce_s256(emu, props, browser):
    person = browser(user=emu.users[0])
    urls: list[str] = []

    def at_browser(url: str) -> bool:
        urls.append(url)
        return person(url)

    emu.clear_log()
    provider = auth.token_provider(props(initiate_oauth="GETANDREFRESH",
                                         callback_url="http://localhost:0"), browser=at_browser)
    provider.access_token()
    assert len(urls) == 1
    assert_s256_challenge(urls[0])
    assert query(urls[0])["response_mode"] == "form_post"
    assert code_redemptions(emu) == [("S256", 200)]


def test_headless_oauth_verifier_sign_in_uses_pkce_s256(emu, props, browser):
    url = procedures.get("GetOAuthAuthorizationURL").run(
        _context(props()), {"CallbackUrl": CALLBACK, "State": "pkce-headless"})[0][0]
    assert_s256_challenge(url)
    callback = browser(user=emu.users[3]).visit(url).final_url
    emu.clear_log()
    provider = auth.token_provider(props(initiate_oauth="REFRESH", oauth_verifier=callback,
                                         callback_url=CALLBACK))
    assert provider.access_token()
    assert code_redemptions(emu) == [("S256", 200)]


def test_get_oauth_access_token_app_mode_uses_pkce_s256(emu, props, browser):
    person = browser(user=emu.users[0])
    urls: list[str] = []
    previous = auth.set_browser(lambda url: urls.append(url) or person(url))
    try:
        emu.clear_log()
        rows = procedures.get("GetOAuthAccessToken").run(
            _context(props()), {"CallbackUrl": "http://localhost:0/callback"})
    finally:
        auth.set_browser(previous)
    assert rows[0][0] and len(urls) == 1
    assert_s256_challenge(urls[0])
    assert code_redemptions(emu) == [("S256", 200)]


def _context(p: Any) -> Any:
    import types

    return types.SimpleNamespace(properties=p, graph=None, connection=None)
