"""Planning stage for writes: an INSERT, UPDATE or DELETE to a :class:`WritePlan`.

Writes reuse the read path (DESIGN.md §5.2). ``UPDATE``/``DELETE ... WHERE`` become a SELECT of
the key and the mailbox (``UserId``) of every row the WHERE matches, plus each ``SET``
expression as a computed column, so any WHERE and any SET expression the engine reads can
drive a write; the execution stage runs that SELECT and changes the rows it yields by id.
``INSERT ... VALUES`` binds its values here; ``INSERT ... SELECT`` reads its rows through the
same engine. Nothing here does I/O.

Checks made here, each naming the table or column at fault: the table takes the kind of write
(catalog ``insertable``/``updatable``/``deletable``); every written column is writable
(``readonly = false``), or, for an INSERT, an address column (``UserId``, ``ParentFolderId``,
``CalendarId``...) that chooses where the item is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from ..catalog import Catalog, Column, Table
from ..exceptions import NotSupportedError, ProgrammingError
from .bind import parameter_values
from .dialect import DIALECT
from .parse import Statement
from .pushdown import literal_value

__all__ = ["SET_PREFIX", "WritePlan", "plan_write"]

#: Alias prefix of the computed SET columns in an UPDATE's read (``_set_1``...).
SET_PREFIX = "_set_"


@dataclass(frozen=True)
class WritePlan:
    """One write statement, bound.

    Attributes:
        kind: ``"insert"``, ``"update"`` or ``"delete"``.
        table: the catalog table written.
        columns: INSERT: the target columns in VALUES order; UPDATE: the SET columns.
        rows: INSERT ... VALUES: the bound values, one tuple per row.
        source_sql: UPDATE/DELETE: the SELECT yielding ``key, UserId?, SET values...`` of the
            rows to change; INSERT ... SELECT: the query whose rows are inserted.
        source_params: the named parameters of ``source_sql``.
        address_columns: UPDATE/DELETE: the columns after the key in ``source_sql`` that
            address the item (``UserId``).
        returning: the RETURNING columns (INSERT), in order.
    """

    kind: str
    table: Table
    columns: tuple[Column, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    source_sql: str | None = None
    source_params: dict[str, Any] = field(default_factory=dict)
    address_columns: tuple[Column, ...] = ()
    returning: tuple[Column, ...] = ()


_KINDS = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete"}
_VERBS = {"insert": ("INSERT", "insertable"), "update": ("UPDATE", "updatable"),
          "delete": ("DELETE", "deletable")}


def plan_write(statement: Statement, params: Sequence[Any] | Mapping[str, Any] | None,
               catalog: Catalog) -> WritePlan:
    """Bind ``params`` into a write statement and check it against the catalog."""
    tree = statement.write
    if tree is None:
        raise ProgrammingError("plan_write needs an INSERT, UPDATE or DELETE statement")
    kind = _KINDS[type(tree)]
    values = parameter_values(statement, params)
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    if not isinstance(target, exp.Table) or not target.name:
        raise ProgrammingError(f"{_VERBS[kind][0]} needs a table name")
    table = catalog.table(target.name)
    _check_table(table, kind)
    if kind == "insert":
        assert isinstance(tree, exp.Insert)
        return _plan_insert(tree, table, values)
    if kind == "update":
        assert isinstance(tree, exp.Update)
        return _plan_update(tree, table, values)
    assert isinstance(tree, exp.Delete)
    return _plan_delete(tree, table, values)


def _check_table(table: Table, kind: str) -> None:
    verb, flag = _VERBS[kind]
    if not getattr(table, flag):
        writable = [n for n in ("insertable", "updatable", "deletable") if getattr(table, n)]
        what = ("is read-only" if not writable else
                "takes only " + ", ".join(_VERBS[k][0] for k, (_, f) in _VERBS.items()
                                          if getattr(table, f)))
        raise NotSupportedError(f"cannot {verb} {table.name}: the table {what} in o365sql "
                                "(see sys_tables and sys_tablecolumns.IsReadOnly)")


def is_address(column: Column) -> bool:
    """A column that chooses where an item is created (``UserId``, ``ParentFolderId``)."""
    return column.addresses_endpoint and column.name != "SearchTerms"


def _writable(table: Table, name: str, *, insert: bool) -> Column:
    column = table.column_or_error(name)
    if insert and is_address(column):
        return column
    if column.readonly:
        advice = ""
        if is_address(column) and column.name.lower() == "parentfolderid":
            advice = "; to move an item use EXEC MoveMail (messages)"
        elif is_address(column):
            advice = "; it addresses the item and is given only when inserting"
        raise ProgrammingError(f"column {table.name}.{column.name} is read-only{advice} "
                               f"(writable columns: sys_tablecolumns WHERE TableName = "
                               f"'{table.name}' AND IsReadOnly = false)")
    return column


def _plan_insert(tree: exp.Insert, table: Table, values: dict[str, Any]) -> WritePlan:
    if isinstance(tree.this, exp.Schema):
        names = [e.name for e in tree.this.expressions]
    else:
        names = []
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise ProgrammingError(f"column {table.name}.{name} is given twice in the INSERT")
        seen.add(name.lower())
    returning = _returning(tree, table)
    source = tree.expression
    if isinstance(source, exp.Values):
        if not names:
            raise ProgrammingError(
                f"INSERT INTO {table.name} needs its column list: INSERT INTO {table.name} "
                "(Column, ...) VALUES (...)")
        columns = tuple(_writable(table, n, insert=True) for n in names)
        rows = []
        for number, item in enumerate(source.expressions, 1):
            cells = item.expressions if isinstance(item, exp.Tuple) else [item]
            if len(cells) != len(columns):
                raise ProgrammingError(
                    f"INSERT INTO {table.name}: row {number} has {len(cells)} values for "
                    f"{len(columns)} columns")
            rows.append(tuple(_bound(cell, values, table, column)
                              for cell, column in zip(cells, columns)))
        return WritePlan("insert", table, columns, tuple(rows), returning=returning)
    if isinstance(source, exp.Query):
        if not names:
            names = [s.alias_or_name for s in source.selects]
            if any(not n or n == "*" for n in names):
                raise ProgrammingError(
                    f"INSERT INTO {table.name} SELECT ...: name the columns, INSERT INTO "
                    f"{table.name} (Column, ...) SELECT ...")
        columns = tuple(_writable(table, n, insert=True) for n in names)
        return WritePlan("insert", table, columns, source_sql=source.sql(dialect=DIALECT),
                         source_params=values, returning=returning)
    raise ProgrammingError(f"INSERT INTO {table.name} takes VALUES (...) or a SELECT")


def _returning(tree: exp.Insert, table: Table) -> tuple[Column, ...]:
    clause = tree.args.get("returning")
    if clause is None:
        return ()
    columns: list[Column] = []
    for item in clause.expressions:
        if isinstance(item, exp.Star):
            columns.extend(c for c in table.default_columns() if not c.pseudo)
        elif isinstance(item, exp.Column):
            columns.append(table.column_or_error(item.name))
        else:
            raise ProgrammingError(f"RETURNING takes column names of {table.name}, "
                                   f"not {item.sql(dialect=DIALECT)}")
    return tuple(columns)


def _bound(node: exp.Expr, values: dict[str, Any], table: Table, column: Column) -> Any:
    if isinstance(node, exp.Placeholder):
        return values[node.name]
    ok, value = literal_value(node)
    if not ok:
        raise ProgrammingError(
            f"INSERT INTO {table.name}: the value of {column.name} must be a literal or a "
            f"parameter, not {node.sql(dialect=DIALECT)} (use INSERT ... SELECT to compute it)")
    return value


def _source_select(table: Table, tree: exp.Update | exp.Delete,
                   computed: Sequence[exp.Expr] = ()) -> tuple[str, tuple[Column, ...]]:
    key = table.column_or_error(table.key)
    # The columns an item endpoint needs besides the key (UserId; GroupId of a group's event):
    # each row carries them, so it is changed where it was read.
    needed = {p.lower() for e in table.item_endpoints for p in e.placeholders}
    address = tuple(c for c in table.columns
                    if c.pseudo and c.name.lower() in needed and c.name != key.name)
    select = exp.select(*(exp.column(c.name, quoted=True) for c in (key, *address)))
    for number, node in enumerate(computed, 1):
        select = select.select(exp.alias_(node.copy(), f"{SET_PREFIX}{number}"))
    select = select.from_(exp.table_(table.name, quoted=True))
    where = tree.args.get("where")
    if where is not None:
        select = select.where(where.this.copy())
    return select.sql(dialect=DIALECT), address


def _plan_update(tree: exp.Update, table: Table, values: dict[str, Any]) -> WritePlan:
    columns: list[Column] = []
    computed: list[exp.Expr] = []
    for assignment in tree.expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
            raise ProgrammingError(f"UPDATE {table.name} SET takes Column = value pairs")
        column = _writable(table, assignment.this.name, insert=False)
        if any(c.name == column.name for c in columns):
            raise ProgrammingError(f"column {table.name}.{column.name} is set twice")
        columns.append(column)
        computed.append(assignment.expression)
    for key in ("from", "from_", "joins", "order", "limit"):
        if tree.args.get(key):
            raise NotSupportedError(f"UPDATE {table.name}: FROM, JOIN, ORDER BY and LIMIT are "
                                    "not supported; select the rows with WHERE (subqueries "
                                    "allowed)")
    sql, address = _source_select(table, tree, computed)
    return WritePlan("update", table, tuple(columns), source_sql=sql, source_params=values,
                     address_columns=address)


def _plan_delete(tree: exp.Delete, table: Table, values: dict[str, Any]) -> WritePlan:
    for key in ("using", "order", "limit"):
        if tree.args.get(key):
            raise NotSupportedError(f"DELETE FROM {table.name}: USING, ORDER BY and LIMIT are "
                                    "not supported; select the rows with WHERE")
    sql, address = _source_select(table, tree)
    return WritePlan("delete", table, source_sql=sql, source_params=values,
                     address_columns=address)
