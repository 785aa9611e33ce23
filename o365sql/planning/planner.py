"""Plan stage: turn a resolved query into scans (what to ask Graph) and residual SQL.

For each table reference it collects the WHERE/ON conjuncts that may narrow it, finds the
address conjuncts (``addressing.py``), plans the scan's requests (``scan_plan.py``: endpoint,
``$filter``, ``$select``, chunked IN lists, single-item GETs) and, for one-table queries, decides
``$orderby``/``$top``/``$count`` and streaming (``ordering.py``) only where the result provably
stays the SQL result. Everything else stays in the residual SQLite query, which always re-applies
the WHERE clause, so pushdown only narrows what is fetched (DESIGN §3.1). Hands a
:class:`~o365sql.planning.plan.QueryPlan` to execution.
"""

from __future__ import annotations

from sqlglot import exp

from ..catalog import Column
from ..conversion import normalise_datetime_text
from ..exceptions import ProgrammingError
from .addressing import Candidate, ScanDraft, extract_addresses
from .ordering import is_aggregate, plan_single, single_scan_select
from .parse import DIALECT
from .plan import OutputColumn, QueryPlan, Scan
from .pushdown import CONTAINS_VALUE, conjuncts
from .resolve import Resolved, TableRef
from .scan_plan import join_equality, only_this_ref, plan_scan
from .types import output_types


def build_plan(resolved: Resolved, *, pushdown: bool = True, pagesize: int | None = None,
               max_rows: int | None = None) -> QueryPlan:
    """Plan a resolved SELECT.

    Args:
        resolved: the qualified query (mutated: address conjuncts become TRUE, tables renamed).
        pushdown: False fetches everything and does all work locally (only endpoint addressing,
            ``$select`` and ``$search``, which define what the rows are, still go to Graph).
        pagesize: the ``PageSize`` connection property, or None for each table's maximum.
        max_rows: the ``MaxRows`` property: caps non-aggregate results (an early stop).
    """
    tree = resolved.tree
    columns = resolved.column_nodes
    _check_functions(tree)
    _normalise_datetime_literals(tree, columns)
    refs = resolved.refs
    index_of = {id(ref): i for i, ref in enumerate(refs)}
    drafts = [ScanDraft(ref=ref) for ref in refs]
    for draft in drafts:
        _collect_candidates(draft, columns)
        extract_addresses(draft, columns, refs)
    single = single_scan_select(tree, refs)
    scans: list[Scan] = []
    for i, draft in enumerate(drafts):
        scans.append(plan_scan(i, draft, columns, pushdown=pushdown, pagesize=pagesize,
                               index_of=index_of))
    plan = QueryPlan(scans=scans, sql="", output=[])
    plan.aggregate = is_aggregate(tree)
    if single is not None and not scans[0].system and scans[0].dependency is None:
        plan_single(plan, single, columns, pushdown=pushdown,
                    max_rows=None if plan.aggregate else max_rows)
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
    where_ok = False
    if in_from:
        # The FROM table is preserved by LEFT joins, not by RIGHT/FULL ones.
        where_ok = not any(j.side in ("RIGHT", "FULL") or j.kind == "FULL" for j in joins)
    elif own_join is not None and not own_join.side:
        where_ok = not has_outer
    if where_ok and where is not None:
        for node in conjuncts(where.this):
            if only_this_ref(node, ref.alias) or join_equality(node, ref.alias):
                draft.candidates.append(Candidate(node, removable=True))
    if own_join is not None and own_join.side in ("", "LEFT", None) and own_join.kind != "FULL":
        on = own_join.args.get("on")
        for node in conjuncts(on):
            if only_this_ref(node, ref.alias) or join_equality(node, ref.alias):
                draft.candidates.append(Candidate(node, removable=True))


# --------------------------------------------------------------------------- residual

def _check_functions(tree: exp.Expr) -> None:
    """o365sql's own SQL functions, checked here rather than failing inside SQLite."""
    for node in tree.find_all(exp.Anonymous):
        if str(node.this).upper() == CONTAINS_VALUE and len(node.expressions) not in (2, 3):
            raise ProgrammingError(
                f"{CONTAINS_VALUE} takes (collection, value) or (collection, 'item/path', "
                f"value), not {len(node.expressions)} arguments")


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

