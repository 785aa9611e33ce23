"""Execution stage, local engine: the SQL functions o365sql adds to SQLite.

``CONTAINS_VALUE(collection, value)`` and ``CONTAINS_VALUE(collection, 'item/path', value)``
test membership in a collection column (JSON array text, catalog.py): true when an item (or
the item's property at ``item/path``, e.g. ``'address'`` of contacts' ``EmailAddresses``)
equals ``value`` with SQL ``=`` (text compared exactly, as SQLite does), false when none does,
NULL when the collection or the value is NULL. It is the exact local meaning of what the
planner pushes as Graph's ``categories/any(x:x eq 'Red')`` (``planning/pushdown.py``), so the
residual query re-checks Graph's case-insensitive answer with it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..planning.pushdown import CONTAINS_VALUE

__all__ = ["contains_value", "register"]


def contains_value(collection: Any, *args: Any) -> int | None:
    """The SQL function (see the module docstring); 1/0/None as SQLite expects."""
    if len(args) == 1:
        path: tuple[str, ...] = ()
        value = args[0]
    elif len(args) == 2:
        if not isinstance(args[0], str):
            return None
        path = tuple(p for p in args[0].split("/") if p)
        value = args[1]
    else:
        raise ValueError("CONTAINS_VALUE takes (collection, value) or (collection, path, value)")
    if collection is None or value is None:
        return None
    try:
        items = json.loads(collection) if isinstance(collection, (str, bytes)) else None
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    return int(any(_equal(_at(item, path), value) for item in items))


def _at(item: Any, path: tuple[str, ...]) -> Any:
    """The item's property at ``path`` (names matched ignoring case, as SQL identifiers)."""
    for step in path:
        if not isinstance(item, dict):
            return None
        if step in item:
            item = item[step]
            continue
        lowered = step.lower()
        item = next((v for k, v in item.items() if k.lower() == lowered), None)
    return item


def _equal(item: Any, value: Any) -> bool:
    if item is None or isinstance(item, (dict, list)):
        return False
    if isinstance(item, bool):
        item = int(item)  # SQLite holds booleans as 0/1
    if isinstance(value, str) or isinstance(item, str):
        return isinstance(value, str) and isinstance(item, str) and item == value
    return bool(item == value)


def register(db: sqlite3.Connection) -> None:
    """Add o365sql's functions to a private SQLite connection."""
    db.create_function(CONTAINS_VALUE, -1, contains_value, deterministic=True)
