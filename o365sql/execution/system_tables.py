"""Execution stage, local sources: the rows of the ``sys_*`` tables.

Rows come from the catalog (``Catalog.sys_tables_rows`` ...) and the procedure registry, in the
layouts ``catalog.py`` defines; they are converted to storage values for the residual query.
"""

from __future__ import annotations

from typing import Any

from ..catalog import (
    SYS_PROCEDUREPARAMETERS_COLUMNS,
    SYS_PROCEDURES_COLUMNS,
    SYS_TABLECOLUMNS_COLUMNS,
    SYS_TABLES_COLUMNS,
    Catalog,
    sys_procedureparameters_rows,
    sys_procedures_rows,
)
from ..conversion import to_storage
from ..planning.plan import Scan


def _procedures() -> list[Any]:
    try:
        from .. import procedures
    except ImportError:  # pragma: no cover - the package ships with o365sql
        return []
    listing = getattr(procedures, "all_procedures", None)
    return list(listing()) if callable(listing) else []


def system_rows(scan: Scan, catalog: Catalog) -> list[tuple[Any, ...]]:
    """Storage rows of a ``sys_*`` scan, restricted to the scan's columns."""
    name = scan.table.name.lower()
    if name == "sys_tables":
        layout, rows = SYS_TABLES_COLUMNS, catalog.sys_tables_rows()
    elif name == "sys_tablecolumns":
        layout, rows = SYS_TABLECOLUMNS_COLUMNS, catalog.sys_tablecolumns_rows()
    elif name == "sys_procedures":
        layout, rows = SYS_PROCEDURES_COLUMNS, sys_procedures_rows(_procedures())
    else:
        layout, rows = SYS_PROCEDUREPARAMETERS_COLUMNS, sys_procedureparameters_rows(_procedures())
    positions = [[n.lower() for n, _ in layout].index(c.name.lower()) for c in scan.columns]
    return [tuple(to_storage(row[i], scan.columns[k].sql_type) for k, i in enumerate(positions))
            for row in rows]
