"""Helpers of the replica tests: connections to one emulator sharing a replica file, the
Graph writes that change a tenant (through the emulator's own HTTP endpoints), and the
comparison of a replicated table with a live read."""

from __future__ import annotations

from typing import Any

import requests

import o365sql
from o365sql.emulator import Emulator

SCOPES = ["Mail.ReadWrite", "Mail.Send", "User.Read.All", "Calendars.ReadWrite",
          "Contacts.ReadWrite", "Group.Read.All"]
#: The tables the differential test keeps in a replica and compares with live reads.
TABLES = ("Messages", "MailFolders", "Contacts", "ContactFolders", "CalendarView", "Events",
          "Users", "Groups", "GroupMembers")


def connect(emulator: Emulator, location: str, user: str | None = None, **props: Any) -> Any:
    """A delegated connection (``user``, default the first) with the replica at ``location``."""
    token = emulator.mint_token(user=user or emulator.users[0], scopes=SCOPES)
    return o365sql.connect(GraphURL=emulator.graph_url, AuthorityURL=emulator.authority,
                           AzureTenant=emulator.tenant_id, SSLServerCert=emulator.ca_path,
                           OAuthAccessToken=token, CacheLocation=location, **props)


def rows(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql)
    return [tuple(r) for r in cur.fetchall()]


def window_where(offline: Any) -> str:
    """The WHERE that asks CalendarView for the window the replica keeps (sys_replicas)."""
    found = rows(offline, "SELECT Folder FROM sys_replicas WHERE TableName = 'CalendarView'")
    start, end = found[0][0].split("/")
    return f" WHERE StartDateTime = '{start}' AND EndDateTime = '{end}'"


def same_rows(live: Any, offline: Any, sql: str) -> int:
    """Assert the two connections answer ``sql`` with the same rows; return how many."""
    expected = sorted(map(repr, rows(live, sql)))
    got = sorted(map(repr, rows(offline, sql)))
    if expected != got:
        missing = sorted(set(expected) - set(got))[:3]
        extra = sorted(set(got) - set(expected))[:3]
        raise AssertionError(f"{sql}: live {len(expected)} rows, replica {len(got)}; "
                             f"only live: {missing}; only replica: {extra}")
    return len(expected)


class Writer:
    """Graph calls as one user, over real HTTPS (the emulator's CA trusted per request)."""

    def __init__(self, emulator: Emulator, user: str) -> None:
        self.base = emulator.graph_url
        self.ca = emulator.ca_path
        self.token = emulator.mint_token(user=user, scopes=SCOPES)
        self.session = requests.Session()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.session.request(method, self.base + path, json=body, verify=self.ca,
                                      timeout=30,
                                      headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text[:300])
        return answer.json() if answer.content else None

    def ids(self, path: str) -> list[str]:
        return [item["id"] for item in self.call("GET", path + "?$select=id&$top=999")["value"]]

    def close(self) -> None:
        self.session.close()
