"""What each Graph collection accepts in its query options: one ``ResourceRules`` per resource.

Stage: emulator, OData query engine (rules). The routes (``graph_*.py``) pick a predefined
instance and pass it to ``odata_query.apply_query``; the filter binder, the ``$search`` engine
and the pager read it. Facts come from the o365sql reference ``graph-semantics.md`` (§1-§5, §11,
§12, §13) and ``graph-csdl-subset.json``; where Graph documents nothing, the choice is marked
"(inferred)" and can be changed with ``dataclasses.replace``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TypedDict

OUTLOOK = "outlook"
DIRECTORY = "directory"


@dataclass(frozen=True)
class LambdaRule:
    """Which comparisons Graph accepts inside ``coll/any(x: ...)`` for one collection.

    ``ops`` are operator names (``eq``, ``ne``, ``startswith`` ...); ``members`` the sub-properties
    a range variable may reach (``("address",)`` for contacts' ``emailAddresses``), None = any.
    """

    ops: frozenset[str]
    members: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ResourceRules:
    """Query-option behaviour of one Graph collection.

    ``directory_filter`` maps a property to ``{operator: "default" | "advanced"}`` (operators:
    eq ne not ge le in startswith endswith null); advanced means ``ConsistencyLevel: eventual``
    plus ``$count=true`` (graph-semantics §3.11). ``orderable`` None means every primitive,
    non-collection property can be sorted on. ``default_select`` None means "the whole item minus
    ``select_only``". ``search`` is ``kql`` (messages), ``identity.directory`` or ``none``.
    ``default_order``/``search_order`` are ``(property, descending)`` keys applied when the
    request has no ``$orderby``; without them the items keep the order the route passed.
    ``entity_default_select`` replaces ``default_select`` for a single entity (``GET .../{id}``).
    ``reduced_max_top`` = (property, max): ``$top`` may not exceed max when the property is
    selected or filtered on. ``eq_value_limit``: the longest string a filter compares with.
    """

    name: str
    entity: str
    family: str
    resource_label: str = ""
    default_page_size: int = 10
    max_top: int = 1000
    top_over_max: str = "clamp"
    paging: str = "skip"
    skip_supported: bool = True
    filter_supported: bool = True
    string_functions: frozenset[str] = frozenset({"startswith", "contains"})
    lambdas: Mapping[str, LambdaRule] = field(default_factory=dict)
    orderby_must_lead_filter: bool = False
    search: str = "none"
    search_order: tuple[tuple[str, bool], ...] = ()
    default_order: tuple[tuple[str, bool], ...] = ()
    search_cap: int | None = None
    directory_filter: Mapping[str, Mapping[str, str]] | None = None
    orderable: frozenset[str] | None = None
    orderable_advanced: frozenset[str] | None = None
    default_select: tuple[str, ...] | None = None
    entity_default_select: tuple[str, ...] | None = None
    type_default_select: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    select_only: frozenset[str] = frozenset()
    collection_unselectable: frozenset[str] = frozenset()
    list_hidden: frozenset[str] = frozenset()
    dollar_optional: bool = False
    in_limit: int | None = None
    max_filter_height: int | None = None
    honor_maxpagesize: bool = False
    reduced_max_top: tuple[str, int] | None = None
    eq_value_limit: int | None = None

    @property
    def entity_type(self) -> str:
        return f"microsoft.graph.{self.entity}"

    @property
    def is_directory(self) -> bool:
        return self.family == DIRECTORY


def _directory_table(spec: Mapping[str, str]) -> Mapping[str, Mapping[str, str]]:
    """``"eq ne:a"`` → ``{"eq": "default", "ne": "advanced"}``."""
    table: dict[str, Mapping[str, str]] = {}
    for prop, ops in spec.items():
        entry = {}
        for op in ops.split():
            name, _, mode = op.partition(":")
            entry[name] = "advanced" if mode == "a" else "default"
        table[prop] = MappingProxyType(entry)
    return MappingProxyType(table)


# Per-property $filter support of users and groups: the operators of the v1.0 resource pages
# (docQueryCapabilities in graph-csdl-subset.json) with default/advanced from the directory
# filter table (includes/filter-directory-objects.md). "null" = eq/ne null.
_USER_FILTER = _directory_table({
    "accountEnabled": "eq ne:a not:a in", "ageGroup": "eq ne:a not:a in",
    "assignedLicenses": "eq not:a", "assignedPlans": "eq:a not:a", "businessPhones": "eq:a not:a",
    "city": "eq ne:a not:a ge le in startswith null:a",
    "companyName": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "consentProvidedForMinor": "eq ne:a not:a in",
    "country": "eq ne:a not:a ge le in startswith null:a",
    "createdDateTime": "eq ne:a not:a ge le in:a null:a", "creationType": "eq ne:a not:a in",
    "deletedDateTime": "eq ne:a not:a ge le in:a",
    "department": "eq ne:a not:a ge le in null:a",
    "displayName": "eq ne:a not:a ge le in startswith null:a",
    "employeeHireDate": "eq:a ne:a not:a ge:a le:a in:a",
    "employeeId": "eq ne:a not:a ge le in startswith null:a",
    "employeeOrgData": "eq:a ne:a not:a ge:a le:a in:a",
    "employeeType": "eq:a ne:a not:a ge:a le:a in:a startswith:a",
    "externalUserState": "eq ne:a not:a in", "externalUserStateChangeDateTime": "eq ne:a not:a in",
    "faxNumber": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "givenName": "eq ne:a not:a ge le in startswith null:a", "id": "eq ne:a not:a in",
    "identities": "eq null", "imAddresses": "eq not:a ge le startswith",
    "jobTitle": "eq ne:a not:a ge le in startswith null:a",
    "mail": "eq ne:a not:a ge le in startswith endswith:a null:a",
    "mailNickname": "eq ne:a not:a ge le in startswith null:a",
    "mobilePhone": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "officeLocation": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "onPremisesExtensionAttributes": "eq:a not:a ge:a le:a in:a null:a",
    "onPremisesImmutableId": "eq ne:a not:a ge le in",
    "onPremisesLastSyncDateTime": "eq ne:a not:a ge le in",
    "onPremisesProvisioningErrors": "eq not:a ge:a le:a",
    "onPremisesSamAccountName": "eq:a ne:a not:a ge:a le:a in:a startswith:a",
    "onPremisesSyncEnabled": "eq ne:a not:a in",
    "onPremisesUserPrincipalName": "eq ne:a not:a ge le in startswith",
    "otherMails": "eq not:a ge le in startswith", "passwordPolicies": "ne:a not:a null:a",
    "passwordProfile": "eq:a ne:a not:a in:a null:a",
    "postalCode": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "preferredLanguage": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "provisionedPlans": "eq:a not:a ge:a le:a",
    # proxyAddresses/any(p:endswith(p, ...)) is advanced-only (graph-semantics §2.4).
    "proxyAddresses": "eq not:a ge le startswith endswith:a",
    "showInAddressList": "eq:a ne:a not:a in:a",
    "state": "eq ne:a not:a ge le in startswith null:a",
    "streetAddress": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "surname": "eq ne:a not:a ge le in startswith null:a",
    "usageLocation": "eq ne:a not:a ge le in startswith null:a",
    "userPrincipalName": "eq ne:a not:a ge le in startswith endswith:a",
    "userType": "eq ne:a not:a in null:a",
})

_GROUP_FILTER = _directory_table({
    "assignedLicenses": "eq", "classification": "eq ne:a not:a ge le startswith",
    "createdDateTime": "eq ne:a not:a ge le in:a null:a",
    "description": "eq:a ne:a not:a ge:a le:a startswith:a",
    "displayName": "eq ne:a not:a ge le in startswith null:a",
    "expirationDateTime": "eq:a ne:a not:a ge:a le:a in:a", "groupTypes": "eq not:a",
    "hasMembersWithLicenseErrors": "eq null", "id": "eq ne:a not:a in",
    "isAssignableToRole": "eq ne:a not:a", "mail": "eq ne:a not:a ge le in startswith null:a",
    "mailEnabled": "eq ne:a not:a", "mailNickname": "eq ne:a not:a ge le in startswith null:a",
    "membershipRule": "eq ne:a not:a ge le startswith",
    "membershipRuleProcessingState": "eq ne:a not:a in",
    "onPremisesLastSyncDateTime": "eq ne:a not:a ge le in",
    "onPremisesProvisioningErrors": "eq not:a",
    "onPremisesSamAccountName": "eq:a ne:a not:a ge:a le:a in:a startswith:a",
    "onPremisesSecurityIdentifier": "null:a", "onPremisesSyncEnabled": "eq ne:a not:a in",
    "preferredLanguage": "eq:a ne:a not:a ge:a le:a in:a startswith:a null:a",
    "proxyAddresses": "eq not:a ge le startswith", "renewedDateTime": "eq ne:a not:a ge le in",
    "securityEnabled": "eq ne:a not:a in",
})

# graph-semantics §3.9: the user properties returned without $select.
USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
# group.md "returnedByDefault" (graph-csdl-subset.json docQueryCapabilities.group), plus what the
# documented responses carry besides (graph-examples.json, group-list.md Example 1 and
# group-get.md Example 1): deletedDateTime, resourceBehaviorOptions, resourceProvisioningOptions,
# in the examples' order (onPremisesProvisioningErrors last). GET /groups/{id} also returns creationOptions (group-get.md Example 1;
# an open-type property, not in the v1.0 schema, so it cannot be $select-ed).
GROUP_DEFAULT = ("id", "deletedDateTime", "classification", "createdDateTime", "description",
                 "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail",
                 "mailEnabled", "mailNickname", "membershipRule", "membershipRuleProcessingState",
                 "onPremisesLastSyncDateTime", "onPremisesSamAccountName",
                 "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation",
                 "preferredLanguage", "proxyAddresses", "renewedDateTime",
                 "resourceBehaviorOptions", "resourceProvisioningOptions", "securityEnabled",
                 "securityIdentifier", "theme", "visibility", "onPremisesProvisioningErrors")
GROUP_ENTITY_DEFAULT = GROUP_DEFAULT[:4] + ("creationOptions",) + GROUP_DEFAULT[4:]

_CATEGORIES = LambdaRule(frozenset({"eq"}))
# singleValueExtendedProperties/any(ep: ep/id eq '...' and ep/value eq '...') (graph-semantics
# §2.1, §2.4: documented on messages; the same navigation exists on events and contacts).
# Returned only with $expand in Graph; the emulator leaves them out unless selected.
_EXTENDED = LambdaRule(frozenset({"eq", "ne"}), ("id", "value"))

# §3.1 / §2.4: messages accept startswith and contains, not endswith; categories/any works,
# toRecipients/any (and the other recipient collections) fail with ErrorInvalidUrlQueryFilter.
MESSAGES = ResourceRules(
    name="messages", entity="message", family=OUTLOOK,
    lambdas=MappingProxyType({"categories": _CATEGORIES,
                              "singleValueExtendedProperties": _EXTENDED}),
    orderby_must_lead_filter=True,
    # Outlook lists mail newest first when no $orderby is given (inferred: the server "always
    # infers a sort order", query-parameters.md §orderby); $search results are sorted by sent
    # date/time and capped at 1000 (§4.1).
    default_order=(("receivedDateTime", True),),
    search="kql", search_order=(("sentDateTime", True),), search_cap=1000,
    select_only=frozenset({"internetMessageHeaders", "uniqueBody",
                           "singleValueExtendedProperties"}),
)
MAIL_FOLDERS = ResourceRules(name="mailFolders", entity="mailFolder", family=OUTLOOK)
EVENTS = ResourceRules(
    name="events", entity="event", family=OUTLOOK,
    lambdas=MappingProxyType({"categories": _CATEGORIES,
                              "singleValueExtendedProperties": _EXTENDED}),
    select_only=frozenset({"singleValueExtendedProperties", "cancelledOccurrences"}),
)
# §3.4: createdDateTime/lastModifiedDateTime "do not support $select" on calendarView; the
# emulator leaves them out of $select-ed answers (inferred) and returns them otherwise.
CALENDAR_VIEW = ResourceRules(
    name="calendarView", entity="event", family=OUTLOOK,
    lambdas=MappingProxyType({"categories": _CATEGORIES}),
    list_hidden=frozenset({"createdDateTime", "lastModifiedDateTime"}),
    select_only=frozenset({"cancelledOccurrences"}),
)
EVENT_INSTANCES = ResourceRules(
    name="instances", entity="event", family=OUTLOOK,
    lambdas=MappingProxyType({"categories": _CATEGORIES}),
    select_only=frozenset({"cancelledOccurrences"}),
)
CALENDARS = ResourceRules(name="calendars", entity="calendar", family=OUTLOOK)
# §3.6: only emailAddresses/any(a:a/address eq '...') — no ne/le/startswith, no other member.
CONTACTS = ResourceRules(
    name="contacts", entity="contact", family=OUTLOOK,
    # primary/secondary/tertiaryEmailAddress (CSDL contact type) mirror emailAddresses; the
    # emulator returns them when selected only, keeping contact-get.md's default shape (inferred).
    select_only=frozenset({"primaryEmailAddress", "secondaryEmailAddress", "tertiaryEmailAddress",
                           "singleValueExtendedProperties"}),
    lambdas=MappingProxyType({
        "emailAddresses": LambdaRule(frozenset({"eq"}), ("address",)),
        "categories": _CATEGORIES,
        "singleValueExtendedProperties": _EXTENDED,
    }),
)
CONTACT_FOLDERS = ResourceRules(name="contactFolders", entity="contactFolder", family=OUTLOOK)
# §3.8: $filter is ignored on /attachments (no error).
ATTACHMENTS = ResourceRules(
    name="attachments", entity="attachment", family=OUTLOOK, filter_supported=False,
)

class _DirectoryCommon(TypedDict):
    """The ``ResourceRules`` fields every directory (Entra ID) resource shares, typed so mypy checks
    them against the dataclass where they are spread in with ``**``."""

    family: str
    default_page_size: int
    max_top: int
    top_over_max: str
    paging: str
    skip_supported: bool
    string_functions: frozenset[str]
    search: str
    dollar_optional: bool
    in_limit: int
    max_filter_height: int
    eq_value_limit: int


_DIRECTORY_COMMON: _DirectoryCommon = {
    "family": DIRECTORY, "default_page_size": 100, "max_top": 999, "top_over_max": "reject",
    "paging": "skiptoken", "skip_supported": False,
    "string_functions": frozenset({"startswith"}), "search": "directory",
    "dollar_optional": True, "in_limit": 15, "max_filter_height": 3,
    # §2.4/§13.10: a directory eq value is at most 120 characters (known issue 13635); longer
    # startswith values get Request_UnsupportedQuery (obs, graph-explorer-v4#2103).
    "eq_value_limit": 120,
}

USERS = ResourceRules(
    name="users", entity="user", resource_label="User",
    lambdas=MappingProxyType({
        name: LambdaRule(frozenset({"eq", "startswith", "ge", "le", "endswith"}))
        for name in ("businessPhones", "imAddresses", "otherMails", "proxyAddresses",
                     "assignedLicenses", "assignedPlans", "provisionedPlans", "identities",
                     "onPremisesProvisioningErrors")
    }),
    directory_filter=_USER_FILTER,
    orderable=frozenset({"displayName", "userPrincipalName"}),
    default_select=USER_DEFAULT,
    # §3.9: "when signInActivity is selected/filtered the max is 500" (user-list.md).
    reduced_max_top=("signInActivity", 500),
    # §3.9: only on GET /users/{id}; /users?$select=aboutMe → 501.
    collection_unselectable=frozenset({"aboutMe", "birthday", "hireDate", "interests", "mySite",
                                       "pastProjects", "preferredName", "responsibilities",
                                       "schools", "skills", "mailboxSettings"}),
    **_DIRECTORY_COMMON,
)
GROUPS = ResourceRules(
    name="groups", entity="group", resource_label="Group",
    lambdas=MappingProxyType({
        name: LambdaRule(frozenset({"eq", "startswith", "ge", "le"}))
        for name in ("groupTypes", "proxyAddresses", "assignedLicenses",
                     "onPremisesProvisioningErrors")
    }),
    directory_filter=_GROUP_FILTER,
    orderable=frozenset({"displayName"}),
    default_select=GROUP_DEFAULT,
    entity_default_select=GROUP_ENTITY_DEFAULT,
    # §3.10: these are supported only on GET /groups/{id} (group.md says the same of isFavorite,
    # unseenConversationsCount and unseenMessagesCount); hasMembersWithLicenseErrors and
    # isArchived are never returned.
    list_hidden=frozenset({"allowExternalSenders", "autoSubscribeNewMembers",
                           "hideFromAddressLists", "hideFromOutlookClients",
                           "isSubscribedByMail", "unseenCount", "isFavorite",
                           "unseenConversationsCount", "unseenMessagesCount",
                           "hasMembersWithLicenseErrors", "isArchived"}),
    **_DIRECTORY_COMMON,
)
# /groups/{id}/members: directoryObjects (users and groups, each with @odata.type). Filters use
# the union of both tables; the default property set follows each item's @odata.type.
GROUP_MEMBERS = ResourceRules(
    name="members", entity="directoryObject", resource_label="DirectoryObject",
    lambdas=MappingProxyType({**USERS.lambdas, **GROUPS.lambdas}),
    directory_filter=MappingProxyType({**_GROUP_FILTER, **_USER_FILTER}),
    orderable=frozenset({"displayName"}),
    type_default_select=MappingProxyType({
        "#microsoft.graph.user": USER_DEFAULT, "#microsoft.graph.group": GROUP_DEFAULT,
    }),
    default_select=("id",),
    list_hidden=GROUPS.list_hidden,
    collection_unselectable=USERS.collection_unselectable,
    **_DIRECTORY_COMMON,
)

# §7 / §5: delta rounds (graph.delta) page with Prefer: odata.maxpagesize, documented for
# message, event (calendarView) and contact delta only; the plain lists above ignore it.
MESSAGES_DELTA = replace(MESSAGES, name="messages/delta", honor_maxpagesize=True)
CALENDAR_VIEW_DELTA = replace(CALENDAR_VIEW, name="calendarView/delta", honor_maxpagesize=True)
CONTACTS_DELTA = replace(CONTACTS, name="contacts/delta", honor_maxpagesize=True)
# delta-query-overview.md: the other delta functions page the same way (mailFolders,
# contactFolders, users and groups).
MAIL_FOLDERS_DELTA = replace(MAIL_FOLDERS, name="mailFolders/delta", honor_maxpagesize=True)
CONTACT_FOLDERS_DELTA = replace(CONTACT_FOLDERS, name="contactFolders/delta", honor_maxpagesize=True)
USERS_DELTA = replace(USERS, name="users/delta", honor_maxpagesize=True)
GROUPS_DELTA = replace(GROUPS, name="groups/delta", honor_maxpagesize=True)

ALL_RULES: tuple[ResourceRules, ...] = (
    MESSAGES, MAIL_FOLDERS, EVENTS, CALENDAR_VIEW, EVENT_INSTANCES, CALENDARS, CONTACTS,
    CONTACT_FOLDERS, ATTACHMENTS, USERS, GROUPS, GROUP_MEMBERS, MESSAGES_DELTA,
    CALENDAR_VIEW_DELTA, CONTACTS_DELTA, MAIL_FOLDERS_DELTA, CONTACT_FOLDERS_DELTA, USERS_DELTA,
    GROUPS_DELTA,
)
