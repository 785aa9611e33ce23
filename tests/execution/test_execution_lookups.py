"""Issue 3 pushdowns against the emulator: single-item GETs for ``Id = x`` (404 = no row),
IN lists longer than 15 split into chunked requests, ``CONTAINS_VALUE`` as ``any()``, ``TOP n``,
bare datetime parameters and MaxRows. Each answer is compared with the same query run with
``Pushdown=false`` (everything fetched, filtered in SQLite)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote

import pytest
from execution_support import connect as _connect
from execution_support import rows as _rows

import o365sql
from o365sql import execution
from o365sql.emulator import Emulator

TENANT = {"seed": 5, "users": 2, "messages_per_user": 60, "events_per_user": 6}


def _graph(emu: Emulator) -> list[tuple[str, int]]:
    return [(unquote(f"{e.method} {e.path}?{e.query}"), e.status) for e in emu.log
            if e.kind in ("graph", "batch")]


def _other_mailbox_id(emu: Emulator) -> str:
    app = o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                          AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                          OAuthAccessToken=emu.mint_token(user=None))
    try:
        return str(_rows(app, "SELECT Id FROM Messages WHERE UserId = ? LIMIT 1",
                         [emu.users[1]])[0][0])
    finally:
        app.close()


def test_id_lookup_reads_single_items(emulator: Emulator, on: Any, off: Any) -> None:
    ids = [r[0] for r in _rows(on, "SELECT Id FROM Messages ORDER BY ReceivedDateTime LIMIT 3")]
    emulator.clear_log()
    rows = _rows(on, "SELECT Id, Subject, IsRead FROM Messages WHERE Id = ?", [ids[1]])
    lines = _graph(emulator)
    assert len(lines) == 1 and lines[0][0].startswith("GET /v1.0/me/messages/")
    assert "$filter" not in lines[0][0] and "$top" not in lines[0][0]
    assert [r[0] for r in rows] == [ids[1]]
    assert rows == _rows(off, "SELECT Id, Subject, IsRead FROM Messages WHERE Id = ?", [ids[1]])


def test_missing_and_malformed_ids_are_no_rows(emulator: Emulator, on: Any, off: Any) -> None:
    ids = [r[0] for r in _rows(on, "SELECT Id FROM Messages LIMIT 2")]
    foreign = _other_mailbox_id(emulator)  # well-formed, but not in this mailbox: 404
    wanted = [ids[0], "garbage", foreign, ids[1], ids[0]]
    sql = "SELECT Id, Subject FROM Messages WHERE Id IN (?, ?, ?, ?, ?)"
    emulator.clear_log()
    rows = _rows(on, sql, wanted)
    sent = [e for e in emulator.log if e.kind in ("graph", "batch")]
    assert len(sent) == 1 and sent[0].kind == "batch"  # one $batch POST ...
    statuses = sorted(inner["status"] for inner in sent[0].inner)
    assert statuses == [200, 200, 400, 404]  # ... with one GET per distinct id
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert sorted(rows) == sorted(_rows(off, sql, wanted))
    # With ORDER BY and LIMIT the item rows go through the local engine.
    assert _rows(on, "SELECT COUNT(*) FROM Messages WHERE Id IN (?, ?)", [foreign, "x"]) == [(0,)]


def test_id_lookup_in_another_mailbox_and_calendars(emulator: Emulator, on: Any) -> None:
    app = o365sql.connect(GraphURL=emulator.graph_url, AuthorityURL=emulator.authority,
                          AzureTenant=emulator.tenant_id, SSLServerCert=emulator.ca_path,
                          OAuthAccessToken=emulator.mint_token(user=None))
    try:
        foreign = _other_mailbox_id(emulator)
        emulator.clear_log()
        rows = _rows(app, "SELECT Id, UserId FROM Messages WHERE UserId = ? AND Id = ?",
                     [emulator.users[1], foreign])
        assert rows == [(foreign, emulator.users[1])]
        assert len(_graph(emulator)) == 1 and "/messages/" in _graph(emulator)[0][0]
    finally:
        app.close()
    calendar = _rows(on, "SELECT Id, Name FROM Calendars LIMIT 1")[0]
    emulator.clear_log()
    assert _rows(on, "SELECT Id, Name FROM Calendars WHERE Id = ?", [calendar[0]]) == [calendar]
    assert "/calendars/" in _graph(emulator)[0][0]


def test_long_in_lists_are_split_into_requests(emulator: Emulator, on: Any, off: Any) -> None:
    subjects = sorted({r[0] for r in _rows(off, "SELECT Subject FROM Messages")})
    assert len(subjects) >= 10
    # 20 values: real subjects, their upper-case twins (Graph matches them loosely: the same
    # item may come back from two chunks) and names no message has.
    values = (subjects[:8] + [s.upper() for s in subjects[:8]] + ["nope", "O'Brien", "Zoë",
                                                                   "x"])[:20]
    marks = ", ".join("?" for _ in values)
    sql = f"SELECT Id, Subject FROM Messages WHERE Subject IN ({marks})"
    emulator.clear_log()
    rows = _rows(on, sql, values)
    lines = _graph(emulator)
    assert any("$batch" in line for line, _ in lines)  # two chunks through fan_out
    assert len({r[0] for r in rows}) == len(rows)  # no item twice
    assert sorted(rows) == sorted(_rows(off, sql, values))
    # 16 case variants of one subject cannot share a chunk of 15: both chunks match the same
    # items in Graph, and each item must still come back once.
    word = next(s for s in subjects if sum(c.isalpha() for c in s) >= 4)
    letters = [i for i, c in enumerate(word) if c.isalpha()][:4]
    variants = []
    for mask in range(16):
        chars = list(word.lower())
        for bit, position in enumerate(letters):
            if mask >> bit & 1:
                chars[position] = chars[position].upper()
        variants.append("".join(chars))
    variants[0] = word
    marks = ", ".join("?" for _ in variants)
    sql = f"SELECT Id, Subject FROM Messages WHERE Subject IN ({marks})"
    emulator.clear_log()
    rows = _rows(on, sql, variants)
    assert rows and len({r[0] for r in rows}) == len(rows)
    assert sorted(rows) == sorted(_rows(off, sql, variants))
    stamps = [r[0] for r in _rows(off, "SELECT ReceivedDateTime FROM Messages")][:17]
    marks = ", ".join("?" for _ in stamps)
    sql = f"SELECT Id FROM Messages WHERE ReceivedDateTime IN ({marks})"
    assert sorted(_rows(on, sql, stamps)) == sorted(_rows(off, sql, stamps))
    assert len(_rows(on, sql, stamps)) >= 17


def test_contains_value_pushes_any(emulator: Emulator, on: Any, off: Any) -> None:
    emulator.clear_log()
    sql = "SELECT Id, Categories FROM Messages WHERE CONTAINS_VALUE(Categories, 'Red category')"
    rows = _rows(on, sql)
    assert "categories/any(x:x eq 'Red category')" in _graph(emulator)[0][0]
    assert rows and all("Red category" in r[1] for r in rows)
    assert sorted(rows) == sorted(_rows(off, sql))
    # Graph ignores case; SQL does not: the local re-check keeps the answer exact.
    assert _rows(on, sql.replace("'Red category'", "'red CATEGORY'")) == []
    address = _rows(off, "SELECT EmailAddresses FROM Contacts LIMIT 1")[0][0]
    first = address.split('"address":"')[1].split('"')[0]
    sql = ("SELECT DisplayName, CONTAINS_VALUE(EmailAddresses, 'address', ?) AS hit "
           "FROM Contacts WHERE CONTAINS_VALUE(EmailAddresses, 'address', ?)")
    emulator.clear_log()
    rows = _rows(on, sql, [first, first])
    assert "emailAddresses/any(x:x/address eq" in _graph(emulator)[0][0]
    assert rows and all(r[1] is True for r in rows)
    assert sorted(rows) == sorted(_rows(off, sql, [first, first]))
    with pytest.raises(o365sql.ProgrammingError, match="CONTAINS_VALUE takes"):
        _rows(on, "SELECT Id FROM Messages WHERE CONTAINS_VALUE(Categories)")


def test_top_datetime_parameter_and_maxrows(emulator: Emulator, on: Any) -> None:
    rows = _rows(on, "SELECT TOP 3 Subject FROM Messages ORDER BY ReceivedDateTime DESC")
    assert rows == _rows(on, "SELECT Subject FROM Messages ORDER BY ReceivedDateTime DESC "
                             "LIMIT 3")
    moment = dt.datetime(2026, 5, 4, 3, 2, 1, 500, tzinfo=dt.UTC)
    cur = on.cursor()
    cur.execute("SELECT :d AS d, :day AS day", {"d": moment, "day": dt.date(2026, 1, 2)})
    assert cur.fetchall()[0] == (moment, dt.date(2026, 1, 2))
    assert [d[1] for d in cur.description] == ["DATETIME", "DATE"]
    capped = _connect(emulator, MaxRows=2)
    try:
        context = execution.Context(catalog=capped.catalog, graph=capped.graph,
                                    properties=capped.properties, connection=capped)
        emulator.clear_log()
        plain = list(execution.run("SELECT Subject FROM Messages WHERE IsRead = true", None,
                                   context).rows)
        assert len(plain) == 2 and "$top=2" in _graph(emulator)[0][0]
        grouped = list(execution.run("SELECT Importance, COUNT(*) FROM Messages "
                                     "GROUP BY Importance", None, context).rows)
        every = len(_rows(on, "SELECT Id FROM Messages"))  # seeded messages + drafts
        assert len(grouped) == 3 and sum(r[1] for r in grouped) == every >= 60
    finally:
        capped.close()


def test_fetch_first_is_a_limit(emulator: Emulator, on: Any, off: Any) -> None:
    """SQL's ``[OFFSET n ROWS] FETCH FIRST|NEXT m ROWS ONLY`` answers as ``LIMIT m OFFSET n``
    (pushed as ``$top`` the same way), in subqueries too; PERCENT and WITH TIES are refused."""
    order = "SELECT Id FROM Messages ORDER BY ReceivedDateTime DESC, Id"
    pairs = [
        (f"{order} FETCH FIRST 3 ROWS ONLY", f"{order} LIMIT 3", None),
        (f"{order} OFFSET 2 ROWS FETCH NEXT 4 ROWS ONLY", f"{order} LIMIT 4 OFFSET 2", None),
        (f"{order} FETCH FIRST ROW ONLY", f"{order} LIMIT 1", None),
        (f"{order} FETCH FIRST ? ROWS ONLY", f"{order} LIMIT ?", [5]),
        (f"SELECT COUNT(*) FROM ({order} FETCH NEXT 7 ROWS ONLY) t",
         f"SELECT COUNT(*) FROM ({order} LIMIT 7) t", None),
    ]
    for fetch, limit, params in pairs:
        expected = _rows(off, limit, params)
        assert expected and _rows(on, fetch, params) == expected == _rows(off, fetch, params)
    emulator.clear_log()
    _rows(on, "SELECT Subject FROM Messages ORDER BY ReceivedDateTime DESC "
              "FETCH FIRST 2 ROWS ONLY")
    lines = _graph(emulator)
    assert len(lines) == 1 and "$top=2" in lines[0][0], lines
    for form, named in (("FETCH FIRST 10 PERCENT ROWS ONLY", "PERCENT"),
                        ("FETCH FIRST 2 ROWS WITH TIES", "WITH TIES")):
        with pytest.raises(o365sql.NotSupportedError, match=named):
            _rows(on, f"{order} {form}")
