"""The emulator's own CPU per request, for the requests the benchmarks send (issue 12 point 7).

Not part of the test suite. Starts the emulator in its own process (``python -m
o365sql.emulator``; with ``--profile FILE`` under ``py-spy record --gil -f raw`` (its server
threads answer the requests, which cProfile would not see), written when the emulator stops) with one mailbox of ``--messages`` messages (and, for the fan-out, a second
emulator of ``--mailboxes`` mailboxes of ``--per-mailbox`` messages), sends each kind of request
below from one keep-alive client, and prints the emulator process's CPU per request
(``/proc/<pid>/stat`` user + system, read before and after each group of requests, so the
client's work is not counted) next to the wall time:

* the scan: ``$top=1000`` pages of five selected columns, following ``@odata.nextLink``, twice
  (the second time the emulator has the items' JSON text cached);
* whole messages (no ``$select``), the first ``--whole-pages`` pages;
* ``$count=true`` on the first page of that scan ordered by ``receivedDateTime desc``
  (issue 12 point 4's first request), and ``/$count`` with and without a ``$filter``, each sent
  ``--repeat`` times (the same query: what a client re-asking costs);
* the range scan of point 4: ``receivedDateTime`` ranges (``lt T0 and ge T1``) ordered
  descending, every page of each range, and the ``$skip`` probes that find the cuts;
* a filtered, ordered top 50 (``isRead eq false``);
* one message by id (the repeated parameterised statement's request), ``--repeat`` × 10 ids;
* the fan-out: ``$batch`` bodies of 20 mailboxes' top 10 (newest first).

    python bench/emulator_cpu.py [--messages 100000] [--only single,fanout]
                                 [--profile /tmp/emu.txt]
    python bench/emulator_cpu.py --report /tmp/emu.txt     # the functions that cost most
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

SELECT = "id,subject,receivedDateTime,isRead,from"


class Emulator:
    """``python -m o365sql.emulator`` in its own process, optionally under cProfile."""

    def __init__(self, users: int, messages: int, profile: str | None) -> None:
        command = [sys.executable]
        if profile:
            spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
            command = [spy, "record", "--gil", "-r", "200", "-f", "raw", "-o", profile, "--",
                       sys.executable]
        command += ["-m", "o365sql.emulator", "--users", str(users),
                    "--messages-per-user", str(messages)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        while not line.startswith("{"):  # py-spy's own lines come first
            line = self.process.stdout.readline()
        self.info: dict[str, Any] = json.loads(line)
        self.ca = self.info["ca_path"]
        self.base = self.info["graph_url"]
        control = self.info["base_url"]
        requests.post(control + "/_emulator/config", json={"limits": {"concurrency": None}},
                      verify=self.ca, timeout=60).raise_for_status()
        token = requests.post(control + "/_emulator/token", json={
            "roles": ["Mail.Read", "User.Read.All"], "client_id": self.info["client_id"]},
            verify=self.ca, timeout=60).json()["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.user = self.info["users"][0]
        self.profiled = bool(profile)
        self.pid = _children(self.process.pid)[0] if profile else self.process.pid

    def cpu(self) -> float:
        with open(f"/proc/{self.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def get(self, url: str, **kw: Any) -> requests.Response:
        if not url.startswith("https://"):
            url = self.base + url
        answer = self.session.get(url, verify=self.ca, timeout=300, **kw)
        answer.raise_for_status()
        return answer

    def close(self) -> None:
        self.session.close()
        if self.profiled:  # py-spy stops (and writes) when the emulator exits
            import signal

            for child in _children(self.process.pid):
                os.kill(child, signal.SIGTERM)
        else:
            self.process.terminate()
        self.process.wait(timeout=120)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(p) for p in handle.read().split()]


def report(path: str, top: int = 30) -> None:
    """The functions with the most samples in a py-spy raw file while serving requests (the
    server's request threads; start-up left out): own and inclusive."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    with open(path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            n = int(count)
            if "process_request_thread" not in stack:  # start-up, not serving a request
                continue
            frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
            total += n
            own[frames[-1]] = own.get(frames[-1], 0) + n
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + n
    for title, table in (("own", own), ("inclusive", inclusive)):
        print(f"\n{title} samples of {total}:")
        for frame, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"  {100 * n / total:5.1f} %  {frame}")


def timed(emu: Emulator, label: str, work: Callable[[], int], unit: str) -> None:
    """Runs ``work`` (returning how many ``unit``s it did) and prints CPU and wall per unit."""
    cpu, started = emu.cpu(), time.perf_counter()
    done = work()
    wall, used = time.perf_counter() - started, emu.cpu() - cpu
    print(f"  {label}: {done} {unit}s, emulator CPU {used * 1000 / max(done, 1):7.1f} ms per "
          f"{unit} (wall {wall * 1000 / max(done, 1):7.1f} ms)", flush=True)


def pages(emu: Emulator, url: str, limit: int | None = None) -> int:
    sent = 0
    next_url: str | None = url
    while next_url and (limit is None or sent < limit):
        body = emu.get(next_url).json()
        sent += 1
        next_url = body.get("@odata.nextLink")
    return sent


