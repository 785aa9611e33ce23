"""Plan stage, join addressing through a derived table or CTE: its mailbox bound outside it.

"The 3 newest messages of each user", written as a join of Users with a derived table::

    SELECT u.Mail, t.Subject
    FROM Users u JOIN (SELECT UserId, Subject, ROW_NUMBER() OVER (PARTITION BY UserId
                                                                ORDER BY ReceivedDateTime DESC) rn
                       FROM Messages) t ON t.UserId = u.Id
    WHERE t.rn <= 3

binds the mailbox of ``Messages`` outside the derived table, where ``joins.py`` (which sees
one scope and the subqueries around it) does not look. Left unbound, ``Messages`` would read
the signed-in user's mailbox (``/me``) whose rows carry ``UserId = 'me'``, which no user id
equals: an empty answer, silently wrong. :func:`link_derived` binds such a slot to the outer
column, as a join inside one scope would (one request per distinct ``u.Id``, ``$batch``), when
that is exact:

* the derived table (or a CTE read once) reads the table alone (joined with others, it is
  refused) and outputs the slot as a plain column;
* each of its rows depends on rows of its own mailbox only: no LIMIT/OFFSET, aggregates only
  grouped by the slot, window functions only partitioned by it;
* the equality ``t.slot = x.column`` holds for every row of it in the answer: a WHERE
  conjunct of the query reading it, the ON condition of its own inner (or LEFT, it being
  the right side) join, or of any other inner join of that query; and it is read in one
  place (a CTE read twice is refused).

Rows of mailboxes the outer column never names could only meet that equality with a value
that is not there, so reading only the named mailboxes changes nothing. When the slot is
compared with another table's column but one of the first two conditions fails, the query
is refused with ``NotSupportedError`` naming the table and the join (bind the mailbox inside,
or use LATERAL) rather than answered from ``/me``; so is an equality in the ON condition of a
join that keeps the derived table's rows without a match (an outer join's preserved side).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from ..catalog import Column
from ..exceptions import NotSupportedError
from .addressing import ScanDraft
from .pushdown import conjuncts
from .resolve import TableRef


def link_derived(drafts: list[ScanDraft], columns: dict[int, Column]) -> None:
    """Bind each draft's unbound mailbox slots through the query reading its derived table
    or CTE (module docstring); raises NotSupportedError where binding would not be exact."""
    by_node = {id(d.ref.node): d for d in drafts}
    for draft in drafts:
        scope = draft.ref.scope
        if draft.ref.is_system or not (scope.is_derived_table or scope.is_cte):
            continue
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        outputs = _slot_outputs(draft, select, columns)
        uses = _uses(select, scope) if outputs else []
        for slot, names in outputs.items():
            exact, anywhere = None, None
            for holder in uses:
                outer = holder.parent.parent if holder.parent is not None else None
                if not isinstance(outer, exp.Select):
                    continue
                alias = holder.alias_or_name.lower()
                every_on = [c for j in outer.args.get("joins") or []
                            for c in conjuncts(j.args.get("on"))]
                anywhere = anywhere or _equality(outer, alias, names, every_on, by_node,
                                                 columns)
                reader = _reader(holder)
                if reader is not None:
                    exact = _equality(outer, alias, names, reader[2], by_node, columns)
            named = exact or anywhere
            if named is None:
                continue
            blocker = ("it is read more than once" if len(uses) != 1 else
                       "the join binding it keeps its rows without a match (it is the "
                       "preserved side of an outer join)" if exact is None else
                       _blocker(select, draft, slot, columns))
            text = named[2]
            if blocker or exact is None:
                raise NotSupportedError(
                    f"{draft.ref.table.name}: its mailbox ({_slot_name(draft, slot)}) is bound "
                    f"outside the derived table that reads it ({text}), but {blocker}, so "
                    "binding it there would change the answer and leaving it unbound would "
                    "read only the signed-in user's mailbox (/me); bind "
                    f"{_slot_name(draft, slot)} inside it (= or IN), or use a LATERAL "
                    "subquery")
            draft.joins[slot] = exact[:2]
            if draft.subquery is not None and draft.subquery[0].lower() == slot:
                draft.subquery = None


def _slot_name(draft: ScanDraft, slot: str) -> str:
    column = draft.ref.table.column(slot)
    return column.name if column is not None else slot


def _slot_outputs(draft: ScanDraft, select: exp.Select, columns: dict[int, Column]
                  ) -> dict[str, set[str]]:
    """Unbound mailbox slots of ``draft`` (pseudo-columns of its endpoints' paths) that
    ``select`` outputs as plain columns: slot -> output names."""
    if draft.ref.node.find_ancestor(exp.Select) is not select:
        return {}
    table = draft.ref.table
    path_slots = {r.lower() for e in table.endpoints for r in e.requires}
    bound = set(draft.addresses) | set(draft.joins) | (
        {draft.subquery[0].lower()} if draft.subquery is not None else set())
    found: dict[str, set[str]] = {}
    for projection in select.expressions:
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if not isinstance(node, exp.Column) or node.table != draft.ref.alias:
            continue
        column = columns.get(id(node))
        if column is None or not column.pseudo:
            continue
        slot = column.name.lower()
        if slot in path_slots and slot not in bound:
            found.setdefault(slot, set()).add(projection.alias_or_name.lower())
    return found


def derived_reader(select: exp.Select, scope: Scope
                   ) -> tuple[exp.Select, str, list[exp.Expr]] | None:
    """The SELECT reading the derived table (or the CTE, read once), its alias there, and
    the conjuncts that hold for every row of it in the answer: the reading SELECT's WHERE and
    the ON condition of its own inner (or LEFT, as the right side) join. None when it is read
    in another place (an outer join's preserved side, several times)."""
    uses = _uses(select, scope)
    return _reader(uses[0]) if len(uses) == 1 else None


def _uses(select: exp.Select, scope: Scope) -> list[exp.Expr]:
    """Where the derived table (its Subquery) or the CTE (each Table naming it) is read."""
    if scope.is_cte:
        cte = select.parent
        if not isinstance(cte, exp.CTE):
            return []
        name = cte.alias_or_name.lower()
        return [t for t in cte.root().find_all(exp.Table)
                if t.name.lower() == name and not t.args.get("db")
                and t.find_ancestor(exp.CTE) is not cte]
    return [select.parent] if isinstance(select.parent, exp.Subquery) else []


def _reader(holder: exp.Expr) -> tuple[exp.Select, str, list[exp.Expr]] | None:
    """(reading SELECT, alias, conjuncts holding for its every row in the answer): the
    WHERE conjuncts always; its own join's ON when that is an inner join or a LEFT join it
    is the right side of (not when an outer join keeps its rows without a match)."""
    place = holder.parent
    outer = place.parent if place is not None else None
    if not isinstance(place, (exp.From, exp.Join)) or not isinstance(outer, exp.Select):
        return None
    own_on: list[exp.Expr] = []
    if isinstance(place, exp.Join) and place.side in ("", "LEFT", None) and \
            place.kind != "FULL":
        own_on = conjuncts(place.args.get("on"))
    # Any other inner join's ON holds for every row of the answer too (``FROM t JOIN Users u
    # ON u.Id = t.UserId``: the derived table in FROM, the equality on the join after it).
    for join in outer.args.get("joins") or []:
        if join is not place and not join.side and join.kind not in ("FULL", "OUTER", "CROSS"):
            own_on += conjuncts(join.args.get("on"))
    where = outer.args.get("where")
    found = conjuncts(where.this) if where is not None else []
    return outer, holder.alias_or_name.lower(), found + own_on


def _equality(outer: exp.Select, alias: str, names: set[str], candidates: list[exp.Expr],
              by_node: dict[int, ScanDraft], columns: dict[int, Column]
              ) -> tuple[TableRef, Column, str] | None:
    """``alias.name = x.column`` (x a catalog table of the outer query) among
    ``candidates``: x's reference and column, and the text."""
    refs = {id(d.ref.node): d.ref for d in by_node.values()}
    for node in candidates:
        if not isinstance(node, exp.EQ):
            continue
        for mine, other in ((node.this, node.expression), (node.expression, node.this)):
            if not (isinstance(mine, exp.Column) and mine.table.lower() == alias and
                    mine.name.lower() in names and isinstance(other, exp.Column)):
                continue
            column = columns.get(id(other))
            source = next((r for r in refs.values() if r.alias == other.table and
                           r.scope.expression is outer), None)
            if column is not None and source is not None:
                return source, column, f"{mine.table}.{mine.name} = {other.table}.{other.name}"
    return None


def _blocker(select: exp.Select, draft: ScanDraft, slot: str,
             columns: dict[int, Column]) -> str:
    """Why a row of the derived table may depend on other mailboxes' rows ("" when none)."""
    def is_slot(node: exp.Expr) -> bool:
        if not isinstance(node, exp.Column) or node.table != draft.ref.alias:
            return False
        column = columns.get(id(node))
        return column is not None and column.name.lower() == slot

    if select.args.get("joins"):
        return "it joins other tables (whose rows may pair with any mailbox's)"
    if select.args.get("limit") is not None or select.args.get("offset") is not None:
        return "it is cut by LIMIT/OFFSET across mailboxes"
    group = select.args.get("group")
    aggregates = [a for a in select.find_all(exp.AggFunc)
                  if a.find_ancestor(exp.Select) is select and not a.find_ancestor(exp.Window)]
    if (group is not None or aggregates) and not (
            group is not None and any(is_slot(g) for g in group.expressions)):
        return f"it aggregates across mailboxes (not grouped by {_slot_name(draft, slot)})"
    for window in select.find_all(exp.Window):
        if window.find_ancestor(exp.Select) is select and not any(
                is_slot(p) for p in window.args.get("partition_by") or []):
            return (f"a window function in it is not partitioned by "
                    f"{_slot_name(draft, slot)}")
    return ""
