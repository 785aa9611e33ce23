"""Seeds one mailbox's folders and messages (emulator data stage).

Deterministic for the tenant seed: every draw comes from the ``random.Random`` handed in. Makes
conversations (a first message, then "RE:"/"FW:" replies alternating between the owner and the
other party) spread over the 18 months before the tenant's anchor, filed into Inbox,
its subfolders, Sent Items, Archive, Junk Email, Deleted Items and Drafts, with a realistic mix of
unread, flagged, categorised, important and attachment-carrying messages; then, once every
mailbox is seeded, a few unsent drafts per mailbox (``seed_drafts``).

Hands on: records added to the mailbox's ``MailStore``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from . import seed_words
from .mail_store import (
    ATTACH_SHIFT,
    DELIVERY_RECEIPT,
    DRAFT,
    FLAG_SHIFT,
    IMPORTANCE_SHIFT,
    MEETING_REQUEST,
    OTHER,
    READ,
    MessageRecord,
)

if TYPE_CHECKING:
    from .tenant import Mailbox, Tenant

EIGHTEEN_MONTHS = 548 * 86400


def seed_folders(mb: Mailbox) -> dict[str, int]:
    """User folders: nested childFolders, a hidden one, and a folder under Archive."""
    store = mb.mail
    inbox = store.well_known["inbox"]
    projects = store.add_folder("Projects", inbox)
    made = {
        "projects": projects.serial,
        "alpha": store.add_folder("Alpha", projects.serial).serial,
        "beta": store.add_folder("Bêta – 2025", projects.serial).serial,
        "receipts": store.add_folder("Receipts", inbox).serial,
        "clutters": store.add_folder("Clutters", inbox, hidden=True).serial,
        "newsletters": store.add_folder("Newsletters", store.root).serial,
        "private": store.add_folder("Private stash", store.root, hidden=True).serial,
        "archive2025": store.add_folder("2025", store.well_known["archive"]).serial,
        "teamchat": store.add_folder("Team Chat", store.well_known["conversationhistory"]).serial,
    }
    return made


def seed_messages(tenant: Tenant, mb: Mailbox, rng: random.Random, count: int,
                  user_folders: dict[str, int]) -> None:
    store = mb.mail
    wk = store.well_known
    owner = mb.person
    n_users = len(tenant.users)
    n_people = len(tenant.people)
    externals = range(n_users, n_people)
    end = int(tenant.anchor.timestamp())
    start = end - EIGHTEEN_MONTHS
    cat_choices = [(), (), (), (), (), (), ()] + [(c,) for c in seed_words.CATEGORIES] + [
        (seed_words.CATEGORIES[0], seed_words.CATEGORIES[1]), (seed_words.CATEGORIES[2], "Travel")]
    incoming_folders = ([wk["inbox"]] * 14 + [user_folders["alpha"], user_folders["beta"],
                        user_folders["receipts"], user_folders["projects"], user_folders["clutters"],
                        user_folders["newsletters"], user_folders["private"], wk["archive"],
                        user_folders["archive2025"], wk["deleteditems"], wk["junkemail"],
                        user_folders["teamchat"]])
    made = 0
    while made < count:
        conv = tenant.new_conversation()
        internal = rng.random() < 0.55 and n_users > 1
        if internal:
            other = rng.randrange(n_users - 1)
            other = other + 1 if other >= owner else other
        else:
            other = rng.choice(externals)
        extra_people = [rng.randrange(n_people) for _ in range(rng.randrange(3))]
        extra_people = [p for p in extra_people if p not in (owner, other)]
        length = min(1 + int(rng.expovariate(0.7)), 6, count - made)
        t = start + rng.randrange(EIGHTEEN_MONTHS - 3 * 86400)
        owner_first = rng.random() < 0.3
        folder_in = rng.choice(incoming_folders)
        for pos in range(length):
            outgoing = (pos % 2 == 0) == owner_first
            t += rng.randrange(300, 2 * 86400)
            t = min(t, end)
            flags = 1 << IMPORTANCE_SHIFT  # normal
            r = rng.random()
            if r < 0.1:
                flags = 2 << IMPORTANCE_SHIFT
            elif r < 0.15:
                flags = 0
            to: tuple[int, ...]  # person numbers of the To line; may gain a second one below
            if outgoing:
                sender, to = owner, (other,)
                folder = wk["sentitems"]
                flags |= READ
            else:
                sender, to = other, (owner,)
                folder = folder_in
                age = end - t
                if rng.random() < (0.9 if age > 60 * 86400 else 0.45):
                    flags |= READ
                if not internal and rng.random() < 0.2:
                    flags |= OTHER
                if internal and rng.random() < 0.04:
                    flags |= MEETING_REQUEST
            cc = tuple(extra_people) if rng.random() < 0.5 else ()
            if rng.random() < 0.25 and extra_people:
                to = to + (extra_people[0],)
            f = rng.random()
            if f < 0.05:
                flags |= 2 << FLAG_SHIFT
            elif f < 0.08:
                flags |= 1 << FLAG_SHIFT
            if rng.random() < 0.12:
                flags |= (1 + rng.randrange(3)) << ATTACH_SHIFT
            if rng.random() < 0.02:
                flags |= DELIVERY_RECEIPT
            cats = cat_choices[rng.randrange(len(cat_choices))] if rng.random() < 0.2 else ()
            sent = t - rng.randrange(1, 30)
            if outgoing and pos == length - 1 and rng.random() < 0.04:
                folder = wk["drafts"]
                flags = (flags | DRAFT | READ) & ~MEETING_REQUEST
                sent = t  # an unsent draft: sentDateTime = receivedDateTime (see seed_drafts)
            rec = MessageRecord(store.next_serial(), folder, rng.getrandbits(48), t, sent, flags,
                                sender, to, cc, conv, pos, cats)
            store.add(rec)
            made += 1


def draft_count(messages: int) -> int:
    """How many unsent drafts a mailbox of ``messages`` seeded messages gets besides them: none
    for an empty mailbox, else one per 40 messages, at least 1 and at most 4."""
    return 0 if messages <= 0 else min(4, max(1, messages // 40))


def seed_drafts(tenant: Tenant, mb: Mailbox, count: int) -> None:
    """Adds ``count`` unsent drafts to the mailbox's Drafts folder.

    Called once every mailbox is seeded, with a random stream of its own (derived from the
    mailbox's id, so from the tenant seed): the messages, events, contacts and conversation
    numbers seeded before stay exactly what they were without drafts. A draft looks like the
    ones Graph returns for ``POST /me/messages`` (graph-examples.json, user-post-messages.md):
    ``isDraft`` and ``isRead`` true, no ``from``/``sender`` (``tenant.mail_json`` leaves them out of a
    draft), ``createdDateTime`` = ``receivedDateTime`` = ``sentDateTime`` = when it was saved,
    here within the fortnight before the tenant's anchor.
    """
    if count <= 0:
        return
    rng = random.Random(mb.key + b"drafts")
    store = mb.mail
    folder = store.well_known["drafts"]
    owner = mb.person
    others = [p for p in range(len(tenant.people)) if p != owner]
    end = int(tenant.anchor.timestamp())
    for n in range(count):
        saved = end - rng.randrange(3600, 14 * 86400)
        to = (rng.choice(others),) if others else (owner,)
        cc = (rng.choice(others),) if others and rng.random() < 0.3 else ()
        flags = DRAFT | READ | (1 << IMPORTANCE_SHIFT)
        if n == 0 and rng.random() < 0.5:
            flags |= 1 << ATTACH_SHIFT  # a draft with its attachment already added
        rec = MessageRecord(store.next_serial(), folder, rng.getrandbits(48), saved, saved, flags,
                            owner, to, cc, tenant.new_conversation(), 0, ())
        store.add(rec)


def seed_recent(tenant: Tenant, mb: Mailbox, count: int) -> None:
    """Adds ``count`` unread Inbox messages received in the last hours before the anchor: the
    demo's "today" and "this week" (the first within the last hour, the others within three
    days). Like the drafts, they come from a random stream of their own, added after every
    other item, so the rest of the tenant is what it is without them."""
    if count <= 0:
        return
    rng = random.Random(mb.key + b"recent")
    store = mb.mail
    owner = mb.person
    others = [p for p in range(len(tenant.people)) if p != owner]
    if not others:
        return
    end = int(tenant.anchor.timestamp())
    for n in range(count):
        received = end - (rng.randrange(60, 3600) if n == 0 else rng.randrange(3600, 3 * 86400))
        flags = 1 << IMPORTANCE_SHIFT  # normal importance, unread
        rec = MessageRecord(store.next_serial(), store.well_known["inbox"], rng.getrandbits(48),
                            received, received - rng.randrange(1, 30), flags,
                            rng.choice(others), (owner,), (), tenant.new_conversation(), 0, ())
        store.add(rec)

