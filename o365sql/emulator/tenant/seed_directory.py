"""Seeds the directory beyond users: a shared mailbox and groups (emulator data stage).

Groups follow the shapes of ``group-list.md``/``group-get.md``: Microsoft 365 ("Unified") groups
are mail-enabled, security groups are not; members are users, and one security group also holds
another group so that member lists carry mixed ``@odata.type`` values.

Hands on: users/groups/memberships added to the ``Tenant``.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from . import seed_words
from .seed_users import empty_extension_attributes, user_json

if TYPE_CHECKING:
    from .tenant import Tenant


def add_shared_mailbox(tenant: Tenant, rng: random.Random) -> None:
    """A shared mailbox ("Contoso Support") that the first two users may open with *.Shared scopes."""
    user = user_json(rng, len(tenant.users), tenant.domain, tenant.anchor)
    upn = f"support@{tenant.domain}"
    user.update({
        "displayName": "Contoso Support", "givenName": None, "surname": None, "jobTitle": None,
        "mail": upn, "userPrincipalName": upn, "mailNickname": "support", "accountEnabled": False,
        "businessPhones": [], "mobilePhone": None, "officeLocation": None,
        "proxyAddresses": [f"SMTP:{upn}"], "imAddresses": [], "department": None,
        "employeeId": None, "employeeType": None,
    })
    user["mailboxSettings"]["userPurpose"] = "shared"
    tenant.add_user(user)
    tenant.shared_with[user["id"]] = {u["id"] for u in tenant.users[:2]}


def _group_json(tenant: Tenant, rng: random.Random, i: int) -> dict[str, Any]:

    name, description, unified = seed_words.GROUP_NAMES[i % len(seed_words.GROUP_NAMES)]
    if i >= len(seed_words.GROUP_NAMES):
        name = f"{name} {i // len(seed_words.GROUP_NAMES) + 1}"
    nick = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum()) or f"group{i}"
    created = tenant.anchor - timedelta(days=100 + rng.randrange(700), seconds=rng.randrange(86400))
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    mail = f"{nick}@{tenant.domain}" if unified else None
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "deletedDateTime": None,
        "classification": None,
        "createdDateTime": stamp,
        "creationOptions": [],
        "description": description,
        "displayName": name,
        "expirationDateTime": None,
        "groupTypes": ["Unified"] if unified else [],
        "isAssignableToRole": None,
        # group.md: the state of group-based license assignment, null for a group that assigns
        # no licenses (none in the seeded tenant); returned only on $select.
        "licenseProcessingState": None,
        "mail": mail,
        "mailEnabled": unified,
        "mailNickname": nick,
        "membershipRule": None,
        "membershipRuleProcessingState": None,
        "onPremisesDomainName": None,
        "onPremisesLastSyncDateTime": None,
        "onPremisesNetBiosName": None,
        "onPremisesSamAccountName": None,
        "onPremisesSecurityIdentifier": None,
        "onPremisesSyncEnabled": None,
        "preferredDataLocation": None,
        "preferredLanguage": None,
        "proxyAddresses": [f"SMTP:{mail}"] if mail else [],
        "renewedDateTime": stamp,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": ["Team"] if unified and i % 2 == 0 else [],
        "securityEnabled": not unified,
        "securityIdentifier": f"S-1-12-1-{rng.getrandbits(31)}-{rng.getrandbits(31)}-{rng.getrandbits(31)}-{rng.getrandbits(31)}",
        "theme": None,
        "visibility": "Public" if unified else None,
        "onPremisesProvisioningErrors": [],
        "onPremisesExtensionAttributes": empty_extension_attributes(),
        "serviceProvisioningErrors": [],
        "infoCatalogs": [],
        # group.md: null unless in a restricted management administrative unit.
        "isManagementRestricted": None,
        # Exchange-side settings of Microsoft 365 groups, at group.md's documented defaults
        # (welcome messages are sent unless switched off); security groups have no group
        # mailbox, so they are null there (inferred). Only GET /groups/{id} returns the
        # GET-only ones (odata.rules.GROUPS.list_hidden).
        "welcomeMessageEnabled": True if unified else None,
        "allowExternalSenders": False if unified else None,
        "autoSubscribeNewMembers": False if unified else None,
        "hideFromAddressLists": False if unified else None,
        "hideFromOutlookClients": False if unified else None,
        "isSubscribedByMail": True if unified else None,
        "unseenCount": 0 if unified else None,
        "unseenConversationsCount": 0 if unified else None,
        "unseenMessagesCount": 0 if unified else None,
        # Per signed-in user; nobody in the seeded tenant marked a favourite.
        "isFavorite": False,
    }


def seed_groups(tenant: Tenant, rng: random.Random, count: int) -> None:
    people = [u["id"] for u in tenant.users if u["accountEnabled"]]
    for i in range(count):
        group = _group_json(tenant, rng, i)
        tenant.groups.append(group)
        if group["displayName"].startswith("All Company"):
            members = list(people)
        else:
            members = rng.sample(people, k=min(len(people), 1 + rng.randrange(max(1, len(people)))))
        tenant.group_members[group["id"]] = members
    security = [g for g in tenant.groups if not g["mailEnabled"]]
    others = [g for g in tenant.groups if g["mailEnabled"]]
    if security and others:
        tenant.group_members[security[0]["id"]].append(others[0]["id"])
