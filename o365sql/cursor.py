"""The PEP 249 ``Cursor``: the last stage a row passes through on its way to the caller.

It hands each statement to ``o365sql.execution.run(sql, params, context)`` and pulls rows from
the ``Result.rows`` iterator only as ``fetch*`` asks for them, so rows streamed page by page
from Graph are never all held in memory here. It transforms no data; it applies ``MaxRows``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from o365sql.exceptions import InterfaceError, ProgrammingError

if TYPE_CHECKING:
    from o365sql.connection import Connection

__all__ = ["Cursor"]

Row = tuple[Any, ...]
Description = Sequence[tuple[Any, ...]]


class Cursor:
    """A PEP 249 cursor: run a statement, then fetch its rows.

    ``rowcount`` is -1 while a result set is still being read and becomes the number of rows
    it produced once exhausted (PEP 249 lets it update as rows are fetched); for statements
    without rows it is what the statement reports (rows changed), or -1.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection: Connection | None = connection
        self.arraysize = 1
        self._description: Description | None = None
        self._rowcount = -1
        self._lastrowid: str | None = None
        self._rows: Iterator[Row] | None = None
        self._source: Any = None  # the Result.rows iterator, closed when replaced
        self._rownumber: int | None = None
        self._exhausted = False
        self._executed = False
        self._closed = False

    # -- attributes -------------------------------------------------------------------------

    @property
    def description(self) -> Description | None:
        """7-item column descriptions of the current result set, or None without one."""
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def rownumber(self) -> int | None:
        """0-based index of the next row of the result set, None without one (PEP 249 extension)."""
        return self._rownumber

    @property
    def connection(self) -> Connection:
        """The connection this cursor was made on (PEP 249 extension)."""
        self._check_open()
        assert self._connection is not None
        return self._connection

    @property
    def lastrowid(self) -> str | None:
        """The Graph id of the last item an INSERT created, else None (PEP 249 extension).

        Caveats: Graph ids are strings, not integers as PEP 249 has in mind; after an
        ``executemany`` it is the id of the last row of the last parameter set; an INSERT
        that created nothing leaves None; a statement other than INSERT resets it. Prefer
        ``INSERT ... RETURNING Id``, which gives every new id.
        """
        return self._lastrowid

    @property
    def closed(self) -> bool:
        return self._closed

    # -- statements -------------------------------------------------------------------------

    def execute(
        self, operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> Cursor:
        """Run one statement. ``parameters`` bind ``:name`` placeholders (paramstyle ``named``)
        from a mapping, or ``?`` placeholders from a sequence (extension). Returns the cursor.
        """
        connection = self._open_connection()
        if not isinstance(operation, str):
            raise ProgrammingError(f"the statement must be a str, not {type(operation).__name__}")
        if parameters is not None and (
            isinstance(parameters, (str, bytes)) or not isinstance(parameters, (Mapping, Sequence))
        ):
            raise ProgrammingError(
                "parameters must be a mapping (for :name placeholders) or a sequence (for ?)"
            )
        self._reset()
        from o365sql import execution

        context = execution.Context(
            catalog=connection.catalog,
            graph=connection.graph,
            properties=connection.properties,
            connection=connection,
        )
        result = execution.run(operation, parameters, context)
        self._take(result.description, result.rows, result.rowcount)
        self._lastrowid = result.lastrowid
        return self

    def executemany(
        self, operation: str, seq_of_parameters: Sequence[Mapping[str, Any] | Sequence[Any]]
    ) -> Cursor:
        """Run a statement once per parameter set; ``rowcount`` is the total of rows changed.

        A statement that returns rows is refused (PEP 249 leaves it undefined).
        """
        connection = self._open_connection()
        from o365sql import execution
        from o365sql.planning import prepare

        if not isinstance(operation, str):
            raise ProgrammingError(f"the statement must be a str, not {type(operation).__name__}")
        if prepare(operation).kind == "write":
            # Every row's Graph calls go out together, through $batch (execution/writes.py).
            self._reset()
            result = execution.run_many(operation, list(seq_of_parameters),
                                        execution.Context(catalog=connection.catalog,
                                                          graph=connection.graph,
                                                          properties=connection.properties,
                                                          connection=connection))
            self._take(None, iter(()), result.rowcount)
            self._lastrowid = result.lastrowid
            return self
        total = 0
        known = True
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
            if self._description is not None:
                self._reset()
                raise ProgrammingError("executemany() cannot run a statement that returns rows")
            if self._rowcount < 0:
                known = False
            total += max(self._rowcount, 0)
        self._rowcount = total if known else -1
        return self

    def callproc(
        self, procname: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> Sequence[Any] | Mapping[str, Any] | None:
        """Call a stored procedure (``o365sql.procedures``); its result set is fetched as usual.

        ``parameters`` are positional, in the order of the procedure's declared parameters, or
        a mapping of parameter names (extension). Returns a copy of them: no procedure has
        output parameters (PEP 249: "a modified copy of the input sequence").
        """
        connection = self._open_connection()
        from o365sql import execution
        from o365sql.procedures import get as procedure_named

        procedure = procedure_named(procname)
        self._reset()
        context = execution.Context(
            catalog=connection.catalog,
            graph=connection.graph,
            properties=connection.properties,
            connection=connection,
        )
        # The registry binds the values (positional in declared order, or by name) and
        # names the procedure and parameter in its errors.
        rows = procedure.run(context, parameters)
        description = [
            (
                column.name,
                _PROCEDURE_TYPES.get(column.type.lower(), "VARCHAR"),
                None,
                None,
                None,
                None,
                True,
            )
            for column in procedure.result_columns
        ]
        self._take(description or None, iter(rows), -1)
        if parameters is None:
            return None
        return dict(parameters) if isinstance(parameters, Mapping) else list(parameters)

    # -- fetching ---------------------------------------------------------------------------

    def fetchone(self) -> Row | None:
        """The next row, or None when the result set is exhausted."""
        rows = self._result_rows()
        row = next(rows, None)
        if row is None:
            self._finish()
            return None
        self._rownumber = (self._rownumber or 0) + 1
        return row

    def fetchmany(self, size: int | None = None) -> list[Row]:
        """Up to ``size`` (default ``arraysize``) more rows; an empty list once exhausted."""
        rows = self._result_rows()
        count = self.arraysize if size is None else size
        if count < 0:
            raise ProgrammingError(f"fetchmany size must not be negative, got {count}")
        batch = list(itertools.islice(rows, count))
        self._rownumber = (self._rownumber or 0) + len(batch)
        if len(batch) < count:
            self._finish()
        return batch

    def fetchall(self) -> list[Row]:
        """All remaining rows."""
        rows = self._result_rows()
        batch = list(rows)
        self._rownumber = (self._rownumber or 0) + len(batch)
        self._finish()
        return batch

    def __iter__(self) -> Cursor:
        return self

    def __next__(self) -> Row:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    # -- no-ops and lifecycle ---------------------------------------------------------------

    def setinputsizes(self, sizes: Any) -> None:
        """Does nothing (PEP 249 allows it): parameters are typed from their Python values."""
        self._check_open()

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Does nothing (PEP 249 allows it): large columns are fetched whole."""
        self._check_open()

    def close(self) -> None:
        """Close the cursor and stop any Graph paging still in progress; idempotent."""
        if self._closed:
            return
        # The last write's rowcount stays readable: SQLAlchemy closes a cursor that returns no
        # rows before the application reads result.rowcount (pandas' to_sql sums them).
        count = self._rowcount if self._description is None else -1
        self._reset()
        self._rowcount = count
        self._closed = True
        self._connection = None

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<o365sql.Cursor {'closed' if self._closed else 'open'}>"

    # -- internals --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        if self._connection is not None and self._connection.closed:
            raise InterfaceError("the cursor's connection is closed")

    def _open_connection(self) -> Connection:
        self._check_open()
        assert self._connection is not None
        return self._connection

    def _take(self, description: Description | None, rows: Any, rowcount: int | None) -> None:
        """Adopt a statement's result: a result set (streamed) or just a row count."""
        self._executed = True
        self._description = tuple(tuple(d) for d in description) if description else None
        self._source = rows
        if self._description is None:
            self._rows = None
            self._rowcount = rowcount if rowcount is not None else -1
            _close_iterator(rows)
            self._source = None
            return
        # MaxRows is applied by the execution stage, which knows which statements it caps
        # (CData: not aggregates or GROUP BY).
        self._rows = iter(rows if rows is not None else ())
        self._rownumber = 0
        self._exhausted = False
        # A count the execution stage already knows (EXPLAIN, $count) is shown at once.
        self._rowcount = rowcount if rowcount is not None and rowcount >= 0 else -1

    def _result_rows(self) -> Iterator[Row]:
        self._check_open()
        if self._rows is None:
            if not self._executed:
                raise ProgrammingError("no result set: no statement has been executed")
            raise ProgrammingError("no result set: the last statement did not return rows")
        return self._rows

    def _finish(self) -> None:
        if not self._exhausted:
            self._exhausted = True
            self._rowcount = self._rownumber or 0
            _close_iterator(self._source)

    def _reset(self) -> None:
        """Forget the current result, closing its iterator (which cancels Graph paging)."""
        _close_iterator(self._source)
        self._source = None
        self._rows = None
        self._description = None
        self._rowcount = -1
        self._rownumber = None
        self._exhausted = False
        self._executed = False


def _close_iterator(rows: Any) -> None:
    close = getattr(rows, "close", None)
    if callable(close):
        close()


#: CData procedure column types → the catalog's SQL type names (``o365sql.types.SQL_TYPES``).
_PROCEDURE_TYPES = {
    "string": "VARCHAR",
    "integer": "INTEGER",
    "int": "INTEGER",
    "long": "BIGINT",
    "double": "DOUBLE",
    "decimal": "DECIMAL",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "datetime": "DATETIME",
    "date": "DATE",
    "time": "TIME",
    "binary": "VARBINARY",
}
