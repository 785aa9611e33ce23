"""The ``sys_*`` metadata tables (CData's names, cdata-data-model.md §6.4): layouts and rows.

Pipeline stage: catalog (pure data). This is the ONE definition of the system tables: their
column layouts (``SYS_*_COLUMNS``), the :class:`~o365sql.catalog.Table` objects the resolver
plans them as (``SYSTEM_TABLES``, local tables scanned from the catalog, not from Graph, so any
SQL works on them), and the functions that build their rows from a ``Catalog`` and the
procedure registry. ``execution/system_tables.py`` hands the rows to the residual query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .catalog import Column, Endpoint, Table
from .types import SQL_TYPES

if TYPE_CHECKING:
    from .catalog import Catalog

__all__ = [
    "CATALOG_NAME",
    "SCHEMA_NAME",
    "SYSTEM_ENTITY",
    "SYSTEM_TABLES",
    "SYS_PROCEDUREPARAMETERS_COLUMNS",
    "SYS_PROCEDURES_COLUMNS",
    "SYS_REPLICAS_COLUMNS",
    "SYS_TABLECOLUMNS_COLUMNS",
    "SYS_TABLES_COLUMNS",
    "sys_procedureparameters_rows",
    "sys_procedures_rows",
    "sys_replicas_rows",
    "sys_tablecolumns_rows",
    "sys_tables_rows",
    "system_table",
]

CATALOG_NAME = "o365sql"
SCHEMA_NAME = "Office365"
#: Marks local tables (``Scan.system``): their rows come from here, not from Graph.
SYSTEM_ENTITY = "o365sql.system"

Layout = tuple[tuple[str, str], ...]

# CData's layouts first, then o365sql's own columns (Graph facts a user may want to query).
SYS_TABLES_COLUMNS: Layout = (
    ("CatalogName", "VARCHAR"), ("SchemaName", "VARCHAR"), ("TableName", "VARCHAR"),
    ("TableType", "VARCHAR"), ("Description", "VARCHAR"), ("IsUpdateable", "BOOLEAN"),
    ("Entity", "VARCHAR"), ("Endpoints", "VARCHAR"), ("SupportsCount", "BOOLEAN"),
    ("Search", "VARCHAR"), ("MaxPageSize", "INTEGER"),
)
# CData's sys_tablecolumns columns (https://cdn.cdata.com/help/FAJ/api/harvest/pg_systemtablecolumnsapi.htm),
# then IsPseudo (the column addresses an endpoint), EdmType, GraphPath, FilterOperators,
# FilterExact, Orderable.
SYS_TABLECOLUMNS_COLUMNS: Layout = (
    ("CatalogName", "VARCHAR"), ("SchemaName", "VARCHAR"), ("TableName", "VARCHAR"),
    ("ColumnName", "VARCHAR"), ("DataTypeName", "VARCHAR"), ("DataType", "INTEGER"),
    ("Length", "INTEGER"), ("NumericPrecision", "INTEGER"), ("NumericScale", "INTEGER"),
    ("IsNullable", "BOOLEAN"), ("Description", "VARCHAR"), ("Ordinal", "INTEGER"),
    ("IsAutoIncrement", "VARCHAR"), ("IsGeneratedColumn", "VARCHAR"), ("IsReadOnly", "BOOLEAN"),
    ("IsKey", "BOOLEAN"), ("IsHidden", "BOOLEAN"), ("IsPseudo", "BOOLEAN"),
    ("EdmType", "VARCHAR"), ("GraphPath", "VARCHAR"), ("FilterOperators", "VARCHAR"),
    ("FilterExact", "BOOLEAN"), ("Orderable", "BOOLEAN"),
)
SYS_PROCEDURES_COLUMNS: Layout = (
    ("CatalogName", "VARCHAR"), ("SchemaName", "VARCHAR"), ("ProcedureName", "VARCHAR"),
    ("Description", "VARCHAR"), ("ProcedureType", "VARCHAR"),
)
SYS_PROCEDUREPARAMETERS_COLUMNS: Layout = (
    ("CatalogName", "VARCHAR"), ("SchemaName", "VARCHAR"), ("ProcedureName", "VARCHAR"),
    ("ColumnName", "VARCHAR"), ("Direction", "INTEGER"), ("DataTypeName", "VARCHAR"),
    ("DataType", "INTEGER"), ("Length", "INTEGER"), ("NumericPrecision", "INTEGER"),
    ("NumericScale", "INTEGER"), ("IsNullable", "BOOLEAN"), ("IsRequired", "BOOLEAN"),
    ("IsArray", "BOOLEAN"), ("Description", "VARCHAR"), ("Ordinal", "INTEGER"),
)

# o365sql's own: one row per replicated table, mailbox and folder (issue 13), from the replica at
# CacheLocation. Folder is the folder id a delta link tracks, 'folders' for the folder list of a
# per-folder table, the window 'start/end' of CalendarView, NULL for another collection;
# DeltaLinkAge is in seconds.
SYS_REPLICAS_COLUMNS: Layout = (
    ("TableName", "VARCHAR"), ("UserId", "VARCHAR"), ("Folder", "VARCHAR"), ("Rows", "INTEGER"),
    ("LastRefresh", "DATETIME"), ("DeltaLinkAge", "INTEGER"), ("LastError", "VARCHAR"),
    ("Location", "VARCHAR"),
)

# ODBC SQL type codes (SQL_VARCHAR=12, SQL_BIT=-7, ...): a stable integer per DataTypeName.
_DATA_TYPE_CODES: dict[str, int] = {
    "VARCHAR": 12, "TEXT": -1, "GUID": -11, "ENUM": 12, "JSON": -1, "BINARY": -2,
    "VARBINARY": -3, "INTEGER": 4, "BIGINT": -5, "DOUBLE": 8, "DECIMAL": 3, "BOOLEAN": -7,
    "DATETIME": 93, "DATE": 91, "TIME": 92,
}


def _system_table(name: str, description: str, layout: Layout) -> Table:
    return Table(
        name=name, entity=SYSTEM_ENTITY, endpoints=(Endpoint(template=""),),
        columns=tuple(Column(name=n, sql_type=t, select=None) for n, t in layout),
        description=description, kind="view", key="")


SYSTEM_TABLES: dict[str, Table] = {
    t.name.lower(): t for t in (
        _system_table("sys_tables", "One row per table and view of the catalog.",
                      SYS_TABLES_COLUMNS),
        _system_table("sys_tablecolumns", "One row per column of every table.",
                      SYS_TABLECOLUMNS_COLUMNS),
        _system_table("sys_procedures", "One row per stored procedure.", SYS_PROCEDURES_COLUMNS),
        _system_table("sys_procedureparameters",
                      "One row per procedure parameter and result column.",
                      SYS_PROCEDUREPARAMETERS_COLUMNS),
        _system_table("sys_replicas",
                      "One row per replicated table, mailbox and folder: rows, last refresh, "
                      "delta-link age and last error (REPLICATE, AutoCache).",
                      SYS_REPLICAS_COLUMNS),
    )
}


def system_table(name: str) -> Table | None:
    """The ``sys_*`` table called ``name`` (case-insensitive), or None."""
    return SYSTEM_TABLES.get(name.lower())


def _type_sizes(sql_type: str) -> tuple[int | None, int | None, int | None]:
    """(Length, NumericPrecision, NumericScale) reported for a SQL type."""
    return {
        "VARCHAR": (2000, None, None), "ENUM": (255, None, None), "GUID": (36, None, None),
        "TEXT": (2147483647, None, None), "JSON": (2147483647, None, None),
        "BINARY": (2147483647, None, None), "VARBINARY": (2147483647, None, None),
        "INTEGER": (10, 10, 0), "BIGINT": (19, 19, 0), "DOUBLE": (15, 15, None),
        "DECIMAL": (38, 38, None), "BOOLEAN": (1, None, None), "DATETIME": (26, None, 6),
        "DATE": (10, None, None), "TIME": (15, None, 6),
    }[sql_type]


def sys_tables_rows(catalog: Catalog) -> list[tuple[Any, ...]]:
    """Rows of ``sys_tables``, one per table/view, columns ``SYS_TABLES_COLUMNS``."""
    return [
        (CATALOG_NAME, SCHEMA_NAME, t.name, "VIEW" if t.kind == "view" else "TABLE",
         t.description, t.insertable or t.updatable or t.deletable, t.entity,
         " ".join(e.template for e in t.endpoints), t.supports_count, t.search,
         t.max_page_size)
        for t in catalog
    ]


def sys_tablecolumns_rows(catalog: Catalog) -> list[tuple[Any, ...]]:
    """Rows of ``sys_tablecolumns``, columns ``SYS_TABLECOLUMNS_COLUMNS``."""
    rows: list[tuple[Any, ...]] = []
    for t in catalog:
        for ordinal, c in enumerate(t.columns):
            length, precision, scale = _type_sizes(c.sql_type)
            rows.append((
                CATALOG_NAME, SCHEMA_NAME, t.name, c.name, c.sql_type,
                _DATA_TYPE_CODES[c.sql_type], length, precision, scale, c.nullable,
                c.description, ordinal, "false", "false", c.readonly, c.key or c.name == t.key,
                c.heavy, c.pseudo, c.edm_type, "/".join(c.path) or None,
                " ".join(sorted(c.filter_ops)) or None, c.filter_exact, c.orderable,
            ))
    return rows


def sys_procedures_rows(procedures: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sys_procedures`` for ``o365sql.procedures.all_procedures()``.

    Each procedure needs ``name`` and ``description`` attributes (the contract of
    ``o365sql.procedures.Procedure``).
    """
    return [(CATALOG_NAME, SCHEMA_NAME, p.name, p.description, "PROCEDURE") for p in procedures]


