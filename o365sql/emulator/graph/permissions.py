"""Which delegated scopes / application roles each Graph route needs (emulator service stage).

Least-to-most privileged permissions per API, from the "Permissions" tables of the v1.0 API
pages (user-list-messages.md, user-list-events.md, user-list-contacts.md, user-list.md,
group-list.md, user-sendmail.md ...). Exchange areas answer a missing permission with 403
``ErrorAccessDenied`` "Access is denied. Check credentials and try again."; the directory with 403
``Authorization_RequestDenied`` "Insufficient privileges to complete the operation."
(graph-semantics §8.3). Delegated tokens may open another user's mailbox only when the tenant
shares it with them and the token has the ``*.Shared`` scope.

Hands on: ``check_mailbox``/``check_directory`` raise ``GraphError`` or return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import GraphError
from ..server.wire import Principal

if TYPE_CHECKING:
    from ..tenant.tenant import Mailbox, Tenant


@dataclass(frozen=True)
class Need:
    delegated: frozenset[str]
    shared: frozenset[str]  # delegated scopes that also open a mailbox shared with the user
    application: frozenset[str]


def _need(delegated: str, shared: str, application: str) -> Need:
    return Need(frozenset(delegated.split()), frozenset(shared.split()), frozenset(application.split()))


MAIL_READ = _need("Mail.ReadBasic Mail.Read Mail.ReadWrite",
                  "Mail.ReadBasic.Shared Mail.Read.Shared Mail.ReadWrite.Shared",
                  "Mail.ReadBasic.All Mail.ReadBasic Mail.Read Mail.ReadWrite")
MAIL_WRITE = _need("Mail.ReadWrite", "Mail.ReadWrite.Shared", "Mail.ReadWrite")
MAIL_SEND = _need("Mail.Send", "Mail.Send.Shared", "Mail.Send")
CALENDAR_READ = _need("Calendars.ReadBasic Calendars.Read Calendars.ReadWrite",
                      "Calendars.Read.Shared Calendars.ReadWrite.Shared",
                      "Calendars.ReadBasic.All Calendars.ReadBasic Calendars.Read Calendars.ReadWrite")
CALENDAR_WRITE = _need("Calendars.ReadWrite", "Calendars.ReadWrite.Shared", "Calendars.ReadWrite")
CONTACTS_READ = _need("Contacts.Read Contacts.ReadWrite", "Contacts.Read.Shared Contacts.ReadWrite.Shared",
                      "Contacts.Read Contacts.ReadWrite")
CONTACTS_WRITE = _need("Contacts.ReadWrite", "Contacts.ReadWrite.Shared", "Contacts.ReadWrite")

_DIRECTORY_READ = "Directory.Read.All Directory.ReadWrite.All"
USER_SELF = _need(f"User.Read User.ReadWrite User.ReadBasic.All User.Read.All User.ReadWrite.All "
                  f"Directory.AccessAsUser.All {_DIRECTORY_READ}", "", "")
USERS_READ = _need(f"User.ReadBasic.All User.Read.All User.ReadWrite.All Directory.AccessAsUser.All "
                   f"{_DIRECTORY_READ}", "", f"User.ReadBasic.All User.Read.All User.ReadWrite.All {_DIRECTORY_READ}")
GROUPS_READ = _need(f"GroupMember.Read.All Group.Read.All Group.ReadWrite.All Directory.AccessAsUser.All "
                    f"{_DIRECTORY_READ}", "", f"GroupMember.Read.All Group.Read.All Group.ReadWrite.All {_DIRECTORY_READ}")
MEMBER_OF_SELF = _need(f"User.Read User.ReadBasic.All User.Read.All GroupMember.Read.All Group.Read.All "
                       f"Directory.AccessAsUser.All {_DIRECTORY_READ}", "", "")
MEMBER_OF = _need(f"User.ReadBasic.All User.Read.All GroupMember.Read.All Group.Read.All "
                  f"Directory.AccessAsUser.All {_DIRECTORY_READ}", "",
                  f"User.ReadBasic.All User.Read.All GroupMember.Read.All Group.Read.All {_DIRECTORY_READ}")


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def policy_denied() -> GraphError:
    """What Exchange answers when an application access policy (or RBAC for Applications)
    keeps an app-only token out of a mailbox (https://learn.microsoft.com/graph/auth-limit-mailbox-access)."""
    return GraphError(403, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by "
                      "tenant configured AppOnly AccessPolicy settings.")


def privileges_denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def check_scopes(principal: Principal, need: Need, *, directory: bool = False) -> None:
    """The token carries at least one permission of ``need`` (any mailbox rule aside)."""
    if principal.app_only:
        ok = bool(principal.roles & need.application)
    else:
        ok = bool(principal.scopes & (need.delegated | need.shared))
    if not ok:
        raise privileges_denied() if directory else access_denied()


def check_mailbox(tenant: Tenant, principal: Principal, mb: Mailbox, need: Need) -> None:
    """May this token use this mailbox for an operation needing ``need``?"""
    if principal.app_only:
        if not principal.roles & need.application:
            raise access_denied()
        if mb.user_id in tenant.app_denied or not tenant.access_policies.allows(
                principal.client_id, mb.user_id):
            raise policy_denied()
        return
    if principal.user_id == mb.user_id:
        if not principal.scopes & need.delegated:
            raise access_denied()
        return
    # Another user's mailbox: only when shared with the caller and the token has *.Shared.
    if principal.user_id in tenant.shared_with.get(mb.user_id, set()) and principal.scopes & need.shared:
        return
    raise access_denied()
