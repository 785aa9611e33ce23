"""``fan_out``: many scans (one per mailbox, folder, ...) at once through JSON batching, for the
execution stage; it hands back ``(index of the scan, page of rows)`` as pages arrive.

Graph's batching rules (https://learn.microsoft.com/graph/json-batching): at most 20 inner
requests per ``POST /$batch``, each with a unique ``id`` and a URL relative to the version root;
responses come in any order and are matched by ``id``; the outer answer is 200 even when inner
requests failed; a throttled inner request has its own 429 and ``Retry-After`` and only it is
retried. Outlook runs at most 4 inner requests of a batch at once per mailbox
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).

Design: the consumer's own thread runs a small dispatcher; a thread pool of ``max_concurrency``
workers sends the batches. Each scan has at most one page request outstanding, so its pages
arrive in order. When the consumer stops iterating, the generator's ``finally`` sets a cancel
event (waking workers that sleep before a retry) and drops batches not yet started.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from threading import Event
from typing import TYPE_CHECKING, Any

from o365sql.exceptions import InternalError, OperationalError
from o365sql.graph.errors import deadline_hint, error_for, error_info, is_missing_item
from o365sql.graph.paging import RowBudget, next_link, page_rows, relative_url
from o365sql.graph.request import GraphRequest
from o365sql.graph.retry import RETRY_STATUSES, RetryState, parse_retry_after

if TYPE_CHECKING:
    from o365sql.graph.client import GraphClient

__all__ = ["MAX_BATCH", "fan_out"]

#: Graph's limit of inner requests per ``$batch``.
MAX_BATCH = 20


@dataclass
class _Item:
    """One page request of one scan, waiting to be put in a batch."""

    index: int
    url: str  # relative to the version root, with its query string
    headers: dict[str, str]
    state: RetryState
    refreshed: bool = False
    pushed_down: tuple[str, ...] = ()  # GraphRequest.pushed_down, for a rejection's advice

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


def _first_item(client: GraphClient, index: int, request: GraphRequest) -> _Item:
    path = request.path if request.path.startswith("/") else "/" + request.path
    query = request.query_string()
    return _Item(
        index,
        path + (f"?{query}" if query else ""),
        dict(request.headers),
        client.retry.start(client.timeout),
        pushed_down=request.pushed_down,
    )


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


def fan_out(
    client: GraphClient, requests: Sequence[GraphRequest], missing_ok: bool = False
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Run every request's scan to its last page; yield ``(index, rows)`` as pages arrive.

    With ``missing_ok``, a request answered "no such item" (``errors.is_missing_item``)
    yields one empty page instead of ending the whole fan-out with its error.
    """
    ready: deque[_Item] = deque(_first_item(client, i, r) for i, r in enumerate(requests))
    # Each scan's pages arrive in order (one outstanding page per scan), so its budget sees
    # them in order and a top-N scan asks for no page past its rows (GraphRequest.limit).
    budgets = [RowBudget(r.limit, r.ties) for r in requests]
    delayed: list[_Delayed] = []
    seq = itertools.count()
    in_flight: set[Future[list[_Outcome]]] = set()
    cancel = Event()
    pool = ThreadPoolExecutor(
        max_workers=client.max_concurrency, thread_name_prefix="o365sql-batch"
    )

    def dispatch() -> None:
        now = time.monotonic()
        while delayed and delayed[0].due <= now:
            ready.append(heapq.heappop(delayed).item)
        while ready and len(in_flight) < client.max_concurrency:
            chunk = [ready.popleft() for _ in range(min(MAX_BATCH, len(ready)))]
            in_flight.add(pool.submit(_send_batch, client, chunk, cancel, missing_ok))
        client.stats.note_in_flight(len(in_flight))

    try:
        while ready or delayed or in_flight:
            dispatch()
            if not in_flight:
                # Only throttled items remain: wait for the first one's Retry-After to pass.
                time.sleep(max(0.0, delayed[0].due - time.monotonic()))
                continue
            timeout = max(0.0, delayed[0].due - time.monotonic()) if delayed else None
            done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
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
        pool.shutdown(wait=False, cancel_futures=True)
