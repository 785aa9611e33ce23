"""``$orderby``: parsing, Graph's restrictions on it, and sorting item lists.

Stage: emulator, OData query engine (ordering). ``parse_orderby`` checks an ``$orderby`` value
against the resource's rules and hands ``odata.query`` a list of ``SortKey``; ``sort_items``
orders the filtered items with them.

Semantics: ``asc`` is the default, ``desc`` follows a space; paths may reach into complex
properties (``from/emailAddress/name desc,subject``, graph-semantics §1.1, §3.1). Nulls come
first ascending and last descending, as the OData URL conventions (§5.1.1.16 ``$orderby``)
prescribe; strings sort case-insensitively like the comparisons (§2.3); DateTimeOffset by
instant; enums by member position. Ties keep a deterministic order: by ``id``, then by the
order the route passed the items in (Python's sort is stable).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from . import errors as err
from .rules import ResourceRules
from .schema import PropertyIndex
from .values import normalizer

_ITEM = re.compile(r"^\s*(?P<path>[^\s]+)(?:\s+(?P<dir>[A-Za-z]+))?\s*$")


@dataclass(frozen=True)
class SortKey:
    path: str  # canonical, e.g. "from/emailAddress/name"
    top: str  # the top-level property
    getter: Callable[[Any], Any]
    norm: Callable[[Any], Any]
    descending: bool
    names: tuple[str, ...] = ()
    instant: bool = False  # a DateTimeOffset key


def parse_orderby(text: str, rules: ResourceRules, *, advanced: bool) -> list[SortKey]:
    """Parse a decoded ``$orderby`` value; raises GraphError."""
    keys: list[SortKey] = []
    for part in text.split(","):
        m = _ITEM.match(part)
        direction = (m.group("dir") or "asc").lower() if m else ""
        if not m or direction not in ("asc", "desc"):
            raise err.orderby_not_supported(rules)
        keys.append(sort_key(m.group("path"), direction == "desc", rules, advanced=advanced))
    return keys


def sort_key(path: str, descending: bool, rules: ResourceRules, *,
             advanced: bool = True) -> SortKey:
    index = PropertyIndex(rules.entity)
    segments = path.split("/")
    found = index.top(segments[0])
    if found is None:
        if rules.is_directory:
            raise err.unknown_property(rules, segments[0])
        raise err.orderby_not_supported(rules)
    name, ptype = found
    names = [name]
    for seg in segments[1:]:
        member = index.member(ptype.name, seg) if ptype.kind == "complex" and \
            not ptype.collection else None
        if member is None:
            raise err.orderby_not_supported(rules)
        names.append(member[0])
        ptype = member[1]
    if ptype.collection or ptype.kind == "complex":  # no ordering by recipients etc. (§3.1)
        raise err.orderby_not_supported(rules)
    if rules.is_directory and not _directory_orderable(rules, name, advanced):
        raise err.orderby_not_supported(rules)
    return SortKey("/".join(names), name, _getter(tuple(names)), normalizer(ptype, ordering=True),
                   descending, tuple(names), ptype.name == "DateTimeOffset")


def _directory_orderable(rules: ResourceRules, name: str, advanced: bool) -> bool:
    """users: displayName, userPrincipalName; groups: displayName (§3.9, §3.10). Advanced mode
    also sorts on other range-indexed properties (§3.11 "$orderby on some properties"; which ones
    is not listed: the emulator takes those with ge/le support, inferred)."""
    if rules.orderable is not None and name in rules.orderable:
        return True
    entry = (rules.directory_filter or {}).get(name) or {}
    return advanced and "ge" in entry and "le" in entry


def _getter(names: tuple[str, ...]) -> Callable[[Any], Any]:
    if len(names) == 1:
        (key,) = names
        return lambda item: item.get(key)

    def walk(item: Any) -> Any:
        for key in names:
            if not isinstance(item, dict):
                return None
            item = item.get(key)
        return item

    return walk


def check_inefficient_filter(keys: Sequence[SortKey], filter_properties: Sequence[str]) -> None:
    """Messages: ``$orderby`` properties must lead ``$filter``, in the same order (§3.1).

    The documented rule (user-list-messages.md) has three parts: every $orderby property is in
    $filter, in the same order, and before any other $filter property. The docs also show
    ``$filter=Subject eq 'welcome' and importance eq 'normal'&$orderby=subject,importance,
    receivedDateTime desc`` as working (query-parameters.md). Both hold when the two property
    lists agree on their common prefix, which is what is checked: the first ``min(len)``
    properties of each list must be the same, in the same order.
    """
    order = []
    for key in keys:
        if key.path.lower() not in order:
            order.append(key.path.lower())
    filtered = [p.lower() for p in filter_properties]
    common = min(len(order), len(filtered))
    if order[:common] != filtered[:common] or common == 0:
        raise err.inefficient_filter()


def _sort_pass(result: list[Any], key: SortKey) -> list[Any]:
    norm = key.norm
    if len(key.names) == 1:
        name = key.names[0]
        present = [item for item in result if item.get(name) is not None]
        if key.instant:  # inline instant_key's fast path: one call less per item
            sort_on: Callable[[Any], Any] = lambda item: (
                v[:19] if len(v := item[name]) == 20 and v[19] == "Z" else norm(v))
        else:
            sort_on = lambda item: norm(item[name])
    else:
        getter = key.getter
        present = [item for item in result if getter(item) is not None]
        sort_on = lambda item: norm(getter(item))
    try:
        present.sort(key=sort_on, reverse=key.descending)
    except TypeError:  # a value of the wrong JSON type: such values sort lowest
        def tagged(item: Any) -> Any:
            value = sort_on(item)
            return (0, value) if value is not None else (-1, 0)

        present.sort(key=tagged, reverse=key.descending)
    if len(present) == len(result):
        return present
    missing = [item for item in result if key.getter(item) is None]
    return present + missing if key.descending else missing + present


def sort_items(items: list[Any], keys: Sequence[SortKey], limit: int | None = None,
               native: Callable[[str], Callable[[Any], Any] | None] | None = None,
               id_key: Callable[[Any], Any] | None = None) -> list[Any]:
    """A new list ordered by ``keys`` (nulls first ascending, last descending).

    With ``limit``, only the first ``limit`` positions must be right (a first page): when the
    leading key has no nulls, the items beyond the ``limit``-th value of that key cannot reach
    the page, so only the candidates up to it (ties included) are sorted. ``native(property)``
    may give, for a top-level property, a key function that orders exactly like the property's
    value and is never None (``tenant.record_view``: read from the compact record, nothing built);
    ``id_key`` likewise for the tie-break on the ``id`` text (case-sensitive, unlike an
    ``$orderby=id``, which compares case-insensitively like every string).
    """
    if not keys:
        return items
    if limit is not None and 0 < limit and limit * 8 < len(items):
        candidates = _top_candidates(items, keys[0], limit)
        if candidates is not None:
            items = candidates
    if id_key is not None:
        result = sorted(items, key=id_key)
    else:
        try:
            result = sorted(items, key=itemgetter("id"))
        except (KeyError, TypeError):
            result = sorted(items, key=lambda item: str(item.get("id", "")))
    for key in reversed(keys):  # least significant first; every pass is stable
        fast = native(key.path) if native is not None and len(key.names) == 1 else None
        if fast is not None:
            result.sort(key=fast, reverse=key.descending)  # reverse=True keeps ties stable
        else:
            result = _sort_pass(result, key)
    return result


def _top_candidates(items: list[Any], key: SortKey, limit: int) -> list[Any] | None:
    getter, norm = key.getter, key.norm
    values: list[Any] = [norm(v) if (v := getter(item)) is not None else None for item in items]
    if any(v is None for v in values):
        return None
    try:
        if key.descending:
            bound = heapq.nlargest(limit, values)[-1]
            return [item for item, v in zip(items, values) if v >= bound]
        bound = heapq.nsmallest(limit, values)[-1]
        return [item for item, v in zip(items, values) if v <= bound]
    except TypeError:  # mixed JSON types: let the full sort handle them
        return None
