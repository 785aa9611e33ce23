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

CalendarView runs one such round per time window kept (``_windows``); Events, which has no
delta in v1.0, lists every event's version and reads again the changed ones (``_reread``).

A delta link Graph no longer knows (410 ``syncStateNotFound``) restarts that folder (or
collection) alone from scratch: its rows are replaced by the fresh round's. A mailbox that
fails with 403 (an app scoped away from it) or 404 (no mailbox) is recorded in
``_o365sql_replicas`` and skipped; other errors are recorded and raised. Rows are converted by
``conversion`` exactly as the live read path converts them, so the replica and a live read
agree value for value.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote

from ..catalog import Catalog, Column, Table
from ..conversion import page_rows, storage_reader, storage_values, to_storage
from ..exceptions import Error, ProgrammingError
from ..graph.batch import BATCH_PARALLEL
from ..graph.companion import Companion, missing
from ..graph.request import GraphRequest
from .store import FOLDERS_SCOPE, ReplicaStore
from .store import quote as q
from .tracking import Tracking, tracking
from .windows import Window, default_window, iso, parse_window, window_text

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
    already holds rows of it (else any left over are cleared first). ``part`` names the
    columns whose values tell the scope's rows apart (a folder's ``ParentFolderId``, a
    window's ``StartDateTime``/``EndDateTime``, as storage values); ``pseudo`` the values its
    rows' pseudo-columns get (a window's bounds)."""

    scope: str
    path: str
    link: str | None
    known: bool
    params: tuple[tuple[str, str], ...] = ()
    select: str | None = None  # None: the replicated columns; "": no $select
    part: tuple[tuple[str, Any], ...] = ()
    pseudo: tuple[tuple[str, Any], ...] = ()
    # With no $select: the listing of the same items that reads the select-only properties
    # (its request and those properties), see tracking.Tracking.listing.
    listing: GraphRequest | None = None
    select_only: tuple[str, ...] = ()


def _window_part(window: Window) -> tuple[tuple[str, Any], ...]:
    return (("StartDateTime", to_storage(window[0])), ("EndDateTime", to_storage(window[1])))


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
                 concurrency: int = 4, first_window: Window | None = None,
                 window_days: int = 365) -> None:
        self.store = store
        self.graph = graph
        self.catalog = catalog
        self.concurrency = max(1, min(concurrency, 4))
        self.first_window = first_window or default_window(window_days)

    def refresh(self, table_name: str, mailboxes: Sequence[str],
                window: Window | None = None,
                include: Sequence[Column] = ()) -> list[Outcome]:
        """Copy or refresh ``table_name`` for each mailbox (``''`` for directory tables);
        ``window``: the calendarView window REPLICATE's WHERE asks to keep as well;
        ``include``: heavy columns to keep from now on (``store.ReplicaStore.ensure_table``)."""
        spec = tracking(table_name)
        if spec is None:
            raise ProgrammingError(f"REPLICATE does not support {table_name}; it supports "
                                   + ", ".join(sorted(t.table for t in _all_tracked())))
        table = self.catalog.table(spec.table)
        outcomes = []
        with self.store.refresh_lock():
            with self.store.transaction() as db:
                self.store.ensure_table(db, table, include)
            for mailbox in (mailboxes if spec.mailbox else [""]):
                outcomes.append(self._one(spec, table, mailbox, window))
        return outcomes

    def _one(self, spec: Tracking, table: Table, mailbox: str,
             window: Window | None = None) -> Outcome:
        outcome = Outcome(table.name, mailbox)
        started, before = time.perf_counter(), self.graph.stats.requests
        try:
            if spec.visible == "members":
                self._members(table, outcome)
            elif spec.folders is not None:
                self._per_folder(spec, table, mailbox, outcome)
            elif spec.window:
                self._windows(spec, table, mailbox, outcome, window)
            elif spec.reread:
                self._reread(spec, table, mailbox, outcome)
            else:
                self._collection(spec, table, mailbox, outcome)
            self._folder_names(spec, table, mailbox)
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

    def _folder_names(self, spec: Tracking, table: Table, mailbox: str) -> None:
        """Keep the mailbox's well-known folder names and their ids (``store.py``): read
        once, and the names not found read again when the folder ids change (a folder that
        appears may be one of them). One ``$batch`` of single-folder GETs."""
        if not table.well_known_folders or not spec.mailbox:
            return
        if spec.folders is not None:
            ids = sorted(s for s in self.store.scopes(table.name, mailbox) if s != FOLDERS_SCOPE)
        else:
            ids = sorted(str(r[0]) for r in self.store.db.execute(
                f"SELECT {q(table.key)} FROM {q(table.name)} WHERE {q('UserId')} = ?",
                (mailbox,)))
        digest = hashlib.blake2b("\n".join(ids).encode("utf-8"), digest_size=12).hexdigest()
        stored = self.store.folder_names(mailbox)
        names = dict(stored or {})
        wanted = [n.lower() for n in table.well_known_folders if names.get(n.lower()) is None]
        if stored is not None and (stored.get(FOLDERS_SCOPE) == digest or not wanted):
            return
        base = mailbox_path(mailbox)
        requests = [GraphRequest("GET", f"{base}/mailFolders/{quote(name, safe='')}",
                                 (("$select", "id"),)) for name in wanted]
        found: dict[int, str | None] = {}
        for index, page in self.graph.fan_out(requests, missing_ok=True):
            found[index] = str(page[0]["id"]) if page and page[0].get("id") else None
        for index, name in enumerate(wanted):
            names[name] = found.get(index)
        names[FOLDERS_SCOPE] = digest
        with self.store.transaction() as db:
            self.store.set_folder_names(db, mailbox, names)

    # -- the shapes --------------------------------------------------------------------------
    def _collection(self, spec: Tracking, table: Table, mailbox: str, outcome: Outcome) -> None:
        columns = self.store.ensure_table(self.store.db, table)
        path = spec.items if not spec.mailbox else mailbox_path(mailbox) + "/" + spec.items
        stored = self.store.scopes(table.name, mailbox).get("")
        job = _Job("", path, stored.link if stored else None, stored is not None, (),
                   None if spec.selectable else "")
        if not spec.selectable:
            job = self._with_listing(job, spec, table, columns, mailbox)
            job = self._recopy_if_stale(job, table, columns, mailbox)
        with self.store.transaction() as db:
            links = self._stream(db, table, columns, mailbox, [job], outcome)
            rows = self._count(db, table, mailbox, ())
            self.store.set_scope(db, table.name, mailbox, "", links[""], rows)
            self.store.mark(db, table, mailbox, error=None, refreshed=True)
        outcome.rows = rows

    def _windows(self, spec: Tracking, table: Table, mailbox: str, outcome: Outcome,
                 asked: Window | None) -> None:
        """calendarView delta, one round per window kept (tracking.py, "windows"). A window
        asked for that overlaps or touches kept ones is merged with them: Graph fixes a
        link's window, so their union is copied afresh and their rows and links dropped."""
        columns = self.store.ensure_table(self.store.db, table)
        path = mailbox_path(mailbox) + "/" + spec.items
        scopes = self.store.scopes(table.name, mailbox)
        kept = {text: parse_window(text) for text in scopes}
        windows = sorted(kept.values())
        dropped: list[str] = []
        if asked is not None and not any(k[0] <= asked[0] and asked[1] <= k[1] for k in windows):
            touching = [k for k in windows if k[0] <= asked[1] and asked[0] <= k[1]]
            union = (min([asked[0]] + [k[0] for k in touching]),
                     max([asked[1]] + [k[1] for k in touching]))
            dropped = [window_text(k) for k in touching]
            windows = sorted([k for k in windows if k not in touching] + [union])
        elif not windows:
            windows = [self.first_window]
        jobs = []
        for window in windows:
            text = window_text(window)
            stored = scopes.get(text)
            jobs.append(_Job(text, path, stored.link if stored else None, stored is not None,
                             (("startDateTime", iso(window[0])), ("endDateTime", iso(window[1]))),
                             "" if not spec.selectable else None, _window_part(window),
                             (("startdatetime", window[0]), ("enddatetime", window[1]))))
        if not spec.selectable:
            jobs = [self._recopy_if_stale(self._with_listing(job, spec, table, columns, mailbox),
                                          table, columns, mailbox) for job in jobs]
        with self.store.transaction() as db:
            outcome.rows = self._scopes(db, table, columns, mailbox, jobs, outcome,
                                        {text: _window_part(kept[text]) for text in dropped},
                                        {job.scope: job.scope for job in jobs})
            self.store.mark(db, table, mailbox, error=None, refreshed=True)

    @staticmethod
    def _with_listing(job: _Job, spec: Tracking, table: Table, columns: Sequence[Column],
                      mailbox: str) -> _Job:
        """``job`` (a round sent without ``$select``) with the listing that reads the
        replicated select-only columns' properties (catalog ``select_only``), if any: the
        same collection and window with ``$select`` of the id and those properties."""
        props = tuple(dict.fromkeys(c.select for c in columns if c.select and c.select_only
                                    and not c.pseudo))
        if not props:
            return job
        if spec.listing is None:
            raise ProgrammingError(f"REPLICATE {table.name}: Graph returns "
                                   f"{', '.join(props)} only when selected, and its delta "
                                   "function takes no $select")
        path = mailbox_path(mailbox) + "/" + spec.listing if spec.mailbox else spec.listing
        params = (*job.params, ("$select", ",".join(("id", *props))),
                  ("$top", str(table.max_page_size)))
        return replace(job, listing=GraphRequest("GET", path, params), select_only=props)

    def _recopy_if_stale(self, job: _Job, table: Table, columns: Sequence[Column],
                         mailbox: str) -> _Job:
        """``job`` started afresh when the rows it keeps lack a select-only value Graph never
        leaves null (a replica written before those values were read: each would otherwise
        stay NULL until its item changes)."""
        if not job.known or job.listing is None:
            return job
        stale = [c for c in columns if c.select_only and not c.nullable and not c.pseudo]
        if not stale:
            return job
        where, values = _rows_of(table, mailbox, job.part)
        nulls = " OR ".join(f"{q(c.name)} IS NULL" for c in stale)
        found = self.store.db.execute(f"SELECT 1 FROM {q(table.name)} WHERE {where} AND "
                                      f"({nulls}) LIMIT 1", values).fetchone()
        return job if found is None else replace(job, link=None, known=False)

    def _reread(self, spec: Tracking, table: Table, mailbox: str, outcome: Outcome) -> None:
        """A table without delta (Events, tracking.py "re-read"): list every item's id and
        version (``changeKey`` and ``lastModifiedDateTime``, one request per 1,000 items), read
        again through ``$batch`` the items that are new or whose version differs, delete the
        ones no longer listed; the endpoint and ``$select`` are the live read's. A first copy,
        or a refresh where re-reading the changed items would cost more requests than reading
        every item again (a mailbox's items go at most 4 to a batch), reads every item."""
        columns = self.store.ensure_table(self.store.db, table)
        base = mailbox_path(mailbox) + "/" + spec.items
        version = [c for c in (table.column("ChangeKey"), table.column("LastModifiedDateTime"))
                   if c is not None]
        readers = [storage_reader(c, table.name) for c in version]
        where, args = _owner(table, mailbox)
        names = ", ".join(q(c.name) for c in version)
        stored = {str(row[0]): tuple(row[1:]) for row in self.store.db.execute(
            f"SELECT {q(table.key)}, {names} FROM {q(table.name)} WHERE {where} 1 = 1", args)}
        select = select_list(columns)

        def listing(chosen: str) -> tuple[dict[str, tuple[Any, ...]], list[dict[str, Any]]]:
            found: dict[str, tuple[Any, ...]] = {}
            items: list[dict[str, Any]] = []
            request = GraphRequest("GET", base, (("$select", chosen),
                                                 ("$top", str(table.max_page_size))))
            for payload in self.graph.payloads(request):
                for item in payload.get("value") or []:
                    found[str(item["id"])] = tuple(read(item) for read in readers)
                    items.append(item)
            return found, items

        wanted: list[str] = []
        if "" not in self.store.scopes(table.name, mailbox):
            listed, items = listing(select)
        else:
            listed, _ = listing(",".join(["id"] + [c.select for c in version if c.select]))
            wanted = sorted(i for i, seen in listed.items() if stored.get(i) != seen)
            pages = -(-len(listed) // table.max_page_size)
            if -(-len(wanted) // BATCH_PARALLEL) > pages:
                listed, items = listing(select)
                items = [i for i in items if stored.get(str(i["id"])) != listed[str(i["id"])]]
                wanted = []
            else:
                items = []
                requests = [GraphRequest("GET", f"{base}/{quote(i, safe='')}",
                                         (("$select", select),)) for i in wanted]
                for _, page in (self.graph.fan_out(requests, missing_ok=True) if requests
                                else ()):
                    items.extend(page)
        read = {str(item.get("id")) for item in items}
        # Gone: no longer listed, or deleted between the listing and its read (404).
        gone = [i for i in stored if i not in listed] + [
            i for i in wanted if i not in read and i in stored]
        with self.store.transaction() as db:
            for ident in gone:
                outcome.removed += db.execute(
                    f"DELETE FROM {q(table.name)} WHERE {where} {q(table.key)} = ?",
                    (*args, ident)).rowcount
            self._apply(db, table, columns, mailbox, (), items, outcome)
            rows = self._count(db, table, mailbox, ())
            self.store.set_scope(db, table.name, mailbox, "", None, rows)
            self.store.mark(db, table, mailbox, error=None, refreshed=True)
        outcome.rows = rows

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
        by_folder = table.column("ParentFolderId") is not None

        def part(folder: str) -> tuple[tuple[str, Any], ...]:
            return (("ParentFolderId", folder),) if by_folder else ()
        jobs = [_Job(folder, f"{base}/{spec.items.format(folder=quote(folder, safe=''))}",
                     scopes[folder].link if folder in scopes else None, folder in scopes,
                     part=part(folder))
                for folder in folders]
        with self.store.transaction() as db:
            total = self._scopes(db, table, columns, mailbox, jobs, outcome,
                                 {s: part(s) for s in known if s not in folders}, folders)
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
                self._apply(db, table, columns, "", (), items, outcome, {"groupid": group})
            rows = self._count(db, table, "", ())
            self.store.set_scope(db, table.name, "", "#groups", group_round.link, len(changed))
            self.store.set_scope(db, table.name, "", "#users", user_round.link, 0)
            self.store.mark(db, table, "", error=None, refreshed=True)
        outcome.rows = rows
        outcome.resynced += int(group_round.restarted) + int(user_round.restarted)

    def _scopes(self, db: Any, table: Table, columns: Sequence[Column], mailbox: str,
                jobs: Sequence[_Job], outcome: Outcome,
                dropped: dict[str, tuple[tuple[str, Any], ...]],
                parents: Mapping[str, str | None]) -> int:
        """Inside the caller's transaction: drop the scopes gone (their rows and links), run
        the jobs' rounds, store each scope's new link and row count; the rows in all."""
        for scope, part in dropped.items():
            outcome.removed += self._clear(db, table, mailbox, part)
            self.store.drop_scope(db, table.name, mailbox, scope)
        links = self._stream(db, table, columns, mailbox, jobs, outcome)
        total = 0
        for job in jobs:
            rows = self._count(db, table, mailbox, job.part)
            total += rows
            self.store.set_scope(db, table.name, mailbox, job.scope, links[job.scope], rows,
                                 parents.get(job.scope))
        return total

    def _stream(self, db: Any, table: Table, columns: Sequence[Column], mailbox: str,
                jobs: Sequence[_Job], outcome: Outcome) -> dict[str, str]:
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

        by_scope = {job.scope: job for job in jobs}
        for job in jobs:
            if not job.known:  # a first copy of this scope: nothing of it may linger
                self._clear(db, table, mailbox, job.part)
        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        try:
            for job in jobs:
                pool.submit(work, job)
            remaining = len(jobs)
            while remaining:
                kind, scope, value = events.get()
                job = by_scope[scope]
                if kind == "done":
                    remaining -= 1
                elif kind == "error":
                    raise value
                elif kind == "restart":  # Graph forgot the link: this scope starts over
                    self._clear(db, table, mailbox, job.part)
                    outcome.resynced += 1
                elif kind == "link":
                    links[scope] = value
                else:
                    self._apply(db, table, columns, mailbox, job.part, value, outcome,
                                dict(job.pseudo))
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
        companion: Companion | None = None
        try:
            for attempt in range(3):
                try:
                    for payload in self.graph.payloads(request):
                        if stop.is_set():
                            return
                        page = payload.get("value") or []
                        if job.listing is not None and missing(job.select_only, page):
                            # Started on the first page that lacks them: one listing of the
                            # window, read as far as the round's items need.
                            if companion is None:
                                companion = Companion(self.graph.pages(job.listing), "id",
                                                      job.select_only)
                            companion.fill(page)
                        put(("page", job.scope, page))
                        link = payload.get("@odata.deltaLink")
                        if link:
                            put(("link", job.scope, str(link)))
                    return
                except Error as exc:
                    if exc.status != 410 or attempt == 2:
                        raise
                put(("restart", job.scope, None))
                request = self._first(job.path, columns, job.select, headers, job.params)
        finally:
            if companion is not None:
                companion.close()

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
               part: tuple[tuple[str, Any], ...], items: Sequence[dict[str, Any]],
               outcome: Outcome, pseudo: dict[str, Any] | None = None) -> None:
        names = ", ".join(q(c.name) for c in columns)
        marks = ", ".join("?" for _ in columns)
        upsert = f"INSERT OR REPLACE INTO {q(table.name)} ({names}) VALUES ({marks})"
        where, args = _owner(table, mailbox)
        key = q(table.key)
        delete = f"DELETE FROM {q(table.name)} WHERE {where} {key} = ?" + "".join(
            f" AND {q(name)} = ?" for name, _ in part)
        gone = [(*args, item.get("id"), *(value for _, value in part))
                for item in items if "@removed" in item]
        address = {"userid": mailbox, **(pseudo or {})}
        # Pseudo-columns get the values a live read's address gives them (scan.storage_rows).
        fixed = {c.name.lower(): to_storage(address.get(c.name.lower(), c.default_value),
                                            c.sql_type) for c in columns if c.pseudo}
        rows = page_rows(columns, table.name,
                         [item for item in items if "@removed" not in item], fixed, storage_values)
        if rows:
            db.executemany(upsert, rows)
        for values in gone:
            outcome.removed += db.execute(delete, values).rowcount
        outcome.changed += len(rows)

    @staticmethod
    def _clear(db: Any, table: Table, mailbox: str, part: tuple[tuple[str, Any], ...]) -> int:
        where, values = _rows_of(table, mailbox, part)
        return int(db.execute(f"DELETE FROM {q(table.name)} WHERE {where}", values).rowcount)

    @staticmethod
    def _count(db: Any, table: Table, mailbox: str, part: tuple[tuple[str, Any], ...]) -> int:
        where, values = _rows_of(table, mailbox, part)
        return int(db.execute(f"SELECT COUNT(*) FROM {q(table.name)} WHERE {where}",
                              values).fetchone()[0])


def _rows_of(table: Table, mailbox: str,
             part: tuple[tuple[str, Any], ...]) -> tuple[str, list[Any]]:
    """The WHERE clause of one mailbox's rows (of one scope: ``_Job.part``)."""
    where, values = _owner(table, mailbox)
    sql = f"{where} 1 = 1"
    for name, value in part:
        sql += f" AND {q(name)} = ?"
        values.append(value)
    return sql, values


def _owner(table: Table, mailbox: str) -> tuple[str, list[Any]]:
    """The WHERE prefix selecting one mailbox's rows (none for directory tables)."""
    if table.column("UserId") is not None and mailbox:
        return f"{q('UserId')} = ? AND", [mailbox]
    return "", []


def _describe(exc: Error) -> str:
    facts = [f"{exc.status}" if exc.status else "", exc.code or ""]
    head = " ".join(f for f in facts if f)
    return f"{head}: {exc.message}" if head else exc.message


def _all_tracked() -> Iterator[Tracking]:
    from .tracking import TRACKED

    return iter(TRACKED.values())
