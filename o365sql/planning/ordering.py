"""Plan stage, one-table queries: ORDER BY, LIMIT/OFFSET and COUNT(*) pushdown, and streaming.

For a plain SELECT over one table reference it decides what Graph may do beyond filtering:
``/$count`` for ``COUNT(*)``, ``$orderby`` when Graph's order is provably SQLite's (with the
messages InefficientFilter rule applied), ``$top``/early stop for ``LIMIT``, and whether rows
can stream page by page (nothing needs all rows) or even pass straight through conversion
(``direct_columns``). Mutates the :class:`~o365sql.planning.plan.QueryPlan` it is handed.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from ..catalog import Column, Table
from ..conversion import parse_datetime
from ..exceptions import ProgrammingError
from ..odata.filter import Compare, FilterNode, Junction
from ..odata.query import ODataQuery
from .folder_counts import folder_count_query
from .plan import QueryPlan, Scan
from .pushdown import column_of, literal_value
from .resolve import TableRef
from .scan_plan import advanced_query, sql_text

_EPOCH = parse_datetime("1900-01-01T00:00:00Z")


def single_scan_select(tree: exp.Expr, refs: list[TableRef]) -> exp.Select | None:
    """The query when it is one plain SELECT over one table reference."""
    if len(refs) != 1 or not isinstance(tree, exp.Select):
        return None
    if tree.args.get("with") or tree.args.get("with_") or tree.args.get("joins"):
        return None
    from_ = tree.args.get("from_") or tree.args.get("from")
    if from_ is None or from_.this is not refs[0].node:
        return None
    if any(isinstance(n, (exp.Subquery, exp.Window)) or (isinstance(n, exp.Select) and n is not tree)
           for n in tree.walk()):
        return None
    return tree


def is_aggregate(tree: exp.Expr) -> bool:
    """True when the outermost SELECT aggregates (GROUP BY, HAVING or an aggregate function
    outside subqueries and window functions): CData's MaxRows does not cap such results."""
    if not isinstance(tree, exp.Select):
        return False
    if tree.args.get("group") or tree.args.get("having"):
        return True
    for projection in tree.expressions:
        for node in projection.find_all(exp.AggFunc):
            if node.find_ancestor(exp.Select, exp.Window) is tree:
                return True
    return False


def plan_single(plan: QueryPlan, tree: exp.Select, columns: dict[int, Column], *,
                pushdown: bool, max_rows: int | None = None) -> None:
    """ORDER BY / LIMIT / COUNT(*) pushdown and the streaming decision for one-table queries.

    ``max_rows`` (the MaxRows property) caps a non-aggregate result like an outer LIMIT.
    """
    scan = plan.scans[0]
    table = scan.table
    aggregate = bool(tree.args.get("group") or tree.args.get("having") or tree.args.get(
        "distinct") or any(tree.find_all(exp.AggFunc)))
    # Several requests (mailboxes, IN chunks) or single-item GETs: nothing more per request.
    fan_out = len(scan.queries) != 1 or scan.items
    query = scan.queries[0] if scan.queries else None
    if query is None:
        return
    reason = _count_blocker(scan, query, tree, fan_out) if pushdown and is_count_star(
        tree) else None
    if reason:
        scan.notes.append(f"COUNT(*) counted locally: {reason}")
    if pushdown and is_count_star(tree) and reason is None:
        headers = query.headers
        if table.count_needs_eventual:
            headers = tuple(h for h in headers if h[0] != "ConsistencyLevel") + (
                ("ConsistencyLevel", "eventual"),)
        scan.queries = (replace(query, count_segment=True, count=False, top=None, select=(),
                                headers=headers),)
        scan.count = True
        from_folder = folder_count_query(query)
        if from_folder is not None:
            scan.queries, scan.count_property = (from_folder[0],), from_folder[1]
        return
    if aggregate:
        return
    order = tree.args.get("order")
    ordered_ok = True
    orderby: list[tuple[str, bool]] = []
    if order is not None:
        ordered_ok = False
        if pushdown and not fan_out and (query.search is None or
                                         table.search_combines_with_orderby):
            orderby = pushable_order(order, tree, scan, columns) or []
            ordered_ok = bool(orderby)
    if order is not None and ordered_ok:
        ordered = order_query(query, table, orderby)
        if ordered is None:
            ordered_ok = False
        else:
            query = ordered
    if order is not None and not ordered_ok:
        return  # local sort: needs every row
    limit, offset = limit_offset(tree)
    if max_rows is not None:
        limit = max_rows if limit is None else min(limit, max_rows)
    plan.streaming = True
    plan.offset = offset or 0
    plan.limit = limit
    if fan_out:
        return  # several requests stream one after the other; nothing to push per request
    if limit is not None and scan.exact and pushdown:
        wanted = limit + plan.offset
        scan.row_limit = wanted
        if table.supports_top and query.top is not None:
            query = replace(query, top=max(1, min(wanted, query.top)))
    scan.queries = (query,)
    plan.direct_columns = _direct_columns(tree, scan) if scan.exact else ()


