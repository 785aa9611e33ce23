"""Plan stage: turn a resolved query into scans (what to ask Graph) and residual SQL.

For each table reference it chooses the endpoint from the address conjuncts, pushes what Graph
evaluates (``pushdown.py``), and decides ``$orderby``/``$top``/``$count`` only where the result
provably stays the SQL result. Everything else stays in the residual SQLite query, which always
re-applies the WHERE clause, so pushdown only narrows what is fetched (DESIGN §3.1). Hands a
:class:`~o365sql.planning.plan.QueryPlan` to execution.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from sqlglot import exp

from ..catalog import Column, Table
from ..conversion import normalise_datetime_text, odata_literal, parse_datetime
from ..exceptions import ProgrammingError
from ..odata.filter import Compare, FilterNode, InList, Junction, render_filter
from ..odata.query import ODataQuery, search_expression
from .parse import DIALECT
from .plan import Dependency, OutputColumn, QueryPlan, Scan
from .pushdown import Pushed, classify, column_of, conjuncts, literal_value
from .resolve import Resolved, TableRef
from .types import output_types

SEARCH_COLUMN = "searchterms"

#: Sort keys Exchange stamps on every item (a message is received/created/modified when it
#: exists), so Graph's order of them has no NULLs to place differently from SQLite.
_ALWAYS_SET = {("microsoft.graph.message", "receivedDateTime"),
               ("microsoft.graph.message", "createdDateTime"),
               ("microsoft.graph.message", "lastModifiedDateTime")}
_EPOCH = parse_datetime("1900-01-01T00:00:00Z")


@dataclass
class _Candidate:
    """A conjunct that may be pushed into one scan, and where it sits in the tree."""

    node: exp.Expr
    removable: bool  # an address conjunct may be replaced by TRUE in the residual query


@dataclass
class _ScanDraft:
    ref: TableRef
    candidates: list[_Candidate] = field(default_factory=list)
    addresses: dict[str, list[Any]] = field(default_factory=dict)  # slot lower -> values
    dependency: tuple[TableRef, Column, str] | None = None
    search: str | None = None
    pushed: list[Pushed] = field(default_factory=list)
    local: list[exp.Expr] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # id() of conjuncts consumed as address/search


def build_plan(resolved: Resolved, *, pushdown: bool = True, pagesize: int | None = None
               ) -> QueryPlan:
    """Plan a resolved SELECT.

    Args:
        resolved: the qualified query (mutated: address conjuncts become TRUE, tables renamed).
        pushdown: False fetches everything and does all work locally (only endpoint addressing,
            ``$select`` and ``$search``, which define what the rows are, still go to Graph).
        pagesize: the ``PageSize`` connection property, or None for each table's maximum.
    """
    tree = resolved.tree
    columns = resolved.column_nodes
    _normalise_datetime_literals(tree, columns)
    refs = resolved.refs
    index_of = {id(ref): i for i, ref in enumerate(refs)}
    drafts = [_ScanDraft(ref=ref) for ref in refs]
    for draft in drafts:
        _collect_candidates(draft, columns)
        _extract_addresses(draft, columns, refs)
    single = _single_scan_select(tree, refs)
    scans: list[Scan] = []
    for i, draft in enumerate(drafts):
        scans.append(_plan_scan(i, draft, columns, pushdown=pushdown, pagesize=pagesize,
                                index_of=index_of))
    plan = QueryPlan(scans=scans, sql="", output=[])
    if single is not None and not scans[0].system and scans[0].dependency is None:
        _plan_single(plan, drafts[0], tree, columns, pushdown=pushdown)
    _rename_tables(tree, refs, scans)
    if plan.streaming:
        page = tree.copy()
        for key in ("order", "limit", "offset"):
            page.set(key, None)
        plan.page_sql = page.sql(dialect=DIALECT)
    plan.output = [
        OutputColumn(name, "DATETIME" if kind == "DATETIME_NAIVE" else kind, True, kind)
        for name, kind in zip(resolved.output_names, output_types(tree, refs))]
    plan.sql = tree.sql(dialect=DIALECT)
    plan.steps = _describe_local(tree, scans, plan)
    _order_scans(plan)
    return plan


# --------------------------------------------------------------------------- candidates

def _collect_candidates(draft: _ScanDraft, columns: dict[int, Column]) -> None:
    """Conjuncts that may narrow this scan without changing the query's answer."""
    ref = draft.ref
    select = ref.scope.expression
    if not isinstance(select, exp.Select):
        return
    from_ = select.args.get("from_") or select.args.get("from")
    joins = select.args.get("joins") or []
    in_from = from_ is not None and from_.this is ref.node
    own_join = next((j for j in joins if j.this is ref.node), None)
    has_outer = any(j.side in ("LEFT", "RIGHT", "FULL") or j.kind == "FULL" for j in joins)
    where = select.args.get("where")
    where_ok = False
    if in_from:
        # The FROM table is preserved by LEFT joins, not by RIGHT/FULL ones.
        where_ok = not any(j.side in ("RIGHT", "FULL") or j.kind == "FULL" for j in joins)
    elif own_join is not None and not own_join.side:
        where_ok = not has_outer
    if where_ok and where is not None:
        for node in conjuncts(where.this):
            if _only_this_ref(node, ref) or _join_equality(node, ref):
                draft.candidates.append(_Candidate(node, removable=True))
    if own_join is not None and own_join.side in ("", "LEFT", None) and own_join.kind != "FULL":
        on = own_join.args.get("on")
        for node in conjuncts(on):
            if _only_this_ref(node, ref) or _join_equality(node, ref):
                draft.candidates.append(_Candidate(node, removable=True))


