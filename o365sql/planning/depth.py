"""Parse stage, expression depth: deep SQL is either made shallow or refused with its limit.

Generated SQL is often wide (thousands of ``OR``-ed terms, ``IN`` lists) and sometimes deep
(nested parentheses, ``NOT NOT ...``). Every stage after parsing walks the tree recursively
(sqlglot's parser and generator, the planner, SQLite's own parser, whose expression tree may
be at most 1,000 deep: https://www.sqlite.org/limits.html, SQLITE_MAX_EXPR_DEPTH), so:

* a chain of one connective (``a OR b OR c ...``, parsed as a left-deep tree as tall as the
  chain is long) is rebuilt as a balanced tree of parenthesised halves (``balance``): the same
  answer, since ``AND`` and ``OR`` are associative in SQL's three-valued logic, and a height
  of about log2 of its length; in a long ``OR`` chain, the terms ``c = v1 OR c = v2 ...`` that
  compare one column with constants first become one ``c IN (v1, v2, ...)`` (the same value in
  three-valued logic, NULLs included), so that every later stage walks a list, not thousands of
  comparisons;
* nesting written by hand (parentheses, ``NOT``, ``CASE``, subqueries) deeper than
  ``MAX_NESTING`` is refused before parsing (``nesting``), naming the limit and the place;
* within that limit, the recursive stages run with room for it (``deep_recursion``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlglot import Token, TokenType, exp

#: Deepest nesting of parentheses, ``NOT``s and ``CASE``s accepted in one statement (other
#: engines stop near here too: SQL Server at 32 subquery levels, SQLite at 1,000 tree levels).
MAX_NESTING = 200
#: Interpreter frames a statement nested ``MAX_NESTING`` deep may need (sqlglot's parser uses
#: about 25 frames per level), with room for the caller's own stack.
_FRAMES = MAX_NESTING * 30 + 3000

_OPENING = {TokenType.L_PAREN, TokenType.CASE}
_CLOSING = {TokenType.R_PAREN, TokenType.END}


def nesting(tokens: Sequence[Token]) -> tuple[int, Token | None]:
    """The deepest nesting in ``tokens`` and the token where it passes ``MAX_NESTING`` (or
    None when it stays within): open parentheses and ``CASE``s, plus the length of a run of
    ``NOT``s (each negates the next, one tree level apiece)."""
    open_ = deepest = run = 0
    for token in tokens:
        kind = token.token_type
        run = run + 1 if kind == TokenType.NOT else 0
        if kind in _OPENING:
            open_ += 1
        elif kind in _CLOSING:
            open_ = max(open_ - 1, 0)
        deepest = max(deepest, open_ + run)
        if open_ + run > MAX_NESTING:
            return open_ + run, token
    return deepest, None


_lock = threading.Lock()
_users = 0
_saved = 0


@contextmanager
def deep_recursion() -> Iterator[None]:
    """Run the body with room for ``MAX_NESTING``-deep statements: the interpreter's recursion
    limit is raised while any thread is inside, and put back when the last one leaves."""
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = sys.getrecursionlimit()
            if _saved < _FRAMES:
                sys.setrecursionlimit(_FRAMES)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and sys.getrecursionlimit() == max(_saved, _FRAMES):
                sys.setrecursionlimit(_saved)


#: Chains shorter than this are left as parsed (their height is no risk, and the rendered SQL
#: stays as written for EXPLAIN and golden files).
_BALANCE_FROM = 32


def balance(tree: exp.Expr) -> exp.Expr:
    """Rebuild every long ``AND``/``OR`` chain of ``tree`` as a balanced tree (in place where
    possible; returns the new root)."""
    chains: list[exp.Connector] = []
    for node in tree.walk(bfs=False):
        if isinstance(node, (exp.And, exp.Or)) and not isinstance(node.parent, type(node)):
            chains.append(node)
    for chain in chains:
        operands = _operands(chain)
        if len(operands) < _BALANCE_FROM:
            continue
        if isinstance(chain, exp.Or):
            operands = _equalities_as_lists(operands)
        balanced = _halves(type(chain), operands)
        if chain is tree:
            tree = balanced
        else:
            chain.replace(balanced)
    return tree


#: Predicates: their value is TRUE, FALSE or NULL, so ``NOT NOT p`` is ``p``.
_PREDICATES = (exp.Predicate, exp.Connector, exp.Not, exp.Boolean, exp.Exists, exp.In,
               exp.Between, exp.Like, exp.ILike, exp.Is)
#: Deepest nesting of parentheses, NOT, CASE and subqueries left after ``simplify``: SQLite's
#: parser, which runs the local part of every query, overflows its stack near 50 levels of
#: ``NOT (`` (its YYSTACKDEPTH is 100 entries).
MAX_TREE_NESTING = 40
_NESTING = (exp.Paren, exp.Not, exp.Case, exp.Subquery)


def simplify(tree: exp.Expr) -> exp.Expr:
    """Drop nesting that means nothing: ``((x))`` is ``(x)``, and ``NOT NOT p`` over a
    predicate ``p`` is ``p`` (true in SQL's three-valued logic: NOT NOT NULL is NULL)."""
    for node in list(tree.walk(bfs=False)):
        if isinstance(node, exp.Paren) and isinstance(node.this, exp.Paren):
            wrapped = node.this
            while isinstance(wrapped.this, exp.Paren):
                wrapped = wrapped.this
            node.set("this", wrapped.this)
    for node in list(tree.walk(bfs=False)):
        if not isinstance(node, exp.Not) or isinstance(node.parent, exp.Not) or \
                node.parent is None and node is not tree:
            continue
        run = 0
        inner: exp.Expr = node
        while isinstance(inner, (exp.Not, exp.Paren)):
            run += isinstance(inner, exp.Not)
            inner = inner.this
        if run < 2 or not isinstance(inner, _PREDICATES):
            continue
        kept = exp.Not(this=inner) if run % 2 else exp.Paren(this=inner)
        if node is tree:
            tree = kept
        else:
            node.replace(kept)
    return tree


def tree_nesting(tree: exp.Expr) -> int:
    """The most parentheses, NOTs, CASEs and subqueries on one path of ``tree`` (iterative)."""
    deepest = 0
    stack: list[tuple[exp.Expr, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        depth += isinstance(node, _NESTING)
        deepest = max(deepest, depth)
        for child in node.iter_expressions():
            stack.append((child, depth))
    return deepest


def _operands(chain: exp.Connector) -> list[exp.Expr]:
    """The operands of a chain of one connective, left to right, without recursion."""
    kind = type(chain)
    found: list[exp.Expr] = []
    stack: list[exp.Expr] = [chain]
    while stack:
        node = stack.pop()
        if type(node) is kind:
            stack.append(node.right)
            stack.append(node.left)
        else:
            found.append(node)
    return found


#: Values an ``=`` may compare a column with for its term to join an ``IN`` list.
_CONSTANTS = (exp.Literal, exp.Placeholder, exp.Null, exp.Boolean)


def _equalities_as_lists(operands: list[exp.Expr]) -> list[exp.Expr]:
    """``operands`` of an OR chain with each column's ``column = constant`` terms gathered
    into one ``column IN (...)`` at the place of its first term (other terms kept in order)."""
    lists: dict[tuple[str, ...], exp.In] = {}
    kept: list[exp.Expr] = []
    for operand in operands:
        term = operand
        while isinstance(term, exp.Paren):
            term = term.this
        if isinstance(term, exp.EQ):
            column, value = term.this, term.expression
            if isinstance(value, exp.Column) and isinstance(column, _CONSTANTS):
                column, value = value, column
            if isinstance(column, exp.Column) and isinstance(value, _CONSTANTS):
                key = tuple(part.name for part in column.parts)
                found = lists.get(key)
                if found is None:
                    found = lists[key] = exp.In(this=column, expressions=[])
                    kept.append(found)
                found.append("expressions", value)
                continue
        kept.append(operand)
    return kept


def _halves(kind: type[exp.Connector], operands: list[exp.Expr]) -> exp.Expr:
    """A balanced tree of ``kind`` over ``operands`` (recursion as deep as its height)."""
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    left = _halves(kind, operands[:middle])
    right = _halves(kind, operands[middle:])
    # Parentheses keep the shape when rendered: SQLite would parse "a OR b OR c" left-deep.
    return kind(this=_wrapped(left, kind), expression=_wrapped(right, kind))


def _wrapped(node: exp.Expr, kind: type[exp.Connector]) -> exp.Expr:
    return exp.Paren(this=node) if isinstance(node, kind) else node
