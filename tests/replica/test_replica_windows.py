"""CalendarView windows in the replica (issue 13 point 1, calendarView delta): the window
REPLICATE's WHERE gives, scans answered only inside a kept window (rows overlapping it, all-day
events near its edges sent to Graph), windows that touch merged and windows apart kept apart
(one delta round each), and a first copy's window computed once and never moved by the clock.
Real HTTP to the emulator; the events are made through its Graph endpoints around the suite's
pinned anchor (2026-11-01, tests/conftest.py)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from replica_support import Writer, connect, rows, same_rows

import o365sql
from o365sql.emulator import Emulator
from o365sql.execution import replica_scans
from o365sql.replica.windows import default_window, window_text

WINDOW = ("2026-10-01T00:00:00Z", "2026-12-01T00:00:00Z")
#: Inside WINDOW, its edges at noon: no all-day event made here is within 14 hours of them.
INSIDE = ("2026-10-20T12:00:00Z", "2026-11-15T12:00:00Z")
#: Inside WINDOW, its start 6 hours before the all-day event of 2026-10-10 ends (as written:
#: midnight UTC; in its own zone, between 14 hours earlier and 12 hours later).
NEAR_ALL_DAY = ("2026-10-10T18:00:00Z", "2026-11-15T12:00:00Z")
OUTSIDE = ("2026-11-20T00:00:00Z", "2026-12-10T00:00:00Z")


def where(window: tuple[str, str]) -> str:
    return f" WHERE StartDateTime >= '{window[0]}' AND EndDateTime <= '{window[1]}'"


def graph_requests(emulator: Emulator) -> list[str]:
    return [str(e.as_dict().get("path")) for e in emulator.log
            if "/v1.0/" in (e.as_dict().get("path") or "")]


def event(writer: Writer, subject: str, start: str, end: str, **extra: Any) -> str:
    made = writer.call("POST", "/me/events", {
        "subject": subject, "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"}, **extra})
    return str(made["id"])


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=5, users=2, messages_per_user=4, events_per_user=12,
                  contacts_per_user=2, groups=1) as emu:
        writer = Writer(emu, emu.users[0])
        # Around the edges of INSIDE (2026-10-20T12:00Z to 2026-11-15T12:00Z).
        event(writer, "across start", "2026-10-20T11:00:00", "2026-10-20T13:00:00")
        event(writer, "ends at start", "2026-10-20T11:00:00", "2026-10-20T12:00:00")
        event(writer, "starts at end", "2026-11-15T12:00:00", "2026-11-15T13:00:00")
        event(writer, "across end", "2026-11-15T11:30:00", "2026-11-15T12:30:00")
        event(writer, "before", "2026-10-05T09:00:00", "2026-10-05T10:00:00")
        event(writer, "all day inside", "2026-11-02T00:00:00", "2026-11-03T00:00:00",
              isAllDay=True)
        event(writer, "all day near", "2026-10-10T00:00:00", "2026-10-11T00:00:00",
              isAllDay=True, originalStartTimeZone="Tokyo Standard Time")
        event(writer, "weekly", "2026-10-06T09:00:00", "2026-10-06T10:00:00", recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {"type": "numbered", "numberOfOccurrences": 12, "startDate": "2026-10-06"}})
        writer.close()
        yield emu


def test_the_statements_window_answers_scans_inside_it(emulator: Emulator,
                                                       tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    offline = connect(emulator, location, Offline=True)
    cached = connect(emulator, location, AutoCache=True, CacheTolerance=3600)
    try:
        outcome = rows(live, "REPLICATE CalendarView" + where(WINDOW))
        assert [(r[0], r[-1]) for r in outcome] == [("CalendarView", None)]
        assert rows(offline, "SELECT Folder FROM sys_replicas WHERE TableName = 'CalendarView'") \
            == [("/".join(WINDOW),)]
        whole = same_rows(live, offline, "SELECT * FROM CalendarView" + where(WINDOW))
        assert whole == outcome[0][2] >= 12
        inside = same_rows(live, offline, "SELECT * FROM CalendarView" + where(INSIDE))
        assert 0 < inside < whole
        subjects = {r[0] for r in rows(offline, "SELECT Subject FROM CalendarView" + where(INSIDE))}
        assert {"across start", "across end", "all day inside", "weekly"} <= subjects
        assert not subjects & {"ends at start", "starts at end", "before"}
        # Rows carry the window the scan asked for, as a live read's do.
        assert rows(offline, "SELECT DISTINCT StartDateTime FROM CalendarView" + where(INSIDE)) \
            == rows(live, "SELECT DISTINCT StartDateTime FROM CalendarView" + where(INSIDE))

        for window, words in ((OUTSIDE, "is not inside a window the replica keeps"),
                              (NEAR_ALL_DAY, "all-day event")):
            with pytest.raises(o365sql.OperationalError) as caught:
                rows(offline, "SELECT * FROM CalendarView" + where(window))
            message = str(caught.value)
            assert "CalendarView" in message and words in message
            assert window[0] in message

        # AutoCache: inside a kept window, no request; elsewhere, Graph live, the same rows.
        for window in (INSIDE, OUTSIDE, NEAR_ALL_DAY):
            sql = "SELECT * FROM CalendarView" + where(window)
            emulator.clear_log()
            expected = sorted(map(repr, rows(live, sql)))
            reads = sum("calendarView" in p for p in graph_requests(emulator))
            emulator.clear_log()
            assert sorted(map(repr, rows(cached, sql))) == expected and expected
            answered = graph_requests(emulator)
            assert sum("calendarView" in p for p in answered) == (
                0 if window == INSIDE else reads), (window, answered)
        plan = "\n".join(str(r) for r in rows(
            cached, "EXPLAIN SELECT * FROM CalendarView" + where(INSIDE)))
        assert "replica" in plan
    finally:
        for connection in (live, offline, cached):
            connection.close()


def test_windows_that_touch_merge_and_windows_apart_stay_apart(emulator: Emulator,
                                                               tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    offline = connect(emulator, location, Offline=True)
    first = ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    apart = ("2026-12-01T00:00:00Z", "2026-12-15T00:00:00Z")
    bridge = ("2026-10-20T00:00:00Z", "2026-12-01T00:00:00Z")
    kept = "SELECT Folder, Rows FROM sys_replicas WHERE TableName = 'CalendarView' ORDER BY 1"
    writer = Writer(emulator, emulator.users[0])
    try:
        rows(live, "REPLICATE CalendarView" + where(first))
        rows(live, "REPLICATE CalendarView" + where(apart))
        assert [r[0] for r in rows(offline, kept)] == ["/".join(first), "/".join(apart)]
        # Nothing changed: one delta round per window.
        outcome = rows(live, "REPLICATE CalendarView")[0]
        assert (outcome[3], outcome[4], outcome[6]) == (0, 0, 2)
        # A change in the second window reaches it alone; each stays equal to a live read.
        made = event(writer, "in apart", "2026-12-03T10:00:00", "2026-12-03T11:00:00")
        outcome = rows(live, "REPLICATE CalendarView")[0]
        # One delta round per window, and for the window that changed the listing that reads
        # its select-only properties (cancelledOccurrences, which calendarView delta omits).
        assert outcome[3] == 1 and outcome[6] == 3
        for window in (first, apart):
            same_rows(live, offline, "SELECT * FROM CalendarView" + where(window))
        # A window inside a kept one adds nothing.
        outcome = rows(live, "REPLICATE CalendarView" + where(INSIDE[:1] + ("2026-10-30",)))[0]
        assert outcome[6] == 2 and len(rows(offline, kept)) == 2
        # The bridge overlaps the first and touches the second: one window, their union.
        rows(live, "REPLICATE CalendarView" + where(bridge))
        union = (first[0], apart[1])
        assert [r[0] for r in rows(offline, kept)] == ["/".join(union)]
        compared = same_rows(live, offline, "SELECT * FROM CalendarView" + where(union))
        assert compared == rows(offline, kept)[0][1] >= 12
        assert rows(offline, "SELECT Id FROM CalendarView" + where(union)
                    + " GROUP BY Id HAVING COUNT(*) > 1") == []
        assert "in apart" in {r[0] for r in rows(offline, "SELECT Subject FROM CalendarView"
                                                 + where(union))}
        outcome = rows(live, "REPLICATE CalendarView")[0]
        assert (outcome[3], outcome[6]) == (0, 1)
        writer.call("DELETE", f"/me/events/{made}")
    finally:
        for closeable in (live, offline, writer):
            closeable.close()


def test_a_first_copys_window_is_computed_once(emulator: Emulator, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a window a first copy keeps ReplicateWindow days either side of its day; later
    refreshes keep that window whatever the clock says (it is stored with the link)."""
    location = str(tmp_path / "replica.db")
    before = window_text(default_window(30))
    live = connect(emulator, location, ReplicateWindow=30)
    offline = connect(emulator, location, Offline=True)
    kept = "SELECT Folder FROM sys_replicas WHERE TableName = 'CalendarView'"
    try:
        rows(live, "REPLICATE CalendarView")
        stored = rows(offline, kept)[0][0]
        assert stored in (before, window_text(default_window(30)))
        assert stored.split("/")[0].endswith("T00:00:00Z")

        # Three days later (the clock the first window is drawn from moves on) ...
        shifted = default_window(30, time.time() + 3 * 86400)
        monkeypatch.setattr(replica_scans, "default_window",
                            lambda days: default_window(days, time.time() + 3 * 86400))
        outcome = rows(live, "REPLICATE CalendarView")[0]
        # ... the refresh continues the stored window's link: one request, nothing resynced.
        assert (outcome[3], outcome[4], outcome[5], outcome[6]) == (0, 0, 0, 1)
        assert rows(offline, kept) == [(stored,)]
        cached = connect(emulator, location, AutoCache=True, CacheTolerance=3600)
        emulator.clear_log()
        start, end = stored.split("/")
        rows(cached, "SELECT COUNT(*) FROM CalendarView" + where((start, end)))
        assert graph_requests(emulator) == []
        cached.close()
        # A first copy into a new file under the moved clock does take the moved window.
        fresh = connect(emulator, str(tmp_path / "other.db"), ReplicateWindow=30)
        rows(fresh, "REPLICATE CalendarView")
        other = rows(fresh, kept)[0][0]
        assert other == window_text(shifted) != stored
        fresh.close()
    finally:
        live.close()
        offline.close()


