"""Execution stage, long scans: one request's rows read as disjoint ranges at once.

For a scan the planner marked (``Scan.ranges``, ``planning/range_scan.py``) the first page is
asked for ordered by the range key (``receivedDateTime desc`` unless the statement orders it
ascending) with ``$count=true``. When Graph's count leaves fewer than ``MIN_SPLIT_PAGES``
pages or ``MIN_SPLIT_ROWS`` rows after it, or Graph cannot count it (``-1``), the scan goes on
as the one request, each page fetched when the caller asks for it; when it is long but cannot
split (``MaxConcurrency=1``), its next page is fetched by a worker thread while the caller
converts the current one. Otherwise:

1. The first page's rows up to a cut ``T0`` are handed on; the rest of the scan is the rows
   on the far side of ``T0``. Cuts are whole seconds, so the ``$filter`` literal equals the
   instant compared here whatever precision Graph's values have, and ``T0`` lies strictly
   beyond the page's last key (descending: ``floor(last) + 1 s``; ascending: ``floor(last)``),
   so every row not on the page is on the far side. Rows of the page at or past ``T0`` are
   dropped and read again with the rest.
2. The rest is asked for as one range (``key lt T0``, ordered by the key), and the waits for
   its first page and for the first page decide whether splitting pays. When either came
   back within ``SPLIT_WAIT_RATIO`` times what the caller spent on the first page (parsing
   it, converting it, using its rows; only the parse when the whole page lay at its cut
   second and none of it was handed on), one request keeps the caller busy: its next page is fetched by a
   worker while the caller converts the current one, and nothing more is asked of Graph (on
   a 2-core machine against the local emulator, 4 ranges cost more CPU in threads and GIL
   hand-offs than the waits they save). Otherwise that page is cut at its own ``T1`` as in
   step 1, and the rest beyond ``T1`` is split: ``$skip`` probes (``$top=1``, the key alone)
   find the keys at evenly spaced positions of it, at page multiples; each gives a cut that
   puts the probed row in the later range (as ``T0`` does), so every range but the last
   holds whole pages, ties at its cut second aside (no request for a last page of one row).
   The ranges between cuts are half-open (``key lt T1 and key ge T2``, ... , the last one
   open: ``key lt Tn``), so each row falls in exactly one, equal timestamps included, and
   rows that arrive while the scan runs (newer than ``T0``) in none, as they would not be on
   the pages of a scan that had started.
3. The ranges are read by up to 4 worker threads (Outlook's concurrent requests per mailbox,
   graph-semantics §6; fewer under ``MaxConcurrency``), each range's own pages in order
   (``graph/ranges.py``). Unordered, pages are handed on as they arrive; ordered, range after
   range, with shorter ranges (``ORDERED_RANGE_PAGES``), at most 4 of them started, each
   buffering up to that many pages (as JSON text, ``graph/pending.py``): a worker does not
   wait for the caller to reach its range, and memory stays bounded (4 ranges of 8 pages).

Balance depends on the count and the probes; exactness does not: the ranges cover every key
whatever the cuts are, and the key is never null (the catalog says so; ``range_scan.py``).
"""

from __future__ import annotations

import datetime as _dt
import math
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from ..conversion import parse_datetime
from ..graph.errors import is_missing_item
from ..graph.paging import next_link, page_rows
from ..graph.ranges import Source, concurrent_pages
from ..graph.request import GraphRequest
from ..odata.filter import Compare, FilterNode, Junction
from ..odata.query import ODataQuery, render
from ..planning.ordering import order_query
from ..planning.plan import Scan
from ..planning.range_scan import MAX_RANGES_AT_ONCE

__all__ = ["MIN_SPLIT_PAGES", "MIN_SPLIT_ROWS", "ORDERED_RANGE_PAGES", "indexed_pages", "pages"]

#: Pages, and rows, left after the first below which the scan stays one request read lazily,
#: page by page as the caller asks (a split costs a round trip of probes and a partial last
#: page per range, and it reads ahead of the caller).
MIN_SPLIT_PAGES = 4
MIN_SPLIT_ROWS = 2000
#: Split the rest only when the first page and the rest's first page each took longer than
#: this many times what the caller spent on the first page (two observations, so one slow
#: answer does not split a scan whose server keeps up with its caller): below it, one request with the next page fetched ahead keeps the
#: caller busy (against Graph, whose pages take hundreds of milliseconds, the rest splits).
SPLIT_WAIT_RATIO = 2.0
#: Pages per range of an ordered scan (ranges are consumed in order, at most 4 started).
ORDERED_RANGE_PAGES = 8
#: Ranges of an ordered scan, at most (each costs one probe).
MAX_ORDERED_RANGES = 32
#: Pages waiting for the caller (per range when ordered; each worker holds one more while it
#: waits), held as their JSON text until the caller parses them (``graph/pending.py``, ~0.4 MB
#: for 1,000 messages of five columns): memory stays a few pages whatever the mailbox's size,
#: and the workers are not held up by a caller busy converting a page.
DEPTH = 4
ORDERED_DEPTH = ORDERED_RANGE_PAGES

