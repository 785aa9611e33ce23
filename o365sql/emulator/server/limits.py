"""Outlook's per-mailbox throttling: at most 4 concurrent requests, and an optional request rate,
per (app, mailbox).

Stage: the Graph gate in ``server.py``. Before a Graph request reaches the Graph service the
server asks ``MailboxThrottle.enter``; ``$batch`` gets a ``wire.MailboxLimits`` bound to the
calling app (``for_client``) and applies it per inner request. Over a limit the answer is
Graph's 429 with ``Retry-After``
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits): the concurrency
limit answers Outlook's ApplicationThrottled body observed in practice, the request rate Graph's
general TooManyRequests sample (graph-semantics.md §8.1, §8.3).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import GraphError

CONCURRENCY_MESSAGE = "Application is over its MailboxConcurrency limit."
RATE_MESSAGE = "Please retry again later."


@dataclass
class LimitSettings:
    """Runtime-switchable settings (``emu.limits.settings`` or ``POST /_emulator/config``)."""

    concurrency: int | None = 4  # concurrent requests per (app, mailbox); None/0 = off
    rate: int | None = None  # requests per ``rate_window`` seconds per (app, mailbox); None = off
    rate_window: float = 600.0  # Outlook counts 10,000 requests per 10 minutes
    retry_after: float = 1.0  # seconds sent in Retry-After (fractional allowed)


def format_retry_after(seconds: float) -> str:
    """``2`` for whole seconds, ``0.25`` otherwise (Graph's own samples use ``2.128``)."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def throttled(retry_after: float, message: str = CONCURRENCY_MESSAGE,
              code: str = "ApplicationThrottled") -> GraphError:
    """Outlook's concurrency 429 (graph-semantics §6/§8.1, observed: docs#2886, docs#8760): the
    observed body has no innerError."""
    return GraphError(429, code, message, inner=code != "ApplicationThrottled",
                      headers={"Retry-After": format_retry_after(retry_after)})


def too_many_requests(retry_after: float | None) -> GraphError:
    """Graph's general throttling answer, the sample of throttling.md (graph-semantics §8.1,
    §8.3): code TooManyRequests, "Please retry again later.", and an innerError that repeats
    the status ("code": "429", "message": "Please retry after", "status": "429")."""
    headers = {} if retry_after is None else {"Retry-After": format_retry_after(retry_after)}
    return GraphError(429, "TooManyRequests", RATE_MESSAGE, headers=headers,
                      inner_fields={"code": "429", "message": "Please retry after", "status": "429"})


