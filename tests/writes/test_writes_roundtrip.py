"""Every writable column is written in the form it is read: seeded items are copied column by
column (SELECT their writable columns, INSERT the values as read), and the copies read back
equal, for every table that takes writes. This checks the class (each column's read path and
write path agree), not a few hand-picked columns."""

from __future__ import annotations

from typing import Any

import pytest
from writes_support import rows, tag

from o365sql.catalog import load_catalog

CATALOG = load_catalog()
# Values Graph itself sets on a new item, whatever the copy says (so they are not compared):
# an attendee's response is theirs to give (event resource: attendee.status); a new calendar
# is not the default one; Graph keeps an event's transactionId unique, so the copy gets its own.
SERVER_SET = {("Events", "Attendees"), ("Calendars", "IsDefaultCalendar"),
              ("Events", "TransactionId")}
# The name a copy must not share with its original (folder names are unique per parent).
UNIQUE_NAMES = {"MailFolders": "DisplayName", "ContactFolders": "DisplayName",
                "Calendars": "Name"}
# Which seeded items to copy: a message with a sender (drafts have none until one is set).
SOURCES = {"Messages": "WHERE IsDraft = false", "Events": "WHERE Type = 'singleInstance'"}


@pytest.mark.parametrize("table", ["Messages", "Events", "Contacts", "MailFolders",
                                   "ContactFolders", "Calendars"])
def test_copies_of_seeded_items_read_back_equal(me: Any, table: str) -> None:
    columns = [c.name for c in CATALOG.table(table).columns if not c.readonly]
    originals = rows(me, f"SELECT {', '.join(columns)} FROM {table} {SOURCES.get(table, '')} "
                         "LIMIT 3")
    assert originals, f"the seeded mailbox has {table}"
    compared = 0
    for original in originals:
        values = dict(zip(columns, original))
        if table in UNIQUE_NAMES:
            values[UNIQUE_NAMES[table]] = tag()
        values = {k: v for k, v in values.items() if (table, k) not in SERVER_SET}
        names = list(values)
        cur = me.cursor()
        cur.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                    f"({', '.join('?' * len(names))}) RETURNING Id", list(values.values()))
        (new_id,), = cur.fetchall()
        copy, = rows(me, f"SELECT {', '.join(names)} FROM {table} WHERE Id = ?", [new_id])
        differing = {n: (values[n], got) for n, got in zip(names, copy) if got != values[n]}
        assert differing == {}, f"{table} columns read back differently"
        compared += len(names)
    # At least one whole item compared, every writable column that Graph does not set itself.
    assert compared >= len([c for c in columns if (table, c) not in SERVER_SET])
