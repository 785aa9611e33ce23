"""Reading every mailbox of a tenant: Spark ``local[2]`` through ``o365sql.spark`` next to the
driver in one process, in the same run.

Not part of the test suite. Starts the emulator in its own process with ``--users`` mailboxes
(200 by default) of ``--messages`` messages, signs in app-only as its demo app, and reads the
same five columns of every message three ways:

1. **driver**: one process, ``SELECT ... FROM Messages WHERE UserId IN (SELECT Id FROM Users
   WHERE Mail IS NOT NULL)``: the driver fans the mailboxes out through ``$batch`` and a
   bounded pool (the baseline);
2. **spark**: ``spark.read.format("o365sql")`` with the defaults (mailboxes counted first,
   grouped into tasks of about ``rowsPerPartition`` rows);
3. **spark, no sizing**: ``sizeMailboxes=false``: one task per mailbox, no counting requests.

For each: rows (the same (UserId, Id) pairs, checked), HTTP requests and Graph requests (inside
a ``$batch`` each counts, as for Graph's limits) from the emulator's counters, seconds, and the
ratios to the driver. Spark's start-up is reported apart (it is paid once per session).

    python bench/spark_tenant.py [--users 200] [--messages 50] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import requests

import o365sql

COLUMNS = ["UserId", "Id", "Subject", "ReceivedDateTime", "IsRead"]


class EmulatorProcess:
    """``python -m o365sql.emulator`` in its own process (so it does not share a GIL)."""

    def __init__(self, users: int, messages: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "o365sql.emulator", "--users", str(users),
             "--messages-per-user", str(messages)],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())

    def options(self) -> dict[str, str]:
        info = self.info
        return {"AuthScheme": "AzureServicePrincipal", "AzureTenant": info["tenant_id"],
                "OAuthClientId": info["client_id"], "OAuthClientSecret": info["client_secret"],
                "GraphURL": info["graph_url"], "AuthorityURL": info["base_url"],
                "SSLServerCert": info["ca_path"]}

    def served(self) -> tuple[int, int]:
        """Since the last ``clear``: HTTP requests to Graph (a ``$batch`` POST is one), and
        Graph requests as Graph's limits count them (each request inside a ``$batch`` is one;
        https://learn.microsoft.com/graph/json-batching). Sign-in requests are not counted."""
        answer = requests.get(self.info["base_url"] + "/_emulator/counters",
                              verify=self.info["ca_path"], timeout=60).json()
        http = int(answer["by_kind"].get("graph", 0))
        inner = sum(int(n) for n in answer["batch_inner_by_status"].values())
        batches = int(answer["by_kind"].get("batch", 0))
        return http + batches, http + inner

    def clear(self) -> None:
        requests.post(self.info["base_url"] + "/_emulator/clear", json={},
                      verify=self.info["ca_path"], timeout=60).raise_for_status()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def timed(emu: EmulatorProcess, read: Any
          ) -> tuple[list[tuple[Any, ...]], tuple[int, int], float]:
    emu.clear()
    started = time.perf_counter()
    rows = read()
    seconds = time.perf_counter() - started
    return sorted(rows, key=repr), emu.served(), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    emu = EmulatorProcess(args.users, args.messages)
    try:
        options = emu.options()
        sql = (f"SELECT {', '.join(COLUMNS)} FROM Messages "
               "WHERE UserId IN (SELECT Id FROM Users WHERE Mail IS NOT NULL)")

        def driver_read() -> list[tuple[Any, ...]]:
            with o365sql.connect(**options) as connection:
                return [tuple(r) for r in connection.execute(sql).fetchall()]

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        started = time.perf_counter()
        from pyspark.sql import SparkSession

        from o365sql.spark import DataSource

        spark = (SparkSession.builder.master(args.master)
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.session.timeZone", "UTC").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        spark.dataSource.register(DataSource)
        spark.range(1).collect()
        startup = time.perf_counter() - started

        def spark_read(**extra: str) -> Any:
            def read() -> list[tuple[Any, ...]]:
                df = (spark.read.format("o365sql").options(**options)
                      .option("table", "Messages").options(**extra).load().select(*COLUMNS))
                return [tuple(r) for r in df.collect()]
            return read

        spark_read(mailboxes=emu.info["users"][0])()  # warm the Python workers once
        runs = [("driver, one process", timed(emu, driver_read)),
                ("spark " + args.master, timed(emu, spark_read())),
                ("spark, sizeMailboxes=false", timed(emu, spark_read(sizeMailboxes="false")))]
        base_rows, base_requests, base_seconds = runs[0][1]
        print(f"{args.users + 1} mailboxes x {args.messages} messages; Spark start-up "
              f"{startup:.1f} s (once per session)\n")
        print(f"{'read':30} {'rows':>6} {'HTTP':>5} {'Graph':>6} {'seconds':>8} "
              f"{'Graph ratio':>11} {'time ratio':>10}")
        for name, (rows, (http, graph), seconds) in runs:
            assert sorted((r[0], r[1]) for r in rows) == sorted((r[0], r[1]) for r in base_rows), \
                f"{name}: not the driver's rows"
            print(f"{name:30} {len(rows):6} {http:5} {graph:6} {seconds:8.2f} "
                  f"{graph / base_requests[1]:11.2f} {seconds / base_seconds:10.2f}")
        spark.stop()
    finally:
        emu.close()


if __name__ == "__main__":
    main()
