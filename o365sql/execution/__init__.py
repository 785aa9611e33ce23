"""Execution stage: run one statement and hand the cursor a :class:`Result`.

``run(sql, params, context)`` parses (cached), binds and plans the statement (``planning/``),
then either streams rows page by page (nothing needs all rows), or loads the scans into SQLite
and runs the residual query (``residual.py``), or answers ``EXPLAIN`` (``explain.py``) or
``EXEC`` (``o365sql.procedures``). The cursor only pulls ``Result.rows``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalog import Catalog
from ..exceptions import ProgrammingError
from ..planning import plan_procedure, plan_query, prepare
from ..planning.plan import QueryPlan
from ..types import SQL_TYPES as _SQL
from . import scan as scan_io
from .row_stream import RowStream, limited_rows

# ``residual`` (SQLite and the local engine's modules) and ``explain`` are imported where they
# are used: a query that streams Graph's rows, the usual first query of a process, needs neither.

__all__ = ["Context", "Result", "run", "run_many"]

Description = list[tuple[str, str, None, None, None, None, bool]]

_PROCEDURE_TYPES = {"string": "VARCHAR", "integer": "INTEGER", "int": "INTEGER",
                    "boolean": "BOOLEAN", "bool": "BOOLEAN", "datetime": "DATETIME",
                    "long": "BIGINT", "double": "DOUBLE", "binary": "VARBINARY"}


@dataclass
class Context:
    """What a statement runs against.

    Attributes:
        catalog: the connection's table catalog.
        graph: the connection's ``GraphClient`` (``pages``, ``send``, ``fan_out``).
        properties: the connection's ``Properties`` (``pagesize``, ``max_rows``, ``pushdown``).
        connection: the ``Connection`` (procedures use it, e.g. to store tokens).
        replica: set by ``run`` when AutoCache/Offline lets the replica answer some scans.
    """

    catalog: Catalog
    graph: Any = None
    properties: Any = None
    connection: Any = None
    replica: Any = None  # the scans the replica answers (replica_scans.ReplicaScans), if any
    live_only: bool = False  # never read the replica (the reads of a write)


@dataclass
class Result:
    """A statement's outcome for the cursor.

    ``rows`` is a lazy iterator: on the streaming path Graph pages are fetched as the cursor
    pulls. ``rowcount`` is -1 while unknown.
    """

    description: Description | None
    rows: Iterator[tuple[Any, ...]] = field(default_factory=lambda: iter(()))
    rowcount: int = -1
    lastrowid: str | None = None


def run(sql: str, params: Sequence[Any] | Mapping[str, Any] | None, context: Context) -> Result:
    """Run one statement (see module docstring)."""
    statement = prepare(sql)
    if statement.kind == "exec":
        return _run_procedure(statement, params, context)
    if statement.kind == "write":
        return run_many(sql, [params], context)
    if statement.kind == "replicate":
        return _run_replicate(statement, params, context)
    properties = context.properties
    pushdown = bool(getattr(properties, "pushdown", True))
    pagesize = getattr(properties, "pagesize", None)
    max_rows = getattr(properties, "max_rows", None)
    max_rows = max_rows if isinstance(max_rows, int) and max_rows > 0 else None
    size = pagesize if isinstance(pagesize, int) and pagesize > 0 else None
    source = _replica_source(context)
    chosen = declined = None
    if source is not None:
        from . import replica_scans

        # The replica answers whole scans: plan them without pushdown so that the local
        # engine evaluates every predicate, whichever source each scan reads (DESIGN §5.3).
        plan = plan_query(statement, params, context.catalog, pushdown=False, pagesize=size,
                          max_rows=max_rows, app_only=app_only(properties))
        chosen = replica_scans.choose(plan, source, bool(getattr(properties, "offline", False)))
        if not chosen.chosen:
            declined, chosen = chosen, None
    if chosen is None:
        plan = plan_query(statement, params, context.catalog, pushdown=pushdown, pagesize=size,
                          max_rows=max_rows, app_only=app_only(properties))
    context.replica = chosen
    if statement.explain:
        from .explain import EXPLAIN_COLUMNS, explain_rows

        # Either the scans the replica answers, or (every scan live) why it answers none.
        sources = chosen or declined
        explained = explain_rows(plan, sources.explain(plan) if sources is not None else None)
        return Result(description=[(n, t, None, None, None, None, False)
                                   for n, t in EXPLAIN_COLUMNS], rows=iter(explained),
                      rowcount=len(explained))
    description: Description = [(o.name, o.sql_type, None, None, None, None, o.null_ok)
                                 for o in plan.output]
    rows = _rows(plan, context)
    if max_rows is not None and not plan.aggregate:
        # CData: MaxRows limits "queries without aggregation or GROUP BY"; the planner also
        # used it as an early stop ($top) where it could.
        rows = limited_rows(rows, max_rows)
    return Result(description=description, rows=rows, rowcount=-1)


def run_many(sql: str, param_sets: Sequence[Sequence[Any] | Mapping[str, Any] | None],
             context: Context) -> Result:
    """Run a write statement once per parameter set, all of its Graph calls sent together
    (``writes.py``); a SELECT or EXEC is refused (``executemany`` of a query)."""
    statement = prepare(sql)
    if statement.kind != "write":
        raise ProgrammingError("executemany() runs INSERT, UPDATE and DELETE statements, not "
                               "a statement that returns rows")
    from . import replica_scans
    from .writes import run_writes

    # A write reads live (never from a replica that may be behind), then marks the replica
    # of its table stale so that AutoCache refreshes it before it answers again.
    done = run_writes(statement, param_sets, context, app_only=app_only(context.properties),
                      read=lambda sql, params, ctx: run(sql, params, _live(ctx)).rows)
    replica_scans.written(statement, context)
    description: Description | None = None
    if done.returning:
        description = [(c.name, c.sql_type, None, None, None, None, c.nullable)
                       for c in done.returning]
    return Result(description=description, rows=iter(done.rows), rowcount=done.rowcount,
                  lastrowid=done.lastrowid)


#: The AuthScheme values that sign in as an application (client credentials): no user, no
#: ``/me`` (https://learn.microsoft.com/graph/auth-v2-service).
APP_ONLY_SCHEMES = ("azureserviceprincipal", "azureserviceprincipalcert")


def app_only(properties: Any) -> bool:
    """True when the connection's AuthScheme signs in as an application."""
    scheme = getattr(properties, "auth_scheme", None)
    return isinstance(scheme, str) and scheme.lower() in APP_ONLY_SCHEMES


