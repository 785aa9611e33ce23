"""MailFolders and ContactFolders hold every folder of the mailbox at any depth (issue 9,
point 5): Graph's ``/mailFolders`` lists the top level only, so the scan reads each level's
``childFolders`` in turn; ``ParentFolderId = 'x'`` still reads x's children alone."""

from __future__ import annotations

from typing import Any

import pytest
from execution_support import rows

from o365sql.emulator import Emulator


def _walked(connection: Any, table: str) -> set[str]:
    """Every folder id, found one parent at a time (``WHERE ParentFolderId = :p``)."""
    top = {r[0] for r in rows(connection, f"SELECT Id FROM {table}")
           if r is not None}
    found: set[str] = set()
    pending = [r[0] for r in rows(connection, f"SELECT Id, ParentFolderId FROM {table}")
               if r[1] not in top]  # the top level: parents outside the table
    while pending:
        folder = pending.pop()
        if folder in found:
            continue
        found.add(folder)
        pending += [r[0] for r in rows(
            connection, f"SELECT Id FROM {table} WHERE ParentFolderId = :p", {"p": folder})]
    return found


@pytest.mark.parametrize("table", ["MailFolders", "ContactFolders"])
def test_folder_tables_hold_every_level(emulator: Emulator, on: Any, off: Any,
                                        table: str) -> None:
    every = {r[0] for r in rows(on, f"SELECT Id FROM {table}")}
    assert every == {r[0] for r in rows(off, f"SELECT Id FROM {table}")}
    assert every == _walked(on, table)
    depth = rows(on, f"""WITH RECURSIVE tree(id, depth) AS (
        SELECT Id, 0 FROM {table} WHERE ParentFolderId NOT IN (SELECT Id FROM {table})
        UNION ALL SELECT f.Id, t.depth + 1 FROM {table} f JOIN tree t ON f.ParentFolderId = t.id)
        SELECT COUNT(*), MAX(depth) FROM tree""")[0]
    assert depth[0] == len(every)
    if table == "MailFolders":
        assert depth[1] >= 2, "the seeded mailbox has folders two levels down"


def test_unread_mail_per_folder_counts_every_unread_message(emulator: Emulator, on: Any,
                                                             off: Any) -> None:
    # Messages lists the mail of hidden folders too; MailFolders shows them when asked.
    sql = ("SELECT f.DisplayName, COUNT(*) FROM Messages m JOIN MailFolders f "
           "ON f.Id = m.ParentFolderId AND f.IncludeHiddenFolders = true "
           "WHERE m.IsRead = false GROUP BY f.Id, f.DisplayName")
    (unread,) = rows(on, "SELECT COUNT(*) FROM Messages WHERE IsRead = false")[0]
    assert unread > 0
    for connection in (on, off):
        assert sum(n for _, n in rows(connection, sql)) == unread


def test_the_tree_is_read_level_by_level_in_batches(emulator: Emulator, on: Any) -> None:
    (count,) = rows(on, "SELECT COUNT(*) FROM MailFolders")[0]
    emulator.clear_log()
    rows(on, "SELECT DisplayName FROM MailFolders WHERE DisplayName LIKE '%a%'")
    sent = [e for e in emulator.log if e.kind in ("graph", "batch")]
    assert sent[0].path.endswith("/mailFolders") and "$filter" not in sent[0].query
    inner = [i["url"] for e in sent if e.kind == "batch" for i in e.inner]
    singles = [e.path for e in sent[1:] if e.kind == "graph"]
    assert all("/childFolders" in u for u in inner + singles)
    # Leaves cost nothing: only folders with children are asked for theirs.
    assert len(inner) + len(singles) < count
    assert len(sent) <= 4, [e.path for e in sent]


def test_a_parent_folder_still_reads_its_children_only(emulator: Emulator, on: Any) -> None:
    emulator.clear_log()
    children = rows(on, "SELECT Id, ParentFolderId FROM MailFolders WHERE ParentFolderId = "
                        "'Inbox'")
    sent = [e for e in emulator.log if e.kind in ("graph", "batch")]
    assert len(sent) == 1 and sent[0].path.lower().endswith("/inbox/childfolders")
    (inbox,) = rows(on, "SELECT Id FROM MailFolders WHERE DisplayName = 'Inbox'")[0]
    assert children and all(parent == inbox for _, parent in children)
