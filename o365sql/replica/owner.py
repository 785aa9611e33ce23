"""Replica stage, ownership: a replica file answers only the sign-in that wrote it.

The file keeps rows by mailbox, and the signed-in user's own mailbox is ``me``: read by another
user, or by another tenant's app, the same file would answer with somebody else's mail. So the
first connection that opens a file records whose it is (the tenant and the principal: the
user's object id for a delegated sign-in, the application's id for an app-only one), and a
connection of another sign-in is refused with an error naming the file, for REPLICATE,
AutoCache and Offline alike. The owner is read from the access token's claims (``tid``,
``oid``, ``appid``/``azp``, ``idtyp``; Azure AD access tokens are JWTs:
https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference). It is
read without verifying the signature: it only tells files apart; Graph checks the token.
A token that is not a JWT (personal Microsoft accounts) gives no owner, and then the file is
not checked; nor is it Offline without a token at hand (the file is 0600: whoever may read it
reads its rows anyway).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import OperationalError

OWNER = "_o365sql_owner"


@dataclass(frozen=True)
class Owner:
    """Whose rows a replica file holds: ``tenant`` id and ``principal`` (``user:<object
    id>`` or ``app:<application id>``)."""

    tenant: str
    principal: str

    def describe(self) -> str:
        kind, _, ident = self.principal.partition(":")
        who = "the application" if kind == "app" else "the user"
        return f"{who} {ident} of tenant {self.tenant}"


def token_owner(token: str) -> Owner | None:
    """The owner an access token speaks for, from its claims (None when it is not a JWT or
    lacks them).

    Example:
        >>> payload = base64.urlsafe_b64encode(json.dumps(
        ...     {"tid": "t1", "oid": "u1", "scp": "Mail.Read"}).encode()).decode().rstrip("=")
        >>> token_owner("h." + payload + ".s")
        Owner(tenant='t1', principal='user:u1')
        >>> token_owner("opaque") is None
        True
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    tenant = claims.get("tid")
    # App-only tokens carry roles and no scp; Azure AD marks them idtyp=app when asked to.
    app_only = claims.get("idtyp") == "app" or ("scp" not in claims and "roles" in claims)
    ident = (claims.get("appid") or claims.get("azp")) if app_only else claims.get("oid")
    if not isinstance(tenant, str) or not isinstance(ident, str) or not tenant or not ident:
        return None
    return Owner(tenant=tenant, principal=("app:" if app_only else "user:") + ident)


def check_owner(db: sqlite3.Connection, path: Path, owner: Owner | None) -> None:
    """Record ``owner`` in a file that has none; refuse a file another owner wrote."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {OWNER} (tenant TEXT NOT NULL, principal TEXT NOT NULL)")
    row = db.execute(f"SELECT tenant, principal FROM {OWNER}").fetchone()
    if owner is None:
        return
    if row is None:
        db.execute(f"INSERT INTO {OWNER} (tenant, principal) VALUES (?, ?)",
                   (owner.tenant, owner.principal))
        return
    stored = Owner(tenant=str(row[0]), principal=str(row[1]))
    if stored != owner:
        raise OperationalError(
            f"the replica at {path} (CacheLocation) holds the data of {stored.describe()}; "
            f"this connection signs in as {owner.describe()}: give it its own CacheLocation")
