"""Execution stage, local engine: in-memory SQLite databases kept for the next statement.

The streaming path runs its per-page query over one temp table holding the current Graph page
(``residual.stream_pages``). Opening a database, registering o365sql's functions and creating
that table cost about half a millisecond, more than the rest of a repeated execute; so a
database whose statement is over is emptied and kept, by the shape of its table (the CREATE
statement), for the next statement that needs the same table. At most a few per shape and a
few dozen shapes are kept; one statement uses a database at a time.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Lock

__all__ = ["PageTable", "page_table"]

_PER_SHAPE = 4
_SHAPES = 32

_free: OrderedDict[str, list[sqlite3.Connection]] = OrderedDict()
_lock = Lock()


class PageTable:
    """A database holding one empty table, and the statements that fill and empty it."""

    def __init__(self, db: sqlite3.Connection, insert: str, delete: str) -> None:
        self.db = db
        self.insert = insert
        self.delete = delete


@contextmanager
def page_table(create: str, insert: str, delete: str,
               connect: Callable[[], sqlite3.Connection]) -> Iterator[PageTable]:
    """A database where ``create`` has run and the table is empty (a kept one, or a new one
    from ``connect``). Given back emptied when the body ends, or closed when it fails: a
    statement that stops early (``GeneratorExit``) leaves a database as usable as one that
    ran to its end, since each page's query is read whole before its rows are handed on."""
    db = _take(create)
    if db is None:
        db = connect()
        db.execute(create)
    try:
        yield PageTable(db, insert, delete)
    except GeneratorExit:
        _give_back(create, db, delete)
        raise
    except BaseException:
        db.close()
        raise
    _give_back(create, db, delete)


def _take(create: str) -> sqlite3.Connection | None:
    with _lock:
        kept = _free.get(create)
        if kept:
            _free.move_to_end(create)
            return kept.pop()
    return None


def _give_back(create: str, db: sqlite3.Connection, delete: str) -> None:
    try:
        db.execute(delete)
    except sqlite3.Error:
        db.close()
        return
    closing: list[sqlite3.Connection] = []
    with _lock:
        kept = _free.setdefault(create, [])
        _free.move_to_end(create)
        if len(kept) < _PER_SHAPE:
            kept.append(db)
        else:
            closing.append(db)
        while len(_free) > _SHAPES:
            closing.extend(_free.popitem(last=False)[1])
    for extra in closing:
        extra.close()
