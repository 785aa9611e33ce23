"""Plan stage, one scan: the Graph requests that read one table reference.

From a :class:`~o365sql.planning.addressing.ScanDraft` (address slots, candidates, search) it
builds the routes (endpoint per bound combination, or single-item GETs for ``Id = x``),
consumes the address conjuncts, classifies the rest (``pushdown.py``) into ``$filter`` or
local work, keeps ``$filter`` within Graph's limits (tree height, ``in`` length: a long IN
list becomes one request per chunk), and writes one :class:`~o365sql.odata.query.ODataQuery`
per request. Hands a :class:`~o365sql.planning.plan.Scan` to ``planner.py``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any

from sqlglot import exp

from ..catalog import Column, Table
from ..exceptions import ProgrammingError
from ..odata.filter import FilterNode, InList, Junction, render_filter
from ..odata.query import ODataQuery, render
from .addressing import (
    SEARCH_COLUMN,
    Route,
    ScanDraft,
    address_text,
    choose_endpoint,
    fill_value,
    is_default,
    item_routes,
    literal_values,
    mailbox_slot,
    param_text,
    required,
    slot_name,
)
from .dialect import DIALECT
from .plan import Dependency, Scan
from .pushdown import Pushed, classify, column_of, split_in
from .search_terms import check_search_uses, search_text

#: At most this many requests for one long IN list; past it a full scan filtered locally is
#: usually as cheap (a 1000-item page holds as much as 67 chunked answers).
MAX_IN_CHUNKS = 50


def plan_scan(index: int, draft: ScanDraft, columns: dict[int, Column], *, pushdown: bool,
              pagesize: int | None, index_of: dict[int, int], app_only: bool = False) -> Scan:
    """The :class:`Scan` of one table reference (see the module docstring).

    Raises:
        ProgrammingError: ``app_only`` and a route would read the signed-in user's mailbox
            (``/me``), which an application has not got.
    """
    ref = draft.ref
    table = ref.table
    stored = tuple(ref.columns.values())
    scan = Scan(index=index, table=table, alias=ref.alias, columns=stored)
    if ref.is_system:
        scan.local = [sql_text(c.node) for c in draft.candidates]
        return scan
    if draft.empty:
        scan.empty = True  # no request: the SELECT's WHERE is false
        return scan
    routes, used_slots = _routes(index, draft, scan, index_of)
    if app_only:
        _check_mailboxes(draft, routes)
    # A path slot naming an item (a folder, a message, an event): an id that names nothing
    # reads no rows, as SQL over the whole virtual table would answer (execution/scan.py).
    scan.missing_ok = any(
        p.lower() != "userid" for route in routes for p in route.endpoint.placeholders)
    # Two values of a folder slot may name one folder ('Inbox' and its id, 'inbox' and
    # 'INBOX'): keep each item once, as ``x IN (...)`` would.
    scan.dedupe = any(len(draft.addresses.get(c.name.lower(), ())) > 1
                      for c in table.columns if c.endpoint_param)
    _consume_addresses(draft, used_slots)
    check_search_uses(table, ref.alias, ref.scope.expression, columns)
    items = None
    if pushdown and scan.dependency is None and draft.search is None:
        items = item_routes(table, routes, _key_values(draft, columns))
    filters: list[Pushed] = []
    local: list[exp.Expr] = []
    pushed_nodes: list[exp.Expr] = []  # the conjunct of each entry of ``filters``
    chunks: list[Pushed] | None = None  # a long IN list, one request per chunk
    chunk_source: exp.Expr | None = None
    may_push = pushdown and items is None
    search = search_text(table, draft.search) if draft.search is not None else None
    for candidate in draft.candidates:
        node = candidate.node
        if id(node) in draft.used:
            continue
        if _join_equality(node, ref.alias) and not only_this_ref(node, ref.alias):
            continue  # a join condition, evaluated by the residual join
        pushed = classify(node, ref.alias, columns, table) if may_push else None
        if pushed is not None:
            filters.append(pushed)
            pushed_nodes.append(node)
            continue
        split = split_in(node, ref.alias, columns, table) if may_push and chunks is None and \
            scan.dependency is None else None
        if split is not None and 1 < len(split) <= MAX_IN_CHUNKS:
            chunks, chunk_source = split, node
        else:
            local.append(node)
    if search is not None and not table.search_combines_with_filter and (filters or chunks):
        # Graph refuses $filter with $search on messages (SearchWithFilter): check locally.
        local.extend(pushed_nodes + ([chunk_source] if chunk_source is not None else []))
        filters, pushed_nodes, chunks = [], [], None
    if chunks is not None:
        # The fullest chunk is the tallest: when even it does not fit, the IN stays local.
        _, dropped = within_depth(filters + [chunks[0]], table.max_filter_depth)
        if len(filters) in dropped:
            assert chunk_source is not None
            local.append(chunk_source)
            chunks = None
    if chunks is not None:
        kept, dropped = within_depth(filters + [chunks[0]], table.max_filter_depth)
        filters = kept[:-1] if kept and kept[-1] is chunks[0] else kept
    else:
        filters, dropped = within_depth(filters, table.max_filter_depth)
    local.extend(pushed_nodes[i] for i in dropped if i < len(pushed_nodes))
    kept_nodes = [pushed_nodes[i] for i in range(len(pushed_nodes)) if i not in dropped]
    filters, chunks, too_long = _within_length(table, draft, routes, filters, kept_nodes, chunks)
    local.extend(too_long + ([chunk_source] if chunks is None and chunk_source is not None
                             and chunk_source not in local else []))
    if too_long or (chunk_source is not None and chunks is None):
        scan.notes.append(
            f"conditions kept local because with them the request URL would pass "
            f"{MAX_URL_LENGTH:,} characters (Graph answers 414 URI Too Long)")
    advanced = table.advanced_needs_eventual and (search is not None or any(
        p.advanced for p in filters + (chunks or [])))
    top = None
    if table.supports_top and items is None:
        # A column may lower the maximum when it is selected or filtered (catalog.py).
        largest = min([table.max_page_size] + [c.max_page_size for c in stored
                                               if c.max_page_size is not None])
        top = min(pagesize, largest) if pagesize else largest
    base = ODataQuery(template="", select=_select_list(table, stored), search=search, top=top)
    if advanced:
        base = advanced_query(base)
    every = filters + (chunks or [])
    scan.exact = not local and all(p.exact for p in every)
    scan.pushed = [render_filter(p.node) + ("" if p.exact else "  (re-checked locally)")
                   for p in filters]
    if chunks is not None:
        scan.pushed.append(f"{len(chunks)} requests, one per chunk of the IN list: " + " | ".join(
            render_filter(c.node) for c in chunks) + (
            "" if chunks[0].exact else "  (re-checked locally)"))
        # Chunks of a loosely compared column may both match one item: keep its first copy.
        scan.dedupe = scan.dedupe or not chunks[0].exact
    scan.local = [sql_text(n) for n in local]
    scan.items = items is not None
    chunk_nodes: list[FilterNode | None] = [c.node for c in chunks] if chunks else [None]
    queries, fills = _queries(table, draft, base, items if items is not None else routes,
                              [p.node for p in filters], chunk_nodes)
    if scan.dependency is not None:
        scan.template_query = queries[0]
        scan.templates = tuple(queries)
        scan.fills = tuple(fills)
        return scan
    scan.queries = tuple(queries)
    scan.fills = tuple(fills)
    scan.endpoint_count_with_filter = all(r.endpoint.count_with_filter for r in routes)
    return scan


def _routes(index: int, draft: ScanDraft, scan: Scan, index_of: dict[int, int]
            ) -> tuple[list[Route], set[str]]:
    """Endpoint per combination of bound slot values; sets ``scan.dependency`` for joins and
    subqueries whose values address the endpoint at run time."""
    table = draft.ref.table
    by_name = {c.name.lower(): c for c in table.columns}
    if draft.joins:
        pending = set(draft.joins) - set(draft.addresses)
    elif draft.subquery is not None and draft.subquery[0].lower() not in draft.addresses:
        pending = {draft.subquery[0].lower()}
    else:
        pending = set()
    slot_names = list(draft.addresses)
    combos = list(itertools.product(*[draft.addresses[s] for s in slot_names])) or [()]
    bound_sets = [{s for s, v in zip(slot_names, combo) if not is_default(by_name.get(s), v)}
                  for combo in combos]
    # Keep the run-time slots every route's endpoint takes in its path (a slot one endpoint
    # would leave out would give rows a pseudo-column value that did not address them).
    while True:
        endpoints = [choose_endpoint(table, bound | pending) for bound in bound_sets]
        kept = set(pending)
        for endpoint in endpoints:
            kept &= {r.lower() for r in endpoint.requires}
        if kept == pending:
            break
        pending = kept
    routes = [Route(endpoint, dict(zip(slot_names, combo)))
              for endpoint, combo in zip(endpoints, combos)]
    used_slots: set[str] = set()
    for route in routes:
        needed = required(route.endpoint)
        used_slots |= {s for s, v in route.values.items()
                       if s in needed or is_default(by_name.get(s), v)}
    if pending and draft.joins:
        order = [r.lower() for r in routes[0].endpoint.requires]
        bindings = tuple(
            (index_of[id(draft.joins[s][0])], draft.joins[s][1].name,
             slot_name(routes[0].endpoint.requires, s))
            for s in sorted(pending, key=order.index))
        scan.dependency = Dependency(scan=bindings[0][0], column=bindings[0][1],
                                     slot=bindings[0][2], bindings=bindings)
    elif pending:
        slot, _, scalar = draft.subquery  # type: ignore[misc]
        # The SQL and the scans it reads are filled in by planner.py once the tables
        # are renamed to their storage names.
        scan.dependency = Dependency(scan=-1, column="", slot=slot, sql="", scalar=scalar)
    if len(routes) > 1 and any(len(draft.addresses[s]) > 1 for s in slot_names
                               if s not in used_slots):
        raise ProgrammingError(f"{table.name}: IN on a column that does not address the endpoint")
    return routes, used_slots


def _check_mailboxes(draft: ScanDraft, routes: list[Route]) -> None:
    """Refuse a route that would read ``/me`` on an app-only connection: an application has
    no mailbox of its own, and Graph answers "/me request is only valid with delegated
    authentication flow" (https://learn.microsoft.com/graph/auth-v2-service)."""
    table = draft.ref.table
    for route in routes:
        mailbox = mailbox_slot(table, route.endpoint)
        if mailbox is None:
            continue
        alias = draft.ref.alias
        name = f"{alias}.{mailbox.name}" if alias != table.name.lower() else mailbox.name
        window = {w.lower() for w in table.window or ()}
        path = {q.lower() for e in table.endpoints for q in e.requires}
        others = [c.name for c in table.columns if c.pseudo and c.name.lower() in path
                  and c.name.lower() not in window and c is not mailbox]
        join_hint = (f", or join it to its parent's mailbox (ON {alias}.{others[0]} = p.Id AND "
                     f"{name} = p.{mailbox.name})") if others else (
                     f", or join Users (ON {name} = u.Id)")
        raise ProgrammingError(
            f"{table.name}: with app-only sign-in (AuthScheme=AzureServicePrincipal or "
            "AzureServicePrincipalCert) there is no signed-in user, so its mailbox cannot "
            f"default to '{mailbox.default_value}' ({route.endpoint.template} is only valid "
            f"for delegated sign-in): bind {name}, e.g. WHERE {name} = "
            f"'<user id or userPrincipalName>'{join_hint}")


