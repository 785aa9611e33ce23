"""Plan stage, addressing: which Graph endpoint(s) a table reference reads.

A table's endpoints are URL templates whose ``{slots}`` are address columns (``UserId``,
``ParentFolderId``, ``CalendarId``, the calendarView window ...). This module finds the WHERE
conjuncts that bind them (``slot = literal``, ``slot IN (...)``, window bounds, an
uncorrelated subquery, ``SearchTerms = '...'``; joins on another table's column are
``joins.py``'s), picks the most specific endpoint per bound
combination (a fan-out when a slot has several values), and renders slot values as path
segments, query parameters and the pseudo-column values rows carry. It also decides when
``Id = x`` / ``Id IN (...)`` reads single items (``GET /me/messages/{id}``) instead of a
collection, and which endpoints read the signed-in user's mailbox (``/me``), which an
app-only connection cannot. Hands :class:`ScanDraft` facts to ``scan_plan.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from ..catalog import SEARCH_TERMS, Column, Endpoint, Table
from ..conversion import odata_literal, parse_datetime
from ..exceptions import ProgrammingError
from .pushdown import column_of, literal_value
from .resolve import TableRef

#: Lower-case name of the pseudo-column that asks for ``$search`` (catalog.py).
SEARCH_COLUMN = SEARCH_TERMS.lower()


@dataclass
class Candidate:
    """A conjunct that may be pushed into one scan, and where it sits in the tree."""

    node: exp.Expr
    removable: bool  # an address conjunct may be replaced by TRUE in the residual query
    # From the ON clause of an outer (LEFT) join: holds only where that join found a row, so
    # only the joined table itself may use it to address its scan (joins.py).
    outer: bool = False


@dataclass
class ScanDraft:
    """What the planner learned about one table reference before planning its scan."""

    ref: TableRef
    candidates: list[Candidate] = field(default_factory=list)
    addresses: dict[str, list[Any]] = field(default_factory=dict)  # slot lower -> values
    # Slots bound by another table's column (``a.MessageId = m.Id``, directly or through a
    # chain of join equalities): slot lower -> (source table reference, its column). Set by
    # ``joins.link_joins`` once every table's candidates are known.
    joins: dict[str, tuple[TableRef, Column]] = field(default_factory=dict)
    # ``slot IN (SELECT ...)`` / ``slot = (SELECT ...)``, uncorrelated: (slot, subquery, scalar)
    subquery: tuple[str, exp.Subquery, bool] | None = None
    search: str | None = None
    used: set[int] = field(default_factory=set)  # id() of conjuncts consumed as address/search
    empty: bool = False  # the WHERE clause of its SELECT is FALSE: no rows, no request


@dataclass(frozen=True)
class Route:
    """One request target: the endpoint and the slot values (lower-case names) it is read with."""

    endpoint: Endpoint
    values: dict[str, Any]


def slots(table: Table) -> set[str]:
    """Lower-case names of the columns that can address an endpoint."""
    names = {name.lower() for endpoint in table.endpoints for name in endpoint.requires}
    names |= {column.lower() for endpoint in table.endpoints for _, column in endpoint.params}
    names |= {c.name.lower() for c in table.columns if c.addresses_endpoint}
    return names


def path_slots(table: Table) -> set[str]:
    """Lower-case names of the columns whose values go into a URL path as a segment."""
    return {p.lower() for e in table.endpoints + table.item_endpoints for p in e.placeholders}


#: Longer path values name nothing: Outlook item ids are about 150 characters, a
#: userPrincipalName at most 113, directory ids are GUIDs; a longer value would only make
#: the URL too long for Graph (414).
MAX_ID_LENGTH = 1024


def names_nothing(value: Any) -> bool:
    """True for a path value no Graph resource can have as its id: empty, ``.`` or ``..``
    (or more dots), or longer than ``MAX_ID_LENGTH``. A dot segment would be dropped or
    resolved against its parent by HTTP clients and servers (RFC 3986 §5.2.4), so such a
    value is never sent: ``slot = '..'`` has no rows, as no row's id is ``..``."""
    return isinstance(value, str) and (not value.strip(".") or len(value) > MAX_ID_LENGTH)


