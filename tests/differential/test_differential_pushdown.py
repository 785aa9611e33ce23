"""Differential test: every generated query gives the same rows with pushdown on and off.

With ``Pushdown=false`` o365sql fetches whole tables (only addressing, ``$select`` and
``$search`` go to Graph) and does all the work in SQLite; with pushdown on, Graph filters,
sorts, limits and counts where the planner decided it may. DESIGN §3.1: the answers must be
identical. Queries are generated with hypothesis over every readable table of the emulator's
seeded tenant, with literals drawn from the data itself (so predicates hit rows), changed in
case, cut into prefixes/infixes/suffixes, and mixed with quotes, unicode and NULL. Issue 3's
pushdowns are drawn too: IN lists longer than Graph's 15 values (chunked requests),
``CONTAINS_VALUE`` on collection columns (``any()`` lambdas), and ``Id = x`` / ``Id IN (...)``
(single-item GETs, with ids of other tables and garbage ids that must give no row). Tables
that need an address (attachments, group members, event instances) get one from the data.

The engine review added: negations (``NOT LIKE``, ``NOT IN``, ``NOT BETWEEN``, ``NOT (...)``),
parameters (``:p`` values and ``IN :p`` sequences, empty ones included), ``ParentFolderId``
compared with folder ids, well-known names in any case and ids that name no folder (in
``=``/``IN`` addresses, ``<>``, ``NOT IN`` and under OR; MailFolders' ``Id`` the same way, as a
name means its folder there too), ``UserId`` bound to values, lists and
subqueries over Users (app-only connections read every mailbox), and ``SearchTerms`` (valid,
and misplaced ones that must fail the same way on both connections). Every catalog column the
emulator serves is drawn: a column it does not know fails the test instead of being hidden.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from differential_support import delegated_properties, world_over_emulator
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import o365sql
from o365sql.catalog import Column, load_catalog
from o365sql.emulator import Emulator

EXAMPLES = int(os.environ.get("O365SQL_DIFFERENTIAL_EXAMPLES", "1000"))
# CI draws the same 1,000 queries every run (hypothesis' derandomize), so a red CI is reproducible;
# elsewhere each run explores new ones.
DERANDOMIZE = bool(os.environ.get("CI"))

# (table, WHERE prefix that addresses it) — CalendarView needs its window.
TABLES: dict[str, str] = {
    "Messages": "",
    "MailFolders": "",
    "Events": "",
    "CalendarView": "StartDateTime >= '2020-01-01' AND EndDateTime <= '2030-01-01'",
    "Calendars": "",
    "Contacts": "",
    "Users": "",
    "Groups": "",
}
SCALAR = {"VARCHAR", "ENUM", "BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "DATETIME", "DATE"}
# Tables read through an address found in the data:
# table -> (query giving the value, slot, extra WHERE text).
ADDRESSED: dict[str, tuple[str, str, str]] = {
    "MessageAttachments": (("SELECT Id FROM Messages WHERE HasAttachments = true ORDER BY Id "
                            "LIMIT 1"), "MessageId", ""),
    "EventAttachments": ("SELECT Id FROM Events WHERE HasAttachments = true ORDER BY Id LIMIT 1",
                         "EventId", ""),
    "EventInstances": ("SELECT Id FROM Events WHERE Type = 'seriesMaster' ORDER BY Id LIMIT 1",
                       "EventId", TABLES["CalendarView"]),
    "GroupMembers": ("SELECT Id FROM Groups ORDER BY Id LIMIT 1", "GroupId", ""),
    "ContactFolders": ("", "", ""),
}
#: Tables whose ParentFolderId takes well-known mail folder names (catalog well_known_folders).
GARBAGE_IDS = ["garbage", "AAMk==", "AQMkAGI2TG93AAA="]
ODD_STRINGS = ["", "'", "O'Brien", "ünïcödé", "Zoë", "%", "_", "' or 1 eq 1 or '", ")",
               "&$top=1", "%26", "line\nbreak", "RE:", "re:", "a"]


class World:
    """The emulator, the two connections and the tenant's values per column."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        user = emulator.users[0]
        common = delegated_properties(emulator)
        self.on = o365sql.connect(**common)
        self.off = o365sql.connect(Pushdown=False, **common)
        # App-only: reads /users/{id}/... for every mailbox (never /me).
        app = {**common, "OAuthAccessToken": emulator.mint_token()}
        self.app_on = o365sql.connect(**app)
        self.app_off = o365sql.connect(Pushdown=False, **app)
        self.catalog = load_catalog()
        self.columns: dict[str, list[Column]] = {}
        self.collections: dict[str, list[Column]] = {}
        self.values: dict[tuple[str, str], list[Any]] = {}
        self.tables = dict(TABLES)
        for table, (finder, slot, extra) in ADDRESSED.items():
            if not finder:
                self.tables[table] = ""
                continue
            cur = self.off.cursor()
            cur.execute(finder)
            found = cur.fetchall()
            assert found, f"the seeded tenant has no row for {table}: {finder}"
            self.tables[table] = " AND ".join(
                [f"{slot} = {_sql_literal(found[0][0])}"] + ([extra] if extra else []))
        for table, where in self.tables.items():
            cols = [c for c in self.catalog.table(table).columns
                    if c.sql_type in SCALAR and not c.pseudo and not c.heavy and c.select]
            lists = [c for c in self.catalog.table(table).columns
                     if c.is_collection and "any" in c.filter_ops and not c.heavy]
            both = cols + lists
            rows = self._rows(table, where, both)
            self.columns[table] = [c for c in both if not c.is_collection]
            self.collections[table] = [c for c in both if c.is_collection]
            for i, col in enumerate(both):
                present = [r[i] for r in rows if r[i] is not None]
                self.values[(table, col.name)] = (
                    _items(present, col.any_path) if col.is_collection else present)[:40]
        self.ids = [v for t in self.tables for v in self.values.get((t, "Id"), [])[:5]]
        me = self._one(f"SELECT Id, UserPrincipalName FROM Users WHERE UserPrincipalName = "
                       f"{_sql_literal(user)}")
        self.me = [me[0], me[1], me[1].upper(), "me", "ME"]
        self.users = [v for pair in self._all("SELECT Id, UserPrincipalName FROM Users")
                      for v in pair]
        self.words: dict[str, list[str]] = {
            table: sorted({w for v in self.values[(table, column)] for w in str(v).split()
                           if w.isalpha() and len(w) > 2})[:30]
            for table, column in (("Messages", "Subject"), ("Users", "DisplayName"),
                                  ("Groups", "DisplayName"))}

    def _one(self, sql: str) -> tuple[Any, ...]:
        rows = self._all(sql)
        assert rows, sql
        return rows[0]

    def _all(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self.off.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]

    def _rows(self, table: str, where: str, cols: list[Column]) -> list[tuple[Any, ...]]:
        """Read the table. A catalog column the emulator cannot serve fails here (it is
        reported, never dropped: the differential must cover every column)."""
        names = ", ".join(c.name for c in cols)
        return self._all(f"SELECT {names} FROM {table}" + (f" WHERE {where}" if where else ""))

    def close(self) -> None:
        for connection in (self.on, self.off, self.app_on, self.app_off):
            connection.close()


