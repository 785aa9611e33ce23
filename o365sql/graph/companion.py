"""Graph client stage: properties read by a second listing of the same items, matched by id.

Some properties come only when a request names them in ``$select`` (graph-semantics §3.1:
message ``uniqueBody``; event ``cancelledOccurrences``), and some requests may not send
``$select`` at all (calendarView with ``createdDateTime``, §3.4; calendarView delta, §7). The
callers (``execution/selected_only.py`` for live scans, ``replica/refresh.py`` for delta
rounds) then list the same items again with ``$select`` of the key and those properties;
:class:`Companion` reads that listing only as far as each page needs and copies the properties
onto the entities by key. Pure JSON: it knows no SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


class Companion:
    """Copies ``props`` from the entities of ``stream`` (pages of a second listing) onto
    entities with the same ``key`` value, reading ``stream`` lazily."""

    def __init__(self, stream: Iterator[list[dict[str, Any]]], key: str,
                 props: Sequence[str]) -> None:
        self.stream = stream
        self.key = key
        self.props = tuple(props)
        self.found: dict[Any, dict[str, Any]] = {}
        self.done = False

    def fill(self, page: Sequence[dict[str, Any]]) -> None:
        """Give each entity of ``page`` the properties it lacks (``@removed`` entries and
        entities the listing does not hold are left as they are)."""
        for entity in page:
            if "@removed" in entity or all(p in entity for p in self.props):
                continue
            ident = entity.get(self.key)
            known = self._lookup(ident)
            if known is None:
                continue
            for prop in self.props:
                if prop not in entity and prop in known:
                    entity[prop] = known[prop]

    def _lookup(self, ident: Any) -> dict[str, Any] | None:
        while ident not in self.found and not self.done:
            batch = next(self.stream, None)
            if batch is None:
                self.done = True
                break
            for other in batch:
                self.found[other.get(self.key)] = other
        return self.found.get(ident)

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()


def missing(props: Sequence[str], page: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The properties of ``props`` some live entity of ``page`` lacks."""
    live = [e for e in page if "@removed" not in e]
    return tuple(p for p in props if any(p not in e for e in live))