def _only_this_ref(node: exp.Expr, ref: TableRef) -> bool:
    if node.find(exp.Subquery, exp.Select, exp.Window, exp.AggFunc):
        return False
    cols = list(node.find_all(exp.Column))
    return bool(cols) and all(c.table == ref.alias for c in cols)


def _join_equality(node: exp.Expr, ref: TableRef) -> bool:
    return isinstance(node, exp.EQ) and all(
        isinstance(side, exp.Column) for side in (node.this, node.expression)) and any(
        side.table == ref.alias for side in (node.this, node.expression))


# --------------------------------------------------------------------------- addresses

def _slots(table: Table) -> set[str]:
    """Lower-case names of the columns that can address an endpoint."""
    names = {name.lower() for endpoint in table.endpoints for name in endpoint.requires}
    names |= {column.lower() for endpoint in table.endpoints for _, column in endpoint.params}
    names |= {c.name.lower() for c in table.columns if c.addresses_endpoint}
    return names


def _extract_addresses(draft: _ScanDraft, columns: dict[int, Column],
                       refs: list[TableRef]) -> None:
    """Find ``slot = literal``, ``slot IN (...)``, window bounds, joins and SearchTerms."""
    ref = draft.ref
    table = ref.table
    slots = _slots(table)
    window = tuple(w.lower() for w in table.window) if table.window else ()
    for candidate in draft.candidates:
        node = candidate.node
        if isinstance(node, exp.EQ):
            col = column_of(node.this, ref.alias, columns)
            other = node.expression
            if col is None:
                col, other = column_of(node.expression, ref.alias, columns), node.this
            if col is None:
                continue
            name = col.name.lower()
            ok, value = literal_value(other)
            if name == SEARCH_COLUMN and table.search and ok and isinstance(value, str):
                if draft.search is None:
                    draft.search = value
                    draft.used.add(id(node))
            elif name in slots and ok and value is not None and value != "":
                # (an empty id names nothing: compared locally, it matches no row)
                if name not in draft.addresses:
                    draft.addresses[name] = [value]
                    draft.used.add(id(node))
            elif name in slots and isinstance(other, exp.Column) and other.table != ref.alias:
                other_ref = next((r for r in refs if r.alias == other.table and
                                  r.scope is ref.scope), None)
                other_col = columns.get(id(other))
                if other_ref is not None and other_col is not None and draft.dependency is None:
                    draft.dependency = (other_ref, other_col, col.name)
        elif isinstance(node, exp.In) and not node.args.get("query"):
            col = column_of(node.this, ref.alias, columns)
            if col is None or col.name.lower() not in slots or col.name.lower() in draft.addresses:
                continue
            values = []
            for item in node.expressions:
                ok, value = literal_value(item)
                if not ok or value is None or value == "":
                    break
                values.append(value)
            else:
                if values:
                    draft.addresses[col.name.lower()] = list(dict.fromkeys(values))
                    draft.used.add(id(node))
        elif window and type(node) in (exp.GT, exp.GTE, exp.LT, exp.LTE):
            _window_bound(draft, node, columns, window)


