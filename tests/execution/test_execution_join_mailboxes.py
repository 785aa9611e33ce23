"""Joins to tables whose endpoint needs a parent id read each parent row's own mailbox.

``JOIN MessageAttachments a ON a.MessageId = m.Id AND a.UserId = m.UserId`` must send
``GET /users/{UserId}/messages/{MessageId}/attachments`` with each message's own mailbox, never
``/me/...`` (Graph refuses ``/me`` for app-only tokens; a delegated one would read the wrong
mailbox). The answers are checked against the same rows read one address at a time
(``WHERE UserId = :u AND MessageId = :m``), with pushdown on and off, over real HTTP to the
emulator and real msal client credentials (AuthScheme=AzureServicePrincipal).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import o365sql
from o365sql.emulator import Emulator

WINDOW = "i.StartDateTime >= '2020-01-01' AND i.EndDateTime <= '2030-01-01'"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=3, users=3, messages_per_user=20, events_per_user=8) as emulator:
        yield emulator


def _app(emu: Emulator, **props: Any) -> Any:
    return o365sql.connect(
        AuthScheme="AzureServicePrincipal", OAuthClientId=emu.app.client_id,
        OAuthClientSecret=emu.app.client_secret, AzureTenant=emu.tenant_id,
        AuthorityURL=emu.base_url, GraphURL=emu.graph_url, SSLServerCert=emu.ca_path, **props)


def _delegated(emu: Emulator, **props: Any) -> Any:
    token = emu.mint_token(user=emu.users[0], scopes=[
        "Mail.Read", "Mail.Read.Shared", "User.Read.All", "Calendars.Read", "Group.Read.All"])
    return o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                           AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                           OAuthAccessToken=token, **props)


@pytest.fixture(scope="module")
def app(emu: Emulator) -> Iterator[tuple[Any, Any]]:
    on, off = _app(emu), _app(emu, Pushdown=False)
    yield on, off
    on.close()
    off.close()


@pytest.fixture(scope="module")
def delegated(emu: Emulator) -> Iterator[tuple[Any, Any]]:
    on, off = _delegated(emu), _delegated(emu, Pushdown=False)
    yield on, off
    on.close()
    off.close()


def _rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql, params)
    return sorted((tuple(r) for r in cur.fetchall()), key=repr)


def _graph_paths(emu: Emulator) -> list[str]:
    return [e.path for e in emu.log if e.kind in ("graph", "batch")]


def _attachments_one_by_one(connection: Any, mailboxes: list[tuple[str, str]]
                            ) -> list[tuple[Any, ...]]:
    """(mailbox key, Subject, attachment Name) read with literal addresses, one message at a
    time: the answer a join must give. ``mailboxes`` is (value to address with, key to report)."""
    expected = []
    for address, key in mailboxes:
        for message_id, subject in _rows(connection, "SELECT Id, Subject FROM Messages WHERE "
                                         "UserId = :u AND HasAttachments = true", {"u": address}):
            for (name,) in _rows(connection, "SELECT Name FROM MessageAttachments WHERE "
                                 "UserId = :u AND MessageId = :m", {"u": address, "m": message_id}):
                expected.append((key, subject, name))
    return sorted(expected, key=repr)


def test_app_only_join_through_users_reads_each_mailbox(emu: Emulator,
                                                        app: tuple[Any, Any]) -> None:
    on, off = app
    users = _rows(off, "SELECT Id, UserPrincipalName FROM Users WHERE DisplayName LIKE 'A%'")
    assert len(users) >= 2
    expected = _attachments_one_by_one(off, [(uid, upn) for uid, upn in users])
    assert expected, "the seeded tenant has attachments in these mailboxes"
    sql = ("SELECT u.UserPrincipalName, m.Subject, a.Name FROM Users u "
           "JOIN Messages m ON m.UserId = u.Id "
           "JOIN MessageAttachments a ON a.MessageId = m.Id AND a.UserId = u.Id "
           "WHERE u.DisplayName LIKE 'A%' AND m.HasAttachments = true")
    emu.clear_log()
    assert _rows(on, sql) == expected
    paths = _graph_paths(emu)
    assert not any(p.startswith("/v1.0/me/") for p in paths), paths
    assert any("/attachments" in p and p.startswith("/v1.0/users/") for p in paths), paths
    assert _rows(off, sql) == expected


def test_app_only_join_on_parent_mailbox_column(emu: Emulator, app: tuple[Any, Any]) -> None:
    on, off = app
    upn = _rows(off, "SELECT u.UserPrincipalName FROM Users u JOIN Messages m ON m.UserId = u.Id "
                "WHERE m.HasAttachments = true AND u.AccountEnabled = true")[0][0]
    expected = [(subject, name) for _, subject, name in
                _attachments_one_by_one(off, [(upn, upn)])]
    sql = ("SELECT m.Subject, a.Name FROM Messages m JOIN MessageAttachments a "
           "ON a.MessageId = m.Id AND a.UserId = m.UserId WHERE m.UserId = :u")
    emu.clear_log()
    assert _rows(on, sql, {"u": upn}) == sorted(expected, key=repr) != []
    assert not any(p.startswith("/v1.0/me/") for p in _graph_paths(emu))
    assert _rows(off, sql, {"u": upn}) == sorted(expected, key=repr)


def test_app_only_refuses_a_child_without_mailbox_before_any_request(
        emu: Emulator, app: tuple[Any, Any]) -> None:
    on, _ = app
    cur = on.cursor()
    cur.execute("SELECT COUNT(*) FROM Users")  # sign in first: only the refusal is measured
    emu.clear_log()
    for sql in (("SELECT m.Subject, a.Name FROM Messages m JOIN MessageAttachments a "
                 "ON a.MessageId = m.Id WHERE m.UserId = 'AlexW@contoso.onmicrosoft.com'"),
                "SELECT Subject FROM Messages"):
        with pytest.raises(o365sql.ProgrammingError) as info:
            cur.execute(sql)
        assert "app-only" in str(info.value) and "UserId" in str(info.value)
    assert _graph_paths(emu) == []


def test_delegated_join_reads_the_shared_mailbox_not_me(emu: Emulator,
                                                        delegated: tuple[Any, Any]) -> None:
    """A delegated token reading a shared mailbox through a join: each attachment comes from
    the message's own mailbox (the emulator reuses item ids across mailboxes, so reading
    ``/me/messages/{id}/attachments`` would silently answer with another message's)."""
    on, off = delegated
    support = "support@contoso.onmicrosoft.com"
    (support_id,) = _rows(off, "SELECT Id FROM Users WHERE UserPrincipalName = :u",
                          {"u": support})[0]
    expected = _attachments_one_by_one(off, [(support_id, support)])
    assert expected
    # (Addressed by a value, not through Users: with pushdown off the Users scan would read
    # every user, and this token may open no mailbox but its own and the shared one.)
    sql = ("SELECT m.UserId, m.Subject, a.Name FROM Messages m "
           "JOIN MessageAttachments a ON a.MessageId = m.Id AND a.UserId = m.UserId "
           "WHERE m.UserId = :u AND m.HasAttachments = true")
    emu.clear_log()
    assert _rows(on, sql, {"u": support_id}) == [(support_id, s, n) for _, s, n in expected]
    assert not any(p.startswith("/v1.0/me/") for p in _graph_paths(emu))
    assert _rows(off, sql, {"u": support_id}) == [(support_id, s, n) for _, s, n in expected]


