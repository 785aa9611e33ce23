"""Lazy Graph JSON over compact records: a dict that builds each property on first access.

Stage: emulator, between the data stores (``tenant.mail_store`` ...) and the OData engine
(``odata.query``). A store keeps an item as a compact record; its Graph JSON is described once by
a ``PropertyTable`` (an ordered list of per-property builders). ``RecordView`` is a ``dict``
subclass over one record: ``view.get("isRead")`` builds just that property, so a ``$filter`` or
``$orderby`` over 200,000 messages touches only the properties it names, and only the items of
the page that is sent are ever built in full (or, with ``$select``, only the selected
properties). ``RecordItems`` is the collection the routes hand to the engine: records plus their
table, views made on access and never kept, so the engine can cache the (small) records of a
result instead of their JSON.

Contract for code that reads views: ``get``/``[]``/``in`` build one property; ``keys``, ``items``,
``values``, iteration, ``len``, ``==`` and ``dict(view)`` build the whole item, in the table's
order, which is the order of the full JSON. ``json.dumps`` reads a dict's storage directly, so a
view goes to JSON only through ``materialize()`` or a copy (the engine sends copies).

Hands on: ``RecordView`` / ``RecordItems`` to ``odata.query`` (through the Graph routes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, overload

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

ABSENT: Any = object()

# Views of the pages served last (RecordItems.view), bounded by count: a whole message view holds
# about 3 KB, so the cache stays under ~15 MB whatever the mailbox sizes.
VIEW_CACHE_SIZE = 5000
_VIEWS: OrderedDict[Hashable, RecordView] = OrderedDict()
_VIEWS_LOCK = threading.Lock()  # a builder's answer for "this item has no such property"

Builder = Callable[[Any, Any, dict[str, Any]], Any]  # (owner, record, scratch) -> value | ABSENT
NativeKey = Callable[[Any], Any]  # record -> a key ordered exactly like the property's value


class OfRecord(NamedTuple):
    """A property whose value is a function of the record alone, never ABSENT (``isRead``):
    given in a ``PropertyTable`` in place of a builder, it lets the OData engine's filters read
    the value straight from the record."""

    value: Callable[[Any], Any]


def _plain(value: Callable[[Any], Any]) -> Builder:
    return lambda owner, record, scratch: value(record)


class PropertyTable:
    """The properties of one kind of item, in output order, each with its builder.

    ``native`` maps a top-level property to a function of the record whose result sorts exactly
    as the OData engine sorts the property's value (never None): the engine then orders by it
    without building the property. ``id_order`` sorts like the ``id`` text itself
    (case-sensitive: the engine's tie-breaker). The builders' ``scratch`` dict is per item, so properties
    derived from one costly value (a generated body and its preview) compute it once.
    """

    def __init__(self, builders: Sequence[tuple[str, Builder | OfRecord]],
                 native: dict[str, NativeKey] | None = None,
                 id_order: NativeKey | None = None,
                 instants: dict[str, NativeKey] | None = None) -> None:
        self.order: tuple[str, ...] = tuple(name for name, _ in builders)
        self.plain: dict[str, Callable[[Any], Any]] = {
            name: b.value for name, b in builders if isinstance(b, OfRecord)}
        self.builders: dict[str, Builder] = {
            name: _plain(b.value) if isinstance(b, OfRecord) else b for name, b in builders}
        self.native: dict[str, NativeKey] = dict(native or {})
        self.id_order = id_order
        # DateTimeOffset properties whose value is always the whole-second ``...Z`` text of
        # this function's result (POSIX seconds, an int): filters compare it without the text.
        self.instants: dict[str, NativeKey] = dict(instants or {})

    def build(self, owner: Any, record: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The full item as a plain dict (less the ``skip`` properties)."""
        scratch: dict[str, Any] = {}
        out: dict[str, Any] = {}
        builders = self.builders.items() if not skip else \
            [(n, b) for n, b in self.builders.items() if n not in skip]
        for name, builder in builders:
            value = builder(owner, record, scratch)
            if value is not ABSENT:
                out[name] = value
        return out


class RecordView(dict[str, Any]):
    """One item's Graph JSON, built property by property on access (see the module docstring)."""

    __slots__ = ("complete", "owner", "record", "scratch", "table")

    def __init__(self, table: PropertyTable, owner: Any, record: Any) -> None:
        super().__init__()
        self.table = table
        self.owner = owner
        self.record = record
        self.scratch: dict[str, Any] = {}
        self.complete = False

    def _build(self, key: Any) -> Any:
        """Builds and keeps one property; ABSENT when the item has none of that name."""
        if self.complete:
            return ABSENT
        builder = self.table.builders.get(key)
        if builder is None:
            return ABSENT
        value = builder(self.owner, self.record, self.scratch)
        if value is not ABSENT:
            dict.__setitem__(self, key, value)
        return value

    def __missing__(self, key: str) -> Any:
        value = self._build(key)
        if value is ABSENT:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = dict.get(self, key, ABSENT)
        if value is ABSENT:
            value = self._build(key)
            if value is ABSENT:
                return default
        return value

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or self._build(key) is not ABSENT

    def materialize(self) -> RecordView:
        """Builds every property, in the table's order (later reads are plain dict reads)."""
        if not self.complete:
            full = self.table.build(self.owner, self.record)
            dict.clear(self)
            dict.update(self, full)
            self.complete = True
            self.scratch = {}
        return self

    def without(self, skip: frozenset[str]) -> dict[str, Any]:
        """A plain dict of the whole item less ``skip``; the view keeps the whole item, so a
        view served again (``RecordItems``' view cache) is not built twice."""
        return {k: v for k, v in dict.items(self.materialize()) if k not in skip}

    # Whole-item access builds the whole item first.
    def keys(self) -> dict_keys[str, Any]:
        return dict.keys(self.materialize())

    def items(self) -> dict_items[str, Any]:
        return dict.items(self.materialize())

    def values(self) -> dict_values[str, Any]:
        return dict.values(self.materialize())

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self.materialize())

    def __len__(self) -> int:
        return dict.__len__(self.materialize())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordView):
            other.materialize()
        return dict.__eq__(self.materialize(), other)

    __hash__ = None

    def copy(self) -> dict[str, Any]:
        return dict(dict.items(self.materialize()))

    def __repr__(self) -> str:
        return f"<RecordView {self.table.order[:1]} of {type(self.record).__name__}>"


