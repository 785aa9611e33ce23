"""Plan stage, before pushdown: text compared with a typed expression is read as that type.

PostgreSQL's rule for a quoted literal (and so for a ``str`` parameter, which binding turns
into one): compared with a BOOLEAN, INTEGER, DOUBLE, DATETIME, DATE or TIME expression, the
text is read as a value of that type, at plan time, once. ``IsRead = 'false'`` is
``IsRead = FALSE``; ``COALESCE(ReceivedDateTime, SentDateTime) >= '2026-10-23T03:41:44Z'``
compares instants, because the literal becomes the storage form of that instant
(``value_model.py``), whose text order is time order. Text that is no such value is a
``DataError`` naming the column, never a comparison that silently matches nothing.

"Compared with" covers every place SQL gives a literal the other side's type: comparison
operators, ``IN`` lists and ``IN (SELECT '…')`` projections, ``BETWEEN`` bounds, the branches
of ``COALESCE``/``CASE``/``NULLIF``/``IIF``/scalar ``MIN``/``MAX``, and the columns of set
operations; the other side may be any expression (a derived table's column, a CTE's, an
aggregate in HAVING), typed by ``types.py``. Hands the tree, with typed literals that pushdown
can send to Graph, back to ``planner.py``.

Text known only when the query runs (a scalar subquery ``(SELECT '…Z')``, a derived table's or
CTE's text column, ``json_extract`` of a Graph JSON value, a text function) compared with a
typed expression is read the same way, row by row: it is wrapped in ``TEXT_AS(text, type,
what)``, which the local engine runs (``execution/sql_functions.py``), so
``ReceivedDateTime >= (SELECT '2026-10-23T03:41:44Z')`` compares instants too; such text that
is no value of the type is a ``DataError`` naming the column.
"""

from __future__ import annotations

import math

from sqlglot import exp

from ..catalog import Column
from ..exceptions import DataError
from ..value_model import NAIVE_DATETIME, read_text, storage_literal
from .types import convert_form, query_branches

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
                exp.NullSafeNEQ)
_BRANCHING = (exp.Coalesce, exp.Nullif, exp.Case, exp.If, exp.Greatest, exp.Least)
#: Convert forms whose text reading differs from the text (the others compare as text).
_TYPED = {"BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "DATETIME", NAIVE_DATETIME,
          "DATE", "TIME"}
_TEMPORAL = {"DATETIME", NAIVE_DATETIME, "DATE", "TIME"}


def read_typed_text(tree: exp.Expr, columns: dict[int, Column], tables: dict[str, str]
                    ) -> None:
    """Replace, in place, each string literal compared with a typed expression by the literal
    of its value (see the module docstring).

    Args:
        tree: the qualified, bound query, annotated by ``types.annotate``.
        columns: ``id()`` of each column node -> its catalog column (for messages).
        tables: table alias -> catalog table name (for messages).

    Raises:
        DataError: text, or a number or boolean literal compared with a datetime, that is no
            value of the other side's type; the message names the column.
    """
    namer = _Namer(columns, tables)
    for node in list(tree.walk()):
        if isinstance(node, _COMPARISONS):
            _compared(node, namer)
        elif isinstance(node, exp.In):
            _in(node, namer)
        elif isinstance(node, exp.Between):
            target = _unwrap(node.this)
            for key in ("low", "high"):
                _against(_unwrap(node.args[key]), target, namer)
        elif isinstance(node, _BRANCHING):
            for branch in _branch_values(node):
                if _is_text(branch):
                    _read(branch, node, namer)
        elif isinstance(node, exp.SetOperation) and not isinstance(
                node.parent, exp.SetOperation):  # the outermost one sees every branch
            _set_operation(node, namer)


def _compared(node: exp.Expr, namer: _Namer) -> None:
    left, right = _unwrap(node.this), _unwrap(node.expression)
    if _is_text(left) and not _is_text(right):
        _read(left, right, namer)
    else:
        _against(right, left, namer)
        _refuse_non_temporal(left, right, namer)
        _runtime(left, right, namer)


def _against(value: exp.Expr, target: exp.Expr, namer: _Namer) -> None:
    """``value`` (any operand) compared with ``target``: read if text, refused if a number
    or boolean compared with a datetime."""
    if _is_text(value):
        _read(value, target, namer)
    else:
        _refuse_non_temporal(value, target, namer)
        _runtime(value, target, namer)


#: The local engine's function reading run-time text as a type (``runtime_read``).
TEXT_AS = "O365SQL_TEXT_AS"


def _runtime(value: exp.Expr, target: exp.Expr, namer: _Namer) -> None:
    """``value``, a text expression whose text is known only at run time, compared with a
    typed ``target``: wrapped so that the engine reads the text as ``target``'s type."""
    # Text, or a value whose type is known only at run time (``json_each``'s ``value``,
    # ``json_extract``: any SQLite value); TEXT_AS reads text and passes other values as is.
    if isinstance(value, (exp.Literal, exp.Null, exp.Placeholder)) or \
            convert_form(value) not in ("VARCHAR", ""):
        return
    form = convert_form(target)
    if form not in _TYPED:
        return
    wrapped = exp.Anonymous(this=TEXT_AS, expressions=[
        value.copy(), exp.Literal.string(form), exp.Literal.string(namer(target))])
    value.replace(wrapped)


