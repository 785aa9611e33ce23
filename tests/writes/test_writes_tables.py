"""INSERT, UPDATE and DELETE through SQL, read back through SQL, against the emulator.

Each test writes items marked with a fresh tag and reads them back with ordinary SELECTs, so
seeded data (whose dates and counts may change) is looked up, never assumed.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from writes_support import connect, rows, tag

import o365sql
from o365sql.emulator import Emulator


def test_insert_message_makes_a_draft_and_returns_its_id(me: Any) -> None:
    subject = tag()
    cur = me.cursor()
    cur.execute("INSERT INTO Messages (Subject, Body_Content, Body_ContentType) "
                "VALUES (:s, '<p>hi</p>', 'HTML') RETURNING Id, IsDraft, Body_ContentType",
                {"s": subject})
    (new_id, is_draft, content_type), = cur.fetchall()
    assert cur.rowcount == 1 and cur.lastrowid == new_id
    assert is_draft is True and content_type == "html"
    drafts, = rows(me, "SELECT Id FROM MailFolders WHERE Id = 'Drafts'")[0]
    found = rows(me, "SELECT Id, ParentFolderId, Subject, Body_Content FROM Messages "
                     "WHERE Subject = ?", [subject])
    assert [(f[0], f[1], f[2]) for f in found] == [(new_id, drafts, subject)]
    assert "<p>hi</p>" in found[0][3]


def test_collection_and_complex_columns_are_written_in_the_form_they_are_read(me: Any) -> None:
    """What a SELECT returns for recipients, categories and flag is what an INSERT takes."""
    source = rows(me, "SELECT ToRecipients, CcRecipients, Categories, Importance FROM Messages "
                      "WHERE ToRecipients <> '[]' LIMIT 1")
    assert source, "the seeded mailbox has messages with recipients"
    to, cc, _categories, importance = source[0]
    subject = tag()
    me.cursor().execute(
        "INSERT INTO Messages (Subject, ToRecipients, CcRecipients, Categories, Importance) "
        "VALUES (?, ?, ?, ?, ?)", [subject, to, cc, '["Red category", "Blue category"]',
                                   importance])
    back = rows(me, "SELECT ToRecipients, CcRecipients, Categories, Importance FROM Messages "
                    "WHERE Subject = ?", [subject])
    assert back == [(to, cc, '["Red category","Blue category"]', importance)]


def test_update_takes_any_where_and_computed_values(me: Any) -> None:
    word = tag()
    cur = me.cursor()
    cur.executemany("INSERT INTO Messages (Subject) VALUES (?)",
                    [[f"{word} {n}"] for n in range(3)])
    assert cur.rowcount == 3
    cur.execute("UPDATE Messages SET Subject = Subject || ' (edited)', IsRead = true, "
                "Categories = '[\"Green category\"]' WHERE Subject LIKE ? AND IsDraft = true",
                [f"{word}%"])
    assert cur.rowcount == 3
    back = rows(me, "SELECT Subject, IsRead, Categories FROM Messages WHERE Subject LIKE ? "
                    "ORDER BY Subject", [f"{word}%"])
    assert back == [(f"{word} {n} (edited)", True, '["Green category"]') for n in range(3)]
    cur.execute("UPDATE Messages SET IsRead = false WHERE Subject = 'no such subject ' || ?",
                [word])
    assert cur.rowcount == 0


def test_delete_takes_any_where_and_counts_exactly(me: Any) -> None:
    word = tag()
    cur = me.cursor()
    cur.executemany("INSERT INTO Messages (Subject, Importance) VALUES (?, ?)",
                    [[f"{word} a", "low"], [f"{word} b", "high"], [f"{word} c", "high"]])
    cur.execute("DELETE FROM Messages WHERE Subject LIKE ? AND Importance = 'high'",
                [f"{word}%"])
    assert cur.rowcount == 2
    assert rows(me, "SELECT Subject FROM Messages WHERE Subject LIKE ?", [f"{word}%"]) == [
        (f"{word} a",)]


def test_events_write_start_end_time_zone_and_attendees(me: Any, emulator: Emulator) -> None:
    subject = tag()
    attendees = json.dumps([{"emailAddress": {"address": emulator.users[1]},
                             "type": "required"}])
    start = dt.datetime(2031, 3, 4, 9, 30)
    cur = me.cursor()
    cur.execute("INSERT INTO Events (Subject, Start_DateTime, Start_TimeZone, End_DateTime, "
                "End_TimeZone, Attendees, Location_DisplayName) VALUES (?, ?, 'UTC', ?, 'UTC', "
                "?, 'Room 1') RETURNING Id, TransactionId",
                [subject, start, start + dt.timedelta(hours=1), attendees])
    (event_id, transaction), = cur.fetchall()
    assert transaction, "every created event carries a transactionId"
    back = rows(me, "SELECT Id, Start_DateTime, End_DateTime, Start_TimeZone, "
                    "Location_DisplayName, Attendees FROM Events WHERE Subject = ?", [subject])
    assert [b[:5] for b in back] == [(event_id, start, start + dt.timedelta(hours=1), "UTC",
                                      "Room 1")]
    written = json.loads(back[0][5])
    assert [a["emailAddress"]["address"].lower() for a in written] == [
        emulator.users[1].lower()]
    # The attendees as read are accepted back unchanged.
    cur.execute("UPDATE Events SET Attendees = ?, Start_DateTime = ? WHERE Id = ?",
                [back[0][5], start + dt.timedelta(minutes=30), event_id])
    assert cur.rowcount == 1
    again = rows(me, "SELECT Attendees, Start_DateTime FROM Events WHERE Id = ?", [event_id])
    assert again == [(back[0][5], start + dt.timedelta(minutes=30))]


def test_contacts_addresses_and_email_slots(me: Any) -> None:
    surname = tag()
    emails = '[{"name":"Ann","address":"ann@example.com"}]'
    me.cursor().execute(
        "INSERT INTO Contacts (GivenName, Surname, EmailAddresses, BusinessAddress_City, "
        "BusinessPhones, Birthday) VALUES ('Ann', ?, ?, 'Lyon', '[\"+33 1 23\"]', ?)",
        [surname, emails, dt.datetime(1990, 5, 17, tzinfo=dt.UTC)])
    back = rows(me, "SELECT GivenName, EmailAddresses, BusinessAddress_City, BusinessPhones, "
                    "Birthday FROM Contacts WHERE Surname = ?", [surname])
    assert back == [("Ann", emails, "Lyon", '["+33 1 23"]',
                     dt.datetime(1990, 5, 17, tzinfo=dt.UTC))]


@pytest.mark.parametrize("table, name_column, parent", [
    ("MailFolders", "DisplayName", "ParentFolderId"),
    ("ContactFolders", "DisplayName", "ParentFolderId"),
    ("Calendars", "Name", None),
])
def test_folders_and_calendars_insert_rename_delete(me: Any, table: str, name_column: str,
                                                    parent: str | None) -> None:
    name = tag()
    cur = me.cursor()
    cur.execute(f"INSERT INTO {table} ({name_column}) VALUES (?) RETURNING Id", [name])
    (new_id,), = cur.fetchall()
    assert rows(me, f"SELECT Id FROM {table} WHERE {name_column} = ?", [name]) == [(new_id,)]
    if parent is not None:
        cur.execute(f"INSERT INTO {table} ({name_column}, {parent}) VALUES (?, ?)",
                    [name + " child", new_id])
        assert rows(me, f"SELECT {name_column} FROM {table} WHERE {parent} = ?",
                    [new_id]) == [(name + " child",)]
    cur.execute(f"UPDATE {table} SET {name_column} = ? WHERE Id = ?", [name + " renamed", new_id])
    assert cur.rowcount == 1
    assert rows(me, f"SELECT {name_column} FROM {table} WHERE Id = ?", [new_id]) == [
        (name + " renamed",)]
    cur.execute(f"DELETE FROM {table} WHERE Id = ?", [new_id])
    assert cur.rowcount == 1
    assert rows(me, f"SELECT Id FROM {table} WHERE {name_column} LIKE ?", [name + "%"]) == []


@pytest.mark.parametrize("sql, named", [
    ("UPDATE Messages SET IsDraft = false WHERE Id = 'x'", "Messages.IsDraft"),
    ("UPDATE Messages SET CreatedDateTime = '2020-01-01' WHERE Id = 'x'",
     "Messages.CreatedDateTime"),
    ("INSERT INTO Messages (Id, Subject) VALUES ('x', 'y')", "Messages.Id"),
    ("UPDATE Events SET ResponseStatus_Response = 'accepted' WHERE Id = 'x'",
     "Events.ResponseStatus_Response"),
    ("UPDATE Messages SET ParentFolderId = 'Archive' WHERE Id = 'x'", "MoveMail"),
])
def test_read_only_columns_are_refused_by_name(me: Any, sql: str, named: str) -> None:
    before = me.graph.stats.requests
    with pytest.raises(o365sql.ProgrammingError, match=named):
        me.cursor().execute(sql)
    assert me.graph.stats.requests == before, "nothing is sent for a refused write"


@pytest.mark.parametrize("sql, table", [
    ("INSERT INTO Users (DisplayName) VALUES ('x')", "Users"),
    ("DELETE FROM Groups WHERE Id = 'x'", "Groups"),
    ("UPDATE CalendarView SET Subject = 'x' WHERE Id = 'x'", "CalendarView"),
    ("DELETE FROM MessageAttachments WHERE Id = 'x'", "MessageAttachments"),
])
def test_read_only_tables_are_refused_by_name(me: Any, sql: str, table: str) -> None:
    with pytest.raises(o365sql.NotSupportedError, match=f"cannot \\w+ {table}"):
        me.cursor().execute(sql)


def test_bad_values_name_the_column(me: Any) -> None:
    with pytest.raises(o365sql.DataError, match="Messages.ToRecipients"):
        me.cursor().execute("INSERT INTO Messages (ToRecipients) VALUES ('not json')")
    with pytest.raises(o365sql.DataError, match="Messages.Importance"):
        me.cursor().execute("INSERT INTO Messages (Importance) VALUES ('urgent')")


def test_app_only_writes_another_mailbox_by_user_id(app: Any, other: Any,
                                                    emulator: Emulator) -> None:
    surname = tag()
    owner = emulator.users[1]
    cur = app.cursor()
    cur.execute("INSERT INTO Contacts (GivenName, Surname, UserId) VALUES ('Bo', ?, ?)",
                [surname, owner])
    assert cur.rowcount == 1
    assert rows(other, "SELECT GivenName FROM Contacts WHERE Surname = ?", [surname]) == [
        ("Bo",)]
    cur.execute("UPDATE Contacts SET JobTitle = 'Chef' WHERE UserId = ? AND Surname = ?",
                [owner, surname])
    assert cur.rowcount == 1
    assert rows(other, "SELECT JobTitle FROM Contacts WHERE Surname = ?", [surname]) == [
        ("Chef",)]
    with pytest.raises(o365sql.ProgrammingError, match="UserId"):
        cur.execute("INSERT INTO Contacts (GivenName) VALUES ('nobody')")
    cur.execute("DELETE FROM Contacts WHERE UserId = ? AND Surname = ?", [owner, surname])
    assert cur.rowcount == 1
    assert rows(other, "SELECT GivenName FROM Contacts WHERE Surname = ?", [surname]) == []


def test_missing_write_permission_is_reported_with_its_name(emulator: Emulator) -> None:
    reader = connect(emulator, emulator.users[0], ["Mail.Read", "Contacts.Read"])
    try:
        with pytest.raises(o365sql.PermissionDeniedError) as info:
            reader.cursor().execute("INSERT INTO Contacts (GivenName) VALUES ('x')")
        assert "Contacts.ReadWrite" in str(info.value)
        assert info.value.status == 403 and info.value.request_id
    finally:
        reader.close()


def test_executemany_sends_batches_of_twenty(me: Any, emulator: Emulator) -> None:
    """45 contacts: three $batch POSTs (20 + 20 + 5), every row's outcome counted."""
    surname = tag()
    before = me.graph.stats.requests
    emulator.clear_log()
    cur = me.cursor()
    cur.executemany("INSERT INTO Contacts (GivenName, Surname) VALUES (?, ?)",
                    [[f"n{n}", surname] for n in range(45)])
    assert cur.rowcount == 45
    assert me.graph.stats.requests - before == 3
    posts = [e for e in emulator.log if e.method == "POST"]
    assert len(posts) == 3 and all(e.path.endswith("/$batch") for e in posts)
    assert sorted(len(e.inner) for e in posts) == [5, 20, 20]
    names = rows(me, "SELECT GivenName FROM Contacts WHERE Surname = ?", [surname])
    assert sorted(n for n, in names) == sorted(f"n{n}" for n in range(45))
    cur.execute("DELETE FROM Contacts WHERE Surname = ?", [surname])
    assert cur.rowcount == 45


