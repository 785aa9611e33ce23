"""Seeded demo tenant: the data behind the emulator's Graph service (first, minimal cut).

Stage: emulator data. ``build_tenant`` makes a deterministic tenant for a seed; the Graph
routes (``graph_api.py``) read and change it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

_FIRST = ["Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Lee", "Lidia",
          "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Zoë"]
_LAST = ["Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lorenz", "Gu", "Holloway",
         "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta", "Åberg"]


@dataclass
class Tenant:
    tenant_id: str
    domain: str
    users: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def user(self, key: str) -> dict[str, Any] | None:
        """The user with this object id or userPrincipalName (case-insensitive), or None."""
        k = key.lower()
        for u in self.users:
            if u["id"] == k or u["userPrincipalName"].lower() == k:
                return u
        return None


def build_tenant(seed: int = 1, users: int = 6, messages_per_user: int = 20, **options: Any) -> Tenant:
    rng = random.Random(seed)
    tenant = Tenant(tenant_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    domain="contoso.onmicrosoft.com")
    for i in range(users):
        first, last = _FIRST[i % len(_FIRST)], _LAST[i % len(_LAST)]
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        upn = f"{first}{last[0]}@{tenant.domain}".replace("ë", "e")
        tenant.users.append({"id": uid, "userPrincipalName": upn, "displayName": f"{first} {last}",
                             "mail": upn, "givenName": first, "surname": last,
                             "businessPhones": [], "jobTitle": None, "mobilePhone": None,
                             "officeLocation": None, "preferredLanguage": "en-US"})
        tenant.messages[uid] = [
            {"@odata.etag": f'W/"CQAAAB{j:06d}"', "id": f"AAMk{uid[:8]}{j:06d}",
             "subject": f"Message {j}", "isRead": bool(j % 2),
             "receivedDateTime": f"2025-01-{(j % 28) + 1:02d}T10:00:00Z"}
            for j in range(messages_per_user)]
    return tenant
