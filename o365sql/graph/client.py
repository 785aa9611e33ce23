"""The Graph HTTP client: sends the ``GraphRequest``s the OData stage rendered and hands the
execution stage JSON pages (one at a time, as the caller pulls them).

One ``requests.Session`` per connection, with a connection pool sized to the concurrency. Every
call goes through ``_call``: bearer token from the ``TokenProvider``, ``verify=`` passed per
request (``REQUESTS_CA_BUNDLE`` overrides ``Session.verify`` in requests, psf/requests#3829),
the one retry policy of ``retry.py``, a single forced token refresh after a 401, and Graph
errors mapped to PEP 249 exceptions by ``errors.py``. Many scans at once go through ``$batch``
(``batch.py``). Nothing here knows about SQL.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import requests
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity
from urllib3.exceptions import NewConnectionError

from o365sql.exceptions import (
    AuthenticationError,
    Error,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from o365sql.graph.body import read_body
from o365sql.graph.deadline import Deadline, DeadlineAdapter, deadline
from o365sql.graph.errors import (
    GraphErrorInfo,
    connection_error,
    deadline_hint,
    error_for,
    error_info,
    is_missing_item,
    timeout_error,
)
from o365sql.graph.mailbox_slots import MailboxSlots, mailbox_key
from o365sql.graph.paging import RowBudget, check_same_origin, page_rows
from o365sql.graph.pending import PendingPage, head_next_link
from o365sql.graph.request import GraphRequest
from o365sql.graph.retry import (
    RETRY_STATUSES,
    UNREACHABLE_DELAY,
    RetryPolicy,
    RetryState,
    parse_retry_after,
)
from o365sql.graph.stats import ClientStats
from o365sql.version import __version__

if TYPE_CHECKING:
    from o365sql.auth.tokens import TokenProvider

__all__ = ["DEFAULT_CONCURRENCY", "Cancelled", "GraphClient"]

#: ``$batch`` POSTs in flight by default (``MaxConcurrency``): see ``properties.py`` for how
#: it was measured.
DEFAULT_CONCURRENCY = 16

log = logging.getLogger("o365sql.graph")

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures after which the request may have reached Graph: repeated only when idempotent.
_NETWORK_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ReadTimeout,
    requests.exceptions.ContentDecodingError,
)


#: The rest of a URL ``url_for`` built: unreserved characters, the reserved ones its quoting
#: keeps, and complete ``%XX`` escapes (requests' own quoting would leave it as it is, but for
#: turning escaped unreserved characters back into themselves).
_PLAIN_URL = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")


def _plain_prefix(base_url: str) -> str | None:
    """``base_url + "/"`` when requests would send it unchanged (scheme and host in lower
    case, nothing to quote), else None (every URL is then prepared by requests)."""
    prefix = base_url + "/"
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(prefix, None)
    except requests.exceptions.RequestException:
        return None
    return prefix if prepared.url == prefix else None


class Cancelled(Exception):
    """Raised inside a worker when the ``fan_out`` consumer stopped iterating."""


def _unreachable(exc: BaseException) -> bool:
    """True for a failed name lookup or a refused connection (nothing answered at all)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    if isinstance(reason, NewConnectionError):  # NameResolutionError is one too
        return True
    text = repr(exc)
    return any(mark in text for mark in ("NameResolutionError", "Failed to resolve",
                                         "Connection refused", "NewConnectionError"))