def test_a_failing_row_neither_hides_nor_stops_the_others(me: Any) -> None:
    """One row Graph refuses (its folder does not exist): the rows before and after it are
    still written, and the error says how many were done and which row failed."""
    surname = tag()
    params = [["one", surname, None], ["two", surname, "AAMkNoSuchFolder"],
              ["three", surname, None]]
    with pytest.raises(o365sql.Error) as info:
        me.cursor().executemany(
            "INSERT INTO Contacts (GivenName, Surname, ParentFolderId) VALUES (?, ?, ?)", params)
    assert "1 of 3 writes to Contacts failed (2 done)" in str(info.value)
    assert "parameter set 2, row 1" in str(info.value)
    outcomes = info.value.extra["outcomes"]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert sorted(rows(me, "SELECT GivenName FROM Contacts WHERE Surname = ?", [surname])) == [
        ("one",), ("three",)]


def test_insert_select_copies_rows_through_the_read_path(me: Any) -> None:
    surname = tag()
    cur = me.cursor()
    cur.executemany("INSERT INTO Contacts (GivenName, Surname, CompanyName) VALUES (?, ?, ?)",
                    [["Ann", surname, "Contoso"], ["Bo", surname, "Fabrikam"]])
    cur.execute("INSERT INTO Contacts (GivenName, Surname, CompanyName) "
                "SELECT GivenName || ' (copy)', Surname, UPPER(CompanyName) FROM Contacts "
                "WHERE Surname = ? RETURNING GivenName", [surname])
    assert cur.rowcount == 2 and sorted(cur.fetchall()) == [("Ann (copy)",), ("Bo (copy)",)]
    assert sorted(rows(me, "SELECT GivenName, CompanyName FROM Contacts WHERE Surname = ?",
                       [surname])) == [("Ann", "Contoso"), ("Ann (copy)", "CONTOSO"),
                                       ("Bo", "Fabrikam"), ("Bo (copy)", "FABRIKAM")]