def _window_bound(draft: _ScanDraft, node: exp.Expr, columns: dict[int, Column],
                  window: tuple[str, ...]) -> None:
    """``StartDateTime >= x`` / ``EndDateTime <= y`` give the calendarView window."""
    ref = draft.ref
    col = column_of(node.this, ref.alias, columns)
    op = type(node)
    other = node.expression
    if col is None:
        col, other = column_of(node.expression, ref.alias, columns), node.this
        op = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}[op]
    ok, value = literal_value(other)
    if col is None or not ok or value is None:
        return
    name = col.name.lower()
    if name in draft.addresses:
        return
    if (name == window[0] and op in (exp.GT, exp.GTE)) or (
            name == window[1] and op in (exp.LT, exp.LTE)):
        draft.addresses[name] = [value]
        draft.used.add(id(node))


# --------------------------------------------------------------------------- one scan

def _is_default(column: Column | None, value: Any) -> bool:
    """``UserId = 'me'`` means the signed-in user: the unbound default (catalog.py)."""
    return column is not None and column.default_value is not None and isinstance(
        value, str) and value.lower() == str(column.default_value).lower()


def _plan_scan(index: int, draft: _ScanDraft, columns: dict[int, Column], *, pushdown: bool,
               pagesize: int | None, index_of: dict[int, int]) -> Scan:
    ref = draft.ref
    table = ref.table
    stored = tuple(ref.columns.values())
    scan = Scan(index=index, table=table, alias=ref.alias, columns=stored)
    if ref.is_system:
        scan.local = [_sql(c.node) for c in draft.candidates]
        return scan
    by_name = {c.name.lower(): c for c in table.columns}
    dependency_slot = draft.dependency[2].lower() if draft.dependency is not None else None
    if dependency_slot in draft.addresses:
        dependency_slot = None
    slot_names = list(draft.addresses)
    combos = list(itertools.product(*[draft.addresses[s] for s in slot_names])) or [()]
    routes: list[tuple[Any, dict[str, Any]]] = []
    for combo in combos:
        bound = {s: v for s, v in zip(slot_names, combo) if not _is_default(by_name.get(s), v)}
        endpoint = _choose_endpoint(table, set(bound) | ({dependency_slot} - {None}))
        routes.append((endpoint, dict(zip(slot_names, combo))))
    used_slots: set[str] = set()
    for endpoint, values in routes:
        required = {r.lower() for r in endpoint.requires} | {
            c.lower() for _, c in endpoint.params}
        used_slots |= {s for s in values if s in required or _is_default(by_name.get(s), values[s])}
    if dependency_slot is not None and all(
            dependency_slot in {r.lower() for r in e.requires} for e, _ in routes):
        other_ref, other_col, slot = draft.dependency  # type: ignore[misc]
        scan.dependency = Dependency(scan=index_of[id(other_ref)], column=other_col.name,
                                     slot=slot)
    elif dependency_slot is not None:
        dependency_slot = None
        routes = [(_choose_endpoint(table, set()), values) for _, values in routes]
    if len(routes) > 1 and any(len(draft.addresses[s]) > 1 for s in slot_names
                               if s not in used_slots):
        raise ProgrammingError(f"{table.name}: IN on a column that does not address the endpoint")
    consumed: set[int] = set()
    for candidate in draft.candidates:
        if id(candidate.node) not in draft.used:
            continue
        names = {c.name.lower() for c in candidate.node.find_all(exp.Column)
                 if c.table == ref.alias}
        if names & (used_slots | {SEARCH_COLUMN}):
            # Satisfied by construction (the rows come from that mailbox/folder/window).
            consumed.add(id(candidate.node))
            candidate.node.replace(exp.true())
    filters: list[Pushed] = []
    local: list[exp.Expr] = []
    pushed_nodes: list[exp.Expr] = []
    search = search_expression(draft.search) if draft.search is not None else None
    for candidate in draft.candidates:
        node = candidate.node
        if id(node) in consumed:
            continue
        if _join_equality(node, ref) and not _only_this_ref(node, ref):
            continue  # a join condition, evaluated by the residual join
        pushed = classify(node, ref.alias, columns, table) if pushdown else None
        if pushed is None:
            local.append(node)
        else:
            filters.append(pushed)
            pushed_nodes.append(node)
    if search is not None and not table.search_combines_with_filter and filters:
        # Graph refuses $filter with $search on messages (SearchWithFilter): check locally.
        local.extend(pushed_nodes)
        filters = []
    filters, dropped = _within_depth(filters, table.max_filter_depth)
    local.extend(pushed_nodes[i] for i in dropped)
    filter_node = _and([p.node for p in filters])
    advanced = table.advanced_needs_eventual and (
        search is not None or any(p.advanced for p in filters))
    top = None
    if table.supports_top:
        top = min(pagesize, table.max_page_size) if pagesize else table.max_page_size
    select = _select_list(table, stored)
    base = ODataQuery(template="", select=select, filter=filter_node, search=search, top=top)
    if advanced:
        base = _advanced(base)
    scan.exact = not local and all(p.exact for p in filters)
    scan.pushed = [render_filter(p.node) + ("" if p.exact else "  (re-checked locally)")
                   for p in filters]
    scan.local = [_sql(n) for n in local]
    pseudo = {c.name.lower(): c for c in table.columns if c.pseudo}
    queries: list[ODataQuery] = []
    fills: list[dict[str, Any]] = []
    for endpoint, values in routes:
        address = {_slot_name(endpoint.requires, s): _address_text(v)
                   for s, v in values.items() if s in {r.lower() for r in endpoint.requires}}
        params = tuple((param, _param_text(by_name.get(column.lower()), values[column.lower()]))
                       for param, column in endpoint.params if column.lower() in values)
        queries.append(replace(base, template=endpoint.template, address=tuple(address.items()),
                               params=params))
        fill = {n: c.default_value for n, c in pseudo.items()}
        for slot, value in values.items():
            if slot in pseudo:
                fill[slot] = _fill_value(pseudo[slot], value)
        if search is not None:
            fill[SEARCH_COLUMN] = draft.search
        fills.append(fill)
    if scan.dependency is not None:
        scan.template_query = queries[0]
        scan.fills = (fills[0],)
        return scan
    scan.queries = tuple(queries)
    scan.fills = tuple(fills)
    scan.endpoint_count_with_filter = all(e.count_with_filter for e, _ in routes)
    return scan