def _consume_addresses(draft: ScanDraft, used_slots: set[str]) -> None:
    """Address conjuncts the endpoint satisfies by construction leave the residual query
    (the rows come from that mailbox/folder/window); unused ones stay ordinary conjuncts."""
    alias = draft.ref.alias
    consumed: set[int] = set()
    for candidate in draft.candidates:
        if id(candidate.node) not in draft.used:
            continue
        names = {c.name.lower() for c in candidate.node.find_all(exp.Column) if c.table == alias}
        if names & (used_slots | {SEARCH_COLUMN}):
            consumed.add(id(candidate.node))
            candidate.node.replace(exp.true())
    draft.used = consumed


def _key_values(draft: ScanDraft, columns: dict[int, Column]) -> list[Any]:
    """The values of ``key = literal`` / ``key IN (literals)`` among the candidates."""
    table = draft.ref.table
    key = table.key.lower()
    for candidate in draft.candidates:
        node = candidate.node
        if id(node) in draft.used:
            continue
        if isinstance(node, exp.EQ):
            for side, other in ((node.this, node.expression), (node.expression, node.this)):
                column = column_of(side, draft.ref.alias, columns)
                if column is not None and column.name.lower() == key:
                    values = literal_values(exp.In(this=side.copy(), expressions=[other.copy()]))
                    if values:
                        return values
        elif isinstance(node, exp.In) and not node.args.get("query"):
            column = column_of(node.this, draft.ref.alias, columns)
            if column is not None and column.name.lower() == key:
                values = literal_values(node)
                if values:
                    return values
    return []


