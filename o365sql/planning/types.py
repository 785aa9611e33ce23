"""Plan stage, typing: the SQL type of every expression of the residual query, derived from the
expression by sqlglot's type annotation over the catalog's types (``value_model.py``).

One derivation serves every query shape: ``COALESCE``, ``CASE``, ``NULLIF``, ``MIN``/``MAX``,
window functions, set operations, derived tables, CTEs and scalar subqueries keep their
operands' type, wall-clock datetimes (annotated ``TIMESTAMP``) stay apart from aware ones
(``TIMESTAMPTZ``), GUID/ENUM/JSON/VARBINARY keep their codes. Where SQLite computes something
else than sqlglot's generic rules assume, the local engine's own rules are added here, once:
arithmetic over datetimes, dates, text or booleans is numeric (``ReceivedDateTime + 0`` is
2026), ``SUM`` of booleans counts, ``julianday``/``unixepoch``/``TOTAL`` and SQLite's other
functions have their documented result types (https://sqlite.org/lang_corefunc.html,
https://sqlite.org/lang_datefunc.html), and ``CURRENT_TIMESTAMP`` is a UTC instant.

The execution stage uses these types for ``description`` and to turn SQLite values back into
Python ones; ``typed_text.py`` uses them to read text compared with typed expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.annotate_types import annotate_types

from ..catalog import Column
from ..conversion import is_naive_datetime
from ..value_model import ANNOTATION_TYPES, NAIVE_DATETIME
from .dialect import DIALECT
from .pushdown import CONTAINS_VALUE
from .resolve import TableRef, table_columns

T = exp.DataType.Type

#: sqlglot type -> the convert form (SQL type, or DATETIME_NAIVE) its values take.
_BACK: dict[exp.DType, str] = {
    T.TEXT: "VARCHAR", T.VARCHAR: "VARCHAR", T.CHAR: "VARCHAR", T.NVARCHAR: "VARCHAR",
    T.NCHAR: "VARCHAR", T.UUID: "GUID", T.ENUM: "ENUM", T.JSON: "JSON",
    T.INT: "INTEGER", T.SMALLINT: "INTEGER", T.TINYINT: "INTEGER", T.BIGINT: "BIGINT",
    T.BOOLEAN: "BOOLEAN", T.DOUBLE: "DOUBLE", T.FLOAT: "DOUBLE", T.DECIMAL: "DECIMAL",
    T.DATETIME: NAIVE_DATETIME, T.TIMESTAMP: NAIVE_DATETIME, T.TIMESTAMPTZ: "DATETIME",
    T.TIMESTAMPLTZ: "DATETIME", T.DATE: "DATE", T.TIME: "TIME", T.BLOB: "VARBINARY",
    T.VARBINARY: "VARBINARY", T.BINARY: "VARBINARY",
}

_INTEGERS = {T.INT, T.SMALLINT, T.TINYINT, T.BIGINT, T.BOOLEAN}
_NUMBERS = _INTEGERS | {T.DOUBLE, T.FLOAT, T.DECIMAL}
_DATETIMES = {T.DATETIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ}

#: SQLite functions sqlglot reads as anonymous calls, by their documented result type.
_FUNCTION_TYPES: dict[str, exp.DType] = {
    "JULIANDAY": T.DOUBLE, "UNIXEPOCH": T.BIGINT, "TOTAL": T.DOUBLE, "RANDOM": T.BIGINT,
    "INSTR": T.INT, "UNICODE": T.INT, "CHANGES": T.BIGINT, "TOTAL_CHANGES": T.BIGINT,
    "LAST_INSERT_ROWID": T.BIGINT, "SIGN": T.INT, "TIMEDIFF": T.TEXT, "CHAR": T.TEXT,
    "PRINTF": T.TEXT, "FORMAT": T.TEXT, "HEX": T.TEXT, "QUOTE": T.TEXT, "SOUNDEX": T.TEXT,
    "LTRIM": T.TEXT, "RTRIM": T.TEXT, "REPLACE": T.TEXT, "TYPEOF": T.TEXT,
    "SQLITE_VERSION": T.TEXT, "GROUP_CONCAT": T.TEXT, "STRING_AGG": T.TEXT,
    "JSON_ARRAY_LENGTH": T.INT, "JSON_VALID": T.BOOLEAN, "JSON_TYPE": T.TEXT,
    "JSON": T.JSON, "JSON_ARRAY": T.JSON, "JSON_OBJECT": T.JSON, "JSON_GROUP_ARRAY": T.JSON,
    "JSON_GROUP_OBJECT": T.JSON, "ZEROBLOB": T.VARBINARY, "RANDOMBLOB": T.VARBINARY,
    "UNHEX": T.VARBINARY, CONTAINS_VALUE: T.BOOLEAN, "ROW_NUMBER": T.BIGINT,
    "RANK": T.BIGINT, "DENSE_RANK": T.BIGINT, "NTILE": T.BIGINT, "PERCENT_RANK": T.DOUBLE,
    "CUME_DIST": T.DOUBLE,
}

Annotator = Callable[[Any, exp.Expr], exp.Expr]


def _entry(annotator: Annotator) -> dict[str, Annotator]:
    return {"annotator": annotator}


def _metadata() -> dict[type[exp.Expr], dict[str, Any]]:
    """sqlglot's annotators for SQLite, with the local engine's own rules on top."""
    base: dict[type[exp.Expr], dict[str, Any]] = dict(
        Dialect.get_or_raise(DIALECT).EXPRESSION_METADATA)

    def wrap(kind: type[exp.Expr], after: Callable[[Any, exp.Expr], None]) -> None:
        inner = base[kind]["annotator"]

        def annotate(annotator: Any, node: exp.Expr) -> exp.Expr:
            result: exp.Expr = inner(annotator, node)
            after(annotator, result)
            return result
        base[kind] = _entry(annotate)

    def arithmetic(annotator: Any, node: exp.Expr) -> None:
        kinds = [_kind(operand) for operand in (node.this, node.expression)]
        if all(k in _INTEGERS for k in kinds):
            if any(k == T.BOOLEAN for k in kinds) or _kind(node) == T.BOOLEAN:
                annotator._set_type(node, T.INT)
        elif not all(k in _NUMBERS for k in kinds):
            # SQLite reads datetimes, dates and text as numbers here ('2026-…' + 0 = 2026).
            annotator._set_type(node, T.DOUBLE)

    for kind in (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv):
        if kind in base:
            wrap(kind, arithmetic)

    def negation(annotator: Any, node: exp.Expr) -> None:
        operand = _kind(node.this)
        if operand == T.BOOLEAN:
            annotator._set_type(node, T.INT)
        elif operand not in _NUMBERS:
            annotator._set_type(node, T.DOUBLE)

    wrap(exp.Neg, negation)

    def summed(annotator: Any, node: exp.Expr) -> None:
        if _kind(node.this) == T.BOOLEAN or _kind(node) == T.BOOLEAN:
            annotator._set_type(node, T.BIGINT)  # booleans are 0/1: SUM counts them

    wrap(exp.Sum, summed)

    def anonymous(annotator: Any, node: exp.Expr) -> exp.Expr:
        name = str(node.this).upper()
        args = [a for a in node.expressions if isinstance(a, exp.Expr)]
        if name in _FUNCTION_TYPES:
            annotator._set_type(node, _FUNCTION_TYPES[name])
        elif name == "DATETIME":
            # datetime(x, ...) is x's instant in the storage form: naive stays naive.
            first = _kind(args[0]) if args else None
            annotator._set_type(node, T.TIMESTAMP if first in (T.TIMESTAMP, T.DATETIME)
                                else T.TIMESTAMPTZ)
        elif name == "TIME":
            annotator._set_type(node, T.TIME)
        elif name == "DATE":
            annotator._set_type(node, T.DATE)
        else:
            annotator._set_type(node, T.UNKNOWN)
        return node

    base[exp.Anonymous] = _entry(anonymous)

    def utc_now(annotator: Any, node: exp.Expr) -> exp.Expr:
        annotator._set_type(node, T.TIMESTAMPTZ)  # SQLite's CURRENT_TIMESTAMP is UTC
        return node

    base[exp.CurrentTimestamp] = _entry(utc_now)
    return base


def _kind(node: Any) -> exp.DType | None:
    kind = getattr(node, "type", None)
    return kind.this if isinstance(kind, exp.DataType) else None


_METADATA = _metadata()


def column_annotation(column: Column) -> str:
    """The sqlglot type a catalog column is annotated with (wall-clock datetimes apart)."""
    if is_naive_datetime(column):
        return ANNOTATION_TYPES[NAIVE_DATETIME]
    return ANNOTATION_TYPES.get(column.sql_type, "TEXT")


def annotate(tree: exp.Expr, refs: list[TableRef]) -> bool:
    """Annotate ``tree`` in place (every node's ``type``); False when sqlglot cannot (then
    every output column is VARCHAR and no text is read as a type)."""
    schema: dict[str, object] = {}  # annotate_types' own parameter type
    for ref in refs:
        schema[ref.node.name] = {c.name.lower(): column_annotation(c)
                                 for c in table_columns(ref.table)}
    # sqlglot gives the columns of a LATERAL subquery no type: annotate it as the derived
    # table it is for the query around it (the same nodes), then put LATERAL back.
    laterals = [(lateral, _as_derived(lateral)) for lateral in list(tree.find_all(exp.Lateral))
                if isinstance(lateral.this, exp.Subquery)]
    try:
        annotate_types(tree, schema=schema, dialect=DIALECT, expression_metadata=_METADATA)
    except Exception:  # noqa: BLE001 - typing is best effort; VARCHAR is a safe default
        return False
    finally:
        for lateral, derived in laterals:
            lateral.this.set("this", derived.this)
            derived.replace(lateral)
    return True


def _as_derived(lateral: exp.Lateral) -> exp.Subquery:
    """Put ``lateral``'s subquery, aliased as the lateral is, in its place (for typing)."""
    body = lateral.this.this
    alias = lateral.args.get("alias") or lateral.this.args.get("alias")
    derived = exp.Subquery(this=body, alias=alias.copy() if alias is not None else None)
    lateral.replace(derived)
    return derived


