"""``Timeout`` bounds each Graph call, retries included: slow answers, retry waits that would
pass the deadline, unreachable hosts. Behaviour is checked in the emulator's request log and
fault counters and in the exception; elapsed time only as a sanity check with a wide margin."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import pytest
import requests
import urllib3
from graph_support import make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.graph.client import _unreachable
from o365sql.graph.request import GraphRequest
from o365sql.graph.retry import RetryPolicy
from o365sql.properties import SPECS

ME = GraphRequest("GET", "/me", (("$select", "displayName,userPrincipalName"),))


def wait_for_log(emu: Emulator, keep: Callable[[object], bool], count: int,
                 limit: float = 8.0) -> list:  # type: ignore[type-arg]
    """The emulator logs a request once it has answered (after its injected latency)."""
    deadline = time.monotonic() + limit
    while True:
        entries = [e for e in emu.log if keep(e)]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_timeout_bounds_a_statement_with_slow_answers(clean: Emulator) -> None:
    """The reviewer's case: Timeout=1 and 3 s of latency on 5 requests used to succeed after
    17 s (read timeouts were retried with backoff). Now the first call fails, unrepeated."""
    props = {"GraphURL": clean.graph_url, "SSLServerCert": clean.ca_path,
             "OAuthAccessToken": clean.mint_token(user=clean.users[0]), "InitiateOAuth": "OFF"}
    # A first statement of the process loads the planner (seconds on a loaded machine): warm
    # it up on another connection, so the clock below measures the Graph call and its Timeout.
    with o365sql.connect(**props) as warm:
        warm.cursor().execute("SELECT Subject FROM Messages LIMIT 1").fetchall()
    clean.clear_log()
    conn = o365sql.connect(**props, Timeout=1)
    rule = clean.faults.latency(3.0, path="/messages", count=5)
    started = time.monotonic()
    try:
        cur = conn.cursor()
        with pytest.raises(o365sql.OperationalError, match=r"timed out after 1 s") as info:
            cur.execute("SELECT Subject FROM Messages")
            cur.fetchall()
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    assert "Timeout" in str(info.value) and "/messages" in str(info.value)
    assert not isinstance(info.value, o365sql.ThrottledError)
    assert rule.fired == 1  # one request reached the emulator: no retry
    entries = wait_for_log(clean, lambda e: "/messages" in e.path, 1)
    assert [(e.fault, e.kind) for e in entries] == [("latency", "graph")]
    assert elapsed < 2.9  # sanity only (was 17 s); the latency alone is 3 s


def test_retry_after_that_would_pass_the_deadline_fails_at_once(clean: Emulator) -> None:
    clean.faults.status(429, retry_after=3.0, path="/me")
    client = make_client(clean, clean.mint_token(user=clean.users[0]), timeout=1.0)
    with pytest.raises(o365sql.ThrottledError) as info:
        client.send(ME)
    message = str(info.value)
    assert "Retry-After" in message and "Timeout of 1 s" in message
    entries = [e for e in clean.log if e.path == "/v1.0/me"]
    assert [e.status for e in entries] == [429]
    assert info.value.status == 429 and info.value.request_id == entries[0].request_id
    assert client.stats.wait_seconds == 0


def test_backoff_stops_at_the_deadline(clean: Emulator) -> None:
    clean.faults.status(503, path="/me")  # no Retry-After: backoff
    policy = RetryPolicy(max_attempts=50, max_total_wait=100.0, backoff_base=0.2,
                         backoff_cap=0.2, jitter=False)
    client = make_client(clean, clean.mint_token(user=clean.users[0]), timeout=0.7,
                         retry=policy)
    with pytest.raises(o365sql.ThrottledError, match="Timeout of 0.7 s") as info:
        client.send(ME)
    entries = [e for e in clean.log if e.path == "/v1.0/me"]
    # Sent at about 0 s, 0.2 s and 0.4 s; the wait after ~0.6 s would pass 0.7 s.
    assert 2 <= len(entries) <= 4 and {e.status for e in entries} == {503}
    assert info.value.request_id == entries[-1].request_id
    assert f"after {len(entries)} attempts" in str(info.value)


def test_waits_within_the_deadline_are_still_made(clean: Emulator) -> None:
    clean.faults.status(429, retry_after=0.1, path="/me", count=2)
    client = make_client(clean, clean.mint_token(user=clean.users[0]), timeout=5.0)
    assert client.send(ME)["userPrincipalName"] == clean.users[0]
    assert [e.status for e in clean.log if e.path == "/v1.0/me"] == [429, 429, 200]


def test_each_page_is_a_call_of_its_own(clean: Emulator) -> None:
    # 0.4 s per page and Timeout=0.8: every page fits, the whole scan does not (3 pages).
    upn = quote(clean.users[0], safe="@")
    request = GraphRequest("GET", f"/users/{upn}/messages", (("$select", "id"), ("$top", "5")))
    clean.faults.latency(0.4, path="/messages", count=3)
    client = make_client(clean, clean.mint_token(), timeout=0.8)
    pages = list(client.pages(request))
    assert len(pages) >= 3 and client.stats.retries == 0
    assert [e.fault for e in clean.log if "/messages" in e.path][:3] == ["latency"] * 3


def test_fan_out_inner_retry_after_past_the_deadline_fails_at_once(clean: Emulator) -> None:
    clean.faults.status(429, retry_after=3.0, path="/messages")
    client = make_client(clean, clean.mint_token(), timeout=1.0)
    requests_ = [GraphRequest("GET", f"/users/{quote(u, safe='@')}/messages",
                              (("$select", "id"), ("$top", "5"))) for u in clean.users[:3]]
    with pytest.raises(o365sql.ThrottledError, match="Timeout of 1 s"):
        for _ in client.fan_out(requests_):
            pass
    batches = [e for e in clean.log if e.kind == "batch"]
    assert len(batches) == 1  # nothing was retried
    assert {inner["status"] for inner in batches[0].inner} == {429}


def test_timeout_zero_means_no_deadline() -> None:
    policy = RetryPolicy()
    for timeout in (None, 0, 0.0):
        state = policy.start(timeout)
        state.begin()
        assert state.deadline is None and state.remaining() is None and not state.expired()
        assert state.next_delay("503", 1000.0) is None and not state.past_deadline  # budget


def test_deadline_starts_at_the_first_attempt() -> None:
    state = RetryPolicy().start(5.0)
    assert state.deadline is None  # queued, not sent: the clock has not started
    state.begin()
    first = state.deadline
    assert first is not None and 4.0 < state.remaining() <= 5.0  # type: ignore[operator]
    state.begin()
    assert state.deadline == first
    assert state.next_delay("429", 10.0) is None and state.past_deadline
    assert state.next_delay("429", 0.01) == 0.01 and not state.past_deadline


def _wrapped(reason: Exception) -> requests.exceptions.ConnectionError:
    """A requests ConnectionError as requests builds it from urllib3's MaxRetryError."""
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/v1.0/me", reason))  # type: ignore[arg-type]


def test_unreachable_means_name_lookup_failed_or_connection_refused() -> None:
    lookup = urllib3.exceptions.NameResolutionError(
        "graph.example", None, OSError("Name or service not known"))  # type: ignore[arg-type]
    refused = urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    assert _unreachable(_wrapped(lookup)) and _unreachable(_wrapped(refused))
    dropped = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104)))
    assert not _unreachable(dropped)
    assert not _unreachable(requests.exceptions.ReadTimeout("read timed out"))


def test_the_reference_documents_the_timeout_rules() -> None:
    doc = next(s for s in SPECS if s.name == "Timeout").description
    for fact in ("retries included", "timed out after N s", "Retry-After", "ThrottledError",
                 "retried once", "Timeout=0"):
        assert fact in doc