_SECOND = _dt.timedelta(seconds=1)
_DATETIME = "Edm.DateTimeOffset"


def indexed_pages(scan: Scan, graph: Any, query: ODataQuery
                  ) -> Generator[tuple[int, list[dict[str, Any]]], None, None]:
    """:func:`pages` as ``(0, page)``, the form of ``scan.py``'s sources."""
    source = pages(scan, graph, query)
    try:
        for page in source:
            yield 0, page
    finally:
        source.close()


def pages(scan: Scan, graph: Any, query: ODataQuery) -> Generator[list[dict[str, Any]], None, None]:
    """The rows of ``scan``'s one request ``query``, page by page (see the module docstring)."""
    key = scan.ranges
    ascending = bool(query.orderby) and not query.orderby[0][1]
    ordered = bool(query.orderby)
    first = _keyed(scan, query, key, ascending)
    cancel = threading.Event()
    payloads = graph.pending_pages(render(first or query), cancel)
    try:
        try:
            asked = time.monotonic()
            page = next(payloads)
            started = time.monotonic()
            fetched = started - asked
            payload = page.payload()
            parsing = time.monotonic() - started
        except StopIteration:  # pragma: no cover - payloads always yields a first page
            return
        except Exception as exc:
            if scan.missing_ok and is_missing_item(getattr(exc, "status", None),
                                                   getattr(exc, "code", None)):
                return  # the folder the request addresses does not exist: no rows
            raise
        rows = page_rows(payload)
        total = payload.get("@odata.count")
        workers = min(MAX_RANGES_AT_ONCE, int(getattr(graph, "max_concurrency", 1)))
        size = (first.top if first is not None else None) or len(rows) or 1
        rest = total - len(rows) if isinstance(total, int) and total >= 0 else -1
        if next_link(payload) is None:
            yield rows
            return
        keys = [_key_of(row, key) for row in rows]
        if rest < max(MIN_SPLIT_PAGES * size, MIN_SPLIT_ROWS):
            # Small, or Graph could not count it: one request, each page when asked for.
            yield rows
            yield from (p.rows() for p in payloads)
            return
        if first is None or workers < 2 or not keys or None in keys:
            # Long but not split (one request at a time, no key order, or a first page of
            # zero results: no key to cut at): the next page fetched by a worker while this
            # one is converted.
            yield from _read_ahead(rows, payloads, cancel)
            return
        payloads.close()
        cut, kept = _cut_page(rows, keys, ascending)
        handed = time.monotonic()
        if kept:
            yield kept
        reading = parsing + (time.monotonic() - handed)
        # The rest is the one range beyond the cut, ordered by the key; the wait for its first
        # page decides whether reading it as ranges at once pays (step 2 of the docstring).
        tail = graph.pending_pages(render(range_queries(replace(first, count=False), key,
                                                        ascending, [cut])[0]), cancel)
        payloads = tail  # closed by the finally below
        asked = time.monotonic()
        second = next(tail, None)
        waited = time.monotonic() - asked
        if second is None:  # pragma: no cover - pending_pages always yields a first page
            return
        rows = second.rows()
        keys = [_key_of(row, key) for row in rows]
        if second.link is None or not keys or None in keys or \
                min(fetched, waited) <= SPLIT_WAIT_RATIO * reading:
            # Graph answers about as fast as the caller reads (or the rest is one page): the
            # one request, its next page fetched by a worker while this one is converted.
            yield from _read_ahead(rows, tail, cancel)
            return
        tail.close()
        cut, beyond = _cut_page(rows, keys, ascending)
        if beyond:
            yield beyond
        start = len(kept) + len(beyond)
        rest = total - start
        ranges = workers
        if ordered:
            ranges = min(MAX_ORDERED_RANGES,
                         max(workers, math.ceil(rest / (ORDERED_RANGE_PAGES * size))))
        # The rest starts with the dropped rows of the range's first page (position
        # ``start`` of the first request's order): probing from there puts the boundaries at
        # page multiples of every range but the last.
        cuts = [cut] + _probe_cuts(graph, first, key, ascending, start, rest, size, ranges,
                                   workers)
        requests = [render(q) for q in range_queries(query, key, ascending, cuts)]
        sources = [_source(graph, request) for request in requests]
        yield from concurrent_pages(sources, workers=workers, ordered=ordered,
                                    depth=ORDERED_DEPTH if ordered else DEPTH, cancel=cancel)
    finally:
        cancel.set()
        payloads.close()


