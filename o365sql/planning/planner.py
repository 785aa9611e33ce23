"""Plan stage: turn a resolved query into scans (what to ask Graph) and residual SQL.

For each table reference it collects the WHERE/ON conjuncts that may narrow it, finds the
address conjuncts (``addressing.py``) and the slots other tables' rows address through joins
(``joins.py``: each parent row's own mailbox and id), plans the scan's requests (``scan_plan.py``: endpoint,
``$filter``, ``$select``, chunked IN lists, single-item GETs) and, for one-table queries, decides
``$orderby``/``$top``/``$count`` and streaming (``ordering.py``) only where the result provably
stays the SQL result. Everything else stays in the residual SQLite query, which always re-applies
the WHERE clause, so pushdown only narrows what is fetched (DESIGN §3.1). Hands a
:class:`~o365sql.planning.plan.QueryPlan` to execution.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace

from sqlglot import exp

from ..catalog import Column
from ..exceptions import ProgrammingError
from ..odata.query import ODataQuery
from ..value_model import NAIVE_DATETIME
from .addressing import Candidate, ScanDraft, extract_addresses, slots
from .derived_joins import link_derived
from .dialect import DIALECT
from .folders import prepare_folder_names, rewrite_folder_names
from .joins import link_joins
from .ordering import check_limits, is_aggregate, plan_single, single_scan_select
from .plan import OutputColumn, QueryPlan, Scan
from .pushdown import CONTAINS_VALUE, column_of, conjuncts
from .range_scan import mark_ranges
from .resolve import Resolved, TableRef
from .scan_plan import join_equality, only_this_ref, plan_scan, sql_text
from .sqlite_rewrite import rewrite_for_sqlite
from .time_relative import fix_time
from .top_n import plan_limited, plan_top_n
from .typed_text import read_typed_text
from .types import annotate, output_types


def build_plan(resolved: Resolved, *, pushdown: bool = True, pagesize: int | None = None,
               max_rows: int | None = None, app_only: bool = False) -> QueryPlan:
    """Plan a resolved SELECT.

    Args:
        resolved: the qualified query (mutated: address conjuncts become TRUE, tables renamed).
        pushdown: False fetches everything and does all work locally (only endpoint addressing,
            ``$select`` and ``$search``, which define what the rows are, still go to Graph).
        pagesize: the ``PageSize`` connection property, or None for each table's maximum.
        max_rows: the ``MaxRows`` property: caps non-aggregate results (an early stop).
        app_only: the connection signs in as an application (``AuthScheme`` is a service
            principal): no scan may read the signed-in user's mailbox (``/me``).
    """
    tree = resolved.tree
    columns = resolved.column_nodes
    _check_functions(tree)
    check_limits(tree)
    refs = resolved.refs
    # Every reading of the clock in this statement is this one (time_relative.py).
    fix_time(tree, _dt.datetime.now(_dt.UTC))
    if annotate(tree, refs):
        read_typed_text(tree, columns, {ref.alias: ref.table.name for ref in refs})
        kinds = output_types(tree)
    else:
        kinds = ["VARCHAR"] * len(tree.selects)
    index_of = {id(ref): i for i, ref in enumerate(refs)}
    drafts = [ScanDraft(ref=ref) for ref in refs]
    for draft in drafts:
        _collect_candidates(draft, columns)
        extract_addresses(draft, columns)
    link_joins(drafts, columns)
    link_derived(drafts, columns)
    single = single_scan_select(tree, refs)
    # WHERE conjuncts of a one-table query that narrow no scan (``1 = 0``, ``:p IS NULL``):
    # local work, so the scan's rows are not the answer as they come (no direct path).
    foreign = _foreign_conjuncts(single, drafts[0]) if single is not None else []
    for draft in drafts:
        prepare_folder_names(draft.ref, columns)
    scans: list[Scan] = []
    for i, draft in enumerate(drafts):
        walk = walks_folder_tree(draft)
        # A folder tree is read level by level (execution/scan.py): a filter, order or $top
        # sent with one level would hide the folders below the ones it leaves out.
        scans.append(plan_scan(i, draft, columns, pushdown=pushdown and not walk,
                               pagesize=pagesize, index_of=index_of, app_only=app_only))
        scans[-1].walk = walk and not scans[-1].items
        if scans[-1].walk:
            _walk_whole_tree(scans[-1])
        rewrite_folder_names(draft.ref, scans[-1], columns)
    for draft, scan in zip(drafts, scans):
        if scan.dependency is not None and scan.dependency.sql is not None and \
                draft.subquery is not None:
            inside = {id(t) for t in draft.subquery[1].find_all(exp.Table)}
            scan.dependency = replace(scan.dependency, scans=tuple(
                i for i, ref in enumerate(refs) if id(ref.node) in inside))
    if pushdown:
        for draft, scan in zip(drafts, scans):
            plan_top_n(draft, scan, columns)
            plan_limited(draft, scan, columns)
    if foreign and not scans[0].empty:
        scans[0].exact = False
        scans[0].local.extend(sql_text(node) for node in foreign)
    plan = QueryPlan(scans=scans, sql="", output=[])
    plan.aggregate = is_aggregate(tree)
    plan.max_rows = None if plan.aggregate else max_rows
    if single is not None and not scans[0].system and scans[0].dependency is None:
        plan_single(plan, single, columns, pushdown=pushdown and not scans[0].walk,
                    max_rows=None if plan.aggregate else max_rows)
    _rename_tables(tree, refs, scans)
    plan.output = [
        OutputColumn(name, "DATETIME" if kind == NAIVE_DATETIME else kind or "VARCHAR", True,
                     kind)
        for name, kind in zip(resolved.output_names, kinds)]
    local_tree = rewrite_for_sqlite(tree)
    for draft, scan in zip(drafts, scans):
        if scan.dependency is not None and scan.dependency.sql == "" and draft.subquery:
            query = draft.subquery[1].this  # the SELECT inside the parentheses
            scan.dependency = replace(scan.dependency, sql=query.sql(dialect=DIALECT))
    if plan.streaming:
        page = local_tree.copy()
        for key in ("order", "limit", "offset"):
            page.set(key, None)
        plan.page_sql = page.sql(dialect=DIALECT)
    plan.sql = local_tree.sql(dialect=DIALECT)
    plan.steps = _describe_local(local_tree, scans, plan)
    mark_ranges(plan, pushdown=pushdown)
    _order_scans(plan)
    if pushdown:
        for scan in scans:
            _mark_pushed_down(scan)
    return plan


def walks_folder_tree(draft: ScanDraft) -> bool:
    """True for a folder table (MailFolders, ContactFolders) read without a parent folder:
    Graph's ``/mailFolders`` lists the top level only, so the scan reads every level through
    ``childFolders`` to hold every folder of the mailbox (graph-semantics §3.6-3.7).
    ``ParentFolderId = 'x'`` still reads only x's children."""
    table = draft.ref.table
    if not any(e.template.endswith("/childFolders") for e in table.endpoints):
        return False
    return "parentfolderid" not in draft.addresses and "parentfolderid" not in draft.joins \
        and not (draft.subquery is not None and draft.subquery[0].lower() == "parentfolderid")


