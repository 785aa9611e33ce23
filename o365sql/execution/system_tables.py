"""Execution stage, local sources: the rows of the ``sys_*`` tables.

Rows come from the catalog, the procedure registry and (``sys_replicas``) the replica, built by ``o365sql/system_catalog.py`` in
the layouts it defines; they are converted to storage values for the residual query.
"""

from __future__ import annotations

import time
from typing import Any

from ..catalog import Catalog
from ..conversion import to_storage
from ..planning.plan import Scan
from ..system_catalog import (
    SYSTEM_TABLES,
    sys_procedureparameters_rows,
    sys_procedures_rows,
    sys_replicas_rows,
    sys_tablecolumns_rows,
    sys_tables_rows,
)


def _procedures() -> list[Any]:
    try:
        # Lazy: the procedures (and what they import) load only when sys_procedures is read.
        from ..procedures import all_procedures
    except ImportError:  # pragma: no cover - the package ships with o365sql
        return []
    return list(all_procedures())


def system_rows(scan: Scan, catalog: Catalog, connection: Any = None) -> list[tuple[Any, ...]]:
    """Storage rows of a ``sys_*`` scan, restricted to the scan's columns (``sys_replicas``
    reads the connection's replica, which it never creates)."""
    name = scan.table.name.lower()
    if name == "sys_replicas":
        store = getattr(connection, "replica_store", None)
        rows = [] if store is None or not store.exists() else sys_replicas_rows(
            store.replicas(), store.all_scopes(), str(store.path), time.time())
    elif name == "sys_tables":
        rows = sys_tables_rows(catalog)
    elif name == "sys_tablecolumns":
        rows = sys_tablecolumns_rows(catalog)
    elif name == "sys_procedures":
        rows = sys_procedures_rows(_procedures())
    else:
        rows = sys_procedureparameters_rows(_procedures())
    if not scan.columns:
        # Reads no column (COUNT(*), SELECT 1): one placeholder per row, as scan.storage_rows.
        return [(None,)] * len(rows)
    layout = [c.name.lower() for c in SYSTEM_TABLES[name].columns]
    positions = [layout.index(c.name.lower()) for c in scan.columns]
    return [tuple(to_storage(row[i], scan.columns[k].sql_type) for k, i in enumerate(positions))
            for row in rows]
