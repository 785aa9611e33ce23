"""Graph error responses → PEP 249 exceptions, for the Graph client (``client.py``, ``batch.py``).

Graph's error body is ``{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}`` (https://learn.microsoft.com/graph/errors); some Exchange errors come
without ``innerError`` and some gateways answer with HTML or nothing. The exception carries
``code``, ``status``, ``request_id``, ``date`` as attributes and in its message, plus the
request line. Nothing here ever puts a token in a message: ``redact`` is applied to all text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qsl

from o365sql.exceptions import (
    AuthenticationError,
    Error,
    IntegrityError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PermissionDeniedError,
    ProgrammingError,
    ThrottledError,
)

__all__ = [
    "GraphErrorInfo",
    "connection_error",
    "deadline_hint",
    "error_for",
    "error_info",
    "is_missing_item",
    "permission_hint",
    "redact",
    "rejected_options",
    "timeout_error",
]

# The patterns below are text, compiled by ``re``'s own cache when an error is mapped or
# redacted: compiling them all on import cost every process's first query ~2 ms for answers
# that are rare.

# 400 codes meaning "the OData o365sql generated is not something Graph accepts here": the
# planner or the schema promised Graph a capability it does not have, which is a bug in
# o365sql (InternalError), not in the user's SQL. Codes from graph-semantics §8.3:
# https://learn.microsoft.com/graph/api/user-list-messages (InefficientFilter),
# https://learn.microsoft.com/graph/aad-advanced-queries (Request_UnsupportedQuery ...).
_GENERATED_QUERY_CODES = frozenset(
    {
        "inefficientfilter",
        "errorinvalidurlqueryfilter",
        "errorinvalidurlquery",
        "searchwithfilter",
        "searchwithorderby",
        "requestbroker--parseuri",
        "request_unsupportedquery",
    }
)
# Generic "BadRequest"-style codes are the generated query's fault only when the message is
# about a query option; otherwise (a malformed id from the user's WHERE) it is ProgrammingError.
_QUERY_OPTION_WORDS = (
    r"(?i)\$(filter|orderby|select|expand|search|skip|top|count)|filter clause"
    r"|orderby not supported|parsing odata|query option"
)

# Which query options a rejection is about, when Graph's code says so (graph-semantics §8.3):
# messages' InefficientFilter is $orderby not leading $filter; SearchWith* are $search
# combined with the other option (https://learn.microsoft.com/graph/search-query-parameter).
_CODE_OPTIONS = {
    "inefficientfilter": frozenset({"$filter", "$orderby"}),
    "errorinvalidurlqueryfilter": frozenset({"$filter"}),
    "searchwithfilter": frozenset({"$search", "$filter"}),
    "searchwithorderby": frozenset({"$search", "$orderby"}),
}
_OPTION_IN_MESSAGE = r"(?i)\$(filter|orderby|select|expand|search|skip|top|count)\b"
_MESSAGE_OPTIONS = (
    (r"(?i)filter (clause|property|expression)|query filter", "$filter"),
    (r"(?i)sorting not supported|orderby not supported|sort order", "$orderby"),
)
# "Could not find a property named 'x' ..." / "... clause specified for property 'x' ...": the
# option whose value names the property is the one refused.
_PROPERTY_IN_MESSAGE = r"(?i)propert(?:y|ies) (?:named )?'([^']+)'"
_SEARCH_DOC = "https://learn.microsoft.com/graph/search-query-parameter"

_JWT = r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
_BEARER = r"(?i)\bbearer\s+[^\s\"',;]+"
_TOKEN_PARAM = (
    r"(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion|password"
    r"|device_code)([\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]+"
)
# An authorization code only in URL/form syntax: "error code: 80049217" stays readable.
_CODE_PARAM = r"(?i)([?&]code=)[^\s&#]+"


def redact(text: str) -> str:
    """Remove anything that looks like a bearer token, JWT or credential parameter from ``text``.

    Example:
        >>> redact('Authorization: Bearer abc.def refresh_token=xyz "client_secret": "s3"')
        'Authorization: Bearer [redacted] refresh_token=[redacted] "client_secret": "[redacted]"'
    """
    text = re.sub(_BEARER, "Bearer [redacted]", text)
    text = re.sub(_JWT, "[redacted]", text)
    text = re.sub(_CODE_PARAM, lambda m: f"{m.group(1)}[redacted]", text)
    return re.sub(_TOKEN_PARAM, lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)


class GraphErrorInfo:
    """The facts of one error response, read from its JSON body and headers."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        request_id: str | None,
        date: str | None,
        retry_after: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.date = date
        self.retry_after = retry_after

    def reason(self) -> str:
        """Short form for retry summaries: ``"429 ApplicationThrottled"``."""
        return f"{self.status} {self.code}" if self.code else str(self.status)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return str(value)
    return None


