"""Which query shapes the replica answers (issue 13 point 2, every shape): reads that name
well-known folders (``ParentFolderId = 'Inbox'``, ``IN``, ``<>``, ``MailFolders.Id``), heavy
columns the replica was told to keep (``REPLICATE ... INCLUDE COLUMNS``) are answered from it
exactly as live Graph answers them, Offline without the network and under AutoCache without a
request; folders outside what the replica holds and ``SearchTerms`` go live under AutoCache
(EXPLAIN says why) and are refused Offline with an error naming them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from replica_support import Writer, connect, rows, same_rows

import o365sql
from o365sql.emulator import Emulator

#: Reads naming well-known folders, compared live against Offline.
NAMED = (
    "SELECT * FROM Messages WHERE ParentFolderId = 'Inbox'",
    "SELECT Id, Subject FROM Messages WHERE ParentFolderId = 'SENTITEMS'",
    "SELECT Id FROM Messages WHERE ParentFolderId IN ('inbox', 'drafts', 'clutter')",
    ("SELECT ParentFolderId, COUNT(*) FROM Messages WHERE ParentFolderId <> 'Inbox' "
    "GROUP BY ParentFolderId"),
    "SELECT Subject FROM Messages WHERE ParentFolderId = 'inbox' OR ParentFolderId = 'archive'",
    "SELECT Subject FROM Messages WHERE ParentFolderId NOT IN ('inbox', 'sentitems')",
    "SELECT Subject FROM Messages WHERE ParentFolderId = 'conflicts'",  # no such folder
    "SELECT * FROM MailFolders WHERE ParentFolderId = 'inbox'",
    "SELECT * FROM MailFolders WHERE ParentFolderId = 'msgfolderroot'",
    "SELECT DisplayName, TotalItemCount FROM MailFolders WHERE Id = 'Inbox'",
    "SELECT DisplayName FROM MailFolders WHERE Id IN ('deleteditems', 'junkemail')",
    ("SELECT f.DisplayName, COUNT(m.Id) FROM MailFolders f JOIN Messages m "
    "ON m.ParentFolderId = f.Id WHERE f.Id <> 'inbox' GROUP BY f.DisplayName"),
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=5, users=2, messages_per_user=40, events_per_user=1,
                  contacts_per_user=2, groups=1) as emu:
        writer = Writer(emu, emu.users[0])
        inbox = writer.call("GET", "/me/mailFolders/inbox?$select=id")["id"]
        child = writer.call("POST", f"/me/mailFolders/{inbox}/childFolders",
                            {"displayName": "Inbox child"})
        for message in writer.ids("/me/mailFolders/inbox/messages")[:3]:
            writer.call("POST", f"/me/messages/{message}/move", {"destinationId": child["id"]})
        for message in writer.ids("/me/mailFolders/inbox/messages")[:2]:
            writer.call("DELETE", f"/me/messages/{message}")  # into Recoverable Items
        writer.close()
        yield emu


def graph_requests(emulator: Emulator) -> int:
    return sum(1 for e in emulator.log if "/v1.0/" in (e.as_dict().get("path") or ""))


def unreachable(location: str) -> o365sql.Connection:
    """Offline, with a GraphURL nothing listens on: any request would fail."""
    return o365sql.connect(GraphURL="https://127.0.0.1:9/v1.0", OAuthAccessToken="x",
                           CacheLocation=location, Offline=True)


def replicated(emulator: Emulator, tmp_path: Path, tables: str) -> tuple[str, o365sql.Connection]:
    """A replica file holding ``tables`` and a live connection to the emulator."""
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    rows(live, f"REPLICATE {tables}")
    return location, live


def answered_live(emulator: Emulator, location: str, live: o365sql.Connection, sql: str) -> str:
    """AutoCache answers ``sql`` as live Graph does; EXPLAIN's source step (live, and why)."""
    cached = connect(emulator, location, AutoCache=True)
    try:
        assert sorted(rows(cached, sql)) == sorted(rows(live, sql))
        source = [r[2] for r in rows(cached, "EXPLAIN " + sql) if r[1] == "source"]
    finally:
        cached.close()
    assert len(source) == 1 and "live Graph, not the replica" in source[0], source
    return str(source[0])


def refused(location: str, sql: str) -> str:
    """The error Offline answers ``sql`` with."""
    offline = unreachable(location)
    try:
        with pytest.raises(o365sql.OperationalError) as caught:
            rows(offline, sql)
    finally:
        offline.close()
    return str(caught.value)


def test_well_known_folder_names_are_answered_from_the_replica(
        emulator: Emulator, tmp_path: Path) -> None:
    location, live = replicated(emulator, tmp_path, "TABLES (Messages, MailFolders)")
    offline = unreachable(location)
    compared = sum(same_rows(live, offline, sql) for sql in NAMED)
    assert compared >= 60
    # AutoCache within CacheTolerance: not even the names are asked of Graph.
    cached = connect(emulator, location, AutoCache=True)
    emulator.clear_log()
    for sql in NAMED:
        rows(cached, sql)
        explained = rows(cached, "EXPLAIN " + sql)
        assert [r for r in explained if r[1] == "source"], sql
        assert not [r for r in explained if r[1] in ("graph", "folders")], (sql, explained)
    assert graph_requests(emulator) == 0
    for connection in (live, offline, cached):
        connection.close()


