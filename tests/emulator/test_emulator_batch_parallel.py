"""``$batch`` inner requests run concurrently (up to 4, as Graph dispatches them to Outlook),
one at a time with ``dependsOn``, each through the mailbox limits and the injected faults,
over real HTTPS (graph-semantics §6)."""

from __future__ import annotations

import threading
from typing import Any

from o365sql.emulator import Emulator


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _batch(emu: Emulator, http: Any, requests: list[dict[str, Any]]) -> dict[str, Any]:
    token = emu.mint_token(emu.users[0])
    emu.clear_log()
    resp = http.post(emu.graph_url + "/$batch", json={"requests": requests}, headers=_bearer(token))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _messages(n: int, top: int = 2) -> list[dict[str, Any]]:
    return [{"id": str(i), "method": "GET", "url": f"/me/messages?$top={top}&$select=subject"}
            for i in range(1, n + 1)]


class _BatchInBackground:
    """A ``$batch`` POST on its own thread, so the test can watch it while it runs."""

    def __init__(self, emu: Emulator, http: Any, requests: list[dict[str, Any]]) -> None:
        self.body: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(emu, http, requests))
        self._thread.start()

    def _run(self, emu: Emulator, http: Any, requests: list[dict[str, Any]]) -> None:
        self.body = _batch(emu, http, requests)

    def join(self) -> dict[str, Any]:
        self._thread.join()
        assert self.body, "the $batch request failed"
        return self.body


# Concurrency is observed through the mailbox limit, not the clock: an inner request waiting at
# an injected hold keeps one of the mailbox's slots until the test releases it, so once N are
# held (faults.wait_held) a limit of N slots must refuse every other inner request that runs
# beside them (limits.wait_rejected), whatever the thread scheduling.


def test_four_inner_requests_run_at_once(emu: Emulator, http: Any) -> None:
    emu.limits.configure(concurrency=3, retry_after=0.5)
    emu.faults.hold(path="/messages")  # matches the inner paths, not /v1.0/$batch
    run = _BatchInBackground(emu, http, _messages(4))
    try:
        assert emu.faults.wait_held(3), "three inner requests never ran together"
        assert emu.limits.wait_rejected(1), "the fourth inner request did not run beside them"
    finally:
        emu.faults.release()
        body = run.join()
    assert [r["id"] for r in body["responses"]] == ["1", "2", "3", "4"]
    statuses = sorted(r["status"] for r in body["responses"])
    assert statuses == [200, 200, 200, 429]  # one after another, all four would pass
    ok = [r for r in body["responses"] if r["status"] == 200]
    assert all(len(r["body"]["value"]) == 2 for r in ok)
    entry = emu.log[-1]
    assert entry.kind == "batch" and len(entry.inner) == 4
    assert sorted(i["status"] for i in entry.inner) == statuses


def test_at_most_four_at_a_time(emu: Emulator, http: Any) -> None:
    # Six requests under Outlook's own limit of 4 per mailbox: a batch never exceeds it.
    emu.limits.configure(concurrency=4, retry_after=0.5)
    emu.faults.latency(0.3, path="/messages")
    body = _batch(emu, http, _messages(6))
    assert [r["status"] for r in body["responses"]] == [200] * 6
    assert sum(r.fired for r in emu.faults.rules) == 6


def test_depends_on_runs_one_at_a_time(emu: Emulator, http: Any) -> None:
    emu.limits.configure(concurrency=1, retry_after=0.5)
    emu.faults.latency(0.3, path="/messages")
    requests = _messages(3)
    requests[1]["dependsOn"] = ["1"]
    requests[2]["dependsOn"] = ["2"]
    body = _batch(emu, http, requests)
    assert [r["status"] for r in body["responses"]] == [200, 200, 200]


def test_inner_requests_pass_the_mailbox_limit_each(emu: Emulator, http: Any) -> None:
    # A limit of 2 concurrent requests per mailbox: of 4 requests running at once, two get
    # Outlook's 429 with their own Retry-After.
    emu.limits.configure(concurrency=2, retry_after=0.5)
    emu.faults.hold(path="/messages")
    run = _BatchInBackground(emu, http, _messages(4))
    try:
        assert emu.faults.wait_held(2) and emu.limits.wait_rejected(2)
    finally:
        emu.faults.release()
        body = run.join()
    statuses = sorted(r["status"] for r in body["responses"])
    assert statuses == [200, 200, 429, 429]
    throttled = [r for r in body["responses"] if r["status"] == 429]
    assert all(r["headers"]["Retry-After"] == "0.5" for r in throttled)
    assert all(r["body"]["error"]["code"] == "ApplicationThrottled" for r in throttled)
    assert emu.limits.active() == {}  # every slot taken was given back


