"""Plan stage, predicates: which WHERE conjuncts Graph can evaluate, and how exactly.

Each conjunct over one table reference is classified as

* **address**: binds an endpoint slot (``UserId = 'x'``, ``UserId IN (...)``, the calendarView
  window); satisfied by construction, so it leaves the residual query;
* **search**: ``SEARCH('terms')``, o365sql's way to ask for ``$search`` (Graph alone
  evaluates it, https://learn.microsoft.com/graph/search-query-parameter);
* **pushed exact**: Graph's answer equals SQL's (numbers, datetimes, booleans, strings on
  columns Graph compares case-sensitively);
* **pushed loose**: Graph returns a superset (Exchange's case-insensitive ``eq``/``startswith``/
  ``contains``, ``ne`` that keeps NULLs), so it is pushed *and* re-checked locally;
* **local**: everything else.

Two forms reach further than one conjunct per request: an ``IN`` list longer than Graph's limit
(15 values, graph-semantics §2.2) is split into chunks, one request each (:func:`split_in`), and
``CONTAINS_VALUE(collection, [item_path,] value)``, o365sql's SQL spelling of an OData
``any()`` lambda, becomes ``categories/any(x:x eq 'Red')`` where the catalog's ``any_ops``
allow (:func:`contains_value`; evaluated locally by ``execution/sql_functions.py``).

Pure: it reads the catalog columns and sqlglot nodes and builds ``odata.filter`` nodes.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..catalog import Column, Table
from ..conversion import parse_datetime
from ..odata.filter import Any_, Call, Compare, FilterNode, InList, Junction, check_renderable

_STRING_TYPES = {"VARCHAR", "TEXT", "ENUM", "GUID"}
_ORDERED_TYPES = {"DATETIME", "DATE", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL"}

_OPS: dict[type, str] = {exp.EQ: "eq", exp.NEQ: "ne", exp.GT: "gt", exp.GTE: "ge",
                         exp.LT: "lt", exp.LTE: "le"}
_FLIP = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}

#: The SQL function that tests membership in a collection column (see the module docstring).
CONTAINS_VALUE = "CONTAINS_VALUE"

# Item types of complex collections whose lambda compares a sub-property (catalog any_path):
# contacts' emailAddresses/any(a:a/address eq 'x') (graph-semantics §3.6) and directory
# assignedLicenses/any(s:s/skuId eq <guid>) (§2.2). Others are not pushed.
_ITEM_TYPES: dict[tuple[str, tuple[str, ...]], str] = {
    ("microsoft.graph.emailAddress", ("address",)): "Edm.String",
    ("microsoft.graph.assignedLicense", ("skuId",)): "Edm.Guid",
}


@dataclass(frozen=True)
class Pushed:
    """A conjunct Graph evaluates: its filter node, whether a local re-check is needed, and
    whether it makes a directory query "advanced" (catalog ``advanced_ops``)."""

    node: FilterNode
    exact: bool
    advanced: bool = False


def conjuncts(condition: exp.Expr | None) -> list[exp.Expr]:
    """Split an AND tree (through parentheses) into its conjuncts."""
    if condition is None:
        return []
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return conjuncts(condition.left) + conjuncts(condition.right)
    return [condition]


def column_of(node: exp.Expr, alias: str, columns: dict[int, Column]) -> Column | None:
    """The catalog column when ``node`` is a column of the table reference ``alias``."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column) and node.table == alias:
        return columns.get(id(node))
    return None