def repeat(emu: Emulator, url: str, times: int, **kw: Any) -> int:
    for _ in range(times):
        emu.get(url, **kw)
    return times


def range_scan(emu: Emulator, messages: int) -> None:
    """Issue 12 point 4's requests: a counted first page, ``$skip`` probes, four ranges."""
    me = f"/users/{emu.user}/messages"
    order = "$orderby=receivedDateTime%20desc"
    timed(emu, "first page with $count=true, ordered", lambda: repeat(
        emu, f"{me}?$select={SELECT}&{order}&$count=true&$top=1000", 5), "request")
    positions = [messages * i // 4 for i in range(1, 4)]
    cuts: list[str] = []

    def probe() -> int:
        for position in positions:
            value = emu.get(f"{me}?$select=receivedDateTime&{order}&$top=1&$skip={position}"
                            ).json()["value"][0]["receivedDateTime"]
            cuts.append(value)
        return len(positions)
    timed(emu, "$skip probes", probe, "request")
    bounds = [None, *cuts, None]

    def ranges() -> int:
        sent = 0
        for upper, lower in itertools.pairwise(bounds):
            parts = ([f"receivedDateTime lt {upper}"] if upper else []) + \
                ([f"receivedDateTime ge {lower}"] if lower else [])
            filt = " and ".join(parts)
            sent += pages(emu, f"{me}?$select={SELECT}&$filter={filt}&{order}&$top=1000")
        return sent
    timed(emu, "range scan, 4 ranges, every page", ranges, "page")


def single(args: argparse.Namespace) -> None:
    emu = Emulator(1, args.messages, args.profile)
    try:
        me = f"/users/{emu.user}/messages"
        print(f"one mailbox of {args.messages:,} messages")
        emu.get(f"{me}?$top=1")  # warm-up: TLS, imports
        timed(emu, "scan, $top=1000, five columns", lambda: pages(
            emu, f"{me}?$select={SELECT}&$top=1000"), "page")
        timed(emu, "the same scan again", lambda: pages(
            emu, f"{me}?$select={SELECT}&$top=1000"), "page")
        timed(emu, "whole messages, $top=1000", lambda: pages(
            emu, f"{me}?$top=1000", args.whole_pages), "page")
        timed(emu, "/$count", lambda: repeat(emu, f"{me}/$count", args.repeat), "request")
        timed(emu, "/$count?$filter=isRead eq false", lambda: repeat(
            emu, f"{me}/$count?$filter=isRead eq false", args.repeat), "request")
        timed(emu, "inbox /$count?$filter=isRead eq false", lambda: repeat(
            emu, f"/users/{emu.user}/mailFolders/inbox/messages/$count?$filter=isRead eq false",
            args.repeat), "request")
        timed(emu, "$count=true&$filter=isRead eq false, first page", lambda: repeat(
            emu, f"{me}?$select={SELECT}&$filter=isRead eq false&$count=true&$top=1000",
            args.repeat), "request")
        ids = [m["id"] for m in emu.get(f"{me}?$select=id&$top={args.repeat * 10}").json()["value"]]
        timed(emu, "one message by id, $select=subject,receivedDateTime", lambda: sum(
            repeat(emu, f"{me}/{i}?$select=subject,receivedDateTime", 1) for i in ids), "request")
        range_scan(emu, args.messages)
        timed(emu, "filtered, ordered top 50", lambda: repeat(
            emu, f"{me}?$select=subject,receivedDateTime&$filter=receivedDateTime ge "
            f"2000-01-01T00:00:00Z and isRead eq false&$orderby=receivedDateTime%20desc&$top=50",
            args.repeat), "request")
    finally:
        emu.close()


def fan_out(args: argparse.Namespace) -> None:
    emu = Emulator(args.mailboxes, args.per_mailbox, args.profile and args.profile + ".fanout")
    try:
        users = [u["id"] for u in emu.get("/users", params={"$select": "id", "$top": 999}
                                          ).json()["value"]]
        print(f"{len(users)} mailboxes of {args.per_mailbox:,} messages")
        query = f"$select={SELECT}&$orderby=receivedDateTime%20desc&$top=10"

        def batches() -> int:
            sent = 0
            for i in range(0, len(users), 20):
                body = {"requests": [{"id": str(n), "method": "GET",
                                      "url": f"/users/{u}/messages?{query}"}
                                     for n, u in enumerate(users[i:i + 20])]}
                emu.session.post(emu.base + "/$batch", json=body, verify=emu.ca,
                                 timeout=300).raise_for_status()
                sent += 1
            return sent
        batches()  # warm-up
        timed(emu, "$batch of 20 mailboxes' top 10", batches, "batch")
    finally:
        emu.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--whole-pages", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--mailboxes", type=int, default=201)
    parser.add_argument("--per-mailbox", type=int, default=1000)
    parser.add_argument("--profile", default=None, help="py-spy raw output of the emulators")
    parser.add_argument("--report", default=None, help="summarise a --profile file and exit")
    parser.add_argument("--only", default="", help="single,fanout")
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    load = os.getloadavg()
    print(f"# emulator CPU per request ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    only = set(filter(None, args.only.split(",")))
    if not only or "single" in only:
        single(args)
    if not only or "fanout" in only:
        fan_out(args)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
