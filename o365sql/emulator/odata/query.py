"""Entry points of the emulator's OData engine: run a request's query options over a collection.

Stage: emulator, OData query engine (orchestration). The Graph routes hand in the items of a
collection, its ``ResourceRules``, the raw query string and the request headers; they get back
the collection body (``@odata.context``, ``@odata.count``, ``@odata.nextLink``, ``value``), a
``/$count`` number, or a single entity shaped by ``$select``. Every rejection is a
``GraphError``. This engine shares no code with o365sql's driver (an independent implementation,
so neither can hide the other's bugs).

Order of work for a list request: parse options → check combinations (``$search`` with
``$filter``/``$orderby``, directory ``ConsistencyLevel``, ``$skip``) → compile ``$filter`` and
``$search`` into closures → filter → order → cap → page → shape only the page's items.

Performance: each option is parsed once per request; filters are closures; ordering uses key
lists, not comparisons. When the route passes ``cache_key`` (any hashable that changes whenever
the collection changes, e.g. ``(mailbox_id, tenant.version)``), the filtered and ordered list is
kept in an LRU bounded by the number of items it holds, so that following nextLinks deep into a
large collection does not filter and sort it again. Collections of compact records come as
``record_view.RecordItems``: filters and sort keys read lazy views that build only the
properties they touch, records already in the order asked for are not sorted, the cache keeps
records (not JSON), and only the page's items are shaped, with only their selected properties.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..tenant.record_view import RecordItems
from . import errors as err
from .filter import compile_filter
from .options import QueryOptions, parse_bool, parse_maxpagesize, parse_options
from .order import SortKey, check_inefficient_filter, parse_orderby, sort_items, sort_key
from .paging import next_link, page_size, start_offset
from .rules import ResourceRules
from .search import compile_search
from .select import Shaper, context_with_select, parse_select

Item = Mapping[str, Any]

# Results kept for nextLinks, bounded by the items they hold (a 200,000-message result is one
# entry but 200,000 items), so the cache's memory is linear in what it holds, whatever the sizes.
_CACHE: OrderedDict[Hashable, Sequence[Any]] = OrderedDict()
_CACHE_ITEMS = 600_000
_CACHE_ENTRIES = 64
_CACHE_LOCK = threading.Lock()  # the server answers requests on several threads
_cached_items = 0
# Answers of /$count by the same kind of key (numbers only, so bounded by entries).
_COUNTS: OrderedDict[Hashable, int] = OrderedDict()
_COUNT_ENTRIES = 1024


@dataclass(frozen=True)
class _Plan:
    """The compiled options of one request."""

    options: QueryOptions
    predicate: Callable[[Any], bool] | None
    search: Callable[[Any], bool] | None
    order: list[SortKey]
    count: bool
    consistent: bool
    advanced: bool
    on_records: bool = False  # ``predicate`` takes records (RecordItems' compact records)
    bounds: tuple[tuple[str, str, int], ...] = ()  # BoundFilter.bounds


def _plan(rules: ResourceRules, query: str, headers: Mapping[str, str],
          fields: RecordItems | None = None) -> _Plan:
    options = parse_options(query, rules)
    consistent = headers.get("consistencylevel", "").strip().lower() == "eventual"
    count = parse_bool(rules, options.get("$count"))
    search_text = options.get("$search")
    filter_text = options.get("$filter")
    orderby_text = options.get("$orderby")
    # §3.11: advanced queries = ConsistencyLevel: eventual + $count=true ($search needs only
    # the header; a $search request is taken as advanced for its $filter/$orderby, inferred).
    advanced = rules.is_directory and consistent and (count or search_text is not None)

    search = None
    if search_text is not None:
        if rules.search == "none":
            raise err.search_not_supported()
        if rules.search == "kql":  # §3.1: messages' $search excludes $filter and $orderby
            if filter_text is not None:
                raise err.search_with_filter()
            if orderby_text is not None:
                raise err.search_with_orderby()
        elif not consistent:
            raise err.search_needs_consistency()
        search = compile_search(search_text, rules)

    predicate = None
    filter_properties: tuple[str, ...] = ()
    on_records = False
    bounds: tuple[tuple[str, str, int], ...] = ()
    if filter_text is not None and rules.filter_supported:  # attachments ignore it (§3.8)
        bound = compile_filter(filter_text, rules, advanced=advanced, fields=fields)
        predicate, filter_properties = bound.predicate, bound.properties
        on_records, bounds = bound.on_records, bound.bounds

    order: list[SortKey] = []
    if orderby_text is not None and orderby_text.strip():
        order = parse_orderby(orderby_text, rules, advanced=advanced)
        if predicate is not None:
            if rules.is_directory and not advanced:
                raise err.orderby_not_supported(rules)  # "Sorting not supported for current query."
            if rules.orderby_must_lead_filter:
                check_inefficient_filter(order, filter_properties)
    elif search is not None and rules.search_order:
        order = [sort_key(p, desc, rules) for p, desc in rules.search_order]
    elif rules.default_order:
        order = [sort_key(p, desc, rules) for p, desc in rules.default_order]
    return _Plan(options, predicate, search, order, count, consistent, advanced, on_records,
                 bounds)


def _presorted(items: Sequence[Item], plan: _Plan) -> bool:
    """Whether the items already stand in the order asked for (no order asked counts)."""
    if not plan.order:
        return True
    if not isinstance(items, RecordItems):
        return False
    return [(k.path, k.descending) for k in plan.order] == list(items.presorted)


def _cache_get(key: Hashable) -> Sequence[Any] | None:
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
        return cached


def _cache_put(key: Hashable, result: Sequence[Any]) -> None:
    """Keeps ``result`` unless it alone exceeds the budget; evicts the least recently used
    results until the items held (not the results) fit ``_CACHE_ITEMS``."""
    global _cached_items
    size = max(1, len(result))
    if size > _CACHE_ITEMS:
        return
    with _CACHE_LOCK:
        previous = _CACHE.pop(key, None)
        if previous is not None:
            _cached_items -= max(1, len(previous))
        _CACHE[key] = result
        _cached_items += size
        while _cached_items > _CACHE_ITEMS or len(_CACHE) > _CACHE_ENTRIES:
            _, dropped = _CACHE.popitem(last=False)
            _cached_items -= max(1, len(dropped))


def cached_items() -> tuple[int, int]:
    """(results, items) the result cache holds now (for tests and benchmarks)."""
    with _CACHE_LOCK:
        return len(_CACHE), _cached_items


def _matches(items: Sequence[Item], rules: ResourceRules, plan: _Plan,
             cache_key: Hashable | None, window: int | None = None) -> tuple[Sequence[Any], int]:
    """The filtered, searched, ordered and capped entries, and how many there are.

    Entries are the items themselves, or for ``RecordItems`` their records (a page's views are
    made from them by the caller), so a cached result costs a pointer per item, not its JSON.
    Cached when ``cache_key`` is given. Otherwise, with ``window`` (offset + page size), only
    the first ``window`` entries are guaranteed to be in order (enough for the page asked for).
    """
    key = None
    if cache_key is not None:
        opts = plan.options
        key = (cache_key, rules.name, opts.get("$filter"), opts.get("$search"),
               opts.get("$orderby"), plan.advanced)
        cached = _cache_get(key)
        if cached is not None:
            return cached, len(cached)
    record_items = items if isinstance(items, RecordItems) else None
    lazy = record_items is not None
    presorted = _presorted(items, plan)
    if record_items is not None and plan.search is None and \
            (plan.predicate is None or plan.on_records):
        result, total = _record_matches(record_items, plan, presorted,
                                        None if key is not None else window)
    else:
        found: list[Any] = list(items)
        if plan.predicate is not None:
            pred = plan.predicate
            found = [item for item in found if pred(item)]
        if plan.search is not None:
            search = plan.search
            found = [item for item in found if search(item)]
        total = len(found)
        if plan.search is not None and rules.search_cap is not None:
            total = min(total, rules.search_cap)
            window = min(window, total) if window is not None else None
        if not presorted:
            native = record_items.native_key if record_items is not None else None
            id_key = record_items.id_key() if record_items is not None else None
            found = sort_items(found, plan.order, None if key is not None else window, native,
                               id_key)
        found = found[:total]
        result = [view.record for view in found] if lazy else found
    if key is not None:
        _cache_put(key, result)
    return result, total


def _record_matches(items: RecordItems, plan: _Plan, presorted: bool,
                    window: int | None) -> tuple[Sequence[Any], int]:
    """``_matches`` for compact records whose filter reads records: no view is made for an
    item the filter leaves out, and none at all when the records need no sorting or sort on
    native keys. The store never changes a list it has handed out, so an unfiltered one is
    kept without a copy (the commonest scan: no $filter, default order)."""
    records = _narrowed(items, plan.bounds)
    if plan.predicate is not None:
        pred = plan.predicate
        records = [record for record in records if pred(record)]
    if not presorted:
        table = items.table
        if all(len(k.names) == 1 and k.path in table.native for k in plan.order):
            records = sort_items(list(records), plan.order, None, table.native.get,
                                 table.id_order)
        else:
            views = sort_items(list(RecordItems(records, table, items.owner)), plan.order,
                               window, items.native_key, items.id_key())
            records = [view.record for view in views]
    return records, len(records)


_MIRRORED = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}


def _narrowed(items: RecordItems, bounds: tuple[tuple[str, str, int], ...]) -> Sequence[Any]:
    """The records that can satisfy the filter's instant ``bounds`` (conjuncts of the whole
    filter), found by binary search when the records are ordered by that instant; the
    predicate still runs on them. Without usable bounds, the records themselves."""
    records = items.records
    if not bounds or not items.presorted:
        return records
    prop, descending = items.presorted[0]
    instant = items.instant(prop)
    if instant is None:
        return records
    sign = -1 if descending else 1

    def position(record: Any) -> int:  # non-decreasing along the records
        return sign * instant(record) * 1_000_000

    lo, hi = 0, len(records)
    for name, op, micros in bounds:
        if name != prop:
            continue
        target, op = sign * micros, op if sign == 1 else _MIRRORED[op]
        if op == "ge":
            lo = max(lo, bisect.bisect_left(records, target, key=position))
        elif op == "gt":
            lo = max(lo, bisect.bisect_right(records, target, key=position))
        elif op == "le":
            hi = min(hi, bisect.bisect_right(records, target, key=position))
        else:
            hi = min(hi, bisect.bisect_left(records, target, key=position))
    if (lo, hi) == (0, len(records)):
        return records
    return records[lo:hi] if lo < hi else []


def apply_query_with_headers(
    items: Sequence[Item], rules: ResourceRules, query: str, headers: Mapping[str, str],
    self_url: str, context: str, *, cache_key: Hashable | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Like ``apply_query``, plus the response headers to add (``Preference-Applied``)."""
    body, shaper, page, response_headers = _page(items, rules, query, headers, self_url,
                                                 context, cache_key)
    # Compact records are shaped straight from the records: no view per item.
    body["value"] = shaper.shape_records(items, page) if isinstance(items, RecordItems) else \
        [shaper.shape(item) for item in page]
    return body, response_headers


