"""The emulator's HTTPS server: start-up, discovery, the Graph token gate, bad input, the CLI."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from raw_tls import raw_exchange

from o365sql.emulator import Emulator
from o365sql.emulator.server.wire import EmuRequest
from o365sql.emulator.tenant.build import build_tenant

WWW_AUTH = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"')


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_attributes_are_consistent() -> None:
    # Start-up time is measured by bench/emulator_throughput.py, not asserted here.
    with Emulator(seed=7, port=0) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:") and emu.port > 0
        assert emu.graph_url == emu.base_url + "/v1.0"
        assert emu.authority == f"{emu.base_url}/{emu.tenant_id}"
        assert Path(emu.ca_path).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert "http://localhost:33333" in emu.app.redirect_uris
        assert "http://localhost:33333/callback" in emu.app.redirect_uris
        assert emu.app.client_secret and emu.public_app.client_secret is None
        assert emu.app.client_secret not in repr(emu.app)
        assert emu.users and all("@" in u for u in emu.users)
        tid = emu.tenant_id
    with Emulator(seed=7, port=0) as again:
        assert again.tenant_id == tid  # fixed per seed
    with Emulator(seed=8, port=0) as other:
        assert other.tenant_id != tid


def test_discovery_and_jwks(emu: Emulator, http: Any) -> None:
    doc = http.get(f"{emu.authority}/v2.0/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"] == f"{emu.authority}/oauth2/v2.0/authorize"
    assert doc["device_authorization_endpoint"] == f"{emu.authority}/oauth2/v2.0/devicecode"
    assert doc["issuer"] == f"{emu.authority}/v2.0"
    keys = http.get(doc["jwks_uri"]).json()["keys"]
    token = emu.mint_token(emu.users[0])
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys if k["kid"] == kid)
    public = jwt.PyJWK(key).key
    decoded = jwt.decode(token, public, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert decoded["upn"] == emu.users[0]


def test_graph_passes_a_valid_token_through(emu: Emulator, http: Any) -> None:
    resp = http.get(emu.graph_url + "/me", headers={**bearer(emu.mint_token(emu.users[1])),
                                                   "client-request-id": "cr-1"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["userPrincipalName"] == emu.users[1]
    assert resp.headers["client-request-id"] == "cr-1" and resp.headers["request-id"]
    assert resp.headers["Connection"] == "keep-alive"


@pytest.mark.parametrize("case,message", [
    ("missing", "Access token is empty."),
    ("malformed", "CompactToken parsing failed with error code: 80049217"),
    ("expired", "Lifetime validation failed, the token is expired."),
    ("audience", "Access token validation failure. Invalid audience."),
    ("signature", "Access token validation failure."),
])
def test_bad_tokens_get_graphs_401(emu: Emulator, http: Any, case: str, message: str) -> None:
    good = emu.mint_token(emu.users[0])
    token = {
        "missing": None,
        "malformed": "not-a-jwt",
        "expired": emu.mint_token(emu.users[0], lifetime=-5),
        "audience": emu.mint_token(emu.users[0], audience="api://something-else"),
        "signature": good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB"),
    }[case]
    headers = bearer(token) if token else {}
    resp = http.get(emu.graph_url + "/me/messages", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == WWW_AUTH
    error = resp.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == message
    assert error["innerError"]["request-id"] == resp.headers["request-id"]


def test_token_expiry_is_checked_on_every_request(emu: Emulator, http: Any) -> None:
    # exp is whole seconds (now, truncated, + lifetime): a lifetime of 1 s may leave 1 ms.
    token = emu.mint_token(emu.users[0], lifetime=2)
    assert http.get(emu.graph_url + "/me", headers=bearer(token)).status_code == 200
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    resp = http.get(emu.graph_url + "/me", headers=bearer(token))
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "Lifetime validation failed, the token is expired."


def test_app_only_token_principal(emu: Emulator, http: Any) -> None:
    seen: list[EmuRequest] = []

    class Spy:
        def handle(self, req: EmuRequest) -> Any:
            from o365sql.emulator.server.wire import EmuResponse

            seen.append(req)
            return EmuResponse(200, {"ok": True})

    original = emu._graph
    emu._graph = Spy()  # type: ignore[assignment]
    try:
        token = emu.mint_token(roles=["Mail.Read"])
        assert http.get(emu.graph_url + "/users/x/messages?$top=1", headers=bearer(token)).status_code == 200
        token = emu.mint_token(emu.users[0], scopes=["Mail.Read", "User.Read"])
        assert http.get(emu.graph_url + "/me", headers=bearer(token)).status_code == 200
    finally:
        emu._graph = original  # type: ignore[assignment]
    app_only, delegated = seen
    assert app_only.principal.app_only and app_only.principal.roles == frozenset({"Mail.Read"})
    assert app_only.path == "/users/x/messages" and app_only.query == "$top=1"
    assert app_only.limits is not None
    assert delegated.principal.scopes == frozenset({"Mail.Read", "User.Read"})
    assert delegated.principal.user_id == emu.directory.find(emu.users[0]).oid  # type: ignore[union-attr]
    assert delegated.principal.client_id == emu.app.client_id


def test_handler_exception_is_a_graph_500(emu: Emulator, http: Any) -> None:
    class Boom:
        def handle(self, req: EmuRequest) -> Any:
            raise RuntimeError("bug in a route")

    original = emu._graph
    emu._graph = Boom()  # type: ignore[assignment]
    try:
        resp = http.get(emu.graph_url + "/me", headers=bearer(emu.mint_token(emu.users[0])))
    finally:
        emu._graph = original  # type: ignore[assignment]
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "generalException"
    assert "bug in a route" not in resp.text and "Traceback" not in resp.text
    assert emu.log[-1].status == 500 and emu.log[-1].error == "generalException"


def test_garbage_request_line_gets_json_400_and_close(emu: Emulator) -> None:
    answer = raw_exchange(emu, b"THIS IS NOT HTTP\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Connection: close" in answer
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "BadRequest"


def test_bad_content_length_and_oversize_body(emu: Emulator) -> None:
    answer = raw_exchange(emu, b"POST /v1.0/me HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    answer = raw_exchange(emu, b"POST /v1.0/me HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")


def test_plain_http_client_does_not_hang_the_server(emu: Emulator, http: Any) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            sock.recv(100)
        except OSError:
            pass
    assert http.get(f"{emu.authority}/v2.0/.well-known/openid-configuration").status_code == 200


@pytest.mark.parametrize("path", ["/v1.0/me%zz", "/v1.0/users/%C3%28"])
def test_bad_percent_encoding_is_400(emu: Emulator, path: str) -> None:
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port,
                                       context=ssl.create_default_context(cafile=emu.ca_path))
    conn.request("GET", path, headers={"Authorization": "Bearer " + emu.mint_token(emu.users[0])})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 400
    assert body["error"]["code"] == "BadRequest"


def test_bad_json_body_and_bad_method(emu: Emulator, http: Any) -> None:
    headers = {**bearer(emu.mint_token(emu.users[0])), "Content-Type": "application/json"}
    resp = http.post(emu.graph_url + "/me/messages", data=b"{not json", headers=headers)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("Unable to read JSON request payload")
    resp = http.request("FROB", emu.graph_url + "/me", headers=headers)
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] == "Request_BadRequest"


def test_unknown_version_and_unknown_segment(emu: Emulator, http: Any) -> None:
    resp = http.get(emu.base_url + "/v9.9/me")
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "Invalid version: v9.9"
    resp = http.get(emu.graph_url + "/frobnicate", headers=bearer(emu.mint_token(emu.users[0])))
    assert resp.status_code in (400, 404)
    assert resp.json()["error"]["code"]


def test_keep_alive_serves_many_requests_on_one_connection(emu: Emulator) -> None:
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port,
                                       context=ssl.create_default_context(cafile=emu.ca_path))
    token = emu.mint_token(emu.users[0])
    conn.connect()
    sock = conn.sock
    for _ in range(20):
        conn.request("GET", "/v1.0/me", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
    assert conn.sock is sock  # never reconnected
    conn.close()


def test_control_endpoints(emu: Emulator, http: Any) -> None:
    info = http.get(emu.base_url + "/_emulator/info").json()
    assert info["client_id"] == emu.app.client_id and info["tenant_id"] == emu.tenant_id
    config = http.post(emu.base_url + "/_emulator/config",
                       json={"access_token_lifetime": 1234, "limits": {"retry_after": 0.5}}).json()
    assert config["identity"]["access_token_lifetime"] == 1234
    assert emu.limits.settings.retry_after == 0.5
    assert http.post(emu.base_url + "/_emulator/config", json={"nonsense": 1}).status_code == 400
    registered = http.post(emu.base_url + "/_emulator/apps", json={
        "redirect_uris": ["http://localhost:9999"], "app_roles": ["Mail.Read"]}).json()
    assert registered["client_secret"]
    listed = http.get(emu.base_url + "/_emulator/apps").json()
    assert registered["client_id"] in [a["client_id"] for a in listed]
    assert all("client_secret" not in a for a in listed)
    token = http.post(emu.base_url + "/_emulator/token", json={"user": emu.users[0]}).json()
    assert http.get(emu.graph_url + "/me", headers=bearer(token["access_token"])).status_code == 200
    assert http.get(emu.base_url + "/_emulator/nope").status_code == 404


def test_cli_prints_one_json_line_and_serves(tmp_path: Path, sessions: Any) -> None:
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "o365sql.emulator", "--port", "0", "--seed", "3", "--users", "3",
         "--messages-per-user", "5", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        assert {"base_url", "graph_url", "authority", "tenant_id", "ca_path", "client_id",
                "client_secret", "redirect_uris"} <= set(info)
        assert info["ca_path"] == str(tmp_path / "ca.pem")
        expected = build_tenant(seed=3, users=3, messages_per_user=5)
        assert info["users"] == [u["userPrincipalName"] for u in expected.users
                                 if u.get("accountEnabled", True)]
        assert info["tenant_id"] == expected.tenant_id
        session = sessions()
        session.verify = info["ca_path"]
        resp = session.get(info["authority"] + "/v2.0/.well-known/openid-configuration")
        assert resp.status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
