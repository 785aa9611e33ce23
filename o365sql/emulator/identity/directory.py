"""The identity side's read-only view of the tenant's people: who can sign in.

Stage: emulator identity. Built once from the Graph side's tenant data (``tenant.build_tenant``)
and used by sign-in (user picker, ROPC), token issuing (object ids, names) and the mailbox
limits (UPN → object id). It only reads the tenant's ``tenant_id``, ``domain`` and ``users``
(Graph-shaped dicts with ``id``, ``userPrincipalName``, ``displayName``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Person:
    """A user who can sign in."""

    oid: str
    upn: str
    name: str
    enabled: bool = True  # False for shared mailboxes and disabled accounts: no sign-in


class Directory:
    """Users by UPN and by object id (both case-insensitive), plus the tenant's names."""

    def __init__(self, tenant_id: str, domains: Iterable[str], people: Iterable[Person]) -> None:
        self.tenant_id = tenant_id.lower()
        self.domains = tuple(d.lower() for d in domains)
        everyone = tuple(people)
        # Who may sign in; every user (shared mailboxes too) can still be looked up.
        self.people: tuple[Person, ...] = tuple(p for p in everyone if p.enabled)
        self._by_key: dict[str, Person] = {}
        for person in everyone:
            self._by_key[person.upn.lower()] = person
            self._by_key[person.oid.lower()] = person

    @classmethod
    def from_tenant(cls, tenant: Any) -> Directory:
        users: list[Mapping[str, Any]] = list(getattr(tenant, "users", []) or [])
        people = [
            Person(
                oid=str(u["id"]),
                upn=str(u["userPrincipalName"]),
                name=str(u.get("displayName") or u["userPrincipalName"]),
                enabled=u.get("accountEnabled", True) is not False,
            )
            for u in users
        ]
        domains = []
        if getattr(tenant, "domain", None):
            domains.append(str(tenant.domain))
        for person in people:
            domain = person.upn.partition("@")[2]
            if domain and domain.lower() not in (d.lower() for d in domains):
                domains.append(domain)
        return cls(str(tenant.tenant_id), domains, people)

    @property
    def primary_domain(self) -> str:
        return self.domains[0] if self.domains else self.tenant_id

    def find(self, key: str | None) -> Person | None:
        """The user with this UPN or object id, or None."""
        if not key:
            return None
        return self._by_key.get(key.strip().lower())

    def find_enabled(self, key: str | None) -> Person | None:
        """Like ``find``, but only users who may sign in."""
        person = self.find(key)
        return person if person is not None and person.enabled else None

    def is_tenant(self, segment: str) -> bool:
        """True for this tenant's GUID or one of its domains."""
        s = segment.lower()
        return s == self.tenant_id or s in self.domains
