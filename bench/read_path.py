"""The driver's read path against the emulator: a 200,000-message scan and a few typical
queries, each next to a baseline measured in the same run.

Not part of the test suite. Starts the emulator in its own process (``python -m
o365sql.emulator``, so client and server do not share one GIL and ``tracemalloc`` sees only the
client) with one mailbox of ``--messages`` messages, then:

1. **Full scan.** ``SELECT`` five columns of every message through o365sql, ``fetchmany(500)``,
   timed; then the same scan again under ``tracemalloc`` for the client's peak memory. The
   baseline is "the floor" (reference/baselines-and-browser.md §2(a)): a plain ``requests`` loop
   with the same ``$select`` and ``$top=1000`` that follows ``@odata.nextLink`` and keeps only
   a row count. Reports rows/s, HTTP requests (the client's counters, checked against the
   emulator's request counters), peak memory, and o365sql/baseline ratios for seconds and
   requests.
2. **Typical queries** (filtered + ordered + LIMIT, COUNT(*) of a folder, GROUP BY): requests
   and seconds with pushdown on, against the naive plan (``Pushdown=false``: fetch the table,
   do everything locally), with both answers checked equal.

    python bench/read_path.py [--messages 200000] [--typical-messages 20000]

Runs in well under two minutes on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import requests

import o365sql

COLUMNS = "Id, Subject, ReceivedDateTime, IsRead, From_EmailAddress_Address"
SELECT = "id,subject,receivedDateTime,isRead,from"

TYPICAL = [
    ("filtered + ordered + LIMIT",
     ("SELECT Subject, ReceivedDateTime FROM Messages WHERE IsRead = false "
      "AND ReceivedDateTime >= '2020-01-01' ORDER BY ReceivedDateTime DESC LIMIT 20")),
    ("COUNT(*) of a folder",
     "SELECT COUNT(*) FROM Messages WHERE ParentFolderId = 'inbox' AND IsRead = false"),
    ("GROUP BY", ("SELECT Importance, COUNT(*) AS n FROM Messages GROUP BY Importance "
                  "ORDER BY Importance")),
    ("Id lookup", "SELECT Subject FROM Messages WHERE Id = :id"),
    ("IN list of 20 subjects", "SELECT Id FROM Messages WHERE Subject IN ({subjects})"),
]


class Emulator:
    """``python -m o365sql.emulator --users U --messages-per-user N`` in its own process."""

    def __init__(self, messages: int, users: int = 1) -> None:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "o365sql.emulator", "--users", str(users),
             "--messages-per-user", str(messages)],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())
        self.startup = time.perf_counter() - started
        self.ca = self.info["ca_path"]
        self.token = self._post("/_emulator/token", {"user": self.info["users"][0],
                                                     "scopes": ["Mail.Read"]})["access_token"]

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = requests.post(self.info["base_url"] + path, json=body, verify=self.ca, timeout=60)
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def requests_served(self) -> int:
        """Graph requests the emulator counted since the last ``clear``."""
        answer = requests.get(self.info["base_url"] + "/_emulator/counters", verify=self.ca,
                              timeout=60)
        return int(answer.json()["total"])

    def clear(self) -> None:
        self._post("/_emulator/clear", {})

    def connect(self, **props: Any) -> Any:
        return o365sql.connect(GraphURL=self.info["graph_url"], AuthorityURL=self.info["base_url"],
                               AzureTenant=self.info["tenant_id"], SSLServerCert=self.ca,
                               OAuthAccessToken=self.token, **props)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def floor_scan(emu: Emulator) -> tuple[int, int, float]:
    """reference/baselines-and-browser.md §2(a): rows, requests, seconds."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.token}"
    url: str | None = emu.info["graph_url"] + "/me/messages"
    params: dict[str, Any] | None = {"$select": SELECT, "$top": 1000}
    rows = calls = 0
    started = time.perf_counter()
    while url:
        data = session.get(url, params=params, verify=emu.ca, timeout=60).json()
        calls += 1
        rows += len(data["value"])
        url, params = data.get("@odata.nextLink"), None
    seconds = time.perf_counter() - started
    session.close()
    return rows, calls, seconds


