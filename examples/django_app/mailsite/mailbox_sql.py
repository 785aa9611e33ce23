"""The site's only door to Microsoft 365: SQL through o365sql, with the visitor's tokens kept in
their (server-side) Django session.

Stage: data access, below ``views.py``. Sign-in runs the OAuth stored procedures; each page's
data comes from one ``SELECT`` with named parameters on a connection made from the visitor's
access token (``InitiateOAuth=OFF``: the site, not the driver, owns the tokens). A token close
to expiry is refreshed first with ``RefreshOAuthAccessToken``; if Graph still rejects it
(``AuthenticationError``), it is refreshed once and the query retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, MutableMapping
from contextlib import closing
from typing import Any

from django.conf import settings

import o365sql

__all__ = [
    "ACCEPT",
    "CONTACTS",
    "EVENTS",
    "INBOX",
    "REPLY",
    "ActionFailed",
    "NotSignedIn",
    "SignInFailed",
    "act",
    "authorization_url",
    "first_address",
    "query",
    "redeem_code",
    "signed_in",
    "store_tokens",
]

#: Session key of the visitor's tokens: {"access_token", "refresh_token", "expires_at"}.
SESSION_TOKENS = "o365sql_tokens"

#: Messages on an Inbox page ('inbox' is Graph's well-known folder name): PAGE_SIZE of them
#: from :offset, plus one to tell whether a next page exists.
PAGE_SIZE = 20
INBOX = (
    "SELECT Id, Subject, From_EmailAddress_Name, From_EmailAddress_Address, ReceivedDateTime, "
    "IsRead FROM Messages WHERE ParentFolderId = :folder "
    "ORDER BY ReceivedDateTime DESC LIMIT 21 OFFSET :offset"
)
#: Who is signed in: the owner of their default calendar (their own mailbox's name and
#: address, read with the Calendars.Read permission the events page needs anyway).
WHOAMI = ("SELECT Owner_Name, Owner_Address FROM Calendars WHERE IsDefaultCalendar = true")
#: One message with its body, for the message view.
MESSAGE = (
    "SELECT Id, Subject, From_EmailAddress_Name, From_EmailAddress_Address, ToRecipients, "
    "ReceivedDateTime, Body_ContentType, Body_Content FROM Messages WHERE Id = :id"
)
#: The contacts of the default contacts folder, by name.
CONTACTS = (
    "SELECT DisplayName, CompanyName, EmailAddresses, MobilePhone FROM Contacts "
    "ORDER BY DisplayName"
)
#: Events overlapping [start, end): CalendarView needs both window columns.
EVENTS = (
    "SELECT Id, Subject, Start_DateTime, End_DateTime, IsAllDay, Location_DisplayName, "
    "Organizer_EmailAddress_Name, IsOrganizer, ResponseStatus_Response FROM CalendarView "
    "WHERE StartDateTime = :start AND EndDateTime = :end ORDER BY Start_DateTime, Subject"
)
#: Reply to a message's sender with a comment (Graph's reply action).
REPLY = "EXEC ReplyToMessage @Id = :id, @Comment = :comment"
#: Accept a meeting invitation, telling the organizer.
ACCEPT = "EXEC RespondToEvent @Id = :id, @Response = 'accept', @Comment = :comment"


class ActionFailed(Exception):
    """An action (reply, accept) Graph refused; the message says why."""


class NotSignedIn(Exception):
    """The visitor has no usable tokens: send them to the sign-in page."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "not signed in")
        self.reason = reason


class SignInFailed(Exception):
    """The code could not be redeemed (expired, used twice, wrong callback URL...)."""


def _run(sql: str, params: Mapping[str, Any] | None = None, **props: Any) -> list[dict[str, Any]]:
    if not settings.O365SQL_CONNECTION:
        raise RuntimeError("set O365SQL_CONNECTION to the site's o365sql connection string")
    with (
        closing(o365sql.connect(settings.O365SQL_CONNECTION, **props)) as conn,
        closing(conn.cursor()) as cur,
    ):
        cur.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _tokens_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    # ExpiresIn is a string of seconds; "-1" means the token does not expire (CData).
    expires_in = float(row["ExpiresIn"] or 0)
    return {
        "access_token": row["OAuthAccessToken"],
        "refresh_token": row["OAuthRefreshToken"] or "",
        "expires_at": None if expires_in < 0 else time.time() + expires_in,
    }