def _walk_whole_tree(scan: Scan) -> None:
    """Ask each level for ``childFolderCount`` too (where the table has it), so that leaf
    folders cost no request, and say in EXPLAIN how the tree is read."""
    counted = scan.table.column("ChildFolderCount")
    name = counted.select if counted is not None else None
    if name:
        def add(query: ODataQuery) -> ODataQuery:
            if not query.select or name in query.select:
                return query
            return replace(query, select=(*query.select, name))
        scan.queries = tuple(add(q) for q in scan.queries)
        scan.templates = tuple(add(q) for q in scan.templates)
        if scan.template_query is not None:
            scan.template_query = add(scan.template_query)
    scan.notes.append("then GET .../{ParentFolderId}/childFolders of "
                      "every folder with children, level by level ($batch), so that every "
                      "folder at any depth is read; filters and order stay local")


def _mark_pushed_down(scan: Scan) -> None:
    """Name the options each request carries only because pushdown is on, for the advice of
    a Graph rejection (``GraphRequest.pushed_down``, ``graph/errors.py``).

    With pushdown off the planner sends no ``$filter``, ``$orderby`` or ``/$count`` and
    ``$count=true`` only for a ``$search`` (an advanced directory query); ``$select``, the
    search terms' ``$search`` and the page size's ``$top`` go either way (a LIMIT only lowers
    ``$top``, which is therefore not named).
    """
    def mark(query: ODataQuery) -> ODataQuery:
        names = [name for name, present in (
            ("$filter", query.filter is not None), ("$orderby", bool(query.orderby)),
            ("$count", query.count and query.search is None),
            ("/$count", query.count_segment)) if present]
        return replace(query, pushed_down=tuple(names))

    scan.queries = tuple(mark(q) for q in scan.queries)
    scan.templates = tuple(mark(q) for q in scan.templates)
    if scan.template_query is not None:
        scan.template_query = mark(scan.template_query)