def test_insert_chooses_the_folder_or_calendar_by_its_address_columns(me: Any) -> None:
    subject = tag()
    cur = me.cursor()
    cur.execute("INSERT INTO Messages (Subject, ParentFolderId) VALUES (?, 'Archive') "
                "RETURNING ParentFolderId", [subject])
    (folder,), = cur.fetchall()
    assert rows(me, "SELECT Id FROM MailFolders WHERE Id = 'Archive'") == [(folder,)]
    cur.execute("INSERT INTO Calendars (Name) VALUES (?) RETURNING Id", [subject])
    (calendar,), = cur.fetchall()
    cur.execute("INSERT INTO Events (Subject, Start_DateTime, Start_TimeZone, End_DateTime, "
                "End_TimeZone, CalendarId) VALUES (?, '2031-02-03T10:00:00', 'UTC', "
                "'2031-02-03T10:30:00', 'UTC', ?)", [subject, calendar])
    assert rows(me, "SELECT Subject FROM Events WHERE CalendarId = ?", [calendar]) == [
        (subject,)]


def test_bulk_writes_are_never_throttled_for_mailbox_concurrency(me: Any) -> None:
    """The 20 writes of a batch form one dependsOn chain: a mailbox never sees a fifth
    concurrent request, so Outlook's MailboxConcurrency 429 never comes."""
    surname = tag()
    before = me.graph.stats.throttled
    cur = me.cursor()
    cur.executemany("INSERT INTO Contacts (GivenName, Surname) VALUES (?, ?)",
                    [[f"n{n}", surname] for n in range(60)])
    cur.execute("UPDATE Contacts SET JobTitle = 'x' WHERE Surname = ?", [surname])
    cur.execute("DELETE FROM Contacts WHERE Surname = ?", [surname])
    assert cur.rowcount == 60 and me.graph.stats.throttled == before


