"""What one Spark read asks o365sql: the SELECT, its result columns, and the SQL each slice runs.

Stage: pure (parse and plan only, no I/O). The ``table`` option becomes ``SELECT <columns> FROM
<table>`` (the ``SELECT *`` columns, or the columns of a schema the user gave Spark, which is how
a Spark user prunes columns: Spark's Python data source API has no column pruning hook); the
``query`` option is checked to be a per-row query over one table (projections and WHERE), since
an aggregate, ORDER BY, LIMIT or join over one mailbox is not a part of the same thing over all
of them: Spark does those over the union. Each slice of a partition runs that SELECT with more
conjuncts ANDed into its WHERE (the mailbox, a time range, the filters Spark pushed), every value
a named parameter, so no value can change a statement's structure. The result types come from
the driver's own planner (``plan_query``), so Spark's schema is the driver's ``description``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..catalog import Catalog, Table
from ..exceptions import NotSupportedError, ProgrammingError
from ..planning import plan_query, prepare
from ..planning.dialect import DIALECT
from .schema import spark_type

#: Parameter names the source adds; the user's query has none (Spark options carry no values).
MAILBOX_PARAM = "o365sql_mailbox"
LOW_PARAM = "o365sql_from"
HIGH_PARAM = "o365sql_until"


@dataclass(frozen=True)
class ResultColumn:
    """One column of the DataFrame: its name, Spark type, and the table column it shows
    unchanged (for filter pushdown), if any."""

    name: str
    spark_type: str
    source: str | None


@dataclass(frozen=True)
class ReadStatement:
    """The SELECT one Spark read runs per slice (picklable: plain text and tuples).

    Attributes:
        sql: the SELECT without the source's conjuncts.
        table: the catalog table read.
        columns: the DataFrame's columns.
        mailbox_column: the table's mailbox column (``UserId``), or None for tables that are
            not per mailbox (``Users``, ``Groups``): those are read in one partition.
        split_column: the time column large mailboxes are split on, or None.
    """

    sql: str
    table: str
    columns: tuple[ResultColumn, ...]
    mailbox_column: str | None
    split_column: str | None

    def ddl(self) -> str:
        """Spark's schema as a DDL string (``\\`Subject\\` STRING, ...``)."""
        return ", ".join(f"`{c.name.replace('`', '``')}` {c.spark_type}" for c in self.columns)

    def slice_sql(self, conjuncts: list[exp.Expr]) -> str:
        """The SELECT with ``conjuncts`` ANDed into its WHERE."""
        tree = prepare(self.sql).tree
        assert isinstance(tree, exp.Select)
        tree = tree.copy()
        for conjunct in conjuncts:
            tree = tree.where(conjunct, dialect=DIALECT, copy=False)
        return tree.sql(dialect=DIALECT)

    def mailbox_conjuncts(self, *, low: bool, high: bool) -> list[exp.Expr]:
        """``UserId = :o365sql_mailbox`` and, for a time slice, ``col >= :from`` /
        ``col < :until`` (half-open ranges, so adjacent slices never share a row)."""
        found: list[exp.Expr] = []
        if self.mailbox_column is not None:
            found.append(exp.EQ(this=column(self.mailbox_column),
                                expression=exp.Placeholder(this=MAILBOX_PARAM)))
        if self.split_column is not None and low:
            found.append(exp.GTE(this=column(self.split_column),
                                 expression=exp.Placeholder(this=LOW_PARAM)))
        if self.split_column is not None and high:
            found.append(exp.LT(this=column(self.split_column),
                                expression=exp.Placeholder(this=HIGH_PARAM)))
        return found


    def group_conjunct(self, count: int) -> exp.Expr:
        """``UserId IN (:o365sql_mailbox_0, ...)``: several whole mailboxes in one statement,
        which the driver fans out through ``$batch`` (20 requests a POST)."""
        assert self.mailbox_column is not None
        return exp.In(this=column(self.mailbox_column), expressions=[
            exp.Placeholder(this=f"{MAILBOX_PARAM}_{i}") for i in range(count)])


def group_parameters(mailboxes: list[str]) -> dict[str, Any]:
    """The values of ``ReadStatement.group_conjunct``."""
    return {f"{MAILBOX_PARAM}_{i}": m for i, m in enumerate(mailboxes)}