def _address_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param_text(column: Column | None, value: Any) -> str:
    """An endpoint query parameter (``startDateTime=2026-11-01T00:00:00Z``)."""
    if column is not None and column.sql_type == "DATETIME":
        try:
            return odata_literal(parse_datetime(str(value)), "Edm.DateTimeOffset")
        except ValueError:
            raise ProgrammingError(
                f"{column.name} must be an ISO 8601 datetime, not {value!r}") from None
    return _address_text(value)


def _fill_value(column: Column, value: Any) -> Any:
    if column.sql_type == "DATETIME" and isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            return value
    if column.sql_type == "BOOLEAN" and isinstance(value, int):
        return bool(value)
    return value


def _within_depth(filters: list[Pushed], depth: int | None) -> tuple[list[Pushed], list[int]]:
    """Keep the ``$filter`` tree within Graph's height limit (directory: 3, counting the
    comparisons and an ``in`` list's values as levels, graph-semantics §2.2) by leaving the
    deepest conjuncts to the local engine."""
    if depth is None:
        return filters, []
    kept = list(enumerate(filters))
    while kept and _height(_and([p.node for _, p in kept])) > depth:  # type: ignore[arg-type]
        deepest = max(kept, key=lambda item: _height(item[1].node))
        kept.remove(deepest)
    kept_ids = {i for i, _ in kept}
    return [p for _, p in kept], [i for i in range(len(filters)) if i not in kept_ids]


