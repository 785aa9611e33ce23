"""Execution stage, well-known folder names: resolve them to folder ids for the local engine.

The planner (``planning/folders.py``) rewrote every well-known folder name compared with a
folder id column (``ParentFolderId``, ``MailFolders.Id``) outside the endpoint choice into
``O365_FOLDER_ID(UserId, 'name')``. Here
each (mailbox, name) is resolved once per statement with the table's single-folder GET
(``GET /me/mailFolders/inbox?$select=id``, graph-semantics §3.1), and the function is
registered on the statement's SQLite connection: it answers the real id, or the name itself
when the mailbox has no such folder (a name never equals a folder id, so it matches no row).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from ..exceptions import Error
from ..odata.query import ODataQuery, render
from ..planning.folders import FOLDER_ID, MAILBOX_COLUMN
from ..planning.plan import Scan
from .scan import missing, with_table

__all__ = ["MAILBOX_COLUMN", "FolderIds", "register", "register_default", "resolve"]

#: (mailbox as stored, lower-cased; folder name, lower-cased) -> folder id, or None.
FolderIds = dict[tuple[str, str], str | None]


def register_default(db: sqlite3.Connection) -> None:
    """The function before any name is resolved: every name stands for itself."""
    register(db, {})


def register(db: sqlite3.Connection, resolved: FolderIds) -> None:
    """Make ``O365_FOLDER_ID`` answer from ``resolved``."""
    def folder_id(mailbox: Any, name: Any) -> Any:
        if not isinstance(name, str):
            return name
        found = resolved.get((str(mailbox).lower(), name.lower()))
        return found if found is not None else name

    db.create_function(FOLDER_ID, 2, folder_id, deterministic=True)


def resolve(scan: Scan, mailboxes: Iterable[Any], graph: Any, into: FolderIds) -> None:
    """Resolve each of the scan's folder names in each mailbox not resolved yet."""
    table = scan.table
    default = table.column("UserId")
    me = str(default.default_value).lower() if default is not None and \
        default.default_value is not None else "me"
    for mailbox in mailboxes:
        if mailbox is None:
            continue
        for name in scan.folder_names:
            key = (str(mailbox).lower(), name)
            if key in into:
                continue
            slots = {"parentfolderid"} | ({"userid"} if key[0] != me else set())
            endpoint = next(e for e in table.folder_endpoints
                            if {r.lower() for r in e.requires} == slots)
            address = tuple((r, name if r.lower() == "parentfolderid" else str(mailbox))
                            for r in endpoint.requires)
            request = render(ODataQuery(endpoint.template, address=address, select=("id",)))
            try:
                answer = graph.send(request)
            except Error as exc:
                if missing(exc):
                    into[key] = None
                    continue
                raise with_table(exc, table.name) from None
            into[key] = answer.get("id") if isinstance(answer, dict) else None
