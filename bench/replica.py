"""The replica against the emulator: first copy, empty refresh and a refresh after 1,000 changes,
each next to a full re-read of the same mailbox measured in the same run, and repeat analytic
queries answered from the replica next to the same queries answered live.

Not part of the test suite. Starts the emulator in its own process (``bench/read_path.py``'s
``Emulator``) with one mailbox of ``--messages`` messages, then reports requests (the client's
counters) and seconds for:

1. **full re-read**: ``SELECT`` every replicated column of every message, live (what a query
   without a replica costs, each time);
2. **first copy**: ``REPLICATE Messages`` (folders read in parallel, at most 4 at once);
3. **empty refresh**: ``REPLICATE Messages`` again, nothing changed (about one request per
   folder);
4. **refresh after 1,000 changes**: 1,000 messages marked read/unread through ``$batch``
   (20 per POST, not counted), then ``REPLICATE Messages``;
5. **repeat analytic queries** (GROUP BY sender, counts per folder, top-N): ``Offline=true``
   from the replica, against the same query live (pushdown on).

    python bench/replica.py [--messages 200000] [--changes 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from read_path import Emulator

from o365sql.catalog import load_catalog

ANALYTIC = [
    ("GROUP BY sender", ("SELECT From_EmailAddress_Address, COUNT(*) AS n FROM Messages "
                        "GROUP BY From_EmailAddress_Address ORDER BY n DESC LIMIT 10")),
    ("counts per folder", ("SELECT ParentFolderId, COUNT(*), SUM(CASE WHEN IsRead THEN 0 ELSE 1 END) "
                          "FROM Messages GROUP BY ParentFolderId")),
    ("top-N", ("SELECT Subject, ReceivedDateTime FROM Messages ORDER BY ReceivedDateTime DESC "
              "LIMIT 20")),
]


def timed(connection: Any, sql: str) -> tuple[list[Any], int, float]:
    """Rows, Graph requests and seconds of one statement."""
    connection.graph.stats.reset()
    started = time.perf_counter()
    cur = connection.cursor()
    cur.execute(sql)
    rows = cur.fetchall()
    return rows, int(connection.graph.stats.requests), time.perf_counter() - started


def change(emu: Emulator, token: str, count: int) -> None:
    """Flip the read state of ``count`` messages through $batch (20 requests per POST)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    graph = emu.info["graph_url"]
    ids: list[tuple[str, bool]] = []
    url: str | None = graph + "/me/messages?$select=id,isRead&$top=1000"
    while url and len(ids) < count:
        page = session.get(url, verify=emu.ca, timeout=60).json()
        ids += [(m["id"], m["isRead"]) for m in page["value"]]
        url = page.get("@odata.nextLink")
    for start in range(0, min(count, len(ids)), 20):
        batch = [{"id": str(i), "method": "PATCH", "url": f"/me/messages/{ident}",
                  "headers": {"Content-Type": "application/json"}, "body": {"isRead": not read}}
                 for i, (ident, read) in enumerate(ids[start:start + 20])]
        answer = session.post(graph + "/$batch", json={"requests": batch}, verify=emu.ca,
                              timeout=120).json()
        assert all(r["status"] == 200 for r in answer["responses"]), answer
    session.close()


def line(label: str, requests_: int, seconds: float, base: tuple[int, float]) -> None:
    print(f"{label:<32} {requests_:>6} requests {seconds:>8.2f} s   "
          f"x{requests_ / max(base[0], 1):.3f} requests, x{seconds / max(base[1], 1e-9):.3f} time "
          "of a full re-read")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--changes", type=int, default=1000)
    args = parser.parse_args(argv)
    emu = Emulator(args.messages)
    writer = emu._post("/_emulator/token", {"user": emu.info["users"][0],
                                            "scopes": ["Mail.ReadWrite"]})["access_token"]
    location = str(Path(tempfile.mkdtemp()) / "replica.db")
    try:
        live = emu.connect(CacheLocation=location)
        offline = emu.connect(CacheLocation=location, Offline=True)
        columns = ", ".join(c.name for c in load_catalog().table("Messages").columns
                            if not c.heavy and not c.pseudo)
        print(f"one mailbox of {args.messages} messages; emulator started in {emu.startup:.1f} s")
        rows, calls, seconds = timed(live, f"SELECT {columns} FROM Messages")
        base = (calls, seconds)
        print(f"{'full re-read (' + str(len(rows)) + ' rows)':<32} {calls:>6} requests "
              f"{seconds:>8.2f} s")
        for label, extra in (("first copy", 0), ("empty refresh", 0),
                             (f"refresh after {args.changes} changes", args.changes)):
            if extra:
                change(emu, writer, extra)
            outcome, calls, seconds = timed(live, "REPLICATE Messages")
            assert outcome[0][-1] is None, outcome
            line(f"{label} ({outcome[0][3]} changed)", calls, seconds, base)
        print()
        for label, sql in ANALYTIC:
            answer, live_calls, live_seconds = timed(live, sql)
            cached, cached_calls, cached_seconds = timed(offline, sql)
            if label == "top-N":
                # Ties at the LIMIT (many messages share the newest second at 200,000) may
                # keep different rows; SQL defines only the ORDER BY values.
                answer, cached = [r[1:] for r in answer], [r[1:] for r in cached]
            assert sorted(map(repr, answer)) == sorted(map(repr, cached)), label
            print(f"{label:<20} replica {cached_seconds * 1000:>8.1f} ms ({cached_calls} requests)"
                  f"   live {live_seconds * 1000:>9.1f} ms ({live_calls} requests)   "
                  f"x{live_seconds / max(cached_seconds, 1e-9):.0f} faster")
        live.close()
        offline.close()
    finally:
        emu.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
