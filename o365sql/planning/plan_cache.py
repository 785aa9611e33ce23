"""Plan stage, repeated statements: a plan cache keyed on statement text and parameter types.

Planning a statement (binding values into a copy of the resolved AST, typing it, choosing the
requests, rendering the residual SQL) costs milliseconds; sending a page to Graph may cost
about one. A statement executed again with parameters of the same types gets a plan without
any of that: only the new values are put into the places the old values took.

How those places are found without teaching every planner rule about parameters: the planner
is run for real on the first two executions of a statement whose values differ, and the two
plans are compared field by field (:func:`_diff`). Where they differ, each difference must be
explained by one parameter's value through a known rendering (the value itself, its SQL/OData
quoted text, its storage text ...); a difference that is not (a value that changed the plan's
shape: another endpoint, a folder name resolved, a LIKE pattern pushed differently) makes the
statement uncacheable for those value classes, and it is planned in full every time. A plan is
instantiated from the template by copying only the objects on a path to a changed field; the
rest is shared (execution never mutates a plan).

Values take part in the key by class and by which of them are equal (:func:`_value_key`), not by value, except where the class
is not enough to keep the plan's shape: booleans, NULL and the numbers 0 and 1 (a boolean column
equals them), LIMIT/OFFSET counts (they
are compared with page sizes), strings by their shape (empty, length class, punctuation, all
dots, wildcards of a LIKE pattern, case, ASCII, ISO-date-like, number-like, a folder's or a
mailbox's well-known name; strings past 256 characters by value), and the size of all text. Values
equal in both sample executions are not known to be parameters of the template: it applies
only while they keep those values (``Template.fixed``).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from decimal import Decimal
from threading import Lock
from typing import Any

from ..catalog import Catalog
from ..conversion import datetime_to_storage, odata_literal

__all__ = ["PlanCache"]

_SEQUENCES = (list, tuple, set, frozenset)
_WILDCARDS = re.compile(r"[^%_\\]+")
_DATE_LIKE = re.compile(r"^\s*\d{4}-\d\d")
_NUMBER_LIKE = re.compile(r"^\s*[-+]?(\d|\.\d)")
_MARK = "\x00"

Key = tuple[Any, ...]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _aware_utc(value: _dt.datetime) -> _dt.datetime:
    """Naive datetimes are UTC (``bind.py``); aware ones are compared in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


def _renderings(value: Any) -> list[tuple[str, Callable[[Any], Any]]]:
    """The forms one parameter value may take inside a plan (identity first)."""
    forms: list[tuple[str, Callable[[Any], Any]]] = [("value", lambda v: v)]
    if isinstance(value, str):
        forms += [("quoted", _quoted), ("text", str)]
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        forms += [("text", str)]
    elif isinstance(value, float):
        forms += [("text", repr)]
    elif isinstance(value, Decimal):
        forms += [("text", str)]
    elif isinstance(value, _dt.datetime):
        forms += [("storage", datetime_to_storage), ("utc", _aware_utc),
                  ("odata", lambda v: odata_literal(_aware_utc(v), "Edm.DateTimeOffset")),
                  ("storage-quoted", lambda v: _quoted(datetime_to_storage(v)))]
    elif isinstance(value, (_dt.date, _dt.time)):
        forms += [("iso", lambda v: v.isoformat()),
                  ("iso-quoted", lambda v: _quoted(v.isoformat()))]
    return forms


@dataclasses.dataclass(frozen=True)
class _Slot:
    """One parameter value (``index`` into a sequence parameter, or None) through ``form``."""

    name: str
    index: int | None
    form: Callable[[Any], Any]

    def value(self, values: Mapping[str, Any]) -> Any:
        raw = values[self.name]
        return self.form(raw if self.index is None else raw[self.index])


class _Unexplained(Exception):
    """Two plans differ where no parameter explains it."""


# A template node: ("const", obj) | ("slot", _Slot) | ("text", pieces)
#                | ("object", original, ((field, node), ...)) | ("seq", type, (node, ...))
#                | ("dict", ((key, node), ...))
Node = tuple[Any, ...]