def _read_ahead(rows: list[dict[str, Any]], rest: Iterator[Any], cancel: threading.Event
                ) -> Generator[list[dict[str, Any]], None, None]:
    """``rows`` (a page already here), then ``rest``'s pages, fetched by one worker thread:
    the worker hands ``rows`` on and asks for the next page at once, while the caller reads
    (yielding ``rows`` before starting the worker left Graph idle meanwhile). ``rest`` is
    closed by :func:`pages` once the worker is joined."""
    def source(stop: threading.Event) -> Iterator[Any]:
        yield rows
        yield from rest
    return concurrent_pages([source], workers=1, ordered=True, depth=DEPTH, cancel=cancel)


def _source(graph: Any, request: GraphRequest) -> Source:
    """The pages of one range, fetched in a worker thread."""
    def source(stop: threading.Event) -> Iterator[list[dict[str, Any]]]:
        return graph.pending_pages(request, stop)  # type: ignore[no-any-return]
    return source


def _keyed(scan: Scan, query: ODataQuery, key: str, ascending: bool) -> ODataQuery | None:
    """``query`` ordered by the key (Graph's own rules for ``$orderby`` applied), the key in
    ``$select``, and ``$count=true``; None when Graph would not order it so."""
    ordered = order_query(query, scan.table, [(key, not ascending)]) if not query.orderby \
        else query
    if ordered is None:
        return None
    select = ordered.select
    if select and key not in select:
        select = select + (key,)
    return replace(ordered, select=select, count=True)


def _key_of(row: dict[str, Any], key: str) -> _dt.datetime | None:
    """The row's key, or None when it has none (never, by the catalog; then no split)."""
    value = row.get(key)
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _cut_page(rows: list[dict[str, Any]], keys: list[_dt.datetime | None], ascending: bool
              ) -> tuple[_dt.datetime, list[dict[str, Any]]]:
    """The cut just beyond a page's last key (step 1 of the module docstring) and the page's
    rows before it, which are handed on; the others are read again beyond the cut."""
    last = keys[-1]
    assert last is not None
    cut = _cut(last, ascending)
    return cut, [row for row, k in zip(rows, keys) if k is not None and _before(k, cut, ascending)]


def _cut(value: _dt.datetime, ascending: bool) -> _dt.datetime:
    """The whole-second cut that puts ``value``'s row on the far side of it in scan order
    (descending: the next whole second, ranges ending ``ge`` it; ascending: the whole second at
    or before it, ranges starting ``ge`` it)."""
    floor = value.replace(microsecond=0)
    return floor if ascending else floor + _SECOND


def _before(value: _dt.datetime, cut: _dt.datetime, ascending: bool) -> bool:
    """True when ``value`` comes before ``cut`` in scan order."""
    return value < cut if ascending else value >= cut


def _probe_cuts(graph: Any, first: ODataQuery, key: str, ascending: bool, start: int,
                rest: int, size: int, ranges: int, workers: int) -> list[_dt.datetime]:
    """Cuts between ``ranges`` ranges of about equal size over the ``rest`` rows after
    position ``start``: the key at each boundary position, from a ``$skip`` probe."""
    step = max(1, round(rest / ranges / size)) * size
    positions = [start + step * n for n in range(1, ranges) if step * n < rest]
    if not positions:
        return []
    probe = render(replace(first, select=(key,), top=1, count=False))

    def key_at(position: int) -> _dt.datetime | None:
        request = replace(probe, params=probe.params + (("$skip", str(position)),))
        found = page_rows(graph.send(request))
        return _key_of(found[0], key) if found else None

    with ThreadPoolExecutor(max_workers=min(workers, len(positions)),
                            thread_name_prefix="o365sql-probe") as pool:
        keys = list(pool.map(key_at, positions))
    return [_cut(k, ascending) for k in keys if k is not None]


def range_queries(query: ODataQuery, key: str, ascending: bool,
                  cuts: list[_dt.datetime]) -> list[ODataQuery]:
    """One query per range between consecutive ``cuts`` (in scan order), the last range open;
    cuts that do not advance are skipped, so no range is empty by construction. The key's
    comparisons lead ``$filter`` (Outlook wants the ``$orderby`` property first, §3.1)."""
    kept: list[_dt.datetime] = []
    for cut in cuts:
        if not kept or (cut > kept[-1] if ascending else cut < kept[-1]):
            kept.append(cut)
    near, far = ("ge", "lt") if ascending else ("lt", "ge")
    rest: tuple[FilterNode, ...] = ()
    if isinstance(query.filter, Junction) and query.filter.op == "and":
        rest = query.filter.parts
    elif query.filter is not None:
        rest = (query.filter,)
    queries = []
    for index, cut in enumerate(kept):
        bounds: list[FilterNode] = [Compare(key, near, cut, _DATETIME)]
        if index + 1 < len(kept):
            bounds.append(Compare(key, far, kept[index + 1], _DATETIME))
        parts = tuple(bounds) + rest
        # Unordered ranges keep Graph's default order: they are handed on as they arrive.
        queries.append(replace(query, filter=Junction("and", parts) if len(parts) > 1
                               else parts[0]))
    return queries