def order_query(query: ODataQuery, table: Table, orderby: list[tuple[str, bool]]
                ) -> ODataQuery | None:
    """``query`` sorted by ``orderby`` with what Graph's rules for ``$orderby`` need, or None
    when Graph cannot sort this query (a ``$search`` or a ``$filter`` it will not combine)."""
    if query.search is not None and not table.search_combines_with_orderby:
        return None
    filter_node = query.filter
    if filter_node is not None and table.orderby_must_lead_filter:
        filter_node = _lead_with_order(filter_node, [p for p, _ in orderby])
    query = replace(query, orderby=tuple(orderby), filter=filter_node)
    if filter_node is not None and table.filter_orderby_needs_eventual:
        return advanced_query(query)  # directory: $filter with $orderby is advanced
    if filter_node is not None and not table.orderby_with_filter:
        return None
    return query


def _count_blocker(scan: Scan, query: ODataQuery, tree: exp.Select, fan_out: bool) -> str | None:
    """Why ``COUNT(*)`` cannot be Graph's ``/$count`` (None: it can), for EXPLAIN."""
    if not scan.table.supports_count:
        return "Graph documents no $count for this table"
    if fan_out:
        return "several requests (mailboxes, IN chunks or single items) answer it"
    if query.search is not None:
        return "$search results are not counted by Graph"
    if tree.args.get("order") or _has_limit(tree):
        return "ORDER BY/LIMIT/OFFSET apply to the count row"
    if not scan.exact:
        return "some WHERE conditions are evaluated locally"
    if query.filter is not None and not scan.endpoint_count_with_filter:
        return ("Graph's count with $filter is unreliable on whole-mailbox message lists "
                "(https://learn.microsoft.com/graph/api/user-list-messages); bind ParentFolderId for a folder count")
    return None


def _lead_with_order(filter_node: FilterNode, keys: list[str]) -> FilterNode:
    """Messages: every $orderby property must lead $filter, in order (else InefficientFilter,
    https://learn.microsoft.com/graph/api/user-list-messages). Move an existing comparison on
    the key to the front, or add the always-true ``key ge 1900-01-01T00:00:00Z``."""
    rest = list(filter_node.parts) if isinstance(filter_node, Junction) and \
        filter_node.op == "and" else [filter_node]
    lead: list[FilterNode] = []
    for key in keys:
        existing = next((p for p in rest if isinstance(p, Compare) and p.path == key), None)
        if existing is not None:
            rest.remove(existing)
            lead.append(existing)
        else:
            lead.append(Compare(key, "ge", _EPOCH, "Edm.DateTimeOffset"))
    return Junction("and", tuple(lead + rest))


def is_count_star(tree: exp.Select) -> bool:
    if len(tree.expressions) != 1 or tree.args.get("group") or tree.args.get("distinct"):
        return False
    node = tree.expressions[0]
    node = node.this if isinstance(node, exp.Alias) else node
    return isinstance(node, exp.Count) and isinstance(node.this, exp.Star) and not node.args.get(
        "distinct")


