"""Bind stage: put parameter values into a copy of the parsed AST as typed literals.

Values never become SQL or OData text here: each one becomes a sqlglot literal node
(string, number, boolean, NULL), so no value can change the structure of the statement or of
the OData request rendered from it. Hands the bound AST to resolution/planning.

Accepted Python values: ``None``, ``bool``, ``int``, ``float`` (finite), ``Decimal``, ``str``,
``bytes``, ``datetime`` (naive ones are taken as UTC), ``date``, ``time``, and sequences
(list/tuple/set/frozenset) for ``IN :ids`` or ``IN (?)``, which expand to one literal each.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlglot import exp

from ..exceptions import DataError, ProgrammingError
from ..value_model import datetime_to_storage, read_text
from .parse import QMARK_PREFIX, Statement

_SEQUENCES = (list, tuple, set, frozenset)


def parameter_values(statement: Statement, params: Sequence[Any] | Mapping[str, Any] | None
                     ) -> dict[str, Any]:
    """Match the caller's parameters to the statement's placeholders, by name or position.

    Raises:
        ProgrammingError: a missing parameter, a count mismatch, or the wrong container
            (a sequence for named parameters, a mapping for ``?``).
        DataError: a text value that is not valid Unicode (``valid_text``).
    """
    values = _matched(statement, params)
    for name, value in values.items():
        if isinstance(value, str):
            valid_text(value, f"parameter {_describe((name,))}")
    return values


def valid_text(text: str, what: str) -> None:
    """Refuse text holding a lone surrogate (``"\\ud800"``, from a bad decode): it cannot be
    encoded as UTF-8, so neither Graph, a URL nor SQLite could take it.

    Raises:
        DataError: naming ``what`` and the position of the first bad character.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(
            f"{what} is not valid Unicode text: a lone surrogate U+{ord(text[exc.start]):04X} "
            f"at character {exc.start + 1} (text must be encodable as UTF-8)") from None


def _matched(statement: Statement, params: Sequence[Any] | Mapping[str, Any] | None
             ) -> dict[str, Any]:
    names = statement.param_names
    if not names:
        if params:
            raise ProgrammingError(
                f"the statement has no parameters but {len(params)} were given")
        return {}
    if params is None:
        raise ProgrammingError(f"the statement needs parameters: {_describe(names)}")
    if statement.qmark:
        if isinstance(params, (Mapping, str, bytes)):
            raise ProgrammingError("the statement uses '?' placeholders: pass a sequence")
        values = list(params)
        if len(values) != len(names):
            raise ProgrammingError(
                f"the statement has {len(names)} '?' placeholders but {len(values)} values were given")
        return dict(zip(names, values))
    if isinstance(params, Mapping):
        lowered = {str(k).lstrip(":@").lower(): v for k, v in params.items()}
        result: dict[str, Any] = {}
        for name in names:
            if name.lower() not in lowered:
                raise ProgrammingError(f"no value given for parameter :{name}")
            result[name] = lowered[name.lower()]
        return result
    if isinstance(params, (str, bytes)):
        raise ProgrammingError("parameters must be a mapping (named) or a sequence, not a string")
    values = list(params)
    if len(values) != len(names):
        raise ProgrammingError(
            f"the statement has {len(names)} parameters ({_describe(names)}) "
            f"but {len(values)} values were given")
    return dict(zip(names, values))


def bind(tree: exp.Expr, values: Mapping[str, Any]) -> exp.Expr:
    """Return a copy of ``tree`` with every placeholder replaced by a literal node.

    Example:
        >>> import sqlglot
        >>> t = sqlglot.parse_one("SELECT a FROM t WHERE b = :x AND c IN :ids", read="sqlite")
        >>> bind(t, {"x": "' or 1 eq 1 or '", "ids": [1, 2]}).sql("sqlite")
        "SELECT a FROM t WHERE b = ''' or 1 eq 1 or ''' AND c IN (1, 2)"
    """
    tree = tree.copy()
    bind_in_place(tree, values)
    return tree


def bind_in_place(tree: exp.Expr, values: Mapping[str, Any]) -> None:
    """Replace the placeholders of ``tree`` itself (see :func:`bind`)."""
    for node in list(tree.find_all(exp.Placeholder)):
        name = node.name
        if name not in values:
            raise ProgrammingError(f"no value given for parameter {_display(name)}")
        value = values[name]
        parent = node.parent
        if isinstance(value, _SEQUENCES):
            _bind_sequence(node, parent, name, value)
            continue
        if isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch)):
            value = _count(parent, name, value)
        node.replace(literal(value, name))


