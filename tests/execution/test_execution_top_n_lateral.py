"""Top-N per mailbox through correlation (issue 12): a ``LATERAL`` derived table or a correlated
subquery cut by ``ORDER BY ... LIMIT n`` per user sends ``$orderby`` and ``$top=n`` in each
mailbox's request (one ``$batch`` fan-out) with an application's token; SQLite, which has no
LATERAL, runs it as a join on numbered rows (``planning/lateral.py``). Rows equal the
``Pushdown=false`` answer and the answer computed here in Python from every message read whole;
forms that cannot be run exactly are refused naming LATERAL, and correlations that do not read
whole mailboxes stay unbounded."""

from __future__ import annotations

from typing import Any

import pytest
from execution_support import on_and_off, rows

import o365sql
from o365sql.emulator import Emulator

TENANT = {"seed": 31, "users": 3, "messages_per_user": 25, "events_per_user": 8}


def _rows(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    return sorted(rows(connection, sql), key=repr)


def _explain(connection: Any, sql: str) -> list[tuple[str, str]]:
    return [(kind, detail) for _, kind, detail in rows(connection, "EXPLAIN " + sql)]


def _newest(off: Any, n: int, offset: int = 0, unread: bool = False
            ) -> list[tuple[Any, ...]]:
    """(Mail, ReceivedDateTime) of each user's n newest messages after ``offset``, computed in
    Python from every message of every mailbox (read whole, with pushdown off)."""
    users = dict(rows(off, "SELECT Id, Mail FROM Users"))
    every = rows(off, "SELECT UserId, ReceivedDateTime, IsRead FROM Messages WHERE UserId IN "
                      "(SELECT Id FROM Users)")
    found: list[tuple[Any, ...]] = []
    for user, mail in users.items():
        mine = sorted((r[1] for r in every if r[0] == user and not (unread and r[2])),
                      reverse=True)
        found += [(mail, when) for when in mine[offset:offset + n]]
    return sorted(found, key=repr)


LATERALS = [
    ("SELECT u.Mail, t.ReceivedDateTime, t.Subject FROM Users u CROSS JOIN LATERAL (SELECT "
    "m.Subject, m.ReceivedDateTime FROM Messages m WHERE m.UserId = u.Id ORDER BY "
    "m.ReceivedDateTime DESC LIMIT 4) t"),
    ("SELECT u.Mail, t.ReceivedDateTime, t.Subject FROM Users u JOIN LATERAL (SELECT Subject, "
    "ReceivedDateTime FROM Messages m WHERE u.Id = m.UserId ORDER BY ReceivedDateTime DESC "
    "LIMIT 4) AS t ON true"),
    ("SELECT u.Mail, t.ReceivedDateTime, t.Subject FROM Users u, LATERAL (SELECT Subject AS "
    "Subject, ReceivedDateTime AS ReceivedDateTime FROM Messages m WHERE m.UserId = u.Id "
    "ORDER BY 2 DESC LIMIT 4) t"),
    ("SELECT u.Mail, t.ReceivedDateTime, t.Subject FROM Users u LEFT JOIN LATERAL (SELECT "
    "Subject, ReceivedDateTime FROM Messages m WHERE m.UserId = u.Id ORDER BY "
    "ReceivedDateTime DESC LIMIT 4) t ON true"),
]


@pytest.mark.parametrize("sql", LATERALS)
def test_lateral_top_n_is_one_bounded_request_per_mailbox(emulator: Emulator, app_pair: tuple[Any, Any],
                                                          sql: str) -> None:
    on, off = app_pair
    explained = _explain(on, sql)
    graph = [d for k, d in explained if k == "graph" and "/messages" in d]
    assert graph and all("$orderby=receivedDateTime desc" in d and "$top=4" in d
                         for d in graph), explained
    assert any(k == "top-n" and "LIMIT 4" in d for k, d in explained), explained
    before = on.graph.stats.snapshot()["pages"]
    emulator.clear_log()
    got = _rows(on, sql)
    pages = on.graph.stats.snapshot()["pages"] - before
    mailboxes = len(rows(off, "SELECT Id FROM Users"))
    assert pages == 1 + mailboxes  # the users, then one page of 4 per mailbox
    assert len([e for e in emulator.log if e.kind == "batch"]) == 1
    assert got == _rows(off, sql)
    assert [(r[0], r[1]) for r in got] == _newest(off, 4)


def test_lateral_offset_and_own_conditions(app_pair: tuple[Any, Any]) -> None:
    on, off = app_pair
    sql = ("SELECT u.Mail, t.ReceivedDateTime FROM Users u CROSS JOIN LATERAL (SELECT "
           "ReceivedDateTime FROM Messages m WHERE m.UserId = u.Id AND m.IsRead = false "
           "ORDER BY ReceivedDateTime DESC LIMIT 2 OFFSET 1) t")
    explained = _explain(on, sql)
    assert any("$top=3" in d and "isRead eq false" in d for k, d in explained if k == "graph")
    got = _rows(on, sql)
    assert got == _rows(off, sql) == _newest(off, 2, offset=1, unread=True)


def test_left_lateral_keeps_users_without_rows(app_pair: tuple[Any, Any]) -> None:
    on, off = app_pair
    sql = ("SELECT u.Mail, t.Subject FROM Users u LEFT JOIN LATERAL (SELECT Subject, "
           "ReceivedDateTime FROM Messages m WHERE m.UserId = u.Id ORDER BY ReceivedDateTime "
           "DESC LIMIT 2) t ON t.ReceivedDateTime > '2100-01-01'")
    got = _rows(on, sql)
    assert got == _rows(off, sql)
    assert got == sorted(((mail, None) for (mail,) in rows(off, "SELECT Mail FROM Users")),
                         key=repr)


@pytest.mark.parametrize("sql", [
    # A scalar subquery: the newest subject of each user.
    ("SELECT u.Mail, (SELECT m.ReceivedDateTime FROM Messages m WHERE m.UserId = u.Id ORDER "
    "BY m.ReceivedDateTime DESC LIMIT 1) FROM Users u"),
    # A join with the ids of each user's 3 newest.
    ("SELECT u.Mail, m.ReceivedDateTime FROM Users u JOIN Messages m ON m.UserId = u.Id WHERE "
    "m.Id IN (SELECT m2.Id FROM Messages m2 WHERE m2.UserId = u.Id ORDER BY "
    "m2.ReceivedDateTime DESC LIMIT 3)"),
])
def test_correlated_limit_subqueries_are_bounded(app_pair: tuple[Any, Any], sql: str) -> None:
    on, off = app_pair
    explained = _explain(on, sql)
    assert any(k == "top-n" for k, _ in explained), explained
    got = _rows(on, sql)
    assert got == _rows(off, sql)
    n = 1 if "LIMIT 1" in sql else 3
    assert sorted((r[0], r[1]) for r in got) == sorted(_newest(off, n))


@pytest.mark.parametrize("sql", [
    # Correlated on a column inside the mailbox: one evaluation is part of a request.
    ("SELECT m.Subject FROM Messages m WHERE m.UserId IN (SELECT Id FROM Users) AND m.Id IN "
    "(SELECT m2.Id FROM Messages m2 WHERE m2.UserId = m.UserId AND m2.ConversationId = "
    "m.ConversationId ORDER BY m2.ReceivedDateTime DESC LIMIT 1)"),
    # A ranking by counting (no equality): every row is needed.
    ("SELECT m0.UserId, m0.Subject FROM Messages m0 WHERE m0.UserId IN (SELECT Id FROM Users) "
    "AND (SELECT COUNT(*) FROM Messages m WHERE m.UserId = m0.UserId AND m.ReceivedDateTime "
    ">= m0.ReceivedDateTime) <= 3"),
    # A condition Graph cannot evaluate exactly.
    ("SELECT u.Mail, t.Subject FROM Users u CROSS JOIN LATERAL (SELECT Subject FROM Messages m "
    "WHERE m.UserId = u.Id AND m.Subject LIKE '%e%' ORDER BY ReceivedDateTime DESC LIMIT 2) t"),
    # An order Graph cannot give as SQLite sorts.
    ("SELECT u.Mail, t.Subject FROM Users u CROSS JOIN LATERAL (SELECT Subject FROM Messages m "
    "WHERE m.UserId = u.Id ORDER BY Subject LIMIT 2) t"),
])
def test_correlations_that_need_every_row_stay_unbounded(app_pair: tuple[Any, Any], sql: str
                                                         ) -> None:
    on, off = app_pair
    explained = _explain(on, sql)
    assert not any(k == "top-n" for k, _ in explained), explained
    assert not any("$top=1&" in d or d.endswith(("$top=1", "$top=2", "$top=3"))
                   for k, d in explained if k == "graph"), explained
    assert _rows(on, sql) == _rows(off, sql)


@pytest.mark.parametrize("sql, named", [
    (("SELECT u.Mail, t.n FROM Users u CROSS JOIN LATERAL (SELECT COUNT(*) AS n FROM Messages m "
     "WHERE m.UserId = u.Id) t"), "aggregates"),
    (("SELECT u.Mail, t.s FROM Users u CROSS JOIN LATERAL (SELECT u.Mail || m.Subject AS s FROM "
     "Messages m WHERE m.UserId = u.Id LIMIT 2) t"), "u.Mail"),
    (("SELECT u.Mail, t.Subject FROM Users u CROSS JOIN LATERAL (SELECT Subject FROM Messages m "
     "WHERE m.UserId = u.Id AND m.ReceivedDateTime > u.CreatedDateTime LIMIT 2) t"),
     "u.CreatedDateTime"),
    (("SELECT u.Mail, t.Subject FROM Users u CROSS JOIN LATERAL (SELECT DISTINCT Subject FROM "
     "Messages m WHERE m.UserId = u.Id) t"), "DISTINCT"),
])
def test_laterals_sqlite_cannot_run_are_refused(app_pair: tuple[Any, Any], sql: str,
                                                named: str) -> None:
    on, off = app_pair
    for connection in (on, off):
        with pytest.raises(o365sql.NotSupportedError) as info:
            rows(connection, sql)
        assert "LATERAL" in str(info.value) and named.lower() in str(info.value).lower()


RANKED = ("(SELECT UserId, Subject, ReceivedDateTime, ROW_NUMBER() OVER (PARTITION BY UserId "
          "ORDER BY ReceivedDateTime DESC) AS rn FROM Messages)")


@pytest.mark.parametrize("sql", [
    (f"SELECT u.Mail, t.ReceivedDateTime FROM Users u JOIN {RANKED} t ON t.UserId = u.Id "
    "WHERE t.rn <= 3"),
    (f"SELECT u.Mail, t.ReceivedDateTime FROM Users u, {RANKED} t WHERE u.Id = t.UserId "
    "AND t.rn < 4"),
    (f"SELECT u.Mail, t.ReceivedDateTime FROM Users u JOIN {RANKED} t ON t.UserId = u.Id "
    "AND t.rn <= 3"),
    (f"WITH t AS {RANKED} SELECT u.Mail, t.ReceivedDateTime FROM Users u JOIN t ON "
    "t.UserId = u.Id WHERE t.rn <= 3"),
])
def test_users_joined_with_a_ranked_derived_table_read_each_mailbox_bounded(
        emulator: Emulator, app_pair: tuple[Any, Any], sql: str) -> None:
    """The mailbox of the derived table (or CTE) is bound by the join outside it: one
    request per user with $orderby and $top=3, never /me."""
    on, off = app_pair
    explained = _explain(on, sql)
    assert any(k == "fan-out" and "Users.Id" in d for k, d in explained), explained
    graph = [d for k, d in explained if k == "graph" and "/messages" in d]
    assert graph and all(d.startswith("GET /users/{UserId}/messages") and "$top=3" in d
                         for d in graph), explained
    assert any(k == "top-n" and "<= 3" in d for k, d in explained), explained
    before = on.graph.stats.snapshot()["pages"]
    got = _rows(on, sql)
    assert on.graph.stats.snapshot()["pages"] - before == 1 + len(rows(off, "SELECT Id FROM Users"))
    assert got == _rows(off, sql) == _newest(off, 3)


@pytest.mark.parametrize("sql, expected", [
    (("SELECT u.Mail, t.n FROM Users u JOIN (SELECT UserId, COUNT(*) AS n FROM Messages "
     "GROUP BY UserId) t ON t.UserId = u.Id"), "count"),
    (("SELECT u.Mail, t.ReceivedDateTime FROM Users u JOIN (SELECT UserId, ReceivedDateTime "
     "FROM Messages WHERE IsRead = false) t ON t.UserId = u.Id"), "unread"),
])
def test_users_joined_with_a_derived_table_read_each_mailbox(app_pair: tuple[Any, Any],
                                                             sql: str, expected: str) -> None:
    on, off = app_pair
    got = _rows(on, sql)
    assert got == _rows(off, sql)
    every = _newest(off, 10**6, unread=expected == "unread")
    if expected == "count":
        counts: dict[Any, int] = {}
        for mail, _ in every:
            counts[mail] = counts.get(mail, 0) + 1
        assert got == sorted(counts.items(), key=repr)
    else:
        assert got == every


@pytest.mark.parametrize("derived, why", [
    ("(SELECT UserId, Subject FROM Messages ORDER BY ReceivedDateTime DESC LIMIT 5)", "LIMIT"),
    ("(SELECT UserId, COUNT(*) AS n FROM Messages GROUP BY Importance)", "aggregates"),
    ("(SELECT m.UserId FROM Messages m JOIN Events e ON e.Subject = m.Subject)", "joins"),
    ("(SELECT UserId, ROW_NUMBER() OVER (ORDER BY ReceivedDateTime) AS rn FROM Messages)",
     "partitioned"),
])
def test_derived_tables_mixing_mailboxes_joined_on_the_mailbox_are_refused(
        app_pair: tuple[Any, Any], derived: str, why: str) -> None:
    """Binding their mailbox outside would change their rows; reading /me would answer for
    the signed-in user only: refused, naming the table and the column."""
    sql = f"SELECT u.Mail FROM Users u JOIN {derived} t ON t.UserId = u.Id"
    for connection in app_pair:
        with pytest.raises(o365sql.NotSupportedError) as info:
            rows(connection, sql)
        text = str(info.value)
        assert "Messages" in text and "UserId" in text and why in text, text


def test_delegated_join_with_a_ranked_derived_table_is_not_empty(emulator: Emulator) -> None:
    """Before the join bound the derived table's mailbox, its Messages read /me, whose rows
    carry UserId 'me', which no user id equals: the signed-in user's own newest messages
    came back as no rows at all."""
    upn = emulator.users[0]
    with on_and_off(emulator) as (on, off):
        sql = (f"SELECT u.Mail, t.ReceivedDateTime FROM Users u JOIN {RANKED} t ON "
               "t.UserId = u.Id WHERE u.UserPrincipalName = :upn AND t.rn <= 3")
        # (With pushdown off every user's mailbox would be read: a delegated token may not.)
        got = sorted(rows(on, sql, {"upn": upn}))
        mail = rows(off, "SELECT Mail FROM Users WHERE UserPrincipalName = :u", {"u": upn})[0][0]
        mine = sorted((r[0] for r in rows(off, "SELECT ReceivedDateTime FROM Messages")),
                      reverse=True)[:3]
        assert len(got) == 3 and got == sorted((mail, when) for when in mine)


EACH = "UserId IN (SELECT Id FROM Users)"


def _newest_per(off: Any, sql: str, n: int) -> list[tuple[Any, ...]]:
    """(group, key) of the n greatest keys of each group, in Python over ``sql``'s rows
    (group, key), read whole with pushdown off."""
    groups: dict[Any, list[Any]] = {}
    for group, key in rows(off, sql):
        groups.setdefault(group, []).append(key)
    return sorted(((g, k) for g, keys in groups.items() for k in sorted(keys, reverse=True)[:n]),
                  key=repr)


def test_lateral_per_folder_reads_each_folder_bounded(app_pair: tuple[Any, Any]) -> None:
    """MailFolders (each user's, addressed by the WHERE of the query around the LATERAL)
    then one request per folder with $top=2: the 2 newest messages of every folder."""
    on, off = app_pair
    sql = ("SELECT f.Id, t.ReceivedDateTime FROM MailFolders f CROSS JOIN LATERAL (SELECT "
           "ReceivedDateTime FROM Messages m WHERE m.ParentFolderId = f.Id AND m.UserId = "
           f"f.UserId ORDER BY ReceivedDateTime DESC LIMIT 2) t WHERE f.{EACH}")
    explained = _explain(on, sql)
    graph = [d for k, d in explained if k == "graph"]
    assert not any(d.startswith("GET /me") for d in graph), explained
    assert any(d.startswith("GET /users/{UserId}/mailFolders/{ParentFolderId}/messages") and
               "$top=2" in d and "$orderby=receivedDateTime desc" in d for d in graph)
    got = _rows(on, sql)
    assert got == _rows(off, sql)
    listed = {r[0] for r in rows(off, f"SELECT Id FROM MailFolders WHERE {EACH}")}
    assert got == [r for r in _newest_per(off, "SELECT ParentFolderId, ReceivedDateTime FROM "
                                               f"Messages WHERE {EACH}", 2) if r[0] in listed]


def test_ranking_per_addressed_folder_is_pushed(app_pair: tuple[Any, Any]) -> None:
    """PARTITION BY ParentFolderId (a real property) is per request when every request
    reads one folder."""
    on, off = app_pair
    sql = ("SELECT ParentFolderId, ReceivedDateTime FROM (SELECT UserId, ParentFolderId, "
           "ReceivedDateTime, ROW_NUMBER() OVER (PARTITION BY UserId, ParentFolderId ORDER BY "
           f"ReceivedDateTime DESC) AS rn FROM Messages WHERE {EACH} AND ParentFolderId IN "
           "('Inbox', 'SentItems')) t WHERE rn <= 2")
    explained = _explain(on, sql)
    assert any(k == "top-n" for k, _ in explained), explained
    assert all("$top=2" in d for k, d in explained if k == "graph" and "/messages" in d)
    got = _rows(on, sql)
    assert got == _rows(off, sql)
    assert got == _newest_per(off, "SELECT ParentFolderId, ReceivedDateTime FROM Messages "
                                   f"WHERE {EACH} AND ParentFolderId IN ('Inbox', 'SentItems')",
                              2)
    # Not addressed per folder: a request holds every folder, so the ranking stays local.
    unaddressed = sql.replace(" AND ParentFolderId IN ('Inbox', 'SentItems')", "")
    assert not any(k == "top-n" for k, _ in _explain(on, unaddressed))
    assert _rows(on, unaddressed) == _rows(off, unaddressed)


def test_lateral_per_calendar_reads_each_calendar_bounded(app_pair: tuple[Any, Any]) -> None:
    on, off = app_pair
    sql = ("SELECT c.Id, t.CreatedDateTime FROM Calendars c CROSS JOIN LATERAL (SELECT "
           "CreatedDateTime FROM Events e WHERE e.CalendarId = c.Id AND e.UserId = c.UserId "
           f"ORDER BY CreatedDateTime DESC LIMIT 2) t WHERE c.{EACH}")
    explained = _explain(on, sql)
    assert any(d.startswith("GET /users/{UserId}/calendars/{CalendarId}/events") and
               "$top=2" in d for k, d in explained if k == "graph"), explained
    got = _rows(on, sql)
    assert got and got == _rows(off, sql)
    calendars = rows(off, f"SELECT UserId, Id FROM Calendars WHERE {EACH}")
    expected: list[tuple[Any, ...]] = []
    for user, calendar in calendars:
        created = rows(off, "SELECT CreatedDateTime FROM Events WHERE UserId = :u AND "
                            "CalendarId = :c", {"u": user, "c": calendar})
        expected += [(calendar, r[0]) for r in sorted(created, reverse=True)[:2]]
    assert got == sorted(expected, key=repr)


PLAIN = "(SELECT UserId, ReceivedDateTime FROM Messages)"


@pytest.mark.parametrize("sql, why", [
    (f"SELECT u.Mail, t.ReceivedDateTime FROM {PLAIN} t LEFT JOIN Users u ON t.UserId = u.Id",
     "preserved side"),
    (f"SELECT u.Mail, t.ReceivedDateTime FROM Users u RIGHT JOIN {PLAIN} t ON t.UserId = u.Id",
     "preserved side"),
    ((f"WITH t AS {PLAIN} SELECT u.Mail FROM Users u JOIN t ON t.UserId = u.Id JOIN t AS t2 ON "
     "t2.UserId = u.Id"), "more than once"),
])
def test_derived_mailboxes_bound_where_their_rows_stay_are_refused(
        app_pair: tuple[Any, Any], sql: str, why: str) -> None:
    for connection in app_pair:
        with pytest.raises(o365sql.NotSupportedError) as info:
            rows(connection, sql)
        assert "Messages" in str(info.value) and why in str(info.value)


def test_derived_mailbox_bound_by_the_where_clause_of_an_outer_join(
        app_pair: tuple[Any, Any]) -> None:
    """A WHERE equality holds for every row of the answer whatever the joins."""
    on, off = app_pair
    sql = (f"SELECT u.Mail, t.ReceivedDateTime FROM {PLAIN} t LEFT JOIN Users u ON true "
           "WHERE t.UserId = u.Id")
    got = _rows(on, sql)
    assert got == _rows(off, sql) == _newest(off, 10**6)


@pytest.mark.parametrize("sql", [
    f"SELECT u.Mail, t.ReceivedDateTime FROM {PLAIN} t JOIN Users u ON u.Id = t.UserId",
    f"WITH t AS {PLAIN} SELECT u.Mail, t.ReceivedDateTime FROM t JOIN Users u ON t.UserId = u.Id",
    (f"SELECT u.Mail, t.ReceivedDateTime FROM {PLAIN} t JOIN Users u ON u.Id = t.UserId "
     "AND u.Mail IS NOT NULL"),
])
def test_derived_table_first_in_from_bound_by_the_inner_join_after_it(
        app_pair: tuple[Any, Any], sql: str) -> None:
    """The derived table in FROM, the equality on the inner join that follows: it holds for
    every row of the answer, so each mailbox is read once (was refused as a preserved side)."""
    on, off = app_pair
    got = _rows(on, sql)
    assert got == _rows(off, sql) == _newest(off, 10**6)
