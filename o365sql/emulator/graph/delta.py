"""Delta queries: ``.../mailFolders/{id}/messages/delta``, ``.../calendarView/delta`` and
``.../contactFolders/{id}/contacts/delta`` (emulator service stage).

Per graph-semantics §7 (delta-query-overview.md, delta-query-messages.md, delta-query-events.md,
message-delta.md, event-delta.md, contact-delta.md): a round starts with a plain request and
pages on with ``@odata.nextLink`` (``$skiptoken``) until a last page carries
``@odata.deltaLink`` (``$deltatoken``); calling that link later answers what changed since:
new and changed items in full, deleted ones as ``{"@odata.type", "id", "@removed":
{"reason": "deleted"}}``. Query options belong to the first request only and live on in the
tokens. ``Prefer: odata.maxpagesize`` bounds the pages (§5: documented for delta, honoured
through the delta resources' rules, ``honor_maxpagesize``). Messages accept only the
``$filter`` ``receivedDateTime ge|gt <value>`` (else the observed ErrorInvalidUrlQuery) and no
``$search``; event delta takes no ``$select`` (all properties are returned, §7).

Tokens are opaque keys into a bounded store of the rounds in progress and of the snapshots
(id → changeKey) a deltaLink compares against; an unknown or evicted token is answered with
``syncStateNotFound`` (errors.md, §7; status inferred).

Hands on: ``EmuResponse`` to the calendar, contact and mail routes.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import GraphError
from ..odata.options import QueryOptions, parse_maxpagesize
from ..odata.paging import page_size
from ..odata.rules import ResourceRules
from ..odata.select import Shaper, parse_select
from ..server.wire import EmuResponse
from .context import Ctx, note_applied, present

if TYPE_CHECKING:
    from ..tenant.mail_store import MailFolder
    from ..tenant.tenant import Mailbox

_TOKENS = 512
_MESSAGE_FILTER = re.compile(r"^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$", re.IGNORECASE)


@dataclass
class _Round:
    """Changes being paged out, and the snapshot the round's deltaLink will compare with."""

    scope: str
    params: dict[str, str]
    changes: list[dict[str, Any]]
    snapshot: dict[str, str]


@dataclass(frozen=True)
class _Cursor:
    """Where a nextLink resumes (a new token per page, so re-reading a link is idempotent)."""

    round: _Round
    offset: int


@dataclass
class _Sync:
    scope: str
    params: dict[str, str]
    snapshot: dict[str, str] = field(default_factory=dict)


class DeltaStore:
    """The tokens of one Graph service: rounds in progress and sync states (LRU-bounded)."""

    def __init__(self, capacity: int = _TOKENS) -> None:
        self._items: OrderedDict[str, _Cursor | _Sync] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def put(self, value: _Cursor | _Sync) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._items[token] = value
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return token

    def get(self, token: str) -> _Cursor | _Sync | None:
        with self._lock:
            value = self._items.get(token)
            if value is not None:
                self._items.move_to_end(token)
            return value


def _sync_lost() -> GraphError:
    return GraphError(410, "syncStateNotFound",
                      "The sync state generation is not found. Start a new round without a token.")


def message_filter(params: Mapping[str, str]) -> Callable[[dict[str, Any]], bool] | None:
    """§7: message delta filters only on ``receivedDateTime ge|gt``; no $search, and $orderby
    only ``receivedDateTime desc`` (observed texts, docs-contrib#1771)."""
    if params.get("$search") is not None:
        raise GraphError(400, "ErrorInvalidUrlQuery",
                         "The query parameter '$search' is not supported with delta queries.")
    order = params.get("$orderby")
    if order is not None and re.sub(r"\s+", " ", order.strip()).lower() != "receiveddatetime desc":
        raise GraphError(400, "ErrorInvalidUrlQuery",
                         "The '$orderby' parameter value is not supported for 'Messages' resource; "
                         "only a value of 'receivedDateTime desc' is supported.")
    text = params.get("$filter")
    if text is None:
        return None
    m = _MESSAGE_FILTER.match(text)
    bound = None
    if m:
        try:
            bound = datetime.fromisoformat(m.group(2))
        except ValueError:
            bound = None
    if m is None or bound is None or bound.tzinfo is None:
        raise GraphError(400, "ErrorInvalidUrlQuery",
                         "The '$filter' parameter value is not supported for 'Messages' resource; "
                         "only a value of 'receivedDateTime ge value' is supported.")
    strict = m.group(1).lower() == "gt"

    def keep(item: dict[str, Any]) -> bool:
        received = datetime.fromisoformat(str(item["receivedDateTime"]))
        return received > bound if strict else received >= bound
    return keep