def _queries(table: Table, draft: ScanDraft, base: ODataQuery, routes: list[Route],
             filters: list[FilterNode], chunks: list[FilterNode | None]
             ) -> tuple[list[ODataQuery], list[dict[str, Any]]]:
    """One query (and its pseudo-column fill) per route and IN chunk."""
    by_name = {c.name.lower(): c for c in table.columns}
    pseudo = {c.name.lower(): c for c in table.columns if c.pseudo}
    queries: list[ODataQuery] = []
    fills: list[dict[str, Any]] = []
    for route in routes:
        endpoint, values = route.endpoint, route.values
        slots = {r.lower() for r in endpoint.requires}
        address = {slot_name(endpoint.requires, s): address_text(v)
                   for s, v in values.items() if s in slots}
        params = tuple((param, param_text(by_name.get(column.lower()), values[column.lower()]))
                       for param, column in endpoint.params if column.lower() in values)
        fill = {n: c.default_value for n, c in pseudo.items()}
        for slot, value in values.items():
            if slot in pseudo:
                fill[slot] = fill_value(pseudo[slot], value)
        if draft.search is not None:
            fill[SEARCH_COLUMN] = draft.search
        for chunk in chunks:
            parts = filters + ([chunk] if chunk is not None else [])
            queries.append(replace(base, template=endpoint.template, filter=and_(parts),
                                   address=tuple(address.items()), params=params))
            fills.append(fill)
    return queries, fills


