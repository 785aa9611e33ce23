"""Seeds the tenant's users: their directory JSON and mailbox settings (emulator data stage).

Drawn from the tenant's one ``random.Random`` in a fixed order, so the same seed gives the same
people. Used by ``build`` (the users) and ``tenant.seed_directory`` (the shared mailbox).
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from datetime import datetime, timedelta
from typing import Any

from . import seed_words


def ascii_name(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.replace(" ", "")


def user_json(rng: random.Random, i: int, domain: str, anchor: datetime) -> dict[str, Any]:
    n_first, n_last = len(seed_words.FIRST_NAMES), len(seed_words.LAST_NAMES)
    first = seed_words.FIRST_NAMES[i % n_first]
    last = seed_words.LAST_NAMES[(i + i // n_first) % n_last]
    if "'" in last:
        nick = f"{ascii_name(first)}.{ascii_name(last)}"
    else:
        nick = f"{ascii_name(first)}{ascii_name(last)[0]}"
    if i >= n_first:
        nick += str(i // n_first)
    upn = f"{nick}@{domain}"
    city, state, country, postal = seed_words.CITIES[i % len(seed_words.CITIES)]
    created = anchor - timedelta(days=400 + rng.randrange(900), seconds=rng.randrange(86400))
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
