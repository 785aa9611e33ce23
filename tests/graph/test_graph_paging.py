"""Paging against the emulator: nextLink to the end, header resend, early stop."""

from __future__ import annotations

import pytest
from graph_support import make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.graph.paging import check_same_origin, relative_url
from o365sql.graph.request import GraphRequest

EVENTUAL = (("ConsistencyLevel", "eventual"),)


def graph_entries(emu: Emulator, path: str) -> list:
    return [e for e in emu.log if e.path == "/v1.0" + path]


def test_pages_follow_next_link_to_the_end(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    request = GraphRequest("GET", "/me/messages", (("$select", "id"), ("$top", "25")))
    sizes = [len(page) for page in client.pages(request)]
    entries = graph_entries(clean, "/me/messages")
    assert len(sizes) == len(entries) > 1 and all(e.status == 200 for e in entries)
    assert all(size == 25 for size in sizes[:-1]) and 0 <= sizes[-1] <= 25
    assert all("$skip" in e.query or "$skiptoken" in e.query for e in entries[1:])
    # Every message exactly once: the same ids as in one big page.
    clean.clear_log()
    one = list(
        client.pages(GraphRequest("GET", "/me/messages", (("$select", "id"), ("$top", "1000"))))
    )
    paged = [row["id"] for page in client.pages(request) for row in page]
    assert len(one) == 1 and sorted(paged) == sorted(row["id"] for row in one[0])
    assert len(set(paged)) == len(paged) == sum(sizes)
    assert client.stats.pages == len(sizes) + 1 + len(sizes)


def test_headers_are_resent_on_every_page(clean: Emulator) -> None:
    # endswith() on mail is an advanced query: Graph answers 400 on any page sent without
    # ConsistencyLevel: eventual, and the header is not part of the nextLink.
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    request = GraphRequest(
        "GET",
        "/users",
        (("$filter", "endswith(mail,'.onmicrosoft.com')"), ("$count", "true"), ("$top", "2")),
        EVENTUAL,
    )
    payloads = list(client.payloads(request))
    assert len(payloads) >= 3
    assert payloads[0]["@odata.count"] == sum(len(p["value"]) for p in payloads)
    assert all("@odata.count" not in p for p in payloads[1:])
    assert [e.status for e in graph_entries(clean, "/users")] == [200] * len(payloads)
    # The control: the second page's link without the header is refused.
    link = relative_url(payloads[0]["@odata.nextLink"], clean.graph_url)
    with pytest.raises(o365sql.Error) as info:
        client.send(GraphRequest("GET", link))
    assert info.value.status == 400


def test_stopping_iteration_stops_paging(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    pages = client.pages(GraphRequest("GET", "/me/messages", (("$select", "id"), ("$top", "5"))))
    assert graph_entries(clean, "/me/messages") == []  # nothing is sent before the first next()
    assert len(next(pages)) == 5 and len(next(pages)) == 5
    pages.close()
    assert len(graph_entries(clean, "/me/messages")) == 2


def test_next_link_to_another_host_is_not_followed(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    with pytest.raises(o365sql.InternalError, match="not following"):
        check_same_origin("https://graph.example.org/v1.0/me/messages?$skip=5", client.base_url)