def error_info(status: int, body: Any, headers: Mapping[str, str] | None = None) -> GraphErrorInfo:
    """Read Graph's error facts from a response body (bytes, text or parsed JSON) and headers."""
    payload: Any = body
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError:
            payload = None
    code: str | None = None
    message = ""
    inner: dict[str, Any] = {}
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        code = str(err.get("code") or "") or None
        message = str(err.get("message") or "")
        found = err.get("innerError") or err.get("innererror") or {}
        inner = found if isinstance(found, dict) else {}
    elif isinstance(payload, dict) and "error" in payload:
        # identity-platform style {"error": "invalid_grant", "error_description": "..."}
        code = str(payload.get("error"))
        message = str(payload.get("error_description") or "")
    elif isinstance(body, str) and body.strip():
        # HTML or plain text from a gateway: keep a short, whitespace-collapsed excerpt
        text = re.sub(r"<[^>]+>", " ", body)
        message = " ".join(text.split())[:200]
    request_id = inner.get("request-id") or _header(headers, "request-id")
    date = inner.get("date") or _header(headers, "date")
    return GraphErrorInfo(
        status,
        code,
        message,
        str(request_id) if request_id else None,
        str(date) if date else None,
        _header(headers, "retry-after"),
    )


# Graph permissions a request path needs, for a hint when Graph's 403 does not name them
# (https://learn.microsoft.com/graph/permissions-reference). Checked in order.
_PERMISSIONS: tuple[tuple[str, str], ...] = (
    (r"(?i)/(messages|mailfolders)\b", "Mail.Read (or Mail.ReadWrite)"),
    (r"(?i)/(events|calendars?|calendarview|calendargroups)\b", "Calendars.Read"),
    (r"(?i)/(contacts|contactfolders)\b", "Contacts.Read"),
    (r"(?i)/groups\b", "Group.Read.All"),
    (r"(?i)/users\b|/me\b", "User.Read.All (or User.ReadBasic.All)"),
)
# The same for writes (POST, PATCH, DELETE): sending mail needs Mail.Send, the rest the
# ReadWrite form of the area's permission (permissions-reference; message-send.md,
# user-sendmail.md, message-reply.md, message-forward.md list Mail.Send).
_WRITE_PERMISSIONS: tuple[tuple[str, str], ...] = (
    (r"(?i)/(events|calendars?|calendarview|calendargroups)\b", "Calendars.ReadWrite"),
    (r"(?i)/(sendmail|send|reply|replyall|forward)(\?|$| )", "Mail.Send"),
    (r"(?i)/(messages|mailfolders)\b", "Mail.ReadWrite"),
    (r"(?i)/(contacts|contactfolders)\b", "Contacts.ReadWrite"),
)
_NAMED_PERMISSION = (
    r"(?i)(?:requires one of|missing (?:scope|role)s?(?: permissions)?[^:']*)[:\s]*'?"
    r"([A-Za-z.,\s]+)'?"
)


def permission_hint(message: str, path: str) -> str | None:
    """The permission a 403 is about: the one Graph names, else the usual one for the path."""
    named = re.search(_NAMED_PERMISSION, message)
    if named and "." in named.group(1):
        return named.group(1).strip(" ,")
    method, _, target = path.partition(" ")
    if method.upper() in ("POST", "PATCH", "PUT", "DELETE"):
        for pattern, permission in _WRITE_PERMISSIONS:
            if re.search(pattern, target.removesuffix(" (in $batch)")):
                return permission
    for pattern, permission in _PERMISSIONS:
        if re.search(pattern, path):
            return permission
    return None


def request_options(request_line: str) -> dict[str, str]:
    """The query options of a request line (``GET /me/messages?$top=5``, percent-encoded or not,
    ``" (in $batch)"`` allowed), decoded; a ``/$count`` path segment counts as option ``/$count``.

    Example:
        >>> request_options("GET /me/messages/$count?$filter=isRead%20eq%20true (in $batch)")
        {'/$count': '', '$filter': 'isRead eq true'}
    """
    target = request_line.split(" ", 1)[-1].removesuffix(" (in $batch)")
    path, _, query = target.partition("?")
    options = {"/$count": ""} if path.rstrip("/").endswith("/$count") else {}
    options.update((k, v) for k, v in parse_qsl(query, keep_blank_values=True))
    return options


