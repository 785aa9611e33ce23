"""The client's own CPU per repeated execute, the network taken out (issue 12 point 3).

A repeated parameterised lookup (``SELECT Subject, ReceivedDateTime FROM Messages WHERE Id = ?``,
a new id each time) costs the client CPU in four places: o365sql (plan cache, request building,
the Graph client, SQLite, row conversion), requests' per-call work, urllib3/TLS/sockets, and
JSON. Against a live server the last two and the machine's load blur the first two. Here the
emulator (its own process) answers each lookup once, for real; the answers are then replayed from
memory by an ``HTTPAdapter`` mounted on both sessions, so what is timed is everything the client
does except the socket: o365sql's execute + fetchall, next to the floor (a bare
``Session.get`` + ``.json()`` loop, the ``floor`` of ``compare.py``) over the same answers, in
the same run. Printed: CPU microseconds per execute (median of 5 loops) and their ratio.

    python bench/client_overhead.py [--repeat 2000]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_path

SQL = "SELECT Subject, ReceivedDateTime FROM Messages WHERE Id = ?"


class Replay(HTTPAdapter):
    """Answers each GET with the body the emulator gave for its path (recorded first)."""

    def __init__(self, answers: dict[str, tuple[bytes, dict[str, str]]]) -> None:
        super().__init__()
        self.answers = answers

    def send(self, request: Any, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        body, headers = self.answers[request.path_url.split("?")[0]]
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=200,
                                   preload_content=False)
        return self.build_response(request, raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    emu = read_path.Emulator(200, 1)
    try:
        connection = emu.connect()
        cur = connection.cursor()
        cur.execute("SELECT Id FROM Messages LIMIT 200")
        ids = [row[0] for row in cur.fetchall()]
        base = emu.info["graph_url"]
        floor_session = requests.Session()
        floor_session.headers["Authorization"] = f"Bearer {emu.token}"
        answers: dict[str, tuple[bytes, dict[str, str]]] = {}
        for message_id in ids:  # one real answer per id (o365sql asks for these columns)
            url = f"{base}/me/messages/{requests.utils.quote(message_id, safe='')}"
            answer = floor_session.get(url, params={"$select": "subject,receivedDateTime,id"},
                                       verify=emu.ca, timeout=60)
            answer.raise_for_status()
            path = requests.PreparedRequest()
            path.prepare_url(url, None)
            answers[path.path_url] = (answer.content, {
                "Content-Type": answer.headers["Content-Type"],
                "Content-Length": str(len(answer.content))})
        replay = Replay(answers)
        connection.graph.session.mount("https://", replay)
        floor_session.mount("https://", replay)
        order = [ids[i % len(ids)] for i in range(args.repeat)]

        def ours() -> None:
            for message_id in order:
                cur.execute(SQL, (message_id,))
                assert len(cur.fetchall()) == 1

        def floor() -> None:
            for message_id in order:
                floor_session.get(f"{base}/me/messages/{requests.utils.quote(message_id, safe='')}",
                                  params={"$select": "subject,receivedDateTime"},
                                  verify=emu.ca, timeout=60).json()

        ours()
        floor()
        spent: dict[str, list[float]] = {"o365sql": [], "floor": []}
        for _ in range(5):
            for name, loop in (("o365sql", ours), ("floor", floor)):
                started = time.process_time()
                loop()
                spent[name].append((time.process_time() - started) / args.repeat * 1e6)
        load = os.getloadavg()
        ours_us = statistics.median(spent["o365sql"])
        floor_us = statistics.median(spent["floor"])
        print(f"client CPU per execute, network replayed from memory ({args.repeat} lookups, "
              f"median of 5 loops, load {load[0]:.1f}): o365sql {ours_us:.0f} µs, floor "
              f"(Session.get + json) {floor_us:.0f} µs, o365sql × floor {ours_us / floor_us:.2f}")
        connection.close()
    finally:
        emu.close()


if __name__ == "__main__":
    main()
