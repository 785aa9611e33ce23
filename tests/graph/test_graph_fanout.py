"""``$batch`` fan-out against the emulator: counts, limits, inner retries, cancellation, errors."""

from __future__ import annotations

import math
import time
from urllib.parse import quote

import pytest
from graph_support import Tokens, make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.emulator.graph.batch import PARALLEL as EMULATOR_BATCH_PARALLEL
from o365sql.graph.batch import MAX_BATCH
from o365sql.graph.request import GraphRequest


def messages_of(upn: str, top: int) -> GraphRequest:
    return GraphRequest(
        "GET",
        f"/users/{quote(upn, safe='@')}/messages",
        (("$select", "id,subject"), ("$top", str(top))),
    )


def single_scan_counts(client, requests: list[GraphRequest]) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return {i: sum(len(p) for p in client.pages(r)) for i, r in enumerate(requests)}


def test_fan_out_over_every_mailbox(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token())  # app-only: every mailbox
    requests = [messages_of(upn, 10) for upn in clean.users]
    expected = single_scan_counts(client, requests)
    clean.clear_log()
    client.stats.reset()
    got: dict[int, int] = {}
    seen_pages: dict[int, int] = {}
    for index, page in client.fan_out(requests):
        got[index] = got.get(index, 0) + len(page)
        seen_pages[index] = seen_pages.get(index, 0) + 1
    assert got == expected  # a scan without rows still yields one (empty) page
    batches = [e for e in clean.log if e.kind == "batch"]
    assert all(e.status == 200 for e in batches)
    inner = [item for e in batches for item in e.inner]
    assert all(len(e.inner) <= MAX_BATCH for e in batches)
    assert len(inner) == sum(max(1, math.ceil(n / 10)) for n in expected.values())
    assert all(item["url"].startswith("/users/") for item in inner)  # relative URLs
    assert [e for e in clean.log if e.kind == "graph"] == []  # nothing outside $batch
    stats = client.stats.snapshot()
    assert stats["batches"] == len(batches) and stats["requests"] == len(batches)
    assert stats["pages"] == len(inner)


def test_fan_out_of_many_scans_of_one_mailbox_stays_within_its_four(clean: Emulator) -> None:
    # 45 scans of one mailbox: Outlook allows it 4 concurrent requests (graph-semantics §8.1),
    # so no body holds more than 4 of its items and no second body is out beside a full one;
    # the emulator never refuses one and never sees more than 4 at once.
    client = make_client(clean, clean.mint_token(), max_concurrency=4)
    upn = clean.users[1]
    requests = [messages_of(upn, 50)] * 45
    expected = sum(len(p) for p in client.pages(requests[0]))
    clean.clear_log()
    client.stats.reset()
    totals: dict[int, int] = {}
    for index, page in client.fan_out(requests):
        totals[index] = totals.get(index, 0) + len(page)
    assert totals == {i: expected for i in range(45)}
    batches = [e for e in clean.log if e.kind == "batch"]
    assert all(1 <= len(e.inner) <= 4 for e in batches)
    assert sum(len(e.inner) for e in batches) == client.stats.batch_items == client.stats.pages
    assert client.stats.throttled == 0 and clean.limits.rejected == 0
    peaks = clean.counters["mailbox_concurrency"]
    assert 1 <= peaks["peak"] <= 4 and peaks["refused"] == 0
    assert client.stats.max_in_flight == 1  # the mailbox's 4 slots fit one body at a time