#: Longest request URL (path and query string, percent-encoded) the planner sends. Graph's
#: front end (HTTP.sys) refuses request lines past 16 KB (MaxFieldLength) with 414, and the
#: known-issues page puts advanced directory queries at 2,048 characters
#: (graph-semantics §2.2); half of 16 KB leaves room for the base URL and headers.
MAX_URL_LENGTH = 8192


def _within_length(table: Table, draft: ScanDraft, routes: list[Route], filters: list[Pushed],
                   nodes: list[exp.Expr], chunks: list[Pushed] | None
                   ) -> tuple[list[Pushed], list[Pushed] | None, list[exp.Expr]]:
    """Leave the longest ``$filter`` conjuncts (then a chunked IN list) to the local engine
    until every request URL fits ``MAX_URL_LENGTH``. Returns the kept filters and chunks and
    the conjuncts moved to local."""
    def longest() -> int:
        base = ODataQuery(template="", select=_select_list(table, tuple(draft.ref.columns.values())))
        chunk_nodes: list[FilterNode | None] = [c.node for c in chunks] if chunks else [None]
        queries, _ = _queries(table, draft, base, routes, [p.node for p in filters], chunk_nodes)
        # Slots a join fills at run time are measured as an Outlook id (about 150 characters).
        requests = [render(q.with_address(**{
            name: "x" * 160 for name in re.findall(r"\{([^{}]+)\}", q.template)
            if name.lower() not in {k.lower() for k, _ in q.address}})) for q in queries]
        return max((len(r.path) + 1 + len(r.query_string()) for r in requests), default=0)

    moved: list[exp.Expr] = []
    filters, nodes = list(filters), list(nodes)
    while (filters or chunks) and longest() > MAX_URL_LENGTH:
        if filters:
            index = max(range(len(filters)), key=lambda i: len(render_filter(filters[i].node)))
            filters.pop(index)
            moved.append(nodes.pop(index))
        else:
            chunks = None
    return filters, chunks, moved


