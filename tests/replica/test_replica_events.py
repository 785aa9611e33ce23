"""The Events table in the replica (issue 13 point 1): Graph v1.0 has no delta for /events, so
a refresh lists every event's changeKey and lastModifiedDateTime and reads again the new and
changed ones through $batch (or every event, when that costs fewer requests). After updates,
series edits, deleted occurrences, cancellations (the attendee's copy turns cancelled) and
responses, the replica of organiser and attendee equals a live read, at the request counts the
reference documents. Real HTTP to the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from replica_support import Writer, connect, rows, same_rows

import o365sql
from o365sql.emulator import Emulator

ROW_REQUESTS = 6  # REPLICATE's result: Requests column


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=3, users=2, messages_per_user=4, events_per_user=10,
                  contacts_per_user=2, groups=1) as emu:
        yield emu


def span(day: str, hours: str = "09") -> dict[str, dict[str, str]]:
    return {"start": {"dateTime": f"{day}T{hours}:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{day}T{hours}:30:00", "timeZone": "UTC"}}


def test_events_replica_equals_live_after_every_kind_of_change(emulator: Emulator,
                                                               tmp_path: Path) -> None:
    me, other = emulator.users[0], emulator.users[1]
    organiser, attendee = Writer(emulator, me), Writer(emulator, other)
    mine, theirs = str(tmp_path / "me.db"), str(tmp_path / "other.db")
    live = connect(emulator, mine)
    offline = connect(emulator, mine, Offline=True)
    live_other = connect(emulator, theirs, user=other)
    offline_other = connect(emulator, theirs, user=other, Offline=True)
    meeting = organiser.call("POST", "/me/events", {
        "subject": "planning", **span("2026-11-05"),
        "attendees": [{"emailAddress": {"address": other}, "type": "required"}]})["id"]
    series = organiser.call("POST", "/me/events", {
        "subject": "standup", **span("2026-11-02", "08"), "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "numberOfOccurrences": 5,
                      "startDate": "2026-11-02"}}})["id"]
    compared = 0
    try:
        first = rows(live, "REPLICATE Events")[0]
        assert first[-1] is None and first[2] >= 10 and first[ROW_REQUESTS] == 1
        rows(live_other, "REPLICATE Events")
        compared += same_rows(live, offline, "SELECT * FROM Events")
        # Nothing changed: the version listing alone.
        quiet = rows(live, "REPLICATE Events")[0]
        assert (quiet[3], quiet[4], quiet[ROW_REQUESTS]) == (0, 0, 1)

        singles = [e["id"] for e in organiser.call(
            "GET", "/me/events?$select=id,type&$top=999")["value"]
            if e["type"] == "singleInstance" and e["id"] != meeting]
        organiser.call("PATCH", f"/me/events/{singles[0]}", {"subject": "renamed"})
        organiser.call("DELETE", f"/me/events/{singles[1]}")
        organiser.call("PATCH", f"/me/events/{series}", {"subject": "standup, moved",
                                                          **span("2026-11-02", "10")})
        occurrences = organiser.call(
            "GET", f"/me/events/{series}/instances?startDateTime=2026-11-01T00:00:00Z"
                   "&endDateTime=2026-11-10T00:00:00Z&$select=id")["value"]
        organiser.call("DELETE", f"/me/events/{occurrences[1]['id']}")
        organiser.call("POST", "/me/events", {"subject": "new one", **span("2026-11-20")})
        copy = attendee.call("GET", "/me/events?$filter=subject eq 'planning'&$select=id")
        attendee.call("POST", f"/me/events/{copy['value'][0]['id']}/accept",
                      {"sendResponse": True})
        outcome = rows(live, "REPLICATE Events")[0]
        # New, renamed, moved series and the meeting (its attendee answered): read again in
        # one $batch after the listing; the deleted one removed.
        assert outcome[-1] is None and outcome[4] == 1 and outcome[3] >= 4
        assert outcome[ROW_REQUESTS] == 2
        compared += same_rows(live, offline, "SELECT * FROM Events")
        rows(live_other, "REPLICATE Events")
        compared += same_rows(live_other, offline_other, "SELECT * FROM Events")

        organiser.call("POST", f"/me/events/{meeting}/cancel", {"comment": "off"})
        rows(live, "REPLICATE Events")
        mine_after = rows(offline, "SELECT Id FROM Events WHERE Subject = 'planning'")
        assert mine_after == []
        outcome = rows(live_other, "REPLICATE Events")[0]
        assert outcome[3] == 1  # the copy turned cancelled: its changeKey changed
        compared += same_rows(live_other, offline_other, "SELECT * FROM Events")
        cancelled = rows(offline_other, "SELECT IsCancelled, ResponseStatus_Response FROM Events "
                                        "WHERE Subject = 'planning'")
        assert cancelled == [(True, "accepted")]
        compared += same_rows(live, offline, "SELECT * FROM Events")
        compared += same_rows(live, offline, "SELECT Type, COUNT(*) FROM Events GROUP BY Type")
        # One change: the listing and one GET. Many: re-reading each (4 of a mailbox per
        # $batch) would cost more than reading every event again (one page), which is done.
        total = rows(offline, "SELECT COUNT(*) FROM Events")[0][0]
        assert total < 1000
        ids = [e["id"] for e in organiser.call("GET", "/me/events?$select=id&$top=999")["value"]]
        organiser.call("PATCH", f"/me/events/{ids[0]}", {"subject": "once more"})
        outcome = rows(live, "REPLICATE Events")[0]
        assert (outcome[3], outcome[4], outcome[ROW_REQUESTS]) == (1, 0, 2)
        for ident in ids[:9]:
            organiser.call("PATCH", f"/me/events/{ident}", {"importance": "high"})
        outcome = rows(live, "REPLICATE Events")[0]
        assert (outcome[3], outcome[4], outcome[ROW_REQUESTS]) == (9, 0, 2)
        compared += same_rows(live, offline, "SELECT * FROM Events")
        # A calendar other than the default one is read live, never from the replica.
        with pytest.raises(o365sql.OperationalError) as caught:
            rows(offline, "SELECT * FROM Events WHERE CalendarId = 'AAMk'")
        assert "Events" in str(caught.value) and "CalendarId" in str(caught.value)
    finally:
        for closeable in (live, offline, live_other, offline_other, organiser, attendee):
            closeable.close()
    assert compared >= 40, compared