def test_injected_failures_hit_single_inner_requests(emu: Emulator, http: Any) -> None:
    emu.faults.status(503, retry_after=2, count=1, path="/messages")
    emu.faults.drop(path="/messages")  # acts on connections only: not inside a batch
    body = _batch(emu, http, _messages(3) + [{"id": "me", "method": "GET", "url": "/me"}])
    by_id = {r["id"]: r for r in body["responses"]}
    failed = [r for r in body["responses"] if r["status"] == 503]
    assert len(failed) == 1 and failed[0]["headers"]["Retry-After"] == "2"
    assert failed[0]["body"]["error"]["code"] and by_id["me"]["status"] == 200
    assert sorted(r["status"] for r in body["responses"]) == [200, 200, 200, 503]


def _app_messages(emu: Emulator, users: list[str]) -> list[dict[str, Any]]:
    return [{"id": str(n), "method": "GET", "url": f"/users/{user}/messages?$top=1&$select=id"}
            for n, user in enumerate(users, 1)]


def test_concurrency_peaks_per_mailbox_and_over_all_mailboxes(emu: Emulator, http: Any) -> None:
    # Three inner requests of one mailbox and one of another held at once: the counters (also
    # served at GET /_emulator/counters) record 3 for the mailbox, 4 over all, no refusal;
    # clearing the log forgets them.
    users = [emu.users[0]] * 3 + [emu.users[1]]
    emu.faults.hold(path="/messages")
    token = emu.mint_token()  # the app: every mailbox
    emu.clear_log()
    result: dict[str, Any] = {}

    def post() -> None:
        result["body"] = http.post(emu.graph_url + "/$batch", json={
            "requests": _app_messages(emu, users)}, headers=_bearer(token)).json()

    worker = threading.Thread(target=post)
    worker.start()
    try:
        assert emu.faults.wait_held(4), "the four inner requests never ran together"
    finally:
        emu.faults.release()
        worker.join()
    assert sorted(r["status"] for r in result["body"]["responses"]) == [200] * 4
    peaks = emu.counters["mailbox_concurrency"]
    assert peaks["peak"] == 3 and peaks["all_mailboxes"] == 4 and peaks["refused"] == 0
    assert sorted(peaks["by_mailbox"].values()) == [1, 3]
    served = http.get(emu.base_url + "/_emulator/counters").json()["mailbox_concurrency"]
    assert served["peak"] == 3 and served["all_mailboxes"] == 4
    emu.clear_log()
    assert emu.counters["mailbox_concurrency"] == {"peak": 0, "by_mailbox": {},
                                                   "all_mailboxes": 0, "refused": 0}


def test_inner_listings_are_the_same_answers_as_single_requests(emu: Emulator, http: Any) -> None:
    """Listings spliced into the batch answer as encoded text read exactly as the same
    requests answered alone, next to an inner error and a single item; the log keeps each
    inner status."""
    token = emu.mint_token(emu.users[0])
    urls = ["/me/messages?$top=3&$select=subject,receivedDateTime,from",
            "/me/mailFolders?$top=2", "/me/messages/no-such-id", "/me"]
    body = _batch(emu, http, [{"id": f"r{i}", "method": "GET", "url": u}
                              for i, u in enumerate(urls)])
    assert [r["id"] for r in body["responses"]] == [f"r{i}" for i in range(len(urls))]
    inner = [entry for entry in emu.log if entry.kind == "batch"][-1].inner
    for answer, url, logged in zip(body["responses"], urls, inner, strict=True):
        alone = http.get(emu.graph_url + url, headers=_bearer(token))
        assert answer["status"] == alone.status_code == logged["status"], url
        if alone.status_code < 400:
            assert answer["body"] == alone.json(), url
        else:
            assert answer["body"]["error"]["code"] == alone.json()["error"]["code"], url
        assert answer["headers"]["Content-Type"].startswith("application/json"), url
