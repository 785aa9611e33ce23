"""COUNT(*) of a mail folder from the folder's own totalItemCount/unreadItemCount (issue 12):
one small GET of the folder, the same count as reading every message (``Pushdown=false``), for
every folder of the mailbox, addressed by id or by well-known name, with or without
``IsRead = false``; other conditions keep ``/$count``."""

from __future__ import annotations

from typing import Any

import pytest
from execution_support import rows

from o365sql.emulator import Emulator

TENANT = {"seed": 8, "users": 1, "messages_per_user": 120, "events_per_user": 2}


def _graph(emu: Emulator) -> list[str]:
    return [f"{e.path}?{e.query}" for e in emu.log if e.kind == "graph"]


@pytest.mark.parametrize("unread", [False, True])
def test_every_folder_counts_from_its_metadata(emulator: Emulator, on: Any, off: Any,
                                               unread: bool) -> None:
    folders = [r[0] for r in rows(off, "SELECT Id FROM MailFolders")]
    assert len(folders) >= 5
    condition = " AND IsRead = false" if unread else ""
    prop = "unreadItemCount" if unread else "totalItemCount"
    counted = 0
    for folder in folders + ["Inbox", "sentitems", "DRAFTS", "nosuchfolder"]:
        sql = f"SELECT COUNT(*) FROM Messages WHERE ParentFolderId = :f{condition}"
        emulator.clear_log()
        got = rows(on, sql, {"f": folder})
        assert _graph(emulator) == [
            f"/v1.0/me/mailFolders/{folder}?$select={prop}"], _graph(emulator)
        assert got == rows(off, sql, {"f": folder}), folder
        counted += got[0][0]
    assert counted > 0


def test_other_conditions_keep_the_count_segment(emulator: Emulator, on: Any, off: Any) -> None:
    sql = "SELECT COUNT(*) FROM Messages WHERE ParentFolderId = 'Inbox' AND IsRead = true"
    explained = rows(on, "EXPLAIN " + sql)
    assert any("/messages/$count" in detail for _, _, detail in explained), explained
    assert rows(on, sql) == rows(off, sql)


def test_counts_follow_changes(emulator: Emulator, on: Any, off: Any) -> None:
    mailbox = emulator.tenant.mailbox(emulator.users[0])
    assert mailbox is not None
    sql = "SELECT COUNT(*) FROM Messages WHERE ParentFolderId = 'inbox' AND IsRead = false"
    before = rows(on, sql)[0][0]
    with mailbox.lock:
        inbox = mailbox.mail.well_known["inbox"]
        unread = [r for r in mailbox.mail.in_folder(inbox) if not r.is_read]
        mailbox.mail.set_read(unread[0], True)
        mailbox.version += 1  # as every write does (the emulator's query cache)
    assert rows(on, sql) == rows(off, sql) == [(before - 1,)]