def _params(ctx: Ctx) -> dict[str, str]:
    """The query parameters by lower-case name, system options with their ``$``."""
    return {k: v for k, v in ctx.params().items()}


def serve(ctx: Ctx, scope: str, rules: ResourceRules, type_name: str,
          current: Callable[[dict[str, str]], Sequence[dict[str, Any]]], *,
          selectable: bool = True, tz: bool = False, body: bool = False) -> EmuResponse:
    """One delta request on ``scope`` (the collection's path); ``current(params)`` lists the
    collection now, for the options of the round's first request."""
    store: DeltaStore = ctx.service.delta
    params = _params(ctx)
    skiptoken, deltatoken = params.get("$skiptoken"), params.get("$deltatoken")
    if skiptoken is not None:
        cursor = store.get(skiptoken)
        if not isinstance(cursor, _Cursor) or cursor.round.scope != scope:
            raise _sync_lost()
        round_, offset = cursor.round, cursor.offset
    else:
        if deltatoken is not None:
            sync = store.get(deltatoken)
            if not isinstance(sync, _Sync) or sync.scope != scope:
                raise _sync_lost()
            first = sync.params
        else:
            first = {k: v for k, v in params.items() if k not in ("$skiptoken", "$deltatoken")}
            sync = _Sync(scope, first)
        items = list(current(first))
        snapshot = {str(item["id"]): str(item.get("changeKey", "")) for item in items}
        changed = [item for item in items if sync.snapshot.get(str(item["id"])) != snapshot[str(item["id"])]]
        removed = [{"@odata.type": f"#microsoft.graph.{rules.entity}", "id": ident,
                    "@removed": {"reason": "deleted"}}
                   for ident in sync.snapshot if ident not in snapshot]
        round_ = _Round(scope, first, _shaped(changed, rules, type_name, first, selectable) + removed,
                        snapshot)
        offset = 0
    # The page size: Prefer: odata.maxpagesize where the rules honour it (§5), else the default.
    maxpagesize = parse_maxpagesize(ctx.req.headers.get("prefer")) if rules.honor_maxpagesize else None
    size = page_size(rules, QueryOptions({"$top": round_.params["$top"]} if "$top" in round_.params
                                         else {}), maxpagesize)
    page = round_.changes[offset: offset + size]
    offset += len(page)
    base = ctx.self_url()
    out: dict[str, Any] = {"@odata.context": f"{ctx.base}/$metadata#Collection({rules.entity})"}
    if offset < len(round_.changes):
        out["@odata.nextLink"] = f"{base}?$skiptoken={store.put(_Cursor(round_, offset))}"
    else:
        sync_token = store.put(_Sync(scope, round_.params, round_.snapshot))
        out["@odata.deltaLink"] = f"{base}?$deltatoken={sync_token}"
    # Prefer: outlook.timezone / outlook.body-content-type apply per request (§5, §7).
    out["value"] = [present(ctx, item) if (tz or body) and "@removed" not in item else item
                    for item in page]
    note_applied(ctx, timezone=tz, body=body)
    if maxpagesize is not None:
        ctx.applied.append(f"odata.maxpagesize={maxpagesize}")
    return ctx.respond(200, out)


def _shaped(items: Sequence[dict[str, Any]], rules: ResourceRules, type_name: str,
            params: Mapping[str, str], selectable: bool) -> list[dict[str, Any]]:
    """Each item with ``@odata.type`` first (delta-query-messages.md samples) and ``$select``
    applied where the resource takes it (id always comes back)."""
    selected = parse_select(params.get("$select"), rules, collection=True) if selectable else None
    shaper = Shaper(rules, selected, collection=True)
    out = []
    for item in items:
        shaped = shaper.shape(item)
        kind = shaped.pop("@odata.type", None) or item.get("@odata.type") or f"#microsoft.graph.{type_name}"
        out.append({"@odata.type": kind, **shaped})
    return out


def message_delta(ctx: Ctx, mb: Mailbox, folder: MailFolder) -> EmuResponse:
    """GET .../mailFolders/{id}/messages/delta (§7, message-delta.md)."""
    from ..odata.rules import MESSAGES_DELTA
    from ..tenant.mail_json import message_json

    message_filter(ctx.params())  # checked on the first request of a round (§7)

    def current(params: dict[str, str]) -> list[dict[str, Any]]:
        keep = message_filter(params)
        items = [message_json(mb, r) for r in mb.mail.in_folder(folder.serial)]
        return [m for m in items if keep is None or keep(m)]
    scope = f"{mb.user_id}/mailFolders/{folder.serial}/messages"
    return serve(ctx, scope, MESSAGES_DELTA, "message", current, body=True)
