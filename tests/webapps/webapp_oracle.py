"""What the example apps' pages should show, read straight from the emulator's Graph REST API.

Stage: test oracle. The apps read through o365sql's SQL engine; this module reads the same
mailbox with plain ``requests`` calls to Graph (a token minted by the emulator for the user,
``verify=`` the emulator's CA), so a wrong query, a wrong user's data or a rendering slip in an
app shows up as a difference. Rows come back formatted exactly as the apps' templates format
them (UTC, ``YYYY-MM-DD HH:MM``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

__all__ = ["GraphOracle"]


def _query(params: dict[str, str]) -> str:
    """A query string with spaces as %20: Outlook reads a '+' in $orderby literally and answers
    400 "OrderBy not supported." (graph-semantics §1.1), so requests' form encoding won't do."""
    return "&".join(f"{quote(k, safe='$')}={quote(v, safe=',')}" for k, v in params.items())


def _minute(text: str | None) -> str:
    """Graph's ``2026-10-10T16:43:52Z`` or ``2026-11-03T09:00:00.0000000`` as ``2026-10-10 16:43``."""
    return (text or "")[:16].replace("T", " ")


class GraphOracle:
    def __init__(self, emulator: Any, user: str) -> None:
        self.graph_url = emulator.graph_url
        self.verify = emulator.ca_path
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + emulator.mint_token(user=user)

    def _all(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        url: str | None = f"{self.graph_url}{path}?{_query(params)}"
        items: list[dict[str, Any]] = []
        while url:
            resp = self.session.get(url, verify=self.verify, timeout=30)
            resp.raise_for_status()
            body = resp.json()
            items.extend(body["value"])
            url = body.get("@odata.nextLink")
        return items

    def display_name(self) -> str:
        """The signed-in user's displayName (GET /me)."""
        resp = self.session.get(f"{self.graph_url}/me?$select=displayName", verify=self.verify,
                                timeout=30)
        resp.raise_for_status()
        return str(resp.json()["displayName"])

    def inbox(self, skip: int = 0) -> list[tuple[str, str, str, str, str]]:
        """(subject, from, from address, received, read) of the newest 20 Inbox messages after
        the newest ``skip``."""
        query = _query({
            "$select": "subject,from,receivedDateTime,isRead",
            "$orderby": "receivedDateTime desc",
            "$top": "20",
            **({"$skip": str(skip)} if skip else {}),
        })
        resp = self.session.get(
            f"{self.graph_url}/me/mailFolders/inbox/messages?{query}",
            verify=self.verify,
            timeout=30,
        )
        resp.raise_for_status()
        rows = []
        for m in resp.json()["value"]:
            sender = (m.get("from") or {}).get("emailAddress") or {}
            rows.append(
                (
                    m.get("subject") or "(no subject)",
                    sender.get("name") or sender.get("address") or "",
                    sender.get("address") or "",
                    _minute(m.get("receivedDateTime")),
                    "yes" if m.get("isRead") else "no",
                )
            )
        return rows

    def contacts(self) -> list[tuple[str, str, str, str]]:
        """(name, company, first e-mail address, mobile) of every contact, sorted."""
        rows = []
        for c in self._all(
            "/me/contacts",
            {"$select": "displayName,companyName,emailAddresses,mobilePhone", "$top": "100"},
        ):
            emails = c.get("emailAddresses") or []
            rows.append(
                (
                    c.get("displayName") or "",
                    c.get("companyName") or "",
                    (emails[0].get("address") or "") if emails else "",
                    c.get("mobilePhone") or "",
                )
            )
        return sorted(rows)

    def events(self, start: datetime, end: datetime) -> list[tuple[str, str, str, str, str]]:
        """(start, end, subject, location, organizer) of the events overlapping [start, end)."""
        rows = []
        window = {
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "$top": "100",
        }
        for e in self._all("/me/calendarView", window):
            fmt = (lambda t: _minute(t)[:10]) if e.get("isAllDay") else _minute
            organizer = ((e.get("organizer") or {}).get("emailAddress") or {}).get("name") or ""
            rows.append(
                (
                    fmt(e["start"]["dateTime"]),
                    fmt(e["end"]["dateTime"]),
                    e.get("subject") or "(no subject)",
                    (e.get("location") or {}).get("displayName") or "",
                    organizer,
                )
            )
        return sorted(rows)

    def busy_week(self, around: datetime, minimum: int = 2) -> datetime:
        """Midnight (UTC) of a day starting a 7-day window with at least ``minimum`` events,
        trying ``around`` first, then one week later, one week earlier, two weeks later..."""
        day = datetime(around.year, around.month, around.day, tzinfo=UTC)
        for step in range(80):
            weeks = (step + 1) // 2 * (1 if step % 2 else -1)
            start = day + timedelta(days=7 * weeks)
            if len(self.events(start, start + timedelta(days=7))) >= minimum:
                return start
        raise AssertionError(f"no week with {minimum} events within 40 weeks of {day:%Y-%m-%d}")
