"""Address values never change the request (issue 10, point 1).

For every column of every table whose value is bound into a URL path (the ``{slots}`` of the
catalog's endpoint templates), hypothesis draws hostile values (``..``, ``/``, ``%2E%2E``,
``?``, ``#``, unicode ...) and the test checks, on the requests the emulator logged, that each
request path is one of the table's templates with the value as exactly one segment, that a
value which cannot be an id (empty, ``.``, ``..``) sends nothing and reads no rows, and that
every outcome is rows or an ``o365sql.Error``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hardening_support import generated, segments, sent_paths
from hypothesis import event, given
from hypothesis import strategies as st

import o365sql
from o365sql.catalog import Endpoint, Table, load_catalog
from o365sql.emulator import Emulator

CATALOG = load_catalog()
WINDOW = ("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z")
EXAMPLES = 8  # per address column; ~200 queries in all


def _pairs() -> list[tuple[Table, str]]:
    pairs = []
    for table in CATALOG.tables.values():
        names: list[str] = []
        for endpoint in table.endpoints + table.item_endpoints:
            names.extend(p for p in endpoint.placeholders if p not in names)
        pairs.extend((table, name) for name in names)
    return pairs


PAIRS = _pairs()

HOSTILE = st.sampled_from([
    "", ".", "..", "...", "/", "//", "../..", "a/../b", "%2E%2E", "%2e", "..%2F", "%", "%25",
    "?x=1", "#frag", "inbox/", "Inbox/..", " ", "a b", "'", "me", "$batch", "$count", "\\..",
    "..;", "\u2025", "\uff0e\uff0e", "\x00", "users", "a?$filter=x eq 1",
])
VALUES = st.one_of(HOSTILE, st.text(st.characters(blacklist_categories=("Cs",)), max_size=24))


def _query(table: Table, slot: str) -> tuple[str, list[Any]]:
    """``SELECT * FROM table WHERE slot = ?`` plus fixed values for the endpoint's other slots."""
    endpoint = next(e for e in table.endpoints + table.item_endpoints if slot in e.placeholders)
    where = [f"{slot} = ?"]
    params: list[Any] = []
    for other in endpoint.requires:
        if other == slot:
            continue
        if table.window and other in table.window:
            op = ">=" if other == table.window[0] else "<="
            where.append(f"{other} {op} '{WINDOW[table.window.index(other)]}'")
        else:
            where.append(f"{other} = 'AAMkAGI2TG93AAA='")
    return f"SELECT * FROM {table.name} WHERE {' AND '.join(where)}", params


def _templates(table: Table) -> list[Endpoint]:
    return list(table.endpoints + table.item_endpoints + table.folder_endpoints)


def _matches(template: Endpoint, path: list[str]) -> dict[str, str] | None:
    """The slot values if ``path`` (decoded segments) is ``template``, else None."""
    parts = [s for s in template.template.split("/") if s]
    if path[-1:] == ["$count"] and len(path) == len(parts) + 1:
        path = path[:-1]
    if len(path) != len(parts):
        return None
    found: dict[str, str] = {}
    for part, seg in zip(parts, path):
        if part.startswith("{"):
            found[part[1:-1]] = seg
        elif part.lower() != seg.lower():
            return None
    return found


@pytest.mark.parametrize(("table", "slot"), PAIRS, ids=[f"{t.name}.{s}" for t, s in PAIRS])
def test_address_value_is_one_segment(emulator: Emulator, on: Any, table: Table,
                                      slot: str) -> None:
    sql, _ = _query(table, slot)
    stats = {"examples": 0, "sent": 0}

    @generated(EXAMPLES)
    @given(value=VALUES, as_list=st.booleans())
    def one(value: str, as_list: bool) -> None:
        text = sql.replace(f"{slot} = ?", f"{slot} IN (?, ?)") if as_list else sql
        params = [value, value + "\u0000x"] if as_list else [value]
        emulator.clear_log()
        cur = on.cursor()
        try:
            cur.execute(text, params)
            rows = cur.fetchall()
        except o365sql.Error:
            rows = None
            event("error")
        paths = [segments(p) for p in sent_paths(emulator)]
        stats["examples"] += 1
        stats["sent"] += bool(paths)
        if not value.strip(".") and not as_list:
            assert paths == [] and rows == [], (value, paths, rows)
        for path in paths:
            bound = [m for m in (_matches(t, path) for t in _templates(table)) if m is not None]
            assert bound, f"{table.name}.{slot} = {value!r} sent {path}, no template of the table"
            if any(slot in m for m in bound):
                assert any(m.get(slot) in params for m in bound), (value, path)
        if rows:
            position = [d[0].lower() for d in cur.description].index(slot.lower())
            assert all(r[position] in params for r in rows), (value, rows[:3])

    one()
    assert stats["examples"] >= EXAMPLES, stats
    # Most values are ids Graph could have: they must reach the emulator, as one segment.
    assert stats["sent"] >= EXAMPLES // 3, stats


def test_every_address_column_is_covered() -> None:
    """The parametrisation reads the catalog: each table with a path slot is in it."""
    tables = {t.name for t, _ in PAIRS}
    assert {"Messages", "Events", "CalendarView", "MailFolders", "Contacts",
            "MessageAttachments", "EventAttachments", "GroupMembers", "Users"} <= tables
    assert len(PAIRS) >= 20


def test_dot_segments_read_nothing(emulator: Emulator, on: Any) -> None:
    """The issue's examples: ``..`` read the whole mailbox or every event before."""
    for sql in ("SELECT COUNT(*) FROM Messages WHERE ParentFolderId = '..'",
                "SELECT COUNT(*) FROM Events WHERE CalendarId = '..'",
                "SELECT COUNT(*) FROM Messages WHERE ParentFolderId IN ('.', '..')"):
        emulator.clear_log()
        cur = on.cursor()
        cur.execute(sql)
        assert cur.fetchall() == [(0,)], sql
        assert sent_paths(emulator) == [], sql


def test_loose_id_reads_no_other_folder(emulator: Emulator, on: Any) -> None:
    """A folder id with a trailing ``/`` (or an encoded one) is one segment: Graph's answer
    for it is "no such folder", never the folder whose id it starts with."""
    cur = on.cursor()
    cur.execute("SELECT Id FROM MailFolders WHERE DisplayName = 'Inbox'")
    inbox = cur.fetchone()[0]
    cur.execute("SELECT COUNT(*) FROM Messages WHERE ParentFolderId = ?", [inbox])
    assert cur.fetchone()[0] > 0
    for value in (inbox + "/", inbox + "%2F", inbox + "/..", "/" + inbox):
        emulator.clear_log()
        cur.execute("SELECT COUNT(*) FROM Messages WHERE ParentFolderId = ?", [value])
        assert cur.fetchone() == (0,), value
        cur.execute("SELECT Id, ParentFolderId FROM Messages WHERE ParentFolderId = ?", [value])
        assert cur.fetchall() == [], value
        assert all(segments(p)[2] == value for p in sent_paths(emulator)), value