def _encoder() -> Callable[[Any], str]:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` as one function whose
    C encoder is made once (``JSONEncoder.encode`` makes one per call: most of the cost of
    encoding a small item). The values are the engine's own acyclic JSON data, so the
    circular-reference check is left out."""
    plain = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return plain.encode
    encode = make(None, plain.default, json.encoder.encode_basestring, None, ":", ",", False,
                  False, True)
    return lambda value: "".join(encode(value, 0))


_ENCODE = _encoder()


def apply_query_encoded(
    items: RecordItems, rules: ResourceRules, query: str, headers: Mapping[str, str],
    self_url: str, context: str, *, cache_key: Hashable | None = None,
) -> tuple[bytes, dict[str, str]]:
    """``apply_query_with_headers`` over compact records, answered as the JSON text the server
    sends (``json.dumps(body, separators=(",", ":"), ensure_ascii=False)``, byte for byte),
    each item's text taken from the shaper's cache of encoded items when it holds it."""
    body, shaper, page, response_headers = _page(items, rules, query, headers, self_url,
                                                 context, cache_key)
    parts = [f"{_ENCODE(name)}:{_ENCODE(value)}" for name, value in body.items()]
    parts.append(f'"value":[{",".join(shaper.encode_records(items, page, _ENCODE))}]')
    return ("{" + ",".join(parts) + "}").encode("utf-8"), response_headers


def _page(items: Sequence[Item], rules: ResourceRules, query: str, headers: Mapping[str, str],
          self_url: str, context: str, cache_key: Hashable | None,
          ) -> tuple[dict[str, Any], Shaper, Sequence[Any], dict[str, str]]:
    """A list request's body less its ``value``, the shaper and the page's entries (records
    for ``RecordItems``), and the response headers."""
    plan = _plan(rules, query, headers, items if isinstance(items, RecordItems) else None)
    options = plan.options
    maxpagesize = parse_maxpagesize(headers.get("prefer")) if rules.honor_maxpagesize else None
    size = page_size(rules, options, maxpagesize)
    offset = start_offset(rules, options)
    selected = parse_select(options.get("$select"), rules, collection=True)

    matches, total = _matches(items, rules, plan, cache_key, offset + size)
    page: Sequence[Any] = matches[offset: offset + size] if size > 0 else []
    shaper = Shaper(rules, selected, collection=True)

    body: dict[str, Any] = {"@odata.context": context_with_select(context, selected)}
    if plan.count and (not rules.is_directory or (plan.consistent and offset == 0)):
        # Directory: $count=true without ConsistencyLevel is silently ignored and the count
        # appears on the first page only (§1.2, §3.11).
        body["@odata.count"] = total
    if size > 0 and offset + size < total:
        body["@odata.nextLink"] = next_link(self_url, rules, options, offset + size)
    response_headers: dict[str, str] = {}
    if maxpagesize is not None:
        response_headers["Preference-Applied"] = f"odata.maxpagesize={maxpagesize}"
    return body, shaper, page, response_headers


def apply_query(
    items: Sequence[Item], rules: ResourceRules, query: str, headers: Mapping[str, str],
    self_url: str, context: str, *, cache_key: Hashable | None = None,
) -> dict[str, Any]:
    """The collection body for a list request (see the module docstring)."""
    body, _ = apply_query_with_headers(items, rules, query, headers, self_url, context,
                                       cache_key=cache_key)
    return body


def count_only(items: Sequence[Item], rules: ResourceRules, query: str,
               headers: Mapping[str, str], *, cache_key: Hashable | None = None) -> int:
    """The number a ``/$count`` segment answers: items matching ``$filter``/``$search``.

    With ``cache_key`` (as for ``apply_query``: it changes whenever the collection does) the
    number is kept, so a client asking again for the same count does not filter again."""
    consistent = headers.get("consistencylevel", "").strip().lower() == "eventual"
    if rules.is_directory:
        if not consistent:
            raise err.count_not_supported()  # §3.11: /users/$count needs ConsistencyLevel
        if parse_options(query, rules).get("$count") is None:
            # The /$count segment is itself an advanced query: filters run in advanced mode.
            query = f"{query}&$count=true" if query else "$count=true"
    plan = replace(_plan(rules, query, headers,
                         items if isinstance(items, RecordItems) else None), order=[])
    key = None
    if cache_key is not None:
        opts = plan.options
        key = (cache_key, rules.name, opts.get("$filter"), opts.get("$search"), plan.advanced)
        with _CACHE_LOCK:
            known = _COUNTS.get(key)
            if known is not None:
                _COUNTS.move_to_end(key)
                return known
    total = _matches(items, rules, plan, None, 0)[1]
    if key is not None:
        with _CACHE_LOCK:
            _COUNTS[key] = total
            if len(_COUNTS) > _COUNT_ENTRIES:
                _COUNTS.popitem(last=False)
    return total


def select_entity(item: Item, rules: ResourceRules, query: str) -> dict[str, Any]:
    """A single entity (``GET .../{id}``) shaped by ``$select``; other options are ignored."""
    options = parse_options(query, rules)
    selected = parse_select(options.get("$select"), rules, collection=False)
    return Shaper(rules, selected, collection=False).shape(item)


def entity_context(context: str, rules: ResourceRules, query: str) -> str:
    """``@odata.context`` of a single entity with its ``$select`` echoed (§1.3)."""
    options = parse_options(query, rules)
    return context_with_select(context, parse_select(options.get("$select"), rules,
                                                     collection=False))
