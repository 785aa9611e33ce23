"""How bulk writes are shaped into ``$batch`` bodies, against the emulator's request log:
independent writes of mailboxes with at most 4 of them go in unordered bodies (no
``dependsOn``, at most 4 items of a mailbox), a mailbox with more gets ``dependsOn`` chains
running side by side, and writes that touch the same item keep one chain in their order
(graph-semantics §6, §8.1)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from writes_support import rows

from o365sql.emulator import Emulator
from o365sql.graph.request import GraphRequest
from o365sql.graph.writes import send_writes

TENANT = {"seed": 13, "users": 8, "messages_per_user": 4, "events_per_user": 1}


def posts(emulator: Emulator) -> list[Any]:
    return [e for e in emulator.log if e.method == "POST" and e.path.endswith("/$batch")]


def test_writes_over_many_mailboxes_go_in_unordered_bodies(app: Any, emulator: Emulator) -> None:
    users = emulator.users[:6]
    surname = f"fan-{uuid.uuid4().hex[:8]}"
    params = [[f"n{n}", surname, user] for user in users for n in range(3)]  # 18 writes
    emulator.faults.latency(0.02, path="/contacts")  # each write keeps its slot 20 ms
    try:
        emulator.clear_log()
        cur = app.cursor()
        cur.executemany("INSERT INTO Contacts (GivenName, Surname, UserId) VALUES (?, ?, ?)",
                        params)
    finally:
        emulator.faults.clear()
    assert cur.rowcount == 18
    bodies = posts(emulator)
    assert [len(e.inner) for e in bodies] == [18]  # one POST, every write in it
    raw = emulator.log[-1]
    assert raw.status == 200 and all(i["status"] == 201 for i in bodies[0].inner)
    per_mailbox = Counter(i["url"].split("/")[2].lower() for i in bodies[0].inner)
    assert sorted(per_mailbox.values()) == [3] * 6
    peaks = emulator.counters["mailbox_concurrency"]
    # Unordered: Graph ran several at once (a chain would have run one at a time).
    assert peaks["refused"] == 0 and 1 < peaks["all_mailboxes"] <= 4
    for user in users:
        got = rows(app, "SELECT GivenName FROM Contacts WHERE UserId = ? AND Surname = ?",
                   [user, surname])
        assert sorted(got) == [("n0",), ("n1",), ("n2",)]
    emulator.clear_log()
    for user in users:  # one DELETE statement per mailbox: 3 deletes each, one body each
        cur.execute("DELETE FROM Contacts WHERE UserId = ? AND Surname = ?", [user, surname])
        assert cur.rowcount == 3
    assert all(len(e.inner) == 3 for e in posts(emulator))


def test_many_writes_of_one_mailbox_run_as_chains_side_by_side(app: Any,
                                                                emulator: Emulator) -> None:
    user = emulator.users[6]
    surname = f"fan-{uuid.uuid4().hex[:8]}"
    emulator.faults.latency(0.02, path="/contacts")  # each write keeps its slot 20 ms
    try:
        emulator.clear_log()
        app.graph.stats.reset()
        cur = app.cursor()
        cur.executemany("INSERT INTO Contacts (GivenName, Surname, UserId) VALUES (?, ?, ?)",
                        [[f"n{n}", surname, user] for n in range(45)])
        in_flight = app.graph.stats.max_in_flight
    finally:
        emulator.faults.clear()
    assert cur.rowcount == 45
    bodies = posts(emulator)
    assert sorted(len(e.inner) for e in bodies) == [5, 20, 20]
    assert in_flight == 3  # the three chains at once: one request of the mailbox each
    peaks = emulator.counters["mailbox_concurrency"]
    assert peaks["refused"] == 0 and 1 < peaks["peak"] <= 3
    got = rows(app, "SELECT COUNT(*) FROM Contacts WHERE UserId = ? AND Surname = ?",
               [user, surname])
    assert got == [(45,)]
    cur.execute("DELETE FROM Contacts WHERE UserId = ? AND Surname = ?", [user, surname])
    assert cur.rowcount == 45


def test_writes_to_the_same_item_keep_their_order_in_one_chain(app: Any,
                                                               emulator: Emulator) -> None:
    user = emulator.users[7]
    surname = f"fan-{uuid.uuid4().hex[:8]}"
    cur = app.cursor()
    cur.execute("INSERT INTO Contacts (GivenName, Surname, UserId) VALUES ('a', ?, ?) "
                "RETURNING Id", [surname, user])
    (contact,), = cur.fetchall()
    path = f"/users/{user}/contacts/{contact}"
    writes = [GraphRequest("PATCH", path, body={"jobTitle": f"t{n}"}) for n in range(6)]
    emulator.faults.latency(0.02, path="/contacts")  # each write keeps its slot 20 ms
    try:
        emulator.clear_log()
        outcomes = send_writes(app.graph, writes)
    finally:
        emulator.faults.clear()
    assert all(o.ok for o in outcomes)
    peaks = emulator.counters["mailbox_concurrency"]
    assert peaks["peak"] == peaks["all_mailboxes"] == 1  # one chain: one at a time
    (body,) = posts(emulator)
    assert len(body.inner) == 6
    assert rows(app, "SELECT JobTitle FROM Contacts WHERE UserId = ? AND Id = ?",
                [user, contact]) == [("t5",)]  # the last one sent wins: they ran in order
    cur.execute("DELETE FROM Contacts WHERE UserId = ? AND Id = ?", [user, contact])
