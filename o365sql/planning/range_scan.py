"""Plan stage, parallel ranges: which scans execution may read as disjoint ranges at once.

A scan that reads every row of one collection through one request can be split on its
table's ``range_key`` (``Messages``: ``receivedDateTime``, never null and never changed) into
disjoint ranges read concurrently (``execution/parallel_scan.py``), since Outlook serves 4
concurrent requests per mailbox (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).
Whether it pays off is decided at run time from Graph's count; here only whether the split
can give exactly the rows (and the order) the one request gives:

* one request, with nothing that stops it early (a LIMIT while streaming, MaxRows, a top-N
  per request) and nothing Graph would answer differently per range (``$search``, a count);
* no ``$orderby``, or one whose first key is the range key (the ranges are then read in
  order: ``ORDER BY ReceivedDateTime DESC``);
* the table allows ``$skip`` and ``$count`` (used to balance the ranges), and the key takes
  ``ge``/``lt`` in ``$filter`` and ``$orderby``;
* pushdown on: ``Pushdown=false`` sends the plain request and nothing else.
"""

from __future__ import annotations

from .plan import QueryPlan, Scan

#: Workers a split scan uses at most: Outlook's concurrent requests per mailbox.
MAX_RANGES_AT_ONCE = 4


def mark_ranges(plan: QueryPlan, *, pushdown: bool) -> None:
    """Set ``Scan.ranges`` (and an EXPLAIN note) on every scan of ``plan`` that may split."""
    if not pushdown:
        return
    limited = plan.streaming and plan.limit is not None
    for scan in plan.scans:
        key = range_key(scan, limited=limited)
        if key:
            scan.ranges = key
            order = "in order, " if scan.queries[0].orderby else ""
            scan.notes.append(
                f"parallel ranges: when Graph's $count shows at least a few pages beyond the "
                f"first and Graph answers slower than the rows are read, the rest is read as "
                f"up to {MAX_RANGES_AT_ONCE} disjoint {key} ranges at once ({order}balanced "
                f"by $skip probes; MaxConcurrency caps it)")


def range_key(scan: Scan, *, limited: bool) -> str:
    """The property ``scan`` may be split on, or "" (see the module docstring)."""
    table = scan.table
    key = table.range_key
    if not key or limited or len(scan.queries) != 1 or scan.system or scan.empty or \
            scan.items or scan.count or scan.walk or scan.dedupe or scan.top_n or \
            scan.row_limit is not None or scan.dependency is not None:
        return ""
    if not (table.supports_skip and table.supports_count):
        return ""
    column = next((c for c in table.columns if c.path == (key,)), None)
    if column is None or column.nullable or not column.orderable or \
            not {"ge", "lt"} <= set(column.filter_ops):
        return ""
    query = scan.queries[0]
    if query.search is not None or query.count or query.count_segment or \
            query.limit is not None:
        return ""
    if query.orderby and query.orderby[0][0] != key:
        return ""
    return key
