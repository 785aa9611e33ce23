"""Plan stage, counts from metadata: ``COUNT(*)`` of one mail folder from the folder itself.

Exchange keeps each mail folder's ``totalItemCount`` and ``unreadItemCount``
(https://learn.microsoft.com/graph/api/resources/mailfolder#properties): the number of items in
that folder (not its subfolders), and of those not read. They are exactly what
``GET .../mailFolders/{id}/messages`` lists and what ``isRead eq false`` keeps there, so
``COUNT(*)`` of a folder's messages, with or without ``IsRead = false``, is one small GET of
the folder instead of ``/messages/$count``, which Graph answers by counting (the emulator
re-filters every message; the service scans the folder). Any other condition, a search, or a
query not addressed to one folder keeps ``/$count``.
"""

from __future__ import annotations

from dataclasses import replace

from ..odata.filter import Compare
from ..odata.query import ODataQuery

#: The folder's messages: the path of the folder is the path without ``/messages``.
_FOLDER_MESSAGES = "/mailFolders/{ParentFolderId}/messages"

TOTAL = "totalItemCount"
UNREAD = "unreadItemCount"


def folder_count_query(query: ODataQuery) -> tuple[ODataQuery, str] | None:
    """The folder GET answering ``COUNT(*)`` of ``query`` and the property holding it, or None."""
    if not query.template.endswith(_FOLDER_MESSAGES) or query.search is not None or \
            query.params:
        return None
    if query.filter is None:
        prop = TOTAL
    elif query.filter == Compare("isRead", "eq", False, "Edm.Boolean"):
        prop = UNREAD
    else:
        return None
    folder = query.template[:-len("/messages")]
    return replace(query, template=folder, select=(prop,), filter=None, count=False,
                   count_segment=False, top=None, orderby=(), pushed_down=()), prop
