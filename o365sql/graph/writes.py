"""Writes in few requests: ``send_writes`` sends many POST/PATCH/DELETE calls and reports each
one's outcome, for the execution stage's INSERT/UPDATE/DELETE and the bulk procedures.

One write is sent on its own. More go through JSON batching
(https://learn.microsoft.com/graph/json-batching), at most 20 to a ``POST /$batch``. Outlook
runs at most four requests per mailbox at once and answers a fifth concurrent one, inner ones
of a batch included, with its own 429 "MailboxConcurrency" (graph-semantics.md §6, §8.1;
https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits), and Graph wants a
batch "fully sequential or fully parallel". So, when the writes are independent (no two
address the same item, none addresses a part of another's item), each round sends, together
(up to ``max_concurrency`` POSTs, each holding its mailboxes' slots, ``mailbox_slots``):

* the writes of mailboxes with at most 4 of them in unordered bodies (no ``dependsOn``; Graph
  runs 4 items of a body at a time, a mailbox never has more than 4 in it);
* the writes of a mailbox with more in ``dependsOn`` chains of up to 20 (one request at a time
  each, so one slot per chain: up to 4 chains of a mailbox run at once).

Writes that are not independent go as before: one chain of up to 20 at a time, in order.
Either way each write is a separate request to Graph, so the client markers and the rules
below hold item by item.

Outcomes, item by item (a failing row neither hides the others' results nor stops them):

* 2xx: done, with Graph's answer (the created item of a POST).
* 424 Failed Dependency: the item was not run because an earlier one of its chain failed; it
  is sent again in the next batch.
* 429/503: not done; sent again after its own ``Retry-After``.
* DELETE answered 404 "no such item": done (already gone, e.g. by a retry after a lost answer);
  PATCH answered so: not done and not failed (the item was deleted since it was read), so
  ``rowcount`` does not count it.
* A write whose answer was lost (504, dropped connection, timeout after it was sent): PATCH and
  DELETE set or remove the same state again, so they are repeated; a POST is not blindly (it
  would create a second item): a create that carries a client marker (``with_marker``) is
  looked up by it, done if found, sent again if not; without a marker its outcome is
  ``unknown`` and the caller reports that it may or may not have happened.
* Any other error: the PEP 249 exception for it, naming the request.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from o365sql.exceptions import AuthenticationError, Error, OperationalError
from o365sql.graph.errors import error_for, error_info, is_missing_item
from o365sql.graph.mailbox_slots import MAILBOX_CONCURRENCY, mailbox_key
from o365sql.graph.request import GraphRequest
from o365sql.graph.retry import RETRY_STATUSES, RetryState, parse_retry_after

if TYPE_CHECKING:
    from o365sql.graph.client import GraphClient

__all__ = ["MARKER_PROPERTY", "MAX_CHAIN", "WriteOutcome", "send_writes", "with_marker"]

#: Writes in one ``$batch`` (Graph's limit of inner requests).
MAX_CHAIN = 20
#: The single-value extended property o365sql puts on the items it creates: a string in
#: o365sql's own property set (a GUID of its own), valued with a fresh id per create.
MARKER_PROPERTY = "String {8c5a1e36-2f4b-4d0e-9c77-3b1f6a9e2d41} Name o365sqlWriteId"
#: How many times a create found not to have happened is sent again.
MAX_RESENDS = 3
_REPEATABLE = frozenset({"PATCH", "DELETE", "PUT"})


@dataclass
class WriteOutcome:
    """What became of one write.

    Attributes:
        status: Graph's HTTP status (0 when no answer arrived).
        body: Graph's answer (the created item of a POST), or None.
        error: the PEP 249 exception when the write failed, else None.
        unknown: no answer arrived to a POST that may have been carried out.
        missing: a PATCH found no such item (deleted since it was read): nothing changed,
            and nothing failed.
    """

    status: int = 0
    body: Any = None
    error: Error | None = None
    unknown: bool = False
    missing: bool = False

    @property
    def ok(self) -> bool:
        """The write was carried out (an update of an item that no longer exists was not)."""
        return self.error is None and not self.unknown and not self.missing


@dataclass
class _Pending:
    index: int
    request: GraphRequest
    state: RetryState
    due: float = 0.0
    lost: list[str] = field(default_factory=list)  # why earlier answers were lost

    def line(self) -> str:
        return f"{self.request.method} {self.request.path} (in $batch)"


def send_writes(client: GraphClient, writes: Sequence[GraphRequest],
                markers: Sequence[str | None] | None = None) -> list[WriteOutcome]:
    """Send every write; return one outcome per request, in order (see module docstring).

    ``markers[i]``, when set, is the value of the client marker (``MARKER_PROPERTY``) that the
    create ``writes[i]`` puts on its item (``with_marker``). When such a create's answer is
    lost, the item is looked up by its marker in the collection it was posted to: found, the
    create is done (its outcome carries the item); not found, it is sent again (at most
    ``MAX_RESENDS`` times). Without a marker the outcome stays ``unknown``.
    """
    marks = list(markers) if markers is not None else [None] * len(writes)
    outcomes: dict[int, WriteOutcome] = {}
    todo = list(range(len(writes)))
    sent = [0] * len(writes)
    while todo:
        for index in todo:
            sent[index] += 1
        outcomes.update(_send_set(client, [(i, writes[i]) for i in todo]))
        todo = []
        for index, outcome in outcomes.items():
            marker = marks[index]
            if not outcome.unknown or marker is None:
                continue
            found = _look_up(client, writes[index], marker)
            if found is not None:
                outcomes[index] = found
            elif sent[index] <= MAX_RESENDS:
                todo.append(index)  # not created: sending it again cannot double it
    return [outcomes[i] for i in range(len(writes))]


def with_marker(body: dict[str, Any], marker: str) -> dict[str, Any]:
    """``body`` with the client marker set (a single-value extended property,
    https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties)."""
    props = [p for p in body.get("singleValueExtendedProperties") or []
             if str(p.get("id", "")).lower() != MARKER_PROPERTY.lower()]
    return {**body, "singleValueExtendedProperties": [
        *props, {"id": MARKER_PROPERTY, "value": marker}]}


def _look_up(client: GraphClient, create: GraphRequest, marker: str) -> WriteOutcome | None:
    """The outcome of a create whose answer was lost, from a look-up by its marker: done (the
    item found), None (not created), or still unknown (the look-up failed)."""
    condition = (f"singleValueExtendedProperties/any(ep: ep/id eq '{MARKER_PROPERTY}' and "
                 f"ep/value eq '{marker}')")
    lookup = GraphRequest("GET", create.path, params=(("$filter", condition),))
    try:
        found = client.send(lookup)
    except Error as exc:
        return WriteOutcome(status=exc.status or 0, error=exc, unknown=True)
    items = found.get("value") if isinstance(found, dict) else None
    if not isinstance(items, list):
        return WriteOutcome(unknown=True)
    client.stats.add(resolved=1)
    if not items:
        return None
    return WriteOutcome(status=201, body=items[0])


def _send_set(client: GraphClient, writes: Sequence[tuple[int, GraphRequest]]
              ) -> dict[int, WriteOutcome]:
    """One round: every write sent (one alone, more in batches), each one's outcome by index."""
    if len(writes) == 1:
        index, request = writes[0]
        return {index: _send_one(client, request)}
    outcomes: dict[int, WriteOutcome] = {}
    queue = [_Pending(i, w, client.retry.start(client.timeout)) for i, w in writes]
    independent = _independent([w for _, w in writes])
    while queue:
        now = time.monotonic()
        ready = [p for p in queue if p.due <= now]
        if not ready:
            time.sleep(max(0.0, min(p.due for p in queue) - now))
            continue
        units = _units(client, ready) if independent else [_Unit(ready[:MAX_CHAIN], True)]
        if not units:  # every mailbox's slots are held by other requests: wait for one
            client.mailbox_slots.wait_for_change(0.05)
            continue
        for unit in units:
            for p in unit.items:
                queue.remove(p)
        for pending, outcome in _send_units(client, units):
            if outcome is None:
                queue.append(pending)  # not done: sent again (after its due time)
            else:
                outcomes[pending.index] = outcome
    return outcomes


