"""Replica stage, storage: the SQLite file that holds replicated tables and their delta links.

A replicated table is a SQLite table named as in the catalog (``Messages``) whose columns are
the catalog's (same names; the catalog's type as declared type, with SQLite's storage class
added where SQLite would guess another one, e.g. ``DATETIME TEXT``), holding values in the
storage forms of the local engine (``conversion.to_storage``: UTC text datetimes, 0/1
booleans, JSON text), so any SQLite tool reads it and the residual engine copies it as is.
Bookkeeping lives beside the rows, in the same file and the same transactions:

* ``_o365sql_scopes``: per table, mailbox and scope (a folder id, ``#folders`` for the folder
  list, ``''`` for a directory collection) the delta link Graph returned with the rows it
  produced, when that link was received and how many rows the scope holds;
* ``_o365sql_replicas``: per table and mailbox, the last refresh, the columns copied and the
  last error (a mailbox that failed is recorded and skipped);
* ``_o365sql_folder_names``: per mailbox, the id of each well-known mail folder name
  (``inbox``, ``sentitems`` ...; NULL when the mailbox has no such folder), read once with
  ``GET .../mailFolders/{name}?$select=id`` (v1.0's mailFolder has no ``wellKnownName``
  property, graph-v1.0-metadata.xml), so that reads naming folders are answered offline. A
  distinguished folder is never deleted nor moved (``ErrorDeleteDistinguishedFolder``), so a
  found id stays right; the row ``#folders`` keeps a digest of the folder ids the names were
  read against, and names not found are asked again when it changes.

Safety (issue 13 point 6): the file is created 0600 (it holds mail) in a directory created
0700; every change runs in one ``BEGIN IMMEDIATE`` transaction whose commit carries the rows
and the links that match them, so a process killed mid-refresh leaves the last consistent
state (SQLite's journal rolls the rest back); refreshes take an exclusive ``flock`` on
``<file>.lock`` so two processes never interleave rounds (the second waits, then continues
from the links the first committed). Readers use WAL mode and are never blocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Column, Table
from ..conversion import STORAGE_AFFINITY
from ..exceptions import OperationalError
from .owner import Owner, check_owner
from .tracking import tracking

DEFAULT_LOCATION = "~/.o365sql/replica.db"
SCOPES = "_o365sql_scopes"
REPLICAS = "_o365sql_replicas"
FOLDER_NAMES = "_o365sql_folder_names"
#: The scope of a mailbox's folder list (mailFolders/delta, contactFolders/delta).
FOLDERS_SCOPE = "#folders"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _natural_affinity(declared: str) -> str:
    """SQLite's affinity for a declared type (https://sqlite.org/datatype3.html §3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper:
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def declared_type(column: Column) -> str:
    """The column's declared type: the catalog's, plus the storage class where SQLite's rules
    would give it another affinity (NUMERIC would turn JSON text ``"1e5"`` into a number)."""
    wanted = STORAGE_AFFINITY.get(column.sql_type, "TEXT")
    if wanted == "INTEGER" or _natural_affinity(column.sql_type) == wanted:
        return column.sql_type
    return f"{column.sql_type} {wanted}"


def replicated_columns(table: Table) -> tuple[Column, ...]:
    """The columns a replica keeps by default: every column but the heavy ones (bodies,
    headers), which Graph sends only when asked for and ``SELECT *`` leaves out; ``REPLICATE
    <table> INCLUDE COLUMNS (...)`` adds heavy ones (:meth:`ReplicaStore.kept_columns`)."""
    return tuple(c for c in table.columns if not c.heavy)


def includable(table: Table) -> tuple[Column, ...]:
    """The heavy columns ``INCLUDE COLUMNS`` may add: Graph properties (not pseudo-columns
    such as ``SearchTerms``) that ``$select`` asks for."""
    return tuple(c for c in table.columns if c.heavy and not c.pseudo and c.select)


@dataclass(frozen=True)
class ScopeState:
    table: str
    mailbox: str
    scope: str
    parent: str | None
    link: str | None
    link_time: float | None
    rows: int


@dataclass(frozen=True)
class ReplicaState:
    table: str
    mailbox: str
    refreshed: float | None
    error: str | None
    columns: tuple[str, ...]


