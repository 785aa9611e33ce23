"""Contact folders and contacts of one mailbox, and their Graph JSON (emulator data stage).

The default "Contacts" folder holds ``/me/contacts``; ``/me/contactFolders`` lists its child
folders only, since v1.0 leaves the default folder out (known issue, graph-semantics §3.6/3.7).
Contact shape and property order follow contact-get.md.

Hands on: ``ContactStore`` to the tenant, ``contact_json``/``contact_folder_json`` to
``graph.contacts``.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import item_ids

if TYPE_CHECKING:
    from .tenant import Mailbox

CONTACT_PROPERTIES = [
    "birthday", "fileAs", "displayName", "givenName", "initials", "middleName", "nickName", "surname",
    "title", "yomiGivenName", "yomiSurname", "yomiCompanyName", "generation", "imAddresses", "jobTitle",
    "companyName", "department", "officeLocation", "profession", "businessHomePage", "assistantName",
    "manager", "homePhones", "mobilePhone", "businessPhones", "spouseName", "personalNotes", "children",
    "emailAddresses", "homeAddress", "businessAddress", "otherAddress",
]
# contact.md: the first three entries of emailAddresses, as Outlook's Email1-3 slots; null when
# the slot is empty (derived here, they are not stored twice).
EMAIL_SLOTS = ("primaryEmailAddress", "secondaryEmailAddress", "tertiaryEmailAddress")
COLLECTIONS = {"imAddresses", "homePhones", "businessPhones", "children", "emailAddresses"}
ADDRESSES = {"homeAddress", "businessAddress", "otherAddress"}


@dataclass
class ContactFolderRecord:
    serial: int
    display_name: str
    parent: int  # 0: the root above the default folder


@dataclass
class ContactRecord:
    serial: int
    folder: int
    data: dict[str, Any]
    created: float
    modified: float
    categories: list[str]
    change: int = 0


class ContactStore:
    """Contact folders and contacts of one mailbox. Callers hold the mailbox lock."""

    def __init__(self, next_serial: Iterator[int]) -> None:
        self._next = next_serial
        self.root = self.next_serial()
        self.folders: dict[int, ContactFolderRecord] = {}
        self.contacts: dict[int, ContactRecord] = {}
        self.default = self.add_folder("Contacts", self.root).serial

    def next_serial(self) -> int:
        return next(self._next)

    def add_folder(self, name: str, parent: int) -> ContactFolderRecord:
        rec = ContactFolderRecord(self.next_serial(), name, parent)
        self.folders[rec.serial] = rec
        return rec

    def children(self, parent: int) -> list[ContactFolderRecord]:
        return [f for f in self.folders.values() if f.parent == parent]

    def subtree(self, serial: int) -> list[int]:
        out, stack = [], [serial]
        while stack:
            s = stack.pop()
            out.append(s)
            stack.extend(f.serial for f in self.children(s))
        return out

    def in_folder(self, serial: int) -> list[ContactRecord]:
        return [c for c in self.contacts.values() if c.folder == serial]


#: The single-value extended properties a write stored (kept beside the contact properties).
EXTENDED = "singleValueExtendedProperties"


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Every contact property present, with Graph's empty values ([] and {})."""
    out: dict[str, Any] = {EXTENDED: data[EXTENDED]} if data.get(EXTENDED) else {}
    for name in CONTACT_PROPERTIES:
        value = data.get(name)
        if value is None and name in COLLECTIONS:
            value = []
        elif value is None and name in ADDRESSES:
            value = {}
        out[name] = value
    if not out["displayName"]:
        out["displayName"] = " ".join(p for p in (out["givenName"], out["surname"]) if p) or None
    if not out["fileAs"] and out["surname"] and out["givenName"]:
        out["fileAs"] = f"{out['surname']}, {out['givenName']}"
    return out


def contact_json(mb: Mailbox, rec: ContactRecord) -> dict[str, Any]:
    ck = base64.b64encode(b"\x11\x00\x00\x00\x16\x00\x00\x00" + mb.key[:10] + struct.pack(">IH", rec.serial, rec.change)).decode("ascii")
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{ck}"',
        "id": mb.item_id(item_ids.CONTACT, rec.serial),
        "createdDateTime": datetime.fromtimestamp(int(rec.created), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastModifiedDateTime": datetime.fromtimestamp(int(rec.modified), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "changeKey": ck,
        "categories": list(rec.categories),
        "parentFolderId": contact_folder_id(mb, rec.folder),
    }
    for name in CONTACT_PROPERTIES:
        value = rec.data.get(name)
        out[name] = [dict(v) if isinstance(v, dict) else v for v in value] if isinstance(value, list) else (
            dict(value) if isinstance(value, dict) else value)
    emails = out.get("emailAddresses") or []
    for i, name in enumerate(EMAIL_SLOTS):
        out[name] = dict(emails[i]) if i < len(emails) else None
    if rec.data.get(EXTENDED):
        # Stored by a write; Graph returns them only with $expand (odata.rules select_only).
        out[EXTENDED] = [dict(p) for p in rec.data[EXTENDED]]
    return out


def contact_folder_id(mb: Mailbox, serial: int) -> str:
    return mb.item_id(item_ids.CONTACT_FOLDER, serial)


def contact_folder_json(mb: Mailbox, rec: ContactFolderRecord) -> dict[str, Any]:
    return {"id": contact_folder_id(mb, rec.serial), "displayName": rec.display_name,
            "parentFolderId": contact_folder_id(mb, rec.parent)}
