"""Replica stage, source: the replica as a second source for the same plans (DESIGN §5.3).

For each scan of a plan made without pushdown (so the local engine evaluates every
predicate), :meth:`ReplicaSource.covers` says whether the replica can give exactly the rows a
live read would: the table is replicated for the scan's mailbox, the scan needs only columns
the replica keeps (heavy ones only when ``INCLUDE COLUMNS`` asked for them), and its address
is one the replica answers: no ``SearchTerms`` (Graph's KQL search), a ``ParentFolderId``
(id, or well-known name looked up in the names the replica keeps per mailbox) naming a folder
the replica holds whole, ``IncludeHiddenFolders`` (the replica holds hidden folders too).
Well-known names compared elsewhere (``O365_FOLDER_ID``) are resolved from the same names
(``execution/replica_scans.py``). :meth:`ReplicaSource.load` then copies the rows inside SQLite (``INSERT ... SELECT`` from
the attached replica file) into the scan's table, restricted to what the live endpoint lists
(MailFolders: every folder under the root; ``/me/contacts``: the default folder; see
``tracking.py``), with pseudo-columns given the values the scan's address gives them.

With AutoCache, a replica older than ``CacheTolerance`` seconds (or a table never replicated
for that mailbox) is first refreshed through ``refresh``; Offline never refreshes and a scan
the replica cannot answer fails with ``OperationalError`` naming the table and why.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..conversion import to_storage
from ..exceptions import OperationalError
from ..value_model import as_utc
from .store import FOLDERS_SCOPE, SCOPES, ReplicaStore
from .store import quote as q
from .tracking import tracking
from .windows import Window, parse_window, window_text

ATTACHED = "replica"
SEARCH_TERMS = ("{name}: SearchTerms is answered by Graph's $search only (KQL over the "
                "mailbox's index: its word breaking, stemming and relevance cannot be reproduced "
                "from the replica)")
#: MailFolders' query parameter listing hidden folders too (lower case).
HIDDEN = "includehiddenfolders"
Refresh = Callable[[str, str], None]


@dataclass(frozen=True)
class Coverage:
    """Whether the replica answers a scan; ``reason`` says why not; ``age`` in seconds of the
    oldest mailbox it would read (None when nothing has been read yet)."""

    ok: bool
    reason: str = ""
    age: float | None = None


def _mailbox_of(fill: dict[str, Any]) -> str:
    value = fill.get("userid")
    return "" if value is None else str(value)


class ReplicaSource:
    """Answers scans from one replica file (see module docstring)."""

    def __init__(self, store: ReplicaStore, *, tolerance: float, refresh: Refresh | None,
                 first_window: Window | None = None) -> None:
        self.store = store
        self.tolerance = tolerance
        self.refresh = refresh  # None: Offline
        self.first_window = first_window  # the window a first copy of CalendarView keeps

    # -- deciding ----------------------------------------------------------------------------
    def covers(self, scan: Any, queries: Sequence[Any] | None = None,
               fills: Sequence[dict[str, Any]] | None = None) -> Coverage:
        """Can the replica answer this scan (for these instantiated queries)? What the replica
        holds (a folder, the folder names) is checked only where it will not be refreshed
        first: Offline, or a replica within ``CacheTolerance``; after an AutoCache refresh
        :meth:`ReplicaScans.load` asks again."""
        name = scan.table.name
        spec = tracking(name)
        if spec is None:
            return Coverage(False, f"{name} cannot be replicated")
        wanted = {c.name.lower() for c in scan.columns}
        if "searchterms" in wanted or any(f.get("searchterms") is not None
                                          for f in (fills if fills is not None else scan.fills)):
            return Coverage(False, SEARCH_TERMS.format(name=name))
        kept = {c.name.lower() for c in self.store.kept_columns(scan.table)}
        missing = [c.name for c in scan.columns if c.name.lower() not in kept]
        if missing:
            return Coverage(False, f"the replica of {name} does not keep "
                                   f"{', '.join(missing)} (heavy columns are read live; "
                                   f"REPLICATE {name} INCLUDE COLUMNS ({missing[0]}) keeps it)")
        queries = scan.queries if queries is None else queries
        fills = scan.fills if fills is None else fills
        if scan.dependency is not None and queries is scan.queries:
            queries, fills = (), ()  # addressed at run time; checked then
        ages: list[float] = []
        for query, fill in zip(queries, fills or ({},) * len(queries)):
            mailbox = _mailbox_of(fill) if spec.mailbox else ""
            age = self._age(name, mailbox)
            if age is None and self.refresh is None:
                who = f" for mailbox {_mailbox_of(fill)!r}" if spec.mailbox else ""
                return Coverage(False, f"{name} was never replicated{who} (run REPLICATE {name})")
            held = self.refresh is None or (age is not None and age <= self.tolerance)
            problem = self._address_problem(scan.table, query, fill, held)
            if not problem and held and scan.folder_names and \
                    self.store.folder_names(self.mailbox_key(name, mailbox)) is None:
                problem = (f"{name}: the replica has not read the well-known folder names of "
                           f"mailbox {mailbox!r} (REPLICATE {name} reads them)")
            if problem:
                return Coverage(False, problem)
            if age is not None:
                ages.append(age)
        return Coverage(True, age=max(ages) if ages else None)

    def _address_problem(self, table: Any, query: Any, fill: dict[str, Any], held: bool) -> str:
        name = table.name
        spec = tracking(name)
        assert spec is not None
        window = spec.window
        if fill.get("searchterms") is not None:
            return SEARCH_TERMS.format(name=name)
        params = [k for k, _ in getattr(query, "params", ())
                  if not (window and k.lower() in ("startdatetime", "enddatetime"))
                  and not (spec.table == "MailFolders" and k.lower() == HIDDEN)]
        if params:
            return f"{name}: {', '.join(params)} needs Graph"
        mailbox = _mailbox_of(fill) if spec.mailbox else ""
        for slot, value in getattr(query, "address", ()):
            if slot.lower() == "userid" or (window and slot.lower() in ("startdatetime",
                                                                         "enddatetime")):
                continue
            if slot.lower() == "groupid" and spec.visible == "members":
                continue
            if slot.lower() == "parentfolderid" and spec.visible != "members":
                problem = self._folder_problem(table, mailbox, value, held)
                if problem:
                    return problem
                continue
            return f"{name}: reading by {slot} = {value!r} needs Graph"
        if window:
            return self._window_problem(name, fill)
        return ""

    def folder_id(self, table: Any, mailbox: str, value: Any) -> tuple[bool, Any]:
        """``(known, id)`` of a ``ParentFolderId`` value: a well-known name (any case) is
        looked up in the replica's names (``id`` None: the mailbox has no such folder);
        ``known`` is False when the names were never read. Any other value is an id."""
        if not isinstance(value, str) or \
                value.lower() not in {n.lower() for n in table.well_known_folders}:
            return True, value
        names = self.store.folder_names(self.mailbox_key(table.name, mailbox))
        if names is None:
            return False, None
        return True, names.get(value.lower())

    def _folder_problem(self, table: Any, mailbox: str, value: Any, held: bool) -> str:
        """Why the replica cannot list the items (or child folders) of folder ``value``: a
        folder outside what Graph's folder delta lists (msgfolderroot's subtree; the
        Recoverable Items, Finder ...) or one deleted since is not in the replica, and only
        Graph knows which of the two it is."""
        if not held:
            return ""
        name = table.name
        known, folder = self.folder_id(table, mailbox, value)
        if not known:
            return (f"{name}: the replica has not read the well-known folder names of mailbox "
                    f"{mailbox!r} (REPLICATE {name} reads them)")
        if folder is None:
            return ""  # a name the mailbox has no folder for: no rows, live or not
        if folder in self.held_folders(name, self.mailbox_key(name, mailbox)):
            return ""
        return (f"{name}: ParentFolderId = {value!r} is not a folder the replica holds (Graph's "
                "folder delta lists the folders under msgfolderroot; other or deleted folders "
                "are read live)")

    def held_folders(self, table: str, mailbox: str) -> set[str]:
        """The folders whose items (or child folders) the replica of ``table`` holds whole:
        each folder with a delta link (Messages, Contacts); for MailFolders every folder and
        the root above the top level; for ContactFolders every folder."""
        spec = tracking(table)
        assert spec is not None
        if spec.folders is not None:
            return {s for s in self.store.scopes(spec.table, mailbox) if s != FOLDERS_SCOPE}
        if not self.store.has_table(spec.table):
            return set()
        ident, parent, user = q("Id"), q("ParentFolderId"), q("UserId")
        sql = f"SELECT {ident} FROM {q(spec.table)} WHERE {user} = ?"
        if spec.visible == "tree":
            sql += f" UNION SELECT {parent} FROM {q(spec.table)} WHERE {user} = ?"
            return {str(r[0]) for r in self.store.db.execute(sql, (mailbox, mailbox))}
        return {str(r[0]) for r in self.store.db.execute(sql, (mailbox,))}

    # -- windows (tracking.py, "windows") -----------------------------------------------------
    def windows(self, table: str, mailbox: str) -> list[Window]:
        """The windows the replica keeps of ``table`` for ``mailbox``."""
        return sorted(parse_window(scope.scope) for scope in self.store.all_scopes()
                      if scope.table == table and scope.mailbox.lower() == mailbox.lower()
                      and "/" in scope.scope)  # a file from before windows: none kept

    def _holding(self, table: str, fill: dict[str, Any]) -> Window | None:
        """The kept window holding the scan's window, or None."""
        asked = _asked(fill)
        return next((k for k in self.windows(table, _mailbox_of(fill))
                     if k[0] <= asked[0] and asked[1] <= k[1]), None)

    def _window_problem(self, name: str, fill: dict[str, Any]) -> str:
        if fill.get("startdatetime") is None or fill.get("enddatetime") is None:
            return f"{name}: the window is known only when the statement runs"
        try:
            asked = _asked(fill)
        except (ValueError, TypeError):
            return (f"{name}: the window {fill['startdatetime']!r} to {fill['enddatetime']!r} "
                    "is not a pair of date-times")
        kept = self.windows(name, _mailbox_of(fill))
        if not kept:
            first = self.first_window
            if first is None:  # Offline
                return (f"{name}: the replica keeps no window of it for mailbox "
                        f"{_mailbox_of(fill)!r}; {_replicate_hint(name, asked)}")
            if first[0] <= asked[0] and asked[1] <= first[1]:
                return ""  # AutoCache: the first copy holds it
            return (f"{name}: the window {_shown(asked)} is outside the window a first copy "
                    f"keeps ({_shown(first)}, ReplicateWindow days either side of today); "
                    f"{_replicate_hint(name, asked)}")
        holding = self._holding(name, fill)
        if holding is None:
            return (f"{name}: the window {_shown(asked)} is not inside a window the replica "
                    f"keeps ({'; '.join(_shown(k) for k in kept)}); "
                    f"{_replicate_hint(name, asked)}")
        if holding != asked and self._uncertain(name, _mailbox_of(fill), holding, asked):
            return (f"{name}: an all-day event lies within 14 hours of the edges of the window "
                    f"{_shown(asked)}; whether Graph lists it depends on its time zone")
        return ""

    def _uncertain(self, table: str, mailbox: str, holding: Window, asked: Window) -> bool:
        clause, extra = _uncertain_all_day(asked)
        found = self.store.db.execute(
            f"SELECT 1 FROM {q(table)} WHERE {q('UserId')} = ? AND {q('StartDateTime')} = ? AND "
            f"{q('EndDateTime')} = ? AND {clause} LIMIT 1",
            [self.mailbox_key(table, mailbox), *map(to_storage, holding), *extra]).fetchone()
        return found is not None

    def _age(self, table: str, mailbox: str) -> float | None:
        for state in self.store.replicas(table):
            if state.mailbox.lower() == mailbox.lower() and state.refreshed is not None:
                return max(0.0, time.time() - state.refreshed)
        return None

    def mailbox_key(self, table: str, mailbox: str) -> str:
        """The mailbox as the replica stored it (mailbox names compare case-insensitively)."""
        for state in self.store.replicas(table):
            if state.mailbox.lower() == mailbox.lower():
                return state.mailbox
        return mailbox

    # -- refreshing --------------------------------------------------------------------------
    def freshen(self, table: str, fills: Sequence[dict[str, Any]]) -> None:
        """AutoCache: refresh each mailbox whose replica is older than the tolerance (or, for
        CalendarView, keeps no window yet: the refresh copies the first one)."""
        if self.refresh is None:
            return
        spec = tracking(table)
        assert spec is not None
        mailboxes = sorted({_mailbox_of(f) for f in fills} if spec.mailbox else {""})
        for mailbox in mailboxes:
            age = self._age(spec.table, mailbox)
            if age is None or age > self.tolerance or (
                    spec.window and not self.windows(spec.table, mailbox)):
                self.refresh(spec.table, mailbox)

    # -- loading -----------------------------------------------------------------------------
    def attach(self, db: sqlite3.Connection) -> None:
        attached = {row[1] for row in db.execute("PRAGMA database_list")}
        if ATTACHED not in attached:
            db.execute(f"ATTACH DATABASE ? AS {ATTACHED}", (str(self.store.path),))

    def load(self, db: sqlite3.Connection, scan: Any, queries: Sequence[Any],
             fills: Sequence[dict[str, Any]], *, view: bool = False) -> None:
        """The rows of each (query, fill) in the scan's table. With ``view``, the scan's temp
        table is replaced by a temp view over the attached replica (no copy: a top-N or a
        GROUP BY reads the file through its indexes), else the rows are copied in."""
        self.attach(db)
        selects = [self._select(scan, query, fill)
                   for query, fill in zip(queries, fills or ({},) * len(queries))]
        if view:
            body = " UNION ALL ".join(_inline(sql, args) for sql, args in selects)
            if not body:
                return
            db.execute(f"DROP TABLE temp.{q(scan.storage)}")
            db.execute(f"CREATE TEMP VIEW {q(scan.storage)} AS {body}")
            return
        for sql, args in selects:
            db.execute(f"INSERT INTO {q(scan.storage)} {sql}", args)

    def _select(self, scan: Any, query: Any, fill: dict[str, Any]) -> tuple[str, list[Any]]:
        """The SELECT over the replica giving one (query, fill)'s rows in the scan's columns."""
        spec = tracking(scan.table.name)
        assert spec is not None
        table = f"{ATTACHED}.{q(spec.table)}"
        exprs: list[str] = []
        args: list[Any] = []
        for column in scan.columns:
            name = q(column.name.lower())
            if column.pseudo:
                exprs.append(f"? AS {name}")
                args.append(to_storage(fill.get(column.name.lower(), column.default_value),
                                       column.sql_type))
            else:
                exprs.append(f"{q(column.name)} AS {name}")
        where: list[str] = []
        mailbox = self.mailbox_key(spec.table, _mailbox_of(fill)) if spec.mailbox else ""
        if spec.mailbox:
            where.append(f"{q('UserId')} = ?")
            args.append(mailbox)
        address = {slot.lower(): value for slot, value in getattr(query, "address", ())}
        folder = address.get("parentfolderid")
        if folder is not None:
            known, ident = self.folder_id(scan.table, mailbox, folder)
            folder = ident if known and ident is not None else folder
        hidden = spec.table == "MailFolders" and any(
            k.lower() == HIDDEN and str(v).lower() == "true" for k, v in getattr(query, "params", ()))
        if spec.visible == "members":
            where.append(f"{q('GroupId')} = ?")
            args.append(address.get("groupid"))
        elif folder is not None:
            where.append(f"{q('ParentFolderId')} = ?")
            args.append(folder)
        elif not hidden:
            clause, extra = _visible(spec.visible, spec.table, table, mailbox)
            if clause:
                where.append(clause)
                args.extend(extra)
        if spec.table == "MailFolders" and not hidden:
            # Hidden folders are listed only with includeHiddenFolders=true; with it, the
            # childFolders walk from the root lists msgfolderroot's whole subtree, which is
            # what mailFolders/delta copies (graph-semantics §3.6).
            where.append(f"{q('IsHidden')} = 0")
        if spec.window:
            holding = self._holding(spec.table, fill)
            asked = _asked(fill)
            assert holding is not None, "covers() said a kept window holds the scan's"
            where.append(f"{q('StartDateTime')} = ? AND {q('EndDateTime')} = ?")
            args.extend(to_storage(bound) for bound in holding)
            if holding != asked:
                clause, extra = _overlapping(asked)
                where.append(clause)
                args.extend(extra)
        select = ", ".join(exprs) if exprs else 'NULL AS "_empty"'
        return (f"SELECT {select} FROM {table}"
                + (" WHERE " + " AND ".join(where) if where else "")), args


