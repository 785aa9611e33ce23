"""LIMIT/OFFSET must be non-negative integers; strings holding U+0000 plan without error.

SQLite reads ``LIMIT -1`` as "no limit" (and a negative OFFSET as 0); SQL refuses both, so the
planner does, naming the value, for literals and parameters alike, in subqueries too. A
U+0000 in a bound string cannot appear in SQLite's SQL text (Python's sqlite3 refuses the
statement), so the residual SQL spells it ``CHAR(0)``; and it is never sent to Graph.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

import pytest

from o365sql import ProgrammingError
from o365sql.catalog import load_catalog
from o365sql.conversion import odata_literal
from o365sql.odata.query import render
from o365sql.planning import plan_query, prepare


def _plan(sql: str, params: Any = None, **kw: Any) -> Any:
    return plan_query(prepare(sql), params, load_catalog(), **kw)


@pytest.mark.parametrize("sql,value", [
    ("SELECT Subject FROM Messages LIMIT -1", "-1"),
    ("SELECT Subject FROM Messages ORDER BY Subject LIMIT -5", "-5"),
    ("SELECT Subject FROM Messages LIMIT 3 OFFSET -1", "-1"),
    ("SELECT Subject FROM Messages LIMIT 1.5", "1.5"),
    ("SELECT Subject FROM Messages LIMIT '2'", "'2'"),
    ("SELECT Subject FROM Messages LIMIT NULL", "NULL"),
    ("SELECT Subject FROM Messages LIMIT 1 + 1", "1 + 1"),
    ("SELECT u.DisplayName FROM Users u JOIN Messages m ON m.UserId = u.Id LIMIT -1", "-1"),
    ("SELECT * FROM (SELECT Subject FROM Messages LIMIT -1) AS s", "-1"),
    ("SELECT Subject FROM Messages WHERE Id IN (SELECT Id FROM Messages LIMIT 2 OFFSET -3)",
     "-3"),
])
def test_negative_or_non_integer_limit_is_refused(sql: str, value: str) -> None:
    with pytest.raises(ProgrammingError) as info:
        _plan(sql)
    message = str(info.value)
    assert ("OFFSET" if "OFFSET -" in sql else "LIMIT") in message
    assert f"not {value}" in message


@pytest.mark.parametrize("value", [-1, 1.5, 2.0, "two", "-2", "2.0", True, None, Decimal(3)])
@pytest.mark.parametrize("clause", ["LIMIT :n", "LIMIT 5 OFFSET :n", "LIMIT ?"])
def test_limit_parameters_must_be_non_negative_integers(clause: str, value: Any) -> None:
    params: Any = [value] if "?" in clause else {"n": value}
    with pytest.raises(ProgrammingError) as info:
        _plan(f"SELECT Subject FROM Messages ORDER BY Subject {clause}", params)
    message = str(info.value)
    assert repr(value) in message and ("OFFSET" if "OFFSET" in clause else "LIMIT") in message


@pytest.mark.parametrize("limit,offset", [(0, 0), (3, 2), (10**6, 0)])
def test_valid_limits_still_plan(limit: int, offset: int) -> None:
    plan = _plan("SELECT Subject FROM Messages LIMIT :n OFFSET :o", {"n": limit, "o": offset})
    assert (plan.limit, plan.offset) == (limit, offset)
    plan = _plan("SELECT Subject FROM Messages OFFSET 2")
    assert (plan.limit, plan.offset) == (None, 2)


@pytest.mark.parametrize("limit,offset", [("3", "0"), (" 12 ", "2"), ("0", "5")])
def test_text_limits_are_read_as_integers(limit: str, offset: str) -> None:
    """``-P n=3`` on the command line binds text: read as the integer LIMIT needs, as
    PostgreSQL reads a text parameter where an integer is expected."""
    plan = _plan("SELECT Subject FROM Messages LIMIT :n OFFSET :o", {"n": limit, "o": offset})
    assert (plan.limit, plan.offset) == (int(limit), int(offset))


def test_nul_string_is_kept_local_and_runs_in_sqlite() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE Subject = :s AND IsRead = false",
                 {"s": "a\x00b"})
    scan = plan.scans[0]
    rendered = render(scan.queries[0]).line()
    assert "\x00" not in rendered and "%00" not in rendered
    assert "isRead eq false" in rendered  # the other conjunct is still pushed
    assert not scan.exact and any("subject" in step for step in scan.local)
    sql = plan.page_sql or plan.sql
    assert "\x00" not in sql and "CHAR(0)" in sql


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "\x00\x00x", "ab\x00", "it's\x00"])
def test_nul_literal_keeps_its_value_in_sqlite(text: str) -> None:
    plan = _plan("SELECT :s AS v, :s = :s AS same", {"s": text})
    db = sqlite3.connect(":memory:")
    try:
        assert db.execute(plan.sql).fetchone() == (text, 1)
    finally:
        db.close()


def test_odata_literal_refuses_nul() -> None:
    with pytest.raises(ValueError):
        odata_literal("a\x00b", "Edm.String")
    assert odata_literal("a'b", "Edm.String") == "'a''b'"
