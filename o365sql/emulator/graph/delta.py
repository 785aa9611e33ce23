"""Delta queries (emulator service stage): ``mailFolders/{id}/messages/delta``,
``mailFolders/delta``, ``contactFolders/{id}/contacts/delta`` (and ``contacts/delta``),
``contactFolders/delta``, ``calendarView/delta``, ``users/delta`` and ``groups/delta``.

Per graph-semantics §7 (delta-query-overview.md, delta-query-messages.md, delta-query-events.md,
message-delta.md, mailfolder-delta.md, event-delta.md, contact-delta.md, user-delta.md,
group-delta.md): a round starts with a plain request and pages on with ``@odata.nextLink``
(``$skiptoken``) until a last page carries ``@odata.deltaLink`` (``$deltatoken``); calling that
link later answers what changed since: new and changed items in full, removed ones as
``{"@odata.type", "id", "@removed": {"reason": ...}}`` ("deleted" for Outlook items, which
Graph reports for deletes and for items moved out of the tracked folder; "changed" for
directory objects, which a DELETE only soft-deletes, delta-query-overview.md "Resource
representation in the delta query response"). Query options belong to the first request only
and live on in the tokens. ``Prefer: odata.maxpagesize`` bounds the pages (§5). Restrictions
(§7): messages take only the ``$filter`` ``receivedDateTime ge|gt <value>`` and the
``$orderby`` ``receivedDateTime desc``; no other resource takes ``$filter`` or ``$orderby``;
none takes ``$search``; calendarView delta takes no ``$select``. ``groups/delta`` with
``members`` in ``$select`` adds ``members@delta``: the members added since the last round,
and the removed ones with ``@removed`` (group-delta.md).

Exactness: every tracked item has a version (its ``changeKey`` for Outlook items, which the
stores bump on every change; a fingerprint of its JSON for folders and directory objects,
whose item counts and properties change without a change key). A deltaLink keeps the versions
of the round it ends; the next round compares the collection now with them, so every insert,
update, move and delete in between is reported exactly once, whatever the order of writes.
Items are built page by page; message rounds compare (serial, change) pairs held in one dict
(``Listing``), build ids only for what they report, and a round with nothing changed keeps the
state it started from, so an empty refresh of a 200,000-message folder costs a dict comparison.

Tokens are opaque keys into a bounded store of the rounds in progress and of the sync states
a deltaLink compares against; an unknown or evicted token (or one dropped by the test control
``forget``) is answered with 410 ``syncStateNotFound`` (errors.md, §7 and delta-limits §5.1:
"An expired token answers HTTP 410: restart with a full sync").

Hands on: ``EmuResponse`` to the calendar, contact, directory and mail routes.
"""

from __future__ import annotations

import hashlib
import json
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

_TOKENS = 4096
_MESSAGE_FILTER = re.compile(r"^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$", re.IGNORECASE)

Members = Mapping[str, str]  # member id -> its @odata.type


@dataclass(frozen=True)
class Entry:
    """One item of a tracked collection now: its id, version, how to build its JSON (None when
    it has gone since), and for groups its members."""

    id: str
    version: str
    build: Callable[[], Mapping[str, Any] | None]
    members: Members | None = None


@dataclass(frozen=True)
class Listing:
    """A large collection now, by key (a message's serial, not its id text): each key's
    version, how to build the item of one key (called page by page) and the id of a removed
    one. Nothing is built for unchanged keys, so a folder of 200,000 messages costs one dict of
    ints per round, and a round with nothing changed keeps the state it started from."""

    versions: dict[Any, Any]
    build: Callable[[Any], Callable[[], Mapping[str, Any] | None]]
    removed_id: Callable[[Any], str]


@dataclass
class _State:
    """What a deltaLink compares with: per id (or ``Listing`` key), the version (and members)
    it last reported. Never changed once a round made it (rounds may share one)."""

    versions: dict[Any, Any] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class _Round:
    """Changes being paged out, and the state the round's deltaLink will compare with."""

    scope: str
    params: dict[str, str]
    changes: list[Callable[[], dict[str, Any] | None]]
    state: _State


@dataclass(frozen=True)
class _Cursor:
    """Where a nextLink resumes (a new token per page, so re-reading a link is idempotent)."""

    round: _Round
    offset: int


