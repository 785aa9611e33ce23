"""Plan stage, join addressing: endpoint slots bound by another table's column.

``JOIN MessageAttachments a ON a.MessageId = m.Id AND a.UserId = m.UserId`` addresses each
request of ``a`` with one row's pair of values: ``GET /users/{UserId}/messages/{MessageId}/
attachments``. Attachments, event instances and the messages of a folder live under their
parent *in a mailbox*, so a fan-out must carry the mailbox of every parent row, never fall
back to ``/me`` (which reads the signed-in user's mailbox, and which Graph refuses outright for
an app-only token: "/me request is only valid with delegated authentication flow").

A slot is bound when a join equality ties it to another table's column, directly or through a
chain of them (``a.UserId = u.Id`` and ``m.UserId = u.Id`` bind ``a.UserId`` to
``m.UserId``). The equalities used hold for every row of the table that reaches the answer:
WHERE conjuncts and inner-join ON conditions, plus the table's own ON condition when it is the
inner side of a LEFT join (another LEFT join's ON holds only where that join matched). Each
slot gets one source column; one source table binding several slots gives the slots' values
row by row (pairs), several sources give every combination (a pair naming no item reads no
rows, as the table itself would hold none). Sources are chosen so that no two scans wait for
each other: tables that cannot choose an endpoint without the join (attachments need their
message) choose first.

:func:`link_joins` fills ``ScanDraft.joins`` for ``scan_plan.py``; :func:`instantiate` turns
a dependent scan's template into one request per set of values at run time (execution), using
the ``/me`` endpoint where a value is the default ``'me'`` (a parent read from ``/me``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from ..catalog import Column, Table
from ..exceptions import ProgrammingError
from ..odata.query import ODataQuery
from .addressing import SEARCH_COLUMN, ScanDraft, address_text, choose_endpoint, is_default, slots
from .resolve import TableRef

#: A column of a table reference: (alias, lower-case column name).
Key = tuple[str, str]


def link_joins(drafts: list[ScanDraft], columns: dict[int, Column]) -> None:
    """Set ``draft.joins`` (slot -> source reference and column) for every draft.

    A draft whose endpoint slots are bound by an uncorrelated subquery keeps the subquery
    unless it cannot choose an endpoint without the join (then the join wins and the
    subquery stays an ordinary, residual condition).
    """
    groups: dict[int, list[ScanDraft]] = {}
    for draft in drafts:
        groups.setdefault(id(draft.ref.scope), []).append(draft)
    for group in groups.values():
        # A table in a subquery (EXISTS, IN, a scalar one) may be addressed by the tables of
        # the queries around it, as a join would be: ``EXISTS (SELECT 1 FROM
        # MessageAttachments a WHERE a.MessageId = m.Id)`` reads the attachments of every
        # message m; the residual query still evaluates the subquery itself. Those outer
        # tables are sources only (they never wait on the subquery's tables).
        outer = [d for scope in _enclosing(group[0].ref.scope)
                 for d in groups.get(id(scope), [])]
        if len(group) + len(outer) < 2:
            continue
        # Tables that cannot be addressed without a join choose their sources first; then
        # the others, last in the FROM clause first, so that a table fans out over the rows
        # of one named before it when both could. (``sys_*`` tables are only sources.)
        graph_drafts = [d for d in group if not d.ref.is_system]
        ordered = [d for d in graph_drafts if _needs_join(d)] + [
            d for d in reversed(graph_drafts) if not _needs_join(d)]
        sources = outer + group  # the subquery's own aliases shadow outer ones
        waits: dict[int, set[int]] = {id(d.ref): set() for d in sources}
        for draft in ordered:
            if draft.subquery is not None and not _needs_join(draft):
                continue
            options = _options(draft, sources, columns)
            blocked = {id(d.ref) for d in group if _waits_on(waits, id(d.ref), id(draft.ref))}
            chosen = _choose(draft, options, blocked, [d.ref for d in sources])
            if chosen:
                draft.joins = chosen
                draft.subquery = None
                waits[id(draft.ref)] |= {id(ref) for ref, _ in chosen.values()}


def _enclosing(scope: Scope) -> list[Scope]:
    """The scopes whose tables a subquery (or LATERAL) scope may name (outermost first); none
    for the others (a derived table or CTE cannot see the query around it)."""
    found: list[Scope] = []
    # A LATERAL subquery sees the FROM items before it through its UDTF scope.
    while (scope.is_subquery or scope.is_udtf) and scope.parent is not None:
        scope = scope.parent
        found.insert(0, scope)
    return found


def _in_link(draft: ScanDraft) -> tuple[exp.Expr, exp.Expr] | None:
    """``outer IN (SELECT inner FROM <draft's table> ...)``: (outer, inner), which the
    subquery's rows satisfy as they would the join equality ``inner = outer``."""
    select = draft.ref.scope.expression
    holder = select.parent
    node = holder.parent if holder is not None else None
    if not isinstance(select, exp.Select) or not isinstance(node, exp.In) or \
            node.args.get("query") is not holder or len(select.selects) != 1:
        return None
    return node.this, select.selects[0].unalias()


def _needs_join(draft: ScanDraft) -> bool:
    """True when no endpoint can be chosen from the literal addresses (and subquery) alone."""
    table = draft.ref.table
    by_name = {c.name.lower(): c for c in table.columns}
    bound = {s for s, values in draft.addresses.items()
             if not all(is_default(by_name.get(s), v) for v in values)}
    if draft.subquery is not None:
        bound.add(draft.subquery[0].lower())
    try:
        choose_endpoint(table, bound)
    except ProgrammingError:
        return True
    return False


def _waits_on(waits: dict[int, set[int]], start: int, target: int) -> bool:
    """True when ``start`` waits (transitively) on ``target``: ``target`` may not then wait
    on ``start``."""
    seen: set[int] = set()
    pending = [start]
    while pending:
        current = pending.pop()
        if current == target:
            return True
        if current in seen:
            continue
        seen.add(current)
        pending.extend(waits.get(current, ()))
    return False


def _options(draft: ScanDraft, group: list[ScanDraft], columns: dict[int, Column]
             ) -> dict[str, list[tuple[TableRef, Column]]]:
    """Per unbound endpoint slot of ``draft``: the other tables' columns it equals."""
    ref = draft.ref
    table = ref.table
    refs = {d.ref.alias: d.ref for d in group}
    parent: dict[Key, Key] = {}
    known: dict[Key, Column] = {}

    def find(key: Key) -> Key:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    # Equalities that hold wherever a row of ``draft`` reaches the answer: WHERE and inner
    # ON conditions (null-rejecting), the draft's own ON, and the ON of a LEFT-joined table
    # those force to be present (an equality with its column needs a non-null value there).
    edges: dict[int, tuple[tuple[Key, Column], tuple[Key, Column], str]] = {}
    for other in group:
        for candidate in other.candidates:
            pair = _column_pair(candidate.node, refs, columns)
            if pair is not None:
                owner = other.ref.alias if candidate.outer and other is not draft else ""
                edges[id(candidate.node)] = (pair[0], pair[1], owner)
    link = _in_link(draft)
    if link is not None:
        pair = _sides(link[0], link[1], refs, columns)
        if pair is not None:
            edges[id(link[0])] = (pair[0], pair[1], "")
    present = {ref.alias}
    used: set[int] = set()
    progressed = True
    while progressed:
        progressed = False
        for key, (left, right, owner) in edges.items():
            if key in used or (owner and owner not in present):
                continue
            used.add(key)
            progressed = True
            present |= {left[0][0], right[0][0]}
            known[left[0]], known[right[0]] = left[1], right[1]
            parent[find(left[0])] = find(right[0])
    window = {w.lower() for w in table.window or ()}
    path_slots = {r.lower() for e in table.endpoints for r in e.requires}
    wanted = (slots(table) & path_slots) - window - set(draft.addresses) - {SEARCH_COLUMN}
    options: dict[str, list[tuple[TableRef, Column]]] = {}
    for slot in sorted(wanted):
        own = (ref.alias, slot)
        if own not in known:
            continue
        root = find(own)
        found = [(refs[alias], known[(alias, name)]) for alias, name in known
                 if alias != ref.alias and find((alias, name)) == root]
        if found:
            options[slot] = found
    return options


def _column_pair(node: exp.Expr, refs: dict[str, TableRef], columns: dict[int, Column]
                 ) -> tuple[tuple[Key, Column], tuple[Key, Column]] | None:
    """``x.a = y.b`` between two table references of the scope, as two keyed columns."""
    if not isinstance(node, exp.EQ):
        return None
    return _sides(node.this, node.expression, refs, columns)


def _sides(first: exp.Expr, second: exp.Expr, refs: dict[str, TableRef],
           columns: dict[int, Column]) -> tuple[tuple[Key, Column], tuple[Key, Column]] | None:
    """Two column expressions of two different table references, as keyed columns."""
    sides = []
    for side in (first, second):
        while isinstance(side, exp.Paren):
            side = side.this
        if not isinstance(side, exp.Column):
            return None
        column = columns.get(id(side))
        if column is None or side.table not in refs:
            return None
        sides.append(((side.table, column.name.lower()), column))
    if sides[0][0][0] == sides[1][0][0]:
        return None
    return sides[0], sides[1]


def _choose(draft: ScanDraft, options: dict[str, list[tuple[TableRef, Column]]],
            blocked: set[int], order: list[TableRef]
            ) -> dict[str, tuple[TableRef, Column]]:
    """One source per slot: the fewest source tables (so values come as rows' pairs), the
    earliest in the FROM clause on a tie; never a table that waits on this one."""
    rank = {id(ref): i for i, ref in enumerate(order)}
    left = {slot: [(r, c) for r, c in found if id(r) not in blocked]
            for slot, found in options.items()}
    left = {slot: found for slot, found in left.items() if found}
    chosen: dict[str, tuple[TableRef, Column]] = {}
    while left:
        counts: dict[int, int] = {}
        for found in left.values():
            for ref_id in {id(r) for r, _ in found}:
                counts[ref_id] = counts.get(ref_id, 0) + 1
        best = min(counts, key=lambda ref_id: (-counts[ref_id], rank.get(ref_id, 0)))
        for slot in list(left):
            match = next(((r, c) for r, c in left[slot] if id(r) == best), None)
            if match is not None:
                chosen[slot] = match
                del left[slot]
    return chosen


def instantiate(table: Table, query: ODataQuery, values: dict[str, Any]) -> ODataQuery:
    """A dependent scan's template addressed with one set of slot values (slot name ->
    value). A value that is the slot's default (``UserId = 'me'``: the parent was read from
    the signed-in user's mailbox) selects the endpoint without that slot (``/me/...``)."""
    defaulted = {s.lower() for s, v in values.items() if is_default(table.column(s), v)}
    if defaulted:
        current = next((e for e in table.endpoints if e.template == query.template), None)
        wanted = ({r.lower() for r in current.requires} if current is not None else set()) - \
            defaulted
        endpoint = next((e for e in table.endpoints
                         if {r.lower() for r in e.requires} == wanted), None)
        if endpoint is None:
            raise ProgrammingError(
                f"{table.name}: no endpoint reads {', '.join(sorted(wanted))} of the signed-in "
                "user's mailbox")
        query = replace(query, template=endpoint.template, address=tuple(
            (k, v) for k, v in query.address if k.lower() not in defaulted))
    return query.with_address(**{s: address_text(v) for s, v in values.items()
                                 if s.lower() not in defaulted})
