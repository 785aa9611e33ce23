"""Command line: what ``tables``, ``describe`` and ``procedures`` (and the shell's ``.tables``,
``.describe``) print, read straight from the catalog and the procedure registry.

Stage: presentation of catalog data; no Graph request is needed, so these work before any
sign-in. Each function returns ``(column names, rows)`` for ``output.write_result``.
"""

from __future__ import annotations

from typing import Any

from o365sql.catalog import Catalog, Column
from o365sql.system_catalog import SCHEMA_NAME, SYSTEM_TABLES, system_table

__all__ = [
    "column_flags",
    "describe_table",
    "filter_text",
    "procedures_listing",
    "tables_listing",
]

Listing = tuple[list[str], list[tuple[Any, ...]]]

# $filter operators shown in the order a reader thinks of them.
_OP_ORDER = ("eq", "ne", "gt", "ge", "lt", "le", "in", "startswith", "endswith", "contains", "any")


def filter_text(column: Column) -> str:
    """The ``$filter`` operators Graph evaluates on ``column`` ("" when only local).

    A ``~`` suffix marks a loose pre-filter that o365sql re-checks locally (Exchange compares
    strings case-insensitively).
    """
    ops = [op for op in _OP_ORDER if op in column.filter_ops]
    text = " ".join(ops)
    return f"{text} ~" if text and not column.filter_exact else text


def column_flags(column: Column, key: str) -> str:
    """Short flags: key, pseudo (addresses the endpoint), heavy (not in ``SELECT *``), ..."""
    flags = []
    if column.name == key or column.key:
        flags.append("key")
    if column.pseudo:
        flags.append("pseudo")
    if column.endpoint_param:
        flags.append("endpoint")
    if column.heavy:
        flags.append("heavy")
    if not column.readonly:
        flags.append("writable")
    return " ".join(flags)


def tables_listing(catalog: Catalog) -> Listing:
    """The catalog's tables and views, then the ``sys_*`` metadata tables."""
    rows = [(t.name, t.kind, t.description) for t in catalog]
    rows += [(t.name, "system", t.description) for t in SYSTEM_TABLES.values()]
    return ["Table", "Kind", "Description"], rows


def describe_table(catalog: Catalog, name: str) -> Listing:
    """Columns of ``name`` (a catalog table or a ``sys_*`` table, bare or ``Office365.name``);
    raises ``ProgrammingError`` (with the nearest name) if unknown."""
    schema, dot, bare = name.strip().rpartition(".")
    if dot and schema.lower() == SCHEMA_NAME.lower():
        name = bare
    table = system_table(name) or catalog.table(name)
    rows = [
        (c.name, c.sql_type, filter_text(c), "yes" if c.orderable else "",
         column_flags(c, table.key), c.description)
        for c in table.columns
    ]
    return ["Column", "Type", "Filter", "Sort", "Flags", "Description"], rows


def procedures_listing() -> Listing:
    from o365sql import procedures

    rows = []
    for proc in sorted(procedures.all_procedures(), key=lambda p: p.name.lower()):
        params = ", ".join(f"@{p.name}" + ("" if p.required else "?") for p in proc.parameters)
        rows.append((proc.name, params, proc.description))
    return ["Procedure", "Parameters (? = optional)", "Description"], rows
