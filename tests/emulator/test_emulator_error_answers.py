"""Graph's and Entra's error answers: protocol errors in the request log, throttling and
injected-fault bodies, ErrorItemNotFound's text, and identity errors (over real HTTPS)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from raw_tls import raw_exchange

from o365sql.emulator import Emulator


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- protocol-level errors reach the log and the counters ----------------------------------------
@pytest.mark.parametrize("payload,status", [
    (b"THIS IS NOT HTTP\r\n\r\n", 400),
    (b"GET /v1.0/me?x=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /v1.0/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70000 + b"\r\n\r\n", 431),
    (b"POST /v1.0/me/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", 413),
    (b"POST /v1.0/me/messages HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"POST /v1.0/me/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
])
def test_protocol_errors_are_logged_and_counted(emu: Emulator, payload: bytes, status: int) -> None:
    emu.clear_log()
    answer = raw_exchange(emu, payload)
    assert answer.startswith(f"HTTP/1.1 {status}".encode()), answer[:100]
    assert b"request-id: " in answer and b'"error"' in answer
    assert emu.counters["total"] == 1 and emu.counters["by_status"] == {status: 1}
    entry = emu.log[-1]
    assert entry.status == status and entry.error == "BadRequest" and entry.request_id
    if status in (413, 431):
        assert entry.method in ("GET", "POST") and entry.path.startswith("/v1.0/me")


# -- throttling and injected faults carry each status's Graph code --------------------------------
def test_request_rate_429_is_toomanyrequests(emu: Emulator, http: Any) -> None:
    emu.limits.configure(rate=1, rate_window=60, retry_after=1.5)
    token = emu.mint_token(emu.users[3])
    assert http.get(emu.graph_url + "/me/messages?$top=1", headers=bearer(token)).status_code == 200
    second = http.get(emu.graph_url + "/me/messages?$top=1", headers=bearer(token))
    assert second.status_code == 429 and float(second.headers["Retry-After"]) >= 1.5
    error = second.json()["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
    assert {k: error["innerError"][k] for k in ("code", "message", "status")} == {
        "code": "429", "message": "Please retry after", "status": "429"}


@pytest.mark.parametrize("status,code", [(401, "InvalidAuthenticationToken"), (429, "TooManyRequests"),
                                         (503, "serviceNotAvailable"), (504, "UnknownError")])
def test_injected_statuses_carry_graphs_codes(emu: Emulator, http: Any, status: int, code: str) -> None:
    emu.faults.status(status, retry_after=1, count=2, path="/me/messages")
    token = emu.mint_token(emu.users[0])
    response = http.get(emu.graph_url + "/me/messages?$top=1", headers=bearer(token))
    assert response.status_code == status and response.json()["error"]["code"] == code
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    batch = http.post(emu.graph_url + "/$batch", headers=bearer(token),
                      json={"requests": [{"id": "1", "method": "GET", "url": "/me/messages?$top=1"}]})
    inner = batch.json()["responses"][0]
    assert inner["status"] == status and inner["body"]["error"]["code"] == code


# -- Outlook's missing-item text ------------------------------------------------------------------
def test_missing_item_has_the_full_observed_message(emu: Emulator, http: Any) -> None:
    token = emu.mint_token(emu.users[0])
    draft = http.post(emu.graph_url + "/me/messages", headers=bearer(token), json={"subject": "gone"}).json()
    assert http.delete(emu.graph_url + f"/me/messages/{draft['id']}", headers=bearer(token)).status_code == 204
    response = http.get(emu.graph_url + f"/me/messages/{draft['id']}", headers=bearer(token))
    assert response.status_code == 404
    assert response.json()["error"] == {**response.json()["error"], "code": "ErrorItemNotFound", "message": (
        "The specified object was not found in the store., The process failed to get the correct properties.")}


# -- identity ------------------------------------------------------------------------------------
def test_authorize_without_response_type_is_an_error_page(emu: Emulator, http: Any) -> None:
    url = (f"{emu.authority}/oauth2/v2.0/authorize?client_id={emu.app.client_id}"
           "&redirect_uri=http://localhost:33333&scope=User.Read")
    response = http.get(url, allow_redirects=False)
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert ("AADSTS900144: The request body must contain the following parameter: 'response_type'."
            in html.unescape(response.text))


def test_control_token_for_unknown_client_is_400_json(emu: Emulator, http: Any) -> None:
    response = http.post(emu.base_url + "/_emulator/token",
                         json={"user": emu.users[0], "client_id": "00000000-0000-0000-0000-00000000abcd"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unauthorized_client" and body["error_codes"] == [700016]
