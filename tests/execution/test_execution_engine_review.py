"""The engine review fixes against the emulator (real HTTP, msal tokens, sqlite3): every query
is run with pushdown on and off, and the answer is checked against rows read plainly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import o365sql
from o365sql.emulator import Emulator

SCOPES = ["Mail.Read", "User.Read.All", "Calendars.Read", "Contacts.Read", "Group.Read.All"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=7, users=3, messages_per_user=30, events_per_user=6) as emu:
        yield emu


def _connect(emu: Emulator, token: str, **props: Any) -> Any:
    return o365sql.connect(GraphURL=emu.graph_url, AuthorityURL=emu.authority,
                           AzureTenant=emu.tenant_id, SSLServerCert=emu.ca_path,
                           OAuthAccessToken=token, **props)


@pytest.fixture(scope="module")
def both(emulator: Emulator) -> Iterator[tuple[Any, Any]]:
    token = emulator.mint_token(user=emulator.users[0], scopes=SCOPES)
    on, off = _connect(emulator, token), _connect(emulator, token, Pushdown=False)
    yield on, off
    on.close()
    off.close()


@pytest.fixture(scope="module")
def app(emulator: Emulator) -> Iterator[tuple[Any, Any]]:
    """App-only connections (no /me): other mailboxes are read through /users/{id}."""
    token = emulator.mint_token()
    on, off = _connect(emulator, token), _connect(emulator, token, Pushdown=False)
    yield on, off
    on.close()
    off.close()


def _rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


def _both(pair: tuple[Any, Any], sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    on, off = (sorted(_rows(c, sql, params), key=repr) for c in pair)
    assert on == off, sql
    return on


def _graph_lines(emu: Emulator) -> list[str]:
    return [f"{e.method} {e.path}?{e.query}" for e in emu.log if e.kind in ("graph", "batch")]


def test_not_like_is_the_complement_of_like(both: tuple[Any, Any]) -> None:
    every = _both(both, "SELECT Id, Subject FROM Messages")
    positive = _both(both, "SELECT Id, Subject FROM Messages WHERE Subject LIKE 're:%'")
    negative = _both(both, "SELECT Id, Subject FROM Messages WHERE Subject NOT LIKE 're:%'")
    assert positive and negative
    assert sorted(positive + negative, key=repr) == every
    assert all(not s.lower().startswith("re:") for _, s in negative)


def test_empty_in_parameters_read_nothing(emulator: Emulator, both: tuple[Any, Any]) -> None:
    for sql in ("SELECT Subject FROM Messages WHERE Importance IN :l",
                "SELECT Subject FROM Messages WHERE UserId IN :l",
                "SELECT COUNT(*) FROM Messages WHERE UserId IN :l"):
        for connection in both:
            emulator.clear_log()
            rows = _rows(connection, sql, {"l": []})
            assert rows == ([(0,)] if "COUNT" in sql else []), sql
            assert _graph_lines(emulator) == [], sql
    assert len(_both(both, "SELECT Id FROM Messages WHERE Importance NOT IN :l", {"l": []})) == \
        len(_both(both, "SELECT Id FROM Messages"))


def test_well_known_folder_names_mean_their_folder_everywhere(emulator: Emulator,
                                                              both: tuple[Any, Any]) -> None:
    inbox_id = _both(both, "SELECT Id FROM MailFolders WHERE DisplayName = 'Inbox'")[0][0]
    every = _both(both, "SELECT Id, ParentFolderId FROM Messages")
    in_inbox = sorted((r for r in every if r[1] == inbox_id), key=repr)
    elsewhere = sorted((r for r in every if r[1] != inbox_id), key=repr)
    assert in_inbox and elsewhere
    cases = {
        "ParentFolderId = 'Inbox'": in_inbox,
        "ParentFolderId = 'INBOX' OR Id = ''": in_inbox,
        "ParentFolderId <> 'inbox'": elsewhere,
        "NOT ParentFolderId IN ('Inbox', 'nothing')": elsewhere,
        "ParentFolderId IN ('Inbox', 'xyz')": in_inbox,
        f"ParentFolderId IN ('inbox', '{inbox_id}')": in_inbox,
        "ParentFolderId = 'xyz'": [],
        "ParentFolderId IN ('clutter', 'Inbox') OR Subject = 'no such subject'": in_inbox,
    }
    for condition, expected in cases.items():
        sql = f"SELECT Id, ParentFolderId FROM Messages WHERE {condition}"
        assert _both(both, sql) == expected, condition
    for connection in both:  # /$count of a folder that does not exist: nothing to count
        assert _rows(connection, "SELECT COUNT(*) FROM Messages WHERE ParentFolderId = 'xyz'") \
            == [(0,)]
    # The name is looked up once per statement and mailbox.
    emulator.clear_log()
    _rows(both[0], "SELECT Id FROM Messages WHERE ParentFolderId <> 'Inbox' OR "
                   "ParentFolderId = 'inbox'")
    lookups = [line for line in _graph_lines(emulator) if "/mailFolders/inbox?" in line]
    assert len(lookups) == 1, _graph_lines(emulator)


def test_user_id_subquery_fans_out_like_the_join(emulator: Emulator,
                                                 app: tuple[Any, Any]) -> None:
    joined = _both(app, "SELECT m.Id, m.UserId FROM Users u JOIN Messages m ON m.UserId = u.Id "
                        "WHERE u.DisplayName LIKE 'A%'")
    assert joined
    subquery = _both(app, "SELECT Id, UserId FROM Messages WHERE UserId IN "
                          "(SELECT Id FROM Users WHERE DisplayName LIKE 'A%')")
    assert subquery == joined
    first = _both(app, "SELECT Id FROM Users ORDER BY DisplayName LIMIT 1")[0][0]
    scalar = _both(app, "SELECT COUNT(*) FROM Messages WHERE UserId = "
                        "(SELECT Id FROM Users ORDER BY DisplayName LIMIT 1)")
    assert scalar == _both(app, "SELECT COUNT(*) FROM Messages WHERE UserId = :u", {"u": first})
    assert scalar[0][0] > 0
    emulator.clear_log()
    assert _rows(app[0], "SELECT Id FROM Messages WHERE UserId IN "
                         "(SELECT Id FROM Users WHERE DisplayName = 'nobody')") == []
    assert not any("/messages" in line for line in _graph_lines(emulator))


def test_search_terms_on_the_directory(both: tuple[Any, Any]) -> None:
    found = _both(both, "SELECT DisplayName FROM Users WHERE SearchTerms = 'adele'")
    assert found and all("adele" in name.lower() for (name,) in found)
    with pytest.raises(o365sql.ProgrammingError, match="top-level AND"):
        _rows(both[1], "SELECT Id FROM Users WHERE SearchTerms = 'a' OR DisplayName = 'b'")
    with pytest.raises(o365sql.ProgrammingError, match="property one of"):
        _rows(both[0], "SELECT Id FROM Users WHERE SearchTerms = 'mail:x'")


def test_unicode_case_in_like_upper_lower(both: tuple[Any, Any]) -> None:
    users = _both(both, "SELECT DisplayName FROM Users")
    subjects = _both(both, "SELECT Subject FROM Messages")
    accented = next((s for (s,) in subjects if s and not s[0].isascii() and s[0].isalpha()),
                    None)
    assert accented is not None, subjects
    pattern = accented[:4].swapcase().replace("'", "''") + "%"
    matched = _both(both, f"SELECT Subject FROM Messages WHERE Subject LIKE '{pattern}'")
    assert (accented,) in matched
    named = next(n for (n,) in users if not n.isascii())
    upper = named.upper().replace("'", "''")
    assert _both(both, f"SELECT DisplayName FROM Users WHERE UPPER(DisplayName) = '{upper}'") \
        == [(named,)]
    assert _both(both, f"SELECT LOWER(DisplayName) FROM Users WHERE DisplayName = "
                       f"'{named.replace(chr(39), chr(39) * 2)}'") == [(named.lower(),)]


def test_sql_sqlite_lacks_runs_or_is_named(both: tuple[Any, Any]) -> None:
    rows = _both(both, "(SELECT Subject FROM Messages ORDER BY ReceivedDateTime, Id LIMIT 1) "
                       "UNION ALL (SELECT DisplayName FROM Users ORDER BY DisplayName LIMIT 1)")
    assert len(rows) == 2
    latest = _both(both, "SELECT Id FROM Messages WHERE ReceivedDateTime >= ALL "
                         "(SELECT ReceivedDateTime FROM Messages)")
    newest = _both(both, "SELECT Id FROM Messages WHERE ReceivedDateTime = "
                         "(SELECT MAX(ReceivedDateTime) FROM Messages)")
    assert latest == newest and latest
    with pytest.raises(o365sql.NotSupportedError, match="EXCEPT ALL"):
        _rows(both[0], "SELECT Subject FROM Messages EXCEPT ALL SELECT Subject FROM Events")


def test_invalid_datetime_literal_is_a_data_error(both: tuple[Any, Any]) -> None:
    for connection in both:
        with pytest.raises(o365sql.DataError, match="ReceivedDateTime.*'yesterday'"):
            _rows(connection, "SELECT Id FROM Messages WHERE ReceivedDateTime >= 'yesterday'")


def test_sum_of_a_boolean_is_a_number(both: tuple[Any, Any]) -> None:
    for connection in both:
        cur = connection.cursor()
        cur.execute("SELECT SUM(IsRead), MIN(IsRead), COUNT(*) FROM Messages")
        total, smallest, count = cur.fetchone()
        assert [d[1] for d in cur.description] == ["BIGINT", "BOOLEAN", "BIGINT"]
        assert type(total) is int and 0 <= total <= count and isinstance(smallest, bool)


def test_explain_max_rows_and_readable_fan_out(emulator: Emulator) -> None:
    connection = _connect(emulator, emulator.mint_token(user=emulator.users[0], scopes=SCOPES),
                          MaxRows=3)
    try:
        details = [r[2] for r in _rows(connection, "EXPLAIN SELECT m.Subject FROM Users u "
                                                   "JOIN Messages m ON m.UserId = u.Id")]
        assert any("/users/{UserId}/messages" in d for d in details), details
        assert "MaxRows caps the result at 3 rows" in details
    finally:
        connection.close()
