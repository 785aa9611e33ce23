"""Timeout is a deadline, and the sign-in endpoint retries like Graph (issue 10, points 2, 3).

The emulator trickles answers one byte at a time (status line and headers included), answers
503/429 on ``/token``, and drops connections there; the driver, through real msal and real
HTTP, must end each call by its Timeout, retry the sign-in side with Graph's policy, and never
replay a transient failure to later connections. Elapsed times are asserted only with wide
margins (the trickle would take minutes).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hardening_support import connect

import o365sql
from o365sql.auth import apps as auth_apps
from o365sql.emulator import Emulator

_STORES = itertools.count()


@pytest.fixture(autouse=True)
def _clean(emulator: Emulator) -> Iterator[None]:
    emulator.faults.clear()
    auth_apps.clear_registry()
    yield
    emulator.faults.clear()
    auth_apps.clear_registry()


def app_only(emu: Emulator, **props: Any) -> Any:
    """An app-only connection with its own in-memory token store (so it signs in afresh)."""
    return o365sql.connect(
        AuthScheme="AzureServicePrincipal", OAuthClientId=emu.app.client_id,
        OAuthClientSecret=emu.app.client_secret, AuthorityURL=emu.base_url,
        AzureTenant=emu.tenant_id, GraphURL=emu.graph_url, SSLServerCert=emu.ca_path,
        OAuthSettingsLocation=f"memory://deadlines-{next(_STORES)}", **props)


def _count(connection: Any, user: str) -> int:
    cur = connection.cursor()
    cur.execute("SELECT COUNT(*) FROM Messages WHERE UserId = ?", [user])
    return int(cur.fetchone()[0])


def _token_calls(emu: Emulator) -> list[Any]:
    return [e for e in emu.log if e.kind == "identity" and e.path.endswith("/token")]


def test_trickled_graph_answer_ends_at_timeout(emulator: Emulator) -> None:
    connection = connect(emulator, Timeout=2)
    cur = connection.cursor()
    cur.execute("SELECT COUNT(*) FROM Users")  # warm: planning is not what is timed
    rule = emulator.faults.trickle(0.2, path="/messages")  # ~5 bytes/s: minutes per answer
    started = time.monotonic()
    with pytest.raises(o365sql.OperationalError, match="timed out after 2 s"):
        cur.execute("SELECT Subject FROM Messages")
        cur.fetchall()
    assert time.monotonic() - started < 6  # was: as long as the server kept trickling
    assert rule.fired >= 1


def test_trickled_token_answer_ends_at_timeout(emulator: Emulator) -> None:
    rule = emulator.faults.trickle(0.2, path="/token")
    started = time.monotonic()
    with pytest.raises(o365sql.OperationalError, match="timed out after 2 s"):
        _count(app_only(emulator, Timeout=2), emulator.users[0])
    assert time.monotonic() - started < 6
    assert rule.fired == 1


def test_token_503_is_retried_with_fractional_retry_after(emulator: Emulator) -> None:
    emulator.faults.status(503, retry_after=0.3, path="/token", count=2)
    assert _count(app_only(emulator), emulator.users[0]) > 0
    assert [e.status for e in _token_calls(emulator)][-3:] == [503, 503, 200]


@pytest.mark.parametrize("fault", ["429", "504", "drop"])
def test_token_failures_are_retried(emulator: Emulator, fault: str) -> None:
    if fault == "drop":
        emulator.faults.drop(path="/token", count=1)
    else:
        emulator.faults.status(int(fault), retry_after=0.1, path="/token", count=1)
    emulator.clear_log()
    assert _count(app_only(emulator), emulator.users[0]) > 0
    calls = _token_calls(emulator)
    assert len(calls) == 2 and calls[-1].status == 200, [(e.status, e.fault) for e in calls]


def test_exhausted_retries_name_the_answer_and_are_not_remembered(emulator: Emulator) -> None:
    """One outage fails the statement with its facts; the next connections, sharing msal's
    app, sign in again rather than replaying the failure (msal's 5 s throttle memory)."""
    emulator.faults.status(503, path="/token", count=4)  # backoff: 0.5 + 1 + 2 s > Timeout
    with pytest.raises(o365sql.OperationalError,
                       match=r"503, temporarily_unavailable.*attempts") as info:
        _count(app_only(emulator, Timeout=2), emulator.users[0])
    assert "Traceback" not in str(info.value)
    emulator.faults.clear()
    answers = [_count(app_only(emulator, Timeout=2), emulator.users[0]) for _ in range(5)]
    assert all(a > 0 for a in answers)