def _inline(sql: str, args: Sequence[Any]) -> str:
    """``sql`` with its ``?`` marks replaced by SQL literals (a view cannot take parameters).
    The SQL text has no other ``?``: it is built here from quoted names and these marks."""
    parts = sql.split("?")
    assert len(parts) == len(args) + 1
    out = [parts[0]]
    for value, part in zip(args, parts[1:]):
        out.append(_literal(value))
        out.append(part)
    return "".join(out)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    return "'" + str(value).replace("'", "''") + "'"


def _asked(fill: dict[str, Any]) -> Window:
    """The window a scan reads (its ``StartDateTime``/``EndDateTime`` values, aware UTC)."""
    return as_utc(fill["startdatetime"]), as_utc(fill["enddatetime"])


def _shown(window: Window) -> str:
    return window_text(window).replace("/", " to ")


def _replicate_hint(name: str, asked: Window) -> str:
    start, end = window_text(asked).split("/")
    return (f"REPLICATE {name} WHERE StartDateTime >= '{start}' AND EndDateTime <= '{end}' "
            "keeps it")




#: Time zones lie between UTC-12 and UTC+14: an all-day event (midnight to midnight in its
#: own zone, written as midnight UTC when no Prefer: outlook.timezone is sent) really starts
#: up to 14 hours before or 12 hours after the midnight it shows.
_EARLY, _LATE = _dt.timedelta(hours=14), _dt.timedelta(hours=12)


