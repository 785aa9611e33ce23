"""What each table holds (issue 9 point 5): the rows of every table read without an address,
over real HTTP, against the emulator's own store (the independent truth), as the table's
description in the catalog and ``docs/reference.md`` states it: Messages every message of
every folder (hidden ones too), MailFolders and ContactFolders every folder at any depth,
Contacts and Events the default folder's and calendar's only (and every item with the
documented query), Calendars, Users and Groups everything, GroupMembers the direct members."""

from __future__ import annotations

from typing import Any

from execution_support import rows

from o365sql.catalog import load_catalog
from o365sql.emulator import Emulator
from o365sql.emulator.tenant import item_ids
from o365sql.emulator.tenant.contact_store import contact_folder_id

TENANT = {"seed": 3, "users": 2, "messages_per_user": 30, "events_per_user": 6,
          "contacts_per_user": 12}


def _ids(connection: Any, sql: str) -> set[str]:
    found = [r[0] for r in rows(connection, sql)]
    assert len(found) == len(set(found)), f"{sql}: duplicated rows"
    return set(found)


def test_every_table_holds_what_its_description_says(emulator: Emulator, on: Any) -> None:
    tenant = emulator.tenant
    me = tenant.user(emulator.users[0])
    assert me is not None
    mb = tenant.mailbox(me["id"])
    assert mb is not None
    checked: dict[str, int] = {}

    mail = mb.mail
    tree = [s for s in mail.subtree(mail.root) if s != mail.root]
    hidden = {s for f in mail.folders.values() if f.hidden for s in mail.subtree(f.serial)}
    assert hidden & set(tree), "the tenant has no hidden folder under the root"
    messages = {mb.item_id(item_ids.MESSAGE, r.serial) for s in tree for r in mail.in_folder(s)}
    assert any(mail.in_folder(s) for s in set(tree) - {mail.well_known["inbox"]})
    checked["Messages"] = len(messages)
    assert _ids(on, "SELECT Id FROM Messages") == messages
    visible = {mb.folder_id(s) for s in tree if s not in hidden}
    checked["MailFolders"] = len(visible)
    assert _ids(on, "SELECT Id FROM MailFolders") == visible
    assert _ids(on, "SELECT Id FROM MailFolders WHERE IncludeHiddenFolders = true") == \
        {mb.folder_id(s) for s in tree}
    assert any(mail.folders[s].parent != mail.root for s in tree), "no nested mail folder"

    contacts = mb.contacts
    below = [s for s in contacts.subtree(contacts.default) if s != contacts.default]
    assert any(contacts.folders[s].parent != contacts.default for s in below), "no nested folder"
    checked["ContactFolders"] = len(below)
    assert _ids(on, "SELECT Id FROM ContactFolders") == {contact_folder_id(mb, s) for s in below}
    default_items = {mb.item_id(item_ids.CONTACT, c.serial)
                     for c in contacts.in_folder(contacts.default)}
    every = {mb.item_id(item_ids.CONTACT, c.serial) for c in contacts.contacts.values()}
    assert every - default_items, "every contact is in the default folder"
    checked["Contacts"] = len(default_items)
    assert _ids(on, "SELECT Id FROM Contacts") == default_items
    assert _ids(on, "SELECT Id FROM Contacts UNION ALL SELECT Id FROM Contacts WHERE "
                    "ParentFolderId IN (SELECT Id FROM ContactFolders)") == every

    calendars = mb.calendars
    default_events = {mb.item_id(item_ids.EVENT, e.serial)
                      for e in calendars.in_calendar(calendars.default)}
    all_events = {mb.item_id(item_ids.EVENT, e.serial) for e in calendars.in_calendar(None)}
    assert all_events - default_events, "every event is in the default calendar"
    checked["Events"] = len(default_events)
    assert _ids(on, "SELECT Id FROM Events") == default_events
    assert _ids(on, "SELECT e.Id FROM Events e JOIN Calendars c ON e.CalendarId = c.Id") == \
        all_events
    checked["Calendars"] = len(calendars.calendars)
    assert _ids(on, "SELECT Id FROM Calendars") == \
        {mb.item_id(item_ids.CALENDAR, s) for s in calendars.calendars}

    checked["Users"] = len(tenant.users)
    assert _ids(on, "SELECT Id FROM Users") == {u["id"] for u in tenant.users}
    checked["Groups"] = len(tenant.groups)
    assert _ids(on, "SELECT Id FROM Groups") == {g["id"] for g in tenant.groups}
    members = 0
    for group in tenant.groups:
        gid = group["id"].replace("'", "''")
        direct = set(tenant.group_members.get(group["id"], []))
        assert _ids(on, f"SELECT Id FROM GroupMembers WHERE GroupId = '{gid}'") == direct
        members += len(direct)
    checked["GroupMembers"] = members
    assert all(checked.values()), checked
    # Every table read without an address (no required pseudo-column) is checked here.
    unaddressed = {t.name for t in load_catalog().tables.values()
                   if any(not e.requires for e in t.endpoints)}
    assert unaddressed <= set(checked), unaddressed - set(checked)
