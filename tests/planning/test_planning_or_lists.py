"""Long OR chains: ``c = v1 OR c = v2 ...`` gathered into ``c IN (...)`` keep SQL's answer.

``planning/depth.balance`` rewrites long OR chains (issue 10: 5,000 terms planned in seconds,
not half a minute). The rewrite must give the same value as the chain written out in SQL's
three-valued logic, NULLs, other columns' terms, reversed operands and parameters included:
each generated chain is run in stdlib sqlite3 as written and as rewritten, over rows holding
NULLs, and both answers must match, row by row.
"""

from __future__ import annotations

import random
import sqlite3

import pytest
from sqlglot import exp

from o365sql.planning.depth import _BALANCE_FROM, balance
from o365sql.planning.parse import parse_statement

_ROWS = [(a, b, c) for a in (None, 1, 2, 3, 7) for b in (None, "x", "y", "z") for c in (None, 0, 1)]
_TERMS = ["a = {n}", "{n} = a", "b = '{s}'", "'{s}' = b", "a = NULL", "b = NULL", "c = 1",
          "a > {n}", "(a = {n})", "b IS NULL", "a = ?", "c = true"]


def _chain(rng: random.Random, length: int) -> tuple[str, list[object]]:
    # A few kinds of term per chain, constants mostly missing from the rows: so that chains
    # are often FALSE or NULL for a row, not TRUE through one term that matches everything.
    kinds = rng.sample(_TERMS, rng.randint(1, 4))
    terms: list[str] = []
    params: list[object] = []
    for _ in range(length):
        term = rng.choice(kinds)
        if "?" in term:
            params.append(rng.choice([None, 1, 9, 11, 12]))
        terms.append(term.format(n=rng.choice([1, 5, 8, 9, 11, 12, 13]), s=rng.choice("xwvu")))
    return " OR ".join(terms), params


def _answers(db: sqlite3.Connection, where: str, params: list[object]) -> list[tuple[int, object]]:
    sql = f"SELECT rowid, ({where}) FROM t ORDER BY rowid"
    return db.execute(sql, params).fetchall()


def test_or_chains_gathered_into_in_lists_keep_the_answer() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a, b, c)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", _ROWS)
    rng = random.Random(20261207)
    compared = rewritten = 0
    outcomes: set[object] = set()
    for _ in range(300):
        where, params = _chain(rng, rng.randint(_BALANCE_FROM, 3 * _BALANCE_FROM))
        statement = parse_statement(f"SELECT a FROM t WHERE {where}")
        assert statement.tree is not None
        condition = statement.tree.args["where"].this
        rendered = condition.sql(dialect="sqlite")
        rewritten += any(isinstance(n, exp.In) for n in condition.walk())
        expected = _answers(db, where, params)
        assert _answers(db, rendered, params) == expected, where
        compared += len(_ROWS)
        outcomes.update(value for _, value in expected)
    assert rewritten >= 150 and compared >= 300 * len(_ROWS)
    assert outcomes == {0, 1, None}  # the chains were TRUE, FALSE and NULL for some rows


def test_short_chains_are_left_as_written() -> None:
    where = " OR ".join(f"a = {n}" for n in range(_BALANCE_FROM - 1))
    tree = balance(parse_statement(f"SELECT a FROM t WHERE {where}").tree)  # type: ignore[arg-type]
    assert not any(isinstance(n, exp.In) for n in tree.walk())


@pytest.mark.parametrize("length", [_BALANCE_FROM, 5000])
def test_a_long_chain_of_one_column_is_one_in_list(length: int) -> None:
    where = " OR ".join(f"Subject = 's{n}'" for n in range(length))
    tree = parse_statement(f"SELECT Id FROM Messages WHERE {where}").tree
    assert tree is not None
    lists = [n for n in tree.walk() if isinstance(n, exp.In)]
    assert len(lists) == 1 and len(lists[0].expressions) == length
    assert not any(isinstance(n, exp.EQ) for n in tree.walk())
