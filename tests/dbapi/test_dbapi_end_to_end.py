"""connect() → cursor → execute → fetch against the emulator, through the real execution stage,
sign-in stage and Graph client: streaming pulls pages only as rows are fetched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import o365sql
from o365sql.emulator import Emulator


@pytest.fixture(scope="module")
def e2e_emulator() -> Iterator[Emulator]:
    with Emulator(seed=1) as emulator:
        yield emulator


@pytest.fixture
def emu(e2e_emulator: Emulator) -> Emulator:
    e2e_emulator.faults.clear()
    e2e_emulator.clear_log()
    return e2e_emulator


def delegated(emu: Emulator, **props: Any) -> o365sql.Connection:
    return o365sql.connect(
        OAuthAccessToken=emu.mint_token(user=emu.users[0]),
        GraphURL=emu.graph_url,
        SSLServerCert=emu.ca_path,
        **props,
    )


def message_requests(emu: Emulator) -> list[Any]:
    return [e for e in emu.log if e.path == "/v1.0/me/messages"]


def test_rows_stream_page_by_page_as_they_are_fetched(emu: Emulator) -> None:
    with delegated(emu, Pagesize=5) as con:
        cur = con.execute("SELECT Id, Subject FROM Messages")
        assert cur.description[1][0] == "Subject" and cur.description[1][1] == o365sql.STRING
        assert len(message_requests(emu)) <= 1  # nothing fetched beyond what is needed
        cur.fetchone()
        assert len(message_requests(emu)) == 1
        rows = cur.fetchmany(7)  # rows 2..8: the second page
        assert len(rows) == 7 and len(message_requests(emu)) == 2
        cur.close()  # stops paging
        assert len(message_requests(emu)) == 2
        assert con.graph.stats.pages == 2


def test_a_full_scan_matches_the_tenant(emu: Emulator) -> None:
    with delegated(emu) as con:
        cur = con.cursor()
        cur.execute("SELECT DisplayName FROM Users")
        names = sorted(row[0] for row in cur)
        assert names == sorted(u["displayName"] for u in emu.tenant.users)
        assert cur.rowcount == len(names)


def test_max_rows_caps_results_and_paging(emu: Emulator) -> None:
    with delegated(emu, MaxRows=3, Pagesize=5) as con:
        rows = con.execute("SELECT Subject FROM Messages").fetchall()
        assert len(rows) == 3
        assert len(message_requests(emu)) == 1


def test_max_rows_leaves_aggregates_whole(emu: Emulator) -> None:
    # CData: MaxRows limits "queries without aggregation or GROUP BY".
    sql = "SELECT Importance, COUNT(*) FROM Messages GROUP BY Importance ORDER BY Importance"
    with delegated(emu) as con:
        expected = con.execute(sql).fetchall()
    with delegated(emu, MaxRows=2) as con:
        assert len(expected) > 2 and con.execute(sql).fetchall() == expected


def test_parameters_are_bound(emu: Emulator) -> None:
    person = emu.tenant.users[1]
    with delegated(emu) as con:
        cur = con.execute(
            "SELECT Id, DisplayName FROM Users WHERE DisplayName = :name",
            {"name": person["displayName"]},
        )
        assert cur.fetchall() == [(person["id"], person["displayName"])]


def test_graph_errors_reach_the_cursor_as_pep249_errors(emu: Emulator) -> None:
    emu.faults.status(503, retry_after=500, path="/me/messages")  # beyond the wait budget
    with delegated(emu) as con:
        cur = con.cursor()
        with pytest.raises(o365sql.ThrottledError) as info:
            cur.execute("SELECT Subject FROM Messages").fetchone()
        assert info.value.request_id and info.value.request_id in str(info.value)


def test_app_only_sign_in_through_the_auth_stage(emu: Emulator) -> None:
    # The connection builds its token provider with o365sql.auth.token_provider (msal,
    # client credentials) on first use; connect() itself sends nothing.
    con = o365sql.connect(
        AuthScheme="AzureServicePrincipal",
        OAuthClientId=emu.app.client_id,
        OAuthClientSecret=emu.app.client_secret,
        AzureTenant=emu.tenant_id,
        AuthorityURL=emu.base_url,
        GraphURL=emu.graph_url,
        SSLServerCert=emu.ca_path,
    )
    assert emu.log == []
    with con:
        upn = emu.users[1]
        cur = con.execute(
            "SELECT UserPrincipalName FROM Users WHERE UserPrincipalName = :u", {"u": upn}
        )
        assert cur.fetchall() == [(upn,)]
    assert any(e.kind == "identity" and e.grant_type == "client_credentials" for e in emu.log)
    assert emu.app.client_secret not in repr(con.properties)