def _height(node: FilterNode) -> int:
    if isinstance(node, Junction):
        return 1 + max(_height(p) for p in node.parts)
    return 2 if isinstance(node, InList) else 1


def _slot_name(requires: tuple[str, ...], lowered: str) -> str:
    return next((r for r in requires if r.lower() == lowered), lowered)


def _choose_endpoint(table: Table, bound: set[str]) -> Any:
    """The first endpoint (most specific first) whose required columns are all bound."""
    for endpoint in table.endpoints:
        if {r.lower() for r in endpoint.requires} <= bound:
            return endpoint
    needed = " or ".join(
        " and ".join(f"{r} = '...'" for r in e.requires) for e in table.endpoints)
    if table.window:
        raise ProgrammingError(
            f"{table.name} needs a time window: add WHERE {table.window[0]} >= '<start>' AND "
            f"{table.window[1]} <= '<end>' (Graph requires startDateTime and endDateTime, "
            "https://learn.microsoft.com/graph/api/user-list-calendarview)")
    raise ProgrammingError(f"{table.name} needs WHERE {needed} to choose a Graph endpoint")


def _select_list(table: Table, stored: tuple[Column, ...]) -> tuple[str, ...]:
    """``$select``: the referenced columns' properties plus the key; none at all when a needed
    column may not be selected on this endpoint (calendarView createdDateTime, catalog.py)."""
    if any(not getattr(c, "selectable", True) for c in stored if c.select):
        return ()
    props: list[str] = []
    for column in stored:
        if column.select and not column.pseudo and column.select not in props:
            props.append(column.select)
    key = table.column(table.key) if table.key else None
    if key is not None and key.select and key.select not in props:
        props.append(key.select)
    return tuple(props)


def _and(nodes: list[FilterNode]) -> FilterNode | None:
    if not nodes:
        return None
    if len(nodes) == 1:
        return nodes[0]
    parts: list[FilterNode] = []
    for node in nodes:
        parts.extend(node.parts if isinstance(node, Junction) and node.op == "and" else [node])
    return Junction("and", tuple(parts))


def _advanced(query: ODataQuery) -> ODataQuery:
    """Directory advanced query: ConsistencyLevel: eventual + $count=true (resent each page)."""
    from dataclasses import replace

    headers = tuple(h for h in query.headers if h[0] != "ConsistencyLevel")
    return replace(query, count=True, headers=headers + (("ConsistencyLevel", "eventual"),))


# --------------------------------------------------------------------------- single-table

def _single_scan_select(tree: exp.Expr, refs: list[TableRef]) -> exp.Select | None:
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


