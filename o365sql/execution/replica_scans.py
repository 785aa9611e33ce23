"""Execution stage, the replica as a source: REPLICATE statements, and the choice between live
Graph and the replica for each scan of a SELECT when ``AutoCache`` or ``Offline`` is set.

A SELECT answered (in part) from the replica is planned without pushdown, so the local engine
evaluates every predicate over whatever rows each scan loads; each scan then loads either from
the replica (``replica.ReplicaSource.load``, after an AutoCache refresh when it is older than
``CacheTolerance``) or from Graph as usual. EXPLAIN names the source of each scan and its age.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import OperationalError, ProgrammingError
from ..replica import (
    TRACKED,
    Coverage,
    Outcome,
    Refresher,
    ReplicaSource,
    includable,
    offline_error,
    tracking,
)
from ..replica.windows import Window, default_window
from ..value_model import as_utc
from . import scan as scan_io

REPLICATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TableName", "VARCHAR"), ("UserId", "VARCHAR"), ("Rows", "INTEGER"), ("Changed", "INTEGER"),
    ("Removed", "INTEGER"), ("Resynced", "INTEGER"), ("Requests", "INTEGER"),
    ("Seconds", "DOUBLE"), ("Error", "VARCHAR"))


@dataclass
class ReplicaScans:
    """Which scans of one plan the replica answers, and how to load them."""

    source: ReplicaSource
    offline: bool
    chosen: dict[int, Coverage] = field(default_factory=dict)
    declined: dict[int, str] = field(default_factory=dict)

    def explain(self, plan: Any) -> dict[int, str]:
        """Per scan, the source that answers it and its age (EXPLAIN's ``source`` rows)."""
        lines = {}
        for scan in plan.scans:
            if scan.system or scan.empty:
                continue
            coverage = self.chosen.get(scan.index)
            name = scan.table.name
            if coverage is None:
                why = self.declined.get(scan.index) or "the replica cannot answer it"
                lines[scan.index] = f"{name}: live Graph, not the replica: {why}"
            elif coverage.age is None:
                lines[scan.index] = (f"{name}: replica at {self.source.store.path}, copied "
                                     "first (never replicated for this mailbox)")
            else:
                stale = (", older than CacheTolerance: refreshed with delta first"
                         if not self.offline and coverage.age > self.source.tolerance else "")
                lines[scan.index] = (f"{name}: replica at {self.source.store.path}, refreshed "
                                     f"{coverage.age:.0f} s ago{stale}")
        return lines

    def load(self, db: sqlite3.Connection, scan: Any, queries: Sequence[Any],
             fills: Sequence[dict[str, Any]], insert: str, context: Any) -> None:
        """Fill the scan's table: from the replica where it answers, live otherwise. What the
        replica holds is checked again after an AutoCache refresh (a folder it now holds)."""
        pairs = list(zip(queries, fills or ({},) * len(queries)))
        maybe = [(q, f) for q, f in pairs if self._covered(scan, q, f)]
        if maybe:
            self.source.freshen(scan.table.name, [f for _, f in maybe])
        mine = [(q, f) for q, f in maybe if self._covered(scan, q, f)]
        live = [(q, f) for q, f in pairs if not any(q is m for m, _ in mine)]
        if mine:
            # Nothing read live: a view over the replica, no copy (milliseconds for top-N).
            self.source.load(db, scan, [q for q, _ in mine], [f for _, f in mine],
                             view=not live)
        if live:
            for fill, page in scan_io.fetch(scan, context.graph, [q for q, _ in live],
                                            [f for _, f in live]):
                rows = scan_io.storage_rows(scan, fill, page)
                if rows:
                    db.executemany(insert, rows)

    def _covered(self, scan: Any, query: Any, fill: dict[str, Any]) -> bool:
        coverage = self.source.covers(scan, [query], [fill])
        if not coverage.ok and self.offline:
            raise offline_error(scan.table.name, coverage.reason)
        return coverage.ok

    def folder_ids(self, scan: Any, mailboxes: Sequence[Any]) -> dict[tuple[str, str], str | None]:
        """The ids of the scan's well-known folder names in each mailbox, from the replica
        (``O365_FOLDER_ID``'s map, ``execution/folders.py``); mailboxes whose names the
        replica lacks are left out (read live, or refused Offline by ``covers``)."""
        out: dict[tuple[str, str], str | None] = {}
        for mailbox in mailboxes:
            if mailbox is None:
                continue
            names = self.source.store.folder_names(
                self.source.mailbox_key(scan.table.name, str(mailbox)))
            if names is None:
                continue
            for name in scan.folder_names:
                out[(str(mailbox).lower(), name)] = names.get(name)
        return out


def source_for(context: Any) -> ReplicaSource | None:
    """The replica source of a connection with AutoCache or Offline, else None."""
    props = context.properties
    if getattr(context, "live_only", False):
        return None
    if not (getattr(props, "auto_cache", False) or getattr(props, "offline", False)):
        return None
    store = getattr(context.connection, "replica_store", None)
    if store is None:
        return None
    offline = bool(getattr(props, "offline", False))
    refresh: Callable[[str, str], None] | None = None
    # The window a first copy of CalendarView keeps, computed once for this statement: the
    # one coverage is decided against is the one the refresh copies.
    first = default_window(_window_days(props))
    if not offline:
        def refresh(table: str, mailbox: str) -> None:
            refresher(context, first).refresh(table, [mailbox] if mailbox else [])
    return ReplicaSource(store, tolerance=float(getattr(props, "cache_tolerance", 600)),
                         refresh=refresh, first_window=None if offline else first)


def written(statement: Any, context: Any) -> None:
    """After a write: the replica of the written table is stale (AutoCache refreshes it with
    delta before it answers again), whatever CacheTolerance says."""
    from sqlglot import exp

    tree = getattr(statement, "write", None)
    if tree is None:
        return
    try:
        store = getattr(context.connection, "replica_store", None)
        if store is None or not store.exists():
            return
        target = tree.find(exp.Table)
        if target is not None:
            store.mark_stale(target.name,
                             float(getattr(context.properties, "cache_tolerance", 600)))
    except OperationalError:
        # The write took effect in Graph; a replica file this sign-in does not own (or cannot
        # open) is not its to mark: the owner's next refresh reads the change by delta.
        return


def choose(plan: Any, source: ReplicaSource, offline: bool) -> ReplicaScans:
    """The scans the replica answers (none: the live plan runs) and why it declines the
    others (EXPLAIN). Offline: every Graph scan must be answerable, else
    ``OperationalError`` names why."""
    scans = ReplicaScans(source, offline)
    for scan in plan.scans:
        if scan.system or scan.empty:
            continue
        coverage = source.covers(scan)
        if coverage.ok:
            scans.chosen[scan.index] = coverage
        elif offline:
            raise offline_error(scan.table.name, coverage.reason)
        else:
            scans.declined[scan.index] = coverage.reason
    return scans


def refresher(context: Any, first_window: Window | None = None) -> Refresher:
    props = context.properties
    return Refresher(context.connection.replica_store, context.graph, context.catalog,
                     concurrency=int(getattr(props, "max_concurrency", 4) or 4),
                     first_window=first_window or default_window(_window_days(props)))


def _window_days(props: Any) -> int:
    return int(getattr(props, "replicate_window", 365) or 365)


def run_replicate(statement: Any, params: Any, context: Any,
                  select: Callable[[str, Any], Iterator[tuple[Any, ...]]], *,
                  app_only: bool) -> list[tuple[Any, ...]]:
    """Run a REPLICATE statement; one result row per table and mailbox (``select`` runs a
    SELECT on the same connection; ``app_only``: the connection signs in as an application)."""
    props = context.properties
    if getattr(props, "offline", False):
        raise OperationalError("REPLICATE needs Graph, and the connection is Offline")
    spec = statement.extra["replicate"]
    if spec.all_tables:
        names = [t.table for t in TRACKED.values()]
    else:
        names = []
        for name in spec.tables:
            table = context.catalog.table(name)  # unknown names: ProgrammingError with a hint
            if tracking(table.name) is None:
                raise ProgrammingError(
                    f"REPLICATE does not support {table.name}; it supports "
                    + ", ".join(t.table for t in TRACKED.values()))
            names.append(table.name)
    window = _window(spec, params, names)
    include = _included(context.catalog.table(names[0]), spec.columns) if spec.columns else ()
    mailboxes = _mailboxes(spec, params, select, app_only)
    work = refresher(context)
    outcomes: list[Outcome] = []
    for name in names:
        outcomes.extend(work.refresh(name, mailboxes, window, include))
    return [(o.table, o.mailbox or None, o.rows, o.changed, o.removed, o.resynced, o.requests,
             round(o.seconds, 3), o.error) for o in outcomes]


def _window(spec: Any, params: Any, names: Sequence[str]) -> Window | None:
    """The window REPLICATE's WHERE gives (aware UTC; an offset-less time is UTC)."""
    if spec.window is None:
        return None
    name = names[0]
    found = tracking(name)
    if found is None or not found.window:
        raise ProgrammingError(f"REPLICATE {name} WHERE: {name} has no time window; "
                               "StartDateTime and EndDateTime bound CalendarView only")
    bounds = []
    for column, value in zip(("StartDateTime", "EndDateTime"), spec.window):
        text = _parameter(value, params)
        try:
            bounds.append(as_utc(text if not isinstance(text, str) else text.strip()))
        except (ValueError, TypeError):
            raise ProgrammingError(f"REPLICATE {name} WHERE: {column} {text!r} is not an "
                                   "ISO 8601 date or date-time") from None
    start, end = bounds
    if start >= end:
        raise ProgrammingError(f"REPLICATE {name} WHERE: the window ends ({end.isoformat()}) "
                               f"before it starts ({start.isoformat()})")
    return start, end


def _parameter(value: str, params: Any) -> Any:
    if not value.startswith(":"):
        return value
    if not isinstance(params, dict) or value[1:] not in params:
        raise ProgrammingError(f"REPLICATE: no value for parameter {value}")
    return params[value[1:]]


def _included(table: Any, names: Sequence[str]) -> tuple[Any, ...]:
    """The heavy columns ``INCLUDE COLUMNS`` names, with every column Graph sends in the same
    ``$select`` unit (``Body_Content`` brings ``Body_ContentType``: both come with ``body``)."""
    spec = tracking(table.name)
    allowed = includable(table)
    chosen: list[Any] = []
    for name in names:
        column = table.column(name)
        if column is None:
            raise ProgrammingError(f"REPLICATE {table.name} INCLUDE COLUMNS: {table.name} has no "
                                   f"column {name}")
        if not column.heavy:
            raise ProgrammingError(f"REPLICATE {table.name} INCLUDE COLUMNS: {column.name} is "
                                   "kept anyway (only heavy columns need naming)")
        if column.pseudo:
            raise ProgrammingError(f"REPLICATE {table.name} INCLUDE COLUMNS: {column.name} is a "
                                   "query parameter, not a property a replica can keep")
        # Outlook items' per-folder delta takes $select of any property (message-delta.md);
        # other delta functions take none (calendarView) or are not known to (directory
        # objects' heavy properties need other permissions), so they are not offered.
        if column not in allowed or spec is None or not spec.selectable or spec.folders is None \
                or spec.visible == "members":
            raise ProgrammingError(f"REPLICATE {table.name} INCLUDE COLUMNS: {column.name} cannot "
                                   "be replicated (only the heavy columns of Messages, read by "
                                   "message delta's $select, can)")
        chosen.extend(c for c in allowed if c.select == column.select and c not in chosen)
    return tuple(chosen)


def _mailboxes(spec: Any, params: Any, select: Callable[[str, Any], Iterator[tuple[Any, ...]]],
               app_only: bool) -> list[str]:
    if spec.mailbox_query is not None:
        return sorted({str(row[0]) for row in select(spec.mailbox_query, params)
                       if row and row[0] is not None})
    if spec.mailboxes is not None:
        return [str(_parameter(value, params)) for value in spec.mailboxes]
    if app_only:
        # An application has no /me: every user's mailbox (403/404 ones are recorded, skipped).
        return sorted({str(row[0]) for row in select("SELECT Id FROM Users", None)})
    return ["me"]
