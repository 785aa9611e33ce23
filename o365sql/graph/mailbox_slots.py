"""Outlook's per-mailbox concurrency limit, kept on the client side: every request a
``GraphClient`` sends to a mailbox (a direct GET, or an inner request of a ``$batch``) holds one
of that mailbox's slots while it is out, so no mailbox ever has more than
``MAILBOX_CONCURRENCY`` requests in flight, however many scans run at once.

Graph's limits (graph-semantics.md §8.1, delta-limits-spark.md §5.2;
https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits): Outlook allows
**4 concurrent requests per app and mailbox** and answers a fifth with
``429 ApplicationThrottled "Application is over its MailboxConcurrency limit."``; "exceeding
these limits for one mailbox does not impact the ability of the application to access other
mailboxes", and the app-wide limit is far higher (130,000 requests per 10 s), so distinct
mailboxes run in parallel beyond 4: the overall bound is ``GraphClient.max_concurrency``.
Inner requests of a ``$batch`` count against their mailbox like top-level ones (docs#2886,
docs#8760: items 5+ of a batch to one mailbox drew inner 429s), so a batch holds a slot for
each of its items.

A mailbox is named by the path segment after ``/users/`` (or ``me``), case-folded; a mailbox
addressed once by its id and once by its UPN counts as two here (Graph's 429 and the retry
policy still cover that case). Paths outside Outlook (``/users``, directory objects) take no
slot. Pure bookkeeping on a lock and a condition; shared by ``client.py`` and ``batch.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote

__all__ = ["MAILBOX_CONCURRENCY", "MailboxSlots", "mailbox_key"]

#: Outlook's concurrent requests per app and mailbox (graph-semantics.md §8.1).
MAILBOX_CONCURRENCY = 4

# The segments after /me or /users/{id} that Outlook serves (mail, calendar, contacts).
_OUTLOOK = frozenset({
    "messages", "mailfolders", "events", "calendar", "calendars", "calendarview",
    "calendargroups", "contacts", "contactfolders", "outlook", "mailboxsettings",
    "inferenceclassification", "sendmail", "findmeetingtimes", "reminderview",
})


def mailbox_key(path: str) -> str | None:
    """The mailbox a Graph path (relative to the version root, query string allowed) addresses
    when Outlook serves it, else None.

    Example:
        >>> mailbox_key("/users/Adele%40contoso.com/mailFolders/inbox/messages?$top=5")
        'adele@contoso.com'
        >>> mailbox_key("/me/events"), mailbox_key("/users?$select=id"), mailbox_key("/users/x")
        ('me', None, None)
    """
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if not parts:
        return None
    head = parts[0].lower()
    if head == "me":
        user, rest = "me", parts[1:]
    elif head.startswith("users(") and head.endswith(")"):  # /users('upn')/messages
        user, rest = parts[0][6:-1].strip("'"), parts[1:]
    elif head == "users" and len(parts) >= 2:
        user, rest = parts[1], parts[2:]
    else:
        return None
    if not rest or rest[0].lower() not in _OUTLOOK:
        return None
    return unquote(user).lower()


class MailboxSlots:
    """At most ``per_mailbox`` requests in flight per mailbox key (thread-safe).

    ``try_take`` never blocks (the fan-out dispatcher skips a full mailbox and sends other
    mailboxes' items); ``hold`` blocks until a slot is free (a direct request). ``None`` keys
    (paths outside Outlook) are never limited.
    """

    def __init__(self, per_mailbox: int = MAILBOX_CONCURRENCY) -> None:
        self.per_mailbox = per_mailbox
        self._busy: dict[str, int] = {}
        self._changed = threading.Condition(threading.Lock())
        self.peak = 0  # the most requests one mailbox had in flight (a high-water mark)

    def try_take(self, key: str | None) -> bool:
        """Take a slot of ``key`` if one is free; True when taken (give it back later)."""
        if key is None:
            return True
        with self._changed:
            busy = self._busy.get(key, 0)
            if busy >= self.per_mailbox:
                return False
            self._busy[key] = busy + 1
            self.peak = max(self.peak, busy + 1)
            return True

    def give(self, key: str | None) -> None:
        """Give back a slot taken with ``try_take`` (or ``take``)."""
        if key is None:
            return
        with self._changed:
            busy = self._busy.get(key, 0) - 1
            if busy > 0:
                self._busy[key] = busy
            else:
                self._busy.pop(key, None)
            self._changed.notify_all()

    def take(self, key: str | None, timeout: float | None = None,
             cancel: threading.Event | None = None) -> bool:
        """Wait until a slot of ``key`` is free and take it; False when ``timeout`` seconds
        passed (or ``cancel`` was set) first."""
        if key is None:
            return True
        end = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self._busy.get(key, 0) >= self.per_mailbox:
                if cancel is not None and cancel.is_set():
                    return False
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                # Wake now and then to notice ``cancel`` (it does not notify this condition).
                self._changed.wait(0.05 if left is None else min(left, 0.05))
            busy = self._busy.get(key, 0) + 1
            self._busy[key] = busy
            self.peak = max(self.peak, busy)
            return True

    @contextmanager
    def hold(self, key: str | None) -> Iterator[None]:
        """``with slots.hold(key):`` one request to the mailbox, waiting for a free slot."""
        self.take(key)
        try:
            yield
        finally:
            self.give(key)

    def wait_for_change(self, timeout: float) -> None:
        """Sleep until any slot is given back, or ``timeout`` seconds."""
        with self._changed:
            self._changed.wait(timeout)

    def busy(self, key: str | None) -> int:
        """Requests of ``key`` in flight now."""
        if key is None:
            return 0
        with self._changed:
            return self._busy.get(key, 0)
