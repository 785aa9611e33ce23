"""Fan-out over many mailboxes, each larger than one page, against the emulator: distinct
mailboxes run in parallel beyond Outlook's 4 per mailbox, no ``$batch`` body holds more than 4
items of one mailbox, every item's ``@odata.nextLink`` is followed to the end, inner 429/503 are
retried alone, and the rows equal one-by-one reads (graph-semantics §6, §8.1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from graph_support import make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.graph.batch import MAX_BATCH
from o365sql.graph.request import GraphRequest
from o365sql.graph.retry import RetryPolicy

PAGE = 7


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    # 24 users (22 with a mailbox) of 30 seeded messages (plus drafts): 5 pages of 7 each.
    with Emulator(seed=5, users=24, messages_per_user=30) as emulator:
        yield emulator


def scan(upn: str) -> GraphRequest:
    return GraphRequest("GET", f"/users/{quote(upn, safe='@')}/messages",
                        (("$select", "id,subject"), ("$top", str(PAGE))))


def one_by_one(client, requests: list[GraphRequest]) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    return {i: [row["id"] for page in client.pages(r) for row in page]
            for i, r in enumerate(requests)}


def fanned_out(client, requests: list[GraphRequest]) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    got: dict[int, list[str]] = {i: [] for i in range(len(requests))}
    for index, page in client.fan_out(requests):
        got[index].extend(row["id"] for row in page)
    return got


def body_mailboxes(entry) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(item["url"].split("/")[2].lower() for item in entry.inner)


def test_every_page_of_every_mailbox_in_parallel_beyond_four(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(), max_concurrency=8)
    requests = [scan(upn) for upn in clean.users]
    expected = one_by_one(client, requests)
    compared = sum(len(ids) for ids in expected.values())
    mailboxes = len(requests)
    assert mailboxes >= 20 and compared >= mailboxes * 30  # the floor of the check
    pages = sum(-(-len(ids) // PAGE) for ids in expected.values())
    assert pages >= mailboxes * 5  # every mailbox is larger than one page
    # Every inner request keeps its mailbox's slot 30 ms, so bodies overlap at the server.
    clean.faults.latency(0.03, path="/messages")
    clean.clear_log()
    client.stats.reset()
    got = fanned_out(client, requests)
    assert got == expected  # same rows, same order per mailbox: every nextLink followed
    batches = [e for e in clean.log if e.kind == "batch"]
    assert [e for e in clean.log if e.kind == "graph"] == []
    assert all(len(e.inner) <= MAX_BATCH and max(body_mailboxes(e).values()) <= 4
               for e in batches)
    inner = [item for e in batches for item in e.inner]
    assert len(inner) == pages == client.stats.batch_items  # one inner request per page
    assert len(batches) == client.stats.batches == client.stats.requests
    # Later pages ride in later bodies: nextLinks carry $skip (the emulator's paging).
    assert sum("skip" in item["url"].lower() for item in inner) == pages - mailboxes
    peaks = clean.counters["mailbox_concurrency"]
    assert peaks["refused"] == 0 and client.stats.throttled == 0
    assert peaks["peak"] <= 4 < peaks["all_mailboxes"] <= 8 * 4
    assert 4 < client.stats.max_in_flight <= 8


def test_inner_429_and_503_are_retried_item_by_item_while_paging(clean: Emulator) -> None:
    patient = RetryPolicy(max_attempts=12, max_total_wait=10.0, backoff_base=0.02, backoff_cap=0.1)
    client = make_client(clean, clean.mint_token(), max_concurrency=6, retry=patient)
    requests = [scan(upn) for upn in clean.users[:12]]
    expected = one_by_one(client, requests)
    clean.faults.status(503, retry_after=0.02, path="/messages", fraction=0.1)
    clean.faults.status(429, retry_after=0.02, path="/messages", fraction=0.1)
    clean.clear_log()
    client.stats.reset()
    got = fanned_out(client, requests)
    assert got == expected
    statuses = Counter(item["status"] for e in clean.log if e.kind == "batch" for item in e.inner)
    assert statuses[429] >= 1 and statuses[503] >= 1
    assert set(statuses) == {200, 429, 503}
    assert client.stats.throttled == statuses[429] + statuses[503] == client.stats.retries
    assert statuses[200] == sum(-(-len(ids) // PAGE) for ids in expected.values())


def test_a_forbidden_mailbox_ends_the_fan_out_with_its_error(clean: Emulator) -> None:
    # As before this change: an inner 403 is no "missing item"; it raises, naming the request.
    client = make_client(clean, clean.mint_token())
    requests = [scan(upn) for upn in clean.users[:10]]
    clean.faults.status(403, path=f"/users/{clean.users[7]}/messages")
    with pytest.raises(o365sql.DatabaseError) as info:
        list(client.fan_out(requests))
    assert info.value.status == 403 and clean.users[7] in str(info.value)
