"""Row conversion alone: one 1,000-message Graph page (the five columns ``compare.py`` scans)
turned into result tuples by the per-value readers (``conversion.column_reader``, one closure
call per value) and a column at a time (``conversion.column_values``, the scans' path), next to
decoding the page's JSON (what every client, the bare ``requests`` loop included, pays). No
network, no emulator: the client's CPU per page only. Printed, never asserted.

    python bench/row_conversion.py [--entities 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import timeit

from o365sql.catalog import load_catalog
from o365sql.conversion import column_reader, column_values

COLUMNS = ("Id", "Subject", "ReceivedDateTime", "IsRead", "From_EmailAddress_Address")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=1000)
    args = parser.parse_args()
    table = load_catalog().table("Messages")
    columns = [table.column(name) for name in COLUMNS]
    page = [{"@odata.etag": f'W/"CQAAABYAAAB{i:08d}"', "id": f"AAMkAGI2{i:010d}",
             "subject": f"Quarterly report {i}", "isRead": i % 3 == 0,
             "receivedDateTime": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:"
                                 f"{i % 60:02d}:00Z",
             "from": {"emailAddress": {"name": f"Sender {i % 50}",
                                       "address": f"sender{i % 50}@contoso.com"}}}
            for i in range(args.entities)]
    body = json.dumps({"value": page}).encode()
    readers = [column_reader(column, "Messages") for column in columns]

    def per_value() -> list[tuple[object, ...]]:
        return [tuple([read(entity) for read in readers]) for entity in page]

    def per_column() -> list[tuple[object, ...]]:
        return list(zip(*[column_values(column, "Messages", page) for column in columns]))

    assert per_value() == per_column()
    timings = {}
    for name, work in (("per-value readers", per_value), ("a column at a time", per_column),
                       ("json.loads of the page", lambda: json.loads(body))):
        timings[name] = min(timeit.repeat(work, number=20, repeat=7)) / 20 * 1000
    load = os.getloadavg()[0]
    print(f"# row conversion, one page of {args.entities:,} messages, five columns "
          f"(load {load:.1f}; best of 7 × 20)")
    for name, ms in timings.items():
        print(f"{name:>24}: {ms:.3f} ms per page "
              f"({ms / timings['json.loads of the page']:.2f}× decoding the JSON)")


if __name__ == "__main__":
    main()