# -- sign-in -------------------------------------------------------------------------------


def authorization_url(*, callback_url: str, state: str) -> str:
    rows = _run(
        "EXEC GetOAuthAuthorizationURL @CallbackUrl = :callback, @State = :state",
        {"callback": callback_url, "state": state},
    )
    return str(rows[0]["URL"])


def redeem_code(code: str, *, callback_url: str, state: str) -> dict[str, Any]:
    try:
        rows = _run(
            "EXEC GetOAuthAccessToken @AuthMode = 'WEB', @Verifier = :code, "
            "@CallbackUrl = :callback, @State = :state",
            {"code": code, "callback": callback_url, "state": state},
        )
    except o365sql.Error as err:  # the message names the cause, never a token
        raise SignInFailed(str(err)) from None
    return _tokens_from_row(rows[0])


def store_tokens(session: MutableMapping[str, Any], tokens: dict[str, Any]) -> None:
    session[SESSION_TOKENS] = tokens


def signed_in(session: Mapping[str, Any]) -> bool:
    return bool(session.get(SESSION_TOKENS))


def _refresh(session: MutableMapping[str, Any], stale: dict[str, Any]) -> dict[str, Any]:
    try:
        rows = _run(
            "EXEC RefreshOAuthAccessToken @OAuthRefreshToken = :rt", {"rt": stale["refresh_token"]}
        )
    except o365sql.Error:
        # Revoked or expired refresh token: the visitor must sign in again.
        session.pop(SESSION_TOKENS, None)
        raise NotSignedIn("Your Microsoft sign-in has expired. Please sign in again.") from None
    fresh = _tokens_from_row(rows[0])
    if not fresh["refresh_token"]:  # Entra may keep the old refresh token valid
        fresh["refresh_token"] = stale["refresh_token"]
    session[SESSION_TOKENS] = fresh
    return fresh


# -- queries -------------------------------------------------------------------------------


def query(
    session: MutableMapping[str, Any], sql: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows (as dicts) of ``sql`` run with the session's access token."""
    tokens = session.get(SESSION_TOKENS)
    if not tokens:
        raise NotSignedIn()
    expires_at = tokens["expires_at"]
    if expires_at is not None and expires_at - time.time() < settings.O365SQL_REFRESH_MARGIN:
        tokens = _refresh(session, tokens)
    try:
        return _run(sql, params, oauth_access_token=tokens["access_token"], initiate_oauth="OFF")
    except o365sql.AuthenticationError:
        # Revoked, or the clocks disagree: one refresh, one retry.
        tokens = _refresh(session, tokens)
        return _run(sql, params, oauth_access_token=tokens["access_token"], initiate_oauth="OFF")


def who(tokens: Mapping[str, Any]) -> str:
    """The name (else address) of the person ``tokens`` (just issued) sign in, for the page
    header; "" if it cannot be read."""
    try:
        rows = _run(WHOAMI, None, oauth_access_token=tokens["access_token"], initiate_oauth="OFF")
    except o365sql.Error:
        return ""  # a header without a name is better than no page
    return str(rows[0]["Owner_Name"] or rows[0]["Owner_Address"] or "") if rows else ""


def act(session: MutableMapping[str, Any], sql: str, params: Mapping[str, Any]) -> None:
    """Run an action procedure (``REPLY``, ``ACCEPT``) with the session's tokens; raises
    ``ActionFailed`` with o365sql's message (it names Graph's error and never a token)."""
    try:
        query(session, sql, params)
    except NotSignedIn:
        raise
    except o365sql.Error as err:
        raise ActionFailed(str(err)) from None


def addresses(recipients: str | None) -> str:
    """``Name <address>, ...`` of a recipients value (Graph's array as JSON text)."""
    out = []
    for item in json.loads(recipients or "[]"):
        email = item.get("emailAddress") or {}
        name, address = email.get("name") or "", email.get("address") or ""
        out.append(f"{name} <{address}>" if name and name != address else address)
    return ", ".join(out)


def first_address(email_addresses: str | None) -> str:
    """The first address of a Contacts.EmailAddresses value (Graph's array as JSON text)."""
    if not email_addresses:
        return ""
    items = json.loads(email_addresses)
    return str(items[0].get("address") or "") if items else ""
