"""Execution stage, sources: fetch one scan's rows from Graph (or the local ``sys_*`` tables).

Renders each scan's OData queries into ``GraphRequest``s, pages through them with the Graph
client (``pages`` for one request, ``fan_out`` for several mailboxes), and converts every entity
into a row of storage values (``conversion.py``), pseudo-columns filled from the address the
rows came from. Hands row batches (one per Graph page) to the streaming or residual path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    try:
        if len(requests) == 1:
            for page in graph.pages(requests[0]):
                yield (fills[0] if fills else {}), page
        else:
            for index, page in graph.fan_out(requests):
                yield (fills[index] if fills else {}), page
    except Error as exc:
        raise with_table(exc, scan.table.name) from None


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
