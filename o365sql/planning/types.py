"""Plan stage, result typing: the catalog SQL type of every output column.

Uses sqlglot's type annotation over the qualified query (catalog types as the schema), so
``MAX(ReceivedDateTime)`` stays DATETIME and ``COUNT(*)`` is BIGINT; the execution stage uses
these types for ``description`` and to turn SQLite values back into Python ones.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from ..conversion import is_naive_datetime
from .dialect import DIALECT
from .pushdown import CONTAINS_VALUE
from .resolve import SQLGLOT_TYPES, TableRef, table_columns

# exp.DType is the class that exp.DataType.Type is an alias of (a variable, not a type, to mypy).
_BACK: dict[exp.DType, str] = {
    exp.DataType.Type.TEXT: "VARCHAR", exp.DataType.Type.VARCHAR: "VARCHAR",
    exp.DataType.Type.CHAR: "VARCHAR", exp.DataType.Type.NVARCHAR: "VARCHAR",
    exp.DataType.Type.INT: "INTEGER", exp.DataType.Type.SMALLINT: "INTEGER",
    exp.DataType.Type.TINYINT: "INTEGER", exp.DataType.Type.BIGINT: "BIGINT",
    exp.DataType.Type.BOOLEAN: "BOOLEAN", exp.DataType.Type.DOUBLE: "DOUBLE",
    exp.DataType.Type.FLOAT: "DOUBLE", exp.DataType.Type.DECIMAL: "DECIMAL",
    exp.DataType.Type.DATETIME: "DATETIME", exp.DataType.Type.TIMESTAMP: "DATETIME",
    exp.DataType.Type.TIMESTAMPTZ: "DATETIME", exp.DataType.Type.DATE: "DATE",
    exp.DataType.Type.TIME: "TIME", exp.DataType.Type.BLOB: "VARBINARY",
}


def output_types(tree: exp.Query, refs: list[TableRef]) -> list[str]:
    """One catalog SQL type per projection of ``tree`` (``VARCHAR`` when unknown)."""
    schema: dict[str, object] = {}  # annotate_types' own parameter type
    for ref in refs:
        schema[ref.node.name] = {c.name.lower(): SQLGLOT_TYPES.get(c.sql_type, "TEXT")
                                 for c in table_columns(ref.table)}
    exact = _exact_types(tree, refs)
    try:
        annotated = annotate_types(tree.copy(), schema=schema, dialect=DIALECT)
    except Exception:  # noqa: BLE001 - typing is best effort; VARCHAR is a safe default
        return [e or "VARCHAR" for e in exact]
    result: list[str] = []
    for index, projection in enumerate(annotated.selects):
        if exact[index]:
            result.append(exact[index])
            continue
        kind = projection.type.this if projection.type is not None else None
        sql_type = _BACK.get(kind, "VARCHAR") if kind is not None else "VARCHAR"
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if sql_type == "BOOLEAN" and not yields_boolean(node):
            # sqlglot keeps BOOLEAN through SUM(IsRead) and IsRead + 1; SQLite computes
            # numbers there (booleans are 0/1), so the column is a number.
            sql_type = "BIGINT" if isinstance(node, exp.Sum) else "INTEGER"
        elif isinstance(node, exp.Anonymous) and str(node.this).upper() == "TOTAL":
            sql_type = "DOUBLE"  # SQLite's TOTAL() is always a float
        result.append(sql_type)
    return result


#: Nodes whose value is one of their operands' values (MIN/MAX keep the operand's type).
_PASS_THROUGH = (exp.Paren, exp.Min, exp.Max, exp.AnyValue, exp.FirstValue, exp.LastValue,
                 exp.Window, exp.Coalesce, exp.Nullif)


def yields_boolean(node: exp.Expr) -> bool:
    """True when an annotated expression's value is a truth value (a predicate, a BOOLEAN
    column, or MIN/MAX/COALESCE/CASE over such), not a number computed from 0/1."""
    if isinstance(node, (exp.Predicate, exp.Not, exp.And, exp.Or, exp.Xor, exp.Boolean,
                         exp.Exists)):
        return True
    if isinstance(node, exp.Column):
        return node.type is not None and node.type.this == exp.DataType.Type.BOOLEAN
    if isinstance(node, exp.Cast):
        return bool(node.to.this == exp.DataType.Type.BOOLEAN)
    if isinstance(node, exp.Null):
        return True  # NULL fits any type; the other branches decide
    if isinstance(node, exp.Case):
        branches = [i.args.get("true") for i in node.args.get("ifs") or []]
        branches.append(node.args.get("default"))
        return all(yields_boolean(b) for b in branches if b is not None)
    if isinstance(node, exp.If):
        branches = [node.args.get("true"), node.args.get("false")]
        return all(yields_boolean(b) for b in branches if b is not None)
    if isinstance(node, exp.Subquery):
        inner = node.this
        return isinstance(inner, exp.Select) and len(inner.selects) == 1 and yields_boolean(
            inner.selects[0].unalias())
    if isinstance(node, _PASS_THROUGH):
        operands = [node.this] + list(node.expressions)
        return all(yields_boolean(o) for o in operands if isinstance(o, exp.Expr))
    return False


def _exact_types(tree: exp.Query, refs: list[TableRef]) -> list[str]:
    """Catalog types of projections that are plain columns (GUID, ENUM, JSON survive)."""
    by_alias = {ref.alias: ref for ref in refs}
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    result: list[str] = []
    for projection in tree.selects:
        node = projection.this if isinstance(projection, exp.Alias) else projection
        sql_type = ""
        if isinstance(node, exp.Anonymous) and str(node.this).upper() == CONTAINS_VALUE:
            sql_type = "BOOLEAN"
        elif isinstance(node, exp.Column) and node.table in by_alias and isinstance(
                tree, exp.Select):
            column = next((c for c in table_columns(by_alias[node.table].table)
                           if c.name.lower() == node.name.lower()), None)
            if column is not None:
                sql_type = "DATETIME_NAIVE" if is_naive_datetime(column) else column.sql_type
        result.append(sql_type)
    return result