def _diff(a: Any, b: Any, slots: list[tuple[_Slot, Any, Any]], field: str = "") -> Node:
    """The template that gives ``a`` for the first values and ``b`` for the second."""
    if a is b:
        return ("const", a)
    if type(a) is not type(b):
        raise _Unexplained
    if isinstance(a, str):
        return ("const", a) if a == b else _text(a, b, slots)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        changed = []
        for f in dataclasses.fields(a):
            node = _diff(getattr(a, f.name), getattr(b, f.name), slots, f.name)
            if node[0] != "const":
                changed.append((f.name, node))
        return ("object", a, tuple(changed)) if changed else ("const", a)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            raise _Unexplained
        items = [_diff(x, y, slots, field) for x, y in zip(a, b)]
        if all(i[0] == "const" for i in items):
            return ("const", a)
        return ("seq", type(a), tuple(items))
    if isinstance(a, dict):
        if list(a) != list(b):
            raise _Unexplained
        entries = [(k, _diff(a[k], b[k], slots, field)) for k in a]
        if all(n[0] == "const" for _, n in entries):
            return ("const", a)
        return ("dict", tuple(entries))
    if isinstance(a, (set, frozenset)):
        if a == b:
            return ("const", a)
        raise _Unexplained
    if a == b:
        return ("const", a)
    if field in _BOUNDED:
        raise _Unexplained  # a count the planner clamps (``$top`` <= page size): not linear
    for slot, first, second in slots:
        one, two = _form(slot, first), _form(slot, second)
        if type(one) is type(a) and one == a and two == b:
            return ("slot", slot)
    raise _Unexplained


#: Plan fields holding counts the planner derives non-linearly from a value (min with a page
#: size, plus an OFFSET): a parameter there keeps the plan from being templated.
_BOUNDED = frozenset({"top", "limit", "row_limit", "offset"})


class _NoForm:
    """What a form gives for a value it does not apply to: equal to nothing."""


def _form(slot: _Slot, value: Any) -> Any:
    try:
        return slot.form(value)
    except Exception:  # noqa: BLE001 - a form that does not apply explains nothing
        return _NoForm()


def _text(a: str, b: str, slots: list[tuple[_Slot, Any, Any]]) -> Node:
    """A string made of constant text and rendered values."""
    if _MARK in a or _MARK in b:
        raise _Unexplained
    forms: list[tuple[int, str, str]] = []
    for position, (slot, first, second) in enumerate(slots):
        one, two = _form(slot, first), _form(slot, second)
        if isinstance(one, str) and isinstance(two, str) and one and two and one != two:
            forms.append((position, one, two))
    forms.sort(key=lambda f: -len(f[1]))
    for position, one, two in forms:
        count = a.count(one)
        if count and count == b.count(two):
            marker = f"{_MARK}{position}{_MARK}"
            a, b = a.replace(one, marker), b.replace(two, marker)
    if a != b:
        raise _Unexplained
    pieces: list[Any] = []
    for i, part in enumerate(a.split(_MARK)):
        if i % 2:
            pieces.append(slots[int(part)][0])
        elif part:
            pieces.append(part)
    return ("text", tuple(pieces))


Builder = Callable[[Mapping[str, Any]], Any]


def _used(node: Node) -> set[tuple[str, int | None]]:
    """The (parameter, item) places a template node takes values from."""
    kind = node[0]
    if kind == "slot":
        return {(node[1].name, node[1].index)}
    if kind == "text":
        return {(p.name, p.index) for p in node[1] if not isinstance(p, str)}
    children: Any = (
        (child for _, child in node[2]) if kind == "object" else
        node[2] if kind == "seq" else
        (child for _, child in node[1]) if kind == "dict" else ())
    used: set[tuple[str, int | None]] = set()
    for child in children:
        used |= _used(child)
    return used


