"""Strings holding U+0000 and LIMIT/OFFSET checks, end to end against the emulator.

A bound string with U+0000 is an ordinary value: it compares as SQL compares (no subject
equals ``subject + '\\x00'``, every subject differs from it), with pushdown on and off, and
never reaches Graph. ``LIMIT -1`` is refused before any request instead of returning every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import o365sql
from o365sql.emulator import Emulator

SCOPES = ["Mail.Read", "User.Read.All"]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=6, users=2, messages_per_user=25, events_per_user=2) as emulator:
        yield emulator


@pytest.fixture(scope="module", params=[True, False], ids=["pushdown", "local"])
def conn(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[Any]:
    connection = o365sql.connect(
        GraphURL=emu.graph_url, AuthorityURL=emu.authority, AzureTenant=emu.tenant_id,
        SSLServerCert=emu.ca_path, Pushdown=request.param,
        OAuthAccessToken=emu.mint_token(user=emu.users[0], scopes=SCOPES))
    yield connection
    connection.close()


def _rows(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


def test_nul_parameters_compare_as_sql_does(emu: Emulator, conn: Any) -> None:
    everything = _rows(conn, "SELECT Id, Subject FROM Messages")
    subjects = [s for _, s in everything if s]
    assert subjects
    real = subjects[0]
    with_nul = real + "\x00"
    emu.clear_log()
    assert _rows(conn, "SELECT Id FROM Messages WHERE Subject = :s", {"s": with_nul}) == []
    assert not any("%00" in f"{e.path}?{e.query}" for e in emu.log)
    assert sorted(_rows(conn, "SELECT Id FROM Messages WHERE Subject <> :s", {"s": with_nul})
                  ) == sorted((i,) for i, s in everything if s is not None)
    assert sorted(_rows(conn, "SELECT Id FROM Messages WHERE Subject IN (:s, :r)",
                        {"s": with_nul, "r": real})) == sorted(
        (i,) for i, s in everything if s == real)
    assert _rows(conn, "SELECT COUNT(*) FROM Messages WHERE Subject LIKE :p",
                 {"p": "%\x00%"}) == [(0,)]
    assert _rows(conn, "SELECT :s || 'x', :s = :s, :s LIKE 'a_b'", {"s": "a\x00b"}) == [
        ("a\x00bx", True, True)]


@pytest.mark.parametrize("sql,params", [
    ("SELECT Subject FROM Messages LIMIT -1", None),
    ("SELECT Subject FROM Messages ORDER BY Subject LIMIT 2 OFFSET -1", None),
    ("SELECT Subject FROM Messages LIMIT :n", {"n": -1}),
    ("SELECT Subject FROM Messages LIMIT :n", {"n": 2.5}),
    ("SELECT m.Subject FROM Users u JOIN Messages m ON m.UserId = u.Id LIMIT -1", None),
])
def test_negative_limits_are_refused_before_any_request(emu: Emulator, conn: Any, sql: str,
                                                        params: Any) -> None:
    emu.clear_log()
    with pytest.raises(o365sql.ProgrammingError) as info:
        _rows(conn, sql, params)
    assert "non-negative integer" in str(info.value)
    assert [e for e in emu.log if e.kind in ("graph", "batch")] == []
