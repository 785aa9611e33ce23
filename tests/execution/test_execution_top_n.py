"""Top-N per mailbox (issue 12): a ranking window bounded per mailbox sends ``$orderby`` and
``$top=N`` in each mailbox's request and reads no page past its N rows, with an application's
token over the emulator (real msal, HTTP and SQLite); the rows equal the ``Pushdown=false``
answer, which reads every mailbox whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from execution_support import on_and_off, rows

from o365sql.emulator import Emulator

USERS = 3
PER_USER = 45
EACH = "UserId IN (SELECT Id FROM Users)"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=12, users=USERS, messages_per_user=PER_USER) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def app(emu: Emulator) -> Iterator[tuple[Any, Any]]:
    """An application's token (no /me): every mailbox is read through /users/{id}."""
    with on_and_off(emu, emu.mint_token()) as pair:
        yield pair


def _rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return sorted(rows(connection, sql, params), key=repr)


def _explain(connection: Any, sql: str) -> list[tuple[str, str]]:
    return [(kind, detail) for _, kind, detail in _rows(connection, "EXPLAIN " + sql)]


def _pages(connection: Any, sql: str) -> tuple[list[tuple[Any, ...]], int]:
    before = connection.graph.stats.snapshot()["pages"]
    rows = _rows(connection, sql)
    return rows, connection.graph.stats.snapshot()["pages"] - before


def _mailboxes(connection: Any) -> int:
    return len(_rows(connection, "SELECT Id FROM Users"))


DERIVED = ("SELECT UserId, Subject, ReceivedDateTime FROM (SELECT UserId, Subject, "
           "ReceivedDateTime, ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY ReceivedDateTime "
           f"DESC) AS rn FROM Messages WHERE {EACH}) t WHERE rn <= 4")


def test_row_number_per_mailbox_sends_orderby_and_top(app: tuple[Any, Any]) -> None:
    on, off = app
    explained = _explain(on, DERIVED)
    graph = [d for k, d in explained if k == "graph" and "/messages" in d]
    assert graph and all("$orderby=receivedDateTime desc" in d and "$top=4" in d for d in graph)
    assert any(k == "top-n" and "<= 4" in d for k, d in explained), explained
    rows, pages = _pages(on, DERIVED)
    assert rows == _rows(off, DERIVED)
    assert len(rows) == 4 * _mailboxes(off)
    # One page of users, then one page of 4 messages per mailbox: no nextLink followed.
    assert pages == 1 + _mailboxes(off)


def test_row_number_rows_are_the_newest_of_each_mailbox(app: tuple[Any, Any]) -> None:
    on, off = app
    for (user,) in _rows(off, "SELECT Id FROM Users"):
        newest = _rows(off, "SELECT UserId, Subject, ReceivedDateTime FROM Messages WHERE "
                            "UserId = :u ORDER BY ReceivedDateTime DESC LIMIT 4", {"u": user})
        assert [r for r in _rows(on, DERIVED) if r[0] == user] == newest


@pytest.mark.parametrize("sql, bound", [
    ((f"SELECT UserId, Subject FROM Messages WHERE {EACH} AND IsRead = false QUALIFY "
     "ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY ReceivedDateTime) <= 2"), 2),
    ((f"SELECT UserId, Subject FROM Messages WHERE {EACH} QUALIFY RANK() OVER "
     "(PARTITION BY UserId ORDER BY ReceivedDateTime) < 4"), 3),
    (("SELECT * FROM (SELECT UserId, Id, RANK() OVER (PARTITION BY UserId ORDER BY "
     f"ReceivedDateTime DESC) AS r FROM Messages WHERE {EACH}) x WHERE 5 >= r AND Id <> ''"), 5),
    (("SELECT * FROM (SELECT UserId, Id, ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY "
     f"ReceivedDateTime DESC) AS r FROM Messages WHERE {EACH}) x WHERE r BETWEEN 2 AND 3"), 3),
    (("SELECT * FROM (SELECT UserId, Id, ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY "
     f"ReceivedDateTime DESC) AS r FROM Messages WHERE {EACH}) x WHERE r = 1"), 1),
])
def test_bounded_rankings_are_pushed_and_exact(app: tuple[Any, Any], sql: str,
                                               bound: int) -> None:
    on, off = app
    explained = _explain(on, sql)
    assert any(k == "top-n" and f"<= {bound}" in d for k, d in explained), explained
    rows, pages = _pages(on, sql)
    assert rows == _rows(off, sql)
    assert rows
    assert pages == 1 + _mailboxes(off)