def extract_addresses(draft: ScanDraft, columns: dict[int, Column]) -> None:
    """Find ``slot = literal``, ``slot IN (...)``, window bounds, subqueries and SearchTerms
    (joins: ``joins.py``). A path slot compared with values that name nothing (``names_nothing``)
    makes the scan empty, without a request."""
    ref = draft.ref
    table = ref.table
    names = slots(table)
    in_path = path_slots(table)
    window = tuple(w.lower() for w in table.window) if table.window else ()
    for candidate in draft.candidates:
        node = candidate.node
        if isinstance(node, exp.EQ):
            _equality(draft, node, columns, names, in_path)
        elif isinstance(node, exp.In) and isinstance(node.args.get("query"), exp.Subquery):
            col = column_of(node.this, ref.alias, columns)
            if col is not None and col.name.lower() in names:
                _subquery(draft, col, node.args["query"], scalar=False)
        elif isinstance(node, exp.In) and not node.args.get("query"):
            col = column_of(node.this, ref.alias, columns)
            if col is None or col.name.lower() not in names or col.name.lower() in draft.addresses:
                continue
            if col.name.lower() in in_path:
                values = _path_values(node)
                if values == []:
                    draft.empty = True
                    return
            else:
                values = literal_values(node)
            if values:
                draft.addresses[col.name.lower()] = values
                draft.used.add(id(node))
        elif window and type(node) in (exp.GT, exp.GTE, exp.LT, exp.LTE):
            _window_bound(draft, node, columns, window)


def _path_values(node: exp.In) -> list[Any] | None:
    """The distinct values of ``slot IN (literals)`` that can name an item (an empty list
    when none can), or None when an item is not a literal."""
    values: list[Any] = []
    for item in node.expressions:
        ok, value = literal_value(item)
        if not ok:
            return None
        if value is not None and not names_nothing(value):
            values.append(value)
    return list(dict.fromkeys(values))


def _equality(draft: ScanDraft, node: exp.EQ, columns: dict[int, Column],
              names: set[str], in_path: set[str]) -> None:
    ref = draft.ref
    col = column_of(node.this, ref.alias, columns)
    other = node.expression
    if col is None:
        col, other = column_of(node.expression, ref.alias, columns), node.this
    if col is None:
        return
    name = col.name.lower()
    ok, value = literal_value(other)
    if name == SEARCH_COLUMN and ref.table.search and ok and isinstance(value, str):
        if draft.search is None:
            draft.search = value
            draft.used.add(id(node))
    elif name in in_path and ok and (value is None or names_nothing(value)):
        draft.empty = True  # ``= NULL`` is never true; ``= '..'`` names no item
    elif name in names and ok and value is not None and value != "":
        # (an empty id names nothing: compared locally, it matches no row)
        if name not in draft.addresses:
            draft.addresses[name] = [value]
            draft.used.add(id(node))
    elif name in names and isinstance(other, exp.Subquery):
        _subquery(draft, col, other, scalar=True)
    # ``slot = other.column`` (a join) is found by joins.py, which follows chains of them.


def _subquery(draft: ScanDraft, col: Column, node: exp.Subquery, *, scalar: bool) -> None:
    """Remember an uncorrelated subquery whose values address the endpoint slot ``col``: it
    runs first (its tables are scans of their own), then this scan fans out over its values.
    The conjunct stays in the residual query, which re-checks it over the loaded rows."""
    if draft.subquery is not None or col.name.lower() in draft.addresses or \
            not uncorrelated(node):
        return
    draft.subquery = (col.name, node, scalar)


def uncorrelated(node: exp.Expr) -> bool:
    """True when every column in ``node`` belongs to a source defined inside it."""
    defined = {t.alias_or_name.lower() for t in node.find_all(exp.Table)}
    defined |= {s.alias.lower() for s in node.find_all(exp.Subquery) if s.alias}
    defined |= {c.alias_or_name.lower() for c in node.find_all(exp.CTE)}
    return all(not c.table or c.table.lower() in defined for c in node.find_all(exp.Column))


