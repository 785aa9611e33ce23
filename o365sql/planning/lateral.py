"""Plan stage, last step (with ``sqlite_rewrite.py``): LATERAL derived tables as SQLite runs them.

SQLite has no ``LATERAL``. A lateral derived table correlated with the tables before it by
equalities in its WHERE clause::

    FROM Users u [LEFT] JOIN LATERAL (SELECT s.a, s.b FROM Messages s
                                      WHERE s.UserId = u.Id AND <own conditions>
                                      ORDER BY s.k DESC LIMIT n OFFSET o) AS t ON <cond>

is the same relation as an ordinary derived table that keeps the correlated expressions and,
when the body is cut by LIMIT/OFFSET, numbers its rows per value of them in the body's order,
joined on those values and the numbers::

    FROM Users u [LEFT] JOIN (SELECT s.a, s.b, s.UserId AS _lk1,
                                     ROW_NUMBER() OVER (PARTITION BY s.UserId
                                                        ORDER BY s.k DESC) AS _lrn
                              FROM Messages s WHERE <own conditions>) AS t
      ON t._lk1 = u.Id AND t._lrn > o AND t._lrn <= o + n AND <cond>

For every row of ``u`` the rows of ``t`` that join are exactly the lateral body's rows for it
(the body's own conditions do not depend on ``u``; ``=`` never matches a NULL on either side,
as the body's WHERE would not); rows tied in the body's order may be numbered either way, as
``LIMIT`` may cut ties either way. A LEFT JOIN keeps a row of ``u`` the body gives no row.

Bodies this cannot express raise ``NotSupportedError`` naming ``LATERAL`` and what stops it:
a reference to the outer tables anywhere but a top-level WHERE equality, aggregates, GROUP BY,
DISTINCT, window functions, set operations, a non-literal LIMIT, RIGHT/FULL lateral joins and
laterals over anything but a subquery. The planner sees the correlated form (so the body's
table is addressed per outer row, ``joins.py``, and its LIMIT pushed per request,
``top_n.py``); only the residual SQL is rewritten.
"""

from __future__ import annotations

from sqlglot import exp

from ..exceptions import NotSupportedError
from .pushdown import conjuncts, literal_value

#: Output names the rewrite adds to a lateral body (never visible: the outer query's
#: projections are expanded before this step).
KEY_PREFIX = "_lk"
ROW_NUMBER = "_lrn"


def rewrite_laterals(tree: exp.Expr) -> None:
    """Replace every ``LATERAL (subquery)`` join of ``tree`` in place (module docstring);
    the innermost first, so an outer body sees its inner laterals already rewritten."""
    for lateral in reversed(list(tree.find_all(exp.Lateral))):
        _rewrite(lateral)


def _refuse(why: str) -> NotSupportedError:
    return NotSupportedError(
        f"LATERAL: {why}; o365sql runs a LATERAL subquery as a join on the equalities of its "
        "WHERE clause (outer.column = inner expression), with an optional ORDER BY and "
        "LIMIT/OFFSET per outer row")


def _rewrite(lateral: exp.Lateral) -> None:
    join = lateral.parent
    if lateral.args.get("view") or not isinstance(lateral.this, exp.Subquery):
        raise _refuse(f"only a subquery can be lateral here, not {lateral.this.sql()[:60]}")
    if not isinstance(join, exp.Join) or join.this is not lateral:
        raise _refuse("a LATERAL subquery must follow another FROM item")
    if join.side in ("RIGHT", "FULL") or join.kind == "FULL":
        raise _refuse(f"{join.side or join.kind} JOIN LATERAL has no meaning (the lateral "
                      "side depends on the left one)")
    body = lateral.this.this
    if not isinstance(body, exp.Select):
        raise _refuse("the subquery must be one SELECT (no UNION, INTERSECT, EXCEPT)")
    for key, what in (("group", "GROUP BY"), ("having", "HAVING"), ("distinct", "DISTINCT"),
                      ("qualify", "QUALIFY"), ("with_", "WITH"), ("with", "WITH")):
        if body.args.get(key):
            raise _refuse(f"its subquery has {what}")
    if any(n.find_ancestor(exp.Select) is body for n in body.find_all(exp.AggFunc, exp.Window)):
        raise _refuse("its subquery aggregates or has a window function")
    own = _sources(body)
    keys: list[tuple[exp.Expr, exp.Expr]] = []  # (inner expression, outer column)
    kept: list[exp.Expr] = []
    where = body.args.get("where")
    for node in conjuncts(where.this if where is not None else None):
        pair = _correlation(node, own)
        if pair is not None:
            keys.append(pair)
        else:
            kept.append(node)
    _check_no_outer(body, {id(n) for pair in keys for n in pair[1].walk()},
                    {id(n) for pair in keys for n in pair[0].walk()})
    limit, offset = _bound(body)
    alias = lateral.alias_or_name or lateral.this.alias_or_name
    if not alias:
        raise _refuse("the subquery needs an alias")
    on: list[exp.Expr] = []
    if keys:
        for i, (inner, outer) in enumerate(keys, 1):
            name = f"{KEY_PREFIX}{i}"
            body.append("expressions", exp.alias_(inner.copy(), name, quoted=True))
            on.append(exp.EQ(this=exp.column(name, table=alias, quoted=True),
                             expression=outer.copy()))
        if limit is not None or offset:
            _number_rows(body, [k for k, _ in keys], alias, limit, offset, on)
        body.set("where", exp.Where(this=exp.and_(*kept)) if kept else None)
    elif limit is None and not offset:
        body.set("order", None)  # an uncorrelated derived table: its order is no one's
    previous = join.args.get("on")
    if previous is not None:
        on.append(previous)
    subquery = exp.Subquery(this=body, alias=exp.TableAlias(
        this=exp.to_identifier(alias, quoted=True)))
    replacement = exp.Join(this=subquery, on=exp.and_(*on) if on else exp.true(),
                           side="LEFT" if join.side == "LEFT" else None)
    join.replace(replacement)