def literal_value(node: exp.Expr) -> tuple[bool, Any]:
    """(True, python value) when ``node`` is a literal; (False, None) otherwise."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Boolean):
        return True, bool(node.this)
    if isinstance(node, exp.Null):
        return True, None
    if isinstance(node, exp.Literal):
        if node.is_string:
            return True, node.this
        text = node.this
        try:
            return True, int(text)
        except ValueError:
            try:
                return True, float(text)
            except ValueError:
                return False, None
    if isinstance(node, exp.Neg):
        ok, value = literal_value(node.this)
        if ok and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, -value
    return False, None


def typed_value(value: Any, column: Column) -> tuple[bool, Any]:
    """The literal as the column's Python type, when SQLite would compare it the same way."""
    sql_type = column.sql_type
    if value is None:
        return False, None
    if sql_type == "BOOLEAN":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, int) and value in (0, 1):
            return True, bool(value)
        return False, None
    if sql_type in ("INTEGER", "BIGINT", "DOUBLE", "DECIMAL"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if sql_type in ("INTEGER", "BIGINT") and isinstance(value, float):
                return (True, int(value)) if value.is_integer() else (False, None)
            return True, value
        return False, None
    if sql_type in ("DATETIME", "DATE"):
        if not isinstance(value, str):
            return False, None
        try:
            moment = parse_datetime(value)
        except ValueError:
            return False, None
        return True, (moment.date() if sql_type == "DATE" else moment)
    if sql_type == "ENUM" and column.enum_values and value not in column.enum_values:
        # Graph rejects a literal that names no member ("not a valid enumeration type
        # constant"); no row can hold it, so the predicate stays local.
        return False, None
    if sql_type in _STRING_TYPES:
        return (True, value) if isinstance(value, str) else (False, None)
    return False, None


def classify(condition: exp.Expr, alias: str, columns: dict[int, Column],
             table: Table) -> Pushed | None:
    """The pushed form of one conjunct of table reference ``alias``, or None (local only)."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, (exp.Or, exp.And)):
        op = "or" if isinstance(condition, exp.Or) else "and"
        left = classify(condition.left, alias, columns, table)
        right = classify(condition.right, alias, columns, table)
        if left is None or right is None:
            return None
        parts = _flatten(op, left.node) + _flatten(op, right.node)
        return Pushed(Junction(op, tuple(parts)), left.exact and right.exact,
                      left.advanced or right.advanced)
    result = _classify_leaf(condition, alias, columns, table.max_in_values)
    if result is None or not check_renderable(result.node):
        return None
    if table.max_eq_length is not None and _too_long(result.node, table.max_eq_length):
        return None  # directory: eq values over 120 characters are rejected (§2.2)
    return result


def _too_long(node: FilterNode, limit: int) -> bool:
    if isinstance(node, Junction):
        return any(_too_long(p, limit) for p in node.parts)
    values = node.values if isinstance(node, InList) else (getattr(node, "value", None),)
    return any(isinstance(v, str) and len(v) > limit for v in values)


def _flatten(op: str, node: FilterNode) -> list[FilterNode]:
    if isinstance(node, Junction) and node.op == op:
        return list(node.parts)
    return [node]


def negated(node: exp.Expr) -> bool:
    """True for the negated spellings sqlglot keeps in one node (``x NOT LIKE 'p'`` is
    ``Like(negate=True)``, likewise ``NOT ILIKE`` and ``IS NOT``); ``NOT IN``, ``NOT BETWEEN``
    and ``NOT (...)`` arrive as :class:`exp.Not` around the positive node."""
    return bool(node.args.get("negate"))


def _classify_leaf(condition: exp.Expr, alias: str, columns: dict[int, Column],
                   max_in: int) -> Pushed | None:
    if negated(condition):
        # Graph's not() is undocumented on Outlook resources: the negation stays local.
        return None
    if type(condition) in _OPS:
        op = _OPS[type(condition)]
        column = column_of(condition.this, alias, columns)
        other = condition.expression
        if column is None:
            column = column_of(condition.expression, alias, columns)
            other = condition.this
            op = _FLIP[op]
        if column is None:
            return None
        ok, value = literal_value(other)
        if not ok:
            return None
        return _comparison(column, op, value)
    if isinstance(condition, exp.In):
        return _in_list(condition, alias, columns, max_in)
    if isinstance(condition, exp.Between):
        column = column_of(condition.this, alias, columns)
        if column is None:
            return None
        ok_low, low = literal_value(condition.args["low"])
        ok_high, high = literal_value(condition.args["high"])
        if not (ok_low and ok_high):
            return None
        # The same path as ``x >= low AND x <= high``, advanced-query flag included (a
        # directory column whose ge/le need ConsistencyLevel: eventual, graph-semantics §3.11).
        lower = _comparison(column, "ge", low)
        upper = _comparison(column, "le", high)
        if lower is None or upper is None:
            return None
        return Pushed(Junction("and", (lower.node, upper.node)), lower.exact and upper.exact,
                      lower.advanced or upper.advanced)
    if isinstance(condition, exp.Like):
        return _like(condition, alias, columns)
    if isinstance(condition, exp.Anonymous) and str(condition.this).upper() == CONTAINS_VALUE:
        return contains_value(condition, alias, columns)
    column = column_of(condition, alias, columns)
    if column is not None and column.sql_type == "BOOLEAN":
        return _comparison(column, "eq", True)
    if isinstance(condition, exp.Not):
        column = column_of(condition.this, alias, columns)
        if column is not None and column.sql_type == "BOOLEAN":
            return _comparison(column, "eq", False)
    return None


def _path(column: Column) -> str:
    return "/".join(column.path)


def _comparison(column: Column, op: str, value: Any) -> Pushed | None:
    if column.pseudo or not column.path or op not in column.filter_ops:
        return None
    ok, typed = typed_value(value, column)
    if not ok:
        return None
    string_compare = column.sql_type in _STRING_TYPES or column.edm_type == "Edm.String"
    advanced = op in column.advanced_ops
    if column.sql_type == "DATETIME" and column.edm_type == "Edm.String":
        # dateTimeTimeZone.dateTime is text compared as text; rendered in Graph's own form
        # (literal_form "datetime-string"), pushed as a pre-filter and re-checked locally.
        if isinstance(typed, _dt.datetime) and typed.tzinfo is not None:
            typed = typed.replace(tzinfo=None)
        return Pushed(Compare(_path(column), op, typed, "datetime-string"), False, advanced)
    if op in ("gt", "ge", "lt", "le"):
        if column.sql_type not in _ORDERED_TYPES:
            return None  # Graph's string collation is not SQLite's binary order
        if column.sql_type == "BOOLEAN":
            return None
    node = Compare(_path(column), op, typed, column.edm_type)
    exact = not string_compare or column.filter_exact
    if op == "ne":
        exact = False  # OData's ne keeps NULLs, SQL's <> drops them: re-check locally
    return Pushed(node, exact, advanced)


def _in_values(condition: exp.In, alias: str, columns: dict[int, Column]
               ) -> tuple[Column, list[Any]] | None:
    """The column and typed values of ``col IN (literals)``, or None when not pushable."""
    if condition.args.get("query") is not None or condition.args.get("field") is not None:
        return None
    column = column_of(condition.this, alias, columns)
    if column is None or column.pseudo or not column.path:
        return None
    if column.sql_type == "DATETIME" and column.edm_type == "Edm.String":
        return None
    values: list[Any] = []
    for item in condition.expressions:
        ok, value = literal_value(item)
        if not ok or value is None:
            return None
        ok, typed = typed_value(value, column)
        if not ok:
            return None
        values.append(typed)
    return (column, values) if values else None


def _in_pushed(column: Column, values: list[Any]) -> Pushed | None:
    string_compare = column.sql_type in _STRING_TYPES or column.edm_type == "Edm.String"
    exact = not string_compare or column.filter_exact
    if "in" in column.filter_ops:
        return Pushed(InList(_path(column), tuple(values), column.edm_type), exact,
                      "in" in column.advanced_ops)
    if "eq" in column.filter_ops:
        parts = tuple(Compare(_path(column), "eq", v, column.edm_type) for v in values)
        return Pushed(parts[0] if len(parts) == 1 else Junction("or", parts), exact,
                      "eq" in column.advanced_ops)
    return None


def _in_list(condition: exp.In, alias: str, columns: dict[int, Column],
             max_in: int) -> Pushed | None:
    found = _in_values(condition, alias, columns)
    if found is None or len(found[1]) > max_in:
        return None
    return _in_pushed(*found)


def split_in(condition: exp.Expr, alias: str, columns: dict[int, Column],
             table: Table) -> list[Pushed] | None:
    """An ``IN`` list longer than ``table.max_in_values`` as several pushable chunks, one per
    request (their union is the IN's answer), or None.

    Values equal but for case go to the same chunk where they fit, so that chunks of a
    case-insensitive column rarely overlap; where they still can (the column is compared
    loosely), the execution stage drops rows already seen by key (``Scan.dedupe``).
    """
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if not isinstance(condition, exp.In) or negated(condition):
        return None
    found = _in_values(condition, alias, columns)
    if found is None or len(found[1]) <= table.max_in_values:
        return None
    column, values = found
    groups: dict[Any, list[Any]] = {}
    for value in dict.fromkeys(values):
        groups.setdefault(value.casefold() if isinstance(value, str) else value, []).append(value)
    chunks: list[list[Any]] = [[]]
    for group in groups.values():
        if len(chunks[-1]) + len(group) > table.max_in_values:
            chunks.append([])
        for value in group:
            if len(chunks[-1]) == table.max_in_values:
                chunks.append([])
            chunks[-1].append(value)
    pushed = [_in_pushed(column, [v for v in chunk]) for chunk in chunks if chunk]
    if any(p is None or not check_renderable(p.node) for p in pushed):
        return None
    if table.max_eq_length is not None and any(_too_long(p.node, table.max_eq_length)
                                               for p in pushed if p is not None):
        return None
    return [p for p in pushed if p is not None]


def contains_value(condition: exp.Anonymous, alias: str, columns: dict[int, Column]
                   ) -> Pushed | None:
    """``CONTAINS_VALUE(col, value)`` / ``CONTAINS_VALUE(col, 'item/path', value)`` as
    ``col/any(x:x[/path] eq value)`` where the catalog allows ``eq`` inside the lambda.

    Always re-checked locally: Graph compares strings loosely (Exchange and the directory
    ignore case, graph-semantics §2.3) and GUIDs regardless of their letter case.
    """
    args = list(condition.expressions)
    if len(args) not in (2, 3):
        return None
    column = column_of(args[0], alias, columns)
    if column is None or "any" not in column.filter_ops or "eq" not in column.any_ops:
        return None
    path: tuple[str, ...] = ()
    if len(args) == 3:
        ok, text = literal_value(args[1])
        if not ok or not isinstance(text, str):
            return None
        path = tuple(p for p in text.split("/") if p)
    if tuple(p.lower() for p in path) != tuple(p.lower() for p in column.any_path):
        return None
    ok, value = literal_value(args[-1])
    if not ok or value is None or isinstance(value, bool):
        return None
    inner = column.edm_type[len("Collection("):-1] if column.is_collection else ""
    if column.any_path:
        item_type = _ITEM_TYPES.get((inner, column.any_path))
    else:
        item_type = inner if inner.startswith("Edm.") else None
    if item_type is None:
        return None
    if item_type in ("Edm.String", "Edm.Guid") and not isinstance(value, str):
        return None
    return Pushed(Any_(_path(column), value, item_type, column.any_path), False,
                  "eq" in column.advanced_ops)


def _like(condition: exp.Like, alias: str, columns: dict[int, Column]) -> Pushed | None:
    if negated(condition):
        return None  # NOT LIKE: the positive startswith/contains would be the wrong rows
    column = column_of(condition.this, alias, columns)
    if column is None or column.pseudo or not column.path:
        return None
    ok, pattern = literal_value(condition.expression)
    if not ok or not isinstance(pattern, str) or "_" in pattern:
        return None
    if column.sql_type not in ("VARCHAR", "TEXT"):
        return None
    # The local LIKE ignores letter case (Unicode-aware, execution/sql_functions.py); only a
    # case-insensitive Graph match is a superset of it.
    if column.filter_exact:
        return None
    body = pattern.strip("%")
    if not body or "%" in body:
        return None
    starts, ends = pattern.startswith("%"), pattern.endswith("%")
    func = {(False, True): "startswith", (True, False): "endswith",
            (True, True): "contains"}.get((starts, ends))
    if func is None or func not in column.filter_ops:
        return None
    return Pushed(Call(func, _path(column), body, column.edm_type), False,
                  func in column.advanced_ops)
