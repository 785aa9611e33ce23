"""Execution stage, sources: fetch one scan's rows from Graph (or the local ``sys_*`` tables).

Renders each scan's OData queries into ``GraphRequest``s, pages through them with the Graph
client (``pages`` for one request, ``fan_out`` for several mailboxes or IN chunks; single-item
GETs, where a missing item is no row, through ``fan_out(missing_ok=True)``, 20 per ``$batch``
POST), and converts every entity into a row of storage values (``conversion.py``),
pseudo-columns filled from the address the rows came from. Hands row batches (one per Graph
page) to the streaming or residual path.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from typing import Any

from ..catalog import Column
from ..conversion import page_rows, storage_values, to_storage
from ..exceptions import Error
from ..graph.errors import is_missing_item
from ..graph.request import GraphRequest
from ..odata.query import ODataQuery, render
from ..planning.plan import Scan
from . import parallel_scan
from .selected_only import Completer


def requests_for(scan: Scan, queries: Sequence[ODataQuery] | None = None) -> list[GraphRequest]:
    """The Graph requests of a scan (its own queries, or instantiated ones)."""
    return [render(q) for q in (queries if queries is not None else scan.queries)]


def fetch(scan: Scan, graph: Any, queries: Sequence[ODataQuery] | None = None,
          fills: Sequence[dict[str, Any]] | None = None
          ) -> Generator[tuple[dict[str, Any], list[dict[str, Any]]], None, None]:
    """Raw Graph pages of a scan as ``(fill, page)``: the pseudo-column values of the request
    the page answers, and its entities. Stopping the iteration stops the paging.

    A folder-tree scan (``scan.walk``) then reads the ``childFolders`` of every folder it
    got, level after level (each level's requests through ``$batch``), until no folder has
    children: Graph's ``/mailFolders`` and ``/contactFolders`` list one level only."""
    queries = list(queries if queries is not None else scan.queries)
    fills = list(fills if fills is not None else scan.fills)
    seen: set[str] = set()
    while queries:
        below: list[ODataQuery] = []
        below_fills: list[dict[str, Any]] = []
        for index, page in _fetch_level(scan, graph, queries, fills):
            fill = fills[index] if fills else {}
            yield fill, page
            if not scan.walk:
                continue
            for entity in page:
                folder = entity.get("id")
                if not isinstance(folder, str) or folder in seen or \
                        entity.get("childFolderCount") == 0:
                    continue  # childFolderCount, when selected, spares a request per leaf
                seen.add(folder)
                below.append(children_query(scan, queries[index], folder))
                below_fills.append(fill)
        queries, fills = below, below_fills


def children_query(scan: Scan, query: ODataQuery, folder: str) -> ODataQuery:
    """The request for the child folders of ``folder``, with ``query``'s mailbox, options and
    parameters: the table's ``.../{ParentFolderId}/childFolders`` endpoint beside the one
    ``query`` uses."""
    current = next(e for e in scan.table.endpoints if e.template == query.template)
    wanted = {r.lower() for r in current.requires} | {"parentfolderid"}
    child = next(e for e in scan.table.endpoints if e.template.endswith("/childFolders")
                 and {r.lower() for r in e.requires} == wanted)
    return replace(query, template=child.template).with_address(ParentFolderId=folder)


def _fetch_level(scan: Scan, graph: Any, queries: list[ODataQuery], fills: list[dict[str, Any]]
                 ) -> Generator[tuple[int, list[dict[str, Any]]], None, None]:
    """One round of requests (see :func:`fetch`)."""
    requests = requests_for(scan, queries)
    source: Iterator[tuple[int, list[dict[str, Any]]]]
    if scan.ranges and len(queries) == 1:
        # A long scan may be read as disjoint ranges at once (parallel_scan.py).
        source = parallel_scan.indexed_pages(scan, graph, queries[0])
    elif scan.items:
        source = _items(graph, requests)
    elif scan.missing_ok:
        source = _tolerant(graph, requests)
    elif len(requests) == 1:
        source = ((0, page) for page in graph.pages(requests[0]))
    else:
        source = graph.fan_out(requests)
    seen: set[Any] | None = set() if scan.dedupe else None
    key = scan.table.column(scan.table.key) if scan.dedupe else None
    checks = [address_checks(scan, q) for q in queries]
    completer = Completer(scan, graph)
    try:
        for index, page in source:
            if checks[index]:
                page = [e for e in page if all(
                    e.get(prop, value) == value for prop, value in checks[index])]
            if seen is not None and key is not None:
                page = _first_copies(page, key.path, seen)
            completer.complete(index, queries[index], page)
            yield index, page
    except Error as exc:
        raise with_table(exc, scan.table.name) from None
    finally:
        completer.close()
        close = getattr(source, "close", None)
        if close is not None:
            close()


def address_checks(scan: Scan, query: ODataQuery) -> list[tuple[str, str]]:
    """(property, value) pairs every entity a request answers must carry: the path values
    of address columns that are properties of the entity (``ParentFolderId`` is the
    message's ``parentFolderId``). Graph may resolve an id loosely (a trailing ``/``, another
    form of the id), so the rows are re-checked here: a request addressed at one folder never
    yields another folder's rows. A well-known folder name (``Inbox``) stands for an id only
    Graph knows, and the key of an item GET is compared by the residual query instead."""
    table = scan.table
    names = {n.lower() for n in table.well_known_folders}
    found: list[tuple[str, str]] = []
    for slot, value in query.address:
        column = table.column(slot)
        if column is None or column.pseudo or len(column.path) != 1 or \
                column.name.lower() == table.key.lower() or str(value).lower() in names:
            continue
        found.append((column.path[0], str(value)))
    return found


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


def missing(exc: Error) -> bool:
    """Graph's answer for an id that names no item (or is no id at all): 404
    ``ErrorItemNotFound``, 400 ``ErrorInvalidIdMalformed`` ... (graph-semantics §3.1, §8.3;
    the list is ``graph.errors.is_missing_item``'s, the one ``fan_out(missing_ok=True)`` uses).
    The SQL answer then has no row for that key, as a scan of the collection would not."""
    return is_missing_item(exc.status, exc.code)


def _tolerant(graph: Any, requests: Sequence[GraphRequest]
              ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Requests addressed by a folder id, one after the other: one whose id names nothing
    (``ErrorItemNotFound``/``ErrorInvalidIdMalformed`` on its first page) has no rows
    (``ParentFolderId IN ('Inbox', 'xyz')``). Only the first page may say so: a folder that
    vanishes while it is being paged is an error, not a silently shorter answer (which
    ``fan_out(missing_ok=True)`` would give, as it tolerates "no such item" on any page)."""
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
    """Single-item GETs, each as a page of zero or one entity, in the order of the requests.

    They go through ``fan_out(missing_ok=True)``: 20 per ``$batch`` POST, at most
    ``max_concurrency`` POSTs in flight, and a key Graph does not know ("no such item")
    yields an empty page instead of ending the statement. An item GET has no nextLink, so
    each request answers exactly one page; pages that arrive early wait in ``held`` (at most
    one small page per key of the statement) so rows keep the order of the keys.
    """
    answers = graph.fan_out(requests, missing_ok=True)
    held: dict[int, list[dict[str, Any]]] = {}
    due = 0
    try:
        for index, page in answers:
            if index < due:  # a later page of a lookup already handed on (not expected)
                yield index, page
                continue
            held[index] = held.get(index, []) + page
            while due in held:
                yield due, held.pop(due)
                due += 1
    finally:
        answers.close()


def storage_rows(scan: Scan, fill: dict[str, Any], page: list[dict[str, Any]]
                 ) -> list[tuple[Any, ...]]:
    """Convert one Graph page into storage tuples (``DataError`` names the table and column).

    A scan that reads no column (``SELECT 1 FROM Users``, ``COUNT(*)`` done locally) still
    has one row per entity: its storage table has one placeholder column (``residual.py``),
    so each row is ``(None,)``."""
    if not scan.columns:
        return [(None,)] * len(page)
    return page_rows(scan.columns, scan.table.name, page,
                     _fixed(scan.columns, fill, storage=True), storage_values)


def python_rows(scan: Scan, fill: dict[str, Any], page: list[dict[str, Any]],
                positions: Sequence[int]) -> list[tuple[Any, ...]]:
    """Convert one Graph page straight into result tuples (the direct streaming path)."""
    columns = [scan.columns[i] for i in positions]
    return page_rows(columns, scan.table.name, page, _fixed(columns, fill, storage=False))


def _fixed(columns: Sequence[Column], fill: dict[str, Any], *, storage: bool
           ) -> dict[str, Any]:
    """The values the request gives every row, by lower-case column name: pseudo-columns and
    the columns its address fixes (the fill, else the column's default), as stored or not."""
    fixed: dict[str, Any] = {}
    for column in columns:
        name = column.name.lower()
        if column.pseudo or name in fill:
            value = fill.get(name, column.default_value)
            fixed[name] = to_storage(value, column.sql_type) if storage else value
    return fixed


def count(scan: Scan, graph: Any) -> int:
    """``COUNT(*)`` answered by Graph's ``/$count`` segment or by the folder's own count."""
    request = requests_for(scan)[0]
    try:
        answer = graph.send(request)
    except Error as exc:
        if scan.missing_ok and missing(exc):
            return 0  # the folder/item named in the path does not exist: no rows to count
        raise with_table(exc, scan.table.name) from None
    if scan.count_property:
        # The folder's own count (planning/folder_counts.py): {"totalItemCount": n, ...}.
        answer = answer.get(scan.count_property) if isinstance(answer, dict) else None
        if isinstance(answer, int) and not isinstance(answer, bool):
            return answer
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
