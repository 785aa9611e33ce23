"""Streaming keeps client memory flat: the peak while reading every message of a mailbox with
``fetchmany(500)`` does not grow with the mailbox (10,000 vs 40,000 messages; both are read as
parallel ranges, ``execution/parallel_scan.py``, whose workers hold a few pages each).

The emulator runs in its own process (``python -m o365sql.emulator``), so ``tracemalloc`` sees
only the client: driver, Graph client, conversion and SQLite glue. A control measurement with
``fetchall()`` shows the probe can tell (holding 20,000 rows does grow the peak).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import o365sql

SQL = ("SELECT Id, Subject, ReceivedDateTime, IsRead, From_EmailAddress_Address FROM Messages "
       "WHERE Subject LIKE '%e%'")


class EmulatorProcess:
    """``python -m o365sql.emulator`` with one mailbox of ``messages`` messages."""

    def __init__(self, messages: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "o365sql.emulator", "--users", "1",
             "--messages-per-user", str(messages)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the emulator did not start: " + (self.process.stderr.read()
                                                                 if self.process.stderr else ""))
        self.info: dict[str, Any] = json.loads(line)

    def token(self) -> str:
        answer = requests.post(self.info["base_url"] + "/_emulator/token",
                               json={"user": self.info["users"][0], "scopes": ["Mail.Read"]},
                               verify=self.info["ca_path"], timeout=30)
        answer.raise_for_status()
        body = answer.json()
        return str(body.get("access_token") or body.get("token"))

    def slow_messages(self, delay: float) -> None:
        """Every message request answered after ``delay`` seconds (the emulator's latency
        fault): Graph slower than the caller reads, so both mailboxes are read as ranges."""
        answer = requests.post(self.info["base_url"] + "/_emulator/faults",
                               json={"kind": "latency", "delay": delay, "path": "/messages"},
                               verify=self.info["ca_path"], timeout=30)
        answer.raise_for_status()

    def connect(self) -> Any:
        return o365sql.connect(GraphURL=self.info["graph_url"], AuthorityURL=self.info["base_url"],
                               AzureTenant=self.info["tenant_id"],
                               SSLServerCert=self.info["ca_path"], OAuthAccessToken=self.token())

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def mailboxes() -> Iterator[dict[int, EmulatorProcess]]:
    started: dict[int, EmulatorProcess] = {}
    try:
        for size in (10_000, 40_000):
            started[size] = EmulatorProcess(size)
            # 0.1 s a request against a few tens of milliseconds to read a page under
            # tracemalloc: the rest of each scan splits (parallel_scan.SPLIT_WAIT_RATIO).
            started[size].slow_messages(0.1)
        yield started
    finally:
        for emulator in started.values():
            emulator.close()


def _peak(emulator: EmulatorProcess, *, fetchall: bool = False) -> tuple[int, int]:
    """(rows read, peak traced bytes) for one scan of the mailbox."""
    connection = emulator.connect()
    try:
        cur = connection.cursor()
        cur.execute("SELECT Subject FROM Messages LIMIT 1")  # warm-up: sign-in, caches, pools
        cur.fetchall()
        tracemalloc.start()
        try:
            cur.execute(SQL)
            count = 0
            if fetchall:
                rows = cur.fetchall()
                count = len(rows)
            else:
                while batch := cur.fetchmany(500):
                    count += len(batch)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return count, peak
    finally:
        connection.close()


def test_streaming_memory_is_flat(mailboxes: dict[int, EmulatorProcess]) -> None:
    small_rows, small_peak = _peak(mailboxes[10_000])
    large_rows, large_peak = _peak(mailboxes[40_000])
    assert small_rows > 1_000 and large_rows > 3 * small_rows
    # Four times the rows; the peak may differ only by noise: it is the pages in flight (each
    # range worker holds a few pages of ~1000 entities, ~1 MB each, depending on timing), while
    # rows kept would add ~7 MB between these sizes (the control below measures ~10 MB).
    assert large_peak - small_peak < 3_000_000, (small_peak, large_peak)
    # Control: holding every row does grow with the row count, so the probe can tell.
    held_rows, held_peak = _peak(mailboxes[40_000], fetchall=True)
    assert held_rows == large_rows
    assert held_peak - large_peak > 6_000_000, (large_peak, held_peak)
