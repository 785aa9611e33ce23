"""A Graph rejection of a generated query (InternalError) advises ``Pushdown=false`` only when
that really avoids it. User tables (the ``Location`` property) that promise Graph a capability it
lacks make Graph (the emulator) refuse; the advice is then checked by running the statement with
``Pushdown=false``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import o365sql
from o365sql.emulator import Emulator

# /me/messages as a user table: Subject claims endswith, which Outlook refuses
# (ErrorInvalidUrlQueryFilter, graph-semantics §2.4); Flag selects a property Graph lacks.
_TABLE = '''
name = "MailNotes"
entity = "microsoft.graph.message"
kind = "table"
description = "messages, as a user table promising too much"
key = "Id"
max_page_size = 1000
default_page_size = 10
supports_top = true

[[endpoints]]
template = "/me/messages"
requires = []

[[columns]]
name = "Id"
sql_type = "VARCHAR"
edm_type = "Edm.String"
path = ["id"]
select = "id"
key = true

[[columns]]
name = "Subject"
sql_type = "VARCHAR"
edm_type = "Edm.String"
path = ["subject"]
select = "subject"
filter_ops = ["endswith", "eq"]
filter_exact = false
'''
_BAD_COLUMN = '''
[[columns]]
name = "Flag"
sql_type = "VARCHAR"
edm_type = "Edm.String"
path = ["noSuchProperty"]
select = "noSuchProperty"
'''


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=3, users=1, messages_per_user=12, events_per_user=1) as emu:
        yield emu


@pytest.fixture(scope="module")
def schema_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    good = tmp_path_factory.mktemp("good")
    (good / "mailnotes.toml").write_text(_TABLE)
    bad = tmp_path_factory.mktemp("bad")
    (bad / "mailnotes.toml").write_text(_TABLE + _BAD_COLUMN)
    return {"good": str(good), "bad": str(bad)}


def _connect(emu: Emulator, location: str, **props: Any) -> Any:
    return o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                           AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                           OAuthAccessToken=emu.mint_token(user=emu.users[0],
                                                           scopes=["Mail.Read"]),
                           Location=location, **props)


def _rows(emu: Emulator, location: str, sql: str, **props: Any) -> list[tuple[Any, ...]]:
    connection = _connect(emu, location, **props)
    try:
        cur = connection.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        connection.close()


def test_refused_pushed_filter_advises_pushdown_false_which_works(
        emulator: Emulator, schema_dirs: dict[str, str]) -> None:
    subject = _rows(emulator, schema_dirs["good"], "SELECT Subject FROM MailNotes LIMIT 1")[0][0]
    sql = f"SELECT Id, Subject FROM MailNotes WHERE Subject LIKE '%{subject[-4:]}'"
    with pytest.raises(o365sql.InternalError) as info:
        _rows(emulator, schema_dirs["good"], sql)
    message = str(info.value)
    assert info.value.code == "ErrorInvalidUrlQueryFilter" and "reading MailNotes" in message
    assert "pushed down its $filter" in message and "Pushdown=false" in message
    assert "avoids the error" in message
    rows = _rows(emulator, schema_dirs["good"], sql, Pushdown=False)  # the advice holds
    assert rows and all(r[1].endswith(subject[-4:]) for r in rows)


def test_refused_select_does_not_advise_pushdown_false(
        emulator: Emulator, schema_dirs: dict[str, str]) -> None:
    sql = "SELECT Id, Flag FROM MailNotes WHERE Subject = 'x'"
    with pytest.raises(o365sql.InternalError) as info:
        _rows(emulator, schema_dirs["bad"], sql)
    message = str(info.value)
    assert "avoids" not in message and "sends the same $select" in message
    assert "'noSuchProperty'" in message
    with pytest.raises(o365sql.InternalError) as again:  # the advice holds: it fails too
        _rows(emulator, schema_dirs["bad"], sql, Pushdown=False)
    assert again.value.code == info.value.code