def convert_form(node: exp.Expr | None) -> str:
    """The convert form (SQL type, or DATETIME_NAIVE) of an annotated expression; ``""``
    when its type is unknown (``json_each``'s ``value``: any SQLite value, passed as is and
    described as VARCHAR)."""
    kind = _kind(node)
    return _BACK.get(kind, "") if kind is not None else ""


def output_types(annotated: exp.Query) -> list[str]:
    """One convert form per projection of an annotated query (see :func:`convert_form`).

    A set operation's column takes the first branch's type that is known (``SELECT NULL
    UNION SELECT ReceivedDateTime`` is a DATETIME column).
    """
    branches = query_branches(annotated)
    result: list[str] = []
    for index in range(len(annotated.selects)):
        forms = [convert_form(b.selects[index]) for b in branches
                 if index < len(b.selects) and _kind(b.selects[index]) not in (
                     None, T.UNKNOWN, T.NULL)]
        result.append(forms[0] if forms else convert_form(annotated.selects[index]))
    return result


def query_branches(query: exp.Expr) -> list[exp.Query]:
    """The SELECTs of a set operation (or the query itself), left to right."""
    if isinstance(query, exp.SetOperation):
        return query_branches(query.this) + query_branches(query.expression)
    if isinstance(query, exp.Subquery):
        return query_branches(query.this)
    return [query] if isinstance(query, exp.Query) else []