def within_depth(filters: list[Pushed], depth: int | None) -> tuple[list[Pushed], list[int]]:
    """Keep the ``$filter`` tree within Graph's height limit (directory: 3, counting the
    comparisons and an ``in`` list's values as levels, graph-semantics §2.2) by leaving the
    deepest conjuncts to the local engine. Returns the kept filters and the dropped indexes."""
    if depth is None:
        return filters, []
    kept = list(enumerate(filters))
    while kept and _height(and_([p.node for _, p in kept])) > depth:  # type: ignore[arg-type]
        deepest = max(kept, key=lambda item: _height(item[1].node))
        kept.remove(deepest)
    kept_ids = {i for i, _ in kept}
    return [p for _, p in kept], [i for i in range(len(filters)) if i not in kept_ids]


def _height(node: FilterNode) -> int:
    if isinstance(node, Junction):
        return 1 + max(_height(p) for p in node.parts)
    return 2 if isinstance(node, InList) else 1


def _select_list(table: Table, stored: tuple[Column, ...]) -> tuple[str, ...]:
    """``$select``: the referenced columns' properties plus the key; none at all when a needed
    column may not be selected on this endpoint (calendarView createdDateTime, catalog.py)."""
    if any(not c.selectable for c in stored if c.select):
        return ()
    props: list[str] = []
    for column in stored:
        if column.select and not column.pseudo and column.select not in props:
            props.append(column.select)
    key = table.column(table.key) if table.key else None
    if key is not None and key.select and key.select not in props:
        props.append(key.select)
    return tuple(props)


def and_(nodes: list[FilterNode]) -> FilterNode | None:
    """The conjunction of filter nodes (flattened), or None for none."""
    if not nodes:
        return None
    if len(nodes) == 1:
        return nodes[0]
    parts: list[FilterNode] = []
    for node in nodes:
        parts.extend(node.parts if isinstance(node, Junction) and node.op == "and" else [node])
    return Junction("and", tuple(parts))


def advanced_query(query: ODataQuery) -> ODataQuery:
    """Directory advanced query: ConsistencyLevel: eventual + $count=true (resent each page)."""
    headers = tuple(h for h in query.headers if h[0] != "ConsistencyLevel")
    return replace(query, count=True, headers=headers + (("ConsistencyLevel", "eventual"),))


def only_this_ref(node: exp.Expr, alias: str) -> bool:
    """True when every column of ``node`` belongs to the table reference ``alias``."""
    if node.find(exp.Subquery, exp.Select, exp.Window, exp.AggFunc):
        return False
    cols = list(node.find_all(exp.Column))
    return bool(cols) and all(c.table == alias for c in cols)


def _join_equality(node: exp.Expr, alias: str) -> bool:
    return isinstance(node, exp.EQ) and all(
        isinstance(side, exp.Column) for side in (node.this, node.expression)) and any(
        side.table == alias for side in (node.this, node.expression))


def join_equality(node: exp.Expr, alias: str) -> bool:
    """``a.x = b.y`` with one side on ``alias`` (a join condition)."""
    return _join_equality(node, alias)


def sql_text(node: exp.Expr) -> str:
    return node.sql(dialect=DIALECT)