def _compile(node: Node) -> Builder:
    """A function that makes the plan for new values (closures: no dispatch per execute)."""
    kind = node[0]
    if kind == "const":
        obj = node[1]
        return lambda values: obj
    if kind == "slot":
        return node[1].value  # type: ignore[no-any-return]
    if kind == "text":
        parts: tuple[Any, ...] = tuple(p if isinstance(p, str) else p.value for p in node[1])

        def text(values: Mapping[str, Any]) -> str:
            return "".join([p if isinstance(p, str) else str(p(values)) for p in parts])
        return text
    if kind == "object":
        original = node[1]
        changed = tuple((name, _compile(child)) for name, child in node[2])
        if hasattr(original, "__dict__"):
            cls, state = type(original), original.__dict__

            def instance(values: Mapping[str, Any]) -> Any:
                clone = object.__new__(cls)
                fresh = dict(state)
                for name, build in changed:
                    fresh[name] = build(values)
                clone.__dict__.update(fresh)
                return clone
            return instance

        def slotted(values: Mapping[str, Any]) -> Any:  # pragma: no cover - no slotted plans
            clone = copy.copy(original)
            for name, build in changed:
                object.__setattr__(clone, name, build(values))
            return clone
        return slotted
    if kind == "seq":
        kind_of, items = node[1], tuple(_compile(child) for child in node[2])
        if kind_of is list:
            return lambda values: [build(values) for build in items]
        return lambda values: tuple([build(values) for build in items])
    entries = tuple((key, _compile(child)) for key, child in node[1])
    return lambda values: {key: build(values) for key, build in entries}


@dataclasses.dataclass
class _Entry:
    """What the cache knows of one key: a sample (values and their plan) until a second,
    different execution gives a template; ``fixed``: values the template does not vary."""

    values: dict[str, Any]
    plan: Any
    template: Builder | None = None
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    failures: int = 0


#: After this many executions whose plans could not be templated, stop trying for the key.
_MAX_FAILURES = 3


class PlanCache:
    """Plans by (statement text, settings, parameter value classes), bounded LRU."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._lock = Lock()
        self._special: dict[int, tuple[Catalog, frozenset[str]]] = {}
        self.hits = 0
        self.misses = 0

    def plan(self, sql: str, settings: tuple[Any, ...], values: dict[str, Any],
             catalog: Catalog, counted: frozenset[str], build: Callable[[], Any]) -> Any:
        """The plan of ``sql`` for ``values``: from the cache, or ``build()`` (then cached).

        ``counted``: names of parameters bound to LIMIT/OFFSET (keyed by value).
        """
        special = self._special_words(catalog)
        try:
            key = (sql, id(catalog), settings,
                   tuple((n, _value_key(v, special, n in counted)) for n, v in values.items()),
                   _equalities(values), _text_size(values))
            hash(key)
        except (TypeError, ArithmeticError):
            return build()  # a value no class describes (a NaN): binding will say what is wrong
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None:
            if entry.template is not None and all(
                    _same(values[n], v) for n, v in entry.fixed.items()):
                self.hits += 1
                return entry.template(_normalised(values))
            if entry.template is None and _same_values(entry.values, values):
                self.hits += 1
                return entry.plan
        self.misses += 1
        plan = build()
        if entry is None:
            with self._lock:
                self._entries[key] = _Entry(values=dict(values), plan=plan)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        elif entry.failures < _MAX_FAILURES:
            self._learn(entry, values, plan)
        return plan

    def _learn(self, entry: _Entry, values: dict[str, Any], plan: Any) -> None:
        first, second = _normalised(entry.values), _normalised(values)
        slots: list[tuple[_Slot, Any, Any]] = []
        fixed: dict[str, Any] = {}
        for name, one in first.items():
            two = second[name]
            if _same(one, two):
                fixed[name] = values[name]
                continue
            items = list(zip(one, two)) if isinstance(one, list) else [(one, two)]
            for index, (x, y) in enumerate(items):
                if _same(x, y):
                    continue  # an item equal in both: explained by no slot, kept constant
                for _, form in _renderings(x):
                    slots.append((_Slot(name, index if isinstance(one, list) else None,
                                        form), x, y))
            if isinstance(one, list) and any(_same(x, y) for x, y in items):
                fixed[name] = values[name]  # partly varying sequences: not a parameter yet
        try:
            node = _diff(entry.plan, plan, slots)
            template: Builder | None = _compile(node)
        except (_Unexplained, RecursionError):  # a plan too deep to walk is planned each time
            template = None
        else:
            # A value that differed between the two executions but left no trace in either
            # plan (``IsRead = 2`` and ``= 7`` both read nothing) is not known to be a
            # parameter: another value of it (``= 0``) may plan otherwise. The template serves
            # only while it keeps this value.
            used = _used(node)
            for slot, _, _ in slots:
                if not used & {(slot.name, slot.index), (slot.name, None)}:
                    fixed[slot.name] = values[slot.name]
        if template is None:
            entry.failures += 1
            entry.values, entry.plan = dict(values), plan
            return
        entry.template, entry.fixed = template, fixed

    def _special_words(self, catalog: Catalog) -> frozenset[str]:
        hit = self._special.get(id(catalog))
        if hit is not None and hit[0] is catalog:
            return hit[1]
        words = {"true", "false", "null", "me"}
        for table in catalog.tables.values():
            words.update(n.lower() for n in getattr(table, "well_known_folders", ()))
            for column in table.columns:
                if isinstance(column.default_value, str):
                    words.add(column.default_value.lower())
        result = frozenset(words)
        self._special[id(catalog)] = (catalog, result)
        return result

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _same_values(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    """Sequences as lists in binding order (sets sorted as ``bind.py`` sorts them)."""
    result: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, (set, frozenset)):
            result[name] = sorted(value, key=repr)
        elif isinstance(value, (list, tuple)):
            result[name] = list(value)
        else:
            result[name] = value
    return result


def _text_size(values: Mapping[str, Any]) -> int:
    """All the text the values may add to a request, percent-encoded at worst, in 256-byte
    steps: the planner keeps a request within Graph's URL length."""
    size = 0
    for value in values.values():
        for item in value if isinstance(value, _SEQUENCES) else (value,):
            if isinstance(item, str):
                size += 3 * len(item.encode("utf-8", "surrogatepass"))
    return size // 256


