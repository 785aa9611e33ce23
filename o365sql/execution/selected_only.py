"""Execution stage, sources: properties Graph returns only when ``$select``-ed.

Some properties come only when a request names them in ``$select`` (catalog ``select_only``:
event ``cancelledOccurrences``, message ``uniqueBody``/``internetMessageHeaders``,
graph-semantics §1.3/§3.1). When another column the query reads may not be selected on the
endpoint (calendarView ``createdDateTime``, catalog ``selectable``), the scan sends no
``$select`` and such properties are missing from the answer. A column's value must not depend
on which other columns a query names, so for a page missing a select-only property the scan
reads, this module sends the same request again with ``$select`` of the key and those
properties (same endpoint, window, filter and order, so it lists the same items) and copies the
values onto the page's entities by key (``graph/companion.py``). It costs one request per page
of the scan, and nothing when the scan reads no select-only column.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..graph.companion import Companion, missing
from ..odata.query import ODataQuery, render
from ..planning.plan import Scan


def needed(scan: Scan) -> tuple[str, ...]:
    """The select-only Graph properties the scan's columns read (each once)."""
    props: list[str] = []
    for column in scan.columns:
        if column.select and column.select_only and not column.pseudo and column.selectable \
                and column.select not in props:
            props.append(column.select)
    return tuple(props)


class Completer:
    """Fills missing select-only properties into the pages of one scan's queries."""

    def __init__(self, scan: Scan, graph: Any) -> None:
        self.graph = graph
        self.props = needed(scan)
        key = scan.table.column(scan.table.key) if scan.table.key else None
        self.key = key.select if key is not None and key.select else "id"
        self.companions: dict[int, Companion] = {}

    def complete(self, index: int, query: ODataQuery, page: list[dict[str, Any]]) -> None:
        """Copy the missing properties onto ``page`` (a page of ``query``, sent without
        ``$select``), reading the companion request only as far as the page needs."""
        if query.select or query.count_segment or not self.props or \
                not missing(self.props, page):
            return
        companion = self.companions.get(index)
        if companion is None:
            again = replace(query, select=(self.key, *self.props))
            companion = Companion(self.graph.pages(render(again)), self.key, self.props)
            self.companions[index] = companion
        companion.fill(page)

    def close(self) -> None:
        for companion in self.companions.values():
            companion.close()
