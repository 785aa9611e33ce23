"""Plan stage, top-N per group: a ranking bounded per mailbox (folder, calendar) sent to Graph.

"The 10 newest messages of each mailbox" (folder, calendar: a partition by a column every
request has one value of, ``_one_value_per_request``) is written as a ranking window over the
table with a bound on the rank::

    SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY UserId
                                                   ORDER BY ReceivedDateTime DESC) AS rn
                     FROM Messages WHERE ...) t WHERE rn <= 10
    SELECT ... FROM Messages WHERE ... QUALIFY RANK() OVER (PARTITION BY UserId ...) <= 10
    SELECT ... FROM Users u JOIN (SELECT UserId, ..., ROW_NUMBER() OVER (...) AS rn
                                  FROM Messages) t ON t.UserId = u.Id WHERE t.rn <= 10

(the mailbox of the last bound by the join, ``derived_joins.py``). Each of the scan's
requests reads one mailbox (one
value of every pseudo-column the window partitions by), so the rows of a partition are all in
the first N rows of its requests in the window's order: each request gets ``$orderby`` and
``$top=N`` and pages no further than N rows (``ODataQuery.limit``). ``RANK`` also keeps the
rows tied with the N-th (``ties``); ``DENSE_RANK`` is not pushed (its N ranks may span any
number of rows). The residual SQLite query still ranks and filters the rows it gets, so the
answer is the SQL answer; this only bounds what is fetched.

Pushed only when the rows Graph returns are exactly the scan's rows before ranking: every
WHERE conjunct of the ranked SELECT pushed exactly (or an address of the scan), nothing else in
that SELECT needing all rows (another window, an aggregate, DISTINCT, GROUP BY), and Graph able
to sort by the window's keys the way SQLite does (``ordering.pushable_order``).

The same bound comes from a subquery cut by ``ORDER BY ... LIMIT n [OFFSET o]``
(:func:`plan_limited`): a ``LATERAL`` derived table (``lateral.py`` runs it in SQLite), a
scalar, ``IN`` or ``EXISTS`` subquery correlated on the mailbox, or an uncorrelated one over
several requests. When each evaluation of it reads whole requests (its correlations are
equalities on slots every request binds to one value), its first n+o rows are among the
first n+o of those requests in its order: each request gets ``$orderby`` and ``$top=n+o``.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from ..catalog import Column
from ..odata.query import ODataQuery
from .addressing import ScanDraft
from .derived_joins import derived_reader
from .ordering import limit_offset, order_query, pushable_order
from .plan import Scan
from .pushdown import column_of, conjuncts, literal_value
from .scan_plan import sql_text

_RANKINGS = {exp.RowNumber: "ROW_NUMBER", exp.Rank: "RANK"}


def plan_top_n(draft: ScanDraft, scan: Scan, columns: dict[int, Column]) -> None:
    """Push a bounded ranking of ``scan``'s rows into each of its requests (module docstring)."""
    if scan.system or scan.empty or scan.items or scan.count:
        return
    select = draft.ref.scope.expression
    if not isinstance(select, exp.Select) or not _plain(select, draft):
        return
    found = _bounded_window(select, draft.ref.scope)
    if found is None:
        return
    window, bound = found
    if not _local_only_addresses(draft, scan):
        return
    for part in window.args.get("partition_by") or []:
        column = column_of(part, draft.ref.alias, columns)
        if column is None or not _one_value_per_request(column, scan):
            return  # a partition may span rows of one request: its top N are not the request's
    order = window.args.get("order")
    if order is None:
        return
    keys = pushable_order(order, select, scan, columns)
    if not keys:
        return
    ties = tuple(path for path, _ in keys) if isinstance(window.this, exp.Rank) else ()
    if _bound_requests(scan, keys, bound, ties):
        over = sql_text(window).split(" OVER ", 1)[-1]
        scan.top_n = (f"{_RANKINGS[type(window.this)]}() OVER {over} <= {bound}: $orderby and "
                      f"$top in each request, no page past its first {bound} rows" +
                      (" and the rows tied with the last" if ties else ""))


