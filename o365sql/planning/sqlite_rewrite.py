"""Plan stage, last step: rewrite valid SQL that SQLite's grammar lacks into SQLite it runs.

The residual query is standard SQL over the storage tables, but SQLite refuses two standard
forms (and ``LATERAL``: ``lateral.py`` runs it as a join on numbered rows): a parenthesised
operand of a set operation (``(SELECT ... LIMIT 1) UNION ALL (SELECT
... LIMIT 1)``: "near '(': syntax error") and quantified comparisons (``x > ALL (SELECT ...)``,
``x = ANY (...)``). The first becomes ``SELECT * FROM (SELECT ... LIMIT 1)``; the second an
EXISTS test that keeps SQL's three-valued answer. A string literal holding U+0000 (a bound
parameter, ``'a\x00b'``) cannot appear in SQLite's SQL text, which ends at a NUL, so it becomes
``('a' || CHAR(0) || 'b')``, the same value. Forms with no SQLite equivalent
(``INTERSECT ALL``, ``EXCEPT ALL``) raise ``NotSupportedError`` naming the construct. Hands
the rewritten tree back to ``planner.py``, which renders the residual SQL from it.
"""

from __future__ import annotations

import itertools

from sqlglot import exp

from ..exceptions import NotSupportedError, ProgrammingError
from .lateral import rewrite_laterals

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def rewrite_for_sqlite(tree: exp.Expr) -> exp.Expr:
    """Rewrite ``tree`` in place (see the module docstring); returns the (maybe new) root."""
    rewrite_laterals(tree)
    names = (f"_q{n}" for n in itertools.count(1))
    for node in list(tree.find_all(exp.SetOperation)):
        if isinstance(node, (exp.Intersect, exp.Except)) and not node.args.get("distinct"):
            kind = "INTERSECT ALL" if isinstance(node, exp.Intersect) else "EXCEPT ALL"
            raise NotSupportedError(f"{kind} is not supported by the local engine (SQLite); "
                                    f"use {kind.split()[0]} (which removes duplicates)")
        for key in ("this", "expression"):
            operand = node.args.get(key)
            if isinstance(operand, exp.Subquery) and not operand.alias:
                # SQLite takes no parentheses around set operands: select from them instead.
                inner = operand.copy()
                inner.set("alias", exp.TableAlias(this=exp.to_identifier(next(names))))
                node.set(key, exp.select("*").from_(inner))
    for literal in list(tree.find_all(exp.Literal)):
        if literal.is_string and "\x00" in literal.this:
            replacement = _with_nul(literal.this)
            if literal is tree:
                return replacement
            literal.replace(replacement)
    for comparison in list(tree.find_all(*_COMPARISONS)):
        quantified = comparison.expression
        if isinstance(quantified, (exp.All, exp.Any)):
            replacement = _quantified(comparison, quantified, next(names))
            if comparison is tree:
                return replacement
            comparison.replace(replacement)
    return tree


def _with_nul(text: str) -> exp.Expr:
    """A string holding U+0000 as SQLite can read it: ``('a' || CHAR(0) || 'b')``. SQLite's
    SQL text ends at a NUL (Python's sqlite3 refuses such a statement), but its strings may
    hold one, and ``=``, ``<`` and ``||`` compare and join every character."""
    parts: list[exp.Expr] = []
    for i, piece in enumerate(text.split("\x00")):
        if i:
            parts.append(exp.Anonymous(this="CHAR", expressions=[exp.Literal.number(0)]))
        if piece:
            parts.append(exp.Literal.string(piece))
    result = parts[0]
    for part in parts[1:]:
        result = exp.DPipe(this=result, expression=part, safe=True)
    return exp.Paren(this=result)


def _quantified(comparison: exp.Expr, quantifier: exp.Expr, name: str) -> exp.Expr:
    """``x op ALL (S)`` / ``x op ANY (S)`` as a CASE over EXISTS tests.

    ALL: FALSE when some row compares false, else NULL when some row compares NULL, else
    TRUE (also for no rows). ANY: TRUE when some row compares true, else NULL when some
    compares NULL, else FALSE.
    """
    query = quantifier.this
    while isinstance(query, (exp.Subquery, exp.Paren)):
        query = query.this
    if not isinstance(query, exp.Query):
        raise NotSupportedError(f"{quantifier.key.upper()} takes a subquery, not "
                                f"{quantifier.sql()}")
    query = query.copy()
    first = query
    while isinstance(first, exp.SetOperation):
        first = first.this
    if not isinstance(first, exp.Select) or len(first.selects) != 1:
        raise ProgrammingError(f"the subquery of {quantifier.key.upper()} must return one column")
    first.set("expressions", [exp.alias_(first.selects[0].unalias(), "_v")])
    value = exp.column("_v", table=name)
    test = type(comparison)(this=comparison.this.copy(), expression=value)

    def exists(condition: exp.Expr) -> exp.Expr:
        source = exp.Subquery(this=query.copy(), alias=exp.TableAlias(
            this=exp.to_identifier(name)))
        return exp.Exists(this=exp.select("1").from_(source).where(condition))

    unknown = exists(exp.Is(this=exp.Paren(this=test.copy()), expression=exp.null()))
    decided: exp.Expr = test
    decided_value, otherwise = exp.true(), exp.false()
    if isinstance(quantifier, exp.All):
        decided = exp.Not(this=exp.Paren(this=test))
        decided_value, otherwise = exp.false(), exp.true()
    return exp.Paren(this=exp.Case(ifs=[
        exp.If(this=exists(decided), true=decided_value),
        exp.If(this=unknown, true=exp.null())], default=otherwise))
