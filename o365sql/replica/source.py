"""Replica stage, source: the replica as a second source for the same plans (DESIGN §5.3).

For each scan of a plan made without pushdown (so the local engine evaluates every
predicate), :meth:`ReplicaSource.covers` says whether the replica can give exactly the rows a
live read would: the table is replicated for the scan's mailbox, the scan needs only
replicated columns, and its address is one the replica answers (no ``SearchTerms``, no
``IncludeHiddenFolders``, a ``ParentFolderId`` that is a folder id rather than a well-known
name). :meth:`ReplicaSource.load` then copies the rows inside SQLite (``INSERT ... SELECT`` from
the attached replica file) into the scan's table, restricted to what the live endpoint lists
(MailFolders: every folder under the root; ``/me/contacts``: the default folder; see
``tracking.py``), with pseudo-columns given the values the scan's address gives them.

With AutoCache, a replica older than ``CacheTolerance`` seconds (or a table never replicated
for that mailbox) is first refreshed through ``refresh``; Offline never refreshes and a scan
the replica cannot answer fails with ``OperationalError`` naming the table and why.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..conversion import to_storage
from ..exceptions import OperationalError
from .store import FOLDERS_SCOPE, SCOPES, ReplicaStore, replicated_columns
from .store import quote as q
from .tracking import tracking

ATTACHED = "replica"
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

    def __init__(self, store: ReplicaStore, *, tolerance: float, refresh: Refresh | None) -> None:
        self.store = store
        self.tolerance = tolerance
        self.refresh = refresh  # None: Offline

    # -- deciding ----------------------------------------------------------------------------
    def covers(self, scan: Any, queries: Sequence[Any] | None = None,
               fills: Sequence[dict[str, Any]] | None = None) -> Coverage:
        """Can the replica answer this scan (for these instantiated queries)?"""
        name = scan.table.name
        spec = tracking(name)
        if spec is None:
            return Coverage(False, f"{name} cannot be replicated")
        wanted = {c.name.lower() for c in scan.columns}
        kept = {c.name.lower() for c in replicated_columns(scan.table)}
        missing = sorted(wanted - kept)
        if missing:
            return Coverage(False, f"the replica of {name} does not keep "
                                   f"{', '.join(missing)} (heavy columns are read live)")
        if scan.folder_names and self.refresh is None:
            return Coverage(False, f"{name}: well-known folder names need Graph to resolve")
        queries = scan.queries if queries is None else queries
        fills = scan.fills if fills is None else fills
        if scan.dependency is not None and queries is scan.queries:
            queries, fills = (), ()  # addressed at run time; checked then
        ages: list[float] = []
        for query, fill in zip(queries, fills or ({},) * len(queries)):
            problem = self._address_problem(name, query, fill)
            if problem:
                return Coverage(False, problem)
            age = self._age(name, _mailbox_of(fill) if spec.mailbox else "")
            if age is None and self.refresh is None:
                who = f" for mailbox {_mailbox_of(fill)!r}" if spec.mailbox else ""
                return Coverage(False, f"{name} was never replicated{who} (run REPLICATE {name})")
            if age is not None:
                ages.append(age)
        return Coverage(True, age=max(ages) if ages else None)

    def _address_problem(self, name: str, query: Any, fill: dict[str, Any]) -> str:
        spec = tracking(name)
        window = spec is not None and spec.window
        if fill.get("searchterms") is not None:
            return f"{name}: SearchTerms is answered by Graph's $search only"
        params = [k for k, _ in getattr(query, "params", ())
                  if not (window and k.lower() in ("startdatetime", "enddatetime"))]
        if params:
            return f"{name}: {', '.join(params)} needs Graph"
        for slot, value in getattr(query, "address", ()):
            if slot.lower() == "userid" or (window and slot.lower() in ("startdatetime",
                                                                         "enddatetime")):
                continue
            if slot.lower() == "parentfolderid" and scan_folder_id(value):
                continue
            if slot.lower() == "groupid" and spec is not None and spec.visible == "members":
                continue
            return f"{name}: reading by {slot} = {value!r} needs Graph"
        if window:
            kept = self._window(name, _mailbox_of(fill))
            asked = _window_text(fill.get("startdatetime"), fill.get("enddatetime"))
            if kept is not None and asked != kept:
                return (f"{name}: the replica keeps the window {kept.replace('/', ' to ')}, "
                        f"not {asked.replace('/', ' to ')}")
        return ""

    def _window(self, table: str, mailbox: str) -> str | None:
        for scope in self.store.all_scopes():
            if scope.table == table and scope.mailbox.lower() == mailbox.lower() and not scope.scope:
                return scope.parent
        return None

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
        """AutoCache: refresh each mailbox whose replica is older than the tolerance."""
        if self.refresh is None:
            return
        spec = tracking(table)
        assert spec is not None
        mailboxes = sorted({_mailbox_of(f) for f in fills} if spec.mailbox else {""})
        for mailbox in mailboxes:
            age = self._age(spec.table, mailbox)
            if age is None or age > self.tolerance:
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
        if spec.visible == "members":
            where.append(f"{q('GroupId')} = ?")
            args.append(address.get("groupid"))
        elif folder is not None:
            where.append(f"{q('ParentFolderId')} = ?")
            args.append(folder)
        else:
            clause, extra = _visible(spec.visible, spec.table, table, mailbox)
            if clause:
                where.append(clause)
                args.extend(extra)
        if spec.table == "MailFolders":
            where.append(f"{q('IsHidden')} = 0")  # listed only with includeHiddenFolders
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


def _window_text(start: Any, end: Any) -> str:
    def text(value: Any) -> str:
        if isinstance(value, datetime):
            moment = value.astimezone(UTC) if value.tzinfo else value
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return str(value)
    return f"{text(start)}/{text(end)}"


def scan_folder_id(value: Any) -> bool:
    """A folder id rather than a well-known name (``Inbox``): ids are long base64 text."""
    return isinstance(value, str) and len(value) > 40


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