@pytest.mark.parametrize("sql", [
    # Subject LIKE '%x%' is re-checked locally: Graph's rows are not the ranked rows.
    (f"SELECT UserId, Subject FROM Messages WHERE {EACH} AND Subject LIKE '%e%' QUALIFY "
     "ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY ReceivedDateTime DESC) <= 2"),
    # A partition inside a mailbox: its top 2 are not the mailbox's top 2.
    (f"SELECT UserId, Subject FROM Messages WHERE {EACH} QUALIFY ROW_NUMBER() OVER "
     "(PARTITION BY Importance ORDER BY ReceivedDateTime DESC) <= 2"),
    # DENSE_RANK's first N ranks may span any number of rows.
    (f"SELECT UserId, Subject FROM Messages WHERE {EACH} QUALIFY DENSE_RANK() OVER "
     "(PARTITION BY UserId ORDER BY ReceivedDateTime DESC) <= 2"),
    # Graph does not sort messages by sentDateTime (nullable too).
    (f"SELECT UserId, Subject FROM Messages WHERE {EACH} QUALIFY ROW_NUMBER() OVER "
     "(PARTITION BY UserId ORDER BY SentDateTime DESC) <= 2"),
    # Graph cannot sort strings as SQLite does.
    (f"SELECT UserId, Subject FROM Messages WHERE {EACH} QUALIFY ROW_NUMBER() OVER "
     "(PARTITION BY UserId ORDER BY Subject) <= 2"),
    # Another window needs every row of the mailbox.
    ("SELECT * FROM (SELECT UserId, Subject, COUNT(*) OVER (PARTITION BY UserId) AS n, "
     "ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY ReceivedDateTime DESC) AS rn FROM "
     f"Messages WHERE {EACH}) t WHERE rn <= 2"),
    # The bound is no upper bound.
    ("SELECT * FROM (SELECT UserId, Subject, ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY "
     f"ReceivedDateTime DESC) AS rn FROM Messages WHERE {EACH}) t WHERE rn >= 40"),
])
def test_rankings_that_need_every_row_stay_local(app: tuple[Any, Any], sql: str) -> None:
    on, off = app
    explained = _explain(on, sql)
    assert not any(k == "top-n" for k, _ in explained), explained
    assert not any("$orderby" in d for k, d in explained if k == "graph"), explained
    assert _rows(on, sql) == _rows(off, sql)


def test_rank_keeps_the_rows_tied_with_the_last(emu: Emulator, app: tuple[Any, Any]) -> None:
    """Copies of a mailbox's 2nd newest message (same receivedDateTime) all rank 2: RANK()
    <= 2 must return every copy, though $top asks for 3 rows; paging goes on past them."""
    on, off = app
    upn = emu.users[0]
    mailbox = emu.tenant.mailbox(upn)
    assert mailbox is not None
    with mailbox.lock:
        second = mailbox.mail.ordered()[1]  # /messages order: newest received first
        for _ in range(4):
            mailbox.mail.add(second.copy(mailbox.mail.next_serial(), second.folder))
        mailbox.version += 1  # as every write does: the emulator's query cache is keyed on it
    sql = ("SELECT UserId, Id FROM Messages WHERE UserId = :u QUALIFY RANK() OVER "
           "(PARTITION BY UserId ORDER BY ReceivedDateTime DESC) <= 2")
    user_id = _rows(off, "SELECT Id FROM Users WHERE UserPrincipalName = :u", {"u": upn})[0][0]
    before = on.graph.stats.snapshot()["pages"]
    rows = _rows(on, sql, {"u": user_id})
    pages = on.graph.stats.snapshot()["pages"] - before
    assert rows == _rows(off, sql, {"u": user_id})
    assert len(rows) == 1 + 5  # the newest, then the second and its four copies
    assert pages >= 2  # a page of 3 ended in the tie: the next page was read too


def test_fan_out_batches_carry_top_for_every_mailbox(emu: Emulator,
                                                     app: tuple[Any, Any]) -> None:
    on, _ = app
    emu.clear_log()
    _rows(on, DERIVED)
    posts = [e for e in emu.log if e.kind == "batch"]
    assert len(posts) == 1, [str(e) for e in emu.log]
