"""MIME through SQL: SendMail and CreateDraftFromMime take a whole MIME message (sent in
Graph's base64 ``text/plain`` form), DownloadEmail reads a message back as MIME (``/$value``);
attachments survive byte for byte."""

from __future__ import annotations

import email
import email.policy
import os
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from writes_support import rows, tag

from o365sql.emulator import Emulator


def _message(sender: str, to: str, subject: str, payload: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Report attached. Ça va ?\n")
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename="report.pdf")
    return msg.as_bytes()


def test_send_mail_as_mime_with_an_attachment(me: Any, other: Any, emulator: Emulator) -> None:
    subject, payload = tag(), os.urandom(5000)
    mime = _message(emulator.users[0], emulator.users[1], subject, payload)
    assert rows(me, "EXEC SendMail @MimeContent = ?", [mime]) == [("Success",)]
    (message_id, has_attachments), = rows(
        other, "SELECT Id, HasAttachments FROM Messages WHERE ParentFolderId = 'Inbox' "
               "AND Subject = ?", [subject])
    assert has_attachments is True
    got = rows(other, "EXEC DownloadAttachments @Id = ?", [message_id])
    assert [(r[1], r[2], r[4]) for r in got] == [("report.pdf", "application/pdf", payload)]
    assert rows(me, "SELECT Subject FROM Messages WHERE ParentFolderId = 'SentItems' AND "
                    "Subject = ?", [subject]) == [(subject,)]


def test_draft_from_mime_and_download_email(me: Any, emulator: Emulator, tmp_path: Path) -> None:
    subject, payload = tag(), b"%PDF-1.4\n" + bytes(range(256))
    mime = _message(emulator.users[0], emulator.users[1], subject, payload).decode("utf-8")
    (draft, shown_subject), = rows(me, "EXEC CreateDraftFromMime @MimeContent = ?", [mime])
    assert shown_subject == subject
    assert rows(me, "SELECT IsDraft, Body_ContentType FROM Messages WHERE Id = ?", [draft]) == [
        (True, "text")]
    (_, content, path), = rows(me, "EXEC DownloadEmail @Id = ?", [draft])
    assert path is None
    back = email.message_from_bytes(content, policy=email.policy.default)
    assert back["Subject"] == subject
    (part,) = list(back.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_filename() == "report.pdf" and part.get_payload(decode=True) == payload
    (_, none, written), = rows(me, "EXEC DownloadEmail @Id = ?, @DownloadLocation = ?",
                               [draft, str(tmp_path)])
    assert none is None and Path(written).parent == tmp_path
    again = email.message_from_bytes(Path(written).read_bytes(), policy=email.policy.default)
    assert again["Subject"] == subject  # (MIME boundaries differ between two answers)
    (part,) = list(again.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_payload(decode=True) == payload
