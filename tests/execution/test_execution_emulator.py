"""Execution against the emulator: real HTTP, real sqlite3, the thin path and the local engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

import o365sql
from o365sql.emulator import Emulator

SCOPES = ["Mail.Read", "User.Read.All", "Calendars.Read", "Contacts.Read", "Group.Read.All"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=5, users=3, messages_per_user=60, events_per_user=10) as emu:
        yield emu


def _connect(emu: Emulator, token: str, **props: Any) -> Any:
    return o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                           AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                           OAuthAccessToken=token, **props)


@pytest.fixture(scope="module")
def conn(emulator: Emulator) -> Iterator[Any]:
    connection = _connect(emulator, emulator.mint_token(user=emulator.users[0], scopes=SCOPES))
    yield connection
    connection.close()


def _graph_lines(emu: Emulator) -> list[str]:
    return [f"{e.method} {e.path}?{e.query}" for e in emu.log if e.kind in ("graph", "batch")]


def test_thin_path_types_and_pushdown(emulator: Emulator, conn: Any) -> None:
    cur = conn.cursor()
    emulator.clear_log()
    cur.execute("SELECT Subject, ReceivedDateTime, IsRead FROM Messages WHERE IsRead = :r "
                "ORDER BY ReceivedDateTime DESC LIMIT 4", {"r": False})
    rows = cur.fetchall()
    assert [d[0] for d in cur.description] == ["Subject", "ReceivedDateTime", "IsRead"]
    assert [d[1] for d in cur.description] == ["VARCHAR", "DATETIME", "BOOLEAN"]
    assert 0 < len(rows) <= 4
    assert all(r[2] is False for r in rows)
    stamps = [r[1] for r in rows]
    assert all(s.tzinfo is not None for s in stamps) and stamps == sorted(stamps, reverse=True)
    lines = _graph_lines(emulator)
    assert len(lines) == 1 and "$top=4" in lines[0] and "$orderby" in lines[0]
    # The same rows as doing everything locally.
    cur.execute("SELECT Subject, ReceivedDateTime, IsRead FROM Messages")
    local = sorted((r for r in cur.fetchall() if r[2] is False), key=lambda r: r[1],
                   reverse=True)[:4]
    assert rows == local


def test_streaming_fetches_pages_lazily(emulator: Emulator) -> None:
    connection = _connect(emulator, emulator.mint_token(user=emulator.users[0], scopes=SCOPES),
                          PageSize=10)
    try:
        cur = connection.cursor()
        emulator.clear_log()
        cur.execute("SELECT Id, Subject FROM Messages WHERE Subject LIKE '%e%'")
        first = cur.fetchmany(3)
        assert len(first) == 3
        # One page asked for so far, not the whole mailbox (60 messages = 6 pages).
        assert len(_graph_lines(emulator)) == 1
        rest = cur.fetchall()
        assert len(_graph_lines(emulator)) >= 6
        assert len({r[0] for r in first + rest}) == len(first + rest)
    finally:
        connection.close()


def test_local_engine_group_distinct_subquery(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT Importance, COUNT(*) AS n, MAX(ReceivedDateTime) AS latest "
                "FROM Messages GROUP BY Importance HAVING COUNT(*) > 0 ORDER BY n DESC")
    grouped = cur.fetchall()
    assert [d[1] for d in cur.description] == ["ENUM", "BIGINT", "DATETIME"]
    assert all(isinstance(r[2], dt.datetime) and r[2].tzinfo for r in grouped)
    cur.execute("SELECT Id FROM Messages")
    every = len(cur.fetchall())  # 60 seeded messages plus the emulator's unsent drafts
    cur.execute("SELECT COUNT(*) FROM Messages")
    assert sum(r[1] for r in grouped) == cur.fetchone()[0] == every >= 60
    cur.execute("SELECT COUNT(*) FROM (SELECT DISTINCT Importance FROM Messages)")
    assert cur.fetchone()[0] == len(grouped)
    cur.execute("SELECT Subject FROM Messages WHERE ReceivedDateTime = "
                "(SELECT MAX(ReceivedDateTime) FROM Messages)")
    assert len(cur.fetchall()) >= 1


def test_datetime_literals_compare_as_time(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT ReceivedDateTime FROM Messages ORDER BY ReceivedDateTime")
    stamps = [r[0] for r in cur.fetchall()]
    middle = stamps[len(stamps) // 2]
    as_offset = middle.astimezone(dt.timezone(dt.timedelta(hours=-7))).isoformat()
    cur.execute("SELECT COUNT(*) FROM Messages WHERE ReceivedDateTime >= ?", [as_offset])
    assert cur.fetchone()[0] == sum(1 for s in stamps if s >= middle)
    cur.execute("SELECT COUNT(*) FROM Messages WHERE ReceivedDateTime < :d",
                {"d": middle.replace(tzinfo=None)})  # naive = UTC
    assert cur.fetchone()[0] == sum(1 for s in stamps if s < middle)


def test_join_users_to_mailboxes_fans_out(emulator: Emulator) -> None:
    app = _connect(emulator, emulator.mint_token(user=None))
    try:
        cur = app.cursor()
        emulator.clear_log()
        cur.execute("SELECT u.UserPrincipalName, COUNT(*) FROM Users u "
                    "JOIN Messages m ON m.UserId = u.Id GROUP BY u.UserPrincipalName")
        rows = cur.fetchall()
        assert any("$batch" in line for line in _graph_lines(emulator))
        # Each mailbox's count equals its rows read on their own (60 seeded messages plus
        # the emulator's unsent drafts).
        sizes = {}
        for upn, count in rows:
            cur.execute("SELECT Id FROM Messages WHERE UserId = ?", [upn])
            sizes[upn] = len(cur.fetchall())
            assert count == sizes[upn] >= 60, upn
        assert len(rows) >= 3
        cur.execute("SELECT COUNT(*) FROM Messages WHERE UserId IN (?, ?)",
                    [emulator.users[0], emulator.users[1]])
        assert cur.fetchone()[0] == sizes[emulator.users[0]] + sizes[emulator.users[1]]
    finally:
        app.close()


def test_explain_describes_requests_and_local_work(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("EXPLAIN SELECT DisplayName FROM Users WHERE Mail LIKE '%@contoso.com' "
                "ORDER BY DisplayName")
    rows = cur.fetchall()
    assert [d[0] for d in cur.description] == ["Step", "Kind", "Detail"]
    graph = [r for r in rows if r[1] == "graph"]
    assert graph and "endswith(mail,'@contoso.com')" in graph[0][2]
    assert "ConsistencyLevel: eventual" in graph[0][2]
    assert any(r[1] == "re-check" for r in rows)
    assert any(r[1] == "local" and "ORDER BY" in r[2] for r in rows)


def test_sys_tables_take_any_sql(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT t.TableName, COUNT(*) FROM sys_tables t JOIN sys_tablecolumns c "
                "ON c.TableName = t.TableName WHERE t.TableName IN ('Messages', 'Users') "
                "GROUP BY t.TableName ORDER BY 1")
    rows = cur.fetchall()
    assert [r[0] for r in rows] == ["Messages", "Users"] and all(r[1] > 10 for r in rows)
    cur.execute("SELECT ProcedureName FROM sys_procedures WHERE ProcedureName LIKE 'Get%'")
    assert cur.fetchall()


def test_exec_dispatches_to_procedures(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT ProcedureName FROM sys_procedures")
    names = [r[0] for r in cur.fetchall()]
    assert "GetOAuthAuthorizationURL" in names
    with pytest.raises(o365sql.ProgrammingError, match="NoSuchProc|nearest|unknown"):
        cur.execute("EXEC NoSuchProc @A = 1")


def test_graph_errors_name_the_table(emulator: Emulator) -> None:
    weak = _connect(emulator, emulator.mint_token(user=emulator.users[0], scopes=["User.Read"]))
    try:
        cur = weak.cursor()
        with pytest.raises(o365sql.PermissionDeniedError) as info:
            cur.execute("SELECT Subject FROM Messages WHERE Subject LIKE '%a%' ORDER BY 1")
            cur.fetchall()
        assert "Messages" in str(info.value) and info.value.status == 403
    finally:
        weak.close()


def test_pushdown_off_sends_no_filter(emulator: Emulator) -> None:
    off = _connect(emulator, emulator.mint_token(user=emulator.users[0], scopes=SCOPES),
                   Pushdown=False)
    try:
        cur = off.cursor()
        emulator.clear_log()
        cur.execute("SELECT COUNT(*) FROM Messages WHERE IsRead = true")
        count = cur.fetchone()[0]
        lines = _graph_lines(emulator)
        assert lines and not any("$filter" in line or "$count" in line for line in lines)
        assert 0 < count < 60
    finally:
        off.close()