@dataclass
class _Sync:
    scope: str
    params: dict[str, str]
    state: _State = field(default_factory=_State)


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

    def forget(self, scope_part: str = "") -> int:
        """Drop the tokens whose scope contains ``scope_part`` (all by default), as Exchange
        drops old delta tokens from its bounded cache (delta-limits §5.1); returns how many."""
        with self._lock:
            doomed = [t for t, v in self._items.items()
                      if scope_part in (v.round.scope if isinstance(v, _Cursor) else v.scope)]
            for token in doomed:
                del self._items[token]
        return len(doomed)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _sync_lost() -> GraphError:
    return GraphError(410, "syncStateNotFound",
                      "The sync state generation is not found. Start a new round without a token.")


def fingerprint(item: Mapping[str, Any]) -> str:
    """A version for items without a change key: a digest of their JSON."""
    text = json.dumps(item, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def json_entries(items: Sequence[Mapping[str, Any]], *, use_change_key: bool = True) -> list[Entry]:
    """Entries of items already built: versioned by changeKey where they carry one."""
    out = []
    for item in items:
        version = str(item.get("changeKey") or "") if use_change_key else ""
        out.append(Entry(str(item["id"]), version or fingerprint(item), _const(item)))
    return out


def _const(item: Mapping[str, Any]) -> Callable[[], Mapping[str, Any]]:
    return lambda: item


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


def plain_options(params: Mapping[str, str], label: str, *, directory: bool = False) -> None:
    """§7: delta on folders, contacts, events and directory objects takes no ``$filter``,
    ``$orderby`` or ``$search`` (user-delta.md allows only ``$filter=id eq`` lists, which the
    emulator does not serve; it refuses them like the rest)."""
    for option in ("$filter", "$orderby", "$search"):
        if params.get(option) is not None:
            if directory:
                raise GraphError(400, "Request_UnsupportedQuery",
                                 f"Unsupported query option '{option}' with delta for '{label}'.")
            raise GraphError(400, "ErrorInvalidUrlQuery",
                             f"The query parameter '{option}' is not supported with delta queries "
                             f"on '{label}'.")


def serve(ctx: Ctx, scope: str, rules: ResourceRules, type_name: str,
          current: Callable[[dict[str, str]], Sequence[Entry] | Listing], *,
          selectable: bool = True, tz: bool = False, body: bool = False,
          reason: str = "deleted") -> EmuResponse:
    """One delta request on ``scope`` (the collection's path); ``current(params)`` lists the
    collection now (as :class:`Entry`), for the options of the round's first request."""
    store: DeltaStore = ctx.service.delta
    params = dict(ctx.params())
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
        round_ = _new_round(scope, first, sync.state, current(first), rules, type_name,
                            selectable, reason)
        offset = 0
    # The page size: Prefer: odata.maxpagesize where the rules honour it (§5), else the default.
    # Delta pages "hold 10 messages unless the request prefers more" (delta-limits §5.1,
    # observed): the preference may raise the page too, up to the resource's largest page.
    maxpagesize = parse_maxpagesize(ctx.req.headers.get("prefer")) if rules.honor_maxpagesize else None
    size = page_size(rules, QueryOptions({"$top": round_.params["$top"]} if "$top" in round_.params
                                         else {}), maxpagesize)
    if maxpagesize is not None and "$top" not in round_.params:
        size = max(1, min(maxpagesize, rules.max_top))
    built: list[dict[str, Any]] = []
    while offset < len(round_.changes) and len(built) < size:
        item = round_.changes[offset]()
        offset += 1
        if item is not None:
            built.append(item)
    base = ctx.self_url()
    out: dict[str, Any] = {"@odata.context": f"{ctx.base}/$metadata#Collection({rules.entity})"}
    if offset < len(round_.changes):
        out["@odata.nextLink"] = f"{base}?$skiptoken={store.put(_Cursor(round_, offset))}"
    else:
        sync_token = store.put(_Sync(scope, round_.params, round_.state))
        out["@odata.deltaLink"] = f"{base}?$deltatoken={sync_token}"
    # Prefer: outlook.timezone / outlook.body-content-type apply per request (§5, §7).
    out["value"] = [present(ctx, item) if (tz or body) and "@removed" not in item else item
                    for item in built]
    note_applied(ctx, timezone=tz, body=body)
    if maxpagesize is not None:
        ctx.applied.append(f"odata.maxpagesize={maxpagesize}")
    return ctx.respond(200, out)


def _new_round(scope: str, first: dict[str, str], before: _State,
               entries: Sequence[Entry] | Listing, rules: ResourceRules, type_name: str,
               selectable: bool, reason: str) -> _Round:
    """Compare the collection now with the state a deltaLink kept: the changed items (built
    lazily, page by page) then the removed ones."""
    if isinstance(entries, Listing):
        return _listing_round(scope, first, before, entries, rules, type_name, selectable,
                              reason)
    select_text = first.get("$select")
    want_members = False
    if select_text is not None and type_name == "group":
        names = [n.strip() for n in select_text.split(",") if n.strip()]
        want_members = any(n.lower() == "members" for n in names)
        select_text = ",".join(n for n in names if n.lower() != "members") or None
    selected = parse_select(select_text, rules, collection=True) if selectable else None
    shaper = Shaper(rules, selected, collection=True)
    state = _State()
    changes: list[Callable[[], dict[str, Any] | None]] = []
    for entry in entries:
        state.versions[entry.id] = entry.version
        members_delta: list[dict[str, Any]] = []
        if want_members and entry.members is not None:
            now = dict(entry.members)
            state.members[entry.id] = now
            old = before.members.get(entry.id, {})
            members_delta = [{"@odata.type": kind, "id": ident} for ident, kind in now.items()
                             if ident not in old]
            members_delta += [{"@odata.type": kind, "id": ident, "@removed": {"reason": "deleted"}}
                              for ident, kind in old.items() if ident not in now]
        if before.versions.get(entry.id) != entry.version or members_delta:
            changes.append(_shaped(entry.build, shaper, type_name,
                                   members_delta if want_members else None))
    entity_type = f"#microsoft.graph.{type_name}"
    for ident in before.versions:
        if ident not in state.versions:
            removed = {"@odata.type": entity_type, "id": ident, "@removed": {"reason": reason}}
            changes.append(_const_dict(removed))
    return _Round(scope, first, changes, state)


def _listing_round(scope: str, first: dict[str, str], before: _State, listing: Listing,
                   rules: ResourceRules, type_name: str, selectable: bool,
                   reason: str) -> _Round:
    """``_new_round`` for a :class:`Listing`: dict comparisons, entries of changed keys only."""
    old, now = before.versions, listing.versions
    if now == old and not before.members:
        return _Round(scope, first, [], before)  # nothing changed: the same state goes on
    selected = parse_select(first.get("$select"), rules, collection=True) if selectable else None
    shaper = Shaper(rules, selected, collection=True)
    changes = [_shaped(listing.build(key), shaper, type_name, None)
               for key, version in now.items() if old.get(key) != version]
    entity_type = f"#microsoft.graph.{type_name}"
    changes += [_const_dict({"@odata.type": entity_type, "id": listing.removed_id(key),
                             "@removed": {"reason": reason}}) for key in old if key not in now]
    return _Round(scope, first, changes, _State(now))


def _const_dict(item: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: item


def _shaped(make: Callable[[], Mapping[str, Any] | None], shaper: Shaper, type_name: str,
            members: list[dict[str, Any]] | None) -> Callable[[], dict[str, Any] | None]:
    """The item ``make`` builds, with ``@odata.type`` first (delta-query-messages.md samples)
    and ``$select`` applied where the resource takes it (id always comes back)."""
    def build() -> dict[str, Any] | None:
        item = make()
        if item is None:
            return None
        shaped = shaper.shape(item)
        kind = shaped.pop("@odata.type", None) or item.get("@odata.type") or f"#microsoft.graph.{type_name}"
        out = {"@odata.type": kind, **shaped}
        if members is not None:
            out["members@delta"] = members
        return out
    return build


# resources ---------------------------------------------------------------------------------------
def message_delta(ctx: Ctx, mb: Mailbox, folder: MailFolder) -> EmuResponse:
    """GET .../mailFolders/{id}/messages/delta (§7, message-delta.md): versions are change
    keys, so listing a folder costs no JSON; items are built page by page."""
    from ..odata.rules import MESSAGES_DELTA
    from ..tenant import item_ids
    from ..tenant.mail_json import message_json

    message_filter(ctx.params())  # checked on the first request of a round (§7)

    def current(params: dict[str, str]) -> Listing:
        # A change key is (serial, change) encoded (mail_json.change_key): the pair is the
        # version; the messages a round reports are built page by page, the rest never.
        keep = message_filter(params)
        records = mb.mail.in_folder(folder.serial)
        if keep is not None:
            records = [rec for rec in records if keep(message_json(mb, rec))]
        return Listing({rec.serial: rec.change for rec in records},
                       lambda serial: _message_builder(mb, serial, folder.serial),
                       lambda serial: mb.item_id(item_ids.MESSAGE, serial))
    scope = f"{mb.user_id}/mailFolders/{folder.serial}/messages"
    return serve(ctx, scope, MESSAGES_DELTA, "message", current, body=True)


def _message_builder(mb: Mailbox, serial: int, folder: int) -> Callable[[], Mapping[str, Any] | None]:
    from ..tenant.mail_json import message_view

    def build() -> Mapping[str, Any] | None:
        rec = mb.mail.messages.get(serial)
        if rec is None or rec.folder != folder:
            return None  # gone since the round started: the next round reports it
        # A lazy view, as /messages reads: a $select builds only the properties it names.
        return message_view(mb, rec)
    return build


def mail_folder_delta(ctx: Ctx, mb: Mailbox) -> EmuResponse:
    """GET .../mailFolders/delta (mailfolder-delta.md): every folder of the mailbox's visible
    tree (msgfolderroot's subtree, flattened, hidden ones included with ``isHidden``: the
    folders whose messages ``/messages`` lists), so a client can track each folder's
    messages. Counts are part of a folder, so new, read and deleted mail reports its folder."""
    from ..odata.rules import MAIL_FOLDERS_DELTA
    from ..tenant.mail_json import folder_json

    plain_options(ctx.params(), "MailFolders")

    def current(params: dict[str, str]) -> list[Entry]:
        store = mb.mail
        items = [folder_json(mb, store.folders[s]) for s in store.subtree(store.root) if s != store.root]
        return json_entries(items, use_change_key=False)
    return serve(ctx, f"{mb.user_id}/mailFolders", MAIL_FOLDERS_DELTA, "mailFolder", current)


def contact_delta(ctx: Ctx, mb: Mailbox, folder_serial: int) -> EmuResponse:
    """GET .../contactFolders/{id}/contacts/delta and /contacts/delta (the default folder;
    contact-delta.md): $select supported, versions are change keys."""
    from ..odata.rules import CONTACTS_DELTA
    from ..tenant.contact_store import contact_json

    plain_options(ctx.params(), "Contacts")

    def current(params: dict[str, str]) -> list[Entry]:
        return json_entries([contact_json(mb, c) for c in mb.contacts.in_folder(folder_serial)])
    return serve(ctx, f"{mb.user_id}/contactFolders/{folder_serial}/contacts", CONTACTS_DELTA,
                 "contact", current)


def contact_folder_delta(ctx: Ctx, mb: Mailbox) -> EmuResponse:
    """GET .../contactFolders/delta (contactfolder-delta.md): every contact folder below the
    hidden root (the default "Contacts" folder and its descendants, flattened)."""
    from ..odata.rules import CONTACT_FOLDERS_DELTA
    from ..tenant.contact_store import contact_folder_json

    plain_options(ctx.params(), "ContactFolders")

    def current(params: dict[str, str]) -> list[Entry]:
        store = mb.contacts
        items = [contact_folder_json(mb, store.folders[s]) for s in store.subtree(store.default)]
        return json_entries(items, use_change_key=False)
    return serve(ctx, f"{mb.user_id}/contactFolders", CONTACT_FOLDERS_DELTA, "contactFolder", current)


def directory_delta(ctx: Ctx, kind: str, items: Callable[[], Sequence[Mapping[str, Any]]],
                    members: Callable[[str], Members] | None = None) -> EmuResponse:
    """GET /users/delta or /groups/delta (user-delta.md, group-delta.md): removed objects
    answer ``@removed`` with reason "changed" (soft-deleted, restorable); with ``members`` in
    ``$select``, groups carry ``members@delta``."""
    from ..odata.rules import GROUPS_DELTA, USERS_DELTA

    plain_options(ctx.params(), "User" if kind == "user" else "Group", directory=True)

    def current(params: dict[str, str]) -> list[Entry]:
        out = []
        for item in items():
            out.append(Entry(str(item["id"]), fingerprint(item), _const(item),
                             members(str(item["id"])) if members is not None else None))
        return out
    rules = USERS_DELTA if kind == "user" else GROUPS_DELTA
    return serve(ctx, f"{kind}s", rules, kind, current, reason="changed")
