"""Plan stage, ``SearchTerms``: what a query's search terms become in Graph's ``$search``.

``WHERE SearchTerms = '...'`` is an addressing input, not a filter: it chooses the rows Graph's
search returns (fuzzy, ranked, tokenized: no local equivalent), so it is sent with pushdown on
and off alike, and it must be a top-level AND conjunct of the table's own WHERE clause. Any
other use in a condition (under OR or NOT, ``<>``, ``LIKE``, a second ``SearchTerms = ...``)
is a ``ProgrammingError`` rather than a comparison with a column that holds nothing.

Forms (https://learn.microsoft.com/graph/search-query-parameter):

* messages (KQL, graph-semantics §4.1): the terms in double quotes (``$search="pizza"``);
* users/groups (directory, §4.2): Graph needs ``"property:value"`` clauses. A bare term
  ``adele`` searches ``displayName`` (``$search="displayName:adele"``); ``description:sales``
  names a searchable property (catalog ``searchable``); text already in Graph's form
  (``"displayName:wa" OR "displayName:to"``) passes through once its properties are checked.

Hands the ``$search`` text to ``scan_plan.py``.
"""

from __future__ import annotations

import re

from sqlglot import exp

from ..catalog import Column, Table
from ..exceptions import ProgrammingError
from ..odata.query import search_expression

#: The property a bare directory search term is matched against (tokenized, §4.2).
DEFAULT_DIRECTORY_PROPERTY = "displayName"

_PROPERTY_VALUE = re.compile(r"^\s*([A-Za-z]\w*)\s*:(.*)$", re.DOTALL)
_CLAUSES = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|AND\b|OR\b|\(|\))')


def search_text(table: Table, terms: str) -> str:
    """The ``$search`` value for ``WHERE SearchTerms = terms`` on ``table``."""
    if not terms.strip():
        raise ProgrammingError(f"{table.name}.SearchTerms needs search terms, not an empty "
                               "string")
    if table.search != "directory":
        return search_expression(terms)
    properties = _searchable(table)
    stripped = terms.strip()
    if stripped.startswith(("\"", "(")):
        return _graph_form(table, stripped, properties)
    match = _PROPERTY_VALUE.match(stripped)
    if match is None:
        prop, value = DEFAULT_DIRECTORY_PROPERTY, stripped
    else:
        prop, value = match.group(1), match.group(2).strip()
    canonical = properties.get(prop.lower())
    if canonical is None or not value:
        raise _directory_error(table, terms, properties)
    return _quoted(f"{canonical}:{value}")


def _searchable(table: Table) -> dict[str, str]:
    return {c.path[0].lower(): c.path[0] for c in table.columns if c.searchable and c.path}


def _quoted(text: str) -> str:
    # Inside a directory clause only " and \ are escaped, with a backslash (§4.2).
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _graph_form(table: Table, text: str, properties: dict[str, str]) -> str:
    """Check ``"prop:value" OR "prop:value"`` text (clauses, AND/OR, parentheses)."""
    pos, depth, expect_clause = 0, 0, True
    while pos < len(text):
        match = _CLAUSES.match(text, pos)
        if match is None:
            raise _directory_error(table, text, properties)
        token = match.group().strip()
        pos = match.end()
        if token == "(" and expect_clause:
            depth += 1
        elif token == ")" and not expect_clause and depth:
            depth -= 1
        elif token in ("AND", "OR") and not expect_clause:
            expect_clause = True
        elif token.startswith('"') and expect_clause:
            clause = _PROPERTY_VALUE.match(token[1:-1])
            if clause is None or clause.group(1).lower() not in properties or \
                    not clause.group(2).strip():
                raise _directory_error(table, text, properties)
            expect_clause = False
        else:
            raise _directory_error(table, text, properties)
    if expect_clause or depth:
        raise _directory_error(table, text, properties)
    return text


def _directory_error(table: Table, terms: str, properties: dict[str, str]) -> ProgrammingError:
    names = ", ".join(sorted(properties.values())) or "none"
    return ProgrammingError(
        f"{table.name}.SearchTerms = {terms!r}: Graph's directory $search takes a word "
        f"(searched in {DEFAULT_DIRECTORY_PROPERTY}), 'property:value', or '\"property:value\" "
        f"OR \"property:value\"' clauses, with property one of: {names} (see "
        "https://learn.microsoft.com/graph/search-query-parameter). This is a limit of Graph, "
        "so Pushdown=false does not lift it")


def check_search_uses(table: Table, alias: str, scope_root: exp.Expr,
                      columns: dict[int, Column]) -> None:
    """Raise when ``SearchTerms`` of this table reference is still in a condition once the
    one top-level ``SearchTerms = '...'`` conjunct has been consumed (replaced by TRUE)."""
    terms = next((c for c in table.columns if c.name.lower() == "searchterms"), None)
    if terms is None:
        return
    for node in scope_root.find_all(exp.Column):
        if node.table != alias or columns.get(id(node)) is not terms:
            continue
        condition = node.find_ancestor(exp.Where, exp.Having, exp.Join)
        if condition is None:
            continue  # a projection, ORDER BY, GROUP BY: the rows carry the terms
        # The conjunct that holds it: the text up to the nearest AND (or the clause itself).
        where = next((a for a in _ancestors(node) if a.parent is condition or isinstance(
            a.parent, exp.And)), node)
        raise ProgrammingError(
            f"{table.name}.SearchTerms must be bound by a top-level AND condition "
            f"WHERE SearchTerms = '<terms>' (it asks Graph for $search; it is not a column "
            f"to compare), not used in {where.sql(dialect='sqlite')}")


def _ancestors(node: exp.Expr) -> list[exp.Expr]:
    chain: list[exp.Expr] = []
    current: exp.Expr | None = node
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain
