"""A replica file answers only the sign-in that wrote it (replica/owner.py).

Rows of the signed-in user's own mailbox are kept under ``me``: another user (or another
tenant's app) reading the same file would get somebody else's mail. Over a real emulator:
user A replicates; user B on the same CacheLocation is refused with an error naming the file,
for REPLICATE, AutoCache and Offline, and never sees A's rows; A keeps working; an app-only
sign-in is another owner; a file with no owner recorded (written before owners were) is
adopted by its next reader.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from replica_support import connect, rows

import o365sql
from o365sql.emulator import Emulator
from o365sql.replica.owner import OWNER, Owner, token_owner

PROBE = "SELECT COUNT(*), MIN(Id) FROM Messages"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=11, users=3, messages_per_user=12, events_per_user=1,
                  contacts_per_user=2, groups=1) as emu:
        yield emu


@pytest.fixture
def location(tmp_path: Path) -> str:
    return str(tmp_path / "replica.db")


def test_another_user_is_refused_and_never_answered_with_the_owners_rows(
        emulator: Emulator, location: str) -> None:
    a_user, b_user = emulator.users[0], emulator.users[1]
    owner = connect(emulator, location, a_user)
    a_rows = rows(owner, PROBE)
    rows(owner, "REPLICATE Messages")
    b_live = rows(connect(emulator, location + ".other", b_user), PROBE)
    assert b_live != a_rows  # two mailboxes that tell apart
    for props in ({"AutoCache": True}, {"Offline": True}, {}):
        other = connect(emulator, location, b_user, **props)
        sql = "REPLICATE Messages" if not props else PROBE
        with pytest.raises(o365sql.OperationalError) as caught:
            other.execute(sql).fetchall()
        text = str(caught.value)
        assert location in text and "CacheLocation" in text and "its own" in text
        assert emulator.tenant_id in text
        other.close()
    # The owner's own reads still come from the file, and equal its live reads.
    cached = connect(emulator, location, a_user, Offline=True)
    assert rows(cached, PROBE) == a_rows
    owner.close()


def test_an_app_only_sign_in_is_another_owner(emulator: Emulator, location: str) -> None:
    delegated = connect(emulator, location)
    rows(delegated, "REPLICATE MailFolders")
    app = o365sql.connect(GraphURL=emulator.graph_url, AuthorityURL=emulator.authority,
                          AzureTenant=emulator.tenant_id, SSLServerCert=emulator.ca_path,
                          OAuthAccessToken=emulator.mint_token(), CacheLocation=location,
                          AuthScheme="AzureServicePrincipal", AutoCache=True)
    with pytest.raises(o365sql.OperationalError, match="the application"):
        app.execute(f"SELECT COUNT(*) FROM MailFolders WHERE UserId = '{emulator.users[0]}'")
    delegated.close()


def test_a_file_without_an_owner_is_adopted(emulator: Emulator, location: str) -> None:
    first = connect(emulator, location)
    rows(first, "REPLICATE MailFolders")
    first.close()
    with sqlite3.connect(location) as plain:
        plain.execute(f"DELETE FROM {OWNER}")
    second = connect(emulator, location, emulator.users[1])
    rows(second, "REPLICATE MailFolders")
    with sqlite3.connect(location) as plain:
        recorded = plain.execute(f"SELECT tenant, principal FROM {OWNER}").fetchall()
    claims = _claims(emulator.mint_token(user=emulator.users[1], scopes=["Mail.Read"]))
    assert recorded == [(emulator.tenant_id, "user:" + claims["oid"])]
    second.close()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def _token(claims: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"e30.{body}.sig"


@pytest.mark.parametrize(("claims", "expected"), [
    ({"tid": "t", "oid": "u", "scp": "Mail.Read", "appid": "a"}, Owner("t", "user:u")),
    ({"tid": "t", "oid": "sp", "roles": ["Mail.Read"], "appid": "a"}, Owner("t", "app:a")),
    ({"tid": "t", "oid": "sp", "idtyp": "app", "azp": "a2"}, Owner("t", "app:a2")),
    ({"oid": "u", "scp": "x"}, None),
    ({"tid": "t", "scp": "x"}, None),
    ({"tid": 5, "oid": "u", "scp": "x"}, None),
])
def test_token_owner_reads_the_claims(claims: dict[str, Any], expected: Owner | None) -> None:
    assert token_owner(_token(claims)) == expected


@pytest.mark.parametrize("token", ["opaque", "a.b", "a.!!!.c", "a." + base64.urlsafe_b64encode(
    b"[1]").decode() + ".c", ""])
def test_tokens_that_are_not_jwts_give_no_owner(token: str) -> None:
    assert token_owner(token) is None


def test_a_write_succeeds_beside_a_replica_another_sign_in_owns(
        emulator: Emulator, location: str) -> None:
    owner = connect(emulator, location)
    rows(owner, "REPLICATE Contacts")
    other = connect(emulator, location, emulator.users[1])
    cur = other.cursor()
    cur.execute("INSERT INTO Contacts (GivenName, Surname) VALUES ('Owner', 'Test')")
    assert cur.rowcount == 1
    found = rows(other, "SELECT COUNT(*) FROM Contacts WHERE Surname = 'Test'")
    assert found == [(1,)]
    owner.close()
    other.close()
