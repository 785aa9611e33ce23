"""The demo tenant lives in the present: its seeded data is laid out around an anchor (now by
default, pinned by ``anchor=``, ``--anchor`` or ``$O365SQL_EMULATOR_ANCHOR``), with the same
relative layout for the same seed at any anchor."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

import o365sql
from o365sql.emulator import Emulator
from o365sql.emulator.tenant.build import build_tenant
from o365sql.emulator.tenant.tenant import ANCHOR_ENV, Tenant, resolve_anchor

SUITE_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)


def _mail_offsets(tenant: Tenant) -> list[tuple[str, int, int, int]]:
    at = int(tenant.anchor.timestamp())
    return [(user["id"], rec.serial, rec.received - at, rec.sent - at)
            for user in tenant.users for rec in tenant.mailboxes[user["id"]].mail.messages.values()]


def _event_offsets(tenant: Tenant) -> list[tuple[str, int, timedelta, timedelta, str]]:
    midnight = tenant.anchor.replace(tzinfo=None, hour=0, minute=0, second=0)
    return [(user["id"], ev.serial, ev.start - midnight, ev.end - midnight, ev.tz)
            for user in tenant.users for ev in tenant.mailboxes[user["id"]].calendars.events.values()]


def test_the_suite_pins_one_anchor_for_every_emulator() -> None:
    assert os.environ[ANCHOR_ENV] == "2026-11-01T00:00:00Z"
    assert build_tenant(users=2, messages_per_user=5).anchor == SUITE_ANCHOR


def test_same_seed_same_relative_layout_at_any_anchor() -> None:
    a = build_tenant(seed=3, users=3, messages_per_user=40, anchor="2026-11-01T00:00:00Z")
    b = build_tenant(seed=3, users=3, messages_per_user=40, anchor=datetime(2031, 2, 17, 15, 42, 7, 999, UTC))
    assert b.anchor == datetime(2031, 2, 17, 15, 42, 7, tzinfo=UTC)  # whole seconds
    mail_a, mail_b = _mail_offsets(a), _mail_offsets(b)
    assert len(mail_a) >= 120 and mail_a == mail_b
    events_a, events_b = _event_offsets(a), _event_offsets(b)
    assert len(events_a) >= 60 and events_a == events_b
    # mail spreads over the 18 months up to the anchor and never after it
    offsets = [received for _, _, received, _ in mail_a]
    assert max(offsets) <= 0 and min(offsets) >= -549 * 86400
    assert max(offsets) > -7 * 86400 and min(offsets) < -365 * 86400
    # meetings lie both sides of it
    starts = [start.days for _, _, start, _, _ in events_a]
    assert min(starts) < -30 and max(starts) > 30


def test_an_explicit_anchor_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ANCHOR_ENV, "2030-01-01")
    assert resolve_anchor() == datetime(2030, 1, 1, tzinfo=UTC)
    assert resolve_anchor("2027-05-06T07:08:09+02:00") == datetime(2027, 5, 6, 5, 8, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        resolve_anchor("yesterday")


def test_without_a_pin_the_tenant_lives_in_the_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ANCHOR_ENV)
    before = datetime.now(UTC).replace(microsecond=0)
    with Emulator(users=3, messages_per_user=60) as emu:
        assert before <= emu.anchor <= datetime.now(UTC)
        token = emu.mint_token(emu.users[0], scopes=["Mail.Read", "Calendars.Read"])
        conn = o365sql.connect(graph_url=emu.graph_url, oauth_access_token=token, initiate_oauth="OFF",
                               ssl_server_cert=emu.ca_path)
        cur = conn.cursor()
        now = datetime.now(UTC)
        # "mail of the last 30 days" and "today's and next week's meetings" find data
        cur.execute("SELECT COUNT(*) FROM Messages WHERE ReceivedDateTime >= ?", (now - timedelta(days=30),))
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT COUNT(*) FROM Messages WHERE ReceivedDateTime > ?", (now + timedelta(minutes=1),))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM CalendarView WHERE StartDateTime = ? AND EndDateTime = ?",
                    (now, now + timedelta(days=14)))
        assert cur.fetchone()[0] > 0
        conn.close()


def test_the_command_line_anchors_at_now_or_at_anchor() -> None:
    env = {k: v for k, v in os.environ.items() if k != ANCHOR_ENV}
    for extra, expect in (([], None), (["--anchor", "2028-02-29T12:00:00Z"], "2028-02-29T12:00:00Z")):
        started = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "o365sql.emulator", "--users", "2",
                                 "--messages-per-user", "5", *extra],
                                stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        anchor = datetime.fromisoformat(info["anchor"])
        if expect is None:
            assert started - 1 <= anchor.timestamp() <= time.time()
        else:
            assert info["anchor"] == expect
    bad = subprocess.run([sys.executable, "-m", "o365sql.emulator", "--anchor", "soon"],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr


def test_recent_mail_is_added_after_everything_else() -> None:
    plain = build_tenant(seed=4, users=3, messages_per_user=30, anchor="2027-01-15T08:00:00Z")
    demo = build_tenant(seed=4, users=3, messages_per_user=30, anchor="2027-01-15T08:00:00Z",
                        recent_per_user=3)
    at = int(demo.anchor.timestamp())
    for user in demo.users:
        before = plain.mailboxes[user["id"]].mail.messages
        after = demo.mailboxes[user["id"]].mail
        added = [r for serial, r in after.messages.items() if serial not in before]
        assert len(added) == 3 and len(after.messages) == len(before) + 3
        assert all(r.folder == after.well_known["inbox"] and not r.flags & 1 for r in added)
        assert min(at - r.received for r in added) < 3600
        assert all(0 < at - r.received <= 3 * 86400 for r in added)
    assert _event_offsets(plain) == _event_offsets(demo)
    kept = {(user, serial) for user, serial, _, _ in _mail_offsets(plain)}
    assert [m for m in _mail_offsets(demo) if (m[0], m[1]) in kept] == _mail_offsets(plain)


def test_the_demo_tenant_has_todays_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    from o365sql.cli import main

    monkeypatch.delenv(ANCHOR_ENV)
    out, err = io.StringIO(), io.StringIO()
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    sql = ("SELECT COUNT(*) AS n FROM Messages WHERE ParentFolderId = 'Inbox' "
           "AND IsRead = false AND ReceivedDateTime >= :since")
    code = main(["--emulator", "-f", "csv", "query", sql, "-P", f"since={since}"],
                stdout=out, stderr=err, environ={})
    assert code == 0, err.getvalue()
    assert int(out.getvalue().splitlines()[1]) >= 1