def runtime_read(value: object, form: str, what: str) -> object:
    """The engine's ``TEXT_AS(value, form, what)``: text read as ``form`` (a convert form),
    in the storage form of its value; other values (NULL, numbers) unchanged.

    Raises:
        DataError: text that is no value of the type, naming ``what`` (the column).
    """
    if not isinstance(value, str) or form not in _TYPED:
        return value
    sql_type = "DATETIME" if form == NAIVE_DATETIME else form
    try:
        read = _value(value, sql_type)
    except ValueError:
        raise DataError(f"{what} is compared with {value!r}, text the query computed that is "
                        f"not {_READS[sql_type]} (e.g. {_EXAMPLES[sql_type]})") from None
    if isinstance(read, bool):
        return int(read)
    if isinstance(read, (int, float)):
        return read
    return storage_literal(read, sql_type)


def _in(node: exp.In, namer: _Namer) -> None:
    target = _unwrap(node.this)
    for item in node.expressions:
        _against(_unwrap(item), target, namer)
    query = node.args.get("query")
    if query is not None:
        for branch in query_branches(query):
            if isinstance(branch, exp.Select) and branch.selects:
                first = _unwrap(branch.selects[0].unalias())
                if _is_text(first):
                    _read(first, target, namer)


def _set_operation(node: exp.SetOperation, namer: _Namer) -> None:
    branches = [b for b in query_branches(node) if isinstance(b, exp.Select)]
    if not branches:
        return
    for index in range(min(len(b.selects) for b in branches)):
        values = [_unwrap(b.selects[index].unalias()) for b in branches]
        typed = next((v for v in values if convert_form(v) in _TYPED), None)
        if typed is not None:
            for value in values:
                if _is_text(value):
                    _read(value, typed, namer)


class _Namer:
    """Names what a literal is compared with, for error messages: ``Messages.IsRead``, or an
    expression over such a column."""

    def __init__(self, columns: dict[int, Column], tables: dict[str, str]) -> None:
        self.columns = columns
        self.tables = tables

    def __call__(self, node: exp.Expr) -> str:
        found = [node] if isinstance(node, exp.Column) else list(node.find_all(exp.Column))
        for column in found:
            catalog_column = self.columns.get(id(column))
            if catalog_column is not None:
                where = f"{self.tables.get(column.table, column.table)}.{catalog_column.name}"
                return where if column is node else f"an expression over {where}"
        return "the expression " + node.sql()


def _unwrap(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_text(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _read(literal: exp.Expr, other: exp.Expr, namer: _Namer) -> None:
    """Replace ``literal`` (text) by the literal of its value as ``other``'s type."""
    form = convert_form(other)
    if form not in _TYPED:
        return
    sql_type = "DATETIME" if form == NAIVE_DATETIME else form
    text = literal.this
    try:
        value = _value(text, sql_type)
    except ValueError:
        raise DataError(f"{namer(other)} is {_kind_of(sql_type, other)}: {text!r} is not "
                        f"{_READS[sql_type]} (e.g. {_EXAMPLES[sql_type]})") from None
    literal.replace(_literal(value, sql_type))


#: What text must be to be read as each type, and an example (messages).
_READS = {
    "BOOLEAN": "a boolean", "INTEGER": "an integer", "BIGINT": "an integer",
    "DOUBLE": "a number", "DECIMAL": "a number", "DATETIME": "an ISO 8601 date or datetime",
    "DATE": "an ISO 8601 date", "TIME": "an ISO 8601 time",
}
_EXAMPLES = {
    "BOOLEAN": "true or false", "INTEGER": "3", "BIGINT": "3", "DOUBLE": "2.5",
    "DECIMAL": "2.5", "DATETIME": "'2026-01-31' or '2026-01-31T09:30:00Z'",
    "DATE": "'2026-01-31'", "TIME": "'09:30:00'",
}


def _kind_of(sql_type: str, node: exp.Expr) -> str:
    article = "an" if sql_type[0] in "AEIOU" else "a"
    return f"{article} {sql_type} {'column' if isinstance(node, exp.Column) else 'expression'}"


def _value(text: str, sql_type: str) -> object:
    if sql_type == "DATE":
        try:
            return read_text(text, "DATE")
        except ValueError:
            # A datetime read as a date is its (UTC) day, as PostgreSQL truncates it.
            return read_text(text, "DATETIME").date()
    value = read_text(text, sql_type)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _literal(value: object, sql_type: str) -> exp.Expr:
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        return exp.Literal.number(repr(value))
    stored = storage_literal(value, sql_type)
    return exp.Literal.string(str(stored))


def _refuse_non_temporal(literal: exp.Expr, other: exp.Expr, namer: _Namer) -> None:
    """A number or boolean compared with a datetime/date would compare as text (never equal,
    always less): refused, naming the column, as PostgreSQL refuses ``timestamp = 5``."""
    if not (isinstance(literal, (exp.Literal, exp.Boolean)) or (
            isinstance(literal, exp.Neg) and isinstance(literal.this, exp.Literal))):
        return
    form = convert_form(other)
    if form not in _TEMPORAL or form == "TIME":
        return
    sql_type = "DATETIME" if form == NAIVE_DATETIME else form
    raise DataError(f"{namer(other)} is {_kind_of(sql_type, other)}: {literal.sql()} is not "
                    f"a date or datetime; write an ISO 8601 string such as "
                    f"{_EXAMPLES[sql_type].split(' or ')[0]}")


def _branch_values(node: exp.Expr) -> list[exp.Expr]:
    """The operands of a branching expression whose value may be the expression's value."""
    if isinstance(node, exp.Case):
        values = [i.args.get("true") for i in node.args.get("ifs") or []]
        values.append(node.args.get("default"))
    elif isinstance(node, exp.If):
        values = [node.args.get("true"), node.args.get("false")]
    elif isinstance(node, exp.Nullif):
        values = [node.this, node.expression]
    else:
        values = [node.this, *node.expressions]
    return [_unwrap(v) for v in values if isinstance(v, exp.Expr)]