class MailboxThrottle:
    """Counters per (client id, mailbox key); ``resolve`` maps a UPN or id to one key."""

    def __init__(self, resolve: Callable[[str], str]) -> None:
        self.settings = LimitSettings()
        self._resolve = resolve
        self._lock = threading.Lock()
        # Signalled on every refusal, so tests can wait for one instead of sleeping.
        self._refused = threading.Condition(self._lock)
        self._active: dict[tuple[str, str], int] = {}
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self.rejected = 0
        # High-water marks since the last ``clear_peaks``: admitted Outlook requests in flight
        # per (app, mailbox), and across every mailbox at once (what an app ran in parallel).
        self._peak: dict[tuple[str, str], int] = {}
        self._running = 0
        self._peak_running = 0
        self._rejected_before = 0  # ``rejected`` at the last ``clear_peaks``

    def configure(self, **values: object) -> None:
        for key, value in values.items():
            if not hasattr(self.settings, key):
                raise KeyError(f"unknown limit setting {key!r}")
            setattr(self.settings, key, value)

    def key(self, mailbox: str) -> str:
        return self._resolve(mailbox)

    def enter(self, client_id: str, mailbox: str) -> float | None:
        """None when the request may run (call ``leave`` after), else Retry-After seconds."""
        refused = self._enter(client_id, mailbox)
        return None if refused is None else refused[0]

    def admit(self, client_id: str, mailbox: str) -> GraphError | None:
        """None when the request may run (call ``leave`` after), else the 429 to answer: the
        request rate gets Graph's general TooManyRequests, the concurrency limit Outlook's
        ApplicationThrottled (graph-semantics §8.1, §8.3)."""
        refused = self._enter(client_id, mailbox)
        if refused is None:
            return None
        retry, reason = refused
        return too_many_requests(retry) if reason == "rate" else throttled(retry)

    def _enter(self, client_id: str, mailbox: str) -> tuple[float, str] | None:
        key = (client_id.lower(), self._resolve(mailbox))
        settings = self.settings
        now = time.monotonic()
        with self._lock:
            if settings.rate:
                window = self._recent.setdefault(key, deque())
                while window and window[0] <= now - settings.rate_window:
                    window.popleft()
                if len(window) >= settings.rate:
                    self.rejected += 1
                    self._refused.notify_all()
                    wait = window[0] + settings.rate_window - now
                    return max(wait, settings.retry_after), "rate"
            active = self._active.get(key, 0)
            if settings.concurrency and active >= settings.concurrency:
                self.rejected += 1
                self._refused.notify_all()
                return settings.retry_after, "concurrency"
            self._active[key] = active + 1
            self._running += 1
            self._peak_running = max(self._peak_running, self._running)
            if active + 1 > self._peak.get(key, 0):
                self._peak[key] = active + 1
            if settings.rate:
                self._recent.setdefault(key, deque()).append(now)
        return None

    def leave(self, client_id: str, mailbox: str) -> None:
        key = (client_id.lower(), self._resolve(mailbox))
        with self._lock:
            self._running -= 1
            active = self._active.get(key, 0) - 1
            if active > 0:
                self._active[key] = active
            else:
                self._active.pop(key, None)

    def wait_rejected(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``rejected`` (refusals since the last ``reset``) reaches ``count``; False
        after ``timeout`` seconds without."""
        with self._refused:
            return self._refused.wait_for(lambda: self.rejected >= count, timeout)

    def active(self) -> dict[str, int]:
        with self._lock:
            return {f"{c}|{m}": n for (c, m), n in self._active.items()}

    def peaks(self) -> dict[str, object]:
        """Concurrency high-water marks since the last ``clear_peaks``: ``peak`` (the most
        requests one mailbox had in flight), ``by_mailbox`` (``"app|mailbox": n``),
        ``all_mailboxes`` (the most Outlook requests in flight at once, over every mailbox)
        and ``refused`` (429s answered by these limits since then)."""
        with self._lock:
            return {"peak": max(self._peak.values(), default=0),
                    "by_mailbox": {f"{c}|{m}": n for (c, m), n in self._peak.items()},
                    "all_mailboxes": self._peak_running,
                    "refused": self.rejected - self._rejected_before}

    def clear_peaks(self) -> None:
        with self._lock:
            self._peak.clear()
            self._peak_running = self._running
            self._rejected_before = self.rejected

    def for_client(self, client_id: str) -> ClientLimits:
        return ClientLimits(self, client_id)

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
            self.rejected = 0
            self._rejected_before = 0


class ClientLimits:
    """``wire.MailboxLimits`` for one app: what ``$batch`` calls per inner request."""

    def __init__(self, throttle: MailboxThrottle, client_id: str) -> None:
        self._throttle = throttle
        self._client_id = client_id

    def enter(self, mailbox: str) -> float | None:
        return self._throttle.enter(self._client_id, mailbox)

    def admit(self, mailbox: str) -> GraphError | None:
        return self._throttle.admit(self._client_id, mailbox)

    def leave(self, mailbox: str) -> None:
        self._throttle.leave(self._client_id, mailbox)


# Path segments under /me or /users/{id} that are served by Outlook (mail, calendar, contacts).
OUTLOOK_SEGMENTS = frozenset({
    "messages", "mailfolders", "events", "calendar", "calendars", "calendarview",
    "calendargroups", "contacts", "contactfolders", "outlook", "mailboxsettings",
    "inferenceclassification", "sendmail", "findmeetingtimes", "reminderview",
})


def mailbox_of(path: str, user_id: str | None) -> tuple[str | None, bool]:
    """(the user a Graph path addresses, whether Outlook serves it) for ``/me/...`` and
    ``/users/{id or upn}/...``; ``(None, False)`` otherwise."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None, False
    head = parts[0].lower()
    if head == "me":
        user, rest = user_id, parts[1:]
    elif head.startswith("users(") and head.endswith(")"):  # /users('upn')/messages
        user, rest = parts[0][6:-1].strip("'"), parts[1:]
    elif head == "users" and len(parts) >= 2:
        user, rest = parts[1], parts[2:]
    else:
        return None, False
    if user is None:
        return None, False
    outlook = bool(rest) and rest[0].lower() in OUTLOOK_SEGMENTS
    return user, outlook
