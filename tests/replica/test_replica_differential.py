"""Differential test of the replica (issue 13 point 3): random sequences of changes to the
emulator's tenant, made through its Graph endpoints (new mail, sends between users, drafts,
moves, read-state and flag changes, deletes, folder creation, renames and deletions, contact
creation, edits and deletions, contact folders; single events and series created, moved,
renamed and deleted, series edited, single occurrences deleted, meetings cancelled (the
attendee's copy turns cancelled) and answered) and its Python API (users' properties, group
members added and removed), with a refresh (``REPLICATE TABLES (...)``) after each batch;
sometimes Graph forgets the delta links (410 ``syncStateNotFound``) and the refresh must
resync. CalendarView is kept over a window the first REPLICATE's WHERE gives, around the
emulator's pinned anchor (so the window never depends on the day the test runs); Events (no
delta in v1.0) is re-read with its change check. After every refresh each replicated table
read Offline must equal a live read at that moment, row for row, and so must a few analytic
queries over them, reads by well-known folder name, of hidden folders and of the message
bodies the replica was told to keep, and a CalendarView window inside the kept one (when
no all-day event near its edges sends it to Graph). The test counts the rows and queries
it compared and fails below a floor.
Under CI (``CI`` set) the seeds are fixed so a failure reproduces; elsewhere each run draws new
ones (printed on failure).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from replica_support import TABLES, Writer, connect, rows, same_rows, window_where

import o365sql
from o365sql.emulator import Emulator

SEEDS = [11, 12, 13] if os.environ.get("CI") else [random.randrange(1 << 30) for _ in range(3)]
#: Days either side of the anchor that REPLICATE CalendarView keeps; events change within 30.
WINDOW_DAYS = 40
#: Seeds that once failed (CalendarView occurrences duplicated by a rename), run always.
REGRESSION_SEEDS = [643941510, 641114502]
ROUNDS = 6
#: Queries compared after every refresh besides ``SELECT *`` of each table.
ANALYTIC = (
    "SELECT From_EmailAddress_Address, COUNT(*) FROM Messages GROUP BY From_EmailAddress_Address",
    ("SELECT ParentFolderId, COUNT(*), SUM(CASE WHEN IsRead THEN 0 ELSE 1 END) FROM Messages "
    "GROUP BY ParentFolderId"),
    "SELECT Subject, ReceivedDateTime FROM Messages ORDER BY ReceivedDateTime DESC, Id LIMIT 10",
    ("SELECT f.DisplayName, COUNT(m.Id) FROM MailFolders f LEFT JOIN Messages m "
    "ON m.ParentFolderId = f.Id GROUP BY f.DisplayName"),
    "SELECT DisplayName, TotalItemCount, UnreadItemCount FROM MailFolders WHERE TotalItemCount > 0",
    "SELECT COUNT(*) FROM Contacts WHERE GivenName LIKE 'A%'",
    "SELECT JobTitle, COUNT(*) FROM Users GROUP BY JobTitle",
    # Shapes that name folders, list hidden ones, or read a heavy column the replica was told
    # to keep (REPLICATE Messages INCLUDE COLUMNS, first round): answered Offline too.
    "SELECT Id, Subject, IsRead FROM Messages WHERE ParentFolderId = 'Inbox'",
    "SELECT Id FROM Messages WHERE ParentFolderId IN ('sentitems', 'Drafts', 'deleteditems')",
    ("SELECT ParentFolderId, COUNT(*) FROM Messages WHERE ParentFolderId <> 'inbox' "
     "GROUP BY ParentFolderId"),
    "SELECT * FROM MailFolders WHERE IncludeHiddenFolders = true",
    "SELECT Id, DisplayName FROM MailFolders WHERE ParentFolderId = 'msgfolderroot'",
    "SELECT DisplayName, ChildFolderCount FROM MailFolders WHERE Id IN ('Inbox', 'archive')",
    "SELECT Id, Body_Content, Body_ContentType FROM Messages",
    "SELECT Type, IsCancelled, COUNT(*) FROM Events GROUP BY Type, IsCancelled",
    ("SELECT e.Subject, e.Type, COUNT(*) FROM Events e JOIN Events s ON s.Id = e.Id "
     "GROUP BY e.Subject, e.Type"),
)
FLOOR_ROWS = 1500
FLOOR_QUERIES = 200


class World:
    """One tenant, the writers that change it, and the live and Offline connections."""

    def __init__(self, emulator: Emulator, location: str, rng: random.Random) -> None:
        self.emulator = emulator
        self.rng = rng
        self.me = emulator.users[0]
        self.other = emulator.users[1]
        self.w0 = Writer(emulator, self.me)
        self.w1 = Writer(emulator, self.other)
        self.live = connect(emulator, location)
        self.offline = connect(emulator, location, Offline=True)
        # The attendee's own replica (its own file: both sign in as "me"), whose copies of
        # w0's meetings change when w0 edits or cancels them.
        self.live_other = connect(emulator, location + ".other", user=self.other)
        self.offline_other = connect(emulator, location + ".other", user=self.other,
                                     Offline=True)
        self.anchor = emulator.anchor.replace(hour=0, minute=0, second=0, microsecond=0)
        self.made_folders: list[str] = []
        self.made_contact_folders: list[str] = []
        self.changes: dict[str, int] = {}

    def close(self) -> None:
        for closeable in (self.w0, self.w1, self.live, self.offline, self.live_other,
                          self.offline_other):
            closeable.close()

    # -- changes -----------------------------------------------------------------------------
    def _message(self) -> str | None:
        ids = self.w0.ids("/me/messages")
        return self.rng.choice(ids) if ids else None

    def _folder(self) -> str:
        return self.rng.choice(self.w0.ids("/me/mailFolders") + self.made_folders)

    def new_mail(self) -> None:
        self.w1.call("POST", "/me/sendMail", {"message": {
            "subject": f"hello {self.rng.randrange(1000)}",
            "body": {"contentType": "Text", "content": "x"},
            "toRecipients": [{"emailAddress": {"address": self.me}}]}})

    def send(self) -> None:
        self.w0.call("POST", "/me/sendMail", {"message": {
            "subject": f"out {self.rng.randrange(1000)}",
            "toRecipients": [{"emailAddress": {"address": self.other}}]}})

    def draft(self) -> None:
        self.w0.call("POST", "/me/messages", {"subject": f"draft {self.rng.randrange(1000)}"})

    def move(self) -> None:
        message = self._message()
        if message:
            self.w0.call("POST", f"/me/messages/{message}/move", {"destinationId": self._folder()})

    def read(self) -> None:
        message = self._message()
        if message:
            self.w0.call("PATCH", f"/me/messages/{message}", {"isRead": self.rng.random() < 0.5})

    def flag(self) -> None:
        message = self._message()
        if message:
            status = self.rng.choice(["flagged", "complete", "notFlagged"])
            self.w0.call("PATCH", f"/me/messages/{message}", {"flag": {"flagStatus": status}})

    def delete(self) -> None:
        message = self._message()
        if message:
            self.w0.call("DELETE", f"/me/messages/{message}")

    def make_folder(self) -> None:
        name = f"F{self.rng.randrange(10**6)}"
        if self.made_folders and self.rng.random() < 0.4:
            parent = self.rng.choice(self.made_folders)
            made = self.w0.call("POST", f"/me/mailFolders/{parent}/childFolders", {"displayName": name})
        else:
            made = self.w0.call("POST", "/me/mailFolders", {"displayName": name})
        self.made_folders.append(made["id"])

    def rename_folder(self) -> None:
        if self.made_folders:
            folder = self.rng.choice(self.made_folders)
            self.w0.call("PATCH", f"/me/mailFolders/{folder}",
                         {"displayName": f"R{self.rng.randrange(10**6)}"})

    def delete_folder(self) -> None:
        if self.made_folders:
            folder = self.rng.choice(self.made_folders)
            self.w0.call("DELETE", f"/me/mailFolders/{folder}")
            live = set(self.w0.ids("/me/mailFolders"))
            # Its child folders went with it: keep only folders that still answer.
            self.made_folders = [f for f in self.made_folders if f != folder and (
                f in live or self._exists(f"/me/mailFolders/{f}"))]

    def _exists(self, path: str) -> bool:
        answer = self.w0.session.get(self.w0.base + path, verify=self.w0.ca, timeout=30,
                                     headers={"Authorization": f"Bearer {self.w0.token}"})
        return answer.status_code == 200

    def contact(self) -> None:
        choice = self.rng.random()
        ids = self.w0.ids("/me/contacts")
        if choice < 0.35 or not ids:
            folder = self.rng.choice([None] + self.made_contact_folders)
            path = f"/me/contactFolders/{folder}/contacts" if folder else "/me/contacts"
            self.w0.call("POST", path, {"givenName": self.rng.choice(["Ann", "Bo", "Cy", "Al"]),
                                        "surname": f"S{self.rng.randrange(1000)}"})
        elif choice < 0.7:
            self.w0.call("PATCH", f"/me/contacts/{self.rng.choice(ids)}",
                         {"givenName": self.rng.choice(["Abe", "Zoe", "Ina"]),
                          "companyName": f"C{self.rng.randrange(100)}"})
        elif choice < 0.85:
            self.w0.call("DELETE", f"/me/contacts/{self.rng.choice(ids)}")
        else:
            made = self.w0.call("POST", "/me/contactFolders",
                                {"displayName": f"CF{self.rng.randrange(10**6)}"})
            self.made_contact_folders.append(made["id"])

    def window(self) -> tuple[str, str]:
        span = timedelta(days=WINDOW_DAYS)
        return ((self.anchor - span).strftime("%Y-%m-%dT%H:%M:%SZ"),
                (self.anchor + span).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def _span(self) -> dict[str, Any]:
        day = self.anchor + timedelta(days=self.rng.randrange(-30, 30),
                                      hours=self.rng.randrange(24))
        if self.rng.random() < 0.15:  # an all-day event
            day = day.replace(hour=0)
            return {"isAllDay": True,
                    "start": {"dateTime": day.strftime("%Y-%m-%dT00:00:00"), "timeZone": "UTC"},
                    "end": {"dateTime": (day + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00"),
                            "timeZone": "UTC"}}
        return {"start": {"dateTime": day.strftime("%Y-%m-%dT%H:00:00"), "timeZone": "UTC"},
                "end": {"dateTime": (day + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00"),
                        "timeZone": "UTC"}}

    def _events(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.w0.call(
            "GET", "/me/events?$select=id,type,isAllDay,isOrganizer&$top=999")["value"]
        return found

    def event(self) -> None:
        """Single events and series: made (some with the other user invited), moved, renamed,
        deleted; series edited; one occurrence deleted; meetings cancelled or answered."""
        events = self._events()
        masters = [e["id"] for e in events if e["type"] == "seriesMaster"]
        choice = self.rng.random()
        span = self._span()
        if choice < 0.25 or not events:
            body: dict[str, Any] = {"subject": f"ev {self.rng.randrange(1000)}", **span}
            if self.rng.random() < 0.3 and not span.get("isAllDay"):
                start = span["start"]["dateTime"][:10]
                body["recurrence"] = {
                    "pattern": {"type": self.rng.choice(["daily", "weekly"]), "interval": 1,
                                "daysOfWeek": [datetime.fromisoformat(start).strftime("%A").lower()]},
                    "range": {"type": "numbered", "startDate": start,
                              "numberOfOccurrences": self.rng.randrange(2, 8)}}
            if self.rng.random() < 0.3:
                body["attendees"] = [{"emailAddress": {"address": self.other}, "type": "required"}]
            self.w0.call("POST", "/me/events", body)
        elif choice < 0.5:
            target = self.rng.choice(events)
            change = ({"subject": f"moved {self.rng.randrange(99)}"} if self.rng.random() < 0.5
                      or target["isAllDay"] else {k: span[k] for k in ("start", "end")})
            if target["isAllDay"] and "start" in change:
                change = {"subject": f"renamed {self.rng.randrange(99)}"}
            self.w0.call("PATCH", f"/me/events/{target['id']}", change)
        elif choice < 0.65 and masters:
            series = self.rng.choice(masters)
            instances = self.w0.call(
                "GET", f"/me/events/{series}/instances?startDateTime={self.window()[0]}"
                       f"&endDateTime={self.window()[1]}&$select=id")["value"]
            if instances:
                self.w0.call("DELETE", f"/me/events/{self.rng.choice(instances)['id']}")
        elif choice < 0.8:
            meetings = self.w1.call("GET", "/me/events?$select=id,responseStatus&$top=999")["value"]
            open_ones = [m["id"] for m in meetings
                         if m["responseStatus"]["response"] == "notResponded"]
            if open_ones:
                action = self.rng.choice(["accept", "decline", "tentativelyAccept"])
                self.w1.call("POST", f"/me/events/{self.rng.choice(open_ones)}/{action}",
                             {"sendResponse": True})
        elif choice < 0.9:
            mine = [e["id"] for e in events if e["isOrganizer"]]
            if mine:
                self.w0.call("POST", f"/me/events/{self.rng.choice(mine)}/cancel", {})
        else:
            self.w0.call("DELETE", f"/me/events/{self.rng.choice(events)['id']}")

    def directory(self) -> None:
        """Users' properties change; users join and leave groups."""
        tenant = self.emulator.tenant
        user = self.rng.choice(tenant.users)
        choice = self.rng.random()
        group = self.rng.choice(tenant.groups)["id"]
        if choice < 0.5:
            tenant.update_user(user["id"], jobTitle=self.rng.choice(["Analyst", "Lead", None]))
        elif choice < 0.75:
            tenant.add_member(group, user["id"])
        elif tenant.group_members.get(group):
            tenant.remove_member(group, self.rng.choice(tenant.group_members[group]))

    def forget(self) -> None:
        self.emulator.expire_delta_tokens()

    def step(self) -> None:
        actions: list[tuple[Callable[[], None], int]] = [
            (self.new_mail, 4), (self.send, 2), (self.draft, 2), (self.move, 3), (self.read, 3),
            (self.flag, 2), (self.delete, 2), (self.make_folder, 2), (self.rename_folder, 1),
            (self.delete_folder, 1), (self.contact, 3), (self.event, 4), (self.directory, 2),
            (self.forget, 1)]
        action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
        action()
        self.changes[action.__name__] = self.changes.get(action.__name__, 0) + 1


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=7, users=3, messages_per_user=40, events_per_user=4,
                  contacts_per_user=12, groups=3) as emu:
        yield emu