def _items(texts: list[str], path: tuple[str, ...]) -> list[Any]:
    """The distinct item values (or item properties at ``path``) of JSON collection texts."""
    found: list[Any] = []
    for text in texts:
        for item in json.loads(text):
            for step in path:
                item = item.get(step) if isinstance(item, dict) else None
            if item is not None and not isinstance(item, (dict, list)) and item not in found:
                found.append(item)
    return found


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_over_emulator(World, seed=3, users=3, messages_per_user=40, events_per_user=12) as w:
        yield w


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        # isoformat pads the year (strftime's %Y writes year 1 as '1', which is no ISO date).
        text = value.replace(microsecond=0, tzinfo=None).isoformat()
        return "'" + text + ("Z'" if value.tzinfo else "'")
    if isinstance(value, dt.date):
        return "'" + value.isoformat() + "'"
    return "'" + str(value).replace("'", "''") + "'"


class Params:
    """The parameters one generated query binds (``:p0``, ``:p1`` ...)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


@st.composite
def predicates(draw: st.DrawFn, world: World, table: str, params: Params,
               depth: int = 0) -> str:
    columns = world.columns[table]
    pushable = [c for c in columns if c.filter_ops]
    special = draw(st.integers(0, 13))
    if special == 0 and world.values.get((table, "Id")) is not None:
        # Single-item GETs where the table has them: ids of this and other tables, and
        # ids that are no id at all (no row, never an error).
        picks = draw(st.lists(st.sampled_from(world.ids + ["garbage", "AAMk=="]),
                              min_size=1, max_size=20))
        return (f"Id = {_sql_literal(picks[0])}" if len(picks) == 1 else
                f"Id IN ({', '.join(_sql_literal(p) for p in picks)})")
    in_ops = [c for c in pushable if c.filter_ops & {"eq", "in"}]
    if special == 1 and in_ops:
        column = draw(st.sampled_from(in_ops))
        seen = world.values[(table, column.name)]
        return _long_in(draw, column.name, seen,
                        text=column.sql_type in ("VARCHAR", "ENUM", "GUID"))
    if special in (2, 3):
        return _parameterised(draw, world, table, params)
    folder = world.catalog.table(table).column("ParentFolderId")
    if special in (4, 5) and folder is not None and folder.endpoint_param:
        # MailFolders' Id is a folder id too: well-known names mean their folder there as well.
        named = sorted(world.catalog.table(table).folder_id_columns())
        column_name = {"id": "Id", "parentfolderid": "ParentFolderId"}[draw(st.sampled_from(
            named))] if named else "ParentFolderId"
        return _folder_predicate(draw, world, table, params, column_name)
    # Mostly columns Graph can filter, so both paths really differ.
    if pushable and draw(st.integers(0, 9)) < 7:
        column = draw(st.sampled_from(pushable))
    else:
        column = draw(st.sampled_from(columns))
    seen = world.values[(table, column.name)]
    if column.sql_type == "VARCHAR" or column.sql_type == "ENUM":
        base = draw(st.sampled_from(seen)) if seen and draw(st.booleans()) else draw(
            st.sampled_from(ODD_STRINGS))
        base = str(base)
        variant = draw(st.sampled_from(["same", "upper", "lower", "prefix", "infix", "suffix"]))
        if variant == "upper":
            base = base.upper()
        elif variant == "lower":
            base = base.lower()
        elif variant == "prefix":
            base = base[: max(1, len(base) // 2)]
        elif variant == "infix":
            base = base[len(base) // 4: max(len(base) // 4 + 1, 3 * len(base) // 4)]
        elif variant == "suffix":
            base = base[len(base) // 2:]
        op = draw(st.sampled_from(["=", "<>", "<", ">=", "LIKE_PREFIX", "LIKE_INFIX",
                                   "LIKE_SUFFIX", "NOT LIKE_PREFIX", "NOT LIKE_INFIX", "IN",
                                   "NOT IN", "IN_LONG", "IS NULL", "IS NOT NULL"]))
        literal = _sql_literal(base)
        like = base.replace("%", "").replace("_", "")
        if column.name == "Id" and draw(st.booleans()):
            # Single-item GETs: ids of this and other tables, and ids that are no id at all.
            picks = draw(st.lists(st.sampled_from(world.ids + ["garbage", "AAMk=="]),
                                  min_size=1, max_size=20))
            op = "ID"
            literal = (f"Id = {_sql_literal(picks[0])}" if len(picks) == 1 else
                       f"Id IN ({', '.join(_sql_literal(p) for p in picks)})")
        text = {
            "ID": literal,
            "IN_LONG": _long_in(draw, column.name, seen, text=True),
            "LIKE_PREFIX": f"{column.name} LIKE {_sql_literal(like + '%')}",
            "LIKE_INFIX": f"{column.name} LIKE {_sql_literal('%' + like + '%')}",
            "LIKE_SUFFIX": f"{column.name} LIKE {_sql_literal('%' + like)}",
            "NOT LIKE_PREFIX": f"{column.name} NOT LIKE {_sql_literal(like + '%')}",
            "NOT LIKE_INFIX": f"{column.name} NOT LIKE {_sql_literal('%' + like + '%')}",
            "IN": f"{column.name} IN ({literal}, {_sql_literal(base.swapcase())})",
            "NOT IN": f"{column.name} NOT IN ({literal}, {_sql_literal(base.swapcase())})",
            "IS NULL": f"{column.name} IS NULL",
            "IS NOT NULL": f"{column.name} IS NOT NULL",
        }.get(op, f"{column.name} {op} {literal}")
    elif column.sql_type == "BOOLEAN":
        text = draw(st.sampled_from([f"{column.name} = true", f"{column.name} = false",
                                     column.name, f"NOT {column.name}",
                                     f"{column.name} <> true", f"{column.name} IS NULL",
                                     f"{column.name} IS NOT NULL"]))
    else:
        value = draw(st.sampled_from(seen)) if seen else None
        op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "BETWEEN", "NOT BETWEEN",
                                   "IS NULL", "IN_LONG", "NOT IN"]))
        if value is None or op == "IS NULL":
            text = f"{column.name} IS NULL"
        elif op == "IN_LONG":
            text = _long_in(draw, column.name, seen, text=False)
        elif op in ("BETWEEN", "NOT BETWEEN"):
            other = draw(st.sampled_from(seen))
            low, high = sorted([value, other])
            text = f"{column.name} {op} {_sql_literal(low)} AND {_sql_literal(high)}"
        elif op == "NOT IN":
            other = draw(st.sampled_from(seen))
            text = f"{column.name} NOT IN ({_sql_literal(value)}, {_sql_literal(other)})"
        else:
            text = f"{column.name} {op} {_sql_literal(value)}"
    lists = world.collections.get(table, [])
    if lists and draw(st.integers(0, 4)) == 0:
        column = draw(st.sampled_from(lists))
        items = world.values[(table, column.name)]
        value = draw(st.sampled_from(items)) if items and draw(st.integers(0, 3)) else draw(
            st.sampled_from(ODD_STRINGS))
        if isinstance(value, str) and draw(st.booleans()):
            value = draw(st.sampled_from([value.upper(), value.lower(), value.swapcase()]))
        path = "/".join(column.any_path)
        args = ", ".join([column.name] + ([_sql_literal(path)] if path else []) +
                         [_sql_literal(value)])
        text = draw(st.sampled_from([f"CONTAINS_VALUE({args})", f"NOT CONTAINS_VALUE({args})"]))
    if depth < 1 and draw(st.integers(0, 3)) == 0:
        other = draw(predicates(world, table, params, depth + 1))
        joiner = draw(st.sampled_from(["AND", "OR"]))
        text = f"({text} {joiner} {other})"
    if draw(st.integers(0, 9)) == 0:
        text = f"NOT ({text})"
    return text


def _parameterised(draw: st.DrawFn, world: World, table: str, params: Params) -> str:
    """``col = :p`` or ``col [NOT] IN :p`` with a sequence (empty ones too)."""
    columns = [c for c in world.columns[table] if c.sql_type != "DATETIME"] or \
        world.columns[table]
    column = draw(st.sampled_from(columns))
    seen = world.values[(table, column.name)]
    if column.sql_type == "DATETIME":
        seen = [v.isoformat() if isinstance(v, dt.datetime) else v for v in seen]
    form = draw(st.sampled_from(["=", "IN", "IN", "NOT IN", "EMPTY IN", "EMPTY NOT IN"]))
    if form.startswith("EMPTY"):
        return f"{column.name} {form.split(' ', 1)[1]} {params.add([])}"
    if form == "=":
        value = draw(st.sampled_from(seen)) if seen else None
        return f"{column.name} = {params.add(value)}"
    values = draw(st.lists(st.sampled_from(seen), min_size=1, max_size=20)) if seen else [None]
    return f"{column.name} {form} {params.add(list(dict.fromkeys(values)))}"


def _folder_values(draw: st.DrawFn, world: World, table: str,
                   column: str = "ParentFolderId") -> list[str]:
    """Folder ids of the data, well-known names in any case (mail tables), no-folder ids."""
    known = [str(v) for v in world.values.get((table, column), [])]
    names = list(world.catalog.table(table).well_known_folders)
    pool = known + GARBAGE_IDS + [n for n in names if n in ("inbox", "sentitems", "drafts",
                                                            "deleteditems", "clutter")]
    picks = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
    return [draw(st.sampled_from([p, p.upper(), p.title()])) if p in names else p
            for p in picks]


def _folder_predicate(draw: st.DrawFn, world: World, table: str, params: Params,
                      column: str = "ParentFolderId") -> str:
    values = _folder_values(draw, world, table, column)
    literals = ", ".join(_sql_literal(v) for v in values)
    form = draw(st.integers(0, 5))
    if form == 5:
        return f"{column} IN {params.add(values)}"
    other = "IsRead = false" if table == "Messages" else (
        "Id = ''" if column != "Id" else "DisplayName = 'Sent Items'")
    return [
        f"{column} = {_sql_literal(values[0])}",
        f"{column} IN ({literals})",
        f"{column} <> {_sql_literal(values[0])}",
        f"{column} NOT IN ({literals})",
        f"({column} = {_sql_literal(values[0])} OR {other})",
    ][form]


def _long_in(draw: st.DrawFn, name: str, seen: list[Any], *, text: bool) -> str:
    """``name IN (more than 15 values)``: past Graph's limit, so the planner splits it into
    requests. Text gets case twins (chunks may overlap in Graph), quotes and unicode; any list
    may carry a NULL."""
    values: list[Any] = draw(st.lists(st.sampled_from(seen), max_size=30)) if seen else []
    if text:
        values = [str(v) for v in values]
        values += [v.swapcase() for v in values[:10]] + ODD_STRINGS
        values += [f"pad {n}" for n in range(16)]
    else:
        values += list(seen)
    items = list(dict.fromkeys(_sql_literal(v) for v in values))
    if draw(st.integers(0, 4)) == 0:
        items.append("NULL")
    return f"{name} IN ({', '.join(items)})"


@dataclass
class Query:
    """A generated statement, its parameters, whether its row order is fully determined
    (compare as lists) and whether it runs on the app-only connections."""

    sql: str
    params: dict[str, Any]
    ordered: bool
    app: bool = False


@st.composite
def addresses(draw: st.DrawFn, world: World, table: str, params: Params) -> tuple[list[str], bool]:
    """Top-level conjuncts that bind UserId or SearchTerms, and whether the query needs the
    app-only connections (another mailbox)."""
    catalog_table = world.catalog.table(table)
    choice = draw(st.integers(0, 11))
    if choice == 0 and catalog_table.column("UserId") is not None:
        own = draw(st.sampled_from(world.me))
        form = draw(st.integers(0, 3))
        if form == 2:
            mine = draw(st.lists(st.sampled_from(world.me), max_size=2))
            return [f"UserId IN {params.add(mine)}"], False
        return [[
            f"UserId = {_sql_literal(own)}",
            f"UserId IN ({_sql_literal(own)}, {_sql_literal(world.me[0])})", "",
            ("UserId IN (SELECT Id FROM Users WHERE UserPrincipalName = "
             f"{_sql_literal(world.me[1])})")][form]], False
    if choice == 1 and catalog_table.column("UserId") is not None:
        # Other mailboxes: values, lists and subqueries over Users (app-only token).
        users = draw(st.lists(st.sampled_from(world.users), min_size=1, max_size=3))
        word = draw(st.sampled_from(world.words["Users"] + ["nobody"]))
        form = draw(st.integers(0, 5))
        if form == 5:
            return [f"UserId IN {params.add(users)}"], True
        return [[
            f"UserId = {_sql_literal(users[0])}",
            f"UserId IN ({', '.join(_sql_literal(u) for u in users)})",
            f"UserId IN (SELECT Id FROM Users WHERE DisplayName LIKE {_sql_literal(word + '%')})",
            "UserId IN (SELECT UserPrincipalName FROM Users WHERE AccountEnabled = true)",
            "UserId = (SELECT Id FROM Users ORDER BY DisplayName DESC LIMIT 1)"][form]], True
    if choice == 2 and catalog_table.search is not None:
        words = world.words.get(table) or ["a"]
        word = draw(st.sampled_from(words))
        if catalog_table.search == "directory":
            word = draw(st.sampled_from([word, f"displayName:{word}", word.lower()]))
        return [f"SearchTerms = {_sql_literal(word)}"], False
    if choice == 3 and catalog_table.search is not None:
        # Misplaced: a ProgrammingError on both connections, never a NULL column.
        return [f"(SearchTerms = 'x' OR Id = {_sql_literal('y')})"], False
    if choice == 4 and catalog_table.column("ParentFolderId") is not None and \
            catalog_table.column("ParentFolderId").endpoint_param:
        values = _folder_values(draw, world, table)
        return [f"ParentFolderId IN ({', '.join(_sql_literal(v) for v in values)})"], False
    return [], False


@st.composite
def queries(draw: st.DrawFn, world: World) -> Query:
    """A query with its parameters (see :class:`Query`)."""
    # Messages, the table most pushdowns exist for, is drawn as often as four others.
    table = draw(st.sampled_from(list(world.tables) + ["Messages"] * 3))
    columns = world.columns[table]
    params = Params()
    where = [world.tables[table]] if world.tables[table] else []
    bound, app = draw(addresses(world, table, params))
    where += bound
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 2]))):
        where.append(draw(predicates(world, table, params)))
    where_sql = (" WHERE " + " AND ".join(where)) if where else ""
    shape = draw(st.sampled_from(["rows", "rows", "rows", "count", "group", "distinct"]))

    def query(sql: str, ordered: bool) -> Query:
        return Query(sql, params.values, ordered, app)

    if shape == "count":
        return query(f"SELECT COUNT(*) FROM {table}{where_sql}", True)
    if shape == "group":
        key = draw(st.sampled_from(columns)).name
        return query(f"SELECT {key}, COUNT(*) AS n FROM {table}{where_sql} GROUP BY {key} "
                     f"ORDER BY {key}", True)
    picked = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=4, unique=True))
    names = [c.name for c in picked]
    if shape == "distinct":
        return query(f"SELECT DISTINCT {', '.join(names)} FROM {table}{where_sql}", False)
    order = ""
    ordered = False
    limit = ""
    if draw(st.booleans()):
        key = draw(st.sampled_from(columns))
        direction = draw(st.sampled_from(["", " DESC"]))
        if draw(st.booleans()):
            # A unique tie-break makes the order total: compare row lists exactly (UserId
            # too: one item may be read from two mailboxes' addresses).
            tie = ", Id, UserId" if world.catalog.table(table).column("UserId") else ", Id"
            order = f" ORDER BY {key.name}{direction}{tie}"
            ordered = True
            if draw(st.booleans()):
                limit = f" LIMIT {draw(st.integers(0, 12))}"
                if draw(st.booleans()):
                    limit += f" OFFSET {draw(st.integers(0, 5))}"
        else:
            order = f" ORDER BY {key.name}{direction}"
            if draw(st.booleans()):
                # Ties may legitimately differ: project the key alone so equal keys compare equal.
                names = [key.name]
                limit = f" LIMIT {draw(st.integers(0, 12))}"
                ordered = True
    elif draw(st.integers(0, 4)) == 0:
        names = ["Id"] + [n for n in names if n != "Id"]
    return query(f"SELECT {', '.join(names)} FROM {table}{where_sql}{order}{limit}", ordered)


def _run(connection: Any, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]] | str:
    """The rows, or the error when the statement is refused before any Graph request (a
    misplaced SearchTerms) or Graph refuses an address (the same error both ways)."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params or None)
        return [tuple(row) for row in cursor.fetchall()]
    except o365sql.ProgrammingError as exc:
        if exc.status is None:
            return f"error {type(exc).__name__}: {exc}"
        if exc.status in (400, 404) and exc.code in ("ErrorInvalidIdMalformed",
                                                     "ErrorItemNotFound", "ResourceNotFound"):
            return f"error {exc.code}"
        raise


