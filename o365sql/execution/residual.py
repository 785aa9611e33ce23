"""Execution stage, local engine: scanned rows in stdlib SQLite, the residual query over them.

Each scan becomes one typed temp table (``_scan<n>``; DATETIME as UTC text that sorts like time,
BOOLEAN as 0/1, JSON as text, see ``conversion.py``) in a private in-memory database; the
planner's residual SQL (transpiled by sqlglot to SQLite) runs over them and its rows are turned
back into Python values by output type (DESIGN §3.3). Two modes:

* :func:`run_full` loads every scan (dependencies first, e.g. the Users rows whose ids address
  a Messages fan-out) and runs the whole query once;
* :func:`stream_pages` (the streaming path) loads one Graph page at a time, runs the per-page
  query and forgets the page, so memory stays constant however many rows flow.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..conversion import STORAGE_AFFINITY, from_storage_values
from ..exceptions import NotSupportedError, OperationalError, ProgrammingError
from ..odata.query import ODataQuery
from ..planning.joins import instantiate
from ..planning.plan import OutputColumn, QueryPlan, Scan
from . import folders, sql_functions
from . import scan as scan_io
from .page_tables import page_table
from .system_tables import system_rows


def connect() -> sqlite3.Connection:
    """A private in-memory SQLite database for one statement."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("PRAGMA temp_store = MEMORY")
    sql_functions.register(db)
    folders.register_default(db)
    return db


def create_table(db: sqlite3.Connection, scan: Scan) -> str:
    """CREATE the scan's temp table; return the INSERT statement for its rows."""
    create, insert = table_statements(scan)
    db.execute(create)
    return insert


def table_statements(scan: Scan) -> tuple[str, str]:
    """The CREATE statement of the scan's temp table and the INSERT statement of its rows."""
    names = [_quote(c.name.lower()) for c in scan.columns] or ['"_empty"']
    types = [STORAGE_AFFINITY.get(c.sql_type, "TEXT") for c in scan.columns] or ["TEXT"]
    columns = ", ".join(f"{n} {t}" for n, t in zip(names, types))
    marks = ", ".join("?" for _ in names)
    return (f"CREATE TEMP TABLE {_quote(scan.storage)} ({columns})",
            f"INSERT INTO {_quote(scan.storage)} VALUES ({marks})")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def convert_rows(rows: list[Any], output: list[OutputColumn]) -> list[tuple[Any, ...]]:
    """SQLite result rows back as Python rows, a column at a time (``from_storage_values``)."""
    if not rows or not output:
        return [tuple(row) for row in rows]
    columns = zip(*rows)
    return list(zip(*[from_storage_values(list(values), o.convert)
                      for values, o in zip(columns, output)]))


def run_full(plan: QueryPlan, context: Any) -> Iterator[tuple[Any, ...]]:
    """Load every scan, then run the residual query; yields Python rows."""
    db = connect()
    try:
        replica = getattr(context, "replica", None)
        for scan in plan.scans:
            insert = create_table(db, scan)
            if replica is not None and scan.index in replica.chosen:
                queries, fills = _addresses(scan, db, plan)
                replica.load(db, scan, queries, fills, insert, context)
                continue
            for rows in _scan_batches(scan, context, db, plan):
                if rows:
                    # sys_* rows of a scan reading no column are empty tuples; the storage
                    # table has one placeholder column (Graph pages get (None,) in scan.py).
                    db.executemany(insert, rows if scan.columns else [(None,)] * len(rows))
        _resolve_folders(plan, context, db)
        cursor = _execute(db, plan.sql)
        while True:
            chunk = _rows(lambda: cursor.fetchmany(500))
            if not chunk:
                break
            yield from convert_rows(chunk, plan.output)
    finally:
        db.close()


def _resolve_folders(plan: QueryPlan, context: Any, db: sqlite3.Connection) -> None:
    """Folder names in ParentFolderId comparisons, per mailbox the loaded rows come from."""
    resolved: folders.FolderIds = {}
    replica = getattr(context, "replica", None)
    for scan in plan.scans:
        if scan.folder_names:
            column = _quote(folders.MAILBOX_COLUMN)
            mailboxes = [row[0] for row in db.execute(
                f"SELECT DISTINCT {column} FROM {_quote(scan.storage)}")]
            if replica is not None and scan.index in replica.chosen:
                # The replica keeps each mailbox's well-known folder ids: no request.
                resolved.update(replica.folder_ids(scan, mailboxes))
            folders.resolve(scan, mailboxes, context.graph, resolved)
    if resolved:
        folders.register(db, resolved)


def _scan_batches(scan: Scan, context: Any, db: sqlite3.Connection,
                  plan: QueryPlan) -> Iterator[list[tuple[Any, ...]]]:
    if scan.system:
        yield system_rows(scan, context.catalog, getattr(context, "connection", None))
        return
    if scan.empty:
        return  # the SELECT's WHERE is false: nothing to ask Graph
    queries: Sequence[ODataQuery] = scan.queries
    fills: Sequence[dict[str, Any]] = scan.fills
    if scan.dependency is not None:
        queries, fills = _dependent_queries(scan, db, plan)
        if not queries:
            return
    for fill, page in scan_io.fetch(scan, context.graph, queries, fills):
        yield scan_io.storage_rows(scan, fill, page)


def _addresses(scan: Scan, db: sqlite3.Connection, plan: QueryPlan
               ) -> tuple[Sequence[ODataQuery], Sequence[dict[str, Any]]]:
    """The queries a scan would send and their fills (dependent ones instantiated now)."""
    if scan.empty:
        return (), ()
    if scan.dependency is not None:
        return _dependent_queries(scan, db, plan)
    return scan.queries, scan.fills


