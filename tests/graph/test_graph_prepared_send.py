"""The Graph client prepares its requests itself (issue 12, point 3): what goes over the wire is
what ``Session.request`` would send, less its per-call reading of the environment. Checked on
the emulator's request log: the URL the client built arrives as built (an id made of dots
stays one segment), a nextLink holding characters requests must quote still works, the
environment's proxies and ``REQUESTS_CA_BUNDLE`` still apply (read once per host), and the
session's headers and cookies are sent."""

from __future__ import annotations

import pytest
from graph_support import make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.graph.request import GraphRequest

ME = GraphRequest("GET", "/me", (("$select", "displayName"),))


def test_a_built_url_is_sent_as_built(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    # An id made of dots is escaped as one segment (odata.query.path_segment); requests'
    # own quoting would turn it back into ".." and address the parent collection.
    request = GraphRequest("GET", "/me/messages/%2E%2E%2E", (("$select", "subject"),))
    with pytest.raises(o365sql.Error):
        client.send(request)
    sent = [e for e in clean.log if e.kind == "graph"]
    assert [e.raw_path for e in sent] == ["/v1.0/me/messages/%2E%2E%2E"]
    assert sent[0].query == "$select=subject"


def test_a_url_with_characters_to_quote_is_prepared_by_requests(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    # A space and a non-ASCII letter (as a nextLink might hold): quoted by requests.
    payloads = client.payloads(GraphRequest("GET", "/me/messages", (
        ("$filter", "subject eq 'é x'"), ("$select", "subject"))))
    assert next(payloads)["value"] == []
    sent = [e for e in clean.log if e.kind == "graph"]
    assert len(sent) == 1 and sent[0].status == 200
    assert "%C3%A9%20x" in sent[0].query


def test_the_environment_still_applies_read_once_per_host(
    clean: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy nobody listens on: the call fails before reaching the emulator ...
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = make_client(clean, clean.mint_token(user=clean.users[0]))
    with pytest.raises(o365sql.OperationalError):
        proxied.send(ME)
    assert [e for e in clean.log if e.kind == "graph"] == []
    # ... and the client keeps what it read for that host, for its whole life.
    monkeypatch.delenv("HTTPS_PROXY")
    with pytest.raises(o365sql.OperationalError):
        proxied.send(ME)
    # A new client reads the environment again; NO_PROXY exempts the emulator's host.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    direct = make_client(clean, clean.mint_token(user=clean.users[0]))
    assert "displayName" in direct.send(ME)
    assert len([e for e in clean.log if e.kind == "graph"]) == 1


def test_session_headers_and_cookies_are_sent(clean: Emulator) -> None:
    token = clean.mint_token(user=clean.users[0])
    client = make_client(clean, token)
    client.session.cookies.set("probe", "1")
    response = client._send("GET", client.url_for(ME), {"Authorization": f"Bearer {token}",
                                                        "Accept": "application/json"},
                            None, timeout=30, stream=False)
    assert response.status_code == 200 and "displayName" in response.json()
    sent = response.request.headers
    # The session's defaults merged with the request's, as Session.request merges them.
    assert sent["Accept"] == "application/json" and "gzip" in sent["Accept-Encoding"]
    assert sent["Cookie"] == "probe=1"
    assert [e.status for e in clean.log if e.kind == "graph"] == [200]
