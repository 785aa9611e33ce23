"""Where each request goes: Graph (``/v1.0``), the identity platform, or test control
(``/_emulator``); and what happens on the way: token check, mailbox limits, faults, logging.

Stage: between the wire (``server.py``) and the services. For Graph it turns the bearer token
into a ``wire.Principal`` (``identity/tokens.py``), applies Outlook's per-mailbox limits
(``server/limits.py``) and injected faults (``server/faults.py``), then calls the Graph service with a
``wire.EmuRequest`` and encodes its ``wire.EmuResponse`` or ``errors.GraphError`` the way Graph
does (JSON error body, ``request-id``/``client-request-id`` headers,
https://learn.microsoft.com/graph/errors). Every answered request is recorded in the
``server.requestlog``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from .errors import GraphError
from .graph.batch import BatchAnswer
from .graph.uploads import UPLOAD_PREFIX
from .identity.aadsts import OAuthError
from .identity.routes import IdentityService
from .identity.tokens import INVALID, TokenIssuer, unauthorized
from .server.faults import Decision, FaultInjector
from .server.limits import MailboxThrottle, format_retry_after, mailbox_of, too_many_requests
from .server.requestlog import LogEntry, RequestLog
from .server.transport import HttpRequest, HttpResponse, Outcome, html_response, json_response
from .server.wire import EmuRequest, EmuResponse, EncodedResponse, path_segments

log = logging.getLogger("o365sql.emulator")

GRAPH_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_GRAPH_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
_JSON_METHODS = frozenset({"POST", "PATCH", "PUT"})


class GraphHandler(Protocol):
    def handle(self, req: EmuRequest) -> EmuResponse: ...

    def upload(self, method: str, token: str, headers: dict[str, str],
               body: bytes) -> EmuResponse: ...


class Router:
    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        identity: IdentityService,
        graph: Callable[[], GraphHandler],
        throttle: MailboxThrottle,
        faults: FaultInjector,
        requestlog: RequestLog,
        control: Callable[[HttpRequest], HttpResponse],
        base_url: str,
    ) -> None:
        self.issuer = issuer
        self.identity = identity
        self._graph_factory = graph
        self.throttle = throttle
        self.faults = faults
        self.log = requestlog
        self.control = control
        self.base_url = base_url
        self.max_body = 32 * 1024 * 1024

    @property
    def graph(self) -> GraphHandler:
        # Asked each time (a cheap attribute read) so the Emulator can swap its Graph service.
        return self._graph_factory()

    # -- entry points ------------------------------------------------------------------------

    def serve(self, req: HttpRequest, raw_path: str, started: float) -> Outcome:
        path = req.path
        if path == "/_emulator" or path.startswith("/_emulator/"):
            return self._plain(self._safe_control(req))
        decision = self.faults.pick(req.method, path)
        entry = LogEntry(time=time.time(), method=req.method, path=path, query=req.query,
                         status=0, duration_ms=0.0, kind="other", raw_path=raw_path)
        try:
            if path.startswith(UPLOAD_PREFIX):
                entry.kind = "graph"
                outcome = self._upload(req, path[len(UPLOAD_PREFIX):], decision, entry)
            elif path == "/v1.0" or path.startswith("/v1.0/"):
                entry.kind = "batch" if path.rstrip("/") == "/v1.0/$batch" else "graph"
                segments = path_segments(raw_path)
                outcome = self._graph_request(req, path[len("/v1.0"):] or "/", decision, entry,
                                              segments[1:] if segments[:1] == ("v1.0",)
                                              else segments)
            else:
                outcome = self._other(req, decision, entry)
        except Exception:  # the last line of defence: never a traceback on the wire
            log.exception("emulator failed on %s %s", req.method, path)
            entry.error = "generalException"
            outcome = self._graph_error(GraphError(500, "generalException",
                                                   "General exception while processing"),
                                        str(uuid.uuid4()), None)
        if decision.drop:
            outcome.drop = True
            entry.fault = "drop"
        if decision.trickle:
            outcome.trickle = decision.trickle
            entry.fault = entry.fault or "trickle"
        entry.status = outcome.status
        entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        self.log.record(entry)
        return outcome

    def bad_url(self, method: str, raw_path: str, query: str, started: float) -> Outcome:
        """A request target that is not a valid, percent-encoded UTF-8 path."""
        request_id = str(uuid.uuid4())
        outcome = self._graph_error(
            GraphError(400, "BadRequest", "The request URI is not valid. Check the "
                       "percent-encoding of the path."), request_id, None)
        self.log.record(LogEntry(time=time.time(), method=method, path=raw_path, query=query,
                                 status=400, duration_ms=round((time.perf_counter() - started) * 1000, 3),
                                 kind="other", request_id=request_id, error="BadRequest"))
        return outcome

    def protocol_error(self, status: int, message: str, method: str, target: str,
                       started: float) -> Outcome:
        """An answer the wire gives before a request could be parsed or read (bad request
        line, 414 long URL, 431 big headers, 413, bad Content-Length, malformed chunked body):
        Graph-shaped JSON, logged and counted like every other answer."""
        request_id = str(uuid.uuid4())
        code = "BadRequest" if status < 500 else "generalException"
        outcome = self._graph_error(GraphError(status, code, message), request_id, None)
        raw_path, _, query = target.partition("?")
        self.log.record(LogEntry(time=time.time(), method=method, path=raw_path[:2048],
                                 query=query[:2048], status=status,
                                 duration_ms=round((time.perf_counter() - started) * 1000, 3),
                                 kind="other", request_id=request_id, error=code,
                                 extra={"protocol": True}))
        return outcome

    # -- Graph -------------------------------------------------------------------------------

    def _graph_request(self, req: HttpRequest, sub_path: str, decision: Decision,
                       entry: LogEntry, segments: tuple[str, ...]) -> Outcome:
        request_id = str(uuid.uuid4())
        client_request_id = req.headers.get("client-request-id")
        entry.request_id = request_id
        try:
            if req.method not in _GRAPH_METHODS:
                raise GraphError(405, "Request_BadRequest",
                                 "Specified HTTP method is not allowed for the request target.")
            principal = self.issuer.principal(req.headers.get("authorization"))
            entry.client_id = principal.client_id
            mailbox, outlook = mailbox_of(sub_path, principal.user_id)
            if mailbox is not None:
                entry.mailbox = self.throttle.key(mailbox)
            if req.method in _JSON_METHODS and req.body.strip() and "json" in req.headers.get(
                    "content-type", "application/json").lower():
                try:
                    json.loads(req.body)
                except ValueError:
                    raise GraphError(400, "BadRequest", "Unable to read JSON request payload. "
                                     "Please ensure Content-Type header is set and payload is of "
                                     "valid JSON format.") from None
            entered = False
            if outlook and mailbox is not None:
                refusal = self.throttle.admit(principal.client_id, mailbox)
                if refusal is not None:
                    raise refusal
                entered = True
            try:
                fault = self._apply_fault(decision, entry, graph=True)
                if fault is not None:
                    raise fault
                emu_req = EmuRequest(
                    method=req.method, path=sub_path, query=req.query, headers=req.headers,
                    body=req.body, principal=principal, request_id=request_id,
                    limits=self.throttle.for_client(principal.client_id),
                    faults=_InnerFaults(self.faults), segments=segments,
                )
                response = self.graph.handle(emu_req)
                if decision.empty:
                    response = self._emptied(response, req, sub_path, entry)
            finally:
                if entered:
                    self.throttle.leave(principal.client_id, mailbox or "")
        except GraphError as err:
            entry.error = err.code
            return self._graph_error(err, request_id, client_request_id)
        if entry.kind == "batch":
            entry.inner = _batch_inner(req.body, response)
        return self._graph_response(response, request_id, client_request_id)

    def _emptied(self, response: EmuResponse, req: HttpRequest, sub_path: str,
                 entry: LogEntry) -> EmuResponse:
        """The ``empty`` fault: a collection page without its entities and with a nextLink to
        the same page (Graph may send a page of zero results that still has a nextLink;
        concepts/paging.md). Anything but a 200 collection answer is left as it is."""
        body = response.body if response.status == 200 and req.method == "GET" else None
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            return response
        page = {k: v for k, v in body.items() if k not in ("value", "@odata.nextLink")}
        query = f"?{req.query}" if req.query else ""
        page["@odata.nextLink"] = f"{req.base_url}{entry.raw_path or '/v1.0' + sub_path}{query}"
        page["value"] = []
        entry.fault = "empty"
        return EmuResponse(200, page, {k: v for k, v in response.headers.items()
                                       if k.lower() != "content-length"})

    def _upload(self, req: HttpRequest, token: str, decision: Decision,
                entry: LogEntry) -> Outcome:
        """A slice PUT (or DELETE) to a large-attachment upload URL (``graph.uploads``): no
        bearer token, the URL is the credential."""
        request_id = str(uuid.uuid4())
        entry.request_id = request_id
        try:
            fault = self._apply_fault(decision, entry, graph=True)
            if fault is not None:
                raise fault
            response = self.graph.upload(req.method, token, req.headers, req.body)
        except GraphError as err:
            entry.error = err.code
            return self._graph_error(err, request_id, req.headers.get("client-request-id"))
        return self._graph_response(response, request_id, req.headers.get("client-request-id"))

    def _graph_response(self, response: EmuResponse, request_id: str,
                        client_request_id: str | None) -> Outcome:
        body = None if isinstance(response, EncodedResponse) else response.body
        if isinstance(response, EncodedResponse):
            data = response.encoded  # sent as encoded: never decoded just to be sent
        elif body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"request-id": request_id, "client-request-id": client_request_id or request_id,
                   "Cache-Control": "no-cache"}
        headers.update(response.headers)
        return Outcome(response.status, data, response.content_type, headers)

    def _graph_error(self, err: GraphError, request_id: str,
                     client_request_id: str | None) -> Outcome:
        body = json.dumps(err.body(request_id, client_request_id), separators=(",", ":")).encode()
        headers = {"request-id": request_id, "client-request-id": client_request_id or request_id,
                   "Cache-Control": "no-cache"}
        headers.update(err.headers)
        return Outcome(err.status, body, "application/json", headers)

    def _apply_fault(self, decision: Decision, entry: LogEntry, graph: bool) -> GraphError | None:
        if not decision.active:
            return None
        if decision.delay:
            entry.fault = "latency"
            time.sleep(decision.delay)
        if decision.holds:
            entry.fault = "hold"
            self.faults.wait_at_holds(decision)
        if decision.status is None:
            return None
        entry.fault = "status"
        return _fault_error(decision.status, decision.retry_after)

    # -- identity and the rest ----------------------------------------------------------------

    def _other(self, req: HttpRequest, decision: Decision, entry: LogEntry) -> Outcome:
        if self.identity.handles(req.path):
            entry.kind = "identity"
            fault = self._apply_fault(decision, entry, graph=False)
            if fault is not None:
                resp = json_response(fault.status, {
                    "error": "temporarily_unavailable",
                    "error_description": f"The service is temporarily unavailable ({fault.status}, injected).",
                }, fault.headers)
                entry.error = "temporarily_unavailable"
                return self._plain(resp)
            note: dict[str, Any] = {}
            resp = self.identity.handle(req, note)
            entry.client_id = note.get("client_id")
            entry.grant_type = note.get("grant_type")
            entry.error = note.get("error")
            entry.extra = {k: v for k, v in note.items()
                           if k not in ("client_id", "grant_type", "error")}
            return self._plain(resp)
        request_id = str(uuid.uuid4())
        entry.request_id = request_id
        if req.path == "/":
            return self._plain(html_response(200, _LANDING))
        version = req.path.lstrip("/").split("/", 1)[0]
        entry.error = "BadRequest"
        return self._graph_error(GraphError(400, "BadRequest", f"Invalid version: {version}"),
                                 request_id, req.headers.get("client-request-id"))

    def _safe_control(self, req: HttpRequest) -> HttpResponse:
        try:
            return self.control(req)
        except (KeyError, ValueError, TypeError) as err:
            return json_response(400, {"error": {"code": "BadRequest", "message": str(err)}})
        except OAuthError as err:  # e.g. POST /_emulator/token for an unknown client_id
            return json_response(err.status, err.body())
        except Exception:
            log.exception("emulator control endpoint failed on %s", req.path)
            return json_response(500, {"error": {"code": "generalException",
                                                 "message": "General exception while processing"}})

    @staticmethod
    def _plain(resp: HttpResponse) -> Outcome:
        return Outcome(resp.status, resp.body, resp.content_type, dict(resp.headers))


# Bodies of injected failures, as Graph sends each status (graph-semantics.md §8.1-8.3):
# 401 is the token failure of §8.3 (with its WWW-Authenticate challenge, built by
# tokens.unauthorized), 429 the throttling.md sample (§8.1, limits.too_many_requests), 500 and
# 503 the generic codes of errors.md (§8.3, last paragraph: generalException,
# serviceNotAvailable), 504 the UnknownError observed with a 504 (§3.1, docs#4988).
_FAULT_TEXTS = {
    500: ("generalException", "General exception while processing"),
    502: ("BadGateway", "The server received an invalid response from an upstream server."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry after some time."),
    504: ("UnknownError", ""),
}

_LANDING = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>o365sql emulator</title></head>"
    "<body><h1>o365sql emulator</h1><p>Microsoft Graph v1.0 at <code>/v1.0</code>, the "
    "identity platform at <code>/{tenant}/oauth2/v2.0/...</code>, device sign-in at "
    "<a href=\"/devicelogin\">/devicelogin</a>, test control at <code>/_emulator/</code>.</p>"
    "</body></html>"
)


def _fault_error(status: int, retry_after: float | None) -> GraphError:
    if status == 401:
        return unauthorized(INVALID)
    if status == 429:
        return too_many_requests(retry_after)
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = format_retry_after(retry_after)
    code, message = _FAULT_TEXTS.get(status, ("generalException", "General exception while processing"))
    return GraphError(status, code, message, headers=headers)


class _InnerFaults:
    """``wire.InnerFaults`` over the injector: the rules that hit top-level requests hit the
    requests inside a ``$batch`` too, matched on ``/v1.0`` + the inner path (Graph evaluates
    inner requests individually, graph-semantics §6)."""

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector

    def before(self, method: str, path: str) -> None:
        decision = self._injector.pick(method, "/v1.0" + path, connection=False)
        if not decision.active:
            return
        if decision.delay:
            time.sleep(decision.delay)
        if decision.holds:
            self._injector.wait_at_holds(decision)
        if decision.status is not None:
            raise _fault_error(decision.status, decision.retry_after)


def _batch_inner(request_body: bytes, response: EmuResponse) -> list[dict[str, Any]]:
    """Inner requests of a ``$batch`` with their statuses, for the request log."""
    try:
        sent = json.loads(request_body).get("requests", [])
    except (ValueError, AttributeError):
        return []
    statuses = response.statuses if isinstance(response, BatchAnswer) else {}
    out = []
    for item in sent if isinstance(sent, list) else []:
        if isinstance(item, dict):
            out.append({"id": item.get("id"), "method": item.get("method"),
                        "url": item.get("url"), "status": statuses.get(str(item.get("id")))})
    return out