def _count(clause: exp.Expr, name: str, value: Any) -> Any:
    """A LIMIT/OFFSET parameter must be a non-negative integer (SQL's rule; SQLite would read
    ``LIMIT -1`` as no limit). ``bool`` is refused although Python counts it as an int; text
    is read as an integer (``-P n=3`` on the command line gives ``'3'``), as PostgreSQL reads
    a text parameter where an integer is expected."""
    given = value
    if isinstance(value, str):
        try:
            value = read_text(value, "BIGINT")
        except ValueError:
            pass
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    value = given
    kind = "OFFSET" if isinstance(clause, exp.Offset) else "LIMIT"
    raise ProgrammingError(
        f"parameter {_display(name)} is bound to {kind}, which takes a non-negative integer, "
        f"not {value!r} ({type(value).__name__})")


def fold_booleans(tree: exp.Expr) -> None:
    """Fold TRUE/FALSE through AND, OR, NOT and parentheses, in place.

    Binding turns ``x IN :empty`` into FALSE (``x IN ()`` is false for every x); folding lets
    the planner see that a whole WHERE clause is false (no Graph request at all) and keeps a
    FALSE arm from making an OR look unpushable. Three-valued logic holds: FALSE AND NULL is
    FALSE, TRUE OR NULL is TRUE, and ``TRUE AND x`` / ``FALSE OR x`` are ``x``.
    """
    for node in list(tree.find_all(exp.And, exp.Or, exp.Not, exp.Paren, bfs=False))[::-1]:
        folded = _fold(node)
        if folded is not None and node.parent is not None:
            node.replace(folded)


def _truth(node: exp.Expr) -> bool | None:
    return bool(node.this) if isinstance(node, exp.Boolean) else None


def _fold(node: exp.Expr) -> exp.Expr | None:
    if isinstance(node, exp.Paren):
        return exp.Boolean(this=_truth(node.this)) if _truth(node.this) is not None else None
    if isinstance(node, exp.Not):
        value = _truth(node.this)
        return None if value is None else exp.Boolean(this=not value)
    if not isinstance(node, exp.Connector):
        return None
    first: exp.Expr = node.this
    second: exp.Expr = node.expression
    left, right = _truth(first), _truth(second)
    absorbing = isinstance(node, exp.Or)  # TRUE absorbs OR, FALSE absorbs AND
    if left is absorbing or right is absorbing:
        return exp.Boolean(this=absorbing)
    if left is not None:
        return second
    if right is not None:
        return first
    return None


def _bind_sequence(node: exp.Placeholder, parent: exp.Expr | None, name: str,
                   value: Any) -> None:
    items = list(value)
    if isinstance(value, (set, frozenset)):
        items = sorted(items, key=repr)  # deterministic request text
    if isinstance(parent, exp.In) and (parent.args.get("field") is node or (
            len(parent.expressions) == 1 and parent.expressions[0] is node)):
        if not items:
            # x IN () is false for every x, NULL included (SQLite's reading of it).
            parent.replace(exp.false())
            return
        parent.set("field", None)
        parent.set("expressions", [literal(v, name) for v in items])
        return
    raise ProgrammingError(
        f"parameter {_display(name)} is a sequence; sequences are accepted only as "
        "'IN :name' or 'IN (?)'")


def literal(value: Any, name: str = "") -> exp.Expr:
    """The sqlglot literal node for one Python value."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProgrammingError(f"parameter {_display(name)} is {value!r}, which SQL cannot hold")
        return exp.Literal.number(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ProgrammingError(f"parameter {_display(name)} is {value}, which SQL cannot hold")
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, _dt.datetime):
        return exp.Literal.string(datetime_to_storage(value))
    if isinstance(value, _dt.date):
        return exp.Literal.string(value.isoformat())
    if isinstance(value, _dt.time):
        return exp.Literal.string(value.isoformat())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return exp.HexString(this=bytes(value).hex())
    raise ProgrammingError(
        f"parameter {_display(name)} has type {type(value).__name__}, which o365sql cannot bind")


def _display(name: str) -> str:
    if name.startswith(QMARK_PREFIX):
        return f"?#{name[len(QMARK_PREFIX):]}"
    return f":{name}"


def _describe(names: tuple[str, ...]) -> str:
    return ", ".join(_display(n) for n in names)
