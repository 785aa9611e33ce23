"""The replica's behaviours over a real emulator (issue 13 points 1, 2, 4, 5, 6): the file and
its layout, empty refreshes that cost one request per folder, 410 resyncs of one folder,
AutoCache (fresh: no request; stale: a delta refresh first), Offline (no network; clear
errors), EXPLAIN's source step, sys_replicas, REPLICATE's statement forms, and many mailboxes
with an app-only sign-in where one is scoped away (403) and one has no mailbox (404)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from replica_support import Writer, connect, rows, same_rows

import o365sql
from o365sql.catalog import load_catalog
from o365sql.emulator import Emulator
from o365sql.replica.store import declared_type


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=9, users=4, messages_per_user=30, events_per_user=2,
                  contacts_per_user=6, groups=2) as emu:
        yield emu


@pytest.fixture
def location(tmp_path: Path) -> str:
    return str(tmp_path / "cache" / "replica.db")


def graph_requests(emulator: Emulator) -> int:
    return sum(1 for e in emulator.log if "/v1.0/" in (e.as_dict().get("path") or ""))


def test_file_is_private_and_readable_by_any_sqlite_tool(emulator: Emulator, location: str) -> None:
    live = connect(emulator, location)
    outcome = rows(live, "REPLICATE Messages")
    assert [(r[0], r[1], r[-1]) for r in outcome] == [("Messages", "me", None)]
    assert outcome[0][2] == len(rows(live, "SELECT Id FROM Messages")) > 0
    assert stat.S_IMODE(os.stat(location).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(location)).st_mode) == 0o700
    table = load_catalog().table("Messages")
    with sqlite3.connect(location) as plain:
        info = plain.execute('PRAGMA table_info("Messages")').fetchall()
        assert [(c[1], c[2]) for c in info] == [(c.name, declared_type(c))
                                                for c in table.columns if not c.heavy]
        count = plain.execute('SELECT COUNT(*) FROM "Messages"').fetchone()[0]
        links = plain.execute("SELECT COUNT(*) FROM _o365sql_scopes WHERE tbl = 'Messages' "
                              "AND link LIKE '%deltatoken=%'").fetchone()[0]
    assert count == outcome[0][2] and links >= 5
    live.close()


def test_empty_refresh_costs_one_request_per_folder_and_410_resyncs_one_folder(
        emulator: Emulator, location: str) -> None:
    live = connect(emulator, location)
    rows(live, "REPLICATE Messages")
    with sqlite3.connect(location) as plain:
        folders = plain.execute("SELECT COUNT(*) FROM _o365sql_scopes WHERE tbl = 'Messages' "
                                "AND scope <> '#folders'").fetchone()[0]
    again = rows(live, "REPLICATE Messages")[0]
    assert again[6] == folders + 1 and again[3] == again[4] == again[5] == 0  # requests, no change
    me_id = emulator.tenant.user(emulator.users[0])["id"]
    inbox = emulator.tenant.mailbox(me_id).mail.well_known["inbox"]
    dropped = emulator.expire_delta_tokens(f"{me_id}/mailFolders/{inbox}/")
    assert dropped >= 1
    Writer(emulator, emulator.users[1]).call("POST", "/me/sendMail", {"message": {
        "subject": "after expiry", "toRecipients": [{"emailAddress": {"address": emulator.users[0]}}]}})
    resynced = rows(live, "REPLICATE Messages")[0]
    assert resynced[5] == 1 and resynced[-1] is None  # one folder started over
    offline = connect(emulator, location, Offline=True)
    assert same_rows(live, offline, "SELECT * FROM Messages") == resynced[2]
    live.close()
    offline.close()


def test_autocache_fresh_replica_answers_without_graph_and_stale_one_refreshes_first(
        emulator: Emulator, location: str) -> None:
    live = connect(emulator, location)
    cached = connect(emulator, location, AutoCache=True)
    sql = "SELECT ParentFolderId, COUNT(*) FROM Messages GROUP BY ParentFolderId"
    first = rows(cached, sql)  # never replicated: AutoCache copies it first
    assert sorted(first) == sorted(rows(live, sql))
    emulator.clear_log()
    assert sorted(rows(cached, sql)) == sorted(first)
    assert graph_requests(emulator) == 0
    Writer(emulator, emulator.users[1]).call("POST", "/me/sendMail", {"message": {
        "subject": "fresh", "toRecipients": [{"emailAddress": {"address": emulator.users[0]}}]}})
    # Within CacheTolerance the replica answers as it was (CData's documented behaviour) ...
    assert sorted(rows(cached, sql)) == sorted(first)
    # ... and once it is older, a delta refresh runs before it answers.
    stale = connect(emulator, location, AutoCache=True, CacheTolerance=0)
    emulator.clear_log()
    assert sorted(rows(stale, sql)) == sorted(rows(live, sql)) != sorted(first)
    assert 0 < graph_requests(emulator) < 40
    explained = rows(stale, "EXPLAIN SELECT COUNT(*) FROM Messages WHERE IsRead = false")
    sources = [r[2] for r in explained if r[1] == "source"]
    assert len(sources) == 1 and "replica at" in sources[0] and "s ago" in sources[0]
    assert not [r for r in explained if r[1] == "graph"]
    for connection in (live, cached, stale):
        connection.close()


def test_offline_never_touches_the_network_and_names_what_is_missing(
        emulator: Emulator, location: str) -> None:
    live = connect(emulator, location)
    rows(live, "REPLICATE TABLES (MailFolders, Users)")
    offline = o365sql.connect(GraphURL="https://127.0.0.1:9/v1.0", OAuthAccessToken="x",
                              CacheLocation=location, Offline=True)
    assert same_rows(live, offline, "SELECT * FROM MailFolders") > 3
    assert same_rows(live, offline, "SELECT u.DisplayName, f.DisplayName FROM Users u "
                                    "CROSS JOIN MailFolders f WHERE f.TotalItemCount > 0") > 0
    for sql, words in (("SELECT * FROM Contacts", "Contacts was never replicated"),
                       ("SELECT Body_Content FROM Messages", "Messages"),
                       ("SELECT * FROM MailFolders WHERE UserId = 'someone@else.example'",
                        "never replicated for mailbox"),
                       ("SELECT * FROM Calendars", "Calendars cannot be replicated"),
                       ("REPLICATE Messages", "Offline")):
        with pytest.raises(o365sql.OperationalError) as caught:
            rows(offline, sql)
        assert words in str(caught.value)
    replicas = rows(offline, "SELECT TableName, UserId, Folder, Rows, LastError FROM sys_replicas")
    assert {(r[0], r[1]) for r in replicas} == {("MailFolders", "me"), ("Users", None)}
    assert all(r[4] is None for r in replicas)
    live.close()
    offline.close()


def test_statement_forms_and_their_errors(emulator: Emulator, location: str) -> None:
    live = connect(emulator, location)
    me = emulator.users[0]
    assert [r[0] for r in rows(live, "REPLICATE ALL")] == [
        "Messages", "MailFolders", "Contacts", "ContactFolders", "CalendarView", "Events", "Users", "Groups",
        "GroupMembers"]
    outcome = rows(live, f"REPLICATE contacts WHERE UserId = '{me}'")
    assert [(r[0], r[1]) for r in outcome] == [("Contacts", me)]
    for sql, words in (("REPLICATE Calendars", "does not support Calendars"),
                       ("REPLICATE Mesages", "Messages"),
                       ("REPLICATE Messages WHERE IsRead = false", "accepts only UserId"),
                       ("REPLICATE", "needs a table"),
                       ("REPLICATE TABLES ()", "names no table")):
        with pytest.raises(o365sql.ProgrammingError) as caught:
            rows(live, sql)
        assert words in str(caught.value)
    live.close()


def test_many_mailboxes_app_only_skip_the_ones_that_fail(emulator: Emulator, location: str) -> None:
    tenant = emulator.tenant
    users = [u["id"] for u in tenant.users]
    denied, gone = users[1], users[2]
    tenant.deny_app_access(denied)
    tenant.remove_mailbox(gone)
    app: dict[str, Any] = {"GraphURL": emulator.graph_url, "AuthorityURL": emulator.authority,
                           "AzureTenant": emulator.tenant_id, "SSLServerCert": emulator.ca_path,
                           "OAuthAccessToken": emulator.mint_token(), "CacheLocation": location,
                           "AuthScheme": "AzureServicePrincipal"}
    live = o365sql.connect(**app)
    emulator.clear_log()
    outcome = {r[1]: r for r in rows(live, "REPLICATE Messages WHERE UserId IN (SELECT Id FROM Users)")}
    assert set(outcome) == set(users)
    assert outcome[denied][-1].startswith("403 ErrorAccessDenied")
    assert outcome[gone][-1].startswith("404")
    good = [u for u in users if u not in (denied, gone)]
    assert all(outcome[u][-1] is None and outcome[u][2] > 0 for u in good)
    assert not [e for e in emulator.log if e.as_dict().get("status") == 429]
    offline = o365sql.connect(**{**app, "Offline": True})
    in_list = ", ".join(f"'{u}'" for u in good)
    assert same_rows(live, offline, f"SELECT UserId, COUNT(*) FROM Messages WHERE UserId IN ({in_list}) "
                                    "GROUP BY UserId") == len(good)
    errors = rows(offline, "SELECT UserId, LastError FROM sys_replicas WHERE LastError IS NOT NULL")
    assert {r[0] for r in errors} == {denied, gone}
    live.close()
    offline.close()


def test_writes_read_live_and_make_the_replica_refresh(emulator: Emulator, location: str) -> None:
    """An UPDATE on an AutoCache connection finds its rows live, and the next SELECT sees it."""
    cached = connect(emulator, location, AutoCache=True)
    sql = "SELECT COUNT(*) FROM Messages WHERE IsRead = false"
    unread = rows(cached, sql)[0][0]
    assert unread > 0
    target = rows(cached, "SELECT Id FROM Messages WHERE IsRead = false ORDER BY Id LIMIT 1")[0][0]
    cur = cached.cursor()
    cur.execute("UPDATE Messages SET IsRead = true WHERE Id = :id", {"id": target})
    assert cur.rowcount == 1
    assert rows(cached, sql)[0][0] == unread - 1  # refreshed with delta, within CacheTolerance
    cached.close()
