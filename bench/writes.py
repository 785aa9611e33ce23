"""Bulk writes: ``executemany`` (20 writes per ``$batch``) against the same rows written one
``execute`` at a time, in requests and seconds, measured in the same run against one emulator.

For each of INSERT (contacts), UPDATE (one statement over them all) and DELETE it prints the
Graph requests the driver sent, the seconds it took, and the ratio to the one-at-a-time
baseline. Nothing is asserted: the tests count requests; this shows what they buy.

    python bench/writes.py [--rows 200]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from typing import Any

import o365sql
from o365sql.emulator import Emulator

SCOPES = ["Contacts.ReadWrite", "Mail.ReadWrite"]


def _connect(emu: Emulator) -> Any:
    return o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                           AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                           OAuthAccessToken=emu.mint_token(user=emu.users[0], scopes=SCOPES))


def _measure(connection: Any, work: Callable[[Any], None]) -> tuple[int, float]:
    before = connection.graph.stats.requests
    started = time.perf_counter()
    work(connection.cursor())
    return connection.graph.stats.requests - before, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    args = parser.parse_args(argv)
    n = args.rows
    with Emulator(seed=3, users=2, messages_per_user=10, events_per_user=2) as emu:
        connection = _connect(emu)
        bulk, single = "b" + uuid.uuid4().hex[:8], "s" + uuid.uuid4().hex[:8]
        insert = "INSERT INTO Contacts (GivenName, Surname) VALUES (?, ?)"
        runs: list[tuple[str, Callable[[Any], None], Callable[[Any], None]]] = [
            ("INSERT", lambda c: c.executemany(insert, [[f"p{i}", bulk] for i in range(n)]),
             lambda c: [c.execute(insert, [f"p{i}", single]) for i in range(n)] and None),
            ("UPDATE", lambda c: c.execute("UPDATE Contacts SET JobTitle = 'x' WHERE Surname = ?",
                                           [bulk]),
             lambda c: [c.execute("UPDATE Contacts SET JobTitle = 'x' WHERE Surname = ? AND "
                                  "GivenName = ?", [single, f"p{i}"]) for i in range(n)] and None),
            ("DELETE", lambda c: c.execute("DELETE FROM Contacts WHERE Surname = ?", [bulk]),
             lambda c: [c.execute("DELETE FROM Contacts WHERE Surname = ? AND GivenName = ?",
                                  [single, f"p{i}"]) for i in range(n)] and None),
        ]
        print(f"{n} rows, one emulator, one connection")
        print(f"{'statement':<9} {'batched req':>11} {'s':>7} {'one-by-one req':>15} {'s':>7} "
              f"{'req ratio':>9} {'time ratio':>10}")
        for name, batched, baseline in runs:
            b_req, b_s = _measure(connection, batched)
            o_req, o_s = _measure(connection, baseline)
            print(f"{name:<9} {b_req:>11} {b_s:>7.2f} {o_req:>15} {o_s:>7.2f} "
                  f"{o_req / max(b_req, 1):>8.1f}x {o_s / max(b_s, 1e-9):>9.1f}x")
        connection.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