def _number_rows(body: exp.Select, keys: list[exp.Expr], alias: str, limit: int | None,
                 offset: int, on: list[exp.Expr]) -> None:
    """Number the body's rows per correlated value in its ORDER BY (which may name the
    body's own output columns: a window sees only the FROM clause's, so those become their
    expressions) and bound the numbers in the join condition instead of LIMIT/OFFSET."""
    outputs = {p.alias.lower(): p.this for p in body.expressions if isinstance(p, exp.Alias)}
    order = body.args.get("order")
    ordered: list[exp.Expr] = []
    for term in order.expressions if order is not None else []:
        term = term.copy()
        target = term.this if isinstance(term, exp.Ordered) else term
        if isinstance(target, exp.Column) and not target.table and \
                target.name.lower() in outputs:
            target.replace(outputs[target.name.lower()].copy())
        elif isinstance(target, exp.Literal) and not target.is_string:
            position = int(target.this)
            if 1 <= position <= len(body.expressions):
                target.replace(body.expressions[position - 1].unalias().copy())
        ordered.append(term)
    window = exp.Window(this=exp.RowNumber(), partition_by=[k.copy() for k in keys],
                        order=exp.Order(expressions=ordered) if ordered else None)
    body.append("expressions", exp.alias_(window, ROW_NUMBER, quoted=True))
    number = exp.column(ROW_NUMBER, table=alias, quoted=True)
    if offset:
        on.append(exp.GT(this=number.copy(), expression=exp.Literal.number(offset)))
    if limit is not None:
        on.append(exp.LTE(this=number.copy(), expression=exp.Literal.number(offset + limit)))
    for key in ("order", "limit", "offset"):
        body.set(key, None)


def _bound(body: exp.Select) -> tuple[int | None, int]:
    """The body's LIMIT (None: none) and OFFSET (0: none) as integers."""
    found: list[int | None] = []
    for key in ("limit", "offset"):
        node = body.args.get(key)
        if node is None:
            found.append(None)
            continue
        value_node = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
        ok, value = literal_value(value_node)
        if not ok or isinstance(value, bool) or not isinstance(value, (int, float)) or \
                value != int(value):
            raise _refuse(f"its {key.upper()} must be a whole number, not "
                          f"{value_node.sql()[:40]}")
        found.append(int(value))
    limit, offset = found
    if limit is not None and limit < 0:
        limit = None  # SQLite: a negative LIMIT is no limit
    return limit, max(offset or 0, 0)


def _sources(select: exp.Select) -> set[str]:
    """The aliases a SELECT's own FROM clause and joins define (lower case)."""
    names: set[str] = set()
    from_ = select.args.get("from_") or select.args.get("from")
    items = ([from_.this] if from_ is not None else []) + [
        j.this for j in select.args.get("joins") or []]
    for item in items:
        name = item.alias_or_name
        if name:
            names.add(name.lower())
    return names


def _is_outer(column: exp.Column, body: exp.Select) -> bool:
    """A column of a table outside ``body``: no SELECT from the column up to ``body``
    (inclusive) defines its qualifier."""
    table = column.table.lower()
    if not table:
        return False
    node: exp.Expr | None = column
    while node is not None:
        if isinstance(node, exp.Select) and table in _sources(node):
            return False
        if node is body:
            return True
        node = node.parent
    return True


def _correlation(node: exp.Expr, own: set[str]) -> tuple[exp.Expr, exp.Expr] | None:
    """``inner = outer.column`` (either way round): (inner expression, outer column)."""
    if not isinstance(node, exp.EQ):
        return None
    for inner, outer in ((node.this, node.expression), (node.expression, node.this)):
        while isinstance(outer, exp.Paren):
            outer = outer.this
        if isinstance(outer, exp.Column) and outer.table.lower() not in own and outer.table \
                and inner.find(exp.Column) is not None and \
                not any(c.table.lower() not in own for c in inner.find_all(exp.Column)) and \
                not inner.find(exp.Subquery, exp.Select):
            return inner, outer
    return None


def _check_no_outer(body: exp.Select, allowed: set[int], inner: set[int]) -> None:
    """No column of an outer table anywhere in the body but the correlation equalities."""
    for column in body.find_all(exp.Column):
        if id(column) in allowed or id(column) in inner:
            continue
        if _is_outer(column, body):
            raise _refuse(f"its subquery refers to {column.table}.{column.name} outside an equality of its "
                          "WHERE clause")