def _overlapping(asked: Window) -> tuple[str, list[Any]]:
    """Rows overlapping ``asked`` as calendarView lists them (start before the window's end,
    end after its start, graph-semantics §3.4); all-day ones whatever their time zone."""
    start, end = q("Start_DateTime"), q("End_DateTime")
    clause = (f"((coalesce({q('IsAllDay')}, 0) = 0 AND {start} < ? AND {end} > ?) OR "
              f"({q('IsAllDay')} = 1 AND {start} < ? AND {end} > ?))")
    return clause, [to_storage(asked[1]), to_storage(asked[0]),
                    to_storage(asked[1] - _LATE), to_storage(asked[0] + _EARLY)]


def _uncertain_all_day(asked: Window) -> tuple[str, list[Any]]:
    """All-day rows that overlap ``asked`` in some time zones and not in others."""
    start, end = q("Start_DateTime"), q("End_DateTime")
    surely_in = f"({start} < ? AND {end} > ?)"
    surely_out = f"({start} >= ? OR {end} <= ?)"
    return (f"{q('IsAllDay')} = 1 AND NOT {surely_in} AND NOT {surely_out}",
            [to_storage(asked[1] - _LATE), to_storage(asked[0] + _EARLY),
             to_storage(asked[1] + _EARLY), to_storage(asked[0] - _LATE)])