def _plan_events(world: World, query: Query) -> list[str]:
    """Which pushdowns and addressing forms the on-plan uses (hypothesis statistics)."""
    from o365sql.planning import plan_query, prepare

    try:
        plan = plan_query(prepare(query.sql), query.params or None, world.catalog)
    except o365sql.Error as exc:
        return [f"refused: {type(exc).__name__}"]
    found = []
    if any(q.filter is not None or q.count_segment for s in plan.scans for q in s.queries):
        found.append("pushed a $filter")
    for scan in plan.scans:
        if scan.empty:
            found.append("empty scan (IN ())")
        if scan.folder_names:
            found.append("folder names resolved")
            if scan.table.name == "MailFolders" and re.search(
                    r'\."id"\s*(?:=|<>|NOT IN|IN)\s*\(?O365_FOLDER_ID', plan.sql):
                found.append("MailFolders.Id compared with a folder name")
        if scan.dependency is not None and scan.dependency.sql is not None:
            found.append("subquery fan-out")
        if any(q.search for q in scan.queries):
            found.append("$search")
    for scan in plan.scans:
        if scan.items:
            found.append("single-item GETs")
        if any("one per chunk" in p for p in scan.pushed):
            found.append("chunked IN")
        if any("/any(" in p for p in scan.pushed):
            found.append("any() lambda")
    return found