def plan_limited(draft: ScanDraft, scan: Scan, columns: dict[int, Column]) -> None:
    """Push a subquery's ``ORDER BY ... LIMIT n [OFFSET o]`` into each request of ``scan``
    when every evaluation of the subquery reads whole requests (module docstring)."""
    if scan.system or scan.empty or scan.items or scan.count or scan.top_n:
        return
    select = draft.ref.scope.expression
    if not isinstance(select, exp.Select) or select.args.get("limit") is None:
        return
    if select.parent is None and len(scan.queries) == 1 and not scan.templates:
        return  # one request of a top-level query: ordering.plan_single pushes its LIMIT
    if not _plain(select, draft, limited=True) or any(select.find_all(exp.Window)):
        return
    limit, offset = limit_offset(select)
    if limit is None:
        return
    bound = limit + (offset or 0)
    if not _local_only_addresses(draft, scan) or not _whole_requests(select, draft, scan, columns):
        return
    order = select.args.get("order")
    keys: list[tuple[str, bool]] = []
    if order is not None:
        keys = pushable_order(order, select, scan, columns) or []
        if not keys:
            return
    if _bound_requests(scan, keys, bound, ()):
        by = f"ORDER BY {', '.join(sql_text(o) for o in order.expressions)} " if order else ""
        scan.top_n = (f"{by}LIMIT {limit}" + (f" OFFSET {offset}" if offset else "") +
                      f" of each {'evaluation' if _correlated(select, draft) else 'query'}: " +
                      ("$orderby and " if keys else "") +
                      f"$top in each request, no page past its first {bound} rows")


def _whole_requests(select: exp.Select, draft: ScanDraft, scan: Scan,
                    columns: dict[int, Column]) -> bool:
    """Each evaluation of ``select`` reads whole requests of the scan: every WHERE conjunct
    naming another table's column is ``column = outer column`` on a column with one value
    per request (``_one_value_per_request``); the others are pushed or addresses
    (``_local_only_addresses``) or name no column of the scan (true or false for the whole
    evaluation)."""
    where = select.args.get("where")
    alias = draft.ref.alias
    for node in conjuncts(where.this if where is not None else None):
        names = {c.table for c in node.find_all(exp.Column)}
        if names <= {alias} or alias not in names:
            continue
        if not isinstance(node, exp.EQ):
            return False
        own = [side for side in (node.this, node.expression)
               if isinstance(side, exp.Column) and side.table == alias]
        if len(own) != 1:
            return False
        column = column_of(own[0], alias, columns)
        if column is None or not _one_value_per_request(column, scan):
            return False
    return True


def _one_value_per_request(column: Column, scan: Scan) -> bool:
    """Every row of one request has the same value of ``column``: a pseudo-column (rows
    carry the value that addressed them), or a slot in every request's path (the messages
    of one folder: ``ParentFolderId``, by id or well-known name, bound by = / IN / a join)."""
    if column.pseudo:
        return True
    slot = "{" + column.name.lower() + "}"
    queries = [*scan.queries, *scan.templates] + (
        [scan.template_query] if scan.template_query is not None else [])
    return bool(queries) and all(slot in q.template.lower() for q in queries)


def _correlated(select: exp.Select, draft: ScanDraft) -> bool:
    return any(c.table != draft.ref.alias for c in select.find_all(exp.Column)
               if c.find_ancestor(exp.Select) is select)


def _bound_requests(scan: Scan, keys: list[tuple[str, bool]], bound: int,
                    ties: tuple[str, ...]) -> bool:
    """Give every request of ``scan`` ``$orderby`` by ``keys`` and ``$top`` with a budget of
    ``bound`` rows (and the rows tied with the last on ``ties``); False, changing nothing,
    when Graph cannot sort one of them."""
    def bounded(query: ODataQuery | None) -> ODataQuery | None:
        if query is None:
            return None
        ordered = order_query(query, scan.table, keys) if keys else query
        if ordered is None:
            return None
        # RANK: one row more shows whether the N-th row's tie goes on past the page.
        wanted = bound + 1 if ties else bound
        top = max(1, min(wanted, query.top)) if query.top is not None else None
        return replace(ordered, top=top, limit=bound, ties=ties)

    queries = tuple(bounded(q) for q in scan.queries)
    templates = tuple(bounded(q) for q in scan.templates)
    template = bounded(scan.template_query)
    if any(q is None for q in queries + templates) or (
            scan.template_query is not None and template is None):
        return False
    scan.queries = queries  # type: ignore[assignment]
    scan.templates = templates  # type: ignore[assignment]
    scan.template_query = template
    return True