def _plan_single(plan: QueryPlan, draft: _ScanDraft, tree: exp.Select,
                 columns: dict[int, Column], *, pushdown: bool) -> None:
    """ORDER BY / LIMIT / COUNT(*) pushdown and the streaming decision for one-table queries."""
    from dataclasses import replace

    scan = plan.scans[0]
    table = scan.table
    aggregate = bool(tree.args.get("group") or tree.args.get("having") or tree.args.get(
        "distinct") or any(tree.find_all(exp.AggFunc)))
    fan_out = len(scan.queries) != 1
    query = scan.queries[0] if scan.queries else None
    if query is None:
        return
    if pushdown and scan.exact and not fan_out and _is_count_star(tree) and table.supports_count \
            and query.search is None and not tree.args.get("order") and not _has_limit(tree) \
            and (query.filter is None or scan.endpoint_count_with_filter):
        headers = query.headers
        if table.count_needs_eventual:
            headers = tuple(h for h in headers if h[0] != "ConsistencyLevel") + (
                ("ConsistencyLevel", "eventual"),)
        scan.queries = (replace(query, count_segment=True, count=False, top=None, select=(),
                                headers=headers),)
        scan.count = True
        return
    if aggregate:
        return
    order = tree.args.get("order")
    ordered_ok = True
    orderby: list[tuple[str, bool]] = []
    if order is not None:
        ordered_ok = False
        if pushdown and not fan_out and (query.search is None or table.search_combines_with_orderby):
            orderby = _pushable_order(order, tree, scan, columns) or []
            ordered_ok = bool(orderby)
    if order is not None and ordered_ok:
        filter_node = query.filter
        if filter_node is not None and table.orderby_must_lead_filter:
            filter_node = _lead_with_order(filter_node, [p for p, _ in orderby])
        query = replace(query, orderby=tuple(orderby), filter=filter_node)
        if filter_node is not None and table.filter_orderby_needs_eventual:
            query = _advanced(query)  # directory: $filter with $orderby is an advanced query
        elif filter_node is not None and not table.orderby_with_filter:
            query, ordered_ok = scan.queries[0], False
    if order is not None and not ordered_ok:
        return  # local sort: needs every row
    limit, offset = _limit_offset(tree)
    plan.streaming = True
    plan.offset = offset or 0
    plan.limit = limit
    if fan_out:
        return  # several mailboxes stream one after the other; nothing to push per request
    if limit is not None and scan.exact and pushdown:
        wanted = limit + plan.offset
        scan.row_limit = wanted
        if table.supports_top and query.top is not None:
            query = replace(query, top=max(1, min(wanted, query.top)))
    scan.queries = (query,)
    plan.direct_columns = _direct_columns(tree, scan) if scan.exact else ()


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


def _is_count_star(tree: exp.Select) -> bool:
    if len(tree.expressions) != 1 or tree.args.get("group") or tree.args.get("distinct"):
        return False
    node = tree.expressions[0]
    node = node.this if isinstance(node, exp.Alias) else node
    return isinstance(node, exp.Count) and isinstance(node.this, exp.Star) and not node.args.get(
        "distinct")


def _has_limit(tree: exp.Select) -> bool:
    return tree.args.get("limit") is not None or tree.args.get("offset") is not None


def _limit_offset(tree: exp.Select) -> tuple[int | None, int | None]:
    def number(node: exp.Expr | None) -> int | None:
        if node is None:
            return None
        value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
        ok, number_ = literal_value(value)
        if not ok or isinstance(number_, bool) or not isinstance(number_, int):
            raise ProgrammingError(f"LIMIT and OFFSET take integer literals, not {_sql(value)}")
        return max(number_, 0) if number_ >= 0 else None

    return number(tree.args.get("limit")), number(tree.args.get("offset"))


