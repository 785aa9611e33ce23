"""Plan-time definitions of the ``sys_*`` metadata tables (CData's names, cdata-data-model.md §6.4).

These are local tables: the planner scans them from the catalog and the procedure registry
instead of Graph (rows come from ``execution/system_tables.py``, layouts from ``catalog.py``),
so any SQL works on them.
"""

from __future__ import annotations

from ..catalog import (
    SYS_PROCEDUREPARAMETERS_COLUMNS,
    SYS_PROCEDURES_COLUMNS,
    SYS_TABLECOLUMNS_COLUMNS,
    SYS_TABLES_COLUMNS,
    Column,
    Endpoint,
    Table,
)

#: Marks local tables (``Scan.system``).
SYSTEM_ENTITY = "o365sql.system"


def _table(name: str, description: str, columns: tuple[tuple[str, str], ...]) -> Table:
    return Table(
        name=name, entity=SYSTEM_ENTITY, endpoints=(Endpoint(template=""),),
        columns=tuple(Column(name=n, sql_type=t, select=None) for n, t in columns),
        description=description, kind="view", key="")


SYSTEM_TABLES: dict[str, Table] = {
    t.name.lower(): t for t in (
        _table("sys_tables", "One row per table and view of the catalog.", SYS_TABLES_COLUMNS),
        _table("sys_tablecolumns", "One row per column of every table.",
               SYS_TABLECOLUMNS_COLUMNS),
        _table("sys_procedures", "One row per stored procedure.", SYS_PROCEDURES_COLUMNS),
        _table("sys_procedureparameters", "One row per procedure parameter and result column.",
               SYS_PROCEDUREPARAMETERS_COLUMNS),
    )
}


def system_table(name: str) -> Table | None:
    """The ``sys_*`` table called ``name`` (case-insensitive), or None."""
    return SYSTEM_TABLES.get(name.lower())
