"""Per-request plumbing shared by the Graph routes (emulator service stage).

``Ctx`` carries the authenticated request, the parsed ``Prefer`` header and the service; the
helpers render collections and entities through the OData engine (``odata.query``, owned by the
query-engine helper), apply ``Prefer: outlook.timezone`` / ``outlook.body-content-type`` to the
page that is sent (graph-semantics §5), parse JSON bodies and build ``@odata.context`` values.

Hands on: ``EmuResponse`` values to ``graph.service``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from ..errors import GraphError
from ..server.wire import EmuRequest, EmuResponse, EncodedResponse
from ..tenant import timezones
from ..tenant.mail_json import html_to_text, text_to_html

if TYPE_CHECKING:
    from ..odata.rules import ResourceRules
    from ..tenant.tenant import Mailbox
    from .service import GraphService

_PREFER_ITEM = re.compile(r'\s*([A-Za-z0-9_.\-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,;]*))?')


def parse_prefer(header: str) -> dict[str, str]:
    """``Prefer`` preferences by lower-case name (values unquoted)."""
    out: dict[str, str] = {}
    for part in header.split(","):
        m = _PREFER_ITEM.match(part)
        if not m or not m.group(1):
            continue
        value = (m.group(2) or "").strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[m.group(1).lower()] = value
    return out


@dataclass
class Ctx:
    req: EmuRequest
    service: GraphService
    prefer: dict[str, str] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    # Work to run after the mailbox lock is released (deliveries into other mailboxes).
    after: list[Callable[[], None]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.service.base_url

    @property
    def method(self) -> str:
        return self.req.method.upper()

    def params(self) -> dict[str, str]:
        """Query parameters by lower-case name (last one wins), decoded."""
        return {k.lower(): v for k, v in parse_qsl(self.req.query, keep_blank_values=True)}

    def timezone(self) -> str | None:
        tz = self.prefer.get("outlook.timezone")
        if not tz:
            return None
        try:
            timezones.zone(tz)
        except timezones.UnknownTimeZone:
            return None  # an unknown zone is not applied (no Preference-Applied)
        return tz

    def body_type(self) -> str | None:
        kind = self.prefer.get("outlook.body-content-type", "").lower()
        return kind if kind in ("text", "html") else None

    def self_url(self) -> str:
        # Segment by segment, so a value holding "/" or "%" stays one segment in nextLinks.
        return self.base + "".join("/" + quote(s, safe="@'()$:=,;!*+-._~")
                                   for s in self.req.route_segments())

    def json_body(self) -> dict[str, Any]:
        if not self.req.body:
            return {}
        try:
            value = json.loads(self.req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                             "Content-Type header is set and payload is of valid JSON format.") from exc
        if not isinstance(value, dict):
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                             "Content-Type header is set and payload is of valid JSON format.")
        return value

    def entity_body(self, entity: str) -> dict[str, Any]:
        """The JSON body of a create/update of ``entity``, checked against its EDM types
        (``odata.body``): a wrongly typed value is Graph's 400, never a route's exception."""
        from ..odata.body import check_entity

        return check_entity(self.json_body(), entity)

    def action_body(self, action: str) -> dict[str, Any]:
        """The JSON parameters of a bound action (``forward``, ``accept``...), checked likewise."""
        from ..odata.body import check_action

        return check_action(self.json_body(), action)

    def respond(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> EmuResponse:
        out = dict(headers or {})
        if self.applied:
            out["Preference-Applied"] = ",".join(self.applied)
        if body is None:
            return EmuResponse(status, None, out)
        return EmuResponse(status, body, out)


def user_ref(ctx: Ctx, mb: Mailbox, given: str | None) -> str:
    """The ``users('...')`` part of an @odata.context: the object id for /me, else what the
    request named, percent-encoded as Graph prints it (call-api.md: users('john.doe%40contoso...'))."""
    if given is None:
        return mb.user_id
    return quote(given, safe="")


# Prefer handling ---------------------------------------------------------------------------------
_TZ_KEYS = ("start", "end", "startDateTime", "endDateTime")


def _convert_dtz(value: Any, tz: str) -> Any:
    if isinstance(value, dict) and "dateTime" in value:
        try:
            local = timezones.parse_local(value["dateTime"])
            utc = timezones.to_utc(local, value.get("timeZone") or "UTC")
        except (ValueError, timezones.UnknownTimeZone):
            return value
        return timezones.dtz(utc, tz)
    return value


def present(ctx: Ctx, item: dict[str, Any], *, tz_default: str | None = None) -> dict[str, Any]:
    """An item as sent: Prefer time zone and body type applied (on a copy)."""
    tz = ctx.timezone() or tz_default
    kind = ctx.body_type()
    out = item
    if tz:
        touched = [k for k in _TZ_KEYS if isinstance(item.get(k), dict) and "dateTime" in item[k]]
        if touched and not item.get("isAllDay"):
            out = dict(out)
            for k in touched:
                out[k] = _convert_dtz(item[k], tz)
        elif touched:  # all-day: the same floating date, labelled with the asked zone
            out = dict(out)
            for k in touched:
                out[k] = {"dateTime": item[k]["dateTime"], "timeZone": tz}
    if kind:
        for key in ("body", "uniqueBody"):
            body = out.get(key)
            if isinstance(body, dict) and body.get("contentType") and body["contentType"] != kind:
                if out is item:
                    out = dict(out)
                content = body.get("content") or ""
                out[key] = {"contentType": kind,
                            "content": html_to_text(content) if kind == "text" else text_to_html(content)}
    return out


def note_applied(ctx: Ctx, *, timezone: bool = False, body: bool = False) -> None:
    if timezone and ctx.timezone() and not any(a.startswith("outlook.timezone") for a in ctx.applied):
        ctx.applied.append(f'outlook.timezone="{ctx.timezone()}"')
    if body and ctx.body_type() and not any(a.startswith("outlook.body-content-type") for a in ctx.applied):
        ctx.applied.append(f'outlook.body-content-type="{ctx.body_type()}"')


# Rendering through the OData engine ------------------------------------------------------------
def collection(ctx: Ctx, items: Sequence[dict[str, Any]], rules: ResourceRules, context: str,
               *, tz: bool = False, body: bool = False, cache_key: Any = None) -> EmuResponse:
    """A collection page; ``cache_key`` (changes with the data) lets the engine reuse its
    filtered, ordered list while a client follows nextLinks."""
    from ..odata import query as odata_query
    from ..tenant.record_view import RecordItems

    if isinstance(items, RecordItems) and (not tz or ctx.timezone() is None) and \
            (not body or ctx.body_type() is None):
        # Nothing to apply per item: the page is sent as the encoded items the engine keeps.
        encoded, headers = odata_query.apply_query_encoded(
            items, rules, ctx.req.query, ctx.req.headers, ctx.self_url(), context,
            cache_key=cache_key)
        for name, value in headers.items():
            if name.lower() == "preference-applied":
                ctx.applied.append(value)
        out = {"Preference-Applied": ",".join(ctx.applied)} if ctx.applied else {}
        return EncodedResponse(200, encoded, out)
    result, headers = odata_query.apply_query_with_headers(
        items, rules, ctx.req.query, ctx.req.headers, ctx.self_url(), context, cache_key=cache_key)
    for name, value in headers.items():
        if name.lower() == "preference-applied":
            ctx.applied.append(value)
    if tz or body:
        result["value"] = [present(ctx, v) for v in result.get("value", [])]
        note_applied(ctx, timezone=tz, body=body)
    return ctx.respond(200, result)


def count(ctx: Ctx, items: Sequence[dict[str, Any]], rules: ResourceRules, *,
          cache_key: Any = None) -> EmuResponse:
    """A ``/$count`` answer; ``cache_key`` as for ``collection`` (the number is kept)."""
    from ..odata import query as odata_query

    n = odata_query.count_only(items, rules, ctx.req.query, ctx.req.headers, cache_key=cache_key)
    return EmuResponse(200, str(n), content_type="text/plain")


def entity(ctx: Ctx, item: dict[str, Any], rules: ResourceRules, context: str, *, status: int = 200,
           tz: bool = False, body: bool = False, tz_default: str | None = None,
           select: bool = True) -> EmuResponse:
    """A single entity: ``$select`` applied (GET only), context first, Prefer applied.

    ``context`` is the collection's context; ``/$entity`` (with any ``$select`` echoed) is added.
    """
    from ..odata import query as odata_query

    if select:
        shown = odata_query.select_entity(item, rules, ctx.req.query)
        ctx_url = odata_query.entity_context(context + "/$entity", rules, ctx.req.query)
    else:
        shown, ctx_url = dict(item), context + "/$entity"
    if tz or body:
        shown = present(ctx, shown, tz_default=tz_default)
        note_applied(ctx, timezone=tz, body=body)
    out = {"@odata.context": ctx_url}
    out.update({k: v for k, v in shown.items() if k != "@odata.context"})
    return ctx.respond(status, out)