def test_folders_the_replica_does_not_hold_go_live_and_are_refused_offline(
        emulator: Emulator, tmp_path: Path) -> None:
    """Recoverable Items is outside msgfolderroot's subtree, so no folder delta copies it; a
    deleted (or never seen) folder id looks the same to the replica: both are read live."""
    location, live = replicated(emulator, tmp_path, "TABLES (Messages, MailFolders)")
    sql = "SELECT Subject FROM Messages WHERE ParentFolderId = 'recoverableitemsdeletions'"
    assert len(rows(live, sql)) >= 2
    assert "recoverableitemsdeletions" in answered_live(emulator, location, live, sql)
    gone = "AAMkAGI2TGuLAAA" + "x" * 60
    for query, words in ((sql, "ParentFolderId = 'recoverableitemsdeletions'"),
                         (f"SELECT Id FROM Messages WHERE ParentFolderId = '{gone}'",
                          f"ParentFolderId = '{gone}'"),
                         (f"SELECT Id FROM MailFolders WHERE ParentFolderId = '{gone}'",
                          "not a folder the replica holds")):
        assert words in refused(location, query)
    live.close()


def test_search_terms_go_live_under_autocache_and_are_refused_offline(
        emulator: Emulator, tmp_path: Path) -> None:
    location, live = replicated(emulator, tmp_path, "Messages")
    sql = "SELECT Id, Subject FROM Messages WHERE SearchTerms = 'meeting'"
    source = answered_live(emulator, location, live, sql)
    assert "SearchTerms" in source and "$search" in source
    error = refused(location, sql)
    assert "SearchTerms" in error and "Messages" in error
    live.close()


def test_heavy_columns_kept_when_asked_equal_live_reads(
        emulator: Emulator, tmp_path: Path) -> None:
    location, live = replicated(emulator, tmp_path, "Messages")
    error = refused(location, "SELECT Id, Body_Content FROM Messages")
    assert "Body_Content" in error and "INCLUDE COLUMNS" in error
    offline = unreachable(location)
    heavy = "Body_Content, Body_ContentType, UniqueBody_Content, InternetMessageHeaders"
    # Adding columns to a replica copies the table again (rows copied before lack them).
    outcome = rows(live, "REPLICATE Messages INCLUDE COLUMNS (Body_Content, UniqueBody_Content, "
                         "InternetMessageHeaders)")[0]
    assert outcome[-1] is None and outcome[3] == outcome[2] > 0
    sql = f"SELECT Id, {heavy} FROM Messages"
    assert same_rows(live, offline, sql) == outcome[2]
    assert rows(offline, "SELECT COUNT(*) FROM Messages WHERE Body_Content IS NOT NULL "
                         "AND length(Body_Content) > 0")[0][0] > 0
    # The bodies stay current: a draft's body changes, new mail arrives, a plain REPLICATE
    # keeps the included columns.
    writer = Writer(emulator, emulator.users[0])
    draft = writer.call("POST", "/me/messages", {"subject": "body test",
                                                 "body": {"contentType": "Text",
                                                          "content": "first words"}})
    rows(live, "REPLICATE Messages")
    writer.call("PATCH", f"/me/messages/{draft['id']}",
                {"body": {"contentType": "Text", "content": "second words"}})
    again = rows(live, "REPLICATE Messages")[0]
    assert again[-1] is None and again[3] >= 1
    assert same_rows(live, offline, sql) == again[2]
    assert same_rows(live, offline, "SELECT Body_Content FROM Messages WHERE Subject = "
                                    "'body test'") == 1
    assert "second words" in rows(offline, "SELECT Body_Content FROM Messages "
                                           "WHERE Subject = 'body test'")[0][0]
    writer.close()
    for connection in (live, offline):
        connection.close()


def test_include_columns_statement_errors(emulator: Emulator, tmp_path: Path) -> None:
    live = connect(emulator, str(tmp_path / "replica.db"))
    for sql, words in (("REPLICATE Messages INCLUDE COLUMNS (Subject)", "Subject is kept anyway"),
                       ("REPLICATE Messages INCLUDE COLUMNS (SearchTerms)", "SearchTerms is a query"),
                       ("REPLICATE Messages INCLUDE COLUMNS (Nope)", "no column Nope"),
                       ("REPLICATE Messages INCLUDE COLUMNS ()", "names no column"),
                       ("REPLICATE CalendarView INCLUDE COLUMNS (Body_Content)",
                        "Body_Content cannot be replicated"),
                       ("REPLICATE Users INCLUDE COLUMNS (SignInActivity_LastSignInDateTime)",
                        "only the heavy columns of Messages")):
        with pytest.raises(o365sql.ProgrammingError) as caught:
            rows(live, sql)
        assert words in str(caught.value), (sql, caught.value)
    live.close()