def literal_values(node: exp.In) -> list[Any]:
    """The distinct values of ``x IN (literals)``; empty when any item is not a usable literal
    (NULL, an empty string, an expression)."""
    values: list[Any] = []
    for item in node.expressions:
        ok, value = literal_value(item)
        if not ok or value is None or value == "":
            return []
        values.append(value)
    return list(dict.fromkeys(values))


#: The comparison seen from its other side (``x > col`` is ``col < x``).
_MIRRORED: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}


def _window_bound(draft: ScanDraft, node: exp.Expr, columns: dict[int, Column],
                  window: tuple[str, ...]) -> None:
    """``StartDateTime >= x`` / ``EndDateTime <= y`` give the calendarView window."""
    ref = draft.ref
    col = column_of(node.this, ref.alias, columns)
    op: type[exp.Expr] = type(node)
    other = node.expression
    if col is None:
        col, other = column_of(node.expression, ref.alias, columns), node.this
        op = _MIRRORED[op]
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


def is_default(column: Column | None, value: Any) -> bool:
    """``UserId = 'me'`` means the signed-in user: the unbound default (catalog.py)."""
    return column is not None and column.default_value is not None and isinstance(
        value, str) and value.lower() == str(column.default_value).lower()


def choose_endpoint(table: Table, bound: set[str]) -> Endpoint:
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


def mailbox_slot(table: Table, endpoint: Endpoint) -> Column | None:
    """The mailbox column (``UserId``) an endpoint leaves to the signed-in user, or None.

    A pseudo-column with a default (``UserId`` defaults to ``'me'``, catalog.py) that some
    endpoint of the table requires but ``endpoint`` does not: ``/me/messages`` next to
    ``/users/{UserId}/messages``.
    """
    needed = {r.lower() for r in endpoint.requires}
    for column in table.columns:
        name = column.name.lower()
        if column.pseudo and isinstance(column.default_value, str) and name not in needed and \
                any(name in {r.lower() for r in e.requires} for e in table.endpoints):
            return column
    return None


def required(endpoint: Endpoint) -> set[str]:
    """Lower-case names of the columns an endpoint uses (path slots and query parameters)."""
    return {r.lower() for r in endpoint.requires} | {c.lower() for _, c in endpoint.params}


def item_routes(table: Table, routes: list[Route], key_values: list[Any]) -> list[Route] | None:
    """Single-item GETs for ``Id = x`` / ``Id IN (...)``, or None when they would not read
    exactly the rows the collection routes read.

    Used only on tables whose catalog says ``item_lookup`` (the item endpoints return exactly
    the collection's members: a message by id from any folder, as ``/me/messages`` spans them
    all, graph-semantics §3.1). Every route's bound slots must be exactly the item endpoint's
    other slots, so no address (a folder, a window) would be dropped.
    """
    if not table.item_lookup or not key_values:
        return None
    key_values = [v for v in key_values if not names_nothing(v)]  # no such item: no GET
    by_name = {c.name.lower(): c for c in table.columns}
    key = table.key.lower()
    result: list[Route] = []
    for route in routes:
        bound = {s for s, v in route.values.items() if not is_default(by_name.get(s), v)}
        endpoint = next((e for e in table.item_endpoints
                         if {r.lower() for r in e.requires} == bound | {key}), None)
        if endpoint is None:
            return None
        for value in key_values:
            if not isinstance(value, str):
                return None
            result.append(Route(endpoint, {**route.values, key: value}))
    return result


def slot_name(requires: tuple[str, ...], lowered: str) -> str:
    return next((r for r in requires if r.lower() == lowered), lowered)


def address_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def param_text(column: Column | None, value: Any) -> str:
    """An endpoint query parameter (``startDateTime=2026-11-01T00:00:00Z``)."""
    if column is not None and column.sql_type == "DATETIME":
        try:
            return odata_literal(parse_datetime(str(value)), "Edm.DateTimeOffset")
        except ValueError:
            raise ProgrammingError(
                f"{column.name} must be an ISO 8601 datetime, not {value!r}") from None
    return address_text(value)


def fill_value(column: Column, value: Any) -> Any:
    """The value rows carry in a pseudo-column bound to ``value``."""
    if column.sql_type == "DATETIME" and isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            return value
    if column.sql_type == "BOOLEAN" and isinstance(value, int):
        return bool(value)
    return value