def _independent(writes: Sequence[GraphRequest]) -> bool:
    """True when no two writes address the same item and none addresses a part of another's
    item (``PATCH /me/messages/1`` and ``POST /me/messages/1/attachments``): then their order
    does not matter and they may run at once."""
    items = [w.path.lower().rstrip("/") for w in writes if w.method.upper() != "POST"]
    if len(set(items)) != len(items):
        return False
    owned = set(items)
    for write in writes:
        path = write.path.lower().rstrip("/")
        parts = path.split("/")
        if any("/".join(parts[:n]) in owned for n in range(1, len(parts))):
            return False
        if write.method.upper() == "POST" and path in owned:
            return False
    return True


@dataclass
class _Unit:
    """One ``$batch`` body of a round: a ``dependsOn`` chain, or unordered items."""

    items: list[_Pending]
    chain: bool
    slots: list[str | None] = field(default_factory=list)  # mailbox slots it holds


def _units(client: GraphClient, ready: list[_Pending]) -> list[_Unit]:
    """The bodies of one round of independent writes, each with its mailbox slots taken:
    chains for mailboxes with more than 4 ready writes, unordered bodies for the rest; at most
    ``max_concurrency`` bodies. Writes left out wait for a later round."""
    by_mailbox: dict[str | None, list[_Pending]] = {}
    for pending in ready:
        by_mailbox.setdefault(mailbox_key(pending.request.path), []).append(pending)
    units: list[_Unit] = []
    slots = client.mailbox_slots
    loose: list[tuple[str | None, _Pending]] = []
    for mailbox, items in by_mailbox.items():
        if mailbox is not None and len(items) <= MAILBOX_CONCURRENCY:
            loose += [(mailbox, p) for p in items]
            continue
        for start in range(0, len(items), MAX_CHAIN):  # a chain runs one request at a time
            if len(units) < client.max_concurrency and slots.try_take(mailbox):
                units.append(_Unit(items[start:start + MAX_CHAIN], True, [mailbox]))
    body: _Unit | None = None
    for mailbox, pending in loose:
        if body is None or len(body.items) == MAX_CHAIN:
            if len(units) == client.max_concurrency:
                break
            body = _Unit([], False)
            units.append(body)
        if slots.try_take(mailbox):
            body.items.append(pending)
            body.slots.append(mailbox)
    return [u for u in units if u.items]