def _never_sent(exc: BaseException) -> bool:
    """True when a network failure happened before the request left (safe to repeat any method)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


class GraphClient:
    """Sends Graph requests with paging, retries, token refresh and bounded concurrency.

    Args:
        base_url: the version root, e.g. ``https://graph.microsoft.com/v1.0``.
        token_provider: gives bearer tokens (``o365sql.auth.tokens.TokenProvider``).
        verify: ``True`` (system trust, or ``REQUESTS_CA_BUNDLE``) or the path of a CA file
            to trust instead (``SSLServerCert``; the emulator's CA in tests).
        timeout: seconds one call may take, retries and their waits included (the
            ``Timeout`` property); None for no limit. Each connect and read waits at most
            what is left of it; a retry wait that would pass it fails the call at once.
        max_concurrency: ``$batch`` POSTs in flight at once in ``fan_out`` (the overall
            bound; ``MaxConcurrency``). Each mailbox is held to Outlook's own 4 concurrent
            requests apart from it (``mailbox_slots``; graph-semantics.md §8.1), so distinct
            mailboxes run in parallel beyond 4.
        retry: the retry policy for every call (default ``RetryPolicy()``).
        user_agent: ``User-Agent`` header value.

    Attributes:
        stats: a ``ClientStats`` with request/page/batch/retry/byte counters.
        mailbox_slots: the per-mailbox limit every request of this client obeys (direct
            requests wait for a slot; ``fan_out`` puts a mailbox's items beyond its free slots
            in later batches). Other concurrent readers of one mailbox (parallel range scans)
            go through ``send``/``pages`` and so share it.
    """

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        verify: bool | str = True,
        timeout: float | None = 60.0,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        retry: RetryPolicy | None = None,
        *,
        user_agent: str | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ProgrammingError("MaxConcurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.token_provider = token_provider
        self.verify = verify
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self.mailbox_slots = MailboxSlots()
        self.session = requests.Session()
        # Our own retry policy replaces urllib3's; the pool holds one socket per worker.
        # Its connections obey each call's deadline (deadline.py): Timeout bounds the call.
        adapter = DeadlineAdapter(pool_connections=2, pool_maxsize=max_concurrency + 1,
                                  max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._headers = {
            "Accept": "application/json",
            "User-Agent": user_agent or _default_user_agent(),
        }
        self._token_lock = threading.Lock()
        self._last_token: str | None = None
        self._workers: ThreadPoolExecutor | None = None
        self._closed = False
        self._environments: dict[str, dict[str, Any]] = {}
        self._plain_prefix = _plain_prefix(self.base_url)

    # -- public API -------------------------------------------------------------------------

    def send(self, request: GraphRequest) -> Any:
        """One call: parsed JSON, text (``/$count`` answers ``text/plain``), bytes, or None (204).

        Raises:
            ProgrammingError, PermissionDeniedError, InternalError, AuthenticationError,
            ThrottledError, OperationalError: Graph's error or a network failure
                (see ``errors.py``).
        """
        response = self._call(
            request.method,
            self.url_for(request),
            headers=dict(request.headers),
            body=request.body,
            idempotent=request.method.upper() in _IDEMPOTENT,
            pushed_down=request.pushed_down,
            mailbox=mailbox_key(request.path),
        )
        return self._decode(response, request.line())

    def payloads(self, request: GraphRequest, cancel: threading.Event | None = None
                 ) -> Generator[dict[str, Any], None, None]:
        """Whole response objects of a collection, page by page, following ``@odata.nextLink``.

        An extension of ``pages`` for callers that need ``@odata.count`` (first page only) or
        ``@odata.deltaLink``. Nothing is fetched until the first ``next()``; each further page
        only when asked for, so a caller that stops iterating stops the paging. Setting
        ``cancel`` (a worker thread's pages, ``ranges.py``) ends a wait before a retry with
        ``Cancelled``.
        """
        for page in self._follow(request, cancel, defer=False):
            yield page.payload()

    def pending_pages(self, request: GraphRequest, cancel: threading.Event | None = None
                      ) -> Generator[PendingPage, None, None]:
        """``payloads``' pages for a worker thread (``ranges.py``): each page's JSON is parsed
        by whoever reads its rows (``PendingPage.rows``), and the next page is asked for as
        soon as its link is known (``pending.py`` says how and why)."""
        yield from self._follow(request, cancel, defer=True)

    def _follow(self, request: GraphRequest, cancel: threading.Event | None, *, defer: bool
                ) -> Generator[PendingPage, None, None]:
        self._require_get(request)
        url: str | None = self.url_for(request)
        headers = dict(request.headers)  # resent on every page: Graph does not carry them over
        mailbox = mailbox_key(request.path)  # nextLinks stay in the request's mailbox
        while url is not None:
            line = self._line("GET", url)
            response = self._call("GET", url, headers=headers, idempotent=True,
                                  pushed_down=request.pushed_down, mailbox=mailbox,
                                  cancel=cancel)
            early = head_next_link(response.content) if defer and response.content and \
                "json" in response.headers.get("Content-Type", "").lower() else None
            if early is not None:
                page = PendingPage(response.content, line, early)
            else:
                payload = self._decode(response, line)
                if not isinstance(payload, dict):
                    raise OperationalError(f"Graph answered {line} with a non-object page")
                page = PendingPage.parsed(payload, line)
            self.stats.add(pages=1)
            link = page.link
            if link is not None:
                check_same_origin(link, self.base_url)
            yield page
            url = link

    def pages(self, request: GraphRequest, cancel: threading.Event | None = None
              ) -> Generator[list[dict[str, Any]], None, None]:
        """The rows of a collection, one list per Graph page, following ``@odata.nextLink``.

        Stops when Graph sends no nextLink, when the caller stops iterating, or when the rows
        the request wants (``GraphRequest.limit``, ``paging.RowBudget``) have arrived.
        """
        budget = RowBudget(request.limit, request.ties)
        payloads = self.payloads(request, cancel)
        try:
            for payload in payloads:
                rows = page_rows(payload)
                yield rows
                if not budget.more(rows):
                    return
        finally:
            payloads.close()

    def fan_out(
        self, requests: Sequence[GraphRequest], *, missing_ok: bool = False
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Many scans at once (e.g. one per mailbox): yields ``(index, page)`` as pages arrive.

        Pages of one scan arrive in order; scans interleave. Requests go through ``$batch``
        (at most 20 per POST, at most ``max_concurrency`` POSTs in flight), each scan's
        nextLinks in later batches; an inner 429/503/504 is retried alone after its own
        ``Retry-After``. Closing the iterator (or dropping it) cancels outstanding work.

        Any other inner error ends the whole fan-out by raising it, unless ``missing_ok`` is
        set and Graph answered "no such item" (404 ErrorItemNotFound or
        Request_ResourceNotFound, 400 ErrorInvalidIdMalformed; ``errors.is_missing_item``):
        that request then yields one empty page and the others go on. This is how lookups by
        key (``GET /users/{u}/messages/{id}``, 20 per POST) find which keys exist.
        """
        from o365sql.graph.batch import fan_out

        for request in requests:
            self._require_get(request)
        if len(requests) == 1:
            # One scan gains nothing from $batch: page it directly.
            return self._single_scan(requests[0], missing_ok)
        return fan_out(self, requests, missing_ok)

    def _single_scan(
        self, request: GraphRequest, missing_ok: bool = False
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        pages = self.pages(request)
        try:
            for page in pages:
                yield 0, page
        except Error as exc:
            if not (missing_ok and is_missing_item(exc.status, exc.code)):
                raise
            self.stats.add(missing=1)
            yield 0, []
        finally:
            pages.close()

    def download(
        self, request: GraphRequest, chunk_size: int = 65536
    ) -> Generator[bytes, None, None]:
        """The raw body of a GET (``/attachments/{id}/$value``), streamed in chunks.

        Retries cover the call up to its first byte; a failure after that raises.
        """
        self._require_get(request)
        line = request.line()
        response = self._call(
            "GET",
            self.url_for(request),
            headers=dict(request.headers),
            idempotent=True,
            stream=True,
            pushed_down=request.pushed_down,
            mailbox=mailbox_key(request.path),
        )
        try:
            for chunk in response.iter_content(chunk_size):
                self.stats.add(bytes=len(chunk))
                yield chunk
        except _NETWORK_ERRORS as exc:
            raise connection_error(exc, line) from exc
        finally:
            response.close()

    def upload_slice(self, upload_url: str, data: bytes, start: int, total: int
                     ) -> tuple[int, Any, Mapping[str, str]]:
        """PUT one slice of a large-attachment upload session: ``(status, JSON or None,
        headers)``. The upload URL carries its own credential, so no ``Authorization`` header
        is sent (https://learn.microsoft.com/graph/outlook-large-attachments). Not retried:
        the session's ``nextExpectedRanges`` says where to go on after a failure.
        """
        if self._closed:
            raise InterfaceError("the Graph client (and its connection) is closed")
        end = start + len(data) - 1
        line = f"PUT <upload URL> bytes {start}-{end}/{total}"
        try:
            response = self.session.put(
                upload_url, data=data, timeout=self.timeout, verify=self.verify,
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"bytes {start}-{end}/{total}",
                         "User-Agent": self._headers["User-Agent"]})
        except _NETWORK_ERRORS as exc:
            self.stats.add(requests=1)
            raise connection_error(exc, line) from exc
        self.stats.add(requests=1, bytes=len(response.content))
        if response.status_code >= 400:
            raise error_for(error_info(response.status_code, response.content, response.headers),
                            line)
        body = response.json() if response.content and "json" in response.headers.get(
            "Content-Type", "") else None
        return response.status_code, body, response.headers

    def url_for(self, request: GraphRequest) -> str:
        """The absolute URL of a request: base URL + path + rendered query string."""
        path = request.path if request.path.startswith("/") else "/" + request.path
        query = request.query_string()
        return self.base_url + path + (f"?{query}" if query else "")

    def workers(self) -> ThreadPoolExecutor:
        """The ``max_concurrency`` threads that send ``fan_out``'s POSTs, started on first use
        and kept until ``close`` (a statement does not pay for starting them)."""
        with self._token_lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(max_workers=self.max_concurrency,
                                                   thread_name_prefix="o365sql-batch")
            return self._workers

    def close(self) -> None:
        """Close the HTTP session; the client cannot be used afterwards."""
        self._closed = True
        with self._token_lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=False, cancel_futures=True)
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GraphClient({self.base_url!r}, max_concurrency={self.max_concurrency})"

    # -- the one call path ------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool,
        stream: bool = False,
        cancel: threading.Event | None = None,
        pushed_down: tuple[str, ...] = (),
        mailbox: str | None = None,
    ) -> requests.Response:
        """Send one logical request, retrying per the policy; return a 2xx/3xx response or raise.

        ``pushed_down`` (``GraphRequest.pushed_down``) shapes the advice of a rejected query.
        ``mailbox`` (``mailbox_slots.mailbox_key``): each attempt waits for and holds one of
        that mailbox's slots (not while sleeping before a retry).
        """
        if self._closed:
            raise InterfaceError("the Graph client (and its connection) is closed")
        line = self._line(method, url)
        state = self.retry.start(self.timeout)
        state.begin()
        refreshed = False
        unreachable_retried = False
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            remaining = state.remaining()
            if remaining is not None and remaining <= 0:
                raise self._timed_out(line, state)
            token = self._token()
            sent_headers = {
                **self._headers,
                **(headers or {}),
                "Authorization": f"Bearer {token}",
                "client-request-id": request_id(),
            }
            started = time.monotonic()
            watch: Deadline | None = None
            try:
                # The whole attempt (connect, send, headers, body) ends at the deadline, even
                # when the server trickles its answer within each read's timeout.
                with self._slot(mailbox, state, line, cancel), \
                        deadline(state.remaining()) as watch:
                    response = self._send(
                        method,
                        url,
                        sent_headers,
                        body,
                        # Each wait (connect, each read) is cut to what is left of the call's
                        # Timeout, so a slow answer ends the call instead of being retried.
                        timeout=state.remaining(),
                        stream=True,
                    )
                    if not stream:
                        read_body(response)  # read now: a drop mid-body must be retried here
            except requests.exceptions.SSLError as exc:
                self.stats.add(requests=1)
                if watch is not None and watch.passed:
                    state.give_up("deadline")
                    raise self._timed_out(line, state, exc) from exc
                raise connection_error(exc, line) from exc
            except _NETWORK_ERRORS as exc:
                self.stats.add(requests=1)
                log.debug("%s -> %s", line, type(exc).__name__)
                if state.expired() or (watch is not None and watch.passed):
                    state.give_up(type(exc).__name__)
                    raise self._timed_out(line, state, exc) from exc
                delay = None
                if _unreachable(exc):
                    # A failed name lookup or a refused connection: once more, quickly.
                    if unreachable_retried:
                        state.give_up(type(exc).__name__)
                    else:
                        unreachable_retried = True
                        delay = state.next_delay(type(exc).__name__, UNREACHABLE_DELAY)
                elif idempotent or _never_sent(exc):
                    delay = state.next_delay(type(exc).__name__)
                if delay is None:
                    if state.past_deadline:
                        raise self._timed_out(line, state, exc) from exc
                    retries = state.summary() if state.attempts > 1 else None
                    raise connection_error(exc, line, retries=retries) from exc
                self._sleep(delay, cancel)
                continue
            status = response.status_code
            self.stats.add(requests=1, bytes=0 if stream else len(response.content))
            log.debug("%s -> %d in %.3f s", line, status, time.monotonic() - started)
            if status < 400:
                return response
            if stream:
                _ = response.content
            info = error_info(status, response.content, response.headers)
            if status == 401 and not refreshed:
                refreshed = True
                self._refresh(token, info, line)
                continue
            if status in RETRY_STATUSES:
                self.stats.add(throttled=1)
                # A 504 to a write may have been carried out: only 429/503 mean "not done".
                if idempotent or status != 504:
                    delay = state.next_delay(info.reason(), parse_retry_after(info.retry_after))
                    if delay is not None:
                        self._sleep(delay, cancel)
                        continue
                    if state.past_deadline:
                        raise error_for(info, line, retries=state.summary(),
                                        hint=deadline_hint(state, info))
                raise error_for(info, line, retries=state.summary() if state.attempts else None)
            raise error_for(info, line, pushed_down=pushed_down)

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: Any, *,
              timeout: float | None, stream: bool) -> requests.Response:
        """One HTTP exchange: what ``Session.request`` does, less its per-call costs.

        ``Session.request`` reads the environment on every call (proxies: every variable,
        twice; ``~/.netrc``; ``REQUESTS_CA_BUNDLE``), and re-parses and re-quotes the URL.
        Here the environment's settings are read once per host (``_environment``), and a URL
        this client built (``url_for``: the base URL, then only unreserved characters, OData
        punctuation and ``%XX`` escapes) is sent as it is; any other URL (a nextLink holding
        other characters) is prepared by requests. Sent as it is, a path segment escaped as
        ``%2E%2E`` (an id made of dots, ``odata.query.path_segment``) reaches Graph as that
        id, where requests would have decoded it to ``..`` and addressed the parent. No
        ``.netrc`` credentials: the request carries its own bearer token, which requests
        would otherwise replace by the netrc's Basic one."""
        prepared = requests.PreparedRequest()
        prepared.method = method
        if self._plain_prefix is not None and url.startswith(self._plain_prefix) and \
                _PLAIN_URL.fullmatch(url, len(self._plain_prefix)):
            prepared.url = url
        else:
            prepared.prepare_url(url, None)
        # The session's headers, then the call's, as Session.prepare_request merges them; the
        # values that do not come from this client are checked as prepare_headers checks them
        # (no CR/LF or leading space: a header cannot be split into two).
        merged = CaseInsensitiveDict(self.session.headers)
        for header in headers.items():
            if header[0] != "client-request-id" and self._headers.get(header[0]) != header[1]:
                check_header_validity(header)
            merged[header[0]] = header[1]
        prepared.headers = merged  # type: ignore[assignment]  # str values are what requests sends
        prepared.prepare_body(
            # Text (a base64 MIME message, sent with Content-Type: text/plain) as is; anything
            # else as JSON.
            body.encode("utf-8") if isinstance(body, str) else
            body if isinstance(body, bytes) else None,
            None,
            None if isinstance(body, (str, bytes)) else body)
        # A jar of its own, as Session.prepare_request makes (a redirect adds to it).
        jar = RequestsCookieJar()
        if len(self.session.cookies):
            prepared.prepare_cookies(merge_cookies(jar, self.session.cookies))
        else:
            prepared._cookies = jar  # nothing to send: no Cookie header to compute
        prepared.hooks = default_hooks()
        return self.session.send(prepared, timeout=timeout, stream=stream, allow_redirects=True,
                                 **self._environment(url))

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies, ``verify`` and client certificate for ``url``'s host, as ``Session.request``
        merges them from the environment (``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``
        when ``verify`` is True: psf/requests#3829), read once per host for this client."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._environments.get(origin)
        if found is None:
            # verify per request: beats REQUESTS_CA_BUNDLE when it names a CA file (msal.md §4).
            found = self.session.merge_environment_settings(url, {}, None, self.verify, None)
            found.pop("stream", None)
            self._environments[origin] = found
        return found

    @contextmanager
    def _slot(self, mailbox: str | None, state: RetryState, line: str,
              cancel: threading.Event | None) -> Iterator[None]:
        """Hold one slot of ``mailbox`` for an attempt, waiting at most the call's time left."""
        if not self.mailbox_slots.take(mailbox, state.remaining(), cancel):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            state.give_up("MailboxConcurrency")
            raise self._timed_out(line, state)
        try:
            yield
        finally:
            self.mailbox_slots.give(mailbox)

    def _timed_out(self, line: str, state: RetryState,
                   cause: BaseException | None = None) -> OperationalError:
        retries = state.summary() if state.attempts > 1 else None
        return timeout_error(line, state.timeout or 0.0, retries=retries, cause=cause)

    def _token(self) -> str:
        # Providers need not be thread-safe: fan_out workers ask for tokens concurrently.
        with self._token_lock:
            token = self.token_provider.access_token()
            self._last_token = token
            return token

    def _refresh(self, rejected: str, info: GraphErrorInfo, line: str) -> None:
        """Force one token refresh after a 401, unless another worker already replaced the token."""
        with self._token_lock:
            if self._last_token is not None and self._last_token != rejected:
                return
            try:
                self._last_token = self.token_provider.access_token(force_refresh=True)
            except AuthenticationError as exc:
                raise error_for(
                    info, line, hint=f"refreshing the token failed: {exc.message}"
                ) from None
        self.stats.add(refreshes=1)

    def _sleep(self, delay: float, cancel: threading.Event | None) -> None:
        self.stats.add(retries=1, wait_seconds=delay)
        if cancel is None:
            time.sleep(delay)
        elif cancel.wait(delay):
            raise Cancelled()

    # -- helpers ----------------------------------------------------------------------------

    def _line(self, method: str, url: str) -> str:
        """``GET /me/messages?...``: the request without the host, for messages and logs."""
        root = self.base_url
        return f"{method} {url.removeprefix(root)}"

    def _decode(self, response: requests.Response, line: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        ctype = response.headers.get("Content-Type", "").lower()
        if "json" in ctype:
            try:
                return response.json()
            except ValueError as exc:
                raise OperationalError(
                    f"Graph answered {line} with malformed JSON: {exc}"
                ) from None
        if ctype.startswith("text/"):
            return response.text
        return response.content

    @staticmethod
    def _require_get(request: GraphRequest) -> None:
        if request.method.upper() != "GET":
            raise InterfaceError(
                f"paging needs a GET request, not {request.method} ({request.line()}); use send()"
            )


def request_id() -> str:
    """A random (version 4) UUID for ``client-request-id``, the text ``str(uuid.uuid4())``
    gives, made the way ``uuid4`` makes it (16 random bytes, version and variant bits set):
    importing ``uuid`` loads ``platform``, ~2 ms of every process's first request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _default_user_agent() -> str:
    return f"o365sql/{__version__}"