def test_batches_in_flight_never_exceed_max_concurrency(clean: Emulator) -> None:
    # 4 one-page scans of each of the 6 mailboxes, 2 POSTs in flight at most: the 24 items
    # spread over the two bodies of the first dispatch, 12 each (3 mailboxes x 4 items). Every inner request holds its mailbox's slot for 50 ms; the emulator runs 4
    # inner requests of a batch at once, so with 2 bodies out at most 8 run together, and a
    # mailbox never more than its 4.
    client = make_client(clean, clean.mint_token(), max_concurrency=2)
    requests = [messages_of(upn, 1000) for upn in clean.users for _ in range(4)]
    expected = [sum(len(p) for p in client.pages(r)) for r in requests]
    clean.faults.latency(0.05, path="/messages")
    try:
        clean.clear_log()
        client.stats.reset()
        totals = {index: len(page) for index, page in client.fan_out(requests)}
    finally:
        clean.faults.clear()
    assert totals == dict(enumerate(expected))
    batches = [e for e in clean.log if e.kind == "batch"]
    assert sorted(len(e.inner) for e in batches) == [12, 12]
    for e in batches:
        per_mailbox: dict[str, int] = {}
        for item in e.inner:
            key = item["url"].split("/")[2]
            per_mailbox[key] = per_mailbox.get(key, 0) + 1
        assert max(per_mailbox.values()) <= 4
    assert all(item["status"] == 200 for e in batches for item in e.inner)
    assert client.stats.throttled == 0 and clean.limits.rejected == 0
    assert client.stats.max_in_flight == 2  # the first dispatch fills both slots
    peaks = clean.counters["mailbox_concurrency"]
    assert peaks["peak"] <= 4 and 4 < peaks["all_mailboxes"] <= 2 * EMULATOR_BATCH_PARALLEL


def test_inner_throttling_is_retried_alone(clean: Emulator) -> None:
    # At most 2 requests per 0.3 s for the mailbox: of 4 one-page scans in one batch, 2 get an
    # inner 429 with Retry-After and go again, alone, in later batches.
    clean.limits.configure(rate=2, rate_window=0.3, retry_after=0.1)
    try:
        client = make_client(clean, clean.mint_token())
        requests = [messages_of(clean.users[2], 1000)] * 4
        expected = sum(len(p) for p in client.pages(requests[0]))
        time.sleep(0.35)  # let the window forget that scan
        clean.clear_log()
        client.stats.reset()
        got = dict(client.fan_out(requests))
    finally:
        clean.limits.configure(rate=None, retry_after=1.0)
    assert {i: len(rows) for i, rows in got.items()} == {i: expected for i in range(4)}
    batches = [e for e in clean.log if e.kind == "batch"]
    inner = [[item["status"] for item in e.inner] for e in batches]
    assert sorted(inner[0]) == [200, 200, 429, 429]
    # Only throttled requests are sent again: each later batch is no bigger than the number
    # of 429s still outstanding.
    outstanding = 2
    for statuses in inner[1:]:
        assert len(statuses) <= outstanding
        outstanding -= statuses.count(200)
    assert outstanding == 0
    throttled = sum(statuses.count(429) for statuses in inner)
    assert client.stats.throttled == throttled == client.stats.retries
    assert client.stats.wait_seconds >= 0.15


def test_stopping_a_fan_out_cancels_outstanding_work(clean: Emulator) -> None:
    clean.faults.latency(0.2, path="/$batch")
    client = make_client(clean, clean.mint_token(), max_concurrency=2)
    requests = [messages_of(upn, 2) for upn in clean.users] * 10  # 70 scans, 4 batches
    scans = client.fan_out(requests)
    next(scans)
    scans.close()
    time.sleep(0.6)  # in-flight batches finish; nothing new may start
    sent = len([e for e in clean.log if e.kind == "batch"])
    time.sleep(0.4)
    assert len([e for e in clean.log if e.kind == "batch"]) == sent <= 3


def test_fan_out_error_carries_the_inner_facts(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token())
    requests = [messages_of(clean.users[0], 5), messages_of("nobody@contoso.onmicrosoft.com", 5)]
    with pytest.raises(o365sql.ProgrammingError) as info:
        for _ in client.fan_out(requests):
            pass
    exc = info.value
    assert "nobody" in str(exc) and "$batch" in str(exc)
    assert exc.status in (400, 404) and exc.code and exc.request_id and exc.request_id in str(exc)


def test_fan_out_refreshes_a_rejected_token_once(clean: Emulator) -> None:
    tokens = Tokens(clean.mint_token(lifetime=-120), clean.mint_token())
    client = make_client(clean, tokens)
    requests = [messages_of(upn, 10) for upn in clean.users[:3]]
    assert sorted({i for i, _ in client.fan_out(requests)}) == [0, 1, 2]
    assert tokens.calls.count(True) == 1
    assert [e.status for e in clean.log if e.kind == "batch"][:2] == [401, 200]
