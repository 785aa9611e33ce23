"""Execution stage, ``EXPLAIN <select>``: the plan as rows instead of running it.

One row per step: the Graph requests each scan will send (``GraphRequest.line()`` plus its
headers), fan-outs, what Graph evaluates loosely and is re-checked, and the work left to the
local engine (filters, the per-page or full SQLite query, LIMIT handling).
"""

from __future__ import annotations

from typing import Any

from ..odata.query import render
from ..planning.plan import QueryPlan

#: Columns of EXPLAIN's result.
EXPLAIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Step", "INTEGER"), ("Kind", "VARCHAR"), ("Detail", "VARCHAR"))


def _headers(headers: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"  [{k}: {v}]" for k, v in headers)


def explain_rows(plan: QueryPlan) -> list[tuple[Any, ...]]:
    """Rows ``(Step, Kind, Detail)`` describing ``plan``."""
    rows: list[tuple[Any, ...]] = []

    def add(kind: str, detail: str) -> None:
        rows.append((len(rows) + 1, kind, detail))

    for scan in plan.scans:
        name = scan.table.name
        if scan.system:
            add("local", f"{name}: rows from the catalog")
            continue
        if scan.dependency is not None and scan.template_query is not None:
            source = next(s for s in plan.scans if s.index == scan.dependency.scan)
            request = render(scan.template_query.with_address(
                **{scan.dependency.slot: "{" + scan.dependency.slot + "}"}))
            add("fan-out", f"{name}: one request per distinct {source.table.name}."
                           f"{scan.dependency.column} ({scan.dependency.slot})")
            add("graph", request.line() + _headers(request.headers))
        else:
            requests = [render(q) for q in scan.queries]
            if len(requests) > 1:
                add("fan-out", f"{name}: {len(requests)} requests through $batch")
            for request in requests:
                add("graph", request.line() + _headers(request.headers))
        if scan.count:
            add("count", f"{name}: COUNT(*) answered by Graph's /$count")
        for pushed in scan.pushed:
            if "re-checked" in pushed:
                add("re-check", f"{name}: {pushed.replace('  (re-checked locally)', '')}")
        if scan.row_limit is not None:
            add("early stop", f"{name}: stop after {scan.row_limit} rows")
    for step in plan.steps:
        if step.startswith("re-check"):
            continue
        kind, _, detail = step.partition(": ")
        add("local", f"{kind}: {detail}" if detail else kind)
    return rows
