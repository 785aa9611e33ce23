"""Planning a read on Spark's driver: which mailboxes, how big, and so which partitions.

Stage: driver side, I/O through o365sql itself. ``partitions()`` runs once per query plan on
Spark's driver. It lists the mailboxes (the ``mailboxes`` option, or the first column of
``mailboxQuery``, by default every user with a mail address), counts each one's rows with the
same conjuncts the tasks will send (one ``/$count`` request per mailbox when Graph can count
them exactly, else the mailbox's whole count), and, for a mailbox over the target, reads the
first and last value of the split column (``$orderby`` with ``$top=1``, two requests) so it can
be cut into time ranges. Counting runs on a few threads, each with its own connection.

A mailbox that answers 403 or 404 while it is counted is planned like any other under
``onMailboxError=skip`` (its task meets the same answer and reports it), and fails the read
under ``fail``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlglot import exp

from ..connection import Connection
from ..exceptions import Error, ProgrammingError
from ..planning import plan_query, prepare
from ..planning.dialect import DIALECT
from .filters import PushedFilter
from .options import DEFAULT_MAILBOX_QUERY, SourceOptions
from .partitioning import MailboxSize, Slice, plan
from .signin import open_connection
from .statement import MAILBOX_PARAM, ReadStatement, column
from .task import is_mailbox_error

#: Connections counting mailboxes at once on Spark's driver.
COUNTING_THREADS = 4


def list_mailboxes(connection: Connection, options: SourceOptions) -> list[str]:
    """The mailboxes to read, in a stable order, without duplicates or empties."""
    if options.mailboxes is not None:
        return list(options.mailboxes)
    sql = options.mailbox_query or DEFAULT_MAILBOX_QUERY
    cursor = connection.execute(sql)
    if not cursor.description:
        raise ProgrammingError("o365sql data source: option mailboxQuery returned no columns")
    found = [str(row[0]) for row in cursor.fetchall() if row[0] not in (None, "")]
    return list(dict.fromkeys(found))


def plan_partitions(options: SourceOptions, statement: ReadStatement,
                    pushed: Sequence[PushedFilter]) -> list[tuple[Slice, ...]]:
    """The partitions of one read (see the module docstring)."""
    if statement.mailbox_column is None:
        return [(Slice(None),)]
    with open_connection(options.properties) as connection:
        mailboxes = list_mailboxes(connection, options)
    if not options.size_mailboxes or not mailboxes:
        return [(Slice(m),) for m in mailboxes]
    sizer = _Sizer(options, statement, pushed)
    with ThreadPoolExecutor(max_workers=COUNTING_THREADS,
                            initializer=sizer.open) as pool:
        sizes = list(pool.map(sizer.size, mailboxes))
    sizer.close()
    return plan(sizes, options.rows_per_partition)


class _Sizer:
    """Counts mailboxes on a few threads (a connection per thread: connections are not
    shared between threads, PEP 249 threadsafety 1)."""

    def __init__(self, options: SourceOptions, statement: ReadStatement,
                 pushed: Sequence[PushedFilter]) -> None:
        import threading

        self.options = options
        self.statement = statement
        self.values = {name: value for f in pushed for name, value in f.values}
        where = [f.conjunct() for f in pushed]
        mailbox = exp.EQ(this=column(statement.mailbox_column or ""),
                         expression=exp.Placeholder(this=MAILBOX_PARAM))
        table = exp.Table(this=exp.to_identifier(statement.table, quoted=True))
        self.count_sql = _counting(table, [mailbox, *where], self.values, options)
        self.edge_sql: dict[str, str] = {}
        if statement.split_column is not None:
            for order in ("ASC", "DESC"):
                self.edge_sql[order] = (
                    exp.select(column(statement.split_column)).from_(table)
                    .where(exp.and_(mailbox, *where)).order_by(
                        exp.Ordered(this=column(statement.split_column),
                                    desc=order == "DESC"))
                    .limit(1).sql(dialect=DIALECT))
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        connection = open_connection(self.options.properties)
        self._local.connection = connection
        with self._lock:
            self._all.append(connection)

    def close(self) -> None:
        for connection in self._all:
            connection.close()

    def size(self, mailbox: str) -> MailboxSize:
        connection: Connection = self._local.connection
        values = {**self.values, MAILBOX_PARAM: mailbox}
        if self.count_sql is None:
            return MailboxSize(mailbox)
        try:
            answer = connection.execute(self.count_sql, values).fetchone()
            rows = int(answer[0]) if answer is not None else 0
            first = last = None
            if rows > self.options.rows_per_partition and self.edge_sql:
                first = _edge(connection, self.edge_sql["ASC"], values)
                last = _edge(connection, self.edge_sql["DESC"], values)
        except Error as exc:
            if self.options.on_mailbox_error == "skip" and is_mailbox_error(exc):
                return MailboxSize(mailbox)  # its task meets the same answer and reports it
            raise
        return MailboxSize(mailbox, rows, first, last)


def _counting(table: exp.Table, where: list[exp.Expr], values: dict[str, Any],
              options: SourceOptions) -> str | None:
    """``SELECT COUNT(*) ... WHERE <mailbox> AND <pushed>`` when Graph counts that exactly
    (one ``/$count`` request), else the mailbox's whole count (a size estimate is enough), else
    None: a table Graph cannot count is not sized (one partition per mailbox)."""
    from ..catalog import load_catalog

    catalog = load_catalog(options.properties.location)
    for conjuncts in (where, where[:1]):
        sql = exp.select("COUNT(*)").from_(table.copy()).where(
            exp.and_(*conjuncts)).sql(dialect=DIALECT)
        bound = {**values, MAILBOX_PARAM: "probe@example.invalid"}
        query = plan_query(prepare(sql), bound, catalog, app_only=True)
        if len(query.scans) == 1 and query.scans[0].count:
            return sql
    return None


def _edge(connection: Connection, sql: str, values: dict[str, Any]) -> datetime | None:
    row = connection.execute(sql, values).fetchone()
    return row[0] if row is not None and isinstance(row[0], datetime) else None

