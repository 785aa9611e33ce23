"""What replicating costs Graph (issue 13 point 4): the first REPLICATE reads a mailbox's
folders in parallel, never more than Outlook's 4 concurrent requests per mailbox (the
emulator's own high-water mark, ``MailboxThrottle.peaks``, and no 429), and an empty refresh
costs one request per folder plus one for the folder list, nothing else."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from replica_support import connect, rows

from o365sql.emulator import Emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=3, users=1, messages_per_user=80, events_per_user=1,
                  contacts_per_user=1, groups=1) as emu:
        yield emu


def test_first_copy_reads_folders_in_parallel_within_the_mailbox_limit(
        emulator: Emulator, tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location, MaxConcurrency=16)
    # The mailbox's folder names are read first (a $batch of 4 at once), so that the peak
    # below is the delta rounds' own.
    rows(live, "REPLICATE MailFolders")
    # Each folder's delta round answers slowly, so rounds read at once overlap in the emulator.
    emulator.faults.latency(0.15, path="/messages/delta")
    emulator.clear_log()
    outcome = rows(live, "REPLICATE Messages")[0]
    assert outcome[-1] is None and outcome[2] > 0
    peaks = emulator.counters["mailbox_concurrency"]
    assert peaks["refused"] == 0 and emulator.limits.rejected == 0
    rounds = [e for e in emulator.log if "/messages/delta" in (e.as_dict().get("path") or "")]
    with sqlite3.connect(location) as plain:
        folders = plain.execute("SELECT COUNT(*) FROM _o365sql_scopes WHERE tbl = 'Messages' "
                                "AND scope <> '#folders'").fetchone()[0]
    assert len(rounds) >= folders > 4
    # In parallel (more than one at once), never beyond Outlook's 4 per mailbox.
    assert 2 <= peaks["peak"] <= 4, peaks
    assert live.graph.stats.throttled == 0
    live.close()


def test_an_empty_refresh_asks_each_folder_once(emulator: Emulator, tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    rows(live, "REPLICATE TABLES (Messages, MailFolders)")
    with sqlite3.connect(location) as plain:
        folders = plain.execute("SELECT COUNT(*) FROM _o365sql_scopes WHERE tbl = 'Messages' "
                                "AND scope <> '#folders'").fetchone()[0]
    emulator.clear_log()
    again = rows(live, "REPLICATE TABLES (Messages, MailFolders)")
    assert [r[3:6] for r in again] == [(0, 0, 0), (0, 0, 0)]  # nothing changed, removed, resynced
    assert [r[6] for r in again] == [folders + 1, 1]
    paths = [e.as_dict().get("path") or "" for e in emulator.log]
    graph = [p for p in paths if "/v1.0/" in p]
    assert len(graph) == folders + 2
    assert all("/delta" in p for p in graph), graph  # no names, no re-reads: delta links only
    live.close()
