"""Well-known folder names compared with ``MailFolders.Id`` mean that folder, as they do for
``ParentFolderId`` (``planning/folders.py``): ``WHERE Id = 'Inbox'`` finds the Inbox row, with
pushdown on and off, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from execution_support import connect

from o365sql.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=7, users=2, messages_per_user=15, events_per_user=1) as emu:
        yield emu


def _connect(emu: Emulator, *, app: bool = False, **props: Any) -> Any:
    token = emu.mint_token() if app else emu.mint_token(user=emu.users[0], scopes=["Mail.Read"])
    return connect(emu, token, **props)


@pytest.fixture(scope="module")
def both(emulator: Emulator) -> Iterator[tuple[Any, Any]]:
    on, off = _connect(emulator), _connect(emulator, Pushdown=False)
    yield on, off
    on.close()
    off.close()


def _rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql, params)
    return sorted(tuple(r) for r in cur.fetchall())


def _folder(connection: Any, display_name: str) -> tuple[Any, ...]:
    rows = _rows(connection, "SELECT Id, DisplayName FROM MailFolders WHERE DisplayName = ?",
                 [display_name])
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("pushdown", [True, False])
def test_id_equals_a_well_known_name(both: tuple[Any, Any], pushdown: bool) -> None:
    connection = both[0] if pushdown else both[1]
    inbox, sent = _folder(connection, "Inbox"), _folder(connection, "Sent Items")
    everything = _rows(connection, "SELECT Id, DisplayName FROM MailFolders")
    assert _rows(connection, "SELECT Id, DisplayName FROM MailFolders WHERE Id = 'Inbox'") == [
        inbox]
    assert _rows(connection, "SELECT Id, DisplayName FROM MailFolders WHERE Id = ?",
                 ["INBOX"]) == [inbox]
    assert _rows(connection, "SELECT Id, DisplayName FROM MailFolders "
                             "WHERE Id IN ('inbox', 'SentItems', 'nosuchname')") == sorted(
        [inbox, sent])
    assert _rows(connection, "SELECT Id, DisplayName FROM MailFolders WHERE Id <> 'Inbox'") == [
        r for r in everything if r != inbox]
    assert _rows(connection, "SELECT Id, DisplayName FROM MailFolders "
                             "WHERE Id NOT IN ('inbox', 'sentitems')") == [
        r for r in everything if r not in (inbox, sent)]
    assert _rows(connection, "SELECT Id, DisplayName FROM MailFolders "
                             "WHERE Id = 'Inbox' OR DisplayName = 'Sent Items'") == sorted(
        [inbox, sent])
    # A name that is no well-known folder still compares as text: no row.
    assert _rows(connection, "SELECT Id FROM MailFolders WHERE Id = 'Inbox2'") == []


@pytest.mark.parametrize("pushdown", [True, False])
def test_join_on_a_named_folder(both: tuple[Any, Any], pushdown: bool) -> None:
    connection = both[0] if pushdown else both[1]
    inbox = _folder(connection, "Inbox")
    expected = _rows(connection, "SELECT Id FROM Messages WHERE ParentFolderId = ?", [inbox[0]])
    assert expected
    joined = _rows(connection, "SELECT m.Id FROM Messages m JOIN MailFolders f "
                               "ON m.ParentFolderId = f.Id WHERE f.Id = 'inbox'")
    assert joined == expected


def test_other_mailboxes_resolve_their_own_inbox(emulator: Emulator) -> None:
    for pushdown in (True, False):
        app = _connect(emulator, app=True, Pushdown=pushdown)
        try:
            rows = _rows(app, "SELECT UserId, Id, DisplayName FROM MailFolders "
                              "WHERE UserId IN (?, ?) AND Id = 'Inbox'", emulator.users[:2])
            assert [(r[0], r[2]) for r in rows] == sorted(
                (u, "Inbox") for u in emulator.users[:2])
            assert rows[0][1] != rows[1][1]  # each mailbox's own folder id
        finally:
            app.close()