def o365sql_scan(emu: Emulator, *, trace: bool) -> tuple[int, int, float, int]:
    """rows, requests, seconds, traced peak bytes (0 unless ``trace``)."""
    connection = emu.connect()
    try:
        cur = connection.cursor()
        cur.execute("SELECT Subject FROM Messages LIMIT 1")  # warm-up: pools, caches
        cur.fetchall()
        emu.clear()
        connection.graph.stats.reset()
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        cur.execute(f"SELECT {COLUMNS} FROM Messages")
        rows = 0
        while batch := cur.fetchmany(500):
            rows += len(batch)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        return rows, int(connection.graph.stats.requests), seconds, peak
    finally:
        connection.close()


def run_query(emu: Emulator, sql: str, params: Any, *, pushdown: bool
              ) -> tuple[list[tuple[Any, ...]], int, float]:
    connection = emu.connect(Pushdown=pushdown)
    try:
        cur = connection.cursor()
        connection.graph.stats.reset()
        started = time.perf_counter()
        cur.execute(sql, params)
        rows = [tuple(r) for r in cur.fetchall()]
        return rows, int(connection.graph.stats.requests), time.perf_counter() - started
    finally:
        connection.close()


def scan_section(messages: int) -> None:
    emu = Emulator(messages)
    try:
        print(f"emulator: 1 mailbox, {messages:,} messages, started in {emu.startup:.1f} s")
        floor_rows, floor_calls, floor_s = floor_scan(emu)
        rows, calls, seconds, _ = o365sql_scan(emu, trace=False)
        served = emu.requests_served()
        _, _, traced_s, peak = o365sql_scan(emu, trace=True)
        # The mailbox holds the seeded messages plus a few drafts: both scans must read all of it.
        assert rows == floor_rows >= messages, (rows, floor_rows, messages)
        print(f"{'full scan':<28}{'rows':>9}{'requests':>10}{'seconds':>9}{'rows/s':>10}"
              f"{'peak MiB':>10}")
        print(f"{'  baseline (requests loop)':<28}{floor_rows:>9,}{floor_calls:>10}"
              f"{floor_s:>9.2f}{floor_rows / floor_s:>10,.0f}{'-':>10}")
        print(f"{'  o365sql fetchmany(500)':<28}{rows:>9,}{calls:>10}{seconds:>9.2f}"
              f"{rows / seconds:>10,.0f}{peak / 2**20:>10.1f}")
        print(f"  emulator counted {served} requests for the o365sql scan; "
              f"traced pass took {traced_s:.2f} s")
        print(f"  ratio o365sql/baseline: seconds {seconds / floor_s:.2f}, "
              f"requests {calls / floor_calls:.2f}")
    finally:
        emu.close()


def typical_section(messages: int) -> None:
    emu = Emulator(messages)
    try:
        print(f"\ntypical queries (1 mailbox, {messages:,} messages): pushdown on vs the naive "
              "plan (Pushdown=false)")
        probe, _, _ = run_query(emu, "SELECT Id, Subject FROM Messages LIMIT 200", None,
                                pushdown=True)
        subjects = sorted({r[1] for r in probe})[:20]
        print(f"{'query':<28}{'req on':>8}{'req off':>9}{'s on':>8}{'s off':>8}{'rows':>7}")
        for name, sql in TYPICAL:
            params: Any = None
            if ":id" in sql:
                params = {"id": probe[len(probe) // 2][0]}
            if "{subjects}" in sql:
                sql = sql.format(subjects=", ".join("?" for _ in subjects))
                params = subjects
            on_rows, on_calls, on_s = run_query(emu, sql, params, pushdown=True)
            off_rows, off_calls, off_s = run_query(emu, sql, params, pushdown=False)
            assert sorted(on_rows) == sorted(off_rows), name
            print(f"{name:<28}{on_calls:>8}{off_calls:>9}{on_s:>8.2f}{off_s:>8.2f}"
                  f"{len(on_rows):>7}")
    finally:
        emu.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--typical-messages", type=int, default=20_000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scan_section(args.messages)
    typical_section(args.typical_messages)
    print(f"\nbench time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
