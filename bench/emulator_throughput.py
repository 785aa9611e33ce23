"""Throughput of the emulator's HTTPS server: requests/s and rows/s for a Graph list call, and
a full paged scan of one large mailbox.

First it times the start-up of an in-process emulator with the default demo tenant. Then it
starts the emulator in its own process (``python -m o365sql.emulator``, so client and server do
not share one GIL), then runs ``GET /v1.0/me/messages?$top=100`` over keep-alive connections
from 1 and 4 client threads for a few seconds each, and prints one line per run. The mailbox
concurrency limit is switched off for the run (4 threads would sit exactly at Outlook's limit).

Then (unless ``--scan-messages 0``) it starts a second emulator whose one mailbox holds
``--scan-messages`` (default 200,000) messages and reads all of them as the driver does: one
``$top=1000`` page after another, following ``@odata.nextLink`` (``$skip``), with ``$select``
(all 200 pages) and without it (whole messages, the first 20 pages). It prints the first page's latency, the whole scan's time, rows/s and request
count, and the emulator process's resident memory (``VmRSS``/``VmHWM`` from /proc, Linux) after
start-up and after the scans.

    python bench/emulator_throughput.py [--seconds 3] [--top 100] [--in-process]
                                        [--scan-messages 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import requests


class _Pinned(requests.Session):
    def __init__(self, ca_path: str) -> None:
        super().__init__()
        self._ca = ca_path

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("verify", self._ca)  # per request: REQUESTS_CA_BUNDLE cannot override it
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, **kwargs)


def _run(info: dict[str, Any], token: str, threads: int, seconds: float, top: int) -> tuple[float, float, int]:
    url = f"{info['graph_url']}/me/messages?$top={top}&$select=subject,receivedDateTime,isRead"
    headers = {"Authorization": f"Bearer {token}"}
    counts = [0] * threads
    rows = [0] * threads
    errors = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        session = _Pinned(info["ca_path"])
        session.get(url, headers=headers)  # warm up: TLS handshake, keep-alive connection
        while time.perf_counter() < deadline:
            resp = session.get(url, headers=headers)
            if resp.status_code != 200:
                errors[i] += 1
                continue
            counts[i] += 1
            rows[i] += len(resp.json()["value"])
        session.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    return sum(counts) / elapsed, sum(rows) / elapsed, sum(errors)


def _memory(pid: int) -> str:
    """Resident and peak resident memory of a process (Linux /proc), e.g. ``312 MiB (peak 340)``."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return "n/a"
    rss = int(fields["VmRSS"].split()[0]) // 1024
    peak = int(fields["VmHWM"].split()[0]) // 1024
    return f"{rss} MiB (peak {peak} MiB)"


def _scan(info: dict[str, Any], token: str, query: str,
          max_pages: int | None = None) -> tuple[float, float, int, int]:
    """Reads the pages of ``/me/messages?<query>`` (all, or the first ``max_pages``):
    (first page s, total s, rows, requests)."""
    session = _Pinned(info["ca_path"])
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    resp = session.get(f"{info['graph_url']}/me/messages?{query}", headers=headers)
    resp.raise_for_status()
    first = time.perf_counter() - started
    body = resp.json()
    rows, requests_sent = len(body["value"]), 1
    while "@odata.nextLink" in body and (max_pages is None or requests_sent < max_pages):
        resp = session.get(body["@odata.nextLink"], headers=headers)
        resp.raise_for_status()
        body = resp.json()
        rows += len(body["value"])
        requests_sent += 1
    session.close()
    return first, time.perf_counter() - started, rows, requests_sent


def _start(args: argparse.Namespace, extra: list[str]) -> tuple[Any, Any, dict[str, Any]]:
    """(process, in-process emulator, info) of a fresh emulator."""
    if args.in_process:
        from o365sql.emulator import Emulator

        options: dict[str, Any] = {}
        if "--users" in extra:
            options = {"users": int(extra[extra.index("--users") + 1]),
                       "messages_per_user": int(extra[extra.index("--messages-per-user") + 1])}
        emu = Emulator(seed=1, port=0, **options)
        return None, emu, emu.info()
    proc = subprocess.Popen([sys.executable, "-m", "o365sql.emulator", "--port", "0", *extra],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, None, json.loads(proc.stdout.readline())


def _stop(proc: Any, emu: Any) -> None:
    if emu is not None:
        emu.stop()
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _large_scan(args: argparse.Namespace) -> None:
    count = args.scan_messages
    started = time.perf_counter()
    proc, emu, info = _start(args, ["--users", "1", "--messages-per-user", str(count)])
    pid = proc.pid if proc is not None else os.getpid()
    try:
        built = time.perf_counter() - started
        control = _Pinned(info["ca_path"])
        token = control.post(info["base_url"] + "/_emulator/token",
                             json={"user": info["users"][0]}).json()["access_token"]
        control.close()
        print(f"full scan of one mailbox of {count:,} messages, $top=1000 pages via nextLink "
              f"(started in {built:.1f} s, emulator memory {_memory(pid)})")
        # Whole messages are ~2.6 KB of JSON each (bodies included), encoded by the emulator and
        # parsed by the client: 20 pages show their rate without a minute-long run.
        for label, query, pages in (
                ("$select=subject,receivedDateTime,isRead", "$top=1000&$select=subject,receivedDateTime,isRead",
                 None),
                ("no $select (whole messages), first 20 pages", "$top=1000", 20)):
            first, total, rows, sent = _scan(info, token, query, pages)
            print(f"  {label}: first page {first * 1000:6.0f} ms, {rows:,} rows in {total:5.1f} s "
                  f"= {rows / total:8.0f} rows/s over HTTPS, {sent} requests")
        print(f"  emulator memory after the scans: {_memory(pid)}")
    finally:
        _stop(proc, emu)


def _startup(runs: int = 5) -> None:
    """Start-up time of an in-process emulator with the default demo tenant (issue: < 1 s)."""
    from o365sql.emulator import Emulator

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with Emulator():
            times.append(time.perf_counter() - started)
    times.sort()
    print(f"start-up with the default demo tenant: median {times[len(times) // 2] * 1000:.0f} ms, "
          f"worst {times[-1] * 1000:.0f} ms over {runs} starts")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--top", type=int, default=100)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    parser.add_argument("--scan-messages", type=int, default=200_000,
                        help="messages in the mailbox of the full-scan run (0: skip it)")
    args = parser.parse_args(argv)

    _startup()
    proc, emu, info = _start(args, [])
    try:
        control = _Pinned(info["ca_path"])
        base = info["base_url"]
        control.post(base + "/_emulator/config", json={"limits": {"concurrency": None}}).raise_for_status()
        token = control.post(base + "/_emulator/token", json={"user": info["users"][0]}).json()["access_token"]
        control.close()
        print(f"emulator {base} ({'in-process' if emu else 'separate process'}), "
              f"GET /v1.0/me/messages?$top={args.top}, {args.seconds:g} s per run")
        for threads in (1, 4):
            rps, rows, errors = _run(info, token, threads, args.seconds, args.top)
            print(f"  {threads} thread(s): {rps:8.1f} requests/s  {rows:10.0f} rows/s  errors={errors}")
    finally:
        _stop(proc, emu)
    if args.scan_messages > 0:
        _large_scan(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
