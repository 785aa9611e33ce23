"""The Flask example's only door to Microsoft 365: SQL through o365sql, per signed-in visitor.

Stage: application data access, below the routes of ``app.py``. Sign-in runs the OAuth stored
procedures; each page's data comes from one ``SELECT`` with named parameters on a connection
made from the visitor's access token (``InitiateOAuth=OFF``: the app, not the driver, owns the
tokens). Before a query, a token close to expiry is refreshed with ``RefreshOAuthAccessToken``;
if Graph still rejects the token (``AuthenticationError``), it is refreshed once and the query
retried. Tokens live only in ``TokenVault``, on the server: the browser holds a random key.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import o365sql

__all__ = ["ActionFailed", "MailboxSQL", "NotSignedIn", "SignInFailed", "TokenVault", "Tokens"]


class ActionFailed(Exception):
    """An action (reply, accept) Graph refused; the message says why."""


class NotSignedIn(Exception):
    """The visitor has no (usable) tokens: send them to the sign-in page."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "not signed in")
        self.reason = reason


class SignInFailed(Exception):
    """The code could not be redeemed (expired, used twice, wrong callback URL...)."""


@dataclass
class Tokens:
    """One visitor's tokens (never shown in a repr or a log)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # epoch seconds

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Tokens:
        # ExpiresIn is a string of seconds; "-1" means the token does not expire (CData).
        expires_in = float(row["ExpiresIn"] or 0)
        expires_at = float("inf") if expires_in < 0 else time.time() + expires_in
        return cls(row["OAuthAccessToken"], row["OAuthRefreshToken"] or "", expires_at)


class TokenVault:
    """Server-side token store keyed by a random site-user key.

    In process memory, which suits one process (the Flask development server, one gunicorn
    worker). With several processes, keep the same records in a shared store (a database table
    or Redis), encrypted at rest.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, Tokens] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def add(self, tokens: Tokens) -> str:
        key = secrets.token_urlsafe(32)
        with self._guard:
            self._tokens[key] = tokens
            self._locks[key] = threading.Lock()
        return key

    def has(self, key: str) -> bool:
        with self._guard:
            return key in self._tokens

    def get(self, key: str) -> Tokens:
        with self._guard:
            tokens = self._tokens.get(key)
        if tokens is None:
            raise NotSignedIn()
        return tokens

    def put(self, key: str, tokens: Tokens) -> None:
        with self._guard:
            if key in self._tokens:
                self._tokens[key] = tokens

    def drop(self, key: str) -> None:
        with self._guard:
            self._tokens.pop(key, None)
            self._locks.pop(key, None)

    def lock(self, key: str) -> threading.Lock:
        """Held while refreshing, so two requests of one visitor refresh only once."""
        with self._guard:
            lock = self._locks.get(key)
        if lock is None:
            raise NotSignedIn()
        return lock


