"""Planning stage, ``REPLICATE`` statements (CData's forms, delta-limits-spark §1.3): parsed
into a :class:`ReplicateSpec`; pure, no I/O.

Forms::

    REPLICATE <table> [INCLUDE COLUMNS (<heavy column>, ...)] [WHERE <mailboxes> [AND <window>]]
    REPLICATE ALL
    REPLICATE TABLES (<table>, <table> ...)

``<mailboxes>`` names the mailboxes to copy: ``UserId = 'x'``, ``UserId IN ('x', 'y')`` or
``UserId IN (SELECT Id FROM Users [WHERE ...])`` (any SELECT giving one column), with
parameters allowed for the values. ``<window>`` (CalendarView: calendarView delta needs one) is
``StartDateTime >= '<start>' AND EndDateTime <= '<end>'`` (``=`` also accepted), the
conjuncts in any order. Nothing else narrows a replica: it holds whole folders (or windows) so
that a delta round can keep it exact.
``INCLUDE COLUMNS`` names heavy columns (``Body_Content`` ...) the replica keeps from now on
besides the default ones (an o365sql extension, the complement of CData's ``EXCLUDE
COLUMNS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ..exceptions import ProgrammingError

_FORM = re.compile(r"^\s*REPLICATE\s+(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_ALL = re.compile(r"^ALL\s*$", re.IGNORECASE)
_TABLES = re.compile(r"^TABLES\s*\((?P<names>[^()]*)\)\s*$", re.IGNORECASE)
_ONE = re.compile(r"^(?P<name>\[[^\]]+\]|\"[^\"]+\"|[A-Za-z_][A-Za-z0-9_]*)\s*"
                  r"(?:INCLUDE\s+COLUMNS\s*\((?P<columns>[^()]*)\)\s*)?(?:WHERE\s+(?P<where>.+))?$",
                  re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ReplicateSpec:
    """What one REPLICATE statement asks for.

    Attributes:
        tables: the table names as written (empty with ``all_tables``).
        all_tables: ``REPLICATE ALL``.
        mailboxes: literal ``UserId`` values (or parameter names, prefixed ``:``), or None.
        mailbox_query: the SELECT whose first column lists the mailboxes, or None.
        window: the window's start and end as written (text, or parameter names prefixed
            ``:``), or None.
        columns: heavy columns to keep too (``INCLUDE COLUMNS``), as written.
    """

    tables: tuple[str, ...] = ()
    all_tables: bool = False
    mailboxes: tuple[str, ...] | None = None
    mailbox_query: str | None = None
    window: tuple[str, str] | None = None
    columns: tuple[str, ...] = ()


def parse_replicate(text: str) -> ReplicateSpec:
    """Parse a REPLICATE statement (see module docstring)."""
    match = _FORM.match(text.strip().rstrip(";").strip())
    if match is None:
        raise ProgrammingError("REPLICATE needs a table: REPLICATE Messages, REPLICATE ALL or "
                               "REPLICATE TABLES (Messages, MailFolders)")
    rest = match.group("rest").strip()
    if _ALL.match(rest):
        return ReplicateSpec(all_tables=True)
    tables = _TABLES.match(rest)
    if tables:
        names = tuple(_unquote(n.strip()) for n in tables.group("names").split(",") if n.strip())
        if not names:
            raise ProgrammingError("REPLICATE TABLES () names no table")
        return ReplicateSpec(tables=names)
    one = _ONE.match(rest)
    if one is None:
        raise ProgrammingError(f"cannot read REPLICATE {rest[:60]!r}: expected REPLICATE <table> "
                               "[WHERE UserId ...], REPLICATE ALL or REPLICATE TABLES (...)")
    name = _unquote(one.group("name"))
    columns: tuple[str, ...] = ()
    if one.group("columns") is not None:
        columns = tuple(_unquote(c.strip()) for c in one.group("columns").split(",") if c.strip())
        if not columns:
            raise ProgrammingError(f"REPLICATE {name} INCLUDE COLUMNS () names no column")
    where = one.group("where")
    if where is None:
        return ReplicateSpec(tables=(name,), columns=columns)
    return replace(_where(name, where), columns=columns)


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] + name[-1] in ('[]', '""'):
        return name[1:-1]
    return name


def _where(table: str, where: str) -> ReplicateSpec:
    """The mailboxes and window of ``REPLICATE <table> WHERE ...``."""
    try:
        tree = sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}", read="sqlite")
    except (ParseError, TokenError) as exc:
        raise ProgrammingError(f"REPLICATE {table} WHERE: {str(exc).splitlines()[0]}") from None
    refused = ProgrammingError(
        f"REPLICATE {table} WHERE accepts only UserId = <value>, UserId IN (<values>) or "
        "UserId IN (SELECT ...), and (CalendarView) StartDateTime >= '<start>' AND "
        "EndDateTime <= '<end>': a replica holds whole folders or windows so that delta keeps "
        "it exact")
    mailboxes: tuple[str, ...] | None = None
    query: str | None = None
    bounds: dict[str, str] = {}
    for condition in _conjuncts(tree.args["where"].this):
        bound = _bound(condition, refused)
        if bound is not None:
            if bound[0] in bounds:
                raise refused
            bounds[bound[0]] = bound[1]
            continue
        if mailboxes is not None or query is not None:
            raise refused
        mailboxes, query = _mailboxes(condition, refused)
    if len(bounds) == 1:
        raise ProgrammingError(f"REPLICATE {table} WHERE: a window needs both StartDateTime >= "
                               "'<start>' and EndDateTime <= '<end>'")
    window = (bounds["startdatetime"], bounds["enddatetime"]) if bounds else None
    return ReplicateSpec(tables=(table,), mailboxes=mailboxes, mailbox_query=query,
                         window=window)


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


#: The comparisons that bound a window, seen with the column on the left.
_BOUNDS: dict[type[exp.Expression], tuple[str, ...]] = {
    exp.GTE: ("startdatetime",), exp.LTE: ("enddatetime",),
    exp.EQ: ("startdatetime", "enddatetime")}
_MIRROR: dict[type[exp.Expression], type[exp.Expression]] = {
    exp.GTE: exp.LTE, exp.LTE: exp.GTE, exp.EQ: exp.EQ}


def _bound(condition: exp.Expression, refused: Exception) -> tuple[str, str] | None:
    """``StartDateTime >= x`` or ``EndDateTime <= y`` (either side): (column, value)."""
    kind = type(condition)
    if kind not in _BOUNDS:
        return None
    column, other = condition.this, condition.expression
    if not isinstance(column, exp.Column):
        column, other, kind = other, column, _MIRROR[kind]
    if not isinstance(column, exp.Column):
        return None
    name = column.name.lower()
    if name not in ("startdatetime", "enddatetime"):
        return None
    if name not in _BOUNDS[kind]:
        raise refused
    return name, _value(other, refused)


def _mailboxes(condition: exp.Expression,
               refused: Exception) -> tuple[tuple[str, ...] | None, str | None]:
    """The mailbox list of ``UserId = ... | IN (...)``."""
    column = condition.this if isinstance(condition, (exp.EQ, exp.In)) else None
    if not isinstance(column, exp.Column) or column.name.lower() != "userid":
        raise refused
    if isinstance(condition, exp.EQ):
        return (_value(condition.expression, refused),), None
    assert isinstance(condition, exp.In)
    query = condition.args.get("query")
    if query is not None:
        select = query.this if isinstance(query, exp.Subquery) else query
        return None, select.sql(dialect="sqlite")
    return tuple(_value(v, refused) for v in condition.expressions), None


def _value(node: exp.Expression, refused: Exception) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    if isinstance(node, exp.Placeholder):
        return ":" + str(node.name)
    raise refused
