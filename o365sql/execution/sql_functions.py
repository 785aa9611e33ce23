"""Execution stage, local engine: the SQL functions o365sql adds to (or replaces in) SQLite.

**Letter case.** SQLite folds case for ASCII only, so its ``LIKE 're:%'`` matched ``'RE:'``
but ``LIKE 'über%'`` missed ``'Über'``, and ``UPPER('Zoë')`` gave ``'ZOë'``. o365sql replaces
``like`` (2 and 3 arguments, so ``ESCAPE`` works), ``upper`` and ``lower`` with Unicode-aware
versions: ``LIKE`` ignores letter case for every alphabet, comparing one character with one
character (each folded with ``str.casefold`` where that yields one character, else
``str.lower``), so ``_`` still matches exactly one character (``'ß'`` matches ``'ẞ'``, not
``'ss'``); ``UPPER``/``LOWER`` are Python's full mappings (``UPPER('straße')`` is
``'STRASSE'``). ``=``, ``<``, ``IN``, ``GLOB``, ``ORDER BY`` and ``DISTINCT`` stay
case-sensitive (binary), as in SQLite. A ``LIKE`` pushed to Graph as ``startswith``/
``contains``/``endswith`` is only a pre-filter: Exchange ignores case at least as widely
(graph-semantics §2.3), and this ``LIKE`` re-checks its rows.

``CONTAINS_VALUE(collection, value)`` and ``CONTAINS_VALUE(collection, 'item/path', value)``
test membership in a collection column (JSON array text, catalog.py): true when an item (or
the item's property at ``item/path``, e.g. ``'address'`` of contacts' ``EmailAddresses``)
equals ``value`` with SQL ``=`` (text compared exactly, as SQLite does), false when none does,
NULL when the collection or the value is NULL. It is the exact local meaning of what the
planner pushes as Graph's ``categories/any(x:x eq 'Red')`` (``planning/pushdown.py``), so the
residual query re-checks Graph's case-insensitive answer with it.

``O365SQL_TEXT_AS(text, type, what)`` reads text known only at run time as the type of what it
is compared with (``planning/typed_text.py``); text that is no such value raises the
``DataError`` the function stored, which :func:`raised` hands to the caller of SQLite (SQLite
itself only says "user-defined function raised exception").
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
from typing import Any

from ..exceptions import Error
from ..planning.pushdown import CONTAINS_VALUE
from ..planning.typed_text import TEXT_AS, runtime_read

__all__ = ["contains_value", "like", "lower", "raised", "register", "upper"]


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


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    folded = char.casefold()
    if len(folded) == 1:
        return folded
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


def fold(text: str) -> str:
    """``text`` with each character folded to one character (see the module docstring)."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


@functools.lru_cache(maxsize=512)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if escape is not None and char == escape:
            following = next(chars, None)
            if following is None:
                raise ValueError("LIKE pattern ends with its ESCAPE character")
            parts.append(re.escape(fold(following)))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(fold(char)))
    return re.compile("".join(parts), re.DOTALL)


def like(pattern: Any, value: Any, escape: Any = None) -> int | None:
    """SQLite's ``like(pattern, value[, escape])`` (``value LIKE pattern``), Unicode-aware."""
    if pattern is None or value is None:
        return None
    if escape is not None and (not isinstance(escape, str) or len(escape) != 1):
        raise ValueError("ESCAPE expression must be a single character")
    pattern, value = str(pattern), _text(value)
    return int(_like_regex(pattern, escape).fullmatch(fold(value)) is not None)


def upper(value: Any) -> Any:
    """``UPPER`` for every alphabet (non-text values pass through as in SQLite)."""
    return value.upper() if isinstance(value, str) else _numeric_text(value, str.upper)


def lower(value: Any) -> Any:
    """``LOWER`` for every alphabet."""
    return value.lower() if isinstance(value, str) else _numeric_text(value, str.lower)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def _numeric_text(value: Any, change: Any) -> Any:
    # SQLite's upper(5) is the text '5': keep that (numbers have no case).
    return None if value is None else change(_text(value))


_FAILED = threading.local()


def _text_as(value: Any, form: Any, what: Any) -> Any:
    try:
        return runtime_read(value, str(form), str(what))
    except Error as exc:
        _FAILED.error = exc
        raise


def raised(exc: sqlite3.Error) -> Error | None:
    """The o365sql error a function of this module raised inside SQLite, if ``exc`` is
    SQLite's report of it (taken: a later failure cannot see it again)."""
    error: Error | None = getattr(_FAILED, "error", None)
    _FAILED.error = None
    return error if "user-defined function raised exception" in str(exc) else None


def register(db: sqlite3.Connection) -> None:
    """Add o365sql's functions to a private SQLite connection."""
    db.create_function(TEXT_AS, 3, _text_as, deterministic=True)
    db.create_function(CONTAINS_VALUE, -1, contains_value, deterministic=True)
    db.create_function("like", 2, like, deterministic=True)
    db.create_function("like", 3, like, deterministic=True)
    db.create_function("upper", 1, upper, deterministic=True)
    db.create_function("lower", 1, lower, deterministic=True)
