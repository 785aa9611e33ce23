"""Replica stage, what can be replicated and through which Graph delta functions (pure data).

Two shapes (delta-limits-spark §5.1, graph-semantics §7):

* **per folder**: message and contact delta are per-folder operations ("to track the changes
  of the messages in a folder hierarchy, you need to track each folder individually",
  delta-query-messages.md). The folder list is itself tracked (``mailFolders/delta``,
  ``contactFolders/delta``); each folder then has its own delta link. A folder that
  disappears takes its rows with it; a new one starts its own round.
* **one collection**: ``mailFolders/delta`` and ``contactFolders/delta`` as tables,
  ``/users/delta`` and ``/groups/delta`` (no mailbox).

``visible`` says which replica rows an unaddressed live read returns: ``/me/mailFolders``
lists the root's children (the folders whose parent is not itself a folder of the tree),
``/me/contacts`` the default Contacts folder's items and ``/me/contactFolders`` its children
(graph-semantics §3.2, §3.6, §3.7); the replica keeps the whole tree so that a scan addressed
by ``ParentFolderId`` is answered too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tracking:
    """How one catalog table is replicated.

    Attributes:
        table: the catalog table's name.
        mailbox: rows belong to a mailbox (``/me`` or ``/users/{id}``).
        folders: the folder list's delta path (per-folder tables), relative to the mailbox.
        items: the delta path of one folder's items (``{folder}`` filled), or of the
            collection.
        visible: which rows an unaddressed read returns: ``all``, ``top`` (folders whose
            parent is no folder of the tree), ``default-items`` (items of the default folder:
            the top folder) or ``default-children`` (children of the default folder).
        folder_table: the table whose rows are the folders (for ``visible``).
        directory_type: removed objects' reason is ``changed`` (soft delete).
    """

    table: str
    mailbox: bool
    items: str
    folders: str | None = None
    visible: str = "all"
    folder_table: str | None = None


TRACKED: dict[str, Tracking] = {t.table.lower(): t for t in (
    Tracking("Messages", True, "mailFolders/{folder}/messages/delta", folders="mailFolders/delta"),
    Tracking("MailFolders", True, "mailFolders/delta", visible="top"),
    Tracking("Contacts", True, "contactFolders/{folder}/contacts/delta",
             folders="contactFolders/delta", visible="default-items", folder_table="contacts"),
    Tracking("ContactFolders", True, "contactFolders/delta", visible="default-children"),
    Tracking("Users", False, "/users/delta"),
    Tracking("Groups", False, "/groups/delta"),
)}


def tracking(table: str) -> Tracking | None:
    """How ``table`` is replicated, or None when REPLICATE does not support it."""
    return TRACKED.get(table.lower())
