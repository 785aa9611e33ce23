"""The seeded demo tenant behind the emulator's Graph service (emulator data stage).

``build_tenant(seed, users=6, messages_per_user=150, ...)`` makes the same tenant for the same
seed (one ``random.Random(seed)``, no global randomness, a fixed reference date instead of
"now"): a directory of users and groups, and per user a ``Mailbox`` with mail folders and
messages (``mail_store``), calendars and events (``calendar_store``), contact folders and contacts
(``contact_store``). Item ids are computed, not stored (``item_ids``).

Hands on: ``Tenant`` to ``graph_api`` (routes) and to the server (which signs users in by id/UPN).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from . import item_ids, seed_words
from .calendar_store import CalendarStore
from .contact_store import ContactStore
from .mail_store import MailStore

REFERENCE_DATE = datetime(2026, 11, 1, tzinfo=UTC)
# Process-wide numbering of mailboxes: the query engine's result cache is process-wide, so its
# keys must tell apart equal mailboxes of two tenants built from the same seed.
_MAILBOX_NUMBERS = itertools.count(1)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.replace(" ", "")


class Mailbox:
    """One user's Exchange mailbox. Hold ``lock`` while reading or changing it."""

    def __init__(self, tenant: Tenant, user: dict[str, Any], person: int) -> None:
        self.tenant = tenant
        self.user = user
        self.person = person  # index into tenant.people
        self.key = uuid.UUID(user["id"]).bytes
        self.lock = threading.RLock()
        self.version = 0  # bumped by every write; keys the query engine's result cache
        self.number = next(_MAILBOX_NUMBERS)
        serials = itertools.count(1)
        self.mail = MailStore(serials)
        self.calendars = CalendarStore(serials)
        self.contacts = ContactStore(serials)

    @property
    def user_id(self) -> str:
        return str(self.user["id"])

    @property
    def address(self) -> str:
        return str(self.user["mail"])

    def item_id(self, kind: int, serial: int, extra: int = 0) -> str:
        return item_ids.encode(self.key, kind, serial, extra)

    def folder_id(self, serial: int) -> str:
        folder = self.mail.folders.get(serial)
        return item_ids.encode(self.key, item_ids.MAIL_FOLDER, serial,
                               default_folder=bool(folder and folder.well_known))


class Tenant:
    """Directory and mailboxes. ``lock`` guards the directory; each mailbox has its own lock."""

    def __init__(self, tenant_id: str, domain: str, reference: datetime) -> None:
        self.tenant_id = tenant_id
        self.domain = domain
        self.key = uuid.UUID(tenant_id).bytes
        self.reference = reference
        self.users: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.group_members: dict[str, list[str]] = {}  # group id -> member object ids
        self.people: list[tuple[str, str]] = []  # (name, address): users first, then externals
        self._people_index: dict[str, int] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.shared_with: dict[str, set[str]] = {}  # mailbox owner id -> user ids granted access
        self.lock = threading.RLock()
        self._conversations = itertools.count(1)
        self._by_key: dict[str, dict[str, Any]] = {}

    # directory ---------------------------------------------------------------------------------
    def add_user(self, user: dict[str, Any]) -> None:
        self.users.append(user)
        self._by_key[user["id"].lower()] = user
        self._by_key[user["userPrincipalName"].lower()] = user
        self.mailboxes[user["id"]] = Mailbox(self, user, self.person(user["displayName"], user["mail"]))

    def user(self, key: str) -> dict[str, Any] | None:
        """The user with this object id or userPrincipalName (case-insensitive), or None."""
        return self._by_key.get(key.lower())

    def group(self, key: str) -> dict[str, Any] | None:
        for g in self.groups:
            if g["id"] == key.lower():
                return g
        return None

    def directory_object(self, key: str) -> dict[str, Any] | None:
        return self.user(key) or self.group(key)

    def mailbox(self, key: str) -> Mailbox | None:
        user = self.user(key)
        return self.mailboxes.get(user["id"]) if user else None

    def mailbox_by_address(self, address: str) -> Mailbox | None:
        for user in self.users:
            if (user.get("mail") or "").lower() == address.lower() or user["userPrincipalName"].lower() == address.lower():
                return self.mailboxes[user["id"]]
        return None

    def mailbox_by_key(self, key: bytes) -> Mailbox | None:
        return self.mailboxes.get(str(uuid.UUID(bytes=key)))

    def person(self, name: str, address: str) -> int:
        """Index of (name, address) in ``people``, adding it if new."""
        idx = self._people_index.get(address.lower())
        if idx is None:
            idx = len(self.people)
            self.people.append((name or address, address))
            self._people_index[address.lower()] = idx
        return idx

    def new_conversation(self) -> int:
        return next(self._conversations)

    def now(self) -> float:
        """Clock for writes: real time, but never before the seeded data's reference date."""
        return max(time.time(), self.reference.timestamp())


