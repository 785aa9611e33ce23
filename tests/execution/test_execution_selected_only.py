"""A column's value never depends on which other columns a query names (issue 9 point 6).

Generated from the catalog: for every table with a column that may not be ``$select``-ed on its
endpoint (naming it makes the scan send no ``$select``), the table's columns are read with
``$select`` (every selectable column in one query, and each select-only column alone) and then
all together with the columns that disable ``$select``, over real HTTP against the emulator, and the values are
compared column by column and row by row (by key). Properties Graph returns only when selected
(catalog ``select_only``: event ``cancelledOccurrences``) must come back the same either way
(``execution/selected_only.py``), at the cost of one more request per page, and only when such
a column is read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from execution_support import rows

from o365sql.catalog import Column, Table, load_catalog
from o365sql.emulator import Emulator

TENANT = {"seed": 9, "users": 2, "messages_per_user": 12, "events_per_user": 8}
WINDOW = "StartDateTime >= '2020-01-01T00:00:00Z' AND EndDateTime <= '2032-01-01T00:00:00Z'"
# Where the rows of each table come from: the pseudo-columns the endpoint requires, bound to
# items that have such rows (a recurring event's instances, items with attachments, groups).
ADDRESS = {
    "calendarview": WINDOW,
    "eventinstances": WINDOW + " AND EventId IN ({})",
    "eventattachments": "EventId IN ({})",
    "messageattachments": "MessageId IN ({})",
    "groupmembers": "GroupId IN ({})",
}
SOURCES = {
    "eventinstances": "SELECT Id FROM Events WHERE Type = 'seriesMaster'",
    "eventattachments": "SELECT Id FROM Events WHERE HasAttachments = true",
    "messageattachments": "SELECT Id FROM Messages WHERE HasAttachments = true",
    "groupmembers": "SELECT Id FROM Groups",
}
MIN_ROWS = 1  # rows each table must read, or its comparisons prove nothing
MIN_COMPARED = 5000  # value comparisons over all tables


def _unselectable(table: Table) -> list[Column]:
    return [c for c in table.columns if not c.pseudo and not c.selectable]


def _where(connection: Any, table: Table) -> str:
    key = table.name.lower()
    assert key in ADDRESS, f"{table.name}: no rows to read (add it to ADDRESS/SOURCES)"
    if key not in SOURCES:
        return ADDRESS[key]
    ids = [r[0] for r in rows(connection, SOURCES[key])][:4]
    assert ids, f"{table.name}: the tenant has no item to read its rows from"
    return ADDRESS[key].format(", ".join("'" + i.replace("'", "''") + "'" for i in ids))


def _values(connection: Any, table: Table, names: list[str], where: str
            ) -> dict[str, dict[Any, Any]]:
    """``{column: {key: value}}`` for ``SELECT key, names... FROM table WHERE where``."""
    listing = ", ".join([table.key, *names])
    found = rows(connection, f"SELECT {listing} FROM {table.name} WHERE {where}")
    return {name: {r[0]: r[i + 1] for r in found} for i, name in enumerate(names)}


def test_values_do_not_depend_on_columns_that_disable_select(on: Any) -> None:
    tables = [t for t in load_catalog().tables.values() if _unselectable(t)]
    assert {t.name for t in tables} >= {"CalendarView", "EventInstances"}
    compared = select_only = 0
    for table in tables:
        where = _where(on, table)
        named = [c.name for c in table.columns if not c.pseudo and c.name != table.key]
        # With $select: every selectable column at once, and each select-only one alone.
        truth = _values(on, table, [n for n in named if table.column_or_error(n).selectable],
                        where)
        for column in (c for c in table.columns if c.select_only and not c.pseudo):
            alone = _values(on, table, [column.name], where)[column.name]
            assert alone == truth[column.name], f"{table.name}.{column.name}"
            assert None not in alone.values(), f"{table.name}.{column.name} read NULL"
            select_only += 1
        # Without $select (the unselectable columns are named): every column again.
        together = _values(on, table, named, where)
        for name in named:  # an unselectable column's truth is this read
            truth.setdefault(name, together[name])
            assert len(together[name]) >= MIN_ROWS, f"{table.name}: only {len(together)} rows"
            assert together[name] == truth[name], (
                f"{table.name}.{name} differs when "
                f"{', '.join(c.name for c in _unselectable(table))} is named")
            compared += len(together[name])
    assert select_only >= 2  # CalendarView and EventInstances CancelledOccurrences
    assert compared >= MIN_COMPARED, compared


def _calendar_views(emulator: Emulator, sql: str, on: Any) -> list[dict[str, list[str]]]:
    emulator.clear_log()
    rows(on, sql)
    return [parse_qs(e.query) for e in emulator.log if e.path.lower().endswith("/calendarview")]


def test_select_only_values_cost_one_request_per_page_and_only_when_read(
        emulator: Emulator, on: Any) -> None:
    plain = _calendar_views(
        emulator, f"SELECT Id, CreatedDateTime FROM CalendarView WHERE {WINDOW}", on)
    assert plain and all("$select" not in q for q in plain)  # one request per page, no companion
    read = _calendar_views(emulator, "SELECT Id, CreatedDateTime, CancelledOccurrences FROM "
                           f"CalendarView WHERE {WINDOW}", on)
    companions = [q for q in read if "$select" in q]
    assert len(read) == 2 * len(plain) and len(companions) == len(plain)
    assert all(q["$select"] == ["id,cancelledOccurrences"] for q in companions)
    selected = _calendar_views(
        emulator, f"SELECT Id, CancelledOccurrences FROM CalendarView WHERE {WINDOW}", on)
    assert len(selected) == len(plain)  # $select sent: the property comes at once
    explained = rows(on, "EXPLAIN SELECT Id, CreatedDateTime, CancelledOccurrences FROM "
                         f"CalendarView WHERE {WINDOW}")
    assert [r for r in explained if r[1] == "select-only" and "cancelledOccurrences" in r[2]]
    assert not [r for r in rows(on, f"EXPLAIN SELECT Id, CancelledOccurrences FROM CalendarView "
                                    f"WHERE {WINDOW}") if r[1] == "select-only"]
