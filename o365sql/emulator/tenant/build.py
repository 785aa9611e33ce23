"""Builds the seeded demo tenant: users, shared mailbox, groups, then each mailbox's mail,
calendars, contacts and drafts (emulator data stage).

``build_tenant(seed, users=6, messages_per_user=150, ...)`` makes the same tenant for the same
seed (one ``random.Random(seed)``, no global randomness) laid out around an anchor: every date is
a fixed offset from it, so the same seed gives the same relative layout at any anchor. The anchor
defaults to now (or ``$O365SQL_EMULATOR_ANCHOR``, which pins it), so that "today", "the last 30
days" and "next week's meetings" find data.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from . import seed_calendar, seed_contacts, seed_directory, seed_mail, seed_words
from .seed_users import user_json
from .tenant import Tenant, resolve_anchor


def build_tenant(seed: int = 1, users: int = 6, messages_per_user: int = 150, events_per_user: int = 40,
                 contacts_per_user: int = 25, groups: int = 6, *, domain: str = "contoso.onmicrosoft.com",
                 anchor: datetime | str | None = None, shared_mailbox: bool = True,
                 drafts_per_user: int | None = None, recent_per_user: int = 0,
                 **options: Any) -> Tenant:
    """A deterministic demo tenant.

    ``shared_mailbox`` adds one more user, "Contoso Support" (a disabled account, as shared
    mailboxes are), whose mailbox the first two users may read with the ``*.Shared`` scopes.
    Each mailbox holds ``messages_per_user`` seeded messages plus ``drafts_per_user`` unsent
    drafts (default ``seed_mail.draft_count(messages_per_user)``: 1 to 4; 0 for none), added
    last so that they change nothing else in the tenant.
    ``anchor`` is resolved by ``tenant.resolve_anchor`` (explicit, else the environment, else now).
    ``recent_per_user`` unread Inbox messages from the last hours before the anchor are added
    after everything else (the demo asks for some, so that "today's mail" finds one; 0 leaves
    the tenant as it was). Unknown ``options`` are rejected so that typos don't pass silently.
    """
    if options:
        raise TypeError(f"build_tenant() got unexpected options: {', '.join(sorted(options))}")
    rng = random.Random(seed)
    at = resolve_anchor(anchor)
    tenant = Tenant(str(uuid.UUID(int=rng.getrandbits(128), version=4)), domain, at)
    for i in range(users):
        tenant.add_user(user_json(rng, i, domain, at))
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
    for user in tenant.users:
        seed_mail.seed_recent(tenant, tenant.mailboxes[user["id"]], recent_per_user)
    return tenant