def _equalities(values: Mapping[str, Any]) -> tuple[tuple[int, ...], ...]:
    """Which values (parameters and the items of sequences) equal an earlier one, as Python
    compares them (``False == 0``) and as text without case: equal values merge (one request
    for ``IN (?, ?)`` bound to one folder twice)."""
    flat: list[Any] = []
    for value in values.values():
        if isinstance(value, _SEQUENCES):
            flat.extend(value)
        else:
            flat.append(value)
    if len(flat) < 2:
        return ()
    patterns = []
    for fold in (False, True):
        seen: dict[Any, int] = {}
        pattern = []
        for position, value in enumerate(flat):
            if fold and isinstance(value, str):
                value = value.casefold()
            try:
                pattern.append(seen.setdefault(value, position))
            except TypeError:  # unhashable: never merged by the planner either
                pattern.append(position)
        patterns.append(tuple(pattern))
    return tuple(patterns)


def _value_key(value: Any, special: frozenset[str], counted: bool) -> Any:
    """The class of one parameter value that the cache key holds (module docstring)."""
    if value is None or isinstance(value, bool) or counted:
        return (type(value).__name__, repr(value))
    if isinstance(value, str):
        return ("str", _text_shape(value, special))
    if isinstance(value, _dt.datetime):
        return ("datetime", value.tzinfo is not None)
    if isinstance(value, Decimal) and not value.is_finite() or \
            isinstance(value, float) and not math.isfinite(value):
        raise ArithmeticError("not a finite number")  # refused by binding; not cached
    if isinstance(value, (int, float, Decimal)) and value in (0, 1):
        # 0 and 1 are what a boolean column equals (``IsRead = 0`` is sent as isRead eq
        # false; ``IsRead = 2`` matches nothing): keyed by value, as booleans are.
        return (type(value).__name__, repr(value))
    if isinstance(value, (int, float, Decimal)):
        # The sign and an exponent change how SQL and OData write the number.
        negative = value.is_signed() if isinstance(value, Decimal) else value < 0
        return (type(value).__name__, negative, "e" in str(value).lower())
    if isinstance(value, _SEQUENCES):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return (type(value).__name__, tuple(_value_key(v, special, False) for v in items))
    return (type(value).__name__,)


#: Longer strings are keyed by value (never templated): their length decides plans (ids
#: longer than any id read nothing, a $filter past Graph's URL length stays local).
_LONG = 256


def _text_shape(value: str, special: frozenset[str]) -> tuple[Any, ...]:
    if len(value) > _LONG:
        return ("long", value)
    lowered = value.lower()
    return (lowered if lowered in special else None, len(value).bit_length(),
            frozenset(c for c in value if not c.isalnum()), not value.strip("."),
            _WILDCARDS.sub("x", value) if ("%" in value or "_" in value or "\\" in value)
            else bool(value),
            value.isascii(), value.islower(), value.isupper(), _MARK in value,
            value != value.strip(), bool(_DATE_LIKE.match(value)),
            bool(_NUMBER_LIKE.match(value)))
