"""Compact storage of one mailbox's mail folders and messages (emulator data stage).

A message is a slotted record of small ints and shared tuples; its Graph JSON (body, preview,
recipients, ids, etags) is rebuilt on demand by ``tenant.mail_json``. That keeps memory linear and small
(a few hundred bytes per message), so a tenant of 200,000 messages fits in one process. Messages
created or changed through the API keep their explicit values in ``extra``. Folder counters
(``totalItemCount``, ``unreadItemCount``) are kept up to date by the methods here, so listing
folders never walks the messages.

Hands on: ``MailStore`` to the tenant (one per mailbox) and to ``graph.mail``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import item_ids

# flag bits of MessageRecord.flags
READ = 1
DRAFT = 2
OTHER = 4  # inferenceClassification "other"
DELIVERY_RECEIPT = 8
READ_RECEIPT = 16
MEETING_REQUEST = 32  # a #microsoft.graph.eventMessageRequest
IMPORTANCE_SHIFT = 6  # 2 bits: 0 low, 1 normal, 2 high
FLAG_SHIFT = 8  # 2 bits: 0 notFlagged, 1 complete, 2 flagged
ATTACH_SHIFT = 10  # 3 bits: number of seeded file attachments

IMPORTANCE = ("low", "normal", "high")
FLAG_STATUS = ("notFlagged", "complete", "flagged")

WELL_KNOWN = {
    # name -> display name, under msgfolderroot (False: outside the visible tree), hidden
    "inbox": ("Inbox", True, False),
    "sentitems": ("Sent Items", True, False),
    "drafts": ("Drafts", True, False),
    "deleteditems": ("Deleted Items", True, False),
    "archive": ("Archive", True, False),
    "junkemail": ("Junk Email", True, False),
    "outbox": ("Outbox", True, False),
    "conversationhistory": ("Conversation History", True, False),
    "scheduled": ("Scheduled", True, True),
    # These live outside the IPM subtree (msgfolderroot), so no listing shows them.
    "searchfolders": ("Finder", False, True),
    "recoverableitemsdeletions": ("Deletions", False, True),
}


class MessageRecord:
    """One message, compactly. Times are POSIX seconds (UTC)."""

    __slots__ = (
        "cats",
        "cc",
        "change",
        "conv",
        "conv_pos",
        "extra",
        "flags",
        "folder",
        "modified",
        "received",
        "seed",
        "sender",
        "sent",
        "serial",
        "to",
    )

    def __init__(self, serial: int, folder: int, seed: int, received: int, sent: int, flags: int,
                 sender: int, to: tuple[int, ...], cc: tuple[int, ...], conv: int, conv_pos: int,
                 cats: tuple[str, ...]) -> None:
        self.serial = serial
        self.folder = folder
        self.seed = seed
        self.received = received
        self.sent = sent
        self.modified = received
        self.flags = flags
        self.sender = sender
        self.to = to
        self.cc = cc
        self.conv = conv
        self.conv_pos = conv_pos
        self.cats = cats
        self.change = 0
        self.extra: dict[str, Any] | None = None

    @property
    def is_read(self) -> bool:
        return bool(self.flags & READ)

    def copy(self, serial: int, folder: int) -> MessageRecord:
        rec = MessageRecord(serial, folder, self.seed, self.received, self.sent, self.flags, self.sender,
                            self.to, self.cc, self.conv, self.conv_pos, self.cats)
        rec.modified = self.modified
        rec.extra = _deep_copy(self.extra) if self.extra else None
        return rec


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


@dataclass
class MailFolder:
    serial: int
    display_name: str
    parent: int  # serial of the parent folder; the root's parent is 0
    hidden: bool = False
    well_known: str | None = None
    total: int = 0
    unread: int = 0
    children: list[int] = field(default_factory=list)


class MailStore:
    """Folders and messages of one mailbox. Callers hold the mailbox lock."""

    def __init__(self, next_serial: Iterator[int]) -> None:
        self._next = next_serial
        self.folders: dict[int, MailFolder] = {}
        self.well_known: dict[str, int] = {}
        self.messages: dict[int, MessageRecord] = {}
        self._ordered: list[MessageRecord] | None = None
        self._all: list[MessageRecord] | None = None
        self._by_folder: dict[int, list[MessageRecord]] = {}
        root = self.add_folder("Top of Information Store", 0, well_known="msgfolderroot")
        self.root = root.serial
        for name, (display, under_root, hidden) in WELL_KNOWN.items():
            self.add_folder(display, self.root if under_root else 0, hidden=hidden, well_known=name)

    def next_serial(self) -> int:
        return next(self._next)

    # folders ---------------------------------------------------------------------------------
    def add_folder(self, display_name: str, parent: int, *, hidden: bool = False,
                   well_known: str | None = None) -> MailFolder:
        folder = MailFolder(self.next_serial(), display_name, parent, hidden, well_known)
        self.folders[folder.serial] = folder
        if well_known:
            self.well_known[well_known] = folder.serial
        if parent in self.folders:
            self.folders[parent].children.append(folder.serial)
        return folder

    def folder_by_name(self, name: str) -> MailFolder | None:
        serial = self.well_known.get(name.lower())
        return self.folders.get(serial) if serial is not None else None

    def subtree(self, serial: int) -> list[int]:
        out, stack = [], [serial]
        while stack:
            s = stack.pop()
            out.append(s)
            stack.extend(self.folders[s].children)
        return out

    def remove_folder(self, serial: int) -> None:
        """Deletes a folder, its subfolders and their messages."""
        doomed = set(self.subtree(serial))
        for rec in [r for r in self.messages.values() if r.folder in doomed]:
            self.remove(rec.serial)
        parent = self.folders[serial].parent
        if parent in self.folders:
            self.folders[parent].children.remove(serial)
        for s in doomed:
            self.folders.pop(s, None)

    def reparent_folder(self, serial: int, new_parent: int) -> None:
        folder = self.folders[serial]
        if folder.parent in self.folders:
            self.folders[folder.parent].children.remove(serial)
        folder.parent = new_parent
        self.folders[new_parent].children.append(serial)
        self._ordered = None  # the folder may have left or joined the visible tree

    # messages --------------------------------------------------------------------------------
    def add(self, rec: MessageRecord) -> MessageRecord:
        self.messages[rec.serial] = rec
        folder = self.folders[rec.folder]
        folder.total += 1
        if not rec.flags & READ:
            folder.unread += 1
        self._changed()
        return rec

    def remove(self, serial: int) -> MessageRecord:
        rec = self.messages.pop(serial)
        folder = self.folders.get(rec.folder)
        if folder is not None:
            folder.total -= 1
            if not rec.flags & READ:
                folder.unread -= 1
        self._changed()
        return rec

    def set_read(self, rec: MessageRecord, read: bool) -> None:
        if read == bool(rec.flags & READ):
            return
        folder = self.folders[rec.folder]
        if read:
            rec.flags |= READ
            folder.unread -= 1
        else:
            rec.flags &= ~READ
            folder.unread += 1

    def soft_delete(self, serial: int) -> MessageRecord | None:
        """``DELETE /messages/{id}``: the item moves to Recoverable Items (Deletions) with a new id
        (out of every listing of the mailbox, graph-semantics §9 "Exchange soft-deletes"); an
        item already there is purged. Returns the recoverable copy, if any."""
        rec = self.remove(serial)
        deletions = self.well_known["recoverableitemsdeletions"]
        if rec.folder == deletions:
            return None
        return self.add(rec.copy(self.next_serial(), deletions))

    def _sorted(self) -> list[MessageRecord]:
        if self._all is None:
            self._all = sorted(self.messages.values(), key=lambda r: (
                -int(r.received), item_ids.order_key(item_ids.MESSAGE, r.serial)))
            self._by_folder = {}
        return self._all

    def ordered(self) -> list[MessageRecord]:
        """The messages of ``/me/messages``: every folder of the visible tree (msgfolderroot's
        subtree, so not Recoverable Items), newest received first (Outlook's default order), ties
        by id text as the OData engine breaks them; cached until a change. A list handed out is
        never changed (a change makes a new one), so callers and the query cache may keep it."""
        if self._ordered is None:
            visible = set(self.subtree(self.root))
            everything = self._sorted()
            self._ordered = everything if all(r.folder in visible for r in everything) else \
                [r for r in everything if r.folder in visible]
        return self._ordered

    def in_folder(self, serial: int) -> list[MessageRecord]:
        """One folder's messages in ``ordered()`` order; cached with it. Every folder's list
        is made in one pass (a delta refresh asks for every folder in turn)."""
        everything = self._sorted()
        if not self._by_folder:
            for rec in everything:
                self._by_folder.setdefault(rec.folder, []).append(rec)
        return self._by_folder.get(serial, [])

    def _changed(self) -> None:
        self._ordered = None
        self._all = None
