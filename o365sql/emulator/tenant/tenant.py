"""The seeded demo tenant behind the emulator's Graph service (emulator data stage).

A ``Tenant`` is a directory of users and groups and, per user, a ``Mailbox`` with mail folders
and messages (``tenant.mail_store``), calendars and events (``tenant.calendar_store``), contact folders and
contacts (``tenant.contact_store``). Item ids are computed, not stored (``tenant.item_ids``). ``build.py``
seeds one; nothing here imports a seeder.

Hands on: ``Tenant`` to ``graph.service`` (routes) and to the server (which signs users in by id/UPN).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from . import item_ids
from .access_policies import AccessPolicies
from .calendar_store import CalendarStore
from .contact_store import ContactStore
from .mail_store import MailStore

ANCHOR_ENV = "O365SQL_EMULATOR_ANCHOR"
"""Environment variable pinning the anchor of every tenant built without an explicit one (an
ISO 8601 date or date-time, naive means UTC). The test suite sets it once in tests/conftest.py
so that every emulator, in-process or a subprocess, seeds the same dates."""


def resolve_anchor(anchor: datetime | str | None = None) -> datetime:
    """The moment the seeded data is laid out around: ``anchor`` if given (a datetime or an ISO
    8601 string), else ``$O365SQL_EMULATOR_ANCHOR``, else now; aware UTC, whole seconds.

    The seeders place every item at a fixed offset from it, so one seed gives the same relative
    layout at any anchor: mail over the 18 months up to it, meetings nine months either side.
    """
    if anchor is None:
        anchor = os.environ.get(ANCHOR_ENV) or None
    if anchor is None:
        value = datetime.now(UTC)
    elif isinstance(anchor, str):
        try:
            value = datetime.fromisoformat(anchor.strip())
        except ValueError:
            raise ValueError(f"anchor {anchor!r} is not an ISO 8601 date or date-time "
                             "(e.g. 2026-11-01T09:00:00Z)") from None
    else:
        value = anchor
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)
# Process-wide numbering of mailboxes: the query engine's result cache is process-wide, so its
# keys must tell apart equal mailboxes of two tenants built from the same seed.
_MAILBOX_NUMBERS = itertools.count(1)


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

    def __init__(self, tenant_id: str, domain: str, anchor: datetime) -> None:
        self.tenant_id = tenant_id
        self.domain = domain
        self.key = uuid.UUID(tenant_id).bytes
        self.anchor = anchor
        self.users: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.group_members: dict[str, list[str]] = {}  # group id -> member object ids
        self.people: list[tuple[str, str]] = []  # (name, address): users first, then externals
        self._people_index: dict[str, int] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.shared_with: dict[str, set[str]] = {}  # mailbox owner id -> user ids granted access
        self.app_denied: set[str] = set()  # mailboxes every application is scoped away from
        self.access_policies = AccessPolicies()  # which mailboxes each app may open app-only
        self.lock = threading.RLock()
        self._conversations = itertools.count(1)
        self._by_key: dict[str, dict[str, Any]] = {}

    # directory ---------------------------------------------------------------------------------
    def add_user(self, user: dict[str, Any]) -> None:
        self.users.append(user)
        self._by_key[user["id"].lower()] = user
        self._by_key[user["userPrincipalName"].lower()] = user
        self.mailboxes[user["id"]] = Mailbox(self, user, self.person(user["displayName"], user["mail"]))

    def remove_user(self, key: str) -> None:
        """Delete a user (and its mailbox and group memberships), as a directory DELETE does."""
        with self.lock:
            user = self.user(key)
            if user is None:
                raise KeyError(key)
            self.users.remove(user)
            for name in ("id", "userPrincipalName"):
                self._by_key.pop(str(user[name]).lower(), None)
            self.mailboxes.pop(user["id"], None)
            for members in self.group_members.values():
                while user["id"] in members:
                    members.remove(user["id"])

    def update_user(self, key: str, **changes: Any) -> None:
        """Change directory properties of a user (what PATCH /users/{id} does)."""
        with self.lock:
            user = self.user(key)
            if user is None:
                raise KeyError(key)
            user.update(changes)

    def remove_mailbox(self, key: str) -> None:
        """The user keeps its account but loses its mailbox (license removed, inactive
        mailbox): its mail, calendar and contact paths answer 404."""
        with self.lock:
            user = self.user(key)
            if user is None:
                raise KeyError(key)
            self.mailboxes.pop(user["id"], None)

    def deny_app_access(self, key: str) -> None:
        """Scope applications away from a mailbox, as an application access policy (or RBAC
        for Applications) does: app-only calls to it answer 403 ErrorAccessDenied
        (delta-limits-spark §5.4)."""
        with self.lock:
            user = self.user(key)
            if user is None:
                raise KeyError(key)
            self.app_denied.add(user["id"])

    def add_member(self, group_id: str, object_id: str) -> None:
        with self.lock:
            members = self.group_members.setdefault(group_id.lower(), [])
            if object_id not in members:
                members.append(object_id)

    def remove_member(self, group_id: str, object_id: str) -> None:
        with self.lock:
            members = self.group_members.get(group_id.lower(), [])
            if object_id in members:
                members.remove(object_id)

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

    @property
    def reference(self) -> datetime:
        """The anchor (its former name)."""
        return self.anchor

    def now(self) -> float:
        """Clock for writes: real time, but never before the seeded data's anchor."""
        return max(time.time(), self.anchor.timestamp())
