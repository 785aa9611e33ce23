"""Every input gives rows or a PEP 249 error (issue 10, points 4 and 5).

One test per class of input that used to escape as another exception: deep and wide SQL
(parentheses, NOT runs, thousands of OR-ed terms), LIMIT/OFFSET past 2**63, lone surrogates
in parameters and in the statement, malformed URL properties, and literals too long for a
Graph URL. Wide SQL must answer what the same query answers with pushdown off.
"""

from __future__ import annotations

from typing import Any

import pytest
from hardening_support import connect, sent_paths

import o365sql
from o365sql.emulator import Emulator
from o365sql.planning.depth import MAX_TREE_NESTING
from o365sql.planning.scan_plan import MAX_URL_LENGTH


def _rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def off(emulator: Emulator) -> Any:
    connection = connect(emulator, Pushdown=False)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def subjects(on: Any) -> list[str]:
    return [r[0] for r in _rows(on, "SELECT Subject FROM Messages ORDER BY Id")]


@pytest.mark.parametrize("terms", [1000, 2500])
def test_thousands_of_ored_terms(on: Any, off: Any, subjects: list[str], terms: int) -> None:
    wanted = subjects[:3] + [f"no such subject {i}" for i in range(terms - 3)]
    where = " OR ".join(f"Subject = '{s.replace(chr(39), chr(39) * 2)}'" for s in wanted)
    sql = f"SELECT Id FROM Messages WHERE {where} ORDER BY Id"
    answer = _rows(on, sql)
    assert answer == _rows(off, sql)
    assert len(answer) >= 3


def test_thousands_of_anded_and_mixed_terms(on: Any, off: Any) -> None:
    where = " AND ".join(f"(Subject <> 'x{i}' OR IsRead = true)" for i in range(300))
    sql = f"SELECT COUNT(*) FROM Messages WHERE {where}"
    assert _rows(on, sql) == _rows(off, sql) == _rows(on, "SELECT COUNT(*) FROM Messages")


@pytest.mark.parametrize("depth", [46, 100, 150])
def test_redundant_nesting_is_accepted(on: Any, off: Any, depth: int) -> None:
    parens = "SELECT COUNT(*) FROM Messages WHERE " + "(" * depth + "IsRead = true" + ")" * depth
    nots = "SELECT COUNT(*) FROM Messages WHERE " + "NOT " * depth + "IsRead = true"
    for sql in (parens, nots):
        assert _rows(on, sql) == _rows(off, sql)


def test_deep_nesting_is_a_clear_error(on: Any) -> None:
    depth = MAX_TREE_NESTING + 5
    sql = ("SELECT COUNT(*) FROM Messages WHERE " + "NOT (IsRead = true OR " * depth +
           "IsRead = false" + ")" * depth)
    with pytest.raises(o365sql.ProgrammingError, match=f"the limit is {MAX_TREE_NESTING}"):
        _rows(on, sql)
    sql = "SELECT COUNT(*) FROM Messages WHERE " + "(" * 300 + "IsRead" + ")" * 300
    with pytest.raises(o365sql.ProgrammingError, match="line 1, column"):
        _rows(on, sql)


@pytest.mark.parametrize("clause", [
    "LIMIT 9223372036854775808", "LIMIT 1 OFFSET 9223372036854775808",
    "ORDER BY Subject LIMIT 9223372036854775808", "ORDER BY Subject LIMIT 2 OFFSET 99999999999999999999",
    "LIMIT ?", "LIMIT 3 OFFSET ?"])
def test_huge_limits(on: Any, off: Any, clause: str) -> None:
    params = [2**64] if "?" in clause else None
    sql = f"SELECT Subject FROM Messages {clause}"
    answer = _rows(on, sql, params)
    total = len(_rows(on, "SELECT Subject FROM Messages"))
    assert len(answer) == (0 if "OFFSET" in clause else total)
    assert len(_rows(off, sql, params)) == len(answer)


def test_lone_surrogates(on: Any) -> None:
    with pytest.raises(o365sql.DataError, match="lone surrogate U\\+D800"):
        _rows(on, "SELECT Subject FROM Messages WHERE Subject = ?", ["a\ud800"])
    with pytest.raises(o365sql.DataError, match="lone surrogate"):
        _rows(on, "SELECT Subject FROM Messages WHERE Subject = :s", {"s": "\udfff"})
    with pytest.raises(o365sql.ProgrammingError, match="lone surrogate U\\+DC00"):
        _rows(on, "SELECT Subject FROM Messages WHERE Subject = '\udc00'")


@pytest.mark.parametrize(("prop", "value"), [
    ("GraphURL", "https://localhost:99999/v1.0"), ("GraphURL", "https://[::1/v1.0"),
    ("GraphURL", "https://localhost:-1/v1.0"), ("GraphURL", "https://exa mple/v1.0"),
    ("GraphURL", "https://\ud800/v1.0"), ("AuthorityURL", "https://[bad"),
    ("AuthorityURL", "https://localhost:abc"), ("AuthorityURL", "https:///nohost"),
])
def test_bad_urls_are_programming_errors(emulator: Emulator, prop: str, value: str) -> None:
    with pytest.raises(o365sql.ProgrammingError, match=prop):
        connection = connect(emulator, **{prop: value})
        _rows(connection, "SELECT Subject FROM Messages LIMIT 1")


def test_long_literal_is_kept_local(emulator: Emulator, on: Any, off: Any) -> None:
    value = "x" * 35_000
    sql = "SELECT COUNT(*) FROM Messages WHERE Subject = ? AND IsRead = true"
    emulator.clear_log()
    assert _rows(on, sql, [value]) == _rows(off, sql, [value]) == [(0,)]
    explained = [r[2] for r in _rows(on, "EXPLAIN " + sql, [value])]
    assert any(f"{MAX_URL_LENGTH:,} characters" in line for line in explained), explained
    assert any("isRead eq true" in line for line in explained), explained  # the rest is pushed
    emulator.clear_log()
    assert _rows(on, "SELECT COUNT(*) FROM Messages WHERE UserId = ?", [value]) == [(0,)]
    assert sent_paths(emulator) == []