def _plain(select: exp.Select, draft: ScanDraft, limited: bool = False) -> bool:
    """The ranked (``limited``: cut) SELECT reads this table alone and has nothing else
    needing all its rows."""
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None or from_.this is not draft.ref.node or select.args.get("joins"):
        return False
    if select.args.get("group") or select.args.get("having") or select.args.get("distinct"):
        return False
    if select.args.get("qualify") and limited:
        return False
    if not limited and (select.args.get("limit") or select.args.get("offset")):
        return False
    windows = [w for w in select.find_all(exp.Window)]
    if any(w.find_ancestor(exp.Select) is not select for w in windows):
        return False
    specs = {_spec(w) for w in windows}
    if len(specs) != (0 if limited else 1):
        return False
    return not any(node.find_ancestor(exp.Select) is select and
                   not node.find_ancestor(exp.Window) for node in select.find_all(exp.AggFunc))


def _spec(window: exp.Window) -> str:
    return sql_text(window)


def _bounded_window(select: exp.Select, scope: Scope) -> tuple[exp.Window, int] | None:
    """The ranking window of ``select`` and the least bound a conjunct puts on it, from the
    SELECT's ``QUALIFY`` or from the WHERE of the SELECT that reads it as a derived table."""
    windows = [w for w in select.find_all(exp.Window) if type(w.this) in _RANKINGS]
    if not windows:
        return None
    window = windows[0]
    names: set[str] = set()
    for projection in select.expressions:
        if isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Window):
            names.add(projection.alias.lower())
    bounds: list[int] = []
    qualify = select.args.get("qualify")
    if qualify is not None:
        bounds += _bounds(conjuncts(qualify.this), names, None, window)
    # A WHERE conjunct of the query reading it removes its rows past the bound whatever the
    # joins there; so does the ON condition of its own inner (or LEFT, as right side) join.
    outer = derived_reader(select, scope)
    if outer is not None and names:
        bounds += _bounds(outer[2], names, outer[1], None)
    return (window, min(bounds)) if bounds else None


def _bounds(nodes: list[exp.Expr], names: set[str], table: str | None,
            window: exp.Window | None) -> list[int]:
    """Upper bounds the conjuncts put on the rank (``rn <= 10``, ``rn < 11``, ``rn = 1``,
    ``rn BETWEEN 1 AND 10``, ``10 >= rn``)."""
    def is_rank(node: exp.Expr) -> bool:
        if window is not None and isinstance(node, exp.Window):
            return _spec(node) == _spec(window)
        return isinstance(node, exp.Column) and node.name.lower() in names and (
            table is None or node.table.lower() in ("", table))

    def number(node: exp.Expr) -> int | None:
        ok, value = literal_value(node)
        if not ok or isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return int(value) if value == int(value) else int(value) + (1 if value > 0 else 0)

    flipped = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE,
               exp.EQ: exp.EQ}
    bounds: list[int] = []
    for node in nodes:
        if isinstance(node, exp.Between) and is_rank(node.this):
            high = number(node.args["high"])
            if high is not None:
                bounds.append(max(high, 0))
            continue
        kind = type(node)
        if kind not in flipped:
            continue
        left, right = node.this, node.expression
        if is_rank(right) and not is_rank(left):
            left, right, kind = right, left, flipped[kind]
        if not is_rank(left):
            continue
        value = number(right)
        if value is None:
            continue
        if kind in (exp.LTE, exp.EQ):
            bounds.append(max(value, 0))
        elif kind is exp.LT:
            bounds.append(max(value - 1, 0))
    return bounds


def _local_only_addresses(draft: ScanDraft, scan: Scan) -> bool:
    """Every WHERE conjunct of the scan is pushed exactly, or only re-checks its address (a
    ``UserId IN (SELECT ...)`` the fan-out satisfies by construction)."""
    if any("re-checked" in p for p in scan.pushed):
        return False
    allowed: set[str] = set()
    if draft.subquery is not None:
        for candidate in draft.candidates:
            if any(node is draft.subquery[1] for node in candidate.node.find_all(exp.Subquery)):
                allowed.add(sql_text(candidate.node))
    return all(text in allowed for text in scan.local)
