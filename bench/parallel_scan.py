"""The long single-mailbox scan (issue 12 point 4): o365sql reading disjoint receivedDateTime
ranges at once against the floor (a bare ``requests`` + ``json`` loop over the same pages) and
against o365sql itself reading one request (``MaxConcurrency=1``), with no added latency and
with 50 ms per request. The same emulator process, clients and cells as ``compare.py``
(``compare.measure``/``report``); timings are printed, never asserted.

    python bench/parallel_scan.py --quick        # 5,000 messages, 3 runs
    python bench/parallel_scan.py                # 100,000 messages, 5 runs
    python bench/parallel_scan.py --timeline --latency 0.05   # when each range ran, no timing

``--timeline`` runs each statement once more after its measurements and prints, from the
emulator's request log, when the first page, the probes and each range's requests ran
(milliseconds from the first request), how many pages each range took and the mean idle time
between a range's requests: where the scan waits, and how balanced the ranges are.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import sys
from typing import Any
from urllib.parse import unquote

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--latency", default="0,0.05", help="seconds per request, comma list")
    parser.add_argument("--timeline", action="store_true",
                        help="print when each range's requests ran (one more scan each)")
    args = parser.parse_args()
    messages = args.messages or (5_000 if args.quick else 100_000)
    runs = args.runs or (3 if args.quick else 5)
    load = os.getloadavg()
    print(f"# parallel scan: {messages:,} messages, {os.cpu_count()} cores, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, runs {runs}")
    emu = compare.Emulator(1, messages)
    try:
        ours = emu.connect()
        sequential = emu.connect(MaxConcurrency=1)
        # Pre-encoded: Outlook reads a "+" in $orderby literally (compare.py says why).
        params = f"$select={compare.SELECT}&$top=1000"
        sql = f"SELECT {compare.COLUMNS} FROM Messages"
        ordered = sql + " ORDER BY ReceivedDateTime DESC"
        for latency in (float(x) for x in args.latency.split(",")):
            emu.latency(latency)
            tag = "no added latency" if not latency else f"{latency * 1000:.0f} ms per request"
            for title, statement, order in (("scan", sql, None),
                                            ("scan ordered by ReceivedDateTime DESC", ordered,
                                             "receivedDateTime%20desc")):
                floor_params = params + (f"&$orderby={order}" if order else "")
                compare.report(f"{title} of {messages:,} messages, five columns ({tag})", [
                    compare.measure(emu, "floor (requests)",
                                    lambda p=floor_params: compare.floor_pages(
                                        emu, "/me/messages", p), runs, True),
                    compare.measure(emu, "o365sql",
                                    lambda q=statement: compare.o365sql_rows(ours, q), runs,
                                    True),
                    compare.measure(emu, "o365sql, one request (MaxConcurrency=1)",
                                    lambda q=statement: compare.o365sql_rows(sequential, q),
                                    runs, False),
                ])
                if args.timeline:
                    timeline(emu, ours, statement)
        ours.close()
        sequential.close()
    finally:
        emu.close()
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def timeline(emu: compare.Emulator, connection: Any, statement: str) -> None:
    """One scan's requests from the emulator's log, grouped by range (see the docstring)."""
    emu.clear()
    compare.o365sql_rows(connection, statement)
    answer = requests.get(emu.info["base_url"] + "/_emulator/log", verify=emu.ca, timeout=60)
    entries = [e for e in answer.json()["entries"] if e["kind"] == "graph"]
    if not entries:
        return
    origin = min(e["time"] for e in entries)
    groups: dict[str, list[tuple[float, float]]] = {}
    for entry in entries:
        query = unquote(entry["query"])
        filt = re.search(r"\$filter=([^&]*)", query)
        name = ("probe" if "$top=1&" in query + "&" else "first page") if filt is None \
            else filt.group(1)
        start = (entry["time"] - origin) * 1000
        groups.setdefault(name, []).append((start, start + entry["duration_ms"]))
    print("\n| requests | first starts ms | last ends ms | mean idle between ms | range |")
    print("|---|---|---|---|---|")
    for name, spans in groups.items():
        spans.sort()
        idle = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
        mean_idle = f"{statistics.mean(idle):.1f}" if idle and name != "probe" else ""
        print(f"| {len(spans)} | {spans[0][0]:.0f} | {max(e for _, e in spans):.0f} | "
              f"{mean_idle} | {name} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
