"""The replica's calendars against the emulator: what Events (no delta in Graph v1.0: a
changeKey listing, then $batch re-reads of the changed events) and CalendarView (calendarView
delta per kept window) cost, each next to a full live read measured in the same run.

Not part of the test suite. Starts the emulator in this process with one mailbox of
``--events`` seeded events (single meetings, all-day events and series, nine months either
side of the anchor) and reports requests (the client's counters) and seconds for:

1. **Events**: a full live read (``SELECT`` every replicated column), the first copy, an empty
   refresh, and a refresh after ``--changes`` events were renamed (``$batch``, not counted);
2. **CalendarView** over six months around the anchor: a full live read of the window, the
   first copy of that window, an empty refresh, a refresh after the same changes, and an empty
   refresh once a second window apart is kept too (one delta round per window);
3. an aggregate over the kept window answered ``Offline`` from the replica, against the same
   query live.

    python bench/replica_calendar.py [--events 3000] [--changes 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from replica import timed

import o365sql
from o365sql.catalog import load_catalog
from o365sql.emulator import Emulator

ANCHOR = datetime(2026, 11, 1)
SCOPES = ["Calendars.ReadWrite", "Mail.Read"]


def rename(emu: Emulator, count: int, round_: int) -> None:
    """Rename ``count`` events (masters and single events) through $batch, 20 per POST."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + emu.mint_token(user=emu.users[0],
                                                                  scopes=SCOPES)
    listing = session.get(emu.graph_url + f"/me/events?$select=id&$top={count}",
                          verify=emu.ca_path, timeout=60).json()["value"]
    for start in range(0, len(listing), 20):
        body = {"requests": [
            {"id": str(n), "method": "PATCH", "url": f"/me/events/{e['id']}",
             "headers": {"Content-Type": "application/json"},
             "body": {"subject": f"renamed {round_}.{start + n}"}}
            for n, e in enumerate(listing[start:start + 20])]}
        answer = session.post(emu.graph_url + "/$batch", json=body, verify=emu.ca_path,
                              timeout=120).json()
        assert all(r["status"] == 200 for r in answer["responses"]), answer
    session.close()


def report(label: str, calls: int, seconds: float, base: tuple[int, float] | None) -> None:
    ratio = "" if base is None else (
        f"   x{calls / max(base[0], 1):.3f} requests, x{seconds / max(base[1], 1e-9):.3f} "
        "time of a full live read")
    print(f"{label:<44} {calls:>5} requests {seconds:>7.2f} s{ratio}")


def window(days: tuple[int, int]) -> str:
    start, end = (ANCHOR + timedelta(days=d) for d in days)
    return (f" WHERE StartDateTime >= '{start:%Y-%m-%dT%H:%M:%SZ}' AND "
            f"EndDateTime <= '{end:%Y-%m-%dT%H:%M:%SZ}'")


def refreshes(live: Any, emu: Emulator, statement: str, changes: int,
              base: tuple[int, float]) -> None:
    """First copy, empty refresh and a refresh after ``changes`` renames of one table."""
    table = statement.split()[1]
    for label, extra in (("first copy", 0), ("empty refresh", 0),
                         (f"refresh after {changes} renamed", changes)):
        if extra:
            rename(emu, extra, 1)
        outcome, calls, seconds = timed(live, statement)
        assert outcome[0][-1] is None, outcome
        report(f"{table} {label} ({outcome[0][3]} changed)", calls, seconds, base)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with Emulator(seed=1, users=1, messages_per_user=1, events_per_user=args.events,
                  contacts_per_user=0, groups=0, anchor=ANCHOR.isoformat() + "Z") as emu:
        print(f"one mailbox of {args.events} seeded events; emulator started in "
              f"{time.perf_counter() - started:.1f} s")
        location = str(Path(tempfile.mkdtemp()) / "replica.db")
        token = emu.mint_token(user=emu.users[0], scopes=SCOPES)
        connect = {"GraphURL": emu.graph_url, "AuthorityURL": emu.authority,
                   "AzureTenant": emu.tenant_id, "SSLServerCert": emu.ca_path,
                   "OAuthAccessToken": token, "CacheLocation": location}
        live = o365sql.connect(**connect)
        offline = o365sql.connect(**connect, Offline=True)
        try:
            columns = ", ".join(c.name for c in load_catalog().table("Events").columns
                                if not c.heavy and not c.pseudo)
            rows, calls, seconds = timed(live, f"SELECT {columns} FROM Events")
            report(f"Events full live read ({len(rows)} rows)", calls, seconds, None)
            refreshes(live, emu, "REPLICATE Events", args.changes, (calls, seconds))
            print()
            kept = window((-90, 90))
            rows, calls, seconds = timed(live, "SELECT * FROM CalendarView" + kept)
            report(f"CalendarView live read, 6 months ({len(rows)} rows)", calls, seconds, None)
            refreshes(live, emu, "REPLICATE CalendarView" + kept, args.changes,
                      (calls, seconds))
            timed(live, "REPLICATE CalendarView" + window((200, 230)))
            outcome, calls, seconds = timed(live, "REPLICATE CalendarView")
            assert len(outcome) == 1 and outcome[0][3] == 0, outcome
            report("CalendarView empty refresh, 2 windows kept", calls, seconds, None)
            print()
            # The kept window itself (a window inside it is answered too, unless an all-day
            # event lies within 14 hours of its edges: frequent in a calendar this dense).
            inside = "SELECT COUNT(*), SUM(IsAllDay), MIN(Start_DateTime) FROM CalendarView" + kept
            answer, live_calls, live_seconds = timed(live, inside)
            cached, cached_calls, cached_seconds = timed(offline, inside)
            assert answer == cached, (answer, cached)
            print(f"{'the kept window, COUNT(*)':<44} replica "
                  f"{cached_seconds * 1000:.1f} ms ({cached_calls} requests)   live "
                  f"{live_seconds * 1000:.1f} ms ({live_calls} requests)")
        finally:
            live.close()
            offline.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
