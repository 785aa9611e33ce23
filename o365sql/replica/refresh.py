"""Replica stage, refresh: copy a table into the replica, then keep it current with Graph's
delta queries (REPLICATE, and AutoCache before a stale replica answers).

Per mailbox and table, one refresh is:

1. for per-folder tables, a round of the folder list's delta (``mailFolders/delta``): new
   folders get their own round, removed ones take their rows and links with them;
2. one delta round per folder (or one for a collection), started from the stored delta link
   (a first copy starts without one), up to ``MaxConcurrency`` folders at once (Outlook
   allows 4 concurrent requests per mailbox, delta-limits §5.2); ``Prefer:
   odata.maxpagesize`` asks for the table's largest page;
3. one transaction applying every change: new and changed items are upserted (by mailbox and
   key), ``@removed`` items deleted (in the folder that reported them, so a move whose id
   survives is never lost to the order folders are read in), and the new delta links stored
   beside the rows they produced.

A delta link Graph no longer knows (410 ``syncStateNotFound``) restarts that folder (or
collection) alone from scratch: its rows are replaced by the fresh round's. A mailbox that
fails with 403 (an app scoped away from it) or 404 (no mailbox) is recorded in
``_o365sql_replicas`` and skipped; other errors are recorded and raised. Rows are converted by
``conversion`` exactly as the live read path converts them, so the replica and a live read
agree value for value.
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from ..catalog import Catalog, Column, Table
from ..conversion import Reader, storage_reader, to_storage
from ..exceptions import Error, ProgrammingError
from ..graph.request import GraphRequest
from .store import FOLDERS_SCOPE, ReplicaStore
from .store import quote as q
from .tracking import Tracking, tracking

#: Pages that may wait between the threads reading Graph and the one writing SQLite.
_QUEUED = 8
#: Statuses that make one mailbox fail alone (an app scoped away, an inactive mailbox).
SKIPPED_STATUSES = (403, 404)


@dataclass
class Outcome:
    """What one refresh of one table and mailbox did (a row of REPLICATE's result)."""

    table: str
    mailbox: str
    rows: int = 0
    changed: int = 0
    removed: int = 0
    resynced: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class _Job:
    """One delta round to run: its scope, first path, stored link, and whether the replica
    already holds rows of it (else any left over are cleared first)."""

    scope: str
    path: str
    link: str | None
    known: bool
    params: tuple[tuple[str, str], ...] = ()
    select: str | None = None  # None: the replicated columns; "": no $select


@dataclass
class _Round:
    """One delta round's answer: the items in order, the new link, whether it restarted."""

    scope: str
    items: list[dict[str, Any]] = field(default_factory=list)
    link: str | None = None
    restarted: bool = False


def mailbox_path(mailbox: str) -> str:
    return "/me" if mailbox.lower() == "me" else "/users/" + quote(mailbox, safe="")


def _request(link: str, base_url: str, headers: tuple[tuple[str, str], ...]) -> GraphRequest:
    """A stored delta link (absolute, from Graph) as a request to the same service."""
    if not link.startswith(base_url):
        raise ProgrammingError("a stored delta link points at another service than GraphURL; "
                               "replicate again into a new CacheLocation")
    path, _, query = link[len(base_url):].partition("?")
    return GraphRequest("GET", path, tuple(parse_qsl(query, keep_blank_values=True)), headers)


def select_list(columns: Sequence[Column]) -> str:
    """``$select`` for the replicated columns (id always comes back)."""
    names = dict.fromkeys(["id"] + [c.select for c in columns if c.select and not c.pseudo])
    return ",".join(n for n in names if n)


class Refresher:
    """Refreshes replicated tables of one connection (its Graph client and catalog)."""

    def __init__(self, store: ReplicaStore, graph: Any, catalog: Catalog, *,
                 concurrency: int = 4, window_days: int = 365) -> None:
        self.store = store
        self.graph = graph
        self.catalog = catalog
        self.concurrency = max(1, min(concurrency, 4))
        self.window_days = window_days

    def refresh(self, table_name: str, mailboxes: Sequence[str]) -> list[Outcome]:
        """Copy or refresh ``table_name`` for each mailbox (``''`` for directory tables)."""
        spec = tracking(table_name)
        if spec is None:
            raise ProgrammingError(f"REPLICATE does not support {table_name}; it supports "
                                   + ", ".join(sorted(t.table for t in _all_tracked())))
        table = self.catalog.table(spec.table)
        outcomes = []
        with self.store.refresh_lock():
            with self.store.transaction() as db:
                self.store.ensure_table(db, table)
            for mailbox in (mailboxes if spec.mailbox else [""]):
                outcomes.append(self._one(spec, table, mailbox))
        return outcomes

    def _one(self, spec: Tracking, table: Table, mailbox: str) -> Outcome:
        outcome = Outcome(table.name, mailbox)
        started, before = time.perf_counter(), self.graph.stats.requests
        try:
            if spec.visible == "members":
                self._members(table, outcome)
            elif spec.folders is not None:
                self._per_folder(spec, table, mailbox, outcome)
            else:
                self._collection(spec, table, mailbox, outcome)
        except Error as exc:
            outcome.error = _describe(exc)
            with self.store.transaction() as db:
                self.store.mark(db, table, mailbox, error=outcome.error, refreshed=False)
            if exc.status not in SKIPPED_STATUSES:
                raise
        finally:
            outcome.requests = self.graph.stats.requests - before
            outcome.seconds = time.perf_counter() - started
        return outcome

    # -- the two shapes ----------------------------------------------------------------------
    def _collection(self, spec: Tracking, table: Table, mailbox: str, outcome: Outcome) -> None:
        columns = self.store.ensure_table(self.store.db, table)
        path = spec.items if not spec.mailbox else mailbox_path(mailbox) + "/" + spec.items
        stored = self.store.scopes(table.name, mailbox).get("")
        params: tuple[tuple[str, str], ...] = ()
        window = None
        if spec.window:
            start, end = self.window()
            window = f"{_iso(start)}/{_iso(end)}"
            params = (("startDateTime", _iso(start)), ("endDateTime", _iso(end)))
            if stored is not None and stored.parent != window:
                stored = None  # another window: copied again from scratch
        job = _Job("", path, stored.link if stored else None, stored is not None, params,
                   None if spec.selectable else "")
        pseudo = self._pseudo(window)
        with self.store.transaction() as db:
            links = self._stream(db, table, columns, mailbox, [job], None, outcome, pseudo)
            rows = self._count(db, table, mailbox, None)
            self.store.set_scope(db, table.name, mailbox, "", links[""], rows, window)
            self.store.mark(db, table, mailbox, error=None, refreshed=True)
        outcome.rows = rows

    def window(self) -> tuple[_dt.datetime, _dt.datetime]:
        """``ReplicateWindow`` days either side of today (UTC midnight)."""
        today = _dt.datetime.now(_dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        span = _dt.timedelta(days=self.window_days)
        return today - span, today + span

    @staticmethod
    def _pseudo(window: str | None) -> dict[str, Any]:
        """Pseudo-column values the rows of a window get (as a live read's address gives)."""
        if window is None:
            return {}
        start, end = window.split("/")
        return {"startdatetime": _dt.datetime.fromisoformat(start),
                "enddatetime": _dt.datetime.fromisoformat(end)}

    def _per_folder(self, spec: Tracking, table: Table, mailbox: str, outcome: Outcome) -> None:
        assert spec.folders is not None
        columns = self.store.ensure_table(self.store.db, table)
        base = mailbox_path(mailbox)
        scopes = self.store.scopes(table.name, mailbox)
        listing = scopes.get(FOLDERS_SCOPE)
        folder_round = self._round(FOLDERS_SCOPE, f"{base}/{spec.folders}",
                                   listing.link if listing else None, None,
                                   select="id,parentFolderId")
        known = {s: state.parent for s, state in scopes.items() if s != FOLDERS_SCOPE}
        folders: dict[str, str | None] = {} if folder_round.restarted or listing is None \
            else dict(known)
        for item in folder_round.items:
            ident = str(item["id"])
            if "@removed" in item:
                folders.pop(ident, None)
            else:
                folders[ident] = item.get("parentFolderId")
        # One round per folder, a few folders at once; new folders start without a link.
        jobs = [_Job(folder, f"{base}/{spec.items.format(folder=quote(folder, safe=''))}",
                     scopes[folder].link if folder in scopes else None, folder in scopes)
                for folder in folders]
        by_folder = table.column("ParentFolderId") is not None
        with self.store.transaction() as db:
            for folder in (s for s in known if s not in folders):
                outcome.removed += self._clear(db, table, mailbox, folder)
                self.store.drop_scope(db, table.name, mailbox, folder)
            links = self._stream(db, table, columns, mailbox, jobs, by_folder, outcome)
            total = 0
            for job in jobs:
                rows = self._count(db, table, mailbox, job.scope)
                total += rows
                self.store.set_scope(db, table.name, mailbox, job.scope, links[job.scope], rows,
                                     folders.get(job.scope))
            self.store.set_scope(db, table.name, mailbox, FOLDERS_SCOPE, folder_round.link,
                                 len(folders))
            self.store.mark(db, table, mailbox, error=None, refreshed=True)
        outcome.rows = total
        outcome.resynced += int(folder_round.restarted)

    def _members(self, table: Table, outcome: Outcome) -> None:
        """GroupMembers: ``groups/delta`` (with ``members``) says which groups changed,
        ``users/delta`` which users (a member's columns are its user's); each group concerned
        is read again through the endpoint a live read uses (``/groups/{id}/members``, the
        same $select), through $batch, and its rows replaced. The first copy reads them all."""
        from ..odata.query import render
        from ..planning import plan_query, prepare

        columns = self.store.ensure_table(self.store.db, table)
        scopes = self.store.scopes(table.name, "")
        groups, users = scopes.get("#groups"), scopes.get("#users")
        group_round = self._round("#groups", "/groups/delta", groups.link if groups else None,
                                  None, select="id,displayName,members")
        user_select = select_list([c for c in columns if c.entity_subtype == "microsoft.graph.user"])
        user_round = self._round("#users", "/users/delta", users.link if users else None, None,
                                 select=user_select)
        first = groups is None or group_round.restarted or user_round.restarted
        gone = {str(g["id"]) for g in group_round.items if "@removed" in g}
        changed = {str(g["id"]) for g in group_round.items if "@removed" not in g}
        touched_users = [str(u["id"]) for u in user_round.items]
        db = self.store.db
        if first:
            changed |= {str(r[0]) for r in db.execute(
                f"SELECT DISTINCT {q('GroupId')} FROM {q(table.name)}")}
        elif touched_users:
            marks = ", ".join("?" for _ in touched_users)
            changed |= {str(r[0]) for r in db.execute(
                f"SELECT DISTINCT {q('GroupId')} FROM {q(table.name)} WHERE {q('Id')} IN ({marks})",
                touched_users)}
        changed -= gone
        order = sorted(changed)
        requests = []
        for group in order:
            literal = "'" + group.replace("'", "''") + "'"
            plan = plan_query(prepare(f"SELECT * FROM GroupMembers WHERE GroupId = {literal}"),
                              None, self.catalog, pushdown=False)
            requests.append(render(plan.scans[0].queries[0]))
        pages: dict[str, list[dict[str, Any]]] = {g: [] for g in order}
        if requests:
            for index, page in self.graph.fan_out(requests, missing_ok=True):
                pages[order[index]].extend(page)
        with self.store.transaction() as db:
            if first:
                db.execute(f"DELETE FROM {q(table.name)}")
            for group in sorted(gone | changed):
                outcome.removed += db.execute(f"DELETE FROM {q(table.name)} WHERE "
                                              f"{q('GroupId')} = ?", (group,)).rowcount
            for group, items in pages.items():
                self._apply(db, table, columns, "", None, items, outcome, {"groupid": group})
            rows = self._count(db, table, "", None)
            self.store.set_scope(db, table.name, "", "#groups", group_round.link, len(changed))
            self.store.set_scope(db, table.name, "", "#users", user_round.link, 0)
            self.store.mark(db, table, "", error=None, refreshed=True)
        outcome.rows = rows
        outcome.resynced += int(group_round.restarted) + int(user_round.restarted)

    def _stream(self, db: Any, table: Table, columns: Sequence[Column], mailbox: str,
                jobs: Sequence[_Job], by_folder: bool | None, outcome: Outcome,
                pseudo: dict[str, Any] | None = None) -> dict[str, str]:
        """Run the jobs' delta rounds (a few at once) and apply their pages as they arrive,
        inside the caller's transaction; returns each scope's new delta link. Memory stays
        bounded: at most ``_QUEUED`` pages wait between the readers and the writer."""
        events: queue.Queue[tuple[str, str, Any]] = queue.Queue(maxsize=_QUEUED)
        stop = threading.Event()
        links: dict[str, str] = {}

        def put(event: tuple[str, str, Any]) -> None:
            while not stop.is_set():
                try:
                    events.put(event, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def work(job: _Job) -> None:
            try:
                self._round_events(job, table, columns, put, stop)
            except Exception as exc:  # noqa: BLE001 - handed to the writer, which raises it
                put(("error", job.scope, exc))
            finally:
                put(("done", job.scope, None))

        for job in jobs:
            if not job.known:  # a first copy of this scope: nothing of it may linger
                self._clear(db, table, mailbox, job.scope if by_folder else None)
        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        try:
            for job in jobs:
                pool.submit(work, job)
            remaining = len(jobs)
            while remaining:
                kind, scope, value = events.get()
                folder = scope if by_folder else None
                if kind == "done":
                    remaining -= 1
                elif kind == "error":
                    raise value
                elif kind == "restart":  # Graph forgot the link: this scope starts over
                    self._clear(db, table, mailbox, folder)
                    outcome.resynced += 1
                elif kind == "link":
                    links[scope] = value
                else:
                    self._apply(db, table, columns, mailbox, folder, value, outcome, pseudo)
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        for job in jobs:
            if job.scope not in links:
                raise ProgrammingError(f"Graph ended a delta round of {job.path} without a "
                                       "deltaLink")
        return links

    # -- Graph -------------------------------------------------------------------------------
    def _round_events(self, job: _Job, table: Table, columns: Sequence[Column],
                      put: Callable[[tuple[str, str, Any]], None], stop: threading.Event) -> None:
        """One delta round as events: ``page`` (its items), ``restart`` (410: Graph no longer
        knows the link, or a nextLink of it; the round starts over without one), ``link``."""
        headers = (("Prefer", f"odata.maxpagesize={table.max_page_size}"),)
        request = (_request(job.link, self.graph.base_url, headers) if job.link is not None
                   else self._first(job.path, columns, job.select, headers, job.params))
        for attempt in range(3):
            try:
                for payload in self.graph.payloads(request):
                    if stop.is_set():
                        return
                    put(("page", job.scope, payload.get("value") or []))
                    link = payload.get("@odata.deltaLink")
                    if link:
                        put(("link", job.scope, str(link)))
                return
            except Error as exc:
                if exc.status != 410 or attempt == 2:
                    raise
            put(("restart", job.scope, None))
            request = self._first(job.path, columns, job.select, headers, job.params)

    def _round(self, scope: str, path: str, link: str | None, table: Table | None,
               select: str | None = None) -> _Round:
        """Every page of one small delta round (a folder list); 410 restarts it."""
        headers = (("Prefer", "odata.maxpagesize=1000"),)
        if link is not None:
            try:
                return self._pages(scope, _request(link, self.graph.base_url, headers))
            except Error as exc:
                if exc.status != 410:
                    raise
            fresh = self._pages(scope, self._first(path, (), select, headers))
            fresh.restarted = True
            return fresh
        return self._pages(scope, self._first(path, (), select, headers))

    @staticmethod
    def _first(path: str, columns: Sequence[Column], select: str | None,
               headers: tuple[tuple[str, str], ...],
               extra: tuple[tuple[str, str], ...] = ()) -> GraphRequest:
        params: list[tuple[str, str]] = list(extra)
        chosen = select if select is not None else select_list(columns)
        if chosen:
            params.append(("$select", chosen))
        return GraphRequest("GET", path, tuple(params), headers)

    def _pages(self, scope: str, request: GraphRequest) -> _Round:
        out = _Round(scope)
        for payload in self.graph.payloads(request):
            out.items.extend(payload.get("value") or [])
            link = payload.get("@odata.deltaLink")
            if link:
                out.link = str(link)
        if out.link is None:
            raise ProgrammingError(f"Graph ended a delta round of {request.path} without a "
                                   "deltaLink")
        return out

    # -- SQLite ------------------------------------------------------------------------------
    def _apply(self, db: Any, table: Table, columns: Sequence[Column], mailbox: str,
               folder: str | None, items: Sequence[dict[str, Any]], outcome: Outcome,
               pseudo: dict[str, Any] | None = None) -> None:
        readers = _readers(table, columns, {"userid": mailbox, **(pseudo or {})})
        names = ", ".join(q(c.name) for c in columns)
        marks = ", ".join("?" for _ in columns)
        upsert = f"INSERT OR REPLACE INTO {q(table.name)} ({names}) VALUES ({marks})"
        where, args = _owner(table, mailbox)
        key = q(table.key)
        delete = f"DELETE FROM {q(table.name)} WHERE {where} {key} = ?"
        if folder is not None:
            delete += f" AND {q('ParentFolderId')} = ?"
        rows, gone = [], []
        for item in items:
            if "@removed" in item:
                gone.append((*args, item.get("id")) + ((folder,) if folder is not None else ()))
            else:
                rows.append(tuple(read(item) for read in readers))
        if rows:
            db.executemany(upsert, rows)
        for values in gone:
            outcome.removed += db.execute(delete, values).rowcount
        outcome.changed += len(rows)

    @staticmethod
    def _clear(db: Any, table: Table, mailbox: str, folder: str | None) -> int:
        where, values = _rows_of(table, mailbox, folder)
        return int(db.execute(f"DELETE FROM {q(table.name)} WHERE {where}", values).rowcount)

    @staticmethod
    def _count(db: Any, table: Table, mailbox: str, folder: str | None) -> int:
        where, values = _rows_of(table, mailbox, folder)
        return int(db.execute(f"SELECT COUNT(*) FROM {q(table.name)} WHERE {where}",
                              values).fetchone()[0])


def _rows_of(table: Table, mailbox: str, folder: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause of one mailbox's rows (of one folder)."""
    where, values = _owner(table, mailbox)
    sql = f"{where} 1 = 1"
    if folder is not None:
        sql += f" AND {q('ParentFolderId')} = ?"
        values.append(folder)
    return sql, values


def _owner(table: Table, mailbox: str) -> tuple[str, list[Any]]:
    """The WHERE prefix selecting one mailbox's rows (none for directory tables)."""
    if table.column("UserId") is not None and mailbox:
        return f"{q('UserId')} = ? AND", [mailbox]
    return "", []


def _readers(table: Table, columns: Sequence[Column], pseudo: dict[str, Any]) -> list[Reader]:
    """Per column, Graph entity → storage value, as the live path reads it (``scan.py``);
    pseudo-columns get the values a live read's address gives them (``pseudo``)."""
    readers: list[Reader] = []
    for column in columns:
        if column.pseudo:
            value = pseudo.get(column.name.lower(), column.default_value)
            readers.append(_constant(to_storage(value, column.sql_type)))
        else:
            readers.append(storage_reader(column, table.name))
    return readers


def _constant(value: Any) -> Reader:
    return lambda entity: value


def _iso(value: _dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(exc: Error) -> str:
    facts = [f"{exc.status}" if exc.status else "", exc.code or ""]
    head = " ".join(f for f in facts if f)
    return f"{head}: {exc.message}" if head else exc.message


def _all_tracked() -> Iterator[Tracking]:
    from .tracking import TRACKED

    return iter(TRACKED.values())
