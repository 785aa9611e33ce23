"""What the catalog generator cannot read from the CSDL: endpoints, pseudo-columns, capabilities.

Build-time data for ``tools/gen_schema.py`` (stage: catalog source). Every capability below cites
``reference/graph-semantics.md`` (section numbers) and, through it, the Graph documentation page
or issue it comes from. Anything not listed here is not pushed down to Graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TableSpec:
    name: str
    file: str
    entity: str  # CSDL entity type (short name)
    description: str
    notes: str
    endpoints: list[dict[str, Any]]
    kind: str = "table"
    item_endpoints: list[dict[str, Any]] = field(default_factory=list)
    folder_endpoints: list[dict[str, Any]] = field(default_factory=list)
    table: dict[str, Any] = field(default_factory=dict)
    pseudo: list[dict[str, Any]] = field(default_factory=list)
    exclude: set[str] = field(default_factory=set)  # top-level properties left out entirely
    heavy_props: set[str] = field(default_factory=set)  # top-level properties left out of SELECT *
    caps: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> capabilities
    not_selectable: set[str] = field(default_factory=set)
    # top-level Graph properties returned only when $select names them (catalog select_only)
    select_only: set[str] = field(default_factory=set)
    endpoint_params: set[str] = field(default_factory=set)
    annotations: list[str] = field(default_factory=list)
    subtypes: list[str] = field(default_factory=list)  # derived types whose own props are added
    subtype_props: dict[str, list[str]] = field(default_factory=dict)
    directory: str | None = None  # "user"/"group": capabilities from the documented tables
    always_set: set[str] = field(default_factory=set)  # columns Graph never sends as null
    # top-level property -> the smaller $top maximum Graph allows when it is selected/filtered
    page_caps: dict[str, int] = field(default_factory=dict)
    # top-level Graph properties a create (POST) or update (PATCH) may set: their flattened
    # columns are writable (readonly = false), written back along the same path they are read
    writable: set[str] = field(default_factory=set)


def writes(*, insert: bool = True, update: bool = True, delete: bool = True) -> dict[str, Any]:
    """The table-level write flags (catalog ``insertable``/``updatable``/``deletable``)."""
    return {"insertable": insert, "updatable": update, "deletable": delete}


# The properties each update page lists as updatable (Graph v1.0): message-update.md,
# event-update.md, contact-update.md, mailfolder-update.md, contactfolder-update.md,
# calendar-update.md; the create pages (user-post-messages.md, user-post-events.md,
# user-post-contacts.md, user-post-mailfolders.md, user-post-calendars.md) take the same ones.
# Everything else (ids, stamps, counts, server-computed values) is read-only.
MESSAGE_WRITABLE = {
    "bccRecipients", "body", "categories", "ccRecipients", "flag", "from", "importance",
    "inferenceClassification", "internetMessageId", "isDeliveryReceiptRequested", "isRead",
    "isReadReceiptRequested", "replyTo", "sender", "subject", "toRecipients"}
EVENT_WRITABLE = {
    "allowNewTimeProposals", "attendees", "body", "categories", "end", "hideAttendees",
    "importance", "isAllDay", "isOnlineMeeting", "isReminderOn", "location", "locations",
    "onlineMeetingProvider", "recurrence", "reminderMinutesBeforeStart", "responseRequested",
    "sensitivity", "showAs", "start", "subject", "transactionId"}
CONTACT_WRITABLE = {
    "assistantName", "birthday", "businessAddress", "businessHomePage", "businessPhones",
    "categories", "children", "companyName", "department", "displayName", "emailAddresses",
    "fileAs", "generation", "givenName", "homeAddress", "homePhones", "imAddresses", "initials",
    "jobTitle", "manager", "middleName", "mobilePhone", "nickName", "officeLocation",
    "otherAddress", "personalNotes", "profession", "spouseName", "surname", "title",
    "yomiCompanyName", "yomiGivenName", "yomiSurname"}


def outlook_table(**overrides: Any) -> dict[str, Any]:
    """Table-level facts shared by Outlook (Exchange) collections, graph-semantics §1.1, §11."""
    base: dict[str, Any] = {
        "max_page_size": 1000, "default_page_size": 10, "supports_top": True,
        "supports_skip": False, "supports_count": False, "count_needs_eventual": False,
        "advanced_needs_eventual": False, "search": None, "search_combines_with_filter": False,
        "search_combines_with_orderby": False, "orderby_must_lead_filter": False,
        "orderby_with_filter": True, "filter_orderby_needs_eventual": False, "max_in_values": 15,
    }
    base.update(overrides)
    return base


def directory_table(**overrides: Any) -> dict[str, Any]:
    """Users/groups: graph-semantics §3.9-§3.11, §2.2 limits."""
    base = outlook_table(
        max_page_size=999, default_page_size=100, supports_skip=False, supports_count=True,
        count_needs_eventual=True, advanced_needs_eventual=True, search="directory",
        search_combines_with_filter=True, search_combines_with_orderby=True,
        filter_orderby_needs_eventual=True, max_filter_depth=3, max_eq_length=120)
    base.update(overrides)
    return base


def pseudo(name: str, description: str, sql_type: str = "VARCHAR", edm: str = "Edm.String",
           **extra: Any) -> dict[str, Any]:
    return {"name": name, "sql_type": sql_type, "edm_type": edm, "pseudo": True,
            "description": description, **extra}


USER_ID = pseudo(
    "UserId",
    "Mailbox owner, as a user id or userPrincipalName. Unbound or 'me': the signed-in user "
    "(/me). Bind with = or IN, or join with Users.Id; rows carry the value as bound.",
    default_value="me")
PARENT_FOLDER_NOTE = (
    "ParentFolderId is the real Graph property parentFolderId and also an endpoint parameter: "
    "WHERE ParentFolderId = x (or IN) reads the folder x through the endpoint that requires it, "
    "and the predicate is consumed by the endpoint (rows carry Graph's real folder id); a value "
    "naming no folder reads no rows. Other comparisons on it are evaluated locally.")
MAIL_FOLDER_NOTE = (
    "Well-known mail folder names ('Inbox', 'drafts', 'SentItems' ... in any case; "
    "graph-semantics §3.1, §13.11) mean that folder wherever ParentFolderId is compared with "
    "them (=, <>, IN, NOT IN, under OR): o365sql resolves each name once per statement and "
    "mailbox through folder_endpoints and compares with the real id.")
# graph-semantics §3.1 (resources/mailfolder.md): names usable in place of a mail folder id.
MAIL_WELL_KNOWN = [
    "archive", "clutter", "conflicts", "conversationhistory", "deleteditems", "drafts", "inbox",
    "junkemail", "localfailures", "msgfolderroot", "outbox", "recoverableitemsdeletions",
    "scheduled", "searchfolders", "sentitems", "serverfailures", "syncissues"]
MAIL_FOLDER_LOOKUP = [
    {"template": "/users/{UserId}/mailFolders/{ParentFolderId}",
     "requires": ["UserId", "ParentFolderId"]},
    {"template": "/me/mailFolders/{ParentFolderId}", "requires": ["ParentFolderId"]}]
WINDOW = [
    pseudo("StartDateTime", "Start of the time window (startDateTime query parameter, required). "
           "ISO 8601; a value without offset means UTC.",
           sql_type="DATETIME", edm="Edm.DateTimeOffset"),
    pseudo("EndDateTime", "End of the time window (endDateTime query parameter, required).",
           sql_type="DATETIME", edm="Edm.DateTimeOffset"),
]
SEARCH_TERMS = pseudo(
    "SearchTerms",
    "WHERE SearchTerms = '...' sends $search (KQL on messages; tokens on users "
    "and groups); the rows are those Graph's search returns. Not in SELECT *.",
    heavy=True)
# Server-set stamps every Outlook item carries (outlookItem.createdDateTime/lastModifiedDateTime;
# a message also has receivedDateTime once it exists; graph-semantics §10 lists them as UTC
# ISO 8601 values of every message). Inferred: no Graph page calls them nullable in practice,
# but the CSDL leaves them Nullable. Non-nullable lets $orderby on them match SQL's NULL order.
OUTLOOK_STAMPS = {"CreatedDateTime", "LastModifiedDateTime"}
WINDOW_PARAMS = {"startDateTime": "StartDateTime", "endDateTime": "EndDateTime"}
SILENT = ("Columns without filter_ops/orderable: graph-semantics does not document $filter or "
          "$orderby on them for this endpoint, so o365sql evaluates those predicates and sorts "
          "locally (conservative).")
PAGE_ASSUMED = ("max_page_size 1000 is assumed from the documented message maximum; the page "
                "for this endpoint is not documented (§11: '?'), and Graph may clamp a larger "
                "$top (§1.2).")
EXCHANGE_STRINGS = ("String comparisons are case-insensitive in Exchange (graph-semantics §2.3, "
                    "inferred), so string predicates are pushed as pre-filters (filter_exact = "
                    "false) and re-checked locally.")


def _items(segment: str) -> list[dict[str, Any]]:
    return [{"template": f"/users/{{UserId}}/{segment}/{{Id}}", "requires": ["UserId", "Id"]},
            {"template": f"/me/{segment}/{{Id}}", "requires": ["Id"]}]


MESSAGES = TableSpec(
    name="Messages", file="messages", entity="message",
    description=("Email messages of a mailbox: every message of every folder (Inbox, Sent Items, "
                 "Drafts, Deleted Items, Junk Email, nested and hidden folders alike: Graph's "
                 "/messages), or one folder's (not its subfolders') via ParentFolderId."),
    notes="\n".join([
        "Endpoints and options: graph-semantics §3.1, §11. $top 1..1000, default page 10; "
        "paging with $skip; $count supported, but whole-mailbox @odata.count with $filter can be "
        "-1 (§3.1, §13.15), hence count_with_filter = false on /messages. KQL $search excludes "
        "$filter and $orderby (§4.1). $orderby with $filter must lead the filter "
        "(InefficientFilter, §3.1, §13.1). endswith and recipient lambdas are rejected (§2.4); "
        "internetMessageHeaders and uniqueBody come only when selected (§3.1), so they are heavy "
        "like body.",
        PARENT_FOLDER_NOTE, MAIL_FOLDER_NOTE, EXCHANGE_STRINGS, SILENT]),
    endpoints=[
        {"template": "/users/{UserId}/mailFolders/{ParentFolderId}/messages",
         "requires": ["UserId", "ParentFolderId"]},
        {"template": "/users/{UserId}/messages", "requires": ["UserId"], "count_with_filter": False},
        {"template": "/me/mailFolders/{ParentFolderId}/messages", "requires": ["ParentFolderId"]},
        {"template": "/me/messages", "requires": [], "count_with_filter": False},
    ],
    item_endpoints=_items("messages"),
    # item_lookup: /me/messages spans every folder (§3.1), so GET /me/messages/{id} finds exactly
    # its members; a missing id is 404 ErrorItemNotFound, a garbled one 400
    # ErrorInvalidIdMalformed (§3.1, §8.3).
    # range_key: receivedDateTime is set on every message (drafts too) and never changes;
    # it takes ge/lt in $filter and $orderby (§3.1), so a long scan splits on it into
    # disjoint ranges read at once (4 concurrent requests per mailbox, §6).
    table=outlook_table(supports_skip=True, supports_count=True, search="kql", **writes(),
                        orderby_must_lead_filter=True, item_lookup=True,
                        well_known_folders=MAIL_WELL_KNOWN, range_key="receivedDateTime"),
    folder_endpoints=MAIL_FOLDER_LOOKUP,
    pseudo=[USER_ID, SEARCH_TERMS],
    always_set=OUTLOOK_STAMPS | {"ReceivedDateTime"},
    heavy_props={"body", "uniqueBody", "internetMessageHeaders"},
    select_only={"uniqueBody", "internetMessageHeaders"},  # §3.1: returned only when selected
    endpoint_params={"ParentFolderId"},
    annotations=["Etag"],
    caps={
        "Subject": {"filter_ops": ["contains", "eq", "startswith"], "orderable": True,
                    "why": "§3.1/§2.4: Subject eq 'welcome' and $orderby=subject (doc, "
                           "query-parameters.md), startswith(subject,..) (doc), contains(subject,..) "
                           "(obs, docs#4866)."},
        "From_EmailAddress_Address": {"filter_ops": ["contains", "eq"],
                                      "why": "§3.1: from/emailAddress/address eq (doc); contains "
                                             "(obs, Mail-Otter#165)."},
        "From_EmailAddress_Name": {"orderable": True,
                                   "why": "§3.1: $orderby=from/emailAddress/name desc (doc)."},
        "ReceivedDateTime": {"filter_ops": ["eq", "ge", "gt", "le", "lt", "ne"], "orderable": True,
                             "why": "§3.1: receivedDateTime ge/lt (doc), sort key of the "
                                    "InefficientFilter fix (§13.1)."},
        "IsRead": {"filter_ops": ["eq", "ne"], "why": "§3.1: isRead eq false (doc); ne works (§2.4)."},
        "HasAttachments": {"filter_ops": ["eq", "ne"],
                           "why": "§3.1: hasAttachments eq true (doc); ne works (§2.4)."},
        "Importance": {"filter_ops": ["eq"], "orderable": True,
                       "why": "§3.1: importance eq 'high' (doc); $orderby=...,importance (doc)."},
        "Flag_FlagStatus": {"filter_ops": ["eq"], "why": "§3.1: flag/flagStatus eq 'flagged' (doc)."},
        "InternetMessageId": {"filter_ops": ["eq"], "why": "§3.1: internetMessageId eq '<...>' (doc)."},
        "Categories": {"filter_ops": ["any"], "any_ops": ["eq"], "any_path": [],
                       "why": "§2.4: categories/any(c:c eq 'X') works (obs, docs#6526)."},
    },
    writable=MESSAGE_WRITABLE,
)

MAIL_FOLDERS = TableSpec(
    name="MailFolders", file="mailfolders", entity="mailFolder",
    description=("Mail folders of a mailbox at every depth, each with its ParentFolderId (the "
                 "root's children and their descendants, read level by level; hidden folders and "
                 "their subtrees only with IncludeHiddenFolders = true; the root itself is not "
                 "a row), or one folder's child folders via ParentFolderId."),
    notes="\n".join([
        "graph-semantics §3.2: /mailFolders lists only the root's children; nested folders via "
        "/mailFolders/{id}/childFolders; hidden folders only with includeHiddenFolders=true "
        "(pseudo-column IncludeHiddenFolders). Default page 10 (obs), $skip paging (§11); not "
        "searchable (CSDL). $count not documented (§11: '?').",
        PARENT_FOLDER_NOTE, MAIL_FOLDER_NOTE, PAGE_ASSUMED, SILENT]),
    endpoints=[
        {"template": "/users/{UserId}/mailFolders/{ParentFolderId}/childFolders",
         "requires": ["UserId", "ParentFolderId"],
         "params": {"includeHiddenFolders": "IncludeHiddenFolders"}},
        {"template": "/users/{UserId}/mailFolders", "requires": ["UserId"],
         "params": {"includeHiddenFolders": "IncludeHiddenFolders"}},
        {"template": "/me/mailFolders/{ParentFolderId}/childFolders", "requires": ["ParentFolderId"],
         "params": {"includeHiddenFolders": "IncludeHiddenFolders"}},
        {"template": "/me/mailFolders", "requires": [],
         "params": {"includeHiddenFolders": "IncludeHiddenFolders"}},
    ],
    item_endpoints=_items("mailFolders"),
    table=outlook_table(supports_skip=True, well_known_folders=MAIL_WELL_KNOWN, **writes()),
    folder_endpoints=MAIL_FOLDER_LOOKUP,
    pseudo=[USER_ID, pseudo(
        "IncludeHiddenFolders", "Bind to true to include hidden folders (includeHiddenFolders "
        "query parameter); rows carry the bound value.", sql_type="BOOLEAN", edm="Edm.Boolean",
        default_value=False)],
    endpoint_params={"ParentFolderId"},
    writable={"displayName", "isHidden"},
)

EVENT_HEAVY = {"body"}
# event.cancelledOccurrences is "returned only on $select" (event resource page, Graph v1.0);
# without $select the property is absent, so a column reading it must select it.
EVENT_SELECT_ONLY = {"cancelledOccurrences"}
EVENTS_NOTE = ("Event start/end are dateTimeTimeZone values: Start_DateTime is a naive wall-clock "
               "time in Start_TimeZone; Graph answers in UTC because o365sql sends no "
               "Prefer: outlook.timezone (§3.3, §5). Graph compares start/dateTime as text "
               "(§2.2), so literals are rendered as '2017-07-01T08:00:00.0000000' "
               "(literal_form = datetime-string) and re-checked locally.")

EVENTS = TableSpec(
    name="Events", file="events", entity="event",
    description=("Events of the mailbox's default calendar (Graph's /events): single events and "
                 "series masters, no occurrences (CalendarView and EventInstances list those). "
                 "Other calendars' events only via CalendarId (every calendar: JOIN Calendars "
                 "c ON e.CalendarId = c.Id), a group's via GroupId."),
    notes="\n".join([
        "graph-semantics §3.3: /events returns single instances and series masters; use "
        "CalendarView or EventInstances for occurrences. $skip paging (§1.1). Not searchable "
        "(CSDL). Default page 10 (inferred). CalendarId (a Calendars.Id) and GroupId (a group "
        "calendar, CData's Events.GroupId) are pseudo-columns choosing the calendar.",
        EVENTS_NOTE, PAGE_ASSUMED, EXCHANGE_STRINGS, SILENT]),
    endpoints=[
        {"template": "/users/{UserId}/calendars/{CalendarId}/events",
         "requires": ["UserId", "CalendarId"]},
        {"template": "/users/{UserId}/events", "requires": ["UserId"]},
        {"template": "/groups/{GroupId}/events", "requires": ["GroupId"]},
        {"template": "/me/calendars/{CalendarId}/events", "requires": ["CalendarId"]},
        {"template": "/me/events", "requires": []},
    ],
    # A group's events are reached only under the group (group-update-event.md,
    # group-delete-event.md); a mailbox's, under the mailbox, whatever their calendar.
    item_endpoints=_items("events") + [{"template": "/groups/{GroupId}/events/{Id}",
                                        "requires": ["GroupId", "Id"]}],
    table=outlook_table(supports_skip=True, **writes()),
    pseudo=[USER_ID,
            pseudo("CalendarId", "Calendar to read (Calendars.Id); unbound: the mailbox's "
                   "/events. Rows carry the bound value."),
            pseudo("GroupId", "Read a Microsoft 365 group's calendar (/groups/{id}/events).")],
    heavy_props=EVENT_HEAVY,
    select_only=EVENT_SELECT_ONLY,
    always_set=OUTLOOK_STAMPS,
    annotations=["Etag"],
    caps={
        "Start_DateTime": {"filter_ops": ["eq", "ge", "gt", "le", "lt"],
                           "why": "§2.2/§2.4/§3.3: start/dateTime ge '2017-07-01T08:00' is "
                                  "documented as a string comparison (doc)."},
        "Categories": {"filter_ops": ["any"], "any_ops": ["eq"], "any_path": [],
                       "why": "§2.4: categories/any(...) works on events (obs, docs#6526)."},
        "CreatedDateTime": {"orderable": True,
                            "why": "§1.1: /me/events?$orderby=createdDateTime&$skip=20 (doc)."},
    },
    writable=EVENT_WRITABLE,
)

CALENDAR_VIEW = TableSpec(
    name="CalendarView", file="calendarview", entity="event", kind="view",
    description=("Occurrences, exceptions and single events of the default calendar (or of "
                 "CalendarId's, or GroupId's) overlapping the StartDateTime..EndDateTime window; "
                 "series masters and cancelled occurrences are not rows."),
    notes="\n".join([
        "graph-semantics §3.4: startDateTime and endDateTime are required query parameters "
        "(pseudo-columns StartDateTime/EndDateTime, Table.window); events overlapping the window "
        "are returned. createdDateTime and lastModifiedDateTime cannot be $select-ed here "
        "(selectable = false: such queries fetch whole events). The endpoint 'supports some of "
        "the OData query parameters' without saying which, so nothing is filtered or sorted by "
        "Graph, $skip is not used (only inferred) and $count is not used.",
        EVENTS_NOTE, PAGE_ASSUMED]),
    endpoints=[
        {"template": "/users/{UserId}/calendars/{CalendarId}/calendarView",
         "requires": ["UserId", "CalendarId", "StartDateTime", "EndDateTime"], "params": WINDOW_PARAMS},
        {"template": "/users/{UserId}/calendarView",
         "requires": ["UserId", "StartDateTime", "EndDateTime"], "params": WINDOW_PARAMS},
        {"template": "/groups/{GroupId}/calendarView",
         "requires": ["GroupId", "StartDateTime", "EndDateTime"], "params": WINDOW_PARAMS},
        {"template": "/me/calendars/{CalendarId}/calendarView",
         "requires": ["CalendarId", "StartDateTime", "EndDateTime"], "params": WINDOW_PARAMS},
        {"template": "/me/calendarView", "requires": ["StartDateTime", "EndDateTime"],
         "params": WINDOW_PARAMS},
    ],
    table=outlook_table(window=["StartDateTime", "EndDateTime"]),
    pseudo=[USER_ID,
            pseudo("CalendarId", "Calendar to read (Calendars.Id); unbound: the default calendar."),
            pseudo("GroupId", "Read a Microsoft 365 group's calendar view."), *WINDOW],
    heavy_props=EVENT_HEAVY,
    select_only=EVENT_SELECT_ONLY,
    # The occurrences of a window carry no createdDateTime/lastModifiedDateTime (they are null
    # on every row read here, issue 9): nullable, unlike the same columns of Events.
    always_set=set(),
    annotations=["Etag"],
    not_selectable={"CreatedDateTime", "LastModifiedDateTime"},
)

EVENT_INSTANCES = TableSpec(
    name="EventInstances", file="eventinstances", entity="event", kind="view",
    description=("Occurrences and exceptions of one recurring event (EventId) overlapping the "
                 "StartDateTime..EndDateTime window; cancelled occurrences are not rows."),
    notes="\n".join([
        "graph-semantics §3.3: /events/{id}/instances?startDateTime=&endDateTime= (window "
        "required, as for calendarView §3.4). The CSDL marks event/instances not searchable, "
        "not expandable. Query options are not documented per property: nothing is pushed; "
        "createdDateTime/lastModifiedDateTime are treated as not selectable as on calendarView.",
        EVENTS_NOTE, PAGE_ASSUMED]),
    endpoints=[
        {"template": "/users/{UserId}/events/{EventId}/instances",
         "requires": ["UserId", "EventId", "StartDateTime", "EndDateTime"], "params": WINDOW_PARAMS},
        {"template": "/me/events/{EventId}/instances",
         "requires": ["EventId", "StartDateTime", "EndDateTime"], "params": WINDOW_PARAMS},
    ],
    table=outlook_table(window=["StartDateTime", "EndDateTime"]),
    pseudo=[USER_ID, pseudo("EventId", "The series master event (Events.Id). Required."), *WINDOW],
    heavy_props=EVENT_HEAVY,
    select_only=EVENT_SELECT_ONLY,
    # The occurrences of a window carry no createdDateTime/lastModifiedDateTime (they are null
    # on every row read here, issue 9): nullable, unlike the same columns of Events.
    always_set=set(),
    annotations=["Etag"],
    not_selectable={"CreatedDateTime", "LastModifiedDateTime"},
)

CALENDARS = TableSpec(
    name="Calendars", file="calendars", entity="calendar",
    description="Every calendar of a mailbox (Graph's /calendars), the default one included.",
    notes="\n".join([
        "graph-semantics §3.5, §11: all of the user's calendars; OData query options supported "
        "but not documented per property; $skip paging (§1.1); not searchable (CSDL).",
        PAGE_ASSUMED, SILENT]),
    endpoints=[{"template": "/users/{UserId}/calendars", "requires": ["UserId"]},
               {"template": "/me/calendars", "requires": []}],
    item_endpoints=_items("calendars"),
    # item_lookup: /me/calendars lists all of the user's calendars (§3.5).
    table=outlook_table(supports_skip=True, item_lookup=True, **writes()),
    pseudo=[USER_ID],
    writable={"color", "isDefaultCalendar", "name"},
)

CONTACTS = TableSpec(
    name="Contacts", file="contacts", entity="contact",
    description=("Personal contacts of the default Contacts folder only (Graph's /contacts); "
                 "contacts kept in other contact folders are rows only when ParentFolderId names "
                 "the folder (every contact: add ... WHERE ParentFolderId IN (SELECT Id FROM "
                 "ContactFolders))."),
    notes="\n".join([
        "graph-semantics §3.6: /contacts is the default contacts folder only; emailAddresses can "
        "be filtered only as emailAddresses/any(a:a/address eq 'x') (no ne, le, startswith, no "
        "name). $count=true supported (doc); $skip paging (§11). Default page 10 (inferred).",
        PARENT_FOLDER_NOTE, PAGE_ASSUMED, EXCHANGE_STRINGS, SILENT]),
    endpoints=[
        {"template": "/users/{UserId}/contactFolders/{ParentFolderId}/contacts",
         "requires": ["UserId", "ParentFolderId"]},
        {"template": "/users/{UserId}/contacts", "requires": ["UserId"]},
        {"template": "/me/contactFolders/{ParentFolderId}/contacts", "requires": ["ParentFolderId"]},
        {"template": "/me/contacts", "requires": []},
    ],
    item_endpoints=_items("contacts"),
    table=outlook_table(supports_skip=True, supports_count=True, **writes()),
    pseudo=[USER_ID],
    endpoint_params={"ParentFolderId"},
    always_set=OUTLOOK_STAMPS,
    annotations=["Etag"],
    # primary/secondary/tertiaryEmailAddress mirror emailAddresses and are not part of the
    # default shape of contact-get.md's answers (inferred): returned only when selected.
    select_only={"primaryEmailAddress", "secondaryEmailAddress", "tertiaryEmailAddress"},
    caps={"EmailAddresses": {"filter_ops": ["any"], "any_ops": ["eq"], "any_path": ["address"],
                             "why": "§3.6: only emailAddresses/any(a:a/address eq '...') (doc)."}},
    writable=CONTACT_WRITABLE,
)

CONTACT_FOLDERS = TableSpec(
    name="ContactFolders", file="contactfolders", entity="contactFolder",
    description=("Contact folders of a mailbox at every depth below the default Contacts folder, "
                 "each with its ParentFolderId (the default Contacts folder itself is not a row: "
                 "Graph's /contactFolders leaves it out), or one folder's child folders via "
                 "ParentFolderId."),
    notes="\n".join([
        "graph-semantics §3.7, §13.12: /contactFolders omits the default Contacts folder "
        "(v1.0 known issue); child folders via /contactFolders/{id}/childFolders. $skip paging "
        "(§11); not searchable (CSDL).", PARENT_FOLDER_NOTE, PAGE_ASSUMED, SILENT]),
    endpoints=[
        {"template": "/users/{UserId}/contactFolders/{ParentFolderId}/childFolders",
         "requires": ["UserId", "ParentFolderId"]},
        {"template": "/users/{UserId}/contactFolders", "requires": ["UserId"]},
        {"template": "/me/contactFolders/{ParentFolderId}/childFolders", "requires": ["ParentFolderId"]},
        {"template": "/me/contactFolders", "requires": []},
    ],
    item_endpoints=_items("contactFolders"),
    table=outlook_table(supports_skip=True, **writes()),
    pseudo=[USER_ID],
    endpoint_params={"ParentFolderId"},
    writable={"displayName"},
)

DIRECTORY_NOTE = (
    "Directory capabilities come from the documented per-property tables "
    "(graph-csdl-subset.json: docQueryCapabilities for the resource, directoryFilterSupport for "
    "default vs advanced). advanced_ops need ConsistencyLevel: eventual plus $count=true, resent "
    "on every page (§3.11). Directory strings compare case-insensitively (§2.3), so string "
    "columns keep only eq/in/startswith/endswith and are re-checked locally. gt/lt are not "
    "directory operators. Default page 100, max 999, no $skip (§3.9, §3.10); $filter with "
    "$orderby is an advanced query; nested and/or deeper than 3 and eq values over 120 "
    "characters are rejected (§2.2).")

USER_COLLECTION_ONLY_SINGLE = {  # §3.9: 501 Not Implemented when selected on /users
    "aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName",
    "responsibilities", "schools", "skills", "mailboxSettings"}

USERS = TableSpec(
    name="Users", file="users", entity="user",
    description=("Every user of the directory, members and guests, enabled or not (Graph's "
                 "/users); deleted users are not rows."),
    notes="\n".join([
        DIRECTORY_NOTE,
        "Left out: properties Graph returns only on a single-user GET (§3.9: aboutMe, birthday, "
        "hireDate, interests, mySite, pastProjects, preferredName, responsibilities, schools, "
        "skills, mailboxSettings).", SILENT]),
    endpoints=[{"template": "/users", "requires": []}],
    item_endpoints=[{"template": "/users/{Id}", "requires": ["Id"]}],
    table=directory_table(),
    exclude=USER_COLLECTION_ONLY_SINGLE,
    pseudo=[SEARCH_TERMS],
    directory="user",
    # §3.9: "when signInActivity is selected/filtered the max is 500" (user-list, later revision).
    page_caps={"signInActivity": 500},
)

GROUPS = TableSpec(
    name="Groups", file="groups", entity="group",
    description=("Every group of the directory (Graph's /groups: Microsoft 365, security and "
                 "distribution groups; dynamic distribution groups and deleted groups are not "
                 "rows)."),
    notes="\n".join([
        DIRECTORY_NOTE,
        "Left out (§3.10): allowExternalSenders, autoSubscribeNewMembers, hideFromAddressLists, "
        "hideFromOutlookClients, isSubscribedByMail, unseenCount (only on GET /groups/{id}) and "
        "hasMembersWithLicenseErrors, isArchived (never returned). $search tokenizes displayName "
        "and description.", SILENT]),
    endpoints=[{"template": "/groups", "requires": []}],
    item_endpoints=[{"template": "/groups/{Id}", "requires": ["Id"]}],
    table=directory_table(),
    exclude={"allowExternalSenders", "autoSubscribeNewMembers", "hideFromAddressLists",
             "hideFromOutlookClients", "isSubscribedByMail", "unseenCount",
             "hasMembersWithLicenseErrors", "isArchived"},
    pseudo=[SEARCH_TERMS],
    directory="group",
)

GROUP_MEMBERS = TableSpec(
    name="GroupMembers", file="groupmembers", entity="directoryObject", kind="view",
    description=("Direct members of one group (GroupId): users, groups, devices, service "
                 "principals; members of nested groups are not rows (no transitive expansion)."),
    notes="\n".join([
        "/groups/{GroupId}/members returns directoryObject items of several types (ODataType "
        "tells which). The user columns are the user default property set (§3.9) and are NULL "
        "for other member types. graph-semantics documents no query options for this endpoint, "
        "so nothing is pushed, no $select is sent for the user columns (selectable = false) "
        "and page sizes are assumed to be the directory ones (100/999).", SILENT]),
    endpoints=[{"template": "/groups/{GroupId}/members", "requires": ["GroupId"]}],
    table=outlook_table(max_page_size=999, default_page_size=100),
    pseudo=[pseudo("GroupId", "The group (Groups.Id). Required; rows carry the bound value.")],
    annotations=["ODataType"],
    subtype_props={"user": ["businessPhones", "displayName", "givenName", "jobTitle", "mail",
                            "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                            "userPrincipalName"]},
)

ATTACHMENT_NOTE = (
    "graph-semantics §3.8: $filter is ignored on /attachments (no operators pushed); $select "
    "takes only base-type properties (§11), so fileAttachment's contentBytes, contentId and "
    "contentLocation are not selectable and a query naming them fetches whole attachments. "
    "ContentBytes is heavy (base64 file content). $orderby, $count are not documented.")


def _attachments(name: str, file: str, parent: str, parent_col: str, description: str,
                 top_note: str, supports_top: bool) -> TableSpec:
    return TableSpec(
        name=name, file=file, entity="attachment", kind="view", description=description,
        notes="\n".join([ATTACHMENT_NOTE, top_note, SILENT]),
        endpoints=[
            {"template": f"/users/{{UserId}}/{parent}/{{{parent_col}}}/attachments",
             "requires": ["UserId", parent_col]},
            {"template": f"/me/{parent}/{{{parent_col}}}/attachments", "requires": [parent_col]},
        ],
        item_endpoints=[
            {"template": f"/users/{{UserId}}/{parent}/{{{parent_col}}}/attachments/{{Id}}",
             "requires": ["UserId", parent_col, "Id"]},
            {"template": f"/me/{parent}/{{{parent_col}}}/attachments/{{Id}}",
             "requires": [parent_col, "Id"]},
        ],
        # item_lookup: the list returns every attachment of the item (§3.8).
        table=outlook_table(supports_top=supports_top, item_lookup=True),
        pseudo=[USER_ID, pseudo(parent_col, f"The {parent[:-1]} whose attachments are listed "
                                            f"({'Messages' if parent == 'messages' else 'Events'}.Id). "
                                            "Required; rows carry the bound value.")],
        heavy_props={"contentBytes"},
        annotations=["ODataType"],
        subtypes=["fileAttachment"],
    )


MESSAGE_ATTACHMENTS = _attachments(
    "MessageAttachments", "messageattachments", "messages", "MessageId",
    ("Attachments of one message (MessageId), inline ones included: file, item and reference "
     "attachments; an item attachment's embedded message or event is not expanded."),
    "The CSDL marks message/attachments TopSupported=false and SkipSupported=false.", False)
EVENT_ATTACHMENTS = _attachments(
    "EventAttachments", "eventattachments", "events", "EventId",
    ("Attachments of one event (EventId), inline ones included: file, item and reference "
     "attachments; an item attachment's embedded item is not expanded."),
    "$top is not documented for event attachments; not sent (conservative, like messages).", False)

SPECS: list[TableSpec] = [
    MESSAGES, MAIL_FOLDERS, EVENTS, CALENDAR_VIEW, EVENT_INSTANCES, CALENDARS, CONTACTS,
    CONTACT_FOLDERS, USERS, GROUPS, GROUP_MEMBERS, MESSAGE_ATTACHMENTS, EVENT_ATTACHMENTS,
]
