"""Select-only properties in the replica (issue 9 point 6): calendarView delta takes no
``$select``, so its items lack the properties Graph returns only when selected (catalog
``select_only``: ``cancelledOccurrences``). REPLICATE reads them from one ``calendarView``
listing of the same window with ``$select`` (``replica/refresh.py``); the replica then holds
what a live read holds, at the cost of one request per round that has changes and none for a
round without."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from replica_support import Writer, connect, rows, window_where

from o365sql.catalog import load_catalog
from o365sql.emulator import Emulator
from o365sql.replica.store import replicated_columns
from o365sql.replica.tracking import TRACKED


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=21, users=2, messages_per_user=4, events_per_user=10) as emu:
        yield emu


def _calendar_requests(emulator: Emulator) -> tuple[list[dict[str, list[str]]], int]:
    """The ``calendarView`` listing requests since the log was cleared (their query
    options), and the number of ``calendarView/delta`` requests."""
    listings, deltas = [], 0
    for entry in emulator.log:
        path = entry.path.lower()
        if path.endswith("/calendarview/delta"):
            deltas += 1
        elif path.endswith("/calendarview"):
            listings.append(parse_qs(entry.query))
    return listings, deltas


def _compare(live: object, offline: object) -> int:
    """Every replicated row's select-only value equals the live one (read with $select)."""
    where = window_where(offline)
    sql = "SELECT Id, CancelledOccurrences FROM CalendarView" + where
    replica = dict(rows(offline, sql))
    expected = dict(rows(live, sql))
    assert replica == expected
    assert replica and all(v is not None for v in replica.values())
    return len(replica)


def test_every_tracked_table_without_select_has_a_listing_for_its_select_only_columns() -> None:
    catalog = load_catalog()
    checked = 0
    for spec in TRACKED.values():
        if spec.selectable:
            continue
        table = catalog.table(spec.table)
        if any(c.select_only for c in replicated_columns(table)):
            assert spec.listing is not None, spec.table
            checked += 1
    assert checked >= 1


def test_calendar_view_replica_reads_select_only_properties_with_one_listing(
        emulator: Emulator, tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location, ReplicateWindow=60)
    offline = connect(emulator, location, Offline=True)
    # First copy: the delta round, then one listing of the window for the select-only values.
    emulator.clear_log()
    rows(live, "REPLICATE CalendarView")
    listings, deltas = _calendar_requests(emulator)
    assert deltas >= 1 and len(listings) == 1
    assert listings[0]["$select"] == ["id,cancelledOccurrences"]
    assert "startDateTime" in listings[0] and "endDateTime" in listings[0]
    copied = _compare(live, offline)
    assert copied >= 5
    # A round with nothing changed sends no listing.
    emulator.clear_log()
    again = rows(live, "REPLICATE CalendarView")[0]
    listings, deltas = _calendar_requests(emulator)
    assert (len(listings), deltas) == (0, 1) and again[6] == 1
    # A round with a change: one listing, and the new item's value is there too.
    start = rows(offline, "SELECT MIN(Start_DateTime) FROM CalendarView" + window_where(offline))[0][0]
    writer = Writer(emulator, emulator.users[0])
    writer.call("POST", "/me/events", {
        "subject": "select-only probe",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": start.replace(hour=23).isoformat(), "timeZone": "UTC"}})
    emulator.clear_log()
    changed = rows(live, "REPLICATE CalendarView")[0]
    listings, deltas = _calendar_requests(emulator)
    assert len(listings) == 1 and changed[3] >= 1
    assert _compare(live, offline) == copied + 1
    for connection in (live, offline, writer):
        connection.close()


def test_a_replica_written_without_the_values_is_copied_again(
        emulator: Emulator, tmp_path: Path) -> None:
    """A replica file from before (CancelledOccurrences NULL on every row, which Graph never
    sends) is copied afresh by the next refresh instead of keeping the NULLs."""
    location = str(tmp_path / "old.db")
    live = connect(emulator, location, ReplicateWindow=60)
    offline = connect(emulator, location, Offline=True)
    rows(live, "REPLICATE CalendarView")
    with sqlite3.connect(location) as plain:
        plain.execute('UPDATE "CalendarView" SET "CancelledOccurrences" = NULL')
    where = window_where(offline)
    assert rows(offline, "SELECT COUNT(*) FROM CalendarView" + where +
                " AND CancelledOccurrences IS NULL")[0][0] > 0
    emulator.clear_log()
    refreshed = rows(live, "REPLICATE CalendarView")[0]
    listings, deltas = _calendar_requests(emulator)
    assert len(listings) == 1 and deltas >= 1 and refreshed[-1] is None
    _compare(live, offline)
    # ... and once current, a refresh with nothing changed costs its delta request alone.
    emulator.clear_log()
    rows(live, "REPLICATE CalendarView")
    assert _calendar_requests(emulator) == ([], 1)
    live.close()
    offline.close()