def test_window_statement_errors(emulator: Emulator, tmp_path: Path) -> None:
    live = connect(emulator, str(tmp_path / "replica.db"))
    try:
        for sql, words in (
                ("REPLICATE Messages" + where(WINDOW), "Messages has no time window"),
                ("REPLICATE CalendarView" + where((WINDOW[1], WINDOW[0])), "before it starts"),
                ("REPLICATE CalendarView" + where(("soon", WINDOW[1])), "'soon' is not an ISO"),
                (f"REPLICATE CalendarView WHERE StartDateTime >= '{WINDOW[0]}'", "needs both"),
                ((f"REPLICATE CalendarView WHERE StartDateTime <= '{WINDOW[0]}' AND "
                  f"EndDateTime <= '{WINDOW[1]}'"), "accepts only")):
            with pytest.raises(o365sql.ProgrammingError) as caught:
                rows(live, sql)
            assert words in str(caught.value), (sql, str(caught.value))
        assert rows(live, "SELECT COUNT(*) FROM sys_replicas") == [(0,)]
    finally:
        live.close()


def test_autocache_copies_the_first_window_when_it_holds_the_scan(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A never-replicated CalendarView read under AutoCache: a scan whose window lies inside
    the window a first copy keeps copies it and is answered from it; one outside is read live
    and copies nothing. The first window is drawn around the pinned anchor, not today."""
    anchor = emulator.anchor.timestamp()
    monkeypatch.setattr(replica_scans, "default_window",
                        lambda days: default_window(days, anchor))
    first = window_text(default_window(45, anchor)).split("/")
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    cached = connect(emulator, location, AutoCache=True, CacheTolerance=3600, ReplicateWindow=45)
    kept = "SELECT Folder FROM sys_replicas WHERE TableName = 'CalendarView'"
    try:
        outside = "SELECT * FROM CalendarView" + where(("2026-12-10T00:00:00Z",
                                                        "2027-01-10T00:00:00Z"))
        same_rows(live, cached, outside)
        assert rows(cached, kept) == []
        sql = "SELECT * FROM CalendarView" + where(INSIDE)
        assert same_rows(live, cached, sql) > 0
        assert rows(cached, kept) == [("/".join(first),)]
        emulator.clear_log()
        assert same_rows(live, cached, sql) > 0
        assert sum("calendarView" in p for p in graph_requests(emulator)) > 0  # live's only
        emulator.clear_log()
        rows(cached, sql)
        assert graph_requests(emulator) == []
    finally:
        live.close()
        cached.close()


def test_a_file_from_before_windows_is_never_misread(emulator: Emulator, tmp_path: Path) -> None:
    """A replica written before windows were scopes (one scope '' per mailbox, its window in
    ``parent``) answers no CalendarView scan Offline, and the next REPLICATE copies again."""
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    offline = connect(emulator, location, Offline=True)
    try:
        rows(live, "REPLICATE CalendarView" + where(WINDOW))
        with sqlite3.connect(location) as plain:
            plain.execute("UPDATE _o365sql_scopes SET parent = scope, scope = '' "
                          "WHERE tbl = 'CalendarView'")
            plain.execute('DROP INDEX "_o365sql_CalendarView_key"')
            plain.execute('CREATE UNIQUE INDEX "_o365sql_CalendarView_key" ON "CalendarView" '
                          '("UserId", "Id")')
        with pytest.raises(o365sql.OperationalError) as caught:
            rows(offline, "SELECT * FROM CalendarView" + where(WINDOW))
        assert "CalendarView" in str(caught.value)
        # AutoCache (the replica refreshed moments ago, yet no window kept) copies the first
        # window, here holding the scan's, and answers from it.
        cached = connect(emulator, location, AutoCache=True, CacheTolerance=3600,
                         ReplicateWindow=3650)
        assert same_rows(live, cached, "SELECT * FROM CalendarView" + where(INSIDE)) > 0
        cached.close()
        assert len(rows(offline, "SELECT Folder FROM sys_replicas WHERE TableName = "
                                 "'CalendarView'")) == 1
        outcome = rows(live, "REPLICATE CalendarView" + where(WINDOW))[0]
        assert outcome[-1] is None and outcome[2] > 0  # inside the window copied above
        same_rows(live, offline, "SELECT * FROM CalendarView" + where(WINDOW))
    finally:
        live.close()
        offline.close()