# --------------------------------------------------------------------------- candidates

def _collect_candidates(draft: ScanDraft, columns: dict[int, Column]) -> None:
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
    if where is not None and any(isinstance(node, exp.Boolean) and not node.this
                                 for node in conjuncts(where.this)):
        # The SELECT has no rows whatever this table holds (``x IN ()`` bound to FALSE).
        draft.empty = True
    where_ok = False
    if in_from:
        # The FROM table is preserved by LEFT joins, not by RIGHT/FULL ones.
        where_ok = not any(j.side in ("RIGHT", "FULL") or j.kind == "FULL" for j in joins)
    elif own_join is not None and not own_join.side:
        where_ok = not has_outer
    if where_ok and where is not None:
        for node in conjuncts(where.this):
            if only_this_ref(node, ref.alias) or join_equality(node, ref.alias) or \
                    _subquery_address(node, ref, columns):
                draft.candidates.append(Candidate(node, removable=True))
    if own_join is not None and own_join.side in ("", "LEFT", None) and own_join.kind != "FULL":
        on = own_join.args.get("on")
        for node in conjuncts(on):
            if only_this_ref(node, ref.alias) or join_equality(node, ref.alias):
                draft.candidates.append(Candidate(node, removable=True,
                                                  outer=own_join.side == "LEFT"))


def _subquery_address(node: exp.Expr, ref: TableRef, columns: dict[int, Column]) -> bool:
    """``slot IN (SELECT ...)`` / ``slot = (SELECT ...)`` on an address column of ``ref``: may
    address the scan (addressing.py checks that the subquery is uncorrelated)."""
    if (isinstance(node, exp.In) and isinstance(node.args.get("query"), exp.Subquery)) or (
            isinstance(node, exp.EQ) and isinstance(node.expression, exp.Subquery)):
        side = node.this
    elif isinstance(node, exp.EQ) and isinstance(node.this, exp.Subquery):
        side = node.expression
    else:
        return False
    column = column_of(side, ref.alias, columns)
    return column is not None and column.name.lower() in slots(ref.table)


def _foreign_conjuncts(select: exp.Select, draft: ScanDraft) -> list[exp.Expr]:
    where = select.args.get("where")
    taken = {id(c.node) for c in draft.candidates}
    return [node for node in conjuncts(where.this if where is not None else None)
            if id(node) not in taken and not (isinstance(node, exp.Boolean) and node.this)]


# --------------------------------------------------------------------------- residual

def _check_functions(tree: exp.Expr) -> None:
    """o365sql's own SQL functions, checked here rather than failing inside SQLite."""
    for node in tree.find_all(exp.Anonymous):
        if str(node.this).upper() == CONTAINS_VALUE and len(node.expressions) not in (2, 3):
            raise ProgrammingError(
                f"{CONTAINS_VALUE} takes (collection, value) or (collection, 'item/path', "
                f"value), not {len(node.expressions)} arguments")


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
            done = {s.index for s in ordered}
            if scan.dependency is None or set(scan.dependency.needs) <= done:
                ordered.append(scan)
                pending.remove(scan)
                progressed = True
        if not progressed:
            raise ProgrammingError("the joins address each other's mailboxes in a cycle")
    plan.scans = ordered

