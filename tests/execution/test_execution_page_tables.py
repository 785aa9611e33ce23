"""Databases kept for the streaming path (``execution/page_tables.py``, issue 12 point 3): a
statement gets a kept database with its table empty, whether the one before it ran to its end
or stopped early; a database whose statement failed is not kept."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator

import pytest

from o365sql.execution.page_tables import page_table

CREATE = 'CREATE TEMP TABLE "_scan0" ("probe_page_tables" TEXT)'
INSERT = 'INSERT INTO "_scan0" VALUES (?)'
DELETE = 'DELETE FROM "_scan0"'


def _connect() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", check_same_thread=False)


def _statement(rows: list[str]) -> Generator[tuple[sqlite3.Connection, list[str]], None, None]:
    with page_table(CREATE, INSERT, DELETE, _connect) as table:
        seen = [r[0] for r in table.db.execute('SELECT * FROM "_scan0"')]
        table.db.executemany(INSERT, [(r,) for r in rows])
        yield table.db, seen
        yield table.db, seen


def test_a_database_is_kept_emptied_after_its_statement() -> None:
    first = _statement(["a", "b"])
    db, seen = next(first)
    assert seen == []
    list(first)  # ran to its end
    second = _statement(["c"])
    again, seen = next(second)
    assert again is db and seen == []  # the same database, its table empty
    second.close()  # stopped early (GeneratorExit): kept as well
    third = _statement([])
    assert next(third)[0] is db
    third.close()


def test_a_database_whose_statement_failed_is_closed() -> None:
    with pytest.raises(ValueError), page_table(CREATE, INSERT, DELETE, _connect) as table:
        failed = table.db
        raise ValueError("boom")
    with pytest.raises(sqlite3.ProgrammingError):
        failed.execute("SELECT 1")
    with page_table(CREATE, INSERT, DELETE, _connect) as table:
        assert table.db is not failed
