"""JSON batching: ``POST /$batch`` (emulator service stage).

Per graph-semantics §6 (json-batching.md): at most 20 requests, unique case-insensitive ids,
URLs relative to the version, ``headers`` with Content-Type when there is a body, ``dependsOn``
ordering with 424 Failed Dependency for dependents of a failed request, outer 200 whenever the
batch parsed, each inner response with its own ``id``/``status``/``headers``/``body``. Inner
requests are checked and authorised one by one like top-level ones and pass Outlook's
per-mailbox limits (``req.limits``): a throttled one is answered 429 with its own Retry-After.
Without ``dependsOn`` up to four inner requests run at once (as Graph dispatches them to
Outlook); with it, one at a time. Injected faults (``req.faults``) apply to each inner request.

Hands on: the batch response to ``graph.service``.
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..errors import GraphError
from ..odata.body import check_batch_request
from ..server.wire import EmuRequest, EmuResponse, EncodedResponse, path_segments

if TYPE_CHECKING:
    from .context import Ctx

MAX_REQUESTS = 20
# Graph "dispatches up to four individual requests from a batch to the Outlook service
# simultaneously, irrespective of the target mailboxes" (Microsoft Q&A 1660054, 2024; graph-
# semantics §6: "at most 4 at a time"); the emulator runs every batch's inner requests that way.
PARALLEL = 4
OUTLOOK_AREAS = {"messages", "mailfolders", "sendmail", "events", "calendar", "calendars", "calendarview",
                 "contacts", "contactfolders"}


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _validate(requests: Any) -> list[dict[str, Any]]:
    if not isinstance(requests, list) or not requests:
        raise _bad("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        # The limit and the 400 are documented (json-batching.md); the wording is the emulator's.
        raise _bad(f"The batch request contains {len(requests)} requests; the limit is {MAX_REQUESTS}.")
    seen: set[str] = set()
    checked = [check_batch_request(r) for r in requests]  # the envelope's types (odata.body)
    for r in checked:
        if not r.get("id") or not r.get("method") or not r.get("url"):
            raise _bad("Invalid batch payload format: every request needs id, method and url.")
        key = r["id"].lower()
        if key in seen:
            raise _bad(f"Batch request contains a duplicate request id '{r['id']}'.")
        seen.add(key)
        if r.get("body") is not None:
            headers = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
            if "content-type" not in headers:
                raise _bad(f"Request '{r['id']}': a Content-Type header is required when a body is present.")
    for r in checked:
        for dep in r.get("dependsOn") or []:
            if str(dep).lower() not in seen:
                raise _bad(f"Request '{r['id']}' depends on unknown request '{dep}'.")
    return checked


def handle(ctx: Ctx) -> EmuResponse:
    if ctx.method != "POST":
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    requests = _validate(ctx.json_body().get("requests"))
    # "Batch should be either fully sequential or fully parallel": with dependsOn anywhere the
    # requests run one at a time in dependency order, otherwise up to PARALLEL at once.
    sequential = any(r.get("dependsOn") for r in requests)
    workers = 1 if sequential else min(PARALLEL, len(requests))
    pending = list(requests)
    status_of: dict[str, int] = {}
    answers: dict[str, dict[str, Any]] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="emu-batch") if workers > 1 else None
    try:
        while pending:
            ready = [r for r in pending if all(str(d).lower() in status_of for d in r.get("dependsOn") or [])]
            if not ready:  # a dependency cycle: nothing can run
                raise _bad("The dependsOn references of the batch form a cycle.")
            runnable = []
            for r in ready:
                pending.remove(r)
                deps = [str(d).lower() for d in r.get("dependsOn") or []]
                if any(status_of[d] >= 400 for d in deps):
                    answers[r["id"].lower()] = {
                        "id": r["id"], "status": 424, "headers": {"Content-Type": "application/json"},
                        "body": {"error": {"code": "FailedDependency",
                                           "message": "The request failed because it depends on a request that failed."}}}
                else:
                    runnable.append(r)
            results = pool.map(lambda r: _run(ctx, r), runnable) if pool is not None and len(runnable) > 1 \
                else (_run(ctx, r) for r in runnable)
            for r, answer in zip(runnable, results, strict=True):
                answers[r["id"].lower()] = answer
            for r in ready:
                status_of[r["id"].lower()] = answers[r["id"].lower()]["status"]
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    # Graph does not promise an order ("correlate by id"); the request order is kept here.
    return _encoded([answers[r["id"].lower()] for r in requests])


class _Spliced:
    """An inner answer's body that is JSON text already (a listing built from cached item
    texts, ``EncodedResponse``): written into the batch answer as it is, not decoded into
    objects only to be encoded again (that was most of a fan-out batch's cost)."""

    def __init__(self, encoded: bytes) -> None:
        self.encoded = encoded


def _encoded(answers: list[dict[str, Any]]) -> BatchAnswer:
    """The batch answer ``{"responses": [...]}`` as JSON bytes, each item encoded as the
    server encodes a body (compact, non-ASCII kept), spliced bodies written as they are."""
    parts = []
    for answer in answers:
        body = answer.get("body")
        if isinstance(body, _Spliced):
            head = json.dumps({k: v for k, v in answer.items() if k != "body"},
                              separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            parts.append(head[:-1] + b',"body":' + body.encoded + b"}")
        else:
            parts.append(json.dumps(answer, separators=(",", ":"),
                                    ensure_ascii=False).encode("utf-8"))
    return BatchAnswer(b'{"responses":[' + b",".join(parts) + b"]}",
                       {str(a["id"]): a["status"] for a in answers})


class BatchAnswer(EncodedResponse):
    """The encoded batch answer, with each inner request's status by id (what the request
    log records, read without decoding the whole answer)."""

    def __init__(self, encoded: bytes, statuses: dict[str, int]) -> None:
        super().__init__(200, encoded)
        self.statuses = statuses


def _mailbox_of(ctx: Ctx, path: str) -> str | None:
    segs = [s for s in path.split("/") if s]
    if len(segs) >= 2 and segs[0].lower() == "me" and segs[1].lower() in OUTLOOK_AREAS:
        return ctx.req.principal.user_id
    if len(segs) >= 3 and segs[0].lower() == "users" and segs[2].lower() in OUTLOOK_AREAS:
        user = ctx.service.tenant.user(segs[1])
        return user["id"] if user else segs[1]
    return None


def _run(ctx: Ctx, r: dict[str, Any]) -> dict[str, Any]:
    outer = ctx.req
    url = r["url"]
    request_id = f"{outer.request_id}-{r['id']}"
    if url.lower().startswith(("http://", "https://")) or url.lower().lstrip("/").startswith("$batch"):
        error = _bad("Invalid request URL: batch URLs must be relative and must not nest $batch.")
        return _error(r, error, request_id)
    raw_path, _, query = url.partition("?")
    try:
        segments = path_segments(raw_path)
        path = "/" + unquote(raw_path, errors="strict").lstrip("/")
    except UnicodeDecodeError:
        return _error(r, _bad("Invalid request URL: the path is not valid percent-encoded UTF-8."),
                      request_id)
    headers = {k.lower(): str(v) for k, v in (r.get("headers") or {}).items()}
    body = r.get("body")
    if body is None:
        raw = b""
    elif isinstance(body, (dict, list)):
        raw = json.dumps(body).encode("utf-8")
    elif "json" not in headers.get("content-type", "").lower():
        try:
            raw = base64.b64decode(str(body), validate=True)  # binary bodies travel base64-encoded
        except ValueError:
            raw = str(body).encode("utf-8")
    else:
        raw = str(body).encode("utf-8")
    inner = EmuRequest(r["method"].upper(), path, query, headers, raw, outer.principal, request_id, outer.limits,
                       outer.faults, segments)
    mailbox = _mailbox_of(ctx, path)
    limits = outer.limits
    entered = False
    if limits is not None and mailbox is not None:
        refusal = limits.admit(mailbox)
        entered = refusal is None
        if refusal is not None:
            return _error(r, refusal, request_id)
    try:
        if outer.faults is not None:  # injected latency/failures hit inner requests one by one
            outer.faults.before(inner.method, path)
        response = ctx.service.handle(inner)
    except GraphError as error:
        return _error(r, error, request_id)
    finally:
        if entered and limits is not None and mailbox is not None:
            limits.leave(mailbox)
    out_headers = dict(response.headers)
    out: dict[str, Any] = {"id": r["id"], "status": response.status}
    body_out: Any = _Spliced(response.encoded) if isinstance(response, EncodedResponse) \
        else response.body
    if body_out is not None:
        out_headers.setdefault("Content-Type", response.content_type)
        if isinstance(body_out, bytes):
            body_out = base64.b64encode(body_out).decode("ascii")
    out["headers"] = out_headers
    out["body"] = body_out
    return out


def _error(r: dict[str, Any], error: GraphError, request_id: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **error.headers}
    return {"id": r["id"], "status": error.status, "headers": headers,
            "body": error.body(request_id, request_id)}
