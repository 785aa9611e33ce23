"""The replica is safe (issue 13 point 6): a process killed in the middle of a refresh leaves
the last consistent state (rows and the delta links that match them), and two processes
refreshing at once do not corrupt it. Real processes (``python -c``), killed with SIGKILL
while the emulator holds their delta requests (a ``hold`` fault: deterministic, no sleeps)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from replica_support import SCOPES, Writer, connect, rows, same_rows

from o365sql.emulator import Emulator

SCRIPT = ("import json, os, o365sql\n"
          "c = o365sql.connect(**json.loads(os.environ['REPLICA_PROPS']))\n"
          "print(json.dumps(c.cursor().execute('REPLICATE Messages').fetchall()))\n")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=4, users=2, messages_per_user=60, events_per_user=1, contacts_per_user=1,
                  groups=1) as emu:
        yield emu


def _spawn(emulator: Emulator, location: str) -> subprocess.Popen[str]:
    props = {"GraphURL": emulator.graph_url, "AuthorityURL": emulator.authority,
             "AzureTenant": emulator.tenant_id, "SSLServerCert": emulator.ca_path,
             "OAuthAccessToken": emulator.mint_token(user=emulator.users[0], scopes=SCOPES),
             "CacheLocation": location}
    return subprocess.Popen([sys.executable, "-c", SCRIPT], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env={**os.environ, "REPLICA_PROPS": json.dumps(props)})


def _wait_held(rule: Any, at_least: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while rule.held < at_least:
        assert time.monotonic() < deadline, "the refresh never reached Graph's delta"
        time.sleep(0.02)


def _snapshot(location: str) -> tuple[list[Any], list[Any]]:
    with sqlite3.connect(location) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        data = sorted(db.execute('SELECT * FROM "Messages"').fetchall(), key=repr)
        links = sorted(db.execute("SELECT tbl, mailbox, scope, link FROM _o365sql_scopes").fetchall())
    return data, links


def _send(emulator: Emulator, count: int) -> None:
    writer = Writer(emulator, emulator.users[1])
    for i in range(count):
        writer.call("POST", "/me/sendMail", {"message": {
            "subject": f"safety {i}", "toRecipients": [{"emailAddress": {"address": emulator.users[0]}}]}})
    writer.close()


def test_killed_mid_refresh_leaves_the_last_consistent_state(emulator: Emulator, tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    rows(live, "REPLICATE Messages")
    before = _snapshot(location)
    folders = len(rows(live, "SELECT Id FROM MailFolders")) + 2
    _send(emulator, 3)  # into the Inbox, whose round the emulator will hold
    me = Writer(emulator, emulator.users[0])
    for i in range(3):  # into Drafts and Sent Items, whose rounds go through
        me.call("POST", "/me/messages", {"subject": f"draft {i}"})
    me.call("POST", "/me/sendMail", {"message": {
        "subject": "sent", "toRecipients": [{"emailAddress": {"address": emulator.users[1]}}]}})
    inbox = me.call("GET", "/me/mailFolders/inbox?$select=id")["id"]
    me.close()
    hold = emulator.faults.hold(path=f"/mailFolders/{inbox.rstrip('=')}")
    emulator.clear_log()
    child = _spawn(emulator, location)
    try:
        _wait_held(hold)
        # Every other folder's round is answered: their changes are written, not committed.
        deadline = time.monotonic() + 30
        while sum(1 for e in emulator.log if "/messages/delta" in e.as_dict().get("path", "")
                  and e.as_dict().get("status") == 200) < folders - 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    finally:
        emulator.faults.release()
        emulator.faults.clear()
    assert child.returncode == -signal.SIGKILL
    assert _snapshot(location) == before  # nothing of the killed refresh, links included
    # The next refresh continues from the links that match the rows and ends equal to Graph.
    outcome = rows(live, "REPLICATE Messages")[0]
    assert outcome[3] >= 7 and outcome[-1] is None
    offline = connect(emulator, location, Offline=True)
    assert same_rows(live, offline, "SELECT * FROM Messages") == outcome[2]
    live.close()
    offline.close()


def test_two_processes_refreshing_at_once_take_turns(emulator: Emulator, tmp_path: Path) -> None:
    location = str(tmp_path / "replica.db")
    live = connect(emulator, location)
    rows(live, "REPLICATE Messages")
    _send(emulator, 4)
    hold = emulator.faults.hold(path="/messages/delta")
    first = _spawn(emulator, location)
    try:
        _wait_held(hold)
        second = _spawn(emulator, location)  # waits for the first one's lock
        time.sleep(0.3)
        assert second.poll() is None and hold.held >= 1
    finally:
        emulator.faults.release()
        emulator.faults.clear()
    outputs = []
    for child in (first, second):
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outputs.append(json.loads(out)[0])
    # The first applied the new mail; the second continued from its links: nothing left.
    assert outputs[0][3] >= 4 and outputs[1][3] == 0 and outputs[1][4] == 0
    offline = connect(emulator, location, Offline=True)
    assert same_rows(live, offline, "SELECT * FROM Messages") == outputs[1][2]
    live.close()
    offline.close()