def _send_units(client: GraphClient, units: list[_Unit]
                ) -> list[tuple[_Pending, WriteOutcome | None]]:
    """Send a round's bodies at once; every body is answered (or failed) before this returns,
    and each gives back its mailbox slots when it is."""

    def send(unit: _Unit) -> list[tuple[_Pending, WriteOutcome | None]]:
        try:
            return _send_chain(client, unit.items, ordered=unit.chain)
        finally:
            for mailbox in unit.slots:
                client.mailbox_slots.give(mailbox)

    if len(units) == 1:
        return send(units[0])
    futures = [client.workers().submit(send, unit) for unit in units]
    client.stats.note_in_flight(len(futures))
    wait(futures)
    return [result for future in futures for result in future.result()]


def _send_one(client: GraphClient, request: GraphRequest) -> WriteOutcome:
    method = request.method.upper()
    line = request.line()
    try:
        response = client._call(method, client.url_for(request), headers=dict(request.headers),
                                body=request.body, idempotent=method in _REPEATABLE,
                                mailbox=mailbox_key(request.path))
    except Error as exc:
        if method == "DELETE" and is_missing_item(exc.status, exc.code):
            return WriteOutcome(status=404)
        if method == "PATCH" and is_missing_item(exc.status, exc.code):
            return WriteOutcome(status=exc.status or 404, missing=True)
        if method == "POST" and _maybe_done(exc):
            return WriteOutcome(status=exc.status or 0, error=exc, unknown=True)
        return WriteOutcome(status=exc.status or 0, error=exc)
    return WriteOutcome(status=response.status_code, body=client._decode(response, line))