class ReplicaStore:
    """One replica file. Not shared between threads: each connection opens its own."""

    def __init__(self, location: str | None, owner: Owner | None = None) -> None:
        self.path = Path(os.path.expanduser(location or DEFAULT_LOCATION))
        self.owner = owner
        self._db: sqlite3.Connection | None = None

    # -- opening ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Created 0600 before SQLite writes a byte: it will hold mail.
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(f"CREATE TABLE IF NOT EXISTS {SCOPES} (tbl TEXT NOT NULL, mailbox TEXT NOT NULL, "
                       "scope TEXT NOT NULL, parent TEXT, link TEXT, link_time REAL, "
                       "rows INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tbl, mailbox, scope))")
            db.execute(f"CREATE TABLE IF NOT EXISTS {REPLICAS} (tbl TEXT NOT NULL, mailbox TEXT NOT NULL, "
                       "refreshed REAL, error TEXT, columns TEXT NOT NULL DEFAULT '', "
                       "PRIMARY KEY (tbl, mailbox))")
            db.execute(f"CREATE TABLE IF NOT EXISTS {FOLDER_NAMES} (mailbox TEXT NOT NULL, "
                       "name TEXT NOT NULL, id TEXT, PRIMARY KEY (mailbox, name))")
            try:
                check_owner(db, self.path, self.owner)
            except OperationalError:
                db.close()
                raise
        except sqlite3.Error as exc:
            raise OperationalError(f"cannot open the replica at {self.path}: {exc}") from None
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- locking and transactions ------------------------------------------------------------
    @contextlib.contextmanager
    def refresh_lock(self) -> Iterator[None]:
        """Exclusive across processes for one refresh (``flock`` on ``<file>.lock``)."""
        self.db  # noqa: B018 - creates the file (and its directory) first
        lock_path = str(self.path) + ".lock"
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- tables ------------------------------------------------------------------------------
    def kept_columns(self, table: Table) -> tuple[Column, ...]:
        """The columns the replica of ``table`` keeps: the default ones, and the heavy ones
        a ``REPLICATE ... INCLUDE COLUMNS`` added to its file table."""
        if not self.has_table(table.name):
            return replicated_columns(table)
        present = {str(r[1]).lower() for r in
                   self.db.execute(f"PRAGMA table_info({quote(table.name)})")}
        return tuple(c for c in table.columns
                     if not c.heavy or (c in includable(table) and c.name.lower() in present))

    def ensure_table(self, db: sqlite3.Connection, table: Table,
                     include: Sequence[Column] = ()) -> tuple[Column, ...]:
        """CREATE the replicated table (and its key index) if missing, ADD the heavy columns
        of ``include`` it lacks; its columns. Rows copied without a column added now lack
        its values: the table's rows and links are dropped, and every mailbox is copied again
        (the ones this statement does not name on their next read)."""
        columns = self.kept_columns(table) if self.has_table(table.name) \
            else replicated_columns(table)
        added = [c for c in include if c not in columns]
        if added and self.has_table(table.name):
            for column in added:
                db.execute(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} "
                           f"{declared_type(column)}")
            db.execute(f"DELETE FROM {quote(table.name)}")
            db.execute(f"DELETE FROM {SCOPES} WHERE tbl = ?", (table.name,))
            db.execute(f"DELETE FROM {REPLICAS} WHERE tbl = ?", (table.name,))
            return self.kept_columns(table)
        columns = tuple(c for c in table.columns if c in columns or c in added)
        found = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (table.name,)).fetchone()
        # The rows' owner (a mailbox, or for GroupMembers a group) then the key. Never a
        # column that may be NULL (CalendarView's GroupId): NULLs never collide in a unique
        # index, so an upsert would add a second row instead of replacing the first.
        owner = [n for n in ("UserId", "GroupId") if table.column(n) is not None][:1]
        spec = tracking(table.name)
        # A windowed table keeps each window's rows apart (tracking.py, "windows"): the same
        # event in two windows is two rows, told apart by the window's bounds.
        window = list(table.window or ()) if spec is not None and spec.window else []
        keys = owner + window + [table.key]
        index = "_o365sql_" + table.name + "_key"
        if found is not None and _index_columns(db, index) != [k.lower() for k in keys]:
            # A file written with another key (one with the nullable GroupId may hold
            # duplicated rows): its rows and delta links are dropped, the next refresh copies
            # the table again from scratch.
            db.execute(f"DROP TABLE {quote(table.name)}")
            db.execute(f"DELETE FROM {SCOPES} WHERE tbl = ?", (table.name,))
            found = None
        if found is None:
            body = ", ".join(f"{quote(c.name)} {declared_type(c)}" for c in columns)
            db.execute(f"CREATE TABLE {quote(table.name)} ({body})")
            db.execute(f"CREATE UNIQUE INDEX {quote(index)} ON "
                       f"{quote(table.name)} ({', '.join(quote(k) for k in keys)})")
            indexed = ["ParentFolderId"] + list(spec.indexes if spec is not None else ())
            for name in indexed:
                if table.column(name) is not None:
                    db.execute(f"CREATE INDEX {quote('_o365sql_' + table.name + '_' + name)} ON "
                               f"{quote(table.name)} ({quote(keys[0])}, {quote(name)})")
        return columns

    def has_table(self, name: str) -> bool:
        if not self.exists():
            return False
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (name,)).fetchone() is not None

    # -- bookkeeping -------------------------------------------------------------------------
    def scopes(self, table: str, mailbox: str) -> dict[str, ScopeState]:
        rows = self.db.execute(f"SELECT scope, parent, link, link_time, rows FROM {SCOPES} WHERE "
                               "tbl = ? AND mailbox = ?", (table, mailbox)).fetchall()
        return {r[0]: ScopeState(table, mailbox, *r) for r in rows}

    def all_scopes(self) -> list[ScopeState]:
        if not self.exists():
            return []
        rows = self.db.execute(f"SELECT tbl, mailbox, scope, parent, link, link_time, rows FROM {SCOPES} "
                               "ORDER BY tbl, mailbox, scope").fetchall()
        return [ScopeState(*r) for r in rows]

    def replicas(self, table: str | None = None) -> list[ReplicaState]:
        if not self.exists():
            return []
        sql = f"SELECT tbl, mailbox, refreshed, error, columns FROM {REPLICAS}"
        args: Sequence[str] = ()
        if table is not None:
            sql += " WHERE lower(tbl) = lower(?)"
            args = (table,)
        rows = self.db.execute(sql + " ORDER BY tbl, mailbox", args).fetchall()
        return [ReplicaState(r[0], r[1], r[2], r[3], tuple(c for c in r[4].split(",") if c))
                for r in rows]

    @staticmethod
    def set_scope(db: sqlite3.Connection, table: str, mailbox: str, scope: str,
                  link: str | None, rows: int, parent: str | None = None) -> None:
        db.execute(f"INSERT OR REPLACE INTO {SCOPES} (tbl, mailbox, scope, parent, link, link_time, "
                   "rows) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (table, mailbox, scope, parent, link, time.time(), rows))

    @staticmethod
    def drop_scope(db: sqlite3.Connection, table: str, mailbox: str, scope: str) -> None:
        db.execute(f"DELETE FROM {SCOPES} WHERE tbl = ? AND mailbox = ? AND scope = ?",
                   (table, mailbox, scope))

    def folder_names(self, mailbox: str) -> dict[str, str | None] | None:
        """The well-known folder names of a mailbox (lower case) and their ids (None: the
        mailbox has no such folder), with ``#folders`` the digest they were read against;
        None when they were never read."""
        if not self.exists():
            return None
        rows = self.db.execute(f"SELECT name, id FROM {FOLDER_NAMES} WHERE lower(mailbox) = "
                               "lower(?)", (mailbox,)).fetchall()
        return {str(r[0]): r[1] for r in rows} if rows else None

    @staticmethod
    def set_folder_names(db: sqlite3.Connection, mailbox: str,
                         names: dict[str, str | None]) -> None:
        db.execute(f"DELETE FROM {FOLDER_NAMES} WHERE mailbox = ?", (mailbox,))
        db.executemany(f"INSERT INTO {FOLDER_NAMES} (mailbox, name, id) VALUES (?, ?, ?)",
                       [(mailbox, name, ident) for name, ident in names.items()])

    def mark_stale(self, table: str, tolerance: float) -> None:
        """Make ``table`` older than ``tolerance`` seconds (its rows and links stay): the next
        AutoCache read refreshes it first."""
        with self.transaction() as db:
            db.execute(f"UPDATE {REPLICAS} SET refreshed = min(refreshed, ?) WHERE "
                       "lower(tbl) = lower(?) AND refreshed IS NOT NULL",
                       (time.time() - tolerance - 1, table))

    @staticmethod
    def mark(db: sqlite3.Connection, table: Table, mailbox: str, *, error: str | None,
             refreshed: bool) -> None:
        """Record a mailbox's outcome: a success sets ``refreshed`` and clears the error; a
        failure keeps the last good refresh time and its rows."""
        present = {str(r[1]).lower() for r in db.execute(f"PRAGMA table_info({quote(table.name)})")}
        columns = ",".join(c.name for c in table.columns if c.name.lower() in present)
        row = db.execute(f"SELECT refreshed FROM {REPLICAS} WHERE tbl = ? AND mailbox = ?",
                         (table.name, mailbox)).fetchone()
        when = time.time() if refreshed else (row[0] if row else None)
        db.execute(f"INSERT OR REPLACE INTO {REPLICAS} (tbl, mailbox, refreshed, error, columns) "
                   "VALUES (?, ?, ?, ?, ?)", (table.name, mailbox, when, error, columns))


def _index_columns(db: sqlite3.Connection, index: str) -> list[str]:
    """The columns of one index of the replica file, in order, lower case (none when it is
    missing)."""
    return [str(row[2]).lower() for row in db.execute(f"PRAGMA index_info({quote(index)})")]