def _dependent_queries(scan: Scan, db: sqlite3.Connection, plan: QueryPlan
                       ) -> tuple[list[Any], list[dict[str, Any]]]:
    """One query per distinct set of addressing values (join or subquery fan-out): each
    source scan's rows give their distinct combinations of the bound columns (a message with
    its own mailbox), several sources every combination of theirs."""
    dependency = scan.dependency
    assert dependency is not None and scan.template_query is not None
    slots = dependency.slots
    if dependency.sql is not None:
        combos: list[tuple[Any, ...]] = [
            (v,) for v in _subquery_values(db, dependency.sql, scalar=dependency.scalar)]
    else:
        per_source: dict[int, list[tuple[int, str]]] = {}
        for position, (index, column, _) in enumerate(dependency.bindings):
            per_source.setdefault(index, []).append((position, column))
        combos = [()]
        positions: list[int] = []
        for index, bound in per_source.items():
            source = next(s for s in plan.scans if s.index == index)
            names = ", ".join(_quote(column.lower()) for _, column in bound)
            present = " AND ".join(f"{_quote(c.lower())} IS NOT NULL AND "
                                   f"{_quote(c.lower())} <> ''" for _, c in bound)
            rows = db.execute(f"SELECT DISTINCT {names} FROM {_quote(source.storage)} "
                              f"WHERE {present} ORDER BY {names}").fetchall()
            combos = [combo + tuple(row) for combo in combos for row in rows]
            positions.extend(position for position, _ in bound)
        order = sorted(range(len(positions)), key=positions.__getitem__)
        combos = [tuple(combo[i] for i in order) for combo in combos]
    queries: list[Any] = []
    fills: list[dict[str, Any]] = []
    templates = scan.templates or (scan.template_query,)
    for template, base in zip(templates, scan.fills or ({},) * len(templates)):
        for combo in combos:
            values = dict(zip(slots, combo))
            queries.append(instantiate(scan.table, template, values))
            fills.append({**base, **{s.lower(): v for s, v in values.items()}})
    return queries, fills


def _subquery_values(db: sqlite3.Connection, sql: str, *, scalar: bool) -> list[Any]:
    """The values an uncorrelated subquery gives an address slot, over the loaded scans:
    its first row's value (a scalar subquery, as SQL reads it) or its distinct non-null
    values (``IN``)."""
    if scalar:
        value = _execute(db, f"SELECT ({sql})").fetchone()[0]
        return [] if value is None else [value]
    rows = _execute(db, f"SELECT DISTINCT * FROM ({sql})").fetchall()
    if rows and len(rows[0]) != 1:
        raise ProgrammingError("the subquery of IN must return one column")
    return sorted((row[0] for row in rows if row[0] is not None), key=str)


def stream_pages(plan: QueryPlan, context: Any) -> Iterator[list[tuple[Any, ...]]]:
    """Run the per-page query over each Graph page in turn (constant memory), in a database
    kept from an earlier statement with the same table where there is one (``page_tables``);
    yields each page's result rows."""
    scan = plan.scans[0]
    create, insert = table_statements(scan)
    delete = f"DELETE FROM {_quote(scan.storage)}"
    assert plan.page_sql is not None
    with page_table(create, insert, delete, connect) as table:
        db = table.db
        try:
            if scan.folder_names:
                resolved: folders.FolderIds = {}
                mailboxes = {fill.get(folders.MAILBOX_COLUMN) for fill in scan.fills}
                folders.resolve(scan, sorted(mailboxes, key=str), context.graph, resolved)
                folders.register(db, resolved)
            loaded = False  # page_table hands the table over empty
            for fill, page in scan_io.fetch(scan, context.graph):
                rows = scan_io.storage_rows(scan, fill, page)
                if not rows:
                    continue
                if loaded:
                    db.execute(delete)
                db.executemany(insert, rows)
                loaded = True
                yield convert_rows(_rows(_execute(db, plan.page_sql).fetchall), plan.output)
        finally:
            if scan.folder_names:
                folders.register_default(db)  # the next statement resolves its own names


def _rows(fetch: Callable[[], list[Any]]) -> list[Any]:
    """Rows a cursor fetches (``fetch``), with the errors ``_execute`` maps."""
    try:
        return fetch()
    except sqlite3.Error as exc:
        raise _mapped(exc) from None


def _execute(db: sqlite3.Connection, sql: str) -> sqlite3.Cursor:
    try:
        return db.execute(sql)
    except sqlite3.Error as exc:
        raise _mapped(exc) from None


def _mapped(exc: sqlite3.Error) -> Exception:
    """A SQLite failure of the local query as a PEP 249 error."""
    own = sql_functions.raised(exc)
    if own is not None:
        return own  # a value an o365sql function refused (e.g. text that is no datetime)
    if not isinstance(exc, sqlite3.OperationalError):  # pragma: no cover - defensive
        return OperationalError(f"the local query failed: {exc}")
    text = str(exc)
    if "no such function" in text:
        return NotSupportedError(f"the local engine (SQLite) has {text}")
    if "syntax error" in text:
        # Valid SQL that SQLite's grammar lacks and planning/sqlite_rewrite.py does not
        # rewrite: name the engine's limit rather than blame the statement.
        return NotSupportedError(
            f"the local engine (SQLite) cannot run this query ({text}); see "
            "planning/sqlite_rewrite.py for the forms o365sql rewrites")
    return ProgrammingError(f"the local query failed: {text}")