def test_rowcount_leaves_out_rows_deleted_between_the_read_and_the_update(
        me: Any, other: Any, emulator: Emulator) -> None:
    """A row the WHERE found but someone deleted before its PATCH is not counted, and is no
    error (the emulator holds the PATCHes until the deletion is done)."""
    surname = tag()
    cur = me.cursor()
    cur.executemany("INSERT INTO Contacts (GivenName, Surname) VALUES (?, ?)",
                    [["a", surname], ["b", surname], ["c", surname]])
    (victim,), = rows(me, "SELECT Id FROM Contacts WHERE Surname = ? AND GivenName = 'b'",
                      [surname])
    rule = emulator.faults.hold(method="POST", path="/$batch", count=1)
    result: dict[str, Any] = {}

    def update() -> None:
        c = me.cursor()
        c.execute("UPDATE Contacts SET JobTitle = 'x' WHERE Surname = ?", [surname])
        result["rowcount"] = c.rowcount

    worker = threading.Thread(target=update)
    worker.start()
    try:
        assert emulator.faults.wait_held(1)
        deleter = connect(emulator, emulator.users[0], ["Contacts.ReadWrite"])
        deleter.cursor().execute("DELETE FROM Contacts WHERE Id = ?", [victim])
        deleter.close()
    finally:
        emulator.faults.release(rule.id)
        worker.join(30)
    assert result == {"rowcount": 2}
    assert sorted(rows(me, "SELECT GivenName, JobTitle FROM Contacts WHERE Surname = ?",
                       [surname])) == [("a", "x"), ("c", "x")]
