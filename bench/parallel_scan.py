"""The long single-mailbox scan (issue 12 point 4): o365sql reading disjoint receivedDateTime
ranges at once against the floor (a bare ``requests`` + ``json`` loop over the same pages) and
against o365sql itself reading one request (``MaxConcurrency=1``), with no added latency and
with 50 ms per request. The same emulator process, clients and cells as ``compare.py``
(``compare.measure``/``report``); timings are printed, never asserted.

    python bench/parallel_scan.py --quick        # 5,000 messages, 3 runs
    python bench/parallel_scan.py                # 100,000 messages, 5 runs
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--latency", default="0,0.05", help="seconds per request, comma list")
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
        ours.close()
        sequential.close()
    finally:
        emu.close()
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
