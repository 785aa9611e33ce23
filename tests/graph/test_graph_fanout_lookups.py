"""Lookups by key through ``fan_out(missing_ok=True)``: keys Graph does not know yield an empty
page instead of ending the fan-out, 20 lookups per ``$batch`` POST; checked against the
emulator's request log."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from graph_support import make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.graph.request import GraphRequest


def mailbox(upn: str) -> str:
    return f"/users/{quote(upn, safe='@')}"


def message_ids(client, upn: str, top: int) -> list[str]:  # type: ignore[no-untyped-def]
    request = GraphRequest("GET", f"{mailbox(upn)}/messages", (("$select", "id"), ("$top", str(top))))
    return [row["id"] for row in next(client.pages(request))]


def lookup(upn: str, message_id: str) -> GraphRequest:
    return GraphRequest("GET", f"{mailbox(upn)}/messages/{message_id}", (("$select", "id,subject"),))


def test_missing_and_malformed_ids_yield_empty_pages(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token())
    owner, other = clean.users[0], clean.users[1]
    found = message_ids(client, owner, 3)
    foreign = message_ids(client, other, 1)[0]  # a well-formed id of another mailbox: 404
    requests = [lookup(owner, found[0]), lookup(owner, foreign), lookup(owner, "not-an-id"),
                lookup(owner, found[1])]
    clean.clear_log()
    client.stats.reset()
    pages: dict[int, list[list[dict]]] = {}
    for index, page in client.fan_out(requests, missing_ok=True):
        pages.setdefault(index, []).append(page)
    assert [row["id"] for page in pages[0] for row in page] == [found[0]]
    assert [row["id"] for page in pages[3] for row in page] == [found[1]]
    assert pages[1] == [[]] and pages[2] == [[]]
    batches = [e for e in clean.log if e.kind == "batch"]
    assert len(batches) == 1  # all four in one POST
    assert sorted(inner["status"] for inner in batches[0].inner) == [200, 200, 400, 404]
    assert client.stats.missing == 2


def test_without_missing_ok_the_first_missing_id_still_raises(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token())
    found = message_ids(client, clean.users[0], 2)
    foreign = message_ids(client, clean.users[1], 1)[0]
    with pytest.raises(o365sql.ProgrammingError) as info:
        list(client.fan_out([lookup(clean.users[0], found[0]), lookup(clean.users[0], foreign)]))
    assert info.value.status == 404 and info.value.code == "ErrorItemNotFound"


def test_a_missing_mailbox_is_not_a_missing_item(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token())
    found = message_ids(client, clean.users[0], 1)
    requests = [lookup(clean.users[0], found[0]), lookup("nobody@contoso.onmicrosoft.com", found[0])]
    with pytest.raises(o365sql.ProgrammingError) as info:
        list(client.fan_out(requests, missing_ok=True))
    assert info.value.status == 404 and info.value.code == "ErrorInvalidUser"


def test_lookups_in_one_mailbox_go_four_per_post(clean: Emulator) -> None:
    # Outlook allows a mailbox 4 concurrent requests, inner ones of a $batch included
    # (graph-semantics §6, §8.1): 30 lookups in one mailbox go 4 to a body, one body at a time.
    client = make_client(clean, clean.mint_token(), max_concurrency=2)
    found = message_ids(client, clean.users[0], 5)
    keys = (found + ["missing-id"]) * 5  # 30 lookups, 5 of them malformed
    clean.clear_log()
    results: dict[int, int] = {}
    for index, page in client.fan_out([lookup(clean.users[0], k) for k in keys], missing_ok=True):
        results[index] = results.get(index, 0) + len(page)
    assert [results[i] for i in range(len(keys))] == [0 if k == "missing-id" else 1 for k in keys]
    batches = [e for e in clean.log if e.kind == "batch"]
    assert sorted(len(b.inner) for b in batches) == [2] + [4] * 7
    assert clean.counters["mailbox_concurrency"]["refused"] == 0


def test_lookups_over_five_mailboxes_go_twenty_per_post(clean: Emulator) -> None:
    # 4 lookups in each of 5 mailboxes: one body of 20 holds them all (4 per mailbox).
    client = make_client(clean, clean.mint_token(), max_concurrency=1)
    requests = [lookup(upn, k) for upn in clean.users[:5]
                for k in message_ids(client, upn, 3) + ["missing-id"]]
    clean.clear_log()
    results: dict[int, int] = {}
    for index, page in client.fan_out(requests, missing_ok=True):
        results[index] = results.get(index, 0) + len(page)
    assert [results[i] for i in range(20)] == [1, 1, 1, 0] * 5
    assert [len(b.inner) for b in clean.log if b.kind == "batch"] == [20]


def test_a_single_lookup_is_sent_directly_and_may_be_missing(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token())
    foreign = message_ids(client, clean.users[1], 1)[0]
    clean.clear_log()
    assert list(client.fan_out([lookup(clean.users[0], foreign)], missing_ok=True)) == [(0, [])]
    assert [e.kind for e in clean.log] == ["graph"] and clean.log[0].status == 404
    with pytest.raises(o365sql.ProgrammingError, match="ErrorInvalidIdMalformed"):
        list(client.fan_out([lookup(clean.users[0], "not-an-id")]))
