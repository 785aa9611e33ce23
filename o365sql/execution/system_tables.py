"""Execution stage, local sources: the rows of the ``sys_*`` tables.

Rows come from the catalog and the procedure registry, built by ``o365sql/system_catalog.py`` in
the layouts it defines; they are converted to storage values for the residual query.
"""

from __future__ import annotations

from typing import Any

from ..catalog import Catalog
from ..conversion import to_storage
from ..planning.plan import Scan
from ..system_catalog import (
    SYSTEM_TABLES,
    sys_procedureparameters_rows,
    sys_procedures_rows,
    sys_tablecolumns_rows,
    sys_tables_rows,
)


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
        rows = sys_tables_rows(catalog)
    elif name == "sys_tablecolumns":
        rows = sys_tablecolumns_rows(catalog)
    elif name == "sys_procedures":
        rows = sys_procedures_rows(_procedures())
    else:
        rows = sys_procedureparameters_rows(_procedures())
    layout = [c.name.lower() for c in SYSTEM_TABLES[name].columns]
    positions = [layout.index(c.name.lower()) for c in scan.columns]
    return [tuple(to_storage(row[i], scan.columns[k].sql_type) for k, i in enumerate(positions))
            for row in rows]
