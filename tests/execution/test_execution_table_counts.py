"""``SELECT COUNT(*) FROM <table>`` answered by Graph's ``/$count`` where Graph counts exactly
(issue 12 point 6): one GET of ``.../$count`` (a bare number, ``text/plain``), with
``ConsistencyLevel: eventual`` on directory objects (which answer 400 without it), equal to
the rows counted locally over a ``Pushdown=false`` connection; and where Graph's count is not
exact (a whole-mailbox message count with ``$filter``, graph-semantics §11; ``$search``) or not
documented (Events), the rows are counted locally and EXPLAIN says why.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from execution_support import rows

from o365sql.emulator import Emulator

TENANT = {"seed": 7, "users": 3, "messages_per_user": 150, "events_per_user": 5}

#: Statements Graph counts exactly, and the path of the one request that answers them.
EXACT = [
    ("SELECT COUNT(*) FROM Users", "/users/$count"),
    ("SELECT COUNT(*) FROM Users WHERE AccountEnabled = true", "/users/$count"),
    ("SELECT COUNT(*) FROM Groups", "/groups/$count"),
    ("SELECT COUNT(*) FROM Contacts", "/me/contacts/$count"),
    ("SELECT COUNT(*) FROM Messages", "/me/messages/$count"),
    ("SELECT COUNT(*) FROM Messages WHERE UserId = '{user}'", "/messages/$count"),
    ("SELECT COUNT(*) FROM Messages WHERE ParentFolderId = 'SentItems' AND "
     "HasAttachments = true", "/mailFolders/SentItems/messages/$count"),
]

#: Statements whose count Graph does not give exactly: counted locally, and why.
LOCAL = [
    ("SELECT COUNT(*) FROM Messages WHERE IsRead = false", "unreliable"),
    ("SELECT COUNT(*) FROM Messages WHERE SearchTerms = 'budget'", "$search"),
    ("SELECT COUNT(*) FROM Events", "documents no $count"),
]


def _count_requests(emulator: Emulator) -> list[Any]:
    return [e for e in emulator.log if e.kind == "graph"]


@pytest.mark.parametrize(("sql", "path"), EXACT)
def test_exact_counts_are_one_count_request(emulator: Emulator, on: Any, off: Any, sql: str,
                                            path: str) -> None:
    sql = sql.format(user=emulator.users[0])
    expected = rows(off, sql)
    emulator.clear_log()
    got = rows(on, sql)
    sent = _count_requests(emulator)
    assert got == expected and got[0][0] > 0
    assert len(sent) == 1 and sent[0].path.endswith(path) and sent[0].status == 200, sent
    assert any(r[1] == "count" for r in rows(on, "EXPLAIN " + sql))


@pytest.mark.parametrize(("sql", "why"), LOCAL)
def test_inexact_counts_are_counted_locally(emulator: Emulator, on: Any, off: Any, sql: str,
                                            why: str) -> None:
    emulator.clear_log()
    got = rows(on, sql)
    assert not any(e.path.endswith("/$count") for e in _count_requests(emulator))
    assert got == rows(off, sql)
    notes = [r[2] for r in rows(on, "EXPLAIN " + sql) if r[1] == "note"]
    assert any("counted locally" in n and why in n for n in notes), notes


def test_count_segment_answers_like_graph(emulator: Emulator) -> None:
    """The documented answers (user-list.md Example 3, aad-advanced-queries.md): a bare
    integer as text/plain; directory objects need ConsistencyLevel: eventual, else 400
    Request_BadRequest "$count is not currently supported."; Outlook collections do not."""
    token = emulator.mint_token(user=emulator.users[0],
                                scopes=["User.Read.All", "Mail.Read", "Contacts.Read"])

    def get(path: str, **headers: str) -> requests.Response:
        return requests.get(emulator.graph_url + path, verify=emulator.ca_path, timeout=30,
                            headers={"Authorization": f"Bearer {token}", **headers})

    users = get("/users/$count", ConsistencyLevel="eventual")
    assert users.status_code == 200
    assert users.headers["Content-Type"].startswith("text/plain")
    assert int(users.text) == len(emulator.tenant.users)
    refused = get("/users/$count")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_BadRequest"
    assert refused.json()["error"]["message"] == "$count is not currently supported."
    for path in ("/me/messages/$count", "/me/contacts/$count",
                 "/me/mailFolders/inbox/messages/$count?$filter=isRead%20eq%20false"):
        answer = get(path)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(
            "text/plain"), path
        assert answer.text.strip().isdigit(), path