def _user_json(rng: random.Random, i: int, domain: str, reference: datetime) -> dict[str, Any]:
    n_first, n_last = len(seed_words.FIRST_NAMES), len(seed_words.LAST_NAMES)
    first = seed_words.FIRST_NAMES[i % n_first]
    last = seed_words.LAST_NAMES[(i + i // n_first) % n_last]
    if "'" in last:
        nick = f"{_ascii(first)}.{_ascii(last)}"
    else:
        nick = f"{_ascii(first)}{_ascii(last)[0]}"
    if i >= n_first:
        nick += str(i // n_first)
    upn = f"{nick}@{domain}"
    city, state, country, postal = seed_words.CITIES[i % len(seed_words.CITIES)]
    created = reference - timedelta(days=400 + rng.randrange(900), seconds=rng.randrange(86400))
    phone = f"+1 425 555 {100 + i:04d}"
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "businessPhones": [phone] if i % 4 != 3 else [],
        "displayName": f"{first} {last}",
        "givenName": first,
        "jobTitle": seed_words.JOB_TITLES[i % len(seed_words.JOB_TITLES)] if i % 7 != 6 else None,
        "mail": upn,
        "mobilePhone": f"+1 425 555 {200 + i:04d}" if i % 3 else None,
        "officeLocation": seed_words.OFFICES[i % len(seed_words.OFFICES)],
        "preferredLanguage": ("en-US", "fr-FR", "de-DE", "ja-JP")[i % 4],
        "surname": last,
        "userPrincipalName": upn,
        "deletedDateTime": None,
        "accountEnabled": i % 9 != 8,
        "ageGroup": None,
        "assignedLicenses": [{"disabledPlans": [], "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df"}],
        "city": city,
        "companyName": "Contoso" if i % 5 else None,
        "country": country,
        "createdDateTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "creationType": None,
        "department": seed_words.DEPARTMENTS[i % len(seed_words.DEPARTMENTS)],
        "employeeHireDate": (created - timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z"),
        "employeeId": f"{1000 + i}",
        "employeeType": "Employee",
        "externalUserState": None,
        "faxNumber": None,
        "imAddresses": [f"sip:{upn.lower()}"],
        "isResourceAccount": None,
        "mailNickname": nick,
        "otherMails": [],
        "postalCode": postal,
        "preferredDataLocation": None,
        "proxyAddresses": [f"SMTP:{upn}", f"smtp:{nick}@{domain.split('.')[0]}.com"],
        "showInAddressList": None,
        "state": state,
        "streetAddress": seed_words.STREETS[i % len(seed_words.STREETS)],
        "usageLocation": country,
        "userType": "Member",
        "onPremisesSyncEnabled": None,
        "onPremisesImmutableId": None,
        "onPremisesSamAccountName": None,
        "aboutMe": None,
        "birthday": "0001-01-01T08:00:00Z",
        "hireDate": "0001-01-01T08:00:00Z",
        "interests": [],
        "mySite": None,
        "pastProjects": [],
        "preferredName": None,
        "responsibilities": [],
        "schools": [],
        "skills": [],
        # user.md: no certificate user ids, no custom security attributes, not in a restricted
        # management administrative unit (null, "default behavior is false"), no B2B parent.
        "authorizationInfo": {"certificateUserIds": []},
        "customSecurityAttributes": None,
        # Non-nullable in the CSDL; user.md allows 5 or 1000 (5 chosen, inferred).
        "deviceEnrollmentLimit": 5,
        "identityParentId": None,
        "isManagementRestricted": None,
        "print": None,
        "onPremisesExtensionAttributes": empty_extension_attributes(),
        "mailboxSettings": _mailbox_settings(i, country),
    }


def empty_extension_attributes() -> dict[str, Any]:
    """onPremisesExtensionAttributes of a cloud-only object: all fifteen present and null."""
    return {f"extensionAttribute{n}": None for n in range(1, 16)}


# Windows time zone of each seeded country (seed_words.CITIES), and display names of the seeded
# preferred languages, for mailboxSettings (mailboxsettings.md example shapes).
_COUNTRY_ZONES = {"US": "Pacific Standard Time", "DE": "W. Europe Standard Time",
                  "FR": "Romance Standard Time", "JP": "Tokyo Standard Time",
                  "CH": "W. Europe Standard Time", "CA": "Eastern Standard Time"}
_LANGUAGES = {"en-US": "English (United States)", "fr-FR": "French (France)",
              "de-DE": "German (Germany)", "ja-JP": "Japanese (Japan)"}
_DATE_FORMATS = {"US": "M/d/yyyy", "DE": "dd.MM.yyyy", "CH": "dd.MM.yyyy", "JP": "yyyy/MM/dd",
                 "CA": "yyyy-MM-dd"}


def _mailbox_settings(i: int, country: str) -> dict[str, Any]:
    """A mailbox's settings (GET /users/{id}?$select=mailboxSettings): working hours in the
    user's zone, automatic replies off. Drawn from ``i`` only, so the seed's random stream (and
    so the rest of the tenant) is unchanged."""
    zone = _COUNTRY_ZONES.get(country, "UTC")
    locale = ("en-US", "fr-FR", "de-DE", "ja-JP")[i % 4]
    return {
        "archiveFolder": None,  # set once the mailbox's folders exist (build_tenant)
        "timeZone": zone,
        "automaticRepliesSetting": {
            "status": "disabled", "externalAudience": "all",
            "scheduledStartDateTime": {"dateTime": "2026-11-02T08:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2026-11-03T08:00:00.0000000", "timeZone": "UTC"},
            "internalReplyMessage": "", "externalReplyMessage": "",
        },
        "language": {"locale": locale, "displayName": _LANGUAGES[locale]},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000" if i % 2 else "09:00:00.0000000",
            "endTime": "17:00:00.0000000" if i % 2 else "18:00:00.0000000",
            "timeZone": {"name": zone},
        },
        "dateFormat": _DATE_FORMATS.get(country, "dd/MM/yyyy"),
        "timeFormat": "h:mm tt" if country == "US" else "HH:mm",
        "userPurpose": "user",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
    }


def build_tenant(seed: int = 1, users: int = 6, messages_per_user: int = 150, events_per_user: int = 40,
                 contacts_per_user: int = 25, groups: int = 6, *, domain: str = "contoso.onmicrosoft.com",
                 reference: datetime = REFERENCE_DATE, shared_mailbox: bool = True,
                 drafts_per_user: int | None = None, **options: Any) -> Tenant:
    """A deterministic demo tenant.

    ``shared_mailbox`` adds one more user, "Contoso Support" (a disabled account, as shared
    mailboxes are), whose mailbox the first two users may read with the ``*.Shared`` scopes.
    Each mailbox holds ``messages_per_user`` seeded messages plus ``drafts_per_user`` unsent
    drafts (default ``seed_mail.draft_count(messages_per_user)``: 1 to 4; 0 for none), added
    last so that they change nothing else in the tenant.
    Unknown ``options`` are rejected so that typos don't pass silently.
    """
    if options:
        raise TypeError(f"build_tenant() got unexpected options: {', '.join(sorted(options))}")
    from . import seed_calendar, seed_contacts, seed_directory, seed_mail

    rng = random.Random(seed)
    tenant = Tenant(str(uuid.UUID(int=rng.getrandbits(128), version=4)), domain, reference)
    for i in range(users):
        tenant.add_user(_user_json(rng, i, domain, reference))
    if shared_mailbox:
        seed_directory.add_shared_mailbox(tenant, rng)
    for name, address in seed_words.EXTERNAL_PEOPLE:
        tenant.person(name, address)
    seed_directory.seed_groups(tenant, rng, groups)
    for user in tenant.users:
        mb = tenant.mailboxes[user["id"]]
        folders = seed_mail.seed_folders(mb)
        user["mailboxSettings"]["archiveFolder"] = mb.folder_id(mb.mail.well_known["archive"])
        seed_mail.seed_messages(tenant, mb, rng, messages_per_user, folders)
        seed_calendar.seed_calendars(tenant, mb, rng, events_per_user)
        seed_contacts.seed_contacts(tenant, mb, rng, contacts_per_user)
    drafts = seed_mail.draft_count(messages_per_user) if drafts_per_user is None else drafts_per_user
    for user in tenant.users:
        seed_mail.seed_drafts(tenant, tenant.mailboxes[user["id"]], drafts)
    return tenant