def test_delegated_parent_from_me_keeps_me(emu: Emulator, delegated: tuple[Any, Any]) -> None:
    """Parents read from /me carry UserId 'me': their children are read from /me too."""
    on, off = delegated
    expected = [(s, n) for _, s, n in _attachments_one_by_one(off, [("me", "me")])]
    sql = ("SELECT m.Subject, a.Name FROM Messages m JOIN MessageAttachments a "
           "ON a.MessageId = m.Id WHERE a.UserId = m.UserId AND m.HasAttachments = true")
    emu.clear_log()
    assert _rows(on, sql) == sorted(expected, key=repr) != []
    assert any(p.startswith("/v1.0/me/messages/") and p.endswith("/attachments")
               for p in _graph_paths(emu))
    assert _rows(off, sql) == sorted(expected, key=repr)


def test_app_only_event_attachments_and_instances(emu: Emulator, app: tuple[Any, Any]) -> None:
    on, off = app
    upn = emu.users[2]
    expected_attachments = []
    for event_id, subject in _rows(off, "SELECT Id, Subject FROM Events WHERE UserId = :u AND "
                                   "HasAttachments = true", {"u": upn}):
        expected_attachments += [(subject, name) for (name,) in _rows(
            off, "SELECT Name FROM EventAttachments WHERE UserId = :u AND EventId = :e",
            {"u": upn, "e": event_id})]
    expected_instances = []
    for event_id, subject in _rows(off, "SELECT Id, Subject FROM Events WHERE UserId = :u AND "
                                   "Type = 'seriesMaster'", {"u": upn}):
        expected_instances += [(subject, iid) for (iid,) in _rows(
            off, "SELECT Id FROM EventInstances i WHERE UserId = :u AND EventId = :e AND "
            + WINDOW, {"u": upn, "e": event_id})]
    assert expected_attachments and expected_instances
    attachments = ("SELECT e.Subject, a.Name FROM Events e JOIN EventAttachments a "
                   "ON a.EventId = e.Id AND a.UserId = e.UserId WHERE e.UserId = :u")
    instances = ("SELECT e.Subject, i.Id FROM Events e JOIN EventInstances i "
                 "ON i.EventId = e.Id AND i.UserId = e.UserId WHERE e.UserId = :u AND "
                 "e.Type = 'seriesMaster' AND " + WINDOW)
    for connection in (on, off):
        emu.clear_log()
        assert _rows(connection, attachments, {"u": upn}) == sorted(expected_attachments,
                                                                    key=repr)
        assert _rows(connection, instances, {"u": upn}) == sorted(expected_instances, key=repr)
        assert not any(p.startswith("/v1.0/me/") for p in _graph_paths(emu))


