"""Replica stage, what can be replicated and through which Graph delta functions (pure data).

Two shapes (delta-limits-spark §5.1, graph-semantics §7):

* **per folder**: message and contact delta are per-folder operations ("to track the changes
  of the messages in a folder hierarchy, you need to track each folder individually",
  delta-query-messages.md). The folder list is itself tracked (``mailFolders/delta``,
  ``contactFolders/delta``); each folder then has its own delta link. A folder that
  disappears takes its rows with it; a new one starts its own round.
* **one collection**: ``mailFolders/delta`` and ``contactFolders/delta`` as tables,
  ``/users/delta`` and ``/groups/delta`` (no mailbox).
* **windows**: calendarView delta (v1.0: the primary calendar only) needs ``startDateTime`` and
  ``endDateTime`` on its first request, and the window then stays fixed for the life of its
  links (event-delta.md). Each window the replica keeps is a scope of its own, with its own
  link; its rows carry the window in the ``StartDateTime``/``EndDateTime`` pseudo-columns (as
  a live read of that window gives them), so an event in two windows is two rows.
* **re-read**: Events (series masters and single instances) has no delta in v1.0
  (``/events/delta`` is beta only, delta-limits §5.1): each refresh lists ``id``,
  ``changeKey`` and ``lastModifiedDateTime`` of every event (``changeKey`` changes whenever the
  event changes, resources/event.md), then reads again, through ``$batch``, only the events
  that are new or whose pair differs (or all of them when that costs fewer requests); events
  no longer listed are deleted.

``visible`` says which replica rows an unaddressed live read returns: MailFolders and
ContactFolders read every folder at any depth (the root's, or the default Contacts folder's,
children level by level; hidden mail folders only with includeHiddenFolders), Contacts the
default Contacts folder's items (graph-semantics §3.2, §3.6, §3.7); the replica keeps the whole
tree so that a scan addressed by ``ParentFolderId`` is answered too.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The reference's account of replication (tools/gen_reference.py renders it).
REPLICATION_DOC: tuple[str, ...] = (
    ("`REPLICATE <table> [INCLUDE COLUMNS (<heavy column>, ...)] [WHERE UserId = 'x' | UserId IN "
    "('x', ...) | UserId IN (SELECT Id FROM Users ...)]`, `REPLICATE ALL` and `REPLICATE TABLES (<table>, ...)` copy tables into the "
    "replica at `CacheLocation` (a SQLite file; tables and columns named and typed as in this "
    "catalog, heavy columns such as bodies left out) and keep, per mailbox and folder, the "
    "delta link Graph returned. Running REPLICATE again asks Graph only for what changed: new, "
    "changed, moved and deleted items are applied in one transaction per mailbox with the new "
    "links. A link Graph no longer knows (HTTP 410 `syncStateNotFound`; Outlook drops old "
    "tokens from a bounded cache, directory tokens expire after 7 days) restarts that folder "
    "alone. Without WHERE, a delegated connection copies its own mailbox; an app-only one "
    "every user's, and a mailbox that answers 403 or 404 is recorded in `sys_replicas` and "
    "skipped."),
    "",
    ("With `AutoCache=true`, a SELECT whose tables are replicated is answered from the replica "
    "(planned without pushdown: the local engine evaluates every predicate), after a delta "
    "refresh when the replica is older than `CacheTolerance` seconds; a table never replicated "
    "is copied by the first SELECT that reads it; an INSERT, UPDATE or DELETE reads Graph "
    "live and makes the written table's replica refresh before it answers again. `Offline=true` answers from the replica "
    "alone, with no network, and fails with OperationalError naming the table (or mailbox, or "
    "column) the replica lacks. EXPLAIN shows a `source` step per scan: the replica and its "
    "age, or live Graph and why not the replica. The replica answers reads by folder "
    "(`ParentFolderId = '<id>'`, and well-known names such as `'Inbox'` anywhere a folder id "
    "is compared: each mailbox's names are read once, one `$batch`, and kept in the file), "
    "hidden folders (`IncludeHiddenFolders = true`: `mailFolders/delta` copies them) and the "
    "heavy columns it was told to keep (`REPLICATE Messages INCLUDE COLUMNS (Body_Content, "
    "UniqueBody_Content, InternetMessageHeaders)`: kept from then on; adding columns copies "
    "the table again). Scans it cannot answer exactly stay live under AutoCache and are "
    "refused Offline: `SearchTerms` (Graph's KQL search), folders it does not hold (outside "
    "`msgfolderroot`, such as Recoverable Items, or deleted), other heavy columns."),
    "",
    ("CalendarView is kept per time window: `REPLICATE CalendarView WHERE StartDateTime >= "
    "'<start>' AND EndDateTime <= '<end>' [AND UserId ...]` adds that window (an offset-less "
    "time is UTC). A window that overlaps or touches windows already kept is merged with them "
    "into one (their union, copied once; its link replaces theirs); windows apart stay "
    "separate, each with its own delta link and rows (`sys_replicas.Folder` shows each as "
    "`start/end`). Without a window, REPLICATE refreshes the windows kept; the first copy "
    "keeps `ReplicateWindow` days either side of that day (UTC midnight), computed once and "
    "stored with its link: later refreshes never move it. A SELECT is answered from the "
    "replica only when its window lies inside one kept window (rows overlapping it, as Graph "
    "returns them: start before its end and end after its start; an all-day event within 14 "
    "hours of its edges, whose span depends on its time zone, sends the scan to Graph); "
    "otherwise AutoCache reads Graph live and Offline fails naming the table and the window."),
    "",
    ("Events (series masters and single instances of the default calendar) has no delta in "
    "Graph v1.0 (`/events/delta` is beta only), so it is re-read with a cheap change check: "
    "the first copy reads every event (1,000 a page); each later refresh lists `id`, "
    "`changeKey` and `lastModifiedDateTime` of every event (`$select`, 1,000 a page: one "
    "request per 1,000 events even when nothing changed, where a delta table costs one per "
    "folder) and reads again only the new and changed events (`GET /events/{id}` through "
    "`$batch`, at most 4 of one mailbox to a batch: Outlook's concurrency limit), or every "
    "event when that costs fewer requests; events no longer listed are deleted. Scans by "
    "`CalendarId` or `GroupId` stay live."),
    "",
    ("Graph's limits: message and contact delta are per folder; message "
    "delta takes `$filter` only on `receivedDateTime ge|gt` and no `$search`; no other delta "
    "takes `$filter`, `$orderby` or `$search`; calendarView delta (v1.0) covers the primary "
    "calendar only, takes no `$select`, `$filter`, `$orderby` or `$search`, and needs "
    "`startDateTime` and `endDateTime` on its first request: they stay fixed for the life of "
    "its links (`$skiptoken`/`$deltatoken`), so a new window is a new copy, never a "
    "continuation. v1.0 has no delta for Events or for other calendars. Outlook allows 4 "
    "concurrent requests per mailbox and 10,000 per 10 minutes: REPLICATE reads at most "
    "`MaxConcurrency` (at most 4) folders of a mailbox at once, and a refresh with nothing "
    "changed costs one request per folder plus one for the folder list."),
)


@dataclass(frozen=True)
class Tracking:
    """How one catalog table is replicated.

    Attributes:
        table: the catalog table's name.
        mailbox: rows belong to a mailbox (``/me`` or ``/users/{id}``).
        folders: the folder list's delta path (per-folder tables), relative to the mailbox;
            for GroupMembers, the users' delta (a member's columns are its user's).
        items: the delta path of one folder's items (``{folder}`` filled), or of the
            collection.
        visible: which rows an unaddressed read returns: ``all``, ``tree`` (the root's
            children and their descendants, hidden ones and their subtrees left out),
            ``default-items`` (items of the default folder: the top folder),
            ``below-default`` (every folder under the default one) or ``members``
            (GroupMembers: the rows of the group the scan addresses).
        folder_table: the table whose rows are the folders (for ``visible``).
        window: the delta function needs a window (calendarView: ``startDateTime`` and
            ``endDateTime``), given by REPLICATE's WHERE or, for a first copy, ``ReplicateWindow``
            days either side of that day (UTC); a scan is answered when its window lies
            inside one the replica keeps.
        reread: no delta function: each refresh lists ids and change keys (``items`` with
            ``$select=id,changeKey,lastModifiedDateTime``) and reads the changed items again.
        selectable: the delta function takes ``$select`` (calendarView delta does not).
        listing: for a delta function that takes no ``$select``, the plain collection (relative
            to the mailbox, same window) that lists the same items and takes ``$select``: the
            properties Graph returns only when selected (catalog ``select_only``) are read
            there for the items a round returns without them.
        indexes: columns indexed (after the mailbox) for the repeat analytic queries the
            replica is for: newest first (top-N) and GROUP BY sender read an index.
        directory_type: removed objects' reason is ``changed`` (soft delete).
    """

    table: str
    mailbox: bool
    items: str
    folders: str | None = None
    visible: str = "all"
    folder_table: str | None = None
    indexes: tuple[str, ...] = ()
    window: bool = False
    selectable: bool = True
    reread: bool = False
    listing: str | None = None


def functions(t: Tracking) -> str:
    """The Graph calls that keep ``t`` current, for the reference."""
    if t.visible == "members":
        return ("`/groups/delta` with `members@delta` + `/users/delta`, then "
                "`/groups/{id}/members` of each group that changed")
    if t.folders:
        return f"`{t.folders}` + `{t.items}`"
    if t.window:
        return f"`{t.items}?startDateTime=...&endDateTime=...`"
    if t.reread:
        return (f"none in v1.0: `{t.items}?$select=id,changeKey,lastModifiedDateTime`, then "
                f"`{t.items}/{{id}}` of the changed ones through `$batch`")
    return f"`{t.items}`"


def per(t: Tracking) -> str:
    if t.visible == "members":
        return "tenant (rows per group)"
    if t.window:
        return "mailbox and time window"
    return "mailbox and folder" if t.folders else "mailbox" if t.mailbox else "tenant"


TRACKED: dict[str, Tracking] = {t.table.lower(): t for t in (
    Tracking("Messages", True, "mailFolders/{folder}/messages/delta", folders="mailFolders/delta",
             indexes=("ReceivedDateTime", "From_EmailAddress_Address")),
    Tracking("MailFolders", True, "mailFolders/delta", visible="tree"),
    Tracking("Contacts", True, "contactFolders/{folder}/contacts/delta",
             folders="contactFolders/delta", visible="default-items", folder_table="contacts"),
    Tracking("ContactFolders", True, "contactFolders/delta", visible="below-default"),
    Tracking("CalendarView", True, "calendarView/delta", window=True, selectable=False,
             listing="calendarView"),
    Tracking("Events", True, "events", reread=True),
    Tracking("Users", False, "/users/delta"),
    Tracking("Groups", False, "/groups/delta"),
    Tracking("GroupMembers", False, "/groups/delta", folders="/users/delta", visible="members"),
)}


def tracking(table: str) -> Tracking | None:
    """How ``table`` is replicated, or None when REPLICATE does not support it."""
    return TRACKED.get(table.lower())