def _maybe_done(exc: Error) -> bool:
    """True when a failed POST may still have been carried out: no answer after it was sent
    (a dropped connection, a timeout), or a 5xx that does not mean "not done" (429 and 503 do:
    https://learn.microsoft.com/graph/errors). A failed sign-in sent nothing."""
    if isinstance(exc, AuthenticationError):
        return False
    status = exc.status
    if not status:
        return isinstance(exc, OperationalError)
    return status >= 500 and status != 503


def _send_chain(client: GraphClient, chain: list[_Pending], ordered: bool = True
                ) -> list[tuple[_Pending, WriteOutcome | None]]:
    """POST one body: a ``dependsOn`` chain (``ordered``), or unordered independent items."""
    body = {"requests": [_inner(n, p, ordered) for n, p in enumerate(chain)]}
    client.stats.add(batches=1, batch_items=len(chain))
    for pending in chain:
        pending.state.begin()
    try:
        # Not repeated as a whole: the writes in it may have been carried out.
        response = client._call("POST", client.base_url + "/$batch", body=body, idempotent=False)
        payload = client._decode(response, "POST /$batch")
    except Error as exc:
        if not _maybe_done(exc):
            raise
        return [(p, _lost(p, exc)) for p in chain]
    except requests.RequestException as exc:  # pragma: no cover - _call maps these
        raise OperationalError(f"POST /$batch failed: {exc}") from None
    answers = payload.get("responses") if isinstance(payload, dict) else None
    if not isinstance(answers, list):
        raise OperationalError("Graph answered POST /$batch without a 'responses' list")
    by_id = {str(a.get("id")): a for a in answers if isinstance(a, dict)}
    results = []
    for n, pending in enumerate(chain):
        answer = by_id.get(str(n + 1))
        if answer is None:
            results.append((pending, _lost(pending, None)))
            continue
        results.append((pending, _outcome(client, pending, answer)))
    return results


def _inner(n: int, pending: _Pending, ordered: bool) -> dict[str, Any]:
    request = pending.request
    path = request.path if request.path.startswith("/") else "/" + request.path
    query = request.query_string()
    item: dict[str, Any] = {"id": str(n + 1), "method": request.method.upper(),
                            "url": path + (f"?{query}" if query else "")}
    headers = dict(request.headers)
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json")
        item["body"] = request.body
    if headers:
        item["headers"] = headers
    if ordered and n > 0:
        item["dependsOn"] = [str(n)]
    return item


def _lost(pending: _Pending, exc: Error | None) -> WriteOutcome | None:
    """The answer to ``pending`` never came: repeat a PATCH/DELETE, report a POST as unknown."""
    reason = exc.message if exc is not None else "no answer for it in the $batch response"
    pending.lost.append(reason)
    if pending.request.method.upper() in _REPEATABLE and len(pending.lost) <= 3:
        return None
    error = exc or OperationalError(f"{pending.line()}: {reason}")
    return WriteOutcome(status=getattr(exc, "status", 0) or 0, error=error, unknown=True)


def _outcome(client: GraphClient, pending: _Pending, answer: dict[str, Any]
             ) -> WriteOutcome | None:
    status = int(answer.get("status") or 0)
    inner_body = answer.get("body")
    headers = answer.get("headers")
    if 200 <= status < 300:
        return WriteOutcome(status=status, body=inner_body)
    if status == 424:
        return None  # not run: an earlier item of the chain failed
    info = error_info(status, inner_body, headers if isinstance(headers, dict) else None)
    method = pending.request.method.upper()
    if method == "DELETE" and is_missing_item(status, info.code):
        return WriteOutcome(status=status)
    if method == "PATCH" and is_missing_item(status, info.code):
        return WriteOutcome(status=status, missing=True)
    if status in RETRY_STATUSES and (status != 504 or method in _REPEATABLE):
        client.stats.add(throttled=1)
        delay = pending.state.next_delay(info.reason(), parse_retry_after(info.retry_after))
        if delay is not None:
            client.stats.add(retries=1, wait_seconds=delay)
            pending.due = time.monotonic() + delay
            return None
    error = error_for(info, pending.line(), retries=pending.state.summary()
                      if pending.state.attempts else None)
    return WriteOutcome(status=status, error=error,
                        unknown=method == "POST" and status >= 500 and status != 503)
