"""Reading the ``scope`` parameter of authorize and token requests, for the Graph resource.

Stage: identity. ``parse`` turns ``"https://graph.microsoft.com/Mail.Read offline_access openid"``
into the Graph permissions asked for (short names, for the token's ``scp``), the strings to echo
back in ``scope`` (msal caches under exactly those), and the OpenID Connect extras. Unknown
permissions are ``AADSTS70011`` as in Entra
(https://learn.microsoft.com/entra/identity-platform/scopes-oidc).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import aadsts
from .tokens import GRAPH_APP_ID, GRAPH_RESOURCE

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})

# Graph delegated permissions the emulator knows (a subset of Graph's; enough for o365sql).
GRAPH_DELEGATED = frozenset({
    "Mail.Read", "Mail.ReadBasic", "Mail.ReadWrite", "Mail.Send", "Mail.Read.Shared",
    "Mail.ReadWrite.Shared", "Mail.Send.Shared", "MailboxSettings.Read", "MailboxSettings.ReadWrite",
    "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared",
    "Contacts.Read", "Contacts.ReadWrite", "Contacts.Read.Shared", "Contacts.ReadWrite.Shared",
    "User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All",
    "Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "Directory.Read.All",
    "Directory.ReadWrite.All", "Files.Read", "Files.Read.All", "Files.ReadWrite",
    "Files.ReadWrite.All", "Sites.Read.All", "People.Read", "Tasks.Read", "Tasks.ReadWrite",
})
# Application permissions (app roles) the emulator knows.
GRAPH_APPLICATION = frozenset({
    "Mail.Read", "Mail.ReadBasic.All", "Mail.ReadWrite", "Mail.Send", "MailboxSettings.Read",
    "MailboxSettings.ReadWrite", "Calendars.Read", "Calendars.ReadWrite", "Contacts.Read",
    "Contacts.ReadWrite", "User.Read.All", "User.ReadWrite.All", "Group.Read.All",
    "Group.ReadWrite.All", "GroupMember.Read.All", "Directory.Read.All", "Files.Read.All",
    "Files.ReadWrite.All", "Sites.Read.All",
})
_CANONICAL = {name.lower(): name for name in GRAPH_DELEGATED | GRAPH_APPLICATION}
_GRAPH_PREFIXES = (GRAPH_RESOURCE + "/", GRAPH_APP_ID + "/", "https://graph.microsoft.com//")


@dataclass
class Requested:
    """A parsed ``scope`` parameter."""

    graph: list[str] = field(default_factory=list)  # canonical short names, e.g. "Mail.Read"
    echo: list[str] = field(default_factory=list)  # resource scopes as the client spelled them
    oidc: set[str] = field(default_factory=set)
    default: bool = False  # "https://graph.microsoft.com/.default"

    @property
    def offline(self) -> bool:
        return "offline_access" in self.oidc

    @property
    def openid(self) -> bool:
        return "openid" in self.oidc


def parse(scope: str | None, directory_name: str) -> Requested:
    """Parse a scope string; raises ``OAuthError`` (70011 / 500011) for what Entra rejects."""
    out = Requested()
    items = (scope or "").split()
    for item in items:
        low = item.lower()
        if low in OIDC_SCOPES:
            out.oidc.add(low)
            continue
        name = item
        for prefix in _GRAPH_PREFIXES:
            if low.startswith(prefix):
                name = item[len(prefix):]
                break
        else:
            if "/" in item:
                # Another resource ("https://outlook.office.com/Mail.Read", "api://x/.default").
                resource = item.rsplit("/", 1)[0]
                raise aadsts.unknown_resource(resource, directory_name)
        if name == ".default":
            out.default = True
            out.echo.append(item)
            continue
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            raise aadsts.bad_scope(item)
        if canonical not in out.graph:
            out.graph.append(canonical)
            out.echo.append(item)
    if out.default and out.graph:
        # Entra: ".default" cannot be combined with other scopes of the same resource.
        raise aadsts.bad_scope(" ".join(items))
    return out


def full_uris(names: list[str]) -> list[str]:
    return [f"{GRAPH_RESOURCE}/{n}" for n in names]
