"""Time-relative expressions are read once per statement and pushed to Graph as literals
(``planning/time_relative.py``); interval arithmetic becomes SQLite's date modifiers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlglot import parse_one

from o365sql.catalog import load_catalog
from o365sql.exceptions import NotSupportedError
from o365sql.odata.filter import render_filter
from o365sql.planning import plan_query, prepare
from o365sql.planning.time_relative import fix_time

NOW = dt.datetime(2026, 12, 7, 1, 30, 15, 250000, tzinfo=dt.UTC)


def _plan(sql: str, params: Any = None) -> Any:
    return plan_query(prepare(sql), params, load_catalog())


def _fixed(sql: str) -> str:
    return fix_time(parse_one(sql, read="sqlite"), NOW).sql("sqlite")


@pytest.mark.parametrize("expression,literal", [
    ("datetime('now', '-30 days')", "'2026-11-07 01:30:15'"),
    ("CURRENT_TIMESTAMP - INTERVAL '30' DAY", "'2026-11-07 01:30:15'"),
    ("CURRENT_TIMESTAMP - INTERVAL '30 days'", "'2026-11-07 01:30:15'"),
    ("CURRENT_TIMESTAMP + INTERVAL '2' HOUR", "'2026-12-07 03:30:15'"),
    ("CURRENT_DATE - INTERVAL '1' MONTH", "'2026-11-07'"),
    ("CURRENT_DATE - INTERVAL '1' WEEK", "'2026-11-30'"),
    ("date('NOW', 'start of month')", "'2026-12-01'"),
    ("CURRENT_TIMESTAMP", "'2026-12-07 01:30:15'"),
    ("julianday('now')", "2461381.5626765047"),
])
def test_compared_time_expressions_fold_to_one_literal(expression: str, literal: str) -> None:
    assert _fixed(f"SELECT 1 FROM t WHERE x >= {expression}") == \
        f"SELECT 1 FROM t WHERE x >= {literal}"


def test_projections_keep_their_function_but_read_the_same_clock() -> None:
    fixed = _fixed("SELECT CURRENT_TIMESTAMP, datetime('now'), upper('now') FROM t")
    assert fixed == ("SELECT DATETIME('2026-12-07 01:30:15.250'), "
                     "DATETIME('2026-12-07 01:30:15.250'), UPPER('now') FROM t")


def test_columns_keep_interval_arithmetic_local() -> None:
    assert _fixed("SELECT 1 FROM t WHERE x >= y - INTERVAL '3' DAY") == \
        "SELECT 1 FROM t WHERE x >= DATETIME(y, '-3 days')"


@pytest.mark.parametrize("interval", ["INTERVAL '3' FORTNIGHT", "INTERVAL 'soon'"])
def test_unreadable_intervals_are_refused(interval: str) -> None:
    with pytest.raises(NotSupportedError):
        _fixed(f"SELECT 1 FROM t WHERE x >= CURRENT_TIMESTAMP - {interval}")


def test_mail_of_the_last_30_days_is_filtered_by_graph() -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    plan = _plan("SELECT Subject FROM Messages WHERE ReceivedDateTime >= "
                 "CURRENT_TIMESTAMP - INTERVAL '30' DAY")
    after = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    (query,) = plan.scans[0].queries
    assert query.filter is not None
    text = render_filter(query.filter)
    assert text.startswith("receivedDateTime ge ")
    sent = dt.datetime.fromisoformat(text.split(" ge ")[1])
    assert before.replace(microsecond=0) <= sent <= after
