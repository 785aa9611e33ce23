"""Per-mailbox limits, injected faults and the request log, over real HTTPS."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

from o365sql.emulator import Emulator
from o365sql.emulator.server.faults import FaultInjector, FaultRule
from o365sql.emulator.server.limits import MailboxThrottle, format_retry_after, mailbox_of


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Background:
    """GETs started on their own threads and sessions; ``join`` waits for all of them."""

    def __init__(self, sessions: Any, urls: list[str], token: str) -> None:
        self.responses: list[requests.Response] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._one, args=(sessions(), url, token))
                         for url in urls]
        for thread in self._threads:
            thread.start()

    def _one(self, session: Any, url: str, token: str) -> None:
        resp = session.get(url, headers=bearer(token))
        with self._lock:
            self.responses.append(resp)

    def join(self) -> list[int]:
        for thread in self._threads:
            thread.join()
        return sorted(r.status_code for r in self.responses)


# Concurrency is made exact with a hold fault, not with latency and luck: the held requests
# have passed the mailbox limit and wait inside the server until released, so "N requests in
# flight" is a fact the test waits for (faults.wait_held), whatever the thread scheduling.


def test_five_concurrent_requests_to_one_mailbox_get_a_429(emu: Emulator, sessions: Any) -> None:
    emu.clear_log()
    emu.limits.configure(retry_after=0.25)
    emu.faults.hold(path="/messages")
    token = emu.mint_token(emu.users[0])
    url = emu.graph_url + "/me/messages?$top=1"
    four = Background(sessions, [url] * 4, token)
    try:
        assert emu.faults.wait_held(4), "four requests never were in the server together"
        fifth = sessions().get(url, headers=bearer(token))
    finally:
        emu.faults.release()
        statuses = four.join()
    assert fifth.status_code == 429, fifth.text
    assert fifth.headers["Retry-After"] == "0.25"
    assert fifth.json() == {"error": {"code": "ApplicationThrottled",
                                      "message": "Application is over its MailboxConcurrency limit."}}
    assert statuses == [200, 200, 200, 200]
    assert emu.counters["by_status"].get(429, 0) == 1
    assert emu.limits.active() == {}  # every slot was given back


def test_concurrency_is_per_mailbox_and_can_be_switched_off(emu: Emulator, sessions: Any) -> None:
    token = emu.mint_token(roles=["Mail.Read"])
    first, second = emu.users[:2]
    url = f"{emu.graph_url}/users/{first}/messages?$top=1"
    emu.faults.hold(path=f"/users/{first}/messages")
    four = Background(sessions, [url] * 4, token)
    try:
        assert emu.faults.wait_held(4)
        # Another mailbox is counted on its own; the first one is full.
        other = sessions().get(f"{emu.graph_url}/users/{second}/messages?$top=1", headers=bearer(token))
        fifth = sessions().get(url, headers=bearer(token))
    finally:
        emu.faults.release()
        statuses = four.join()
    assert other.status_code == 200 and fifth.status_code == 429
    assert statuses == [200] * 4
    # Switched off: six requests in flight at once to one mailbox all pass.
    emu.limits.configure(concurrency=None)
    emu.faults.hold(path=f"/users/{first}/messages")
    six = Background(sessions, [url] * 6, token)
    try:
        assert emu.faults.wait_held(6), "with no limit, six requests should run together"
    finally:
        emu.faults.release()
        statuses = six.join()
    assert statuses == [200] * 6


def test_throttle_refuses_the_request_beyond_the_limit_without_any_threads() -> None:
    throttle = MailboxThrottle(str.lower)
    throttle.configure(retry_after=0.5)
    assert all(throttle.admit("app", "mb") is None for _ in range(4))
    refusal = throttle.admit("app", "MB")
    assert refusal is not None and refusal.status == 429 and refusal.code == "ApplicationThrottled"
    assert refusal.headers == {"Retry-After": "0.5"}
    assert throttle.rejected == 1 and throttle.wait_rejected(1, timeout=0)
    assert throttle.admit("other-app", "mb") is None  # per (app, mailbox)
    throttle.leave("app", "mb")
    assert throttle.admit("app", "mb") is None


def test_hold_rules_release_and_cap() -> None:
    faults = FaultInjector()
    rule = faults.hold(path="/messages", delay=5)
    decision = faults.pick("GET", "/v1.0/me/messages")
    assert decision.holds == (rule.id,) and decision.active
    waiter = threading.Thread(target=faults.wait_at_holds, args=(decision,))
    waiter.start()
    assert faults.wait_held(1) and faults.held() == 1
    faults.release(rule.id)
    waiter.join()
    assert faults.held() == 0
    assert faults.pick("GET", "/v1.0/me/messages").holds == ()  # a released hold holds no more
    with pytest.raises(ValueError):
        FaultRule(kind="explode")


def test_rate_limit_per_app_and_mailbox(emu: Emulator, http: Any) -> None:
    emu.limits.configure(rate=3, rate_window=60, retry_after=1.5)
    token = emu.mint_token(emu.users[1])
    codes = [http.get(emu.graph_url + "/me/messages?$top=1", headers=bearer(token)).status_code
             for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    # Another mailbox is counted separately; /me (directory, not Outlook) is not limited.
    other = emu.mint_token(emu.users[2])
    assert http.get(emu.graph_url + "/me/messages?$top=1", headers=bearer(other)).status_code == 200
    assert http.get(emu.graph_url + "/me", headers=bearer(token)).status_code == 200


def test_mailbox_limits_used_by_batch_resolve_upn_and_id(emu: Emulator) -> None:
    throttle = MailboxThrottle(lambda m: m.lower().split("@")[0])
    limits = throttle.for_client("app")
    throttle.configure(concurrency=2, retry_after=0.5)
    assert limits.enter("Adele@x") is None and limits.enter("adele@y") is None
    assert limits.enter("ADELE@z") == 0.5
    limits.leave("adele@x")
    assert limits.enter("adele@x") is None
    assert throttle.for_client("other-app").enter("adele@x") is None


def test_mailbox_of_paths() -> None:
    assert mailbox_of("/me/messages", "oid-1") == ("oid-1", True)
    assert mailbox_of("/me", "oid-1") == ("oid-1", False)
    assert mailbox_of("/users/a@b.c/calendarView", None) == ("a@b.c", True)
    assert mailbox_of("/users", None) == (None, False)
    assert mailbox_of("/users('a@b.c')/messages", None) == ("a@b.c", True)
    assert mailbox_of("/groups/x/members", "oid") == (None, False)
    assert format_retry_after(2.0) == "2" and format_retry_after(0.125) == "0.125"


@pytest.mark.parametrize("status", [503, 504])
def test_status_faults_with_retry_after_and_count(emu: Emulator, http: Any, status: int) -> None:
    emu.faults.status(status, retry_after=2, count=1, path="/me")
    token = emu.mint_token(emu.users[0])
    first = http.get(emu.graph_url + "/me", headers=bearer(token))
    assert first.status_code == status and first.headers["Retry-After"] == "2"
    assert first.json()["error"]["code"]
    assert http.get(emu.graph_url + "/me", headers=bearer(token)).status_code == 200
    assert emu.log[-2].fault == "status" and emu.log[-1].fault is None


def test_path_filter_and_method_filter(emu: Emulator, http: Any) -> None:
    emu.faults.status(503, path="/messages", method="POST")
    token = emu.mint_token(emu.users[0])
    assert http.get(emu.graph_url + "/me/messages?$top=1", headers=bearer(token)).status_code == 200
    assert http.get(emu.graph_url + "/me", headers=bearer(token)).status_code == 200


def test_identity_endpoints_can_fail_too(emu: Emulator, make_cca: Any) -> None:
    from msal.exceptions import MsalServiceError

    emu.faults.status(503, count=1, path="/oauth2/v2.0/token")
    with pytest.raises(MsalServiceError):
        make_cca().acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in make_cca().acquire_token_for_client(["https://graph.microsoft.com/.default"])


def test_dropped_connection_mid_response(emu: Emulator, http: Any) -> None:
    emu.faults.drop(count=1, path="/me/messages")
    token = emu.mint_token(emu.users[0])
    with pytest.raises(requests.exceptions.RequestException):
        http.get(emu.graph_url + "/me/messages?$top=5", headers=bearer(token))
    resp = http.get(emu.graph_url + "/me/messages?$top=5", headers=bearer(token))
    assert resp.status_code == 200 and resp.json()["value"]
    assert [e.fault for e in emu.log[-2:]] == ["drop", None]


def test_fraction_of_requests_fail_reproducibly(emu: Emulator, http: Any) -> None:
    token = emu.mint_token(emu.users[0])

    def run() -> list[int]:
        emu.faults.clear()
        emu.faults.reseed(42)
        emu.faults.status(503, fraction=0.3)
        return [http.get(emu.graph_url + "/me", headers=bearer(token)).status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second  # seeded
    failures = first.count(503)
    assert 4 <= failures <= 22, failures
    assert set(first) == {200, 503}


def test_latency_is_applied(emu: Emulator, http: Any) -> None:
    emu.faults.latency(0.2, path="/me")
    token = emu.mint_token(emu.users[0])
    resp = http.get(emu.graph_url + "/me", headers=bearer(token))
    assert resp.status_code == 200 and resp.elapsed.total_seconds() >= 0.2
    assert emu.log[-1].duration_ms >= 200


def test_faults_over_http(emu: Emulator, http: Any) -> None:
    rules = http.post(emu.base_url + "/_emulator/faults",
                      json={"kind": "status", "status": 504, "count": 1, "path": "/me"}).json()
    assert rules[0]["id"] and rules[0]["status"] == 504
    assert http.get(emu.base_url + "/_emulator/faults").json()[0]["id"] == rules[0]["id"]
    token = emu.mint_token(emu.users[0])
    assert http.get(emu.graph_url + "/me", headers=bearer(token)).status_code == 504
    assert http.delete(emu.base_url + "/_emulator/faults").json() == {"ok": True}
    assert emu.faults.rules == []
    assert http.post(emu.base_url + "/_emulator/faults", json={"kind": "explode"}).status_code == 400


def test_request_log_and_counters(emu: Emulator, http: Any) -> None:
    emu.clear_log()
    token = emu.mint_token(emu.users[1])
    http.get(emu.graph_url + "/me/messages?$top=2", headers=bearer(token))
    http.get(emu.graph_url + "/me")  # 401
    http.get(f"{emu.authority}/v2.0/.well-known/openid-configuration")
    entries = emu.log
    assert [(e.method, e.path, e.status, e.kind) for e in entries] == [
        ("GET", "/v1.0/me/messages", 200, "graph"),
        ("GET", "/v1.0/me", 401, "graph"),
        ("GET", f"/{emu.tenant_id}/v2.0/.well-known/openid-configuration", 200, "identity"),
    ]
    first = entries[0]
    assert first.query == "$top=2" and first.client_id == emu.app.client_id
    assert first.mailbox == emu.directory.find(emu.users[1]).oid  # type: ignore[union-attr]
    assert first.duration_ms > 0
    counters = emu.counters
    assert counters["total"] == 3
    assert counters["by_status"] == {200: 2, 401: 1}
    assert counters["by_kind"] == {"graph": 2, "identity": 1}
    over_http = http.get(emu.base_url + "/_emulator/log").json()
    assert len(over_http["entries"]) == 3 and over_http["counters"]["by_status"]["401"] == 1
    assert token not in json.dumps(over_http)
    assert http.post(emu.base_url + "/_emulator/clear").json() == {"ok": True}
    assert emu.log == [] and emu.counters["total"] == 0


def test_batch_inner_requests_are_logged(emu: Emulator, http: Any) -> None:
    emu.clear_log()
    token = emu.mint_token(emu.users[0])
    body = {"requests": [{"id": "1", "method": "GET", "url": "/me"},
                         {"id": "2", "method": "GET", "url": "/me/messages?$top=1"}]}
    resp = http.post(emu.graph_url + "/$batch", json=body, headers=bearer(token))
    entry = emu.log[-1]
    assert entry.kind == "batch" and entry.status == resp.status_code
    assert [(i["id"], i["url"]) for i in entry.inner] == [("1", "/me"), ("2", "/me/messages?$top=1")]
    if resp.status_code == 200:  # the Graph side implements $batch
        statuses = {r["id"]: r["status"] for r in resp.json()["responses"]}
        assert {i["id"]: i["status"] for i in entry.inner} == statuses
