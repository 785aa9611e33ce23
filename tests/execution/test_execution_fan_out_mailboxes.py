"""A statement over many mailboxes (``UserId IN (SELECT Id FROM Users)``) against the emulator:
its rows equal the mailboxes read one statement at a time, every mailbox larger than one page
is read to its end through ``$batch``, distinct mailboxes run in parallel beyond 4 while none
gets more than Outlook's 4 concurrent requests, and no ``$batch`` body holds more than 4 items
of one mailbox (graph-semantics §6, §8.1)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from execution_support import connect, rows

from o365sql.emulator import Emulator

TENANT = {"seed": 12, "users": 16, "messages_per_user": 45, "events_per_user": 2}
SQL = "SELECT UserId, Id, Subject, ReceivedDateTime FROM Messages"


def test_rows_of_many_mailboxes_equal_one_by_one_reads(emulator: Emulator) -> None:
    app = connect(emulator, emulator.mint_token(), Pagesize=10, MaxConcurrency=6)
    try:
        mailboxes = [r[0] for r in rows(app, "SELECT Id FROM Users")]
        expected: list[tuple[Any, ...]] = []
        for user in mailboxes:
            expected += rows(app, SQL + " WHERE UserId = ?", [user])
        per_mailbox = Counter(r[0] for r in expected)
        assert len(mailboxes) >= 12 and len(per_mailbox) >= 12
        assert min(per_mailbox.values()) > 10  # each is larger than one page (Pagesize=10)
        assert len(expected) >= 12 * 45  # the floor of what is compared
        # Each inner request keeps its mailbox's slot 20 ms, so bodies overlap at the server.
        emulator.faults.latency(0.02, path="/messages")
        emulator.clear_log()
        app.graph.stats.reset()
        got = rows(app, SQL + " WHERE UserId IN (SELECT Id FROM Users)")
        in_flight = app.graph.stats.max_in_flight
    finally:
        emulator.faults.clear()
        app.close()
    assert sorted(got) == sorted(expected)
    batches = [e for e in emulator.log if e.kind == "batch"]
    pages = sum(-(-n // 10) for n in per_mailbox.values())
    inner = [item for e in batches for item in e.inner]
    assert len(inner) == pages  # every page of every mailbox, each asked once
    assert all(max(Counter(i["url"].split("/")[2] for i in e.inner).values()) <= 4
               for e in batches)
    peaks = emulator.counters["mailbox_concurrency"]
    assert peaks["refused"] == 0 and peaks["peak"] <= 4 < peaks["all_mailboxes"]
    assert 4 < in_flight <= 6
