"""Execution stage, sources: properties Graph returns only when ``$select``-ed.

Some properties come only when a request names them in ``$select`` (event
``cancelledOccurrences``, message ``uniqueBody``/``internetMessageHeaders``, graph-semantics
§1.3/§3.1). When another column the query reads may not be selected on the endpoint (calendarView
``createdDateTime``, catalog ``selectable``), the scan sends no ``$select`` and such properties
are missing from the answer. A column's value must not depend on which other columns a query
names, so for a page missing a needed, selectable property this module sends the same request
again with ``$select`` of the key and the missing properties (same endpoint, window, filter and
order, so it lists the same items) and copies the values onto the page's entities by key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..odata.query import ODataQuery, render
from ..planning.plan import Scan


def needed(scan: Scan) -> tuple[str, ...]:
    """The selectable Graph properties the scan's columns read (each once)."""
    props: list[str] = []
    for column in scan.columns:
        if column.select and not column.pseudo and column.selectable and \
                column.select not in props:
            props.append(column.select)
    return tuple(props)


class Completer:
    """Fills missing selected-only properties into the pages of one scan's queries."""

    def __init__(self, scan: Scan, graph: Any) -> None:
        self.graph = graph
        self.props = needed(scan)
        key = scan.table.column(scan.table.key) if scan.table.key else None
        self.key = key.select if key is not None and key.select else "id"
        self.streams: dict[int, Iterator[list[dict[str, Any]]]] = {}
        self.found: dict[int, dict[Any, dict[str, Any]]] = {}

    def complete(self, index: int, query: ODataQuery, page: list[dict[str, Any]]) -> None:
        """Copy the missing properties onto ``page`` (a page of ``query``, sent without
        ``$select``), reading the companion request only as far as the page needs."""
        if query.select or query.count_segment or not self.props or not page:
            return
        missing = tuple(p for p in self.props if any(p not in e for e in page))
        if not missing:
            return
        if index not in self.streams:
            companion = replace(query, select=(self.key, *self.props))
            self.streams[index] = self.graph.pages(render(companion))
            self.found[index] = {}
        found, stream = self.found[index], self.streams[index]
        for entity in page:
            ident = entity.get(self.key)
            while ident not in found:
                batch = next(stream, None)
                if batch is None:
                    break
                for other in batch:
                    found[other.get(self.key)] = other
            known = found.get(ident)
            if known is not None:
                for prop in missing:
                    if prop not in entity and prop in known:
                        entity[prop] = known[prop]

    def close(self) -> None:
        for stream in self.streams.values():
            close = getattr(stream, "close", None)
            if close is not None:
                close()