def test_app_only_group_members_join(app: tuple[Any, Any]) -> None:
    """GroupMembers needs only its group: a join addresses it on app-only connections."""
    on, off = app
    expected = []
    for group_id, name in _rows(off, "SELECT Id, DisplayName FROM Groups"):
        expected += [(name, member) for (member,) in _rows(
            off, "SELECT Id FROM GroupMembers WHERE GroupId = :g", {"g": group_id})]
    assert expected
    sql = "SELECT g.DisplayName, gm.Id FROM Groups g JOIN GroupMembers gm ON gm.GroupId = g.Id"
    assert _rows(on, sql) == sorted(expected, key=repr) == _rows(off, sql)


def test_tables_bound_to_each_other_do_not_wait_on_each_other(
        emu: Emulator, delegated: tuple[Any, Any]) -> None:
    """``m1.UserId = m2.UserId``: one reads first, the other fans out over its mailboxes
    (here /me, whose rows carry 'me'), instead of a "cycle" error."""
    on, off = delegated
    (count,) = _rows(off, "SELECT COUNT(*) FROM Messages")[0]
    sql = ("SELECT COUNT(*) FROM Messages m1 JOIN Messages m2 "
           "ON m1.UserId = m2.UserId AND m1.Id = m2.Id")
    emu.clear_log()
    assert _rows(on, sql) == [(count,)] == _rows(off, sql)
    assert all(p.startswith("/v1.0/me/") for p in _graph_paths(emu))
