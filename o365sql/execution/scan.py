"""Execution stage, sources: fetch one scan's rows from Graph (or the local ``sys_*`` tables).

Renders each scan's OData queries into ``GraphRequest``s, pages through them with the Graph
client (``pages`` for one request, ``fan_out`` for several mailboxes or IN chunks; single-item
GETs, where a missing item is no row, through a small pool of ``send`` calls), and converts
every entity into a row of storage values (``conversion.py``), pseudo-columns filled from the
address the rows came from. Hands row batches (one per Graph page) to the streaming or
residual path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..conversion import graph_value, to_storage
from ..exceptions import Error
from ..graph.request import GraphRequest
from ..odata.query import ODataQuery, render
from ..planning.plan import Scan


def requests_for(scan: Scan, queries: Sequence[ODataQuery] | None = None) -> list[GraphRequest]:
    """The Graph requests of a scan (its own queries, or instantiated ones)."""
    return [render(q) for q in (queries if queries is not None else scan.queries)]


def fetch(scan: Scan, graph: Any, queries: Sequence[ODataQuery] | None = None,
          fills: Sequence[dict[str, Any]] | None = None
          ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Raw Graph pages of a scan as ``(fill, page)``: the pseudo-column values of the request
    the page answers, and its entities. Stopping the iteration stops the paging."""
    queries = list(queries if queries is not None else scan.queries)
    fills = list(fills if fills is not None else scan.fills)
    requests = requests_for(scan, queries)
    if scan.items:
        source = _items(graph, requests)
    elif scan.missing_ok:
        source = _tolerant(graph, requests)
    elif len(requests) == 1:
        source = ((0, page) for page in graph.pages(requests[0]))
    else:
        source = graph.fan_out(requests)
    seen: set[Any] | None = set() if scan.dedupe else None
    key = scan.table.column(scan.table.key) if scan.dedupe else None
    try:
        for index, page in source:
            if seen is not None and key is not None:
                page = _first_copies(page, key.path, seen)
            yield (fills[index] if fills else {}), page
    except Error as exc:
        raise with_table(exc, scan.table.name) from None
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _first_copies(page: list[dict[str, Any]], path: tuple[str, ...], seen: set[Any]
                  ) -> list[dict[str, Any]]:
    """The entities of ``page`` whose key was not seen before (IN chunks may overlap)."""
    kept = []
    for entity in page:
        value = entity.get(path[0]) if len(path) == 1 else None
        if value is None or value not in seen:
            if value is not None:
                seen.add(value)
            kept.append(entity)
    return kept


#: Answers to a single-item GET that mean "no such item" (graph-semantics §3.1, §8.3): the
#: SQL answer then has no row for that key, as a scan of the collection would not.
_MISSING = frozenset({"ErrorItemNotFound", "ErrorInvalidIdMalformed"})


def missing(exc: Error) -> bool:
    """Graph's answer for an id that names no item (or is no id at all)."""
    return exc.status in (400, 404) and exc.code in _MISSING


def _tolerant(graph: Any, requests: Sequence[GraphRequest]
              ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Requests addressed by a folder/item id, one after the other: one whose id names nothing
    (``ErrorItemNotFound``/``ErrorInvalidIdMalformed`` on its first page) has no rows, where
    ``$batch`` would end the whole statement (``ParentFolderId IN ('Inbox', 'xyz')``)."""
    for index, request in enumerate(requests):
        pages = graph.pages(request)
        try:
            first = True
            while True:
                try:
                    page = next(pages)
                except StopIteration:
                    break
                except Error as exc:
                    if first and missing(exc):
                        break
                    raise
                first = False
                yield index, page
        finally:
            pages.close()


def _items(graph: Any, requests: Sequence[GraphRequest]
           ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Single-item GETs, in order, each as a page of zero or one entity.

    Several items go through a pool of ``max_concurrency`` threads calling ``send`` (Outlook
    allows 4 concurrent requests per mailbox); ``fan_out`` would end the whole statement on
    the first 404.
    """
    def get(request: GraphRequest) -> list[dict[str, Any]]:
        try:
            answer = graph.send(request)
        except Error as exc:
            if missing(exc):
                return []
            raise
        return [answer] if isinstance(answer, dict) else []

    if len(requests) == 1:
        yield 0, get(requests[0])
        return
    workers = max(1, min(int(getattr(graph, "max_concurrency", 4)), len(requests)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="o365sql-items")
    try:
        yield from enumerate(pool.map(get, requests))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def storage_rows(scan: Scan, fill: dict[str, Any], page: list[dict[str, Any]]
                 ) -> list[tuple[Any, ...]]:
    """Convert one Graph page into storage tuples (``DataError`` names the table and column)."""
    table = scan.table.name
    plan: list[tuple[int, Any, Any]] = []  # (kind, column, fill value)
    for column in scan.columns:
        key = column.name.lower()
        if column.pseudo or key in fill:
            plan.append((0, column, to_storage(fill.get(key, column.default_value),
                                               column.sql_type)))
        else:
            plan.append((1, column, None))
    rows: list[tuple[Any, ...]] = []
    for entity in page:
        rows.append(tuple(
            value if kind == 0 else to_storage(graph_value(entity, column, table), column.sql_type)
            for kind, column, value in plan))
    return rows


def python_rows(scan: Scan, fill: dict[str, Any], page: list[dict[str, Any]],
                positions: Sequence[int]) -> list[tuple[Any, ...]]:
    """Convert one Graph page straight into result tuples (the direct streaming path)."""
    table = scan.table.name
    picked = [scan.columns[i] for i in positions]
    rows: list[tuple[Any, ...]] = []
    for entity in page:
        rows.append(tuple(
            fill.get(c.name.lower(), c.default_value) if c.pseudo or c.name.lower() in fill
            else graph_value(entity, c, table) for c in picked))
    return rows


def count(scan: Scan, graph: Any) -> int:
    """``COUNT(*)`` answered by Graph's ``/$count`` segment."""
    request = requests_for(scan)[0]
    try:
        answer = graph.send(request)
    except Error as exc:
        if scan.missing_ok and missing(exc):
            return 0  # the folder/item named in the path does not exist: no rows to count
        raise with_table(exc, scan.table.name) from None
    try:
        return int(str(answer).strip().lstrip("\ufeff"))
    except ValueError:
        from ..exceptions import DataError

        raise DataError(f"{scan.table.name}: Graph answered /$count with {str(answer)[:40]!r}, "
                        "not a number") from None


def with_table(exc: Error, table: str) -> Error:
    """The same error (class and Graph facts) with the table named in the message."""
    if exc.message.startswith(f"reading {table}:"):
        return exc
    clone = type(exc)(f"reading {table}: {exc.message}", code=exc.code, status=exc.status,
                      request_id=exc.request_id, date=exc.date, **exc.extra)
    clone.__cause__ = exc
    return clone
