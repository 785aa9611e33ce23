"""Execution stage, ``EXPLAIN <select>``: the plan as rows instead of running it.

One row per step: the Graph requests each scan will send (``GraphRequest.line()`` plus its
headers), fan-outs, what Graph evaluates loosely and is re-checked, and the work left to the
local engine (filters, the per-page or full SQLite query, LIMIT handling).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..graph.request import GraphRequest
from ..odata.query import ODataQuery, render
from ..planning.plan import QueryPlan
from . import selected_only

#: Columns of EXPLAIN's result.
EXPLAIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Step", "INTEGER"), ("Kind", "VARCHAR"), ("Detail", "VARCHAR"))


def _headers(headers: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"  [{k}: {v}]" for k, v in headers)


def template_line(query: ODataQuery, *slots: str) -> GraphRequest:
    """The request of a fan-out template with its slots shown as ``{Slot}``, not
    percent-encoded (``GET /users/{UserId}/messages/{MessageId}/attachments?...``)."""
    markers = {slot: "{" + slot + "}" for slot in slots}
    request = render(query.with_address(**markers))
    path = request.path
    for marker in markers.values():
        path = path.replace(quote(marker, safe=""), marker)
    return GraphRequest(method=request.method, path=path, params=request.params,
                        headers=request.headers)


def explain_rows(plan: QueryPlan, sources: dict[int, str] | None = None) -> list[tuple[Any, ...]]:
    """Rows ``(Step, Kind, Detail)`` describing ``plan``; ``sources`` names, per scan index,
    where each scan's rows come from when that is not Graph alone (the replica and its age)."""
    rows: list[tuple[Any, ...]] = []

    def add(kind: str, detail: str) -> None:
        rows.append((len(rows) + 1, kind, detail))

    for scan in plan.scans:
        name = scan.table.name
        if scan.system:
            add("local", f"{name}: rows from the catalog")
            continue
        if sources and scan.index in sources:
            add("source", sources[scan.index])
            if not sources[scan.index].startswith(f"{name}: live"):
                continue
        if scan.empty:
            add("empty", f"{name}: no request: the WHERE clause is false (an IN list bound to "
                         "an empty sequence?)")
            continue
        if scan.dependency is not None and scan.template_query is not None:
            slots = scan.dependency.slots
            add("fan-out", f"{name}: one request per {_source(plan, scan)} "
                           f"({', '.join(slots)})")
            for template in scan.templates or (scan.template_query,):
                request = template_line(template, *slots)
                add("graph", request.line() + _headers(request.headers))
        else:
            requests = [render(q) for q in scan.queries]
            if len(requests) > 1 and scan.items:
                add("fan-out", f"{name}: {len(requests)} lookups by key through $batch (20 per "
                               "POST; a key naming no item reads no row)")
            elif len(requests) > 1 and scan.missing_ok:
                add("fan-out", f"{name}: {len(requests)} requests, one after the other (an id "
                               "naming no folder or item reads no rows)")
            elif len(requests) > 1:
                add("fan-out", f"{name}: {len(requests)} requests through $batch")
            for request in requests:
                add("graph", request.line() + _headers(request.headers))
        select_only = selected_only.needed(scan)
        if select_only and any(not q.select and not q.count_segment for q in scan.queries):
            add("select-only", f"{name}: {', '.join(select_only)} come only when selected: "
                               "each page that lacks them is read again with $select of the "
                               "key and them (one more request per page)")
        if scan.count and scan.count_property:
            add("count", f"{name}: COUNT(*) answered by the folder's {scan.count_property}")
        elif scan.count:
            add("count", f"{name}: COUNT(*) answered by Graph's /$count")
        for note in scan.notes:
            add("note", f"{name}: {note}")
        if scan.folder_names:
            add("folders", f"{name}: resolve " + ", ".join(repr(n) for n in scan.folder_names)
                + " to folder ids per mailbox (GET .../mailFolders/{name}?$select=id)")
        for pushed in scan.pushed:
            if "re-checked" in pushed:
                add("re-check", f"{name}: {pushed.replace('  (re-checked locally)', '')}")
        if scan.top_n:
            add("top-n", f"{name}: {scan.top_n}")
        if scan.row_limit is not None:
            add("early stop", f"{name}: stop after {scan.row_limit} rows")
    for step in plan.steps:
        if step.startswith("re-check"):
            continue
        kind, _, detail = step.partition(": ")
        add("local", f"{kind}: {detail}" if detail else kind)
    if plan.max_rows is not None:
        add("max rows", f"MaxRows caps the result at {plan.max_rows} rows")
    return rows


def _source(plan: QueryPlan, scan: Any) -> str:
    """What a dependent scan fans out over: a joined table's column or a subquery."""
    dependency = scan.dependency
    if dependency.sql is not None:
        kind = "value of the scalar" if dependency.scalar else "distinct value of the"
        return f"{kind} subquery ({dependency.sql})"
    names = {s.index: s.table.name for s in plan.scans}
    sources: dict[int, list[str]] = {}
    for index, column, _ in dependency.bindings or ((dependency.scan, dependency.column, ""),):
        sources.setdefault(index, []).append(f"{names[index]}.{column}")
    parts = [columns[0] if len(columns) == 1 else "(" + ", ".join(columns) + ")"
             for columns in sources.values()]
    if len(parts) == 1:
        return f"distinct {parts[0]}"
    return "combination of distinct " + " and ".join(parts)