@pytest.mark.parametrize("seed", SEEDS + REGRESSION_SEEDS)
def test_replica_equals_live_after_random_changes(emulator: Emulator, tmp_path: Path,
                                                   seed: int) -> None:
    rng = random.Random(seed)
    world = World(emulator, str(tmp_path / "replica.db"), rng)
    compared_rows = compared_queries = inside = 0
    try:
        listing = ", ".join(TABLES)
        start, end = world.window()
        rows(world.live, f"REPLICATE CalendarView WHERE StartDateTime >= '{start}' AND "
                         f"EndDateTime <= '{end}'")
        for round_ in range(ROUNDS):
            if round_:
                for _ in range(rng.randrange(3, 12)):
                    world.step()
                world.event()  # every round changes the calendars at least once
                world.changes["event"] = world.changes.get("event", 0) + 1
            if not round_:
                rows(world.live, "REPLICATE Messages INCLUDE COLUMNS (Body_Content)")
            outcome = rows(world.live, f"REPLICATE TABLES ({listing})")
            outcome += rows(world.live_other, "REPLICATE TABLES (Events, CalendarView)")
            assert {r[0] for r in outcome} == set(TABLES), outcome
            assert all(r[-1] is None for r in outcome), outcome
            assert window_where(world.offline) == (
                f" WHERE StartDateTime = '{start}' AND EndDateTime = '{end}'")
            for table in TABLES:
                where = window_where(world.offline) if table == "CalendarView" else ""
                sql = f"SELECT * FROM {table}{where}"
                if table == "GroupMembers":  # addressed by group: every group's members
                    sql = "SELECT m.* FROM Groups g JOIN GroupMembers m ON m.GroupId = g.Id"
                compared_rows += same_rows(world.live, world.offline, sql)
                compared_queries += 1
            for sql in ANALYTIC:
                compared_rows += same_rows(world.live, world.offline, sql)
                compared_queries += 1
            for sql in ("SELECT * FROM Events",
                        "SELECT * FROM CalendarView" + window_where(world.offline_other)):
                compared_rows += same_rows(world.live_other, world.offline_other, sql)
                compared_queries += 1
            # A window inside the kept one, its edges at noon: answered by filtering the
            # kept window's rows, unless an all-day event near an edge sends it to Graph.
            low, high = (world.anchor + timedelta(days=d, hours=12) for d in (-20, 20))
            sub = (f" WHERE StartDateTime >= '{low:%Y-%m-%dT%H:%M:%SZ}' AND EndDateTime <= "
                   f"'{high:%Y-%m-%dT%H:%M:%SZ}'")
            try:
                compared_rows += same_rows(world.live, world.offline,
                                           f"SELECT * FROM CalendarView{sub}")
                compared_queries += 1
                inside += 1
            except o365sql.OperationalError as exc:
                assert "all-day event" in str(exc), exc
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}, changes {world.changes}: {exc}") from None
    finally:
        world.close()
    # Each parametrised run checks its own share of the floor.
    assert compared_queries >= FLOOR_QUERIES // len(SEEDS), compared_queries
    assert compared_rows >= FLOOR_ROWS // len(SEEDS), (compared_rows, world.changes)
    assert sum(world.changes.values()) >= ROUNDS, world.changes
    assert inside >= 1, "no window inside the kept one was answered from the replica"
    assert world.changes["event"] >= ROUNDS - 1, world.changes
