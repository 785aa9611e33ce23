"""The streamed result handed to the cursor (``execution/row_stream.py``): pages flattened,
OFFSET/LIMIT and MaxRows cut, the page source closed (its paging stopped) by ``close`` even
when MaxRows wraps it, and nothing read from the source before the first row is asked for."""

from __future__ import annotations

from collections.abc import Iterator

from o365sql.execution.row_stream import RowStream, limited_rows


class Pages:
    """A page source that records how many pages were taken and whether it was closed."""

    def __init__(self, pages: int, size: int) -> None:
        self.taken = 0
        self.closed = False
        self._gen = self._pages(pages, size)

    def _pages(self, pages: int, size: int) -> Iterator[list[tuple[int]]]:
        try:
            for p in range(pages):
                self.taken += 1
                yield [(p * size + i,) for i in range(size)]
        finally:
            self.closed = True

    def __iter__(self) -> Iterator[list[tuple[int]]]:
        return self

    def __next__(self) -> list[tuple[int]]:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()


def test_rows_of_every_page_in_order_with_offset_and_limit() -> None:
    for offset, limit in [(0, None), (0, 7), (3, 4), (9, 100), (25, 5), (0, 0)]:
        stream = RowStream(Pages(3, 10), offset, limit)
        got = [r[0] for r in stream]
        want = list(range(30))[offset:None if limit is None else offset + limit]
        assert got == want, (offset, limit)


def test_nothing_is_read_before_the_first_row_and_only_the_pages_needed() -> None:
    pages = Pages(5, 10)
    stream = RowStream(pages, 0, 15)
    assert pages.taken == 0
    assert len(list(stream)) == 15
    assert pages.taken == 2


def test_close_stops_the_source_also_under_max_rows() -> None:
    pages = Pages(5, 10)
    rows = limited_rows(RowStream(pages), 12)
    assert next(iter(rows)) == (0,)
    assert hasattr(rows, "close") and not pages.closed
    rows.close()
    assert pages.closed
    rows.close()  # twice is harmless


def test_max_rows_over_a_plain_iterator_is_a_cut() -> None:
    assert list(limited_rows(iter([(1,), (2,), (3,)]), 2)) == [(1,), (2,)]