def column(name: str) -> exp.Column:
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def read_statement(catalog: Catalog, *, table: str | None, query: str | None,
                   split_option: str | None, wanted: list[str] | None = None) -> ReadStatement:
    """Check the ``table``/``query`` option and plan its result columns.

    Args:
        wanted: the column names of a schema the user gave Spark (``table`` only): the
            SELECT reads just those.

    Raises:
        ProgrammingError: an unknown table or column, a query that is not one SELECT.
        NotSupportedError: a query whose answer over all mailboxes is not the union of its
            answers per mailbox (aggregates, ORDER BY, LIMIT, DISTINCT, joins, set
            operations), or that chooses the mailbox itself.
    """
    if table is not None:
        found = catalog.table(table)
        if wanted:
            names = [_table_column(found, name) for name in wanted]
            projection = ", ".join(f'"{n}"' for n in names)
        else:
            projection = "*"
        sql = f'SELECT {projection} FROM "{found.name}"'
    else:
        assert query is not None
        sql = query.strip().rstrip(";")
    statement = prepare(sql)
    if statement.kind != "select" or statement.explain or not isinstance(statement.tree,
                                                                          exp.Select):
        raise ProgrammingError("o365sql data source: option query must be one SELECT")
    tree = statement.tree
    source = _one_table(tree, catalog)
    mailbox = mailbox_column(source)
    if query is not None:
        _check_per_row(tree, mailbox)
    split = _split_column(source, split_option)
    # Plan it as a task will run it (one mailbox bound), to learn the result columns.
    probe = ReadStatement(sql, source.name, (), mailbox, None)
    conjuncts = probe.mailbox_conjuncts(low=False, high=False)
    bound = {MAILBOX_PARAM: "probe@example.invalid"} if mailbox else {}
    plan = plan_query(prepare(probe.slice_sql(conjuncts)), bound, catalog, app_only=True)
    sources = _plain_columns(tree, source)
    columns = tuple(ResultColumn(o.name, spark_type(o.convert or o.sql_type),
                                 sources.get(o.name.lower())) for o in plan.output)
    names = [c.name.lower() for c in columns]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ProgrammingError(f"o365sql data source: the result has two columns named "
                               f"{duplicate!r}; give them different aliases")
    return ReadStatement(sql, source.name, columns, mailbox, split)


def mailbox_column(table: Table) -> str | None:
    """The pseudo-column that names the mailbox (``UserId``, default ``'me'``), or None."""
    for col in table.columns:
        if col.pseudo and isinstance(col.default_value, str) and \
                col.default_value.lower() == "me":
            return col.name
    return None


def _table_column(table: Table, name: str) -> str:
    col = table.column(name)
    if col is None:
        raise ProgrammingError(f"o365sql data source: {table.name} has no column {name!r} "
                               "(from the schema given to Spark)")
    return col.name


def _one_table(tree: exp.Select, catalog: Catalog) -> Table:
    tables = list(tree.find_all(exp.Table))
    if len(tables) != 1 or tree.args.get("joins"):
        raise NotSupportedError(
            "o365sql data source: option query must read one table (join in Spark instead, "
            "e.g. with a DataFrame of Users)")
    return catalog.table(tables[0].name)


def _check_per_row(tree: exp.Select, mailbox: str | None) -> None:
    """The query must distribute over mailboxes: its answer is the union of per-mailbox ones."""
    for key, what in (("group", "GROUP BY"), ("having", "HAVING"), ("order", "ORDER BY"),
                      ("limit", "LIMIT"), ("offset", "OFFSET"), ("distinct", "DISTINCT"),
                      ("with", "WITH")):
        if tree.args.get(key):
            raise NotSupportedError(
                f"o365sql data source: option query cannot use {what}: each task reads "
                f"other mailboxes, so do {what} in Spark over the DataFrame")
    if any(True for _ in tree.find_all(exp.AggFunc)) or any(
            True for _ in tree.find_all(exp.Window)):
        raise NotSupportedError("o365sql data source: option query cannot aggregate: each "
                                "task reads other mailboxes, so aggregate in Spark")
    if any(True for _ in tree.find_all(exp.Placeholder)):
        raise ProgrammingError("o365sql data source: option query cannot have parameters "
                               "(Spark options carry no values); write literals")
    where = tree.args.get("where")
    if mailbox is not None and where is not None and any(
            c.name.lower() == mailbox.lower() for c in where.find_all(exp.Column)):
        raise NotSupportedError(f"o365sql data source: option query cannot choose the "
                                f"mailbox ({mailbox}); use the option mailboxes or mailboxQuery")


def _plain_columns(tree: exp.Select, table: Table) -> dict[str, str]:
    """Result name (lower) -> table column name, for results that show a column unchanged."""
    found: dict[str, str] = {}
    for projection in tree.expressions:
        if isinstance(projection, exp.Star):
            for col in table.default_columns():
                found[col.name.lower()] = col.name
            continue
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
            named = table.column(node.name)
            if named is not None:
                found[projection.alias_or_name.lower()] = named.name
    return found


def _split_column(table: Table, option: str | None) -> str | None:
    """The column large mailboxes are split on: never nullable (a NULL would fall in no
    half-open range), compared exactly by Graph with ``ge`` and ``lt``, and orderable (its
    first and last values are read with ``$orderby``/``$top=1``)."""
    if option is not None and option.lower() == "none":
        return None
    name = option or "ReceivedDateTime"
    col = table.column(name)
    if col is None:
        if option is None:
            return None
        raise ProgrammingError(f"o365sql data source: {table.name} has no column {option!r} "
                               "(option splitColumn)")
    if col.sql_type != "DATETIME" or col.nullable or not col.orderable or \
            not {"ge", "lt"} <= col.filter_ops or not col.filter_exact:
        raise ProgrammingError(
            f"o365sql data source: {table.name}.{col.name} cannot split a mailbox (option "
            "splitColumn): it must be a non-null datetime Graph filters with ge/lt and orders "
            "by")
    return col.name


def parameters(mailbox: str | None, low: Any, high: Any) -> dict[str, Any]:
    """The source's parameter values for one slice."""
    values: dict[str, Any] = {}
    if mailbox is not None:
        values[MAILBOX_PARAM] = mailbox
    if low is not None:
        values[LOW_PARAM] = low
    if high is not None:
        values[HIGH_PARAM] = high
    return values
