"""Regressions of the replica, each with its shape fixed: a recurring series whose occurrences
Graph sends again (a rename) must replace its CalendarView rows, also in a replica file written
before the key left out the nullable GroupId (seeds 643941510 and 641114502 of the differential
test); MailFolders read Offline holds what a live read holds: every folder at any depth, a
hidden folder and everything under it left out (e5efefee)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from replica_support import Writer, connect, rows, same_rows, window_where

from o365sql.emulator import Emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=7, users=2, messages_per_user=10, events_per_user=2,
                  contacts_per_user=2, groups=1) as emu:
        yield emu


def _weekly_series(writer: Writer) -> str:
    """A weekly series starting two weeks ago, ten occurrences: several inside the window."""
    first = (datetime.now(UTC) - timedelta(days=14)).replace(hour=9, minute=0, second=0,
                                                             microsecond=0)
    made = writer.call("POST", "/me/events", {
        "subject": "weekly", "start": {"dateTime": first.strftime("%Y-%m-%dT%H:%M:%S"),
                                       "timeZone": "UTC"},
        "end": {"dateTime": (first + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "weekly", "interval": 1,
                                   "daysOfWeek": [first.strftime("%A").lower()]},
                       "range": {"type": "numbered", "numberOfOccurrences": 10,
                                 "startDate": first.strftime("%Y-%m-%d")}}})
    return str(made["id"])


def _compare_calendar(live: object, location: str, emulator: Emulator) -> int:
    offline = connect(emulator, location, Offline=True)
    try:
        where = window_where(offline)
        compared = same_rows(live, offline, f"SELECT * FROM CalendarView{where}")
        twice = rows(offline, f"SELECT Id FROM CalendarView{where} GROUP BY Id HAVING COUNT(*) > 1")
        assert twice == []
        return compared
    finally:
        offline.close()


def test_a_renamed_series_replaces_its_occurrences(emulator: Emulator, tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    writer = Writer(emulator, emulator.users[0])
    series = _weekly_series(writer)
    live = connect(emulator, location, ReplicateWindow=60)
    rows(live, "REPLICATE CalendarView")
    writer.call("PATCH", f"/me/events/{series}", {"subject": "weekly, renamed"})
    outcome = rows(live, "REPLICATE CalendarView")[0]
    assert outcome[-1] is None and outcome[3] >= 10  # every occurrence came again
    assert _compare_calendar(live, location, emulator) >= 10
    offline = connect(emulator, location, Offline=True)
    renamed = rows(offline, f"SELECT Subject, COUNT(*) FROM CalendarView{window_where(offline)} "
                            "AND Type = 'occurrence' AND Subject LIKE 'weekly%' GROUP BY Subject")
    assert renamed == [("weekly, renamed", 10)]
    offline.close()
    live.close()
    writer.close()


def test_a_replica_file_keyed_on_the_nullable_group_is_copied_again(
        emulator: Emulator, tmp_path: Path) -> None:
    """A file written before the fix: its key index holds GroupId (NULL in every CalendarView
    row) and a duplicated occurrence; the next refresh drops the table and copies it again."""
    location = str(tmp_path / "replica.db")
    writer = Writer(emulator, emulator.users[0])
    _weekly_series(writer)
    live = connect(emulator, location, ReplicateWindow=60)
    rows(live, "REPLICATE CalendarView")
    with sqlite3.connect(location) as plain:
        plain.execute('DROP INDEX "_o365sql_CalendarView_key"')
        plain.execute('CREATE UNIQUE INDEX "_o365sql_CalendarView_key" ON "CalendarView" '
                      '("UserId", "GroupId", "Id")')
        plain.execute('INSERT INTO "CalendarView" SELECT * FROM "CalendarView" LIMIT 1')
    outcome = rows(live, "REPLICATE CalendarView")[0]
    assert outcome[-1] is None
    assert _compare_calendar(live, location, emulator) == outcome[2] >= 10
    with sqlite3.connect(location) as plain:
        key = [r[2] for r in plain.execute('PRAGMA index_info("_o365sql_CalendarView_key")')]
    assert key == ["UserId", "StartDateTime", "EndDateTime", "Id"]
    live.close()
    writer.close()


def test_mail_folders_offline_hold_every_depth_and_leave_hidden_subtrees_out(
        emulator: Emulator, tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    writer = Writer(emulator, emulator.users[0])
    parent = writer.call("POST", "/me/mailFolders", {"displayName": "Depth 1"})["id"]
    deep = []
    for level in range(2, 5):
        parent = writer.call("POST", f"/me/mailFolders/{parent}/childFolders",
                             {"displayName": f"Depth {level}"})["id"]
        deep.append(parent)
    hidden = writer.call("POST", "/me/mailFolders", {"displayName": "Hidden", "isHidden": True})
    under = writer.call("POST", f"/me/mailFolders/{hidden['id']}/childFolders",
                        {"displayName": "Under hidden"})
    live = connect(emulator, location)
    rows(live, "REPLICATE MailFolders")
    offline = connect(emulator, location, Offline=True)
    assert same_rows(live, offline, "SELECT * FROM MailFolders") >= 10
    ids = {r[0] for r in rows(offline, "SELECT Id FROM MailFolders")}
    assert set(deep) <= ids
    assert hidden["id"] not in ids and under["id"] not in ids
    # The replica keeps the hidden subtree: a read addressed to it is answered too.
    assert same_rows(live, offline,
                     f"SELECT * FROM MailFolders WHERE ParentFolderId = '{hidden['id']}'") == 1
    for sql in ("SELECT ParentFolderId, COUNT(*) FROM MailFolders GROUP BY ParentFolderId",
                "SELECT DisplayName FROM MailFolders WHERE DisplayName LIKE 'Depth%'"):
        assert same_rows(live, offline, sql) > 0
    live.close()
    offline.close()
    writer.close()


def test_include_hidden_folders_is_answered_by_the_replica(
        emulator: Emulator, tmp_path: Path) -> None:
    """With IncludeHiddenFolders = true the live read lists hidden subtrees too; the replica
    holds them (mailFolders/delta lists msgfolderroot's whole subtree), so Offline answers
    every such read as the childFolders walk does, at the root and under a hidden folder."""
    location = str(tmp_path / "replica.db")
    writer = Writer(emulator, emulator.users[0])
    hidden = writer.call("POST", "/me/mailFolders", {"displayName": "Hidden", "isHidden": True})
    below = writer.call("POST", f"/me/mailFolders/{hidden['id']}/childFolders",
                        {"displayName": "Below"})
    writer.call("POST", f"/me/mailFolders/{below['id']}/childFolders",
                {"displayName": "Deeper", "isHidden": True})
    live = connect(emulator, location)
    rows(live, "REPLICATE MailFolders")
    sql = "SELECT DisplayName FROM MailFolders WHERE IncludeHiddenFolders = true"
    assert {"Hidden", "Below", "Deeper"} <= {r[0] for r in rows(live, sql)}
    offline = connect(emulator, location, Offline=True)
    compared = 0
    for query in ("SELECT * FROM MailFolders WHERE IncludeHiddenFolders = true",
                  "SELECT * FROM MailFolders WHERE IncludeHiddenFolders = false",
                  (f"SELECT * FROM MailFolders WHERE ParentFolderId = '{below['id']}' "
                  "AND IncludeHiddenFolders = true"),
                  f"SELECT * FROM MailFolders WHERE ParentFolderId = '{below['id']}'",
                  ("SELECT DisplayName FROM MailFolders WHERE ParentFolderId = 'msgfolderroot' "
                  "AND IncludeHiddenFolders = true"),
                  ("SELECT IsHidden, COUNT(*) FROM MailFolders WHERE IncludeHiddenFolders = true "
                  "GROUP BY IsHidden")):
        compared += same_rows(live, offline, query)
    assert compared >= 30
    live.close()
    offline.close()
    writer.close()