class MailboxSQL:
    """Sign-in and queries for the web app, all as SQL over o365sql."""

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

    def __init__(self, dsn: str, vault: TokenVault, *, refresh_margin: float = 300.0) -> None:
        self.dsn = dsn
        self.vault = vault
        self.refresh_margin = refresh_margin

    # -- sign-in ---------------------------------------------------------------------------

    def _run(
        self, sql: str, params: Mapping[str, Any] | None = None, **props: Any
    ) -> list[dict[str, Any]]:
        with closing(o365sql.connect(self.dsn, **props)) as conn, closing(conn.cursor()) as cur:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def authorization_url(self, *, callback_url: str, state: str) -> str:
        rows = self._run(
            "EXEC GetOAuthAuthorizationURL @CallbackUrl = :callback, @State = :state",
            {"callback": callback_url, "state": state},
        )
        return str(rows[0]["URL"])

    def redeem_code(self, code: str, *, callback_url: str, state: str) -> Tokens:
        try:
            rows = self._run(
                "EXEC GetOAuthAccessToken @AuthMode = 'WEB', @Verifier = :code, "
                "@CallbackUrl = :callback, @State = :state",
                {"code": code, "callback": callback_url, "state": state},
            )
        except o365sql.Error as err:  # the message names the cause, never a token
            raise SignInFailed(str(err)) from None
        return Tokens.from_row(rows[0])

    def refresh(self, user: str, stale: Tokens) -> Tokens:
        """New tokens for ``user`` (unless another request already replaced ``stale``)."""
        with self.vault.lock(user):
            current = self.vault.get(user)
            if current.access_token != stale.access_token:
                return current
            try:
                rows = self._run(
                    "EXEC RefreshOAuthAccessToken @OAuthRefreshToken = :rt",
                    {"rt": current.refresh_token},
                )
            except o365sql.Error:
                # Revoked or expired refresh token: the visitor must sign in again.
                self.vault.drop(user)
                raise NotSignedIn(
                    "Your Microsoft sign-in has expired. Please sign in again."
                ) from None
            fresh = Tokens.from_row(rows[0])
            if not fresh.refresh_token:  # Entra may keep the old refresh token valid
                fresh.refresh_token = current.refresh_token
            self.vault.put(user, fresh)
            return fresh

    # -- queries ---------------------------------------------------------------------------

    def query(
        self, user: str, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Rows (as dicts) of ``sql`` run with ``user``'s access token."""
        tokens = self.vault.get(user)
        if tokens.expires_at - time.time() < self.refresh_margin:
            tokens = self.refresh(user, tokens)
        try:
            return self._run(
                sql, params, oauth_access_token=tokens.access_token, initiate_oauth="OFF"
            )
        except o365sql.AuthenticationError:
            # Revoked, or the clocks disagree: one refresh, one retry.
            tokens = self.refresh(user, tokens)
            return self._run(
                sql, params, oauth_access_token=tokens.access_token, initiate_oauth="OFF"
            )

    #: Reply to a message's sender with a comment (Graph's reply action).
    REPLY = "EXEC ReplyToMessage @Id = :id, @Comment = :comment"
    #: Accept a meeting invitation, telling the organizer.
    ACCEPT = "EXEC RespondToEvent @Id = :id, @Response = 'accept', @Comment = :comment"

    def act(self, user: str, sql: str, params: Mapping[str, Any]) -> None:
        """Run an action procedure (``REPLY``, ``ACCEPT``) as ``user``; raises ``ActionFailed``
        with o365sql's message (it names Graph's error and never a token)."""
        try:
            self.query(user, sql, params)
        except NotSignedIn:
            raise
        except o365sql.Error as err:
            raise ActionFailed(str(err)) from None

    def who(self, tokens: Tokens) -> str:
        """The name (else address) of the person ``tokens`` (just issued) sign in, for the page
        header; "" if it cannot be read."""
        try:
            rows = self._run(self.WHOAMI, None, oauth_access_token=tokens.access_token,
                             initiate_oauth="OFF")
        except o365sql.Error:
            return ""  # a header without a name is better than no page
        return str(rows[0]["Owner_Name"] or rows[0]["Owner_Address"] or "") if rows else ""

    @staticmethod
    def addresses(recipients: str | None) -> str:
        """``Name <address>, ...`` of a recipients value (Graph's array as JSON text)."""
        out = []
        for item in json.loads(recipients or "[]"):
            email = item.get("emailAddress") or {}
            name, address = email.get("name") or "", email.get("address") or ""
            out.append(f"{name} <{address}>" if name and name != address else address)
        return ", ".join(out)

    @staticmethod
    def first_address(email_addresses: str | None) -> str:
        """The first address of a Contacts.EmailAddresses value (Graph's array as JSON text)."""
        if not email_addresses:
            return ""
        items = json.loads(email_addresses)
        return str(items[0].get("address") or "") if items else ""
