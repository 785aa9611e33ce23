"""``$select`` and default property sets: the JSON objects a page actually carries.

Stage: emulator, OData query engine (shaping). ``parse_select`` checks the ``$select`` list
against the resource; ``Shaper`` builds the output dict of each returned item (only items of
the page being answered are copied, and only shallowly).

Graph's rules (graph-semantics §1.3, §3.1, §3.9, §3.10): ``id`` is returned even when not
selected; ``@odata.etag`` (Outlook items) and ``@odata.type`` (derived types) stay on the item;
without ``$select`` messages omit ``internetMessageHeaders`` and ``uniqueBody``, users and groups
return their default property sets; some user properties cannot be selected on a collection
(501) and some group properties are only returned by ``GET /groups/{id}``. A selected property
an item does not store is answered as its type's empty value (``[]`` or null).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from ..tenant.record_view import ABSENT, Builder, RecordItems, RecordView
from . import errors as err
from .rules import ResourceRules
from .schema import ENTITIES, PropertyIndex

_ANNOTATIONS = ("@odata.type", "@odata.etag")

# Encoded items served last (``Shaper.encode_records``), by (owner's cache token, record,
# shape), bounded by the characters they hold: ~420 per message of five columns, so a scan of
# 100,000 such messages stays cached, whole messages (~2,600) much less.
ENCODED_BUDGET = 48 * 2**20
_ENCODED: OrderedDict[Hashable, tuple[Any, str]] = OrderedDict()
_ENCODED_LOCK = threading.Lock()
_encoded_chars = 0


def _keep_encoded(entries: list[tuple[Hashable, Any, str]]) -> None:
    global _encoded_chars
    with _ENCODED_LOCK:
        for key, record, text in entries:
            previous = _ENCODED.pop(key, None)
            if previous is not None:
                _encoded_chars -= len(previous[1])
            _ENCODED[key] = (record, text)
            _encoded_chars += len(text)
        while _encoded_chars > ENCODED_BUDGET and _ENCODED:
            _, (_, dropped) = _ENCODED.popitem(last=False)
            _encoded_chars -= len(dropped)


def encoded_chars() -> tuple[int, int]:
    """(items, characters) the cache of encoded items holds (tests and benchmarks)."""
    with _ENCODED_LOCK:
        return len(_ENCODED), _encoded_chars
_ABSENT = object()
_COLLECTIONS = {entity: frozenset(name for name, ptype in props.items() if ptype.collection)
                for entity, props in ENTITIES.items()}


def parse_select(text: str | None, rules: ResourceRules, *, collection: bool) -> tuple[str, ...] | None:
    """Canonical property names of a ``$select`` value; None for no/empty ``$select``."""
    if text is None or not text.strip():
        return None
    index = PropertyIndex(rules.entity)
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if name == "*":
            for prop in index.props:
                if prop not in names:
                    names.append(prop)
            continue
        found = index.top(name)
        if found is None:
            raise err.select_unknown(rules, name)
        canonical = found[0]
        if collection and canonical in rules.collection_unselectable:
            raise err.select_not_implemented()
        if canonical not in names:
            names.append(canonical)
    return tuple(names)


def context_with_select(context: str, selected: Sequence[str] | None) -> str:
    """Graph echoes ``$select`` in ``@odata.context``: ``...#users('x')/messages(sender,subject)``
    and ``.../messages(subject,body)/$entity`` (§1.3)."""
    if not selected:
        return context
    listing = "(" + ",".join(selected) + ")"
    if context.endswith("/$entity"):
        return context[: -len("/$entity")] + listing + "/$entity"
    return context + listing


class Shaper:
    """Builds output dicts for one request."""

    def __init__(self, rules: ResourceRules, selected: tuple[str, ...] | None, *,
                 collection: bool) -> None:
        self.rules = rules
        self.selected = selected
        self.collection = collection
        hidden = set(rules.list_hidden) if collection else set()
        if rules.entity == "group" and not collection:
            hidden = {"hasMembersWithLicenseErrors", "isArchived"}  # never returned (§3.10)
        self.hidden = frozenset(hidden)
        # A selected property the stored item does not carry is answered with its CSDL type's
        # empty value: [] for a collection (Graph serialises empty collections as []), else null.
        self.collections = _COLLECTIONS[rules.entity]
        if selected is not None:
            self.fields = tuple(n for n in selected if n != "id" and n not in self.hidden)
            self.excluded: frozenset[str] = frozenset()
        else:
            self.fields = ()
            self.excluded = frozenset(rules.select_only) | self.hidden

    def shape(self, item: Mapping[str, Any]) -> dict[str, Any]:
        if self.selected is None and self.rules.default_select is None:
            if isinstance(item, RecordView):  # build it without the left-out properties
                return item.without(self.excluded)
            if self.excluded and not self.excluded.isdisjoint(item.keys()):
                return {k: v for k, v in item.items() if k not in self.excluded}
            return dict(item)
        out: dict[str, Any] = {}
        for key in _ANNOTATIONS:
            if key in item:
                out[key] = item[key]
        out["id"] = item.get("id")
        fields = self.fields if self.selected is not None else self.defaults(item)
        collections = self.collections
        for name in fields:
            value = item.get(name, _ABSENT)
            if value is _ABSENT:
                value = [] if name in collections else None
            out[name] = value
        return out

    def shape_records(self, items: RecordItems, records: Sequence[Any]) -> list[dict[str, Any]]:
        """``shape`` of each record's item, built straight from the record by the table's
        builders (no view, only the properties that are sent; the same dicts, key for key)."""
        table, owner = items.table, items.owner
        if self.selected is None:  # whole items: from views, which the last pages' keep
            return [self.shape(items.view(record)) for record in records]
        builders = table.builders
        heads = [(name, builders[name]) for name in _ANNOTATIONS if name in builders]
        ident = builders.get("id")
        fields: list[tuple[str, Builder | None, list[Any] | None]] = [
            (name, builders.get(name), [] if name in self.collections else None)
            for name in self.fields]
        out: list[dict[str, Any]] = []
        for record in records:
            scratch: dict[str, Any] = {}
            item: dict[str, Any] = {}
            for name, build in heads:
                value = build(owner, record, scratch)
                if value is not ABSENT:
                    item[name] = value
            value = ident(owner, record, scratch) if ident is not None else ABSENT
            item["id"] = None if value is ABSENT else value
            for name, field, empty in fields:
                value = field(owner, record, scratch) if field is not None else ABSENT
                item[name] = (list(empty) if isinstance(empty, list) else empty) \
                    if value is ABSENT else value
            out.append(item)
        return out

    def encode_records(self, items: RecordItems, records: Sequence[Any],
                       encode: Callable[[Any], str]) -> list[str]:
        """The JSON text of each record's shaped item (``encode`` of ``shape_records``), kept in
        a cache bounded by the text it holds: a page served again is not built again. The key
        holds ``items.cache_token``, which changes whenever any record of the owner does, so a
        write is never hidden; without a token nothing is kept."""
        token = items.cache_token
        if token is None:
            return [encode(item) for item in self.shape_records(items, records)]
        shape = (id(items.table), self.rules.name, self.selected)
        texts: list[str | None] = []
        missing: list[int] = []
        with _ENCODED_LOCK:
            for position, record in enumerate(records):
                held = _ENCODED.get((token, id(record), shape))
                if held is not None and held[0] is record:
                    texts.append(held[1])
                else:
                    texts.append(None)
                    missing.append(position)
        if missing:
            built = self.shape_records(items, [records[i] for i in missing])
            fresh = [(i, encode(item)) for i, item in zip(missing, built, strict=True)]
            _keep_encoded([((token, id(records[i]), shape), records[i], text)
                           for i, text in fresh])
            for i, text in fresh:
                texts[i] = text
        return [text for text in texts if text is not None]

    def defaults(self, item: Mapping[str, Any]) -> Sequence[str]:
        rules = self.rules
        names = rules.type_default_select.get(str(item.get("@odata.type", "")))
        if names is None:
            names = rules.entity_default_select if not self.collection and \
                rules.entity_default_select is not None else rules.default_select or ()
        return [n for n in names if n != "id" and n not in self.hidden]
