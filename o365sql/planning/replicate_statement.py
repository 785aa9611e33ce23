"""Planning stage, ``REPLICATE`` statements (CData's forms, delta-limits-spark §1.3): parsed
into a :class:`ReplicateSpec`; pure, no I/O.

Forms::

    REPLICATE <table> [WHERE <mailboxes>]
    REPLICATE ALL
    REPLICATE TABLES (<table>, <table> ...)

``<mailboxes>`` names the mailboxes to copy: ``UserId = 'x'``, ``UserId IN ('x', 'y')`` or
``UserId IN (SELECT Id FROM Users [WHERE ...])`` (any SELECT giving one column), with
parameters allowed for the values. Nothing else narrows a replica: it holds whole folders so
that a delta round can keep it exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ..exceptions import ProgrammingError

_FORM = re.compile(r"^\s*REPLICATE\s+(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_ALL = re.compile(r"^ALL\s*$", re.IGNORECASE)
_TABLES = re.compile(r"^TABLES\s*\((?P<names>[^()]*)\)\s*$", re.IGNORECASE)
_ONE = re.compile(r"^(?P<name>\[[^\]]+\]|\"[^\"]+\"|[A-Za-z_][A-Za-z0-9_]*)\s*(?:WHERE\s+(?P<where>.+))?$",
                  re.IGNORECASE | re.DOTALL)
REPLICATE_WORD = re.compile(r"^\s*REPLICATE\b", re.IGNORECASE)


@dataclass(frozen=True)
class ReplicateSpec:
    """What one REPLICATE statement asks for.

    Attributes:
        tables: the table names as written (empty with ``all_tables``).
        all_tables: ``REPLICATE ALL``.
        mailboxes: literal ``UserId`` values (or parameter names, prefixed ``:``), or None.
        mailbox_query: the SELECT whose first column lists the mailboxes, or None.
    """

    tables: tuple[str, ...] = ()
    all_tables: bool = False
    mailboxes: tuple[str, ...] | None = None
    mailbox_query: str | None = None


def is_replicate(text: str) -> bool:
    return REPLICATE_WORD.match(text) is not None


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
    where = one.group("where")
    if where is None:
        return ReplicateSpec(tables=(name,))
    mailboxes, query = _mailboxes(name, where)
    return ReplicateSpec(tables=(name,), mailboxes=mailboxes, mailbox_query=query)


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] + name[-1] in ('[]', '""'):
        return name[1:-1]
    return name


def _mailboxes(table: str, where: str) -> tuple[tuple[str, ...] | None, str | None]:
    """The mailbox list of ``WHERE UserId = ... | IN (...)``."""
    try:
        tree = sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}", read="sqlite")
    except (ParseError, TokenError) as exc:
        raise ProgrammingError(f"REPLICATE {table} WHERE: {str(exc).splitlines()[0]}") from None
    condition = tree.args["where"].this
    refused = ProgrammingError(
        f"REPLICATE {table} WHERE accepts only UserId = <value>, UserId IN (<values>) or "
        "UserId IN (SELECT ...): a replica holds whole folders so that delta keeps it exact")
    if isinstance(condition, exp.Paren):
        condition = condition.this
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
