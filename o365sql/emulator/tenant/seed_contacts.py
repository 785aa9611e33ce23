"""Seeds contact folders and contacts (emulator data stage).

Each user gets folders "Clients" (with a nested "VIP ⭐") and "Family" under the default
Contacts folder, and ``contacts_per_user`` contacts, mostly in the default folder, with several
e-mail addresses, phones, addresses, company and job data, and a birthday or null.

Hands on: records added to each mailbox's ``ContactStore``.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import timedelta
from typing import TYPE_CHECKING

from . import seed_words
from .contact_store import ContactRecord, normalise

if TYPE_CHECKING:
    from .tenant import Mailbox, Tenant


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch == ".") or "contact"


def seed_contacts(tenant: Tenant, mb: Mailbox, rng: random.Random, count: int) -> None:
    store = mb.contacts
    clients = store.add_folder("Clients", store.default)
    vip = store.add_folder("VIP ⭐", clients.serial)
    family = store.add_folder("Family", store.default)
    folders = [store.default] * 7 + [clients.serial, clients.serial, vip.serial, family.serial]
    for _ in range(count):
        first = rng.choice(seed_words.FIRST_NAMES)
        last = rng.choice(seed_words.LAST_NAMES)
        company = rng.choice(seed_words.COMPANIES)
        domain = _slug(company.split(",")[0]) + ".com"
        emails = [{"name": f"{first} {last}", "address": f"{_slug(first)}.{_slug(last)}@{domain}"}]
        if rng.random() < 0.4:
            emails.append({"name": first, "address": f"{_slug(first)}{rng.randrange(100)}@example.org"})
        if rng.random() < 0.1:
            emails.append({"name": f"{first} (home)", "address": f"{_slug(first)}.{_slug(last)}@home.example.net"})
        city, state, country, postal = rng.choice(seed_words.CITIES)
        birthday = None
        if rng.random() < 0.6:
            birthday = (tenant.anchor - timedelta(days=365 * (20 + rng.randrange(45)) + rng.randrange(365))
                        ).strftime("%Y-%m-%dT11:59:00Z")
        data = normalise({
            "birthday": birthday,
            "givenName": first,
            "surname": last,
            "initials": f"{first[0]}.{last[0]}.",
            "nickName": first if rng.random() < 0.3 else None,
            "middleName": rng.choice(["J.", "Maria", None, None, None]),
            "title": rng.choice(["Dr.", "Mr.", "Ms.", None, None, None]),
            "imAddresses": [f"sip:{emails[0]['address']}"] if rng.random() < 0.3 else [],
            "jobTitle": rng.choice(seed_words.JOB_TITLES),
            "companyName": company,
            "department": rng.choice(seed_words.DEPARTMENTS),
            "officeLocation": rng.choice(seed_words.OFFICES) if rng.random() < 0.5 else None,
            "businessHomePage": f"https://www.{domain}" if rng.random() < 0.4 else None,
            "homePhones": [f"+1 206 555 {rng.randrange(10000):04d}"] if rng.random() < 0.3 else [],
            "mobilePhone": f"+1 425 555 {rng.randrange(10000):04d}" if rng.random() < 0.7 else None,
            "businessPhones": [f"+1 918 555 {rng.randrange(10000):04d}" for _ in range(rng.randrange(3))],
            "personalNotes": "Met at the Café conference ☕" if rng.random() < 0.1 else None,
            "children": ["Ana", "Lukas"] if rng.random() < 0.05 else [],
            "emailAddresses": emails,
            "businessAddress": {"street": rng.choice(seed_words.STREETS), "city": city, "state": state,
                                "countryOrRegion": country, "postalCode": postal},
            "homeAddress": ({"street": rng.choice(seed_words.STREETS), "city": city, "state": state,
                             "countryOrRegion": country, "postalCode": postal} if rng.random() < 0.2 else {}),
        })
        created = (tenant.anchor - timedelta(days=rng.randrange(900), seconds=rng.randrange(86400))).timestamp()
        cats = [rng.choice(seed_words.CATEGORIES)] if rng.random() < 0.15 else []
        rec = ContactRecord(store.next_serial(), rng.choice(folders), data, created,
                            created + rng.randrange(86400 * 30), cats)
        store.contacts[rec.serial] = rec