def _key(row: tuple[Any, ...]) -> str:
    return repr(row)


def test_pushdown_on_equals_off(world: World) -> None:
    compared = 0

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much],
              database=None)
    @given(data=st.data())
    def on_equals_off(data: st.DataObject) -> None:
        nonlocal compared
        query = data.draw(queries(world))
        sql = query.sql
        for kind in _plan_events(world, query):
            event(kind)
        event("table " + sql.split(" FROM ", 1)[1].split()[0])
        if query.params:
            event("parameters")
        on_connection, off_connection = (world.app_on, world.app_off) if query.app else (
            world.on, world.off)
        on = _run(on_connection, sql, query.params)
        off = _run(off_connection, sql, query.params)
        event("rows" if on and not isinstance(on, str) else "no rows")
        if query.ordered or isinstance(on, str) or isinstance(off, str):
            assert on == off, (sql, query.params)
        else:
            assert sorted(on, key=_key) == sorted(off, key=_key), (sql, query.params)
        compared += 1

    on_equals_off()
    # The issue asks for at least 1,000 compared queries per run: hypothesis may stop early
    # (discards, exhausted strategies), so the count is checked, not assumed.
    assert compared >= EXAMPLES, f"only {compared} of {EXAMPLES} queries were compared"


def test_pushdown_really_pushes(world: World) -> None:
    """The on connection sends $filter/$orderby/$top; the off one does not (the test compares
    two different paths, not one path twice)."""
    sql = ("SELECT Subject FROM Messages WHERE IsRead = false "
           "ORDER BY ReceivedDateTime DESC LIMIT 3")
    world.emulator.clear_log()
    _run(world.on, sql, {})
    on_lines = [str(entry) for entry in world.emulator.log]
    world.emulator.clear_log()
    _run(world.off, sql, {})
    off_lines = [str(entry) for entry in world.emulator.log]
    assert any("$filter" in line and "$orderby" in line for line in on_lines), on_lines
    assert off_lines and not any("$filter" in line for line in off_lines), off_lines


