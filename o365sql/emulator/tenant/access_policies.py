"""Exchange Online application access policies: which mailboxes an app may open app-only.

Stage: tenant data. An administrator scopes an app's application permissions (``Mail.Read``
...) to a set of mailboxes with ``New-ApplicationAccessPolicy -AppId <id>
-PolicyScopeGroupId <group> -AccessRight RestrictAccess|DenyAccess``
(https://learn.microsoft.com/graph/auth-limit-mailbox-access). ``RestrictAccess`` lets the app
open only the mailboxes in scope; ``DenyAccess`` lets it open every mailbox except those.
Policies bind app-only tokens only: delegated access follows the user's own rights. Microsoft
now points new tenants to RBAC for Applications, which answers a scoped-out mailbox the same
way (delta-limits-spark.md §5.4); the emulator models the policy form.

The Graph side (``graph/permissions.py``) asks ``allows`` before it opens a mailbox for an
app-only token and answers 403 ``ErrorAccessDenied`` when it says no.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

RESTRICT = "RestrictAccess"
DENY = "DenyAccess"


@dataclass(frozen=True)
class AccessPolicy:
    """One policy: the app (client id, lower case), its access right and the mailbox owners'
    object ids (lower case) in its scope."""

    app_id: str
    access_right: str
    mailboxes: frozenset[str]


class AccessPolicies:
    """The tenant's policies (thread-safe: tests change them while the server runs)."""

    def __init__(self) -> None:
        self._policies: list[AccessPolicy] = []
        self._lock = threading.Lock()

    def add(self, app_id: str, mailboxes: frozenset[str], access_right: str = RESTRICT
            ) -> AccessPolicy:
        if access_right not in (RESTRICT, DENY):
            raise ValueError(f"AccessRight must be {RESTRICT} or {DENY}, not {access_right!r}")
        policy = AccessPolicy(app_id.lower(), access_right,
                              frozenset(m.lower() for m in mailboxes))
        with self._lock:
            self._policies.append(policy)
        return policy

    def remove(self, app_id: str | None = None) -> None:
        """Remove the app's policies (every policy when ``app_id`` is None)."""
        with self._lock:
            self._policies = [p for p in self._policies
                              if app_id is not None and p.app_id != app_id.lower()]

    def allows(self, app_id: str, mailbox_owner: str) -> bool:
        """May ``app_id`` open the mailbox of ``mailbox_owner`` (object id) app-only?

        A mailbox named by a DenyAccess policy is closed; when the app has RestrictAccess
        policies, only the mailboxes they name are open; an app without policies opens all.
        """
        app, owner = app_id.lower(), mailbox_owner.lower()
        with self._lock:
            mine = [p for p in self._policies if p.app_id == app]
        if any(p.access_right == DENY and owner in p.mailboxes for p in mine):
            return False
        restricting = [p for p in mine if p.access_right == RESTRICT]
        return not restricting or any(owner in p.mailboxes for p in restricting)