def rejected_options(code: str | None, message: str,
                     options: Mapping[str, str]) -> set[str] | None:
    """The query options of ``options`` a rejection is about, or None when Graph did not say.

    Read from the code (``InefficientFilter`` is ``$filter`` with ``$orderby``), the options the
    message names (``'$filter' is not supported with '$search'``, "Invalid filter clause"), and
    a property the message names (``Could not find a property named 'x'``: the options whose
    value holds ``x``).
    """
    found = set(_CODE_OPTIONS.get((code or "").lower(), ()))
    found |= {"$" + name.lower() for name in re.findall(_OPTION_IN_MESSAGE, message)}
    found |= {option for pattern, option in _MESSAGE_OPTIONS if re.search(pattern, message)}
    for name in re.findall(_PROPERTY_IN_MESSAGE, message):
        word = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])", re.IGNORECASE)
        found |= {k for k, v in options.items() if k.startswith("$") and word.search(v)}
    found &= set(options)
    return found or None


def _query_rejection_hint(info: GraphErrorInfo, request_line: str,
                          pushed_down: Collection[str]) -> str:
    """Advice for a rejected generated query: Pushdown=false only where it really avoids it.

    ``Pushdown=false`` leaves out exactly the options the caller marked as pushed down
    (``GraphRequest.pushed_down``: ``$filter``, ``$orderby``, a LIMIT's ``$top`` ...); the
    rest (``$select``, the search terms' ``$search``, the page size's ``$top``) it sends too.
    """
    options = request_options(request_line)
    refused = rejected_options(info.code, info.message, options)
    pushed = [o for o in options if o in set(pushed_down)]
    if refused is not None:
        avoidable = [o for o in pushed if o in refused]
        if avoidable:
            names = ", ".join(avoidable)
            return (f"o365sql pushed down its {names}, which Graph refused here (an o365sql "
                    f"bug): Pushdown=false does not send {'it' if len(avoidable) == 1 else 'them'}"
                    " and avoids the error")
    elif pushed:
        return (f"Graph did not say which option it refused; Pushdown=false does not send its "
                f"{', '.join(pushed)} (pushed down by o365sql) and may avoid the error")
    suspects = refused if refused is not None else set()
    prop = re.search(_PROPERTY_IN_MESSAGE, info.message)
    if "$search" in suspects:
        return ("Pushdown=false sends the same $search (it carries the statement's search "
                f"terms): change the search terms ({_SEARCH_DOC})")
    if "$select" in suspects:
        named = f" (it selects {prop.group(1)!r})" if prop else ""
        return (f"Pushdown=false sends the same $select{named}: read fewer columns, leaving "
                "out the one Graph does not know, and report it")
    if "$top" in suspects:
        return "Pushdown=false sends the same $top: set a smaller Pagesize"
    return ("Pushdown=false sends the same request and would fail the same way: report it "
            "with the request above (an o365sql bug)")