def _has_limit(tree: exp.Select) -> bool:
    return tree.args.get("limit") is not None or tree.args.get("offset") is not None


#: Largest LIMIT/OFFSET the local engine takes (SQLite's 64-bit signed integer).
MAX_COUNT = 2**63 - 1


def check_limits(tree: exp.Expr) -> None:
    """Every LIMIT/TOP/OFFSET of the statement (subqueries too) is a non-negative integer;
    values past ``MAX_COUNT`` become ``MAX_COUNT``, which answers the same.

    SQL requires it; SQLite reads a negative LIMIT as "no limit" and a negative OFFSET as 0,
    so ``LIMIT -1`` would silently return every row.

    Raises:
        ProgrammingError: naming the clause and the value.
    """
    for node in tree.find_all(exp.Limit, exp.Offset, exp.Fetch):
        value = node.args.get("count") if isinstance(node, exp.Fetch) else node.expression
        if value is None:
            continue
        clause = "OFFSET" if isinstance(node, exp.Offset) else "LIMIT"
        ok, number = literal_value(value)
        if ok and isinstance(number, int) and not isinstance(number, bool) and number >= 0:
            if number > MAX_COUNT:
                # No table holds 2**63 rows: a larger LIMIT is no limit and a larger OFFSET
                # skips every row, as MAX_COUNT does; SQLite (and islice) take no more.
                value.replace(exp.Literal.number(MAX_COUNT))
            continue
        raise ProgrammingError(
            f"{clause} must be a non-negative integer (a literal or a parameter), not "
            f"{sql_text(value)}")


def limit_offset(tree: exp.Select) -> tuple[int | None, int | None]:
    """LIMIT and OFFSET as integers (``TOP n`` arrives as LIMIT: parse.py)."""
    def number(node: exp.Expr | None) -> int | None:
        if node is None:
            return None
        value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
        ok, number_ = literal_value(value)
        if not ok or isinstance(number_, bool) or not isinstance(number_, int):
            raise ProgrammingError(
                f"LIMIT, TOP and OFFSET take integer literals, not {sql_text(value)}")
        return max(number_, 0) if number_ >= 0 else None

    return number(tree.args.get("limit")), number(tree.args.get("offset"))


def pushable_order(order: exp.Order, tree: exp.Select, scan: Scan,
                    columns: dict[int, Column]) -> list[tuple[str, bool]] | None:
    """``$orderby`` keys when Graph's order is provably SQLite's, else None.

    Only datetime and number columns the catalog marks non-nullable qualify (Graph's string
    collation and NULL placement are not SQLite's); the server-set stamps of Outlook items
    (``ReceivedDateTime`` ...) are non-nullable there (tools/schema_specs.py).
    """
    aliases = {p.alias: p.this for p in tree.expressions if isinstance(p, exp.Alias)}
    keys: list[tuple[str, bool]] = []
    for ordered in order.expressions:
        node = ordered.this
        if isinstance(node, exp.Column) and not node.table and node.name in aliases:
            node = aliases[node.name]
        column = column_of(node, scan.alias, columns)
        if column is None or not column.orderable or column.pseudo or column.nullable:
            return None
        if column.sql_type not in ("DATETIME", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL") or \
                column.edm_type == "Edm.String":
            return None
        if column.sql_type != "DATETIME" and scan.table.orderby_must_lead_filter:
            return None  # the InefficientFilter fix needs a lower bound we only know for dates
        keys.append(("/".join(column.path), bool(ordered.args.get("desc"))))
    return keys


def _direct_columns(tree: exp.Select, scan: Scan) -> tuple[int, ...]:
    """Stored-column positions of the projection when it is plain columns only."""
    positions: list[int] = []
    names = [c.name.lower() for c in scan.columns]
    for projection in tree.expressions:
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if not isinstance(node, exp.Column) or node.table != scan.alias or \
                node.name.lower() not in names:
            return ()
        positions.append(names.index(node.name.lower()))
    return tuple(positions)
