"""The mail, calendar and attachment procedures, end to end: EXEC through SQL, the outcome read
back through SQL as the other demo users see it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from writes_support import connect, rows, tag

import o365sql
from o365sql.emulator import Emulator


def inbox(connection: Any, subject: str) -> list[tuple[Any, ...]]:
    return rows(connection, "SELECT Id, From_EmailAddress_Address, HasAttachments FROM Messages "
                            "WHERE ParentFolderId = 'Inbox' AND Subject = ?", [subject])


def test_send_mail_lands_in_the_inbox_and_sent_items(me: Any, other: Any,
                                                     emulator: Emulator) -> None:
    subject = tag()
    assert rows(me, "EXEC SendMail @ToRecipients = ?, @Subject = ?, @Content = 'Hello'",
                     [emulator.users[1], subject]) == [("Success",)]
    received = inbox(other, subject)
    assert [(r[1].lower(), r[2]) for r in received] == [(emulator.users[0].lower(), False)]
    assert rows(me, "SELECT Subject FROM Messages WHERE ParentFolderId = 'SentItems' "
                    "AND Subject = ?", [subject]) == [(subject,)]


def test_send_a_draft_by_id(me: Any, other: Any, emulator: Emulator) -> None:
    subject = tag()
    cur = me.cursor()
    cur.execute("INSERT INTO Messages (Subject, ToRecipients) VALUES (?, ?) RETURNING Id",
                [subject, json.dumps([{"emailAddress": {"address": emulator.users[1]}}])])
    (draft,), = cur.fetchall()
    cur.execute("EXEC SendMail @Id = ?", [draft])
    assert len(inbox(other, subject)) == 1
    assert rows(me, "SELECT Id FROM Messages WHERE ParentFolderId = 'Drafts' AND Subject = ?",
                [subject]) == []


def test_send_with_attachments_and_download_them_byte_exact(me: Any, other: Any,
                                                            emulator: Emulator,
                                                            tmp_path: Path) -> None:
    subject = tag()
    first, second = os.urandom(3000), b"plain text\r\n\x00\xff"
    local = tmp_path / "second.bin"
    local.write_bytes(second)
    me.cursor().execute(
        "EXEC SendMail @ToRecipients = ?, @Subject = ?, @Attachments = ?",
        [emulator.users[1], subject,
         f"first.bin, {base64.b64encode(first).decode()}; second.bin, @{local}"])
    (message_id, _, has_attachments), = inbox(other, subject)
    assert has_attachments is True
    got = rows(other, "EXEC DownloadAttachments @Id = ?", [message_id])
    assert sorted((r[1], r[3], r[4]) for r in got) == [
        ("first.bin", len(first), first), ("second.bin", len(second), second)]
    folder = tmp_path / "out"
    folder.mkdir()
    written = rows(other, "EXEC DownloadAttachments @Id = ?, @DownloadLocation = ?",
                        [message_id, str(folder)])
    assert sorted(Path(r[5]).read_bytes() for r in written) == sorted([first, second])
    assert all(r[4] is None for r in written)


def test_add_download_and_delete_attachments_of_a_draft(me: Any, tmp_path: Path) -> None:
    cur = me.cursor()
    cur.execute("INSERT INTO Messages (Subject) VALUES (?) RETURNING Id", [tag()])
    (draft,), = cur.fetchall()
    payload = bytes(range(256)) * 40
    added = rows(me, "EXEC AddAttachments @Id = ?, @FileName = 'data.bin', @Content = ?, "
                          "@ContentType = 'application/octet-stream'", [draft, payload])
    (attachment_id, name, _, size, _), = added
    assert (name, size) == ("data.bin", len(payload))
    path = tmp_path / "notes.txt"
    path.write_text("notes\n", encoding="utf-8")
    cur.execute("EXEC AddAttachments @Id = ?, @FileName = 'notes.txt', @LocalFile = ?",
                [draft, str(path)])
    assert rows(me, "SELECT HasAttachments FROM Messages WHERE Id = ?", [draft]) == [(True,)]
    one = rows(me, "EXEC DownloadAttachments @Id = ?, @AttachmentId = ?",
                    [draft, attachment_id])
    assert [(r[1], r[4]) for r in one] == [("data.bin", payload)]
    cur.execute("EXEC DeleteAttachment @Id = ?, @AttachmentId = ?", [draft, attachment_id])
    left = rows(me, "EXEC DownloadAttachments @Id = ?", [draft])
    assert [(r[1], r[4]) for r in left] == [("notes.txt", b"notes\n")]



def test_large_attachments_go_through_an_upload_session(me: Any, emulator: Emulator) -> None:
    """5 MB: one createUploadSession, two slice PUTs without a bearer token, read back whole."""
    cur = me.cursor()
    cur.execute("INSERT INTO Messages (Subject) VALUES (?) RETURNING Id", [tag()])
    (draft,), = cur.fetchall()
    big = os.urandom(5 * 1024 * 1024 + 123)
    emulator.clear_log()
    (attachment_id, name, content_type, size, _), = rows(
        me, "EXEC AddAttachments @Id = ?, @FileName = 'video.mp4', @Content = ?, "
            "@ContentType = 'video/mp4'", [draft, big])
    assert (name, content_type, size) == ("video.mp4", "video/mp4", len(big))
    calls = [(e.method, e.path.rsplit("/", 1)[-1]) for e in emulator.log]
    assert calls[0] == ("POST", "createUploadSession")
    puts = [e for e in emulator.log if e.method == "PUT"]
    assert len(puts) == 2 and all(e.client_id is None for e in puts)
    got = rows(me, "EXEC DownloadAttachments @Id = ?, @AttachmentId = ?", [draft, attachment_id])
    assert [(r[1], r[4] == big) for r in got] == [("video.mp4", True)]


def test_move_and_copy_mail_between_folders_by_name(me: Any) -> None:
    subject = tag()
    cur = me.cursor()
    cur.execute("INSERT INTO Messages (Subject) VALUES (?) RETURNING Id", [subject])
    (draft,), = cur.fetchall()
    archive, = rows(me, "SELECT Id FROM MailFolders WHERE Id = 'Archive'")[0]
    (moved, folder), = rows(me, "EXEC MoveMail @Id = ?, @DestinationId = 'Archive'",
                                 [draft])
    assert folder == archive
    assert rows(me, "SELECT Id FROM Messages WHERE ParentFolderId = 'Archive' AND Subject = ?",
                [subject]) == [(moved,)]
    name = tag()
    (created, _), = rows(me, "EXEC CreateFolder @DisplayName = ?", [name])
    (copied, copied_folder), = rows(me, "EXEC CopyMail @Id = ?, @DestinationId = ?",
                                         [moved, name])
    assert copied_folder == created and copied != moved
    assert sorted(rows(me, "SELECT ParentFolderId FROM Messages WHERE Subject = ?", [subject])) \
        == sorted([(archive,), (created,)])


def test_reply_and_forward(me: Any, other: Any, emulator: Emulator) -> None:
    subject = tag()
    me.cursor().execute("EXEC SendMail @ToRecipients = ?, @Subject = ?",
                        [emulator.users[1], subject])
    (received, _, _), = inbox(other, subject)
    other.cursor().execute("EXEC ReplyToMessage @Id = ?, @Comment = 'Thanks!'", [received])
    replies = rows(me, "SELECT From_EmailAddress_Address, Body_Content FROM Messages "
                       "WHERE ParentFolderId = 'Inbox' AND Subject = ?", ["RE: " + subject])
    assert len(replies) == 1 and replies[0][0].lower() == emulator.users[1].lower()
    assert "Thanks!" in replies[0][1]
    other.cursor().execute("EXEC ForwardMail @Id = ?, @ToRecipients = ?, @Comment = 'FYI'",
                           [received, emulator.users[2]])
    third = connect(emulator, emulator.users[2], ["Mail.Read"])
    try:
        assert len(inbox(third, "FW: " + subject)) == 1
    finally:
        third.close()


def _invite(me: Any, emulator: Emulator, subject: str) -> str:
    start = dt.datetime(2031, 6, 2, 14, 0)
    me.cursor().execute(
        "INSERT INTO Events (Subject, Start_DateTime, Start_TimeZone, End_DateTime, End_TimeZone,"
        " Attendees) VALUES (?, ?, 'UTC', ?, 'UTC', ?)",
        [subject, start, start + dt.timedelta(hours=1),
         json.dumps([{"emailAddress": {"address": emulator.users[1]}, "type": "required"}])])
    (event_id,), = rows(me, "SELECT Id FROM Events WHERE Subject = ?", [subject])
    return str(event_id)


def _attendee_status(me: Any, subject: str, address: str) -> str:
    (attendees,), = rows(me, "SELECT Attendees FROM Events WHERE Subject = ?", [subject])
    return next(a["status"]["response"] for a in json.loads(attendees)
                if a["emailAddress"]["address"].lower() == address.lower())


@pytest.mark.parametrize("response, status", [
    ("accept", "accepted"), ("tentative", "tentativelyAccepted"), ("decline", "declined")])
def test_invitations_answered_by_the_attendee(me: Any, other: Any, emulator: Emulator,
                                              response: str, status: str) -> None:
    subject = tag()
    _invite(me, emulator, subject)
    (copy,), = rows(other, "SELECT Id FROM Events WHERE Subject = ?", [subject])
    proposal = "" if response == "accept" else (
        ", @ProposedStartDateTime = '2031-06-02T15:00:00', "
        "@ProposedEndDateTime = '2031-06-02T16:00:00'")
    assert rows(other, f"EXEC RespondToEvent @Id = ?, @Response = ?, @Comment = 'ok'"
                            f"{proposal}", [copy, response]) == [("Success",)]
    assert rows(other, "SELECT ResponseStatus_Response FROM Events WHERE Id = ?", [copy]) == [
        (status,)]
    assert _attendee_status(me, subject, emulator.users[1]) == status


def test_accept_with_a_proposed_time_is_refused_before_sending(other: Any) -> None:
    before = other.graph.stats.requests
    with pytest.raises(o365sql.ProgrammingError, match="tentative answer or a decline"):
        other.cursor().execute("EXEC RespondToEvent @Id = 'x', @Response = 'accept', "
                               "@ProposedStartDateTime = '2031-01-01T10:00:00', "
                               "@ProposedEndDateTime = '2031-01-01T11:00:00'")
    assert other.graph.stats.requests == before


def test_cancel_forward_dismiss_and_snooze_events(me: Any, other: Any,
                                                  emulator: Emulator) -> None:
    subject = tag()
    event = _invite(me, emulator, subject)
    for sql, params in (
            ("EXEC ForwardEvent @Id = ?, @ToRecipients = ?, @Comment = 'join us'",
             [event, emulator.users[2]]),
            ("EXEC DismissEventReminder @Id = ?", [event]),
            ("EXEC SnoozeEventReminder @Id = ?, @NewReminderTime = '2031-06-02T13:50:00'",
             [event])):
        assert rows(me, sql, params) == [("Success",)]
    with pytest.raises(o365sql.ProgrammingError, match="ErrorInvalidRecipients|ToRecipients"):
        me.cursor().execute("EXEC ForwardEvent @Id = ?, @ToRecipients = ''", [event])
    (copy,), = rows(other, "SELECT Id FROM Events WHERE Subject = ?", [subject])
    with pytest.raises(o365sql.ProgrammingError, match="organizer"):
        other.cursor().execute("EXEC CancelEvent @Id = ?", [copy])
    me.cursor().execute("EXEC CancelEvent @Id = ?, @Comment = 'sorry'", [event])
    assert rows(me, "SELECT Id FROM Events WHERE Subject = ?", [subject]) == []
    assert rows(other, "SELECT IsCancelled FROM Events WHERE Subject = ?", [subject]) == [
        (True,)]


def test_a_token_without_mail_send_is_told_the_permission(emulator: Emulator) -> None:
    writer = connect(emulator, emulator.users[0], ["Mail.ReadWrite"])
    try:
        with pytest.raises(o365sql.PermissionDeniedError) as info:
            writer.cursor().execute("EXEC SendMail @ToRecipients = ?, @Subject = 'x'",
                                    [emulator.users[1]])
        assert "Mail.Send" in str(info.value) and info.value.status == 403
        assert info.value.request_id and info.value.request_id in str(info.value)
    finally:
        writer.close()


def test_app_only_sends_as_a_user_by_user_id(app: Any, other: Any, emulator: Emulator) -> None:
    subject = tag()
    app.cursor().execute("EXEC SendMail @UserId = ?, @ToRecipients = ?, @Subject = ?",
                         [emulator.users[0], emulator.users[1], subject])
    assert len(inbox(other, subject)) == 1
    with pytest.raises(o365sql.ProgrammingError, match="@UserId"):
        app.cursor().execute("EXEC SendMail @ToRecipients = ?, @Subject = 'x'",
                             [emulator.users[1]])


PROCEDURES = {
    "SendMail": {"Id", "Subject", "Content", "Attachments", "FileName", "LocalFile",
                 "ContentBytes", "ToRecipients", "CCRecipients", "BccRecipients", "SenderEmail",
                 "FromEmail", "ContentType", "SaveToSentItems", "MimeContent", "UserId"},
    "CreateDraftFromMime": {"MimeContent", "UserId"},
    "DownloadEmail": {"Id", "DownloadLocation", "FileName", "UserId"},
    "MoveMail": {"Id", "DestinationId", "UserId"},
    "CopyMail": {"Id", "DestinationId", "UserId"},
    "ForwardMail": {"Id", "ToRecipients", "Comment", "UserId"},
    "ReplyToMessage": {"Id", "Comment", "ReplyAll", "UserId"},
    "CreateFolder": {"DisplayName", "ParentFolderId", "IsHidden", "UserId"},
    "RespondToEvent": {"Id", "Response", "Comment", "SendResponse", "ProposedStartDateTime",
                       "ProposedEndDateTime", "ProposedTimeZone", "UserId"},
    "CancelEvent": {"Id", "Comment", "UserId"},
    "ForwardEvent": {"Id", "ToRecipients", "Comment", "UserId"},
    "DismissEventReminder": {"Id", "UserId"},
    "SnoozeEventReminder": {"Id", "NewReminderTime", "TimeZone", "UserId"},
    "AddAttachments": {"Id", "DestinationType", "FileName", "LocalFile", "ContentBytes",
                       "Content", "ContentType", "IsInline", "UserId"},
    "DownloadAttachments": {"Id", "DestinationType", "AttachmentId", "DownloadLocation",
                            "Overwrite", "UserId"},
    "DeleteAttachment": {"Id", "DestinationType", "AttachmentId", "UserId"},
}


def test_every_action_procedure_is_listed_with_its_parameters(me: Any) -> None:
    listed = {name for name, in rows(me, "SELECT ProcedureName FROM sys_procedures")}
    assert set(PROCEDURES) <= listed
    found: dict[str, set[str]] = {}
    for procedure, parameter in rows(me, "SELECT ProcedureName, ColumnName FROM "
                                         "sys_procedureparameters WHERE Direction = 1"):
        found.setdefault(procedure, set()).add(parameter)
    assert {p: found.get(p) for p in PROCEDURES} == PROCEDURES


def test_send_mail_without_saving_to_sent_items(me: Any, other: Any,
                                                emulator: Emulator) -> None:
    subject = tag()
    me.cursor().execute("EXEC SendMail @ToRecipients = ?, @Subject = ?, @SaveToSentItems = false, "
                        "@ContentType = 'html', @Content = '<b>bold</b>', @CCRecipients = ?",
                        [emulator.users[1], subject, emulator.users[2]])
    assert rows(other, "SELECT Body_ContentType FROM Messages WHERE ParentFolderId = 'Inbox' "
                       "AND Subject = ?", [subject]) == [("html",)]
    assert rows(me, "SELECT Id FROM Messages WHERE Subject = ?", [subject]) == []
