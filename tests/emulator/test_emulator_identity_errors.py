"""The identity platform's errors: AADSTS numbers, Entra's JSON shape, error pages."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from o365sql.emulator import Emulator
from o365sql.emulator.identity.browser import parse_forms

SCOPES = ["https://graph.microsoft.com/User.Read"]


def token_url(emu: Emulator) -> str:
    return f"{emu.authority}/oauth2/v2.0/token"


def assert_entra_error(resp: Any, status: int, error: str, code: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "error_description", "error_codes", "timestamp", "trace_id",
                         "correlation_id", "error_uri"}
    assert body["error"] == error
    assert body["error_codes"] == [code]
    description = body["error_description"]
    assert description.startswith(f"AADSTS{code}: ")
    assert f"\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}" in description
    assert "\r\nTimestamp: " in description
    return body


def code_for(emu: Emulator, browsers: Any, *, challenge: str | None = None, method: str = "S256",
             user: int = 0) -> str:
    emu.config.require_consent = False
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}&response_type=code"
           f"&redirect_uri=http://localhost:33333&scope=User.Read%20offline_access&login_hint={emu.users[user]}")
    if challenge:
        url += f"&code_challenge={challenge}&code_challenge_method={method}"
    return browsers().sign_in(url).params["code"]


def redeem(http: Any, emu: Emulator, code: str, **extra: str) -> Any:
    form = {"client_id": emu.app.client_id, "client_secret": emu.app.client_secret,
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": "http://localhost:33333", "scope": "User.Read offline_access"}
    form.update(extra)
    return http.post(token_url(emu), data=form, headers={"client-request-id": "corr-1"})


def test_wrong_secret_is_7000215_with_401(emu: Emulator, http: Any, make_cca: Any) -> None:
    resp = http.post(token_url(emu), data={
        "client_id": emu.app.client_id, "client_secret": "not-it", "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default"}, headers={"client-request-id": "abc-123"})
    body = assert_entra_error(resp, 401, "invalid_client", 7000215)
    assert body["correlation_id"] == "abc-123"
    assert "not-it" not in resp.text
    result = make_cca(credential="still-wrong").acquire_token_for_client(
        ["https://graph.microsoft.com/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_unknown_client_is_700016(emu: Emulator, http: Any) -> None:
    resp = http.post(token_url(emu), data={
        "client_id": str(uuid.uuid4()), "client_secret": "x", "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default"})
    assert_entra_error(resp, 400, "unauthorized_client", 700016)


def test_redirect_uri_mismatch_is_an_error_page_not_a_redirect(emu: Emulator, http: Any) -> None:
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}&response_type=code"
           "&redirect_uri=https://evil.example/cb&scope=User.Read&state=s")
    resp = http.get(url, allow_redirects=False)
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "text/html" in resp.headers["Content-Type"]
    assert "AADSTS50011" in resp.text and "https://evil.example/cb" in resp.text


def test_loopback_redirect_ignores_the_port(emu: Emulator, http: Any) -> None:
    for uri, ok in [("http://localhost:45678", True), ("http://127.0.0.1:5001/callback", True),
                    ("http://localhost:45678/other", False), ("https://localhost:33333", False)]:
        url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
               f"&response_type=code&redirect_uri={uri}&scope=User.Read")
        resp = http.get(url, allow_redirects=False)
        assert ("AADSTS50011" not in resp.text) is ok, uri


def test_reused_code_is_54005_and_unknown_code_70008(emu: Emulator, http: Any, browsers: Any) -> None:
    code = code_for(emu, browsers)
    assert redeem(http, emu, code).status_code == 200
    assert_entra_error(redeem(http, emu, code), 400, "invalid_grant", 54005)
    assert_entra_error(redeem(http, emu, "1.EMU.nonsense"), 400, "invalid_grant", 70008)


def test_expired_code_is_70008(emu: Emulator, http: Any, browsers: Any) -> None:
    emu.config.code_lifetime = -1
    code = code_for(emu, browsers)
    assert_entra_error(redeem(http, emu, code), 400, "invalid_grant", 70008)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_pkce_s256_and_plain(emu: Emulator, http: Any, browsers: Any) -> None:
    verifier = "v" * 50
    code = code_for(emu, browsers, challenge=_s256(verifier))
    assert_entra_error(redeem(http, emu, code, code_verifier="w" * 50), 400, "invalid_grant", 501481)
    code = code_for(emu, browsers, challenge=_s256(verifier))
    assert_entra_error(redeem(http, emu, code), 400, "invalid_grant", 501481)  # verifier missing
    code = code_for(emu, browsers, challenge=_s256(verifier))
    assert redeem(http, emu, code, code_verifier=verifier).status_code == 200
    code = code_for(emu, browsers, challenge=verifier, method="plain")
    assert redeem(http, emu, code, code_verifier=verifier).status_code == 200


def test_bad_scope_is_70011(emu: Emulator, http: Any, browsers: Any) -> None:
    resp = http.post(f"{emu.authority}/oauth2/v2.0/devicecode", data={
        "client_id": emu.public_app.client_id,
        "scope": "https://graph.microsoft.com/Mail.Frobnicate offline_access"})
    assert_entra_error(resp, 400, "invalid_scope", 70011)
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}&response_type=code"
           "&redirect_uri=http://localhost:33333&scope=Nope.Read&state=q")
    landing = browsers().sign_in(url)
    assert landing.params["error"] == "invalid_scope"
    assert landing.params["error_description"].startswith("AADSTS70011")
    assert landing.params["state"] == "q"
    resp = http.post(token_url(emu), data={
        "client_id": emu.app.client_id, "client_secret": emu.app.client_secret,
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/Mail.Read"})
    assert_entra_error(resp, 400, "invalid_scope", 1002012)


def _refresh(http: Any, emu: Emulator, rt: str) -> Any:
    return http.post(token_url(emu), data={
        "client_id": emu.app.client_id, "client_secret": emu.app.client_secret,
        "grant_type": "refresh_token", "refresh_token": rt, "scope": "User.Read offline_access"})


def test_revoked_refresh_token_is_50173(emu: Emulator, http: Any, browsers: Any) -> None:
    rt = redeem(http, emu, code_for(emu, browsers, user=2)).json()["refresh_token"]
    rotated = _refresh(http, emu, rt)
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != rt
    emu.revoke_refresh_tokens(emu.users[2])
    assert_entra_error(_refresh(http, emu, rotated.json()["refresh_token"]), 400, "invalid_grant", 50173)
    # A new sign-in after the revocation gets working refresh tokens again.
    time.sleep(0.01)
    fresh = redeem(http, emu, code_for(emu, browsers, user=2)).json()["refresh_token"]
    assert _refresh(http, emu, fresh).status_code == 200


def test_expired_refresh_token_is_700082(emu: Emulator, http: Any, browsers: Any) -> None:
    rt = redeem(http, emu, code_for(emu, browsers, user=1)).json()["refresh_token"]
    emu.config.refresh_token_lifetime = 0
    time.sleep(0.01)
    assert_entra_error(_refresh(http, emu, rt), 400, "invalid_grant", 700082)


def test_device_code_pending_is_authorization_pending(emu: Emulator, http: Any) -> None:
    flow = http.post(f"{emu.authority}/oauth2/v2.0/devicecode", data={
        "client_id": emu.public_app.client_id, "scope": "User.Read"}).json()
    poll = {"client_id": emu.public_app.client_id, "device_code": flow["device_code"],
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code"}
    assert_entra_error(http.post(token_url(emu), data=poll), 400, "authorization_pending", 70016)
    emu.approve_device_code(flow["user_code"], emu.users[0])
    assert http.post(token_url(emu), data=poll).status_code == 200


def test_device_login_rejects_an_unknown_code(emu: Emulator, http: Any) -> None:
    resp = http.post(emu.base_url + "/devicelogin", data={"otc": "NOPE12345"})
    assert resp.status_code == 400
    assert parse_forms(resp.text)[0].form_id == "devicecode-form"


def _assertion(emu: Emulator, key_pem: bytes, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"aud": token_url(emu), "iss": emu.app.client_id, "sub": emu.app.client_id,
              "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())}
    claims.update(overrides)
    x5t = base64.urlsafe_b64encode(bytes.fromhex(emu.app.thumbprint or "")).decode()  # padded, like msal
    return jwt.encode(claims, key_pem, algorithm="RS256", headers={"x5t": x5t})


def _client_assertion_request(http: Any, emu: Emulator, assertion: str) -> Any:
    return http.post(token_url(emu), data={
        "client_id": emu.app.client_id, "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion})


def test_client_assertion_checks(emu: Emulator, http: Any, make_cca: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = Path(emu.app.key_path or "").read_bytes()
    assert _client_assertion_request(http, emu, _assertion(emu, key)).status_code == 200
    expired = _assertion(emu, key, exp=int(time.time()) - 5)
    assert_entra_error(_client_assertion_request(http, emu, expired), 401, "invalid_client", 700024)
    wrong_aud = _assertion(emu, key, aud="https://elsewhere.example/token")
    assert_entra_error(_client_assertion_request(http, emu, wrong_aud), 401, "invalid_client", 700212)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    forged = _assertion(emu, other)
    assert_entra_error(_client_assertion_request(http, emu, forged), 401, "invalid_client", 700027)
    # The same forgery through msal: the signature does not match the registered certificate.
    result = make_cca(credential={"private_key": other.decode(), "thumbprint": emu.app.thumbprint}
                      ).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert result["error_codes"] == [700027]
    emu.config.reject_assertion_replay = True
    once = _assertion(emu, key)
    assert _client_assertion_request(http, emu, once).status_code == 200
    assert_entra_error(_client_assertion_request(http, emu, once), 401, "invalid_client", 700027)


def test_client_credentials_on_common_is_refused(emu: Emulator, http: Any) -> None:
    resp = http.post(f"{emu.base_url}/common/oauth2/v2.0/token", data={
        "client_id": emu.app.client_id, "client_secret": emu.app.client_secret,
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"})
    assert_entra_error(resp, 400, "invalid_request", 900023)


def test_unknown_tenant_and_get_on_token_endpoint(emu: Emulator, http: Any) -> None:
    resp = http.get(f"{emu.base_url}/no-such-tenant.example/v2.0/.well-known/openid-configuration")
    assert_entra_error(resp, 400, "invalid_tenant", 90002)
    assert_entra_error(http.get(token_url(emu)), 400, "invalid_request", 900561)
    assert_entra_error(http.post(token_url(emu), data={
        "client_id": emu.app.client_id, "client_secret": emu.app.client_secret,
        "grant_type": "magic"}), 400, "unsupported_grant_type", 70003)


def test_public_client_cannot_use_a_secret(emu: Emulator, http: Any) -> None:
    resp = http.post(token_url(emu), data={
        "client_id": emu.public_app.client_id, "client_secret": "x",
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"})
    assert_entra_error(resp, 401, "invalid_client", 700025)


@pytest.mark.parametrize("field", ["client_id", "redirect_uri"])
def test_authorize_errors_before_redirect_are_pages(emu: Emulator, http: Any, field: str) -> None:
    params = {"client_id": str(uuid.uuid4()) if field == "client_id" else emu.app.client_id,
              "redirect_uri": "http://localhost:33333" if field == "client_id" else "http://x.example/",
              "response_type": "code", "scope": "User.Read"}
    resp = http.get(f"{emu.authority}/oauth2/v2.0/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert ("AADSTS700016" if field == "client_id" else "AADSTS50011") in resp.text
