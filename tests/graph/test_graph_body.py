"""Whole response bodies read in one call (``graph/body.py``), over real HTTPS to the emulator:
the body equals what ``Response.content`` reads, the connection goes back to the pool, and a
body cut off mid-way raises the requests error the Graph client retries."""

from __future__ import annotations

import pytest
import requests

from o365sql.emulator import Emulator
from o365sql.graph.body import read_body

PAGE = "/v1.0/me/messages?$top=200&$select=id,subject,from"


def _session(emu: Emulator) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + emu.mint_token(
        user=emu.users[0], scopes=["Mail.Read"])
    return session


def test_the_body_is_the_content_and_the_connection_is_reused(clean: Emulator) -> None:
    session = _session(clean)
    url = clean.base_url + PAGE
    reference = session.get(url, verify=clean.ca_path, timeout=30).content
    assert len(reference) > 16384  # more than one TLS record: several reads
    for _ in range(3):
        response = session.get(url, verify=clean.ca_path, timeout=30, stream=True)
        assert read_body(response) == reference
        assert response.content == reference and response.json()["value"]
    pool = next(iter(session.adapters["https://"].poolmanager.pools._container.values()))
    assert pool.num_connections == 1  # each body read released its connection for the next
    session.close()


def test_a_body_cut_off_raises_the_error_the_client_retries(clean: Emulator) -> None:
    clean.faults.drop(path="/me/messages", count=1)
    session = _session(clean)
    response = session.get(clean.base_url + PAGE, verify=clean.ca_path, timeout=30,
                           stream=True)
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError)):
        read_body(response)
    session.close()
