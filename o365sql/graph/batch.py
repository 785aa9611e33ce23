"""``fan_out``: many scans (one per mailbox, folder, ...) at once through JSON batching, for the
execution stage; it hands back ``(index of the scan, page of rows)`` as pages arrive.

Graph's batching rules (https://learn.microsoft.com/graph/json-batching): at most 20 inner
requests per ``POST /$batch``, each with a unique ``id`` and a URL relative to the version root;
responses come in any order and are matched by ``id``; the outer answer is 200 even when inner
requests failed; a throttled inner request has its own 429 and ``Retry-After`` and only it is
retried. Each item's ``@odata.nextLink`` is requested in a later batch until the scan is
exhausted or its row budget (``GraphRequest.limit``) is met, so every scan is read whole, not
only its first page.

Graph's limits (graph-semantics.md §6, §8.1; delta-limits-spark.md §5.2): Outlook allows 4
concurrent requests per app and mailbox, inner requests of a batch included (items 5+ of a
batch to one mailbox were seen answered 429 ApplicationThrottled), while the app-wide limit is
far higher; and Graph hands the Outlook service "up to four individual requests from the batch
at a time, regardless of the target mailboxes". So:

* every item holds a slot of its mailbox (``mailbox_slots.MailboxSlots``, shared with the
  client's direct requests) from the POST's sending to its answer: no mailbox has more than 4
  requests out, hence no batch body more than 4 items of one mailbox; items of a mailbox beyond
  that wait for a later body while other mailboxes' items go;
* up to ``max_concurrency`` POSTs are in flight (``MaxConcurrency``: the overall bound, far
  above 4 since distinct mailboxes run in parallel);
* a body holds a multiple of 4 items (``BATCH_PARALLEL``, what Graph runs of it at once), just
  enough that the ready items fill the free POST slots in the fewest rounds of 4: a batch of 20
  takes five such rounds, so 20 items over 5 POSTs arrive sooner than in one.

Design: the consumer's own thread runs a small dispatcher; the client's thread pool of
``max_concurrency`` workers (``GraphClient.workers``, kept between statements) sends the batches. Each scan has at most one page request outstanding, so its pages
arrive in order. When the consumer stops iterating, the generator's ``finally`` sets a cancel
event (waking workers that sleep before a retry) and drops batches not yet started.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from threading import Event
from typing import TYPE_CHECKING, Any

from o365sql.exceptions import InternalError, OperationalError
from o365sql.graph.errors import deadline_hint, error_for, error_info, is_missing_item
from o365sql.graph.mailbox_slots import mailbox_key
from o365sql.graph.paging import RowBudget, next_link, page_rows, relative_url
from o365sql.graph.request import GraphRequest
from o365sql.graph.retry import RETRY_STATUSES, RetryState, parse_retry_after

if TYPE_CHECKING:
    from o365sql.graph.client import GraphClient

__all__ = ["BATCH_PARALLEL", "MAX_BATCH", "batch_size", "fan_out"]

#: Graph's limit of inner requests per ``$batch``.
MAX_BATCH = 20
#: Inner requests of one batch Graph sends to Outlook at once, "regardless of the target
#: mailboxes" (graph-semantics.md §6; delta-limits-spark.md §5.2).
BATCH_PARALLEL = 4


@dataclass
class _Item:
    """One page request of one scan, waiting to be put in a batch."""

    index: int
    url: str  # relative to the version root, with its query string
    headers: dict[str, str]
    state: RetryState
    refreshed: bool = False
    pushed_down: tuple[str, ...] = ()  # GraphRequest.pushed_down, for a rejection's advice
    mailbox: str | None = None  # the scan's mailbox (mailbox_slots.mailbox_key), every page

    def line(self) -> str:
        return f"GET {self.url} (in $batch)"


@dataclass
class _Outcome:
    """What one inner response means for the dispatcher."""

    item: _Item
    rows: list[dict[str, Any]] | None = None  # a page to yield
    follow: _Item | None = None  # the scan's next page
    retry_in: float | None = None  # retry this item alone after so many seconds


@dataclass(order=True)
class _Delayed:
    due: float
    seq: int
    item: _Item = field(compare=False)


def _first_item(client: GraphClient, index: int, request: GraphRequest,
                queries: dict[tuple[tuple[str, str], ...], str]) -> _Item:
    path = request.path if request.path.startswith("/") else "/" + request.path
    # Scans of many mailboxes mostly share their query options: render each once.
    query = queries.get(request.params)
    if query is None:
        query = queries[request.params] = request.query_string()
    return _Item(
        index,
        path + (f"?{query}" if query else ""),
        dict(request.headers),
        client.retry.start(client.timeout),
        pushed_down=request.pushed_down,
        mailbox=mailbox_key(path),
    )


def batch_size(ready: int, free: int) -> int:
    """Items per ``$batch`` body when ``ready`` items wait and ``free`` POSTs may start: the
    ready items spread over the free POSTs, rounded up to a multiple of ``BATCH_PARALLEL``
    (Graph runs a body that many at a time), at most ``MAX_BATCH``.

    Example:
        >>> batch_size(201, 16), batch_size(22, 16), batch_size(1, 4), batch_size(500, 4)
        (16, 4, 4, 20)
    """
    per_post = -(-ready // max(1, free))
    rounds = -(-per_post // BATCH_PARALLEL)
    return max(BATCH_PARALLEL, min(MAX_BATCH, rounds * BATCH_PARALLEL))


def _take_chunk(client: GraphClient, ready: deque[_Item], size: int) -> list[_Item]:
    """Up to ``size`` ready items, in order, each with a slot of its mailbox taken; items whose
    mailbox has no free slot stay ready, in their order, for a later body."""
    chunk: list[_Item] = []
    waiting: list[_Item] = []
    slots = client.mailbox_slots
    while ready and len(chunk) < size:
        item = ready.popleft()
        (chunk if slots.try_take(item.mailbox) else waiting).append(item)
    ready.extendleft(reversed(waiting))
    return chunk


def _send_batch(
    client: GraphClient, items: list[_Item], cancel: Event, missing_ok: bool = False
) -> list[_Outcome]:
    """Worker: POST one ``$batch`` and turn each inner response into an outcome (or raise)."""
    body = {
        "requests": [
            {
                "id": str(n),
                "method": "GET",
                "url": item.url,
                **({"headers": item.headers} if item.headers else {}),
            }
            for n, item in enumerate(items, 1)
        ]
    }
    client.stats.add(batches=1, batch_items=len(items))
    for item in items:
        item.state.begin()  # an inner request's Timeout runs from its first sending
    # Every inner request is a GET, so the POST is safe to repeat as a whole.
    response = client._call(
        "POST", client.base_url + "/$batch", body=body, idempotent=True, cancel=cancel
    )
    payload = client._decode(response, "POST /$batch")
    answers = payload.get("responses") if isinstance(payload, dict) else None
    if not isinstance(answers, list):
        raise OperationalError("Graph answered POST /$batch without a 'responses' list")
    by_id = {str(a.get("id")): a for a in answers if isinstance(a, dict)}
    outcomes = []
    token = client._last_token or ""  # the token this batch was most likely sent with
    for n, item in enumerate(items, 1):
        answer = by_id.get(str(n))
        if answer is None:
            raise InternalError(f"Graph's $batch answer has no response for {item.line()}")
        outcomes.append(_outcome(client, item, answer, token, missing_ok))
    return outcomes


def _outcome(
    client: GraphClient, item: _Item, answer: dict[str, Any], token: str, missing_ok: bool = False
) -> _Outcome:
    status = int(answer.get("status") or 0)
    headers = answer.get("headers") or {}
    inner_body = answer.get("body")
    if 200 <= status < 300:
        client.stats.add(pages=1)
        link = next_link(inner_body)
        follow = None
        if link is not None:
            follow = _Item(
                item.index,
                relative_url(link, client.base_url),
                item.headers,
                client.retry.start(client.timeout),
                pushed_down=item.pushed_down,
                mailbox=item.mailbox,
            )
        return _Outcome(item, rows=page_rows(inner_body), follow=follow)
    info = error_info(status, inner_body, headers if isinstance(headers, dict) else None)
    if missing_ok and is_missing_item(status, info.code):
        client.stats.add(missing=1)
        return _Outcome(item, rows=[])  # "no such item": an empty last page of this scan
    if status == 401 and not item.refreshed:
        item.refreshed = True
        # _refresh does nothing when the token was already replaced (by a sibling item).
        client._refresh(token, info, item.line())
        return _Outcome(item, retry_in=0.0)
    if status in RETRY_STATUSES:
        client.stats.add(throttled=1)
        delay = item.state.next_delay(info.reason(), parse_retry_after(info.retry_after))
        if delay is not None:
            client.stats.add(retries=1, wait_seconds=delay)
            return _Outcome(item, retry_in=delay)
        hint = deadline_hint(item.state, info) if item.state.past_deadline else None
        raise error_for(info, item.line(), retries=item.state.summary(), hint=hint)
    raise error_for(info, item.line(), pushed_down=item.pushed_down)


#: Seconds between looks at mailbox slots held outside a fan-out.
_SLOT_POLL = 0.05


def _giver(client: GraphClient, chunk: list[_Item]) -> Callable[[Future[list[_Outcome]]], None]:
    def give_back(_: Future[list[_Outcome]]) -> None:
        for item in chunk:
            client.mailbox_slots.give(item.mailbox)

    return give_back


def fan_out(
    client: GraphClient, requests: Sequence[GraphRequest], missing_ok: bool = False
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Run every request's scan to its last page; yield ``(index, rows)`` as pages arrive.

    With ``missing_ok``, a request answered "no such item" (``errors.is_missing_item``)
    yields one empty page instead of ending the whole fan-out with its error.
    """
    queries: dict[tuple[tuple[str, str], ...], str] = {}
    ready = deque(_first_item(client, i, r, queries) for i, r in enumerate(requests))
    # Each scan's pages arrive in order (one outstanding page per scan), so its budget sees
    # them in order and a top-N scan asks for no page past its rows (GraphRequest.limit).
    budgets = [RowBudget(r.limit, r.ties) for r in requests]
    delayed: list[_Delayed] = []
    seq = itertools.count()
    in_flight: set[Future[list[_Outcome]]] = set()
    cancel = Event()
    pool = client.workers()

    def dispatch() -> None:
        now = time.monotonic()
        while delayed and delayed[0].due <= now:
            ready.append(heapq.heappop(delayed).item)
        size = batch_size(len(ready), client.max_concurrency - len(in_flight))
        while ready and len(in_flight) < client.max_concurrency:
            chunk = _take_chunk(client, ready, size)
            if not chunk:
                break  # every ready item's mailbox has 4 requests out: wait for an answer
            future = pool.submit(_send_batch, client, chunk, cancel, missing_ok)
            # The slots are given back when the POST is answered (or dropped unsent), even
            # while the consumer holds this generator suspended.
            future.add_done_callback(_giver(client, chunk))
            in_flight.add(future)
        client.stats.note_in_flight(len(in_flight))

    try:
        while ready or delayed or in_flight:
            dispatch()
            due = max(0.0, delayed[0].due - time.monotonic()) if delayed else None
            if ready:
                # Items wait for their mailbox's slots, which requests outside this fan-out
                # may hold too: look again soon.
                due = _SLOT_POLL if due is None else min(due, _SLOT_POLL)
            if not in_flight:
                if ready:
                    client.mailbox_slots.wait_for_change(due or _SLOT_POLL)
                else:  # only throttled items remain: wait for the first one's Retry-After
                    time.sleep(due or 0.0)
                continue
            done, _ = wait(in_flight, timeout=due, return_when=FIRST_COMPLETED)
            pages: list[tuple[int, list[dict[str, Any]]]] = []
            for future in done:
                in_flight.discard(future)
                for outcome in future.result():  # a worker's exception ends the whole fan-out
                    if outcome.retry_in is not None:
                        due = time.monotonic() + outcome.retry_in
                        heapq.heappush(delayed, _Delayed(due, next(seq), outcome.item))
                        continue
                    wanted = budgets[outcome.item.index].more(outcome.rows or [])
                    if outcome.follow is not None and wanted:
                        ready.append(outcome.follow)
                    pages.append((outcome.item.index, outcome.rows or []))
            # Keep the pool busy with the follow-up pages before handing rows to the consumer.
            dispatch()
            yield from pages
    finally:
        cancel.set()
        for future in in_flight:
            future.cancel()  # not started yet: dropped (its slots given back by _giver)
