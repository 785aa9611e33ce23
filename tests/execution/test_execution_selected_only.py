"""A column's value never depends on which other columns a query names (issue 9 point 6).

Generated from the catalog: for every table with a column that may not be ``$select``-ed on its
endpoint (naming it makes the scan send no ``$select``), every other column of the table is read
alone and then together with each such column, over real HTTP against the emulator, and the
values are compared row by row (by key). Properties Graph returns only when selected (event
``cancelledOccurrences``) must come back the same either way (``execution/selected_only.py``).
"""

from __future__ import annotations

from typing import Any

from execution_support import rows

from o365sql.catalog import Column, Table, load_catalog

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
MIN_COMPARED = 10000  # value comparisons over all tables


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


def _values(connection: Any, table: Table, names: list[str], where: str) -> dict[Any, Any]:
    """``{key: value of names[0]}`` for ``SELECT key, names... FROM table WHERE where``."""
    listing = ", ".join([table.key, *names])
    found = rows(connection, f"SELECT {listing} FROM {table.name} WHERE {where}")
    return {r[0]: r[1] for r in found}


def test_values_do_not_depend_on_columns_that_disable_select(on: Any) -> None:
    tables = [t for t in load_catalog().tables.values() if _unselectable(t)]
    assert {t.name for t in tables} >= {"CalendarView", "EventInstances"}
    compared = 0
    for table in tables:
        where = _where(on, table)
        for column in (c for c in table.columns if not c.pseudo and c.name != table.key):
            alone = _values(on, table, [column.name], where)
            assert len(alone) >= MIN_ROWS, f"{table.name}: only {len(alone)} rows"
            for other in _unselectable(table):
                if other.name == column.name:
                    continue
                together = _values(on, table, [column.name, other.name], where)
                assert together == alone, (
                    f"{table.name}.{column.name} differs when {other.name} is named")
                compared += len(alone)
    assert compared >= MIN_COMPARED, compared
