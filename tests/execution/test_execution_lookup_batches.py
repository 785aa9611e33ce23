"""Id lookups (``WHERE Id = x`` / ``Id IN (...)`` on item_lookup tables) go through
``GraphClient.fan_out(missing_ok=True)``: single-item GETs in ``$batch`` POSTs (at most 20, at
most 4 of one mailbox: Outlook's concurrency limit, graph-semantics §6, §8.1), a key Graph does
not know is no row. Checked in the emulator's request log and against ``Pushdown=false``."""

from __future__ import annotations

from typing import Any

from execution_support import rows as _rows

import o365sql
from o365sql.emulator import Emulator

TENANT = {"seed": 11, "users": 2, "messages_per_user": 40, "events_per_user": 2}


def _in_list(ids: list[str]) -> str:
    return "SELECT Id, Subject FROM Messages WHERE Id IN (" + ", ".join("?" for _ in ids) + ")"


def test_thirty_ids_of_one_mailbox_take_eight_posts_of_four(emulator: Emulator, on: Any, off: Any) -> None:
    ids = [r[0] for r in _rows(on, "SELECT Id FROM Messages ORDER BY ReceivedDateTime LIMIT 26")]
    wanted = ids + ["not-an-id", "x" * 8, ids[0][:-4] + "AAAA", "garbage"]  # 30 distinct keys
    assert len(set(wanted)) == 30
    emulator.clear_log()
    rows = _rows(on, _in_list(wanted), wanted)
    sent = [e for e in emulator.log if e.kind in ("graph", "batch")]
    assert [(e.method, e.path) for e in sent] == [("POST", "/v1.0/$batch")] * 8
    assert sorted(len(e.inner) for e in sent) == [2] + [4] * 7
    assert emulator.counters["mailbox_concurrency"]["refused"] == 0
    inner_urls = [i["url"] for e in sent for i in e.inner]
    assert all("/me/messages/" in url for url in inner_urls)
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert sorted(rows) == sorted(_rows(off, _in_list(wanted), wanted))


def test_missing_keys_in_one_batch_are_no_rows(emulator: Emulator, on: Any, off: Any) -> None:
    ids = [r[0] for r in _rows(on, "SELECT Id FROM Messages LIMIT 2")]
    wanted = [ids[0], "garbage", ids[1], "AAMk-unknown"]
    emulator.clear_log()
    rows = _rows(on, _in_list(wanted), wanted)
    sent = [e for e in emulator.log if e.kind in ("graph", "batch")]
    assert len(sent) == 1 and sent[0].kind == "batch"
    assert len(sent[0].inner) == 4 and sorted(i["status"] for i in sent[0].inner)[:2] == [200, 200]
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert sorted(rows) == sorted(_rows(off, _in_list(wanted), wanted))
    # COUNT(*) and ORDER BY take the residual path over the same lookups.
    assert _rows(on, "SELECT COUNT(*) FROM Messages WHERE Id IN (?, ?, ?)",
                 [ids[0], "garbage", ids[1]]) == [(2,)]


def test_lookups_in_two_mailboxes_batch_together(emulator: Emulator) -> None:
    app = _connect_app(emulator)
    try:
        first = _rows(app, "SELECT Id FROM Messages WHERE UserId = ? LIMIT 2", [emulator.users[0]])
        second = _rows(app, "SELECT Id FROM Messages WHERE UserId = ? LIMIT 1",
                       [emulator.users[1]])
        wanted = [first[0][0], first[1][0], second[0][0]]
        emulator.clear_log()
        rows = _rows(app, "SELECT Id, UserId FROM Messages WHERE UserId IN (?, ?) "
                          "AND Id IN (?, ?, ?)", [*emulator.users[:2], *wanted])
        sent = [e for e in emulator.log if e.kind in ("graph", "batch")]
        # 2 mailboxes x 3 ids, all sent at once: Graph runs 4 items of a body at a time
        # (graph-semantics §6), so 6 items go as two bodies in flight together, 4 + 2.
        assert sorted(len(e.inner) for e in sent) == [2, 4] and app.graph.stats.max_in_flight == 2
        assert sorted(rows) == sorted([(first[0][0], emulator.users[0]),
                                       (first[1][0], emulator.users[0]),
                                       (second[0][0], emulator.users[1])])
    finally:
        app.close()


def _connect_app(emu: Emulator) -> Any:
    return o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                           AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                           OAuthAccessToken=emu.mint_token(user=None))


def test_explain_names_lookups_by_key(emulator: Emulator, on: Any) -> None:
    message = _rows(on, "SELECT Id FROM Messages WHERE HasAttachments = true LIMIT 1")[0][0]
    cur = on.cursor()
    cur.execute("EXPLAIN SELECT Id, Name FROM MessageAttachments WHERE MessageId = ? "
                "AND Id IN ('a', 'b', 'c')", [message])
    fan_out = [r[2] for r in cur.fetchall() if r[1] == "fan-out"]
    assert fan_out == [("MessageAttachments: 3 lookups by key through $batch (20 per POST; "
                        "a key naming no item reads no row)")]