def _pushable_order(order: exp.Order, tree: exp.Select, scan: Scan,
                    columns: dict[int, Column]) -> list[tuple[str, bool]] | None:
    """``$orderby`` keys when Graph's order is provably SQLite's, else None.

    Only datetime and number columns that are never NULL qualify: Graph's string collation and
    NULL placement are not SQLite's. Besides columns the catalog marks non-nullable, the
    DateTimeOffset stamps Exchange sets on every item count as never NULL (:data:`_ALWAYS_SET`).
    """
    aliases = {p.alias: p.this for p in tree.expressions if isinstance(p, exp.Alias)}
    keys: list[tuple[str, bool]] = []
    for ordered in order.expressions:
        node = ordered.this
        if isinstance(node, exp.Column) and not node.table and node.name in aliases:
            node = aliases[node.name]
        column = column_of(node, scan.alias, columns)
        if column is None or not column.orderable or column.pseudo:
            return None
        if column.nullable and (scan.table.entity, column.select) not in _ALWAYS_SET:
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


# --------------------------------------------------------------------------- residual

def _normalise_datetime_literals(tree: exp.Expr, columns: dict[int, Column]) -> None:
    """Rewrite string literals compared with DATETIME/DATE columns to the storage form."""
    def typed(node: exp.Expr) -> Column | None:
        while isinstance(node, exp.Paren):
            node = node.this
        column = columns.get(id(node)) if isinstance(node, exp.Column) else None
        return column if column is not None and column.sql_type in ("DATETIME", "DATE") else None

    def fix(node: exp.Expr, column: Column) -> None:
        if isinstance(node, exp.Literal) and node.is_string:
            text = normalise_datetime_text(node.this, column.sql_type)
            if text is not None:
                node.replace(exp.Literal.string(text))

    for node in list(tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        left, right = typed(node.this), typed(node.expression)
        if left is not None:
            fix(node.expression, left)
        elif right is not None:
            fix(node.this, right)
    for node in list(tree.find_all(exp.In)):
        column = typed(node.this)
        if column is not None:
            for item in list(node.expressions):
                fix(item, column)
    for node in list(tree.find_all(exp.Between)):
        column = typed(node.this)
        if column is not None:
            fix(node.args["low"], column)
            fix(node.args["high"], column)


def _rename_tables(tree: exp.Expr, refs: list[TableRef], scans: list[Scan]) -> None:
    for ref, scan in zip(refs, scans):
        replacement = exp.Table(this=exp.to_identifier(scan.storage, quoted=True),
                                alias=exp.TableAlias(this=exp.to_identifier(ref.alias, quoted=True)))
        ref.node.replace(replacement)
        ref.node = replacement


def _describe_local(tree: exp.Expr, scans: list[Scan], plan: QueryPlan) -> list[str]:
    steps: list[str] = []
    for scan in scans:
        for text in scan.local:
            steps.append(f"filter {scan.table.name}: {text}")
        if any("re-checked" in p for p in scan.pushed):
            steps.append(f"re-check {scan.table.name}: pushed predicates Graph evaluates loosely")
    if plan.streaming:
        if plan.page_sql and not plan.direct_columns:
            steps.append("per page: " + plan.page_sql)
        if plan.limit is not None or plan.offset:
            steps.append(f"stream: offset {plan.offset}, limit {plan.limit}")
        return steps
    if len(scans) == 1 and scans[0].count:
        return steps
    steps.append("sqlite: " + plan.sql)
    return steps


def _order_scans(plan: QueryPlan) -> None:
    """Dependencies first (stable otherwise)."""
    ordered: list[Scan] = []
    pending = list(plan.scans)
    while pending:
        progressed = False
        for scan in list(pending):
            if scan.dependency is None or any(s.index == scan.dependency.scan for s in ordered):
                ordered.append(scan)
                pending.remove(scan)
                progressed = True
        if not progressed:
            raise ProgrammingError("the joins address each other's mailboxes in a cycle")
    plan.scans = ordered


def _sql(node: exp.Expr) -> str:
    return node.sql(dialect=DIALECT)