def _replica_source(context: Context) -> Any:
    """``replica_scans.source_for``, whose modules (the replica's store and refresh) are
    loaded only for a connection with AutoCache or Offline: not for a first live query."""
    properties = context.properties
    if not (getattr(properties, "auto_cache", False) or getattr(properties, "offline", False)):
        return None
    from . import replica_scans

    return replica_scans.source_for(context)


def _live(context: Any) -> Any:
    """The same context, reading Graph only."""
    if not isinstance(context, Context):
        return context
    return Context(context.catalog, context.graph, context.properties, context.connection,
                   live_only=True)


def _rows(plan: QueryPlan, context: Context) -> Iterator[tuple[Any, ...]]:
    if len(plan.scans) == 1 and plan.scans[0].count and context.replica is None:
        return _count_rows(plan, context)
    if plan.streaming and context.replica is None:
        return _stream(plan, context)
    from . import residual

    return residual.run_full(plan, context)


def _count_rows(plan: QueryPlan, context: Context) -> Iterator[tuple[Any, ...]]:
    yield (scan_io.count(plan.scans[0], context.graph),)


def _stream(plan: QueryPlan, context: Context) -> RowStream:
    """Rows page by page; OFFSET/LIMIT applied as they pass, stopping Graph paging early."""
    if plan.direct_columns:
        pages = _direct(plan, context)
    else:
        from . import residual

        pages = residual.stream_pages(plan, context)
    return RowStream(pages, plan.offset, plan.limit)


def _direct(plan: QueryPlan, context: Context) -> Iterator[list[tuple[Any, ...]]]:
    """Each Graph page's rows as result tuples (no SQLite: the columns are read straight)."""
    scan = plan.scans[0]
    pages = scan_io.fetch(scan, context.graph)
    try:
        for fill, page in pages:
            yield scan_io.python_rows(scan, fill, page, plan.direct_columns)
    finally:
        pages.close()


def _run_replicate(statement: Any, params: Any, context: Context) -> Result:
    from . import replica_scans

    def select(sql: str, values: Any) -> Iterator[tuple[Any, ...]]:
        inner = Context(context.catalog, context.graph, context.properties, context.connection)
        return run(sql, values, inner).rows

    rows = replica_scans.run_replicate(statement, params, context, select,
                                       app_only=app_only(context.properties))
    description: Description = [(n, t, None, None, None, None, True)
                                for n, t in replica_scans.REPLICATE_COLUMNS]
    return Result(description=description, rows=iter(rows), rowcount=len(rows))


def _run_procedure(statement: Any, params: Any, context: Context) -> Result:
    call = plan_procedure(statement, params)
    try:
        from ..procedures import get as procedure_named
    except ImportError:  # pragma: no cover
        raise ProgrammingError(f"unknown procedure {call.name!r}") from None
    procedure = procedure_named(call.name)
    rows = procedure.run(context, call.arguments)
    columns = list(getattr(procedure, "result_columns", ()) or ())
    description: Description | None = [
        (_column_name(c), _PROCEDURE_TYPES.get(_column_type(c).lower(), _column_type(c).upper()
                                               if _column_type(c).upper() in _SQL else "VARCHAR"),
         None, None, None, None, True) for c in columns] or None
    rows = list(rows or [])
    return Result(description=description, rows=iter(rows),
                  rowcount=len(rows) if description is not None else -1)


def _column_name(column: Any) -> str:
    return str(column[0] if isinstance(column, tuple) else column.name)


def _column_type(column: Any) -> str:
    if isinstance(column, tuple):
        return str(column[1]) if len(column) > 1 else "VARCHAR"
    return str(getattr(column, "type", None) or getattr(column, "sql_type", "VARCHAR"))