def sys_procedureparameters_rows(procedures: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sys_procedureparameters``: inputs (Direction 1) then result columns (Direction 4).

    Parameters and result columns may be objects with ``name``/``sql_type``/``required``/
    ``description`` attributes or ``(name, sql_type)`` tuples; missing facts default to VARCHAR,
    not required, no description.
    """
    rows: list[tuple[Any, ...]] = []
    for proc in procedures:
        ordinal = 0
        for direction, items in ((1, getattr(proc, "parameters", ())),
                                 (4, getattr(proc, "result_columns", ()))):
            for item in items:
                name, sql_type, required, description = _param_facts(item)
                length, precision, scale = _type_sizes(sql_type)
                rows.append((CATALOG_NAME, SCHEMA_NAME, proc.name, name, direction, sql_type,
                             _DATA_TYPE_CODES[sql_type], length, precision, scale, not required,
                             required, False, description, ordinal))
                ordinal += 1
    return rows


def _param_facts(item: Any) -> tuple[str, str, bool, str]:
    if isinstance(item, tuple):
        name = str(item[0])
        sql_type = str(item[1]).upper() if len(item) > 1 else "VARCHAR"
        return name, sql_type if sql_type in SQL_TYPES else "VARCHAR", False, ""
    sql_type = str(getattr(item, "sql_type", "VARCHAR")).upper()
    return (str(item.name), sql_type if sql_type in SQL_TYPES else "VARCHAR",
            bool(getattr(item, "required", False)), str(getattr(item, "description", "")))


def sys_replicas_rows(replicas: Iterable[Any], scopes: Iterable[Any], location: str,
                      now: float) -> list[tuple[Any, ...]]:
    """Rows of ``sys_replicas`` from a replica's bookkeeping (``replica.store`` states)."""
    import datetime as _dt

    by_owner: dict[tuple[str, str], list[Any]] = {}
    for scope in scopes:
        by_owner.setdefault((scope.table, scope.mailbox), []).append(scope)
    rows: list[tuple[Any, ...]] = []
    for state in replicas:
        refreshed = (None if state.refreshed is None else
                     _dt.datetime.fromtimestamp(state.refreshed, _dt.UTC))
        mailbox = state.mailbox or None
        owned = by_owner.get((state.table, state.mailbox), [])
        for scope in owned or [None]:
            # The folder a link tracks; for CalendarView, the window ("start/end").
            folder = None if scope is None else (
                "folders" if scope.scope.startswith("#") else scope.scope or scope.parent)
            age = (None if scope is None or scope.link_time is None
                   else max(0, int(now - scope.link_time)))
            count = 0 if scope is None else scope.rows
            rows.append((state.table, mailbox, folder, count, refreshed, age, state.error, location))
    return rows