@pytest.mark.parametrize("where", [
    "Id = 'Inbox'", "Id = 'SENTITEMS'", "Id IN ('inbox', 'Drafts', 'garbage')",
    "Id <> 'inbox'", "Id NOT IN ('Inbox', 'sentitems')", "(Id = 'Inbox' OR DisplayName = 'x')",
    "NOT (Id = 'deleteditems')", "UserId = 'me' AND Id = 'Inbox'"])
def test_mail_folder_ids_by_name_on_equals_off(world: World, where: str) -> None:
    """MailFolders' Id takes well-known names as ParentFolderId does (drawn rarely above)."""
    sql = f"SELECT Id, DisplayName FROM MailFolders WHERE {where}"
    on, off = _run(world.on, sql, {}), _run(world.off, sql, {})
    assert isinstance(on, list) and sorted(on, key=_key) == sorted(off, key=_key), sql
    inbox = _run(world.off, "SELECT Id, DisplayName FROM MailFolders WHERE DisplayName = 'Inbox'",
                 {})
    assert isinstance(inbox, list) and len(inbox) == 1
    assert (inbox[0] in on) == (where in ("Id = 'Inbox'", "Id IN ('inbox', 'Drafts', 'garbage')",
                                          "(Id = 'Inbox' OR DisplayName = 'x')",
                                          "NOT (Id = 'deleteditems')",
                                          "UserId = 'me' AND Id = 'Inbox'")), sql
