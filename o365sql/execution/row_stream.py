"""Execution stage, the hand-over to the cursor: a streamed result's rows as one iterator the
cursor pulls at C speed, plus the ``close`` that stops the Graph paging behind it.

The streaming path produces rows a Graph page at a time (a list per page). Flattening those
lists with ``itertools.chain`` and cutting OFFSET/LIMIT/MaxRows with ``itertools.islice`` keeps
every per-row step in C: ``fetchmany``'s ``islice`` over it never resumes a Python generator
per row (three nested ones did before, about a tenth of a 100,000-row scan's client CPU).
Generators of pages stay lazy: nothing is fetched until the first row is asked for.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Row = tuple[Any, ...]


class RowStream:
    """Rows of ``pages`` (an iterator of row lists), from row ``offset`` on and at most
    ``limit`` of them; ``close()`` closes ``pages`` (a generator's ``finally`` stops its
    paging) and is safe to call more than once."""

    __slots__ = ("_rows", "_close")

    def __init__(self, pages: Iterator[list[Row]], offset: int = 0, limit: int | None = None
                 ) -> None:
        stop = None if limit is None else offset + limit
        # islice takes at most sys.maxsize; no scan has that many rows, so the cap answers
        # the same.
        self._rows: Iterator[Row] = itertools.islice(
            itertools.chain.from_iterable(pages), min(offset, sys.maxsize),
            None if stop is None else min(stop, sys.maxsize))
        self._close: Callable[[], None] | None = getattr(pages, "close", None)

    def limited(self, limit: int) -> RowStream:
        """The first ``limit`` of the rows still to come (MaxRows), closing as this does."""
        self._rows = itertools.islice(self._rows, limit)
        return self

    def __iter__(self) -> Iterator[Row]:
        # The C iterator itself: the cursor keeps it and pulls from it directly.
        return self._rows

    def __next__(self) -> Row:
        return next(self._rows)

    def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()


def limited_rows(rows: Iterable[Row], limit: int) -> Iterator[Row]:
    """``rows`` cut to ``limit`` (MaxRows), keeping a :class:`RowStream`'s ``close``."""
    if isinstance(rows, RowStream):
        return rows.limited(limit)
    return itertools.islice(rows, limit)