def _visible(kind: str, name: str, table: str, mailbox: str) -> tuple[str, list[Any]]:
    """The rows an unaddressed live read lists (``tracking.Tracking.visible``)."""
    parent, ident, user = q("ParentFolderId"), q("Id"), q("UserId")
    if kind == "tree":
        # The root's children and, level by level, their children; a hidden folder (and so
        # everything under it) is not listed without includeHiddenFolders.
        hidden = q("IsHidden")
        clause = (f"{ident} IN (WITH RECURSIVE shown(id) AS (SELECT r.{ident} FROM {table} r "
                  f"WHERE r.{user} = ? AND r.{hidden} = 0 AND r.{parent} NOT IN (SELECT p.{ident} "
                  f"FROM {table} p WHERE p.{user} = ?) UNION ALL SELECT c.{ident} FROM {table} c "
                  f"JOIN shown ON c.{parent} = shown.id WHERE c.{user} = ? AND c.{hidden} = 0) "
                  "SELECT id FROM shown)")
        return clause, [mailbox, mailbox, mailbox]
    if kind == "below-default":
        # Every folder under the default Contacts folder, at any depth (not that folder).
        return (f"{parent} IN (SELECT d.{ident} FROM {table} d WHERE d.{user} = ?)", [mailbox])
    if kind == "default-items":
        scopes = f"{ATTACHED}.{SCOPES}"
        clause = (f"{parent} IN (SELECT s.scope FROM {scopes} s WHERE s.tbl = ? AND s.mailbox = ? "
                  f"AND s.scope <> ? AND coalesce(s.parent, '') NOT IN (SELECT t.scope FROM "
                  f"{scopes} t WHERE t.tbl = ? AND t.mailbox = ?))")
        return clause, [name, mailbox, FOLDERS_SCOPE, name, mailbox]
    return "", []


def offline_error(table: str, reason: str) -> OperationalError:
    return OperationalError(f"Offline: the replica cannot answer {table}: {reason}")
