"""Throughput of the emulator's HTTPS server: requests/s and rows/s for a Graph list call.

Starts the emulator in its own process (``python -m o365sql.emulator``, so client and server do
not share one GIL), then runs ``GET /v1.0/me/messages?$top=100`` over keep-alive connections
from 1 and 4 client threads for a few seconds each, and prints one line per run. The mailbox
concurrency limit is switched off for the run (4 threads would sit exactly at Outlook's limit).

    python bench/emulator_throughput.py [--seconds 3] [--top 100] [--in-process]
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--top", type=int, default=100)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    args = parser.parse_args(argv)

    proc = None
    emu = None
    if args.in_process:
        from o365sql.emulator import Emulator

        emu = Emulator(seed=1, port=0)
        info = emu.info()
    else:
        proc = subprocess.Popen([sys.executable, "-m", "o365sql.emulator", "--port", "0"],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
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
        if emu is not None:
            emu.stop()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