class RecordItems(Sequence[RecordView]):
    """A collection as the routes pass it to the OData engine: records, their table, and the
    order they are already in.

    ``presorted`` names the ``$orderby`` keys (``(property, descending)``) the records already
    follow, ties broken by ``id`` ascending, exactly as the engine would sort them; the engine
    then skips sorting for that order. Views are made on access and not kept.
    """

    def __init__(self, records: Sequence[Any], table: PropertyTable, owner: Any, *,
                 presorted: tuple[tuple[str, bool], ...] = (),
                 cache_token: Hashable | None = None) -> None:
        self.records = records
        self.table = table
        self.owner = owner
        self.presorted = presorted
        self.cache_token = cache_token

    def view(self, record: Any) -> RecordView:
        """The view of one record for a page. With a ``cache_token`` (which must change whenever
        any record of the owner changes, e.g. a mailbox's write counter) the last
        ``VIEW_CACHE_SIZE`` views served are kept, so a page asked for again is not rebuilt.
        Callers hold the owner's lock while they read the view, as for the records."""
        token = self.cache_token
        if token is None:
            return RecordView(self.table, self.owner, record)
        key = (token, id(record))
        with _VIEWS_LOCK:
            view = _VIEWS.get(key)
            if view is not None and view.record is record:
                _VIEWS.move_to_end(key)
                return view
        view = RecordView(self.table, self.owner, record)
        with _VIEWS_LOCK:
            _VIEWS[key] = view
            if len(_VIEWS) > VIEW_CACHE_SIZE:
                _VIEWS.popitem(last=False)
        return view

    def getter(self, prop: str) -> Callable[[Any], Any]:
        """A top-level property's value read from a record, exactly as ``view.get(prop)``
        gives it (None when the item has no such property), without making a view: the OData
        engine's ``$filter`` runs on records with it."""
        plain = self.table.plain.get(prop)
        if plain is not None:
            return plain
        builder = self.table.builders.get(prop)
        if builder is None:
            return lambda record: None
        owner = self.owner

        def get(record: Any) -> Any:
            value = builder(owner, record, {})
            return None if value is ABSENT else value

        return get

    def instant(self, prop: str) -> Callable[[Any], int] | None:
        """POSIX seconds of a DateTimeOffset property read from a record, when the table
        declares them (``PropertyTable.instants``); None otherwise."""
        return self.table.instants.get(prop)

    def native_key(self, prop: str) -> Callable[[RecordView], Any] | None:
        """An order-equivalent key of a top-level property, read from a view's record."""
        native = self.table.native.get(prop)
        if native is None:
            return None
        return lambda view: native(view.record)

    def id_key(self) -> Callable[[RecordView], Any] | None:
        """The tie-break key (the ``id`` text's order), read from a view's record."""
        order = self.table.id_order
        if order is None:
            return None
        return lambda view: order(view.record)

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> RecordView: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordView]: ...

    def __getitem__(self, index: int | slice) -> RecordView | list[RecordView]:
        if isinstance(index, slice):
            return [self.view(r) for r in self.records[index]]
        return self.view(self.records[index])

    def __iter__(self) -> Iterator[RecordView]:
        table, owner = self.table, self.owner
        for record in self.records:
            yield RecordView(table, owner, record)