def error_for(
    info: GraphErrorInfo,
    request_line: str,
    *,
    retries: str | None = None,
    hint: str | None = None,
    pushed_down: Collection[str] = (),
) -> Error:
    """The PEP 249 exception for one failed Graph call.

    ``request_line`` is ``"GET /me/messages?..."`` (no host, no headers); ``retries`` is the
    retry summary when the call was retried; ``hint`` replaces the default advice;
    ``pushed_down`` names the request's query options the caller added only to narrow the
    answer (``GraphRequest.pushed_down``). 400 is ``ProgrammingError`` unless Graph rejects the
    query options o365sql generated (then ``InternalError``, see ``_GENERATED_QUERY_CODES``,
    advising ``Pushdown=false`` only when that leaves out the refused option).
    """
    status, code = info.status, info.code
    graph_text = f"{code}: {info.message}" if code else (info.message or "no error body")
    where = request_line if len(request_line) <= 400 else request_line[:400] + "..."
    cls: type[Error]
    prefix = "Graph"
    chosen_hint = ""
    if status == 400:
        lowered = (code or "").lower()
        if lowered in _GENERATED_QUERY_CODES or (
            lowered in ("badrequest", "request_badrequest", "")
            and re.search(_QUERY_OPTION_WORDS, info.message or "")
        ):
            cls = InternalError
            prefix = "Graph rejected the query o365sql generated"
            chosen_hint = "; " + _query_rejection_hint(info, request_line, pushed_down)
        else:
            cls = ProgrammingError
    elif status == 401:
        cls = AuthenticationError
        chosen_hint = "; sign in again or check the token's audience and tenant"
    elif status == 403:
        cls = PermissionDeniedError
        needed = permission_hint(info.message, request_line)
        if needed:
            chosen_hint = (
                f"; the token likely lacks the {needed} permission "
                "(delegated scope or application role)"
            )
    elif status in (405, 501):
        cls = NotSupportedError
    elif status in (409, 412):
        cls = IntegrityError
    elif status in (429, 503, 504):
        cls = ThrottledError
    elif 400 <= status < 500:
        cls = ProgrammingError
    else:
        cls = OperationalError
    if hint is not None:
        chosen_hint = f"; {hint}"
    text = f"{prefix}: {where} failed: {graph_text}{chosen_hint}"
    if retries:
        text += f"; {retries}"
    # The facts in the form Error.__str__ uses, so they are in .message and not repeated.
    facts = [f"HTTP {status}"] + ([f"code {code}"] if code else [])
    if info.request_id:
        facts.append(f"request-id {info.request_id}")
    text += " (" + ", ".join(facts) + ")"
    extra: dict[str, Any] = {}
    if status == 403:
        extra["permission"] = permission_hint(info.message, request_line)
    return cls(
        redact(text),
        code=code,
        status=status,
        request_id=info.request_id,
        date=info.date,
        **extra,
    )


def connection_error(
    exc: BaseException, request_line: str, *, retries: str | None = None
) -> OperationalError:
    """``OperationalError`` for a network failure: refused, reset, dropped mid-body, timeout, TLS."""
    kind = type(exc).__name__
    detail = redact(str(exc))[:300]
    text = f"could not reach Graph for {request_line}: {kind}: {detail}"
    if "CERTIFICATE_VERIFY_FAILED" in detail or kind == "SSLError":
        text += "; if Graph is reached through a private CA, set SSLServerCert to its PEM file"
    if retries:
        text += f" ({retries})"
    return OperationalError(redact(text))


def timeout_error(
    request_line: str, timeout: float, *, retries: str | None = None, cause: BaseException | None = None
) -> OperationalError:
    """``OperationalError`` for a call that ran out of its ``Timeout`` (retries included)."""
    text = (f"Graph call {request_line} timed out after {timeout:g} s (the Timeout connection "
            "property bounds each call, retries included)")
    if cause is not None:
        text += f"; last failure: {type(cause).__name__}"
    if retries:
        text += f"; {retries}"
    return OperationalError(redact(text))


def deadline_hint(state: Any, info: GraphErrorInfo) -> str:
    """Advice for a throttled call given up because its next wait would pass the Timeout."""
    how = "Retry-After" if info.retry_after is not None else "backoff"
    return (f"waiting {state.last_delay:g} s more ({how}) would pass the Timeout of "
            f"{state.timeout:g} s, so the call was not retried; raise Timeout (seconds) to wait")


# Answers meaning "no such item" for a lookup by key, which ``fan_out(missing_ok=True)`` turns
# into an empty page: 404 ErrorItemNotFound (Outlook items,
# https://learn.microsoft.com/graph/api/message-get), Request_ResourceNotFound (directory
# objects, https://learn.microsoft.com/graph/api/user-get), and 400 ErrorInvalidIdMalformed,
# Exchange's answer to an id that cannot be one (graph-semantics §8.3). A missing mailbox
# (404 ErrorInvalidUser) is not among them: it stays an error.
_MISSING_CODES = {
    404: frozenset({"erroritemnotfound", "itemnotfound", "request_resourcenotfound",
                    "resourcenotfound"}),
    400: frozenset({"errorinvalididmalformed"}),
}


def is_missing_item(status: int | None, code: str | None) -> bool:
    """True when Graph answered a lookup with "no such item" (see ``_MISSING_CODES``).

    Example:
        >>> is_missing_item(404, "ErrorItemNotFound"), is_missing_item(404, "ErrorInvalidUser")
        (True, False)
    """
    return status in _MISSING_CODES and (code or "").lower() in _MISSING_CODES[status]
