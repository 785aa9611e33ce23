"""``$filter`` binding: syntax tree + resource rules → a compiled predicate over item dicts.

Stage: emulator, OData query engine (binding and compiling). Takes the ``odata.parser`` tree,
checks every node against the resource's ``ResourceRules`` (properties and types from
``odata.schema``, operator support per graph-semantics §2.4/§3, directory default vs advanced
mode per §3.11) and hands ``odata.query`` a ``BoundFilter``: a closure built once per request
plus the properties the filter names, in source order (for the InefficientFilter rule, §3.1).

Evaluation follows OData: a comparison with a null property is false, except ``eq null`` (true)
and ``ne`` (true when the property is null or differs); items whose filter is false are left out.

Performance: given ``fields`` (a collection of compact records, ``tenant.record_view.RecordItems``)
the predicate reads records, not item dicts: each top-level property is built alone from the
record (``fields.getter``), and a DateTimeOffset the record holds as seconds
(``fields.instant``) is compared as an integer, its text never made. Such comparisons that are
conjuncts of the whole filter are also handed back as ``bounds``, so the engine can cut a
collection already ordered by that property with a binary search before filtering the rest.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..errors import GraphError
from . import errors as err
from .lexer import FilterSyntaxError
from .parser import BoolOp, Call, Compare, In, Lambda, Literal, Node, Not, Path, parse_filter
from .rules import LambdaRule, ResourceRules
from .schema import ENUMS, PropertyIndex, PropType
from .values import instant_key, literal_edm, literal_fits, literal_key, normalizer

Item = Mapping[str, Any]
Predicate = Callable[[Any], bool]
Getter = Callable[[Any], Any]

_MIRROR = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge", "has": "has"}
_STRING_FUNCTIONS = frozenset({"startswith", "endswith", "contains"})
# OData's other canonical functions: Graph parses them, Exchange and the directory refuse them.
_ODATA_FUNCTIONS = frozenset({
    "tolower", "toupper", "trim", "length", "indexof", "substring", "concat", "year", "month",
    "day", "hour", "minute", "second", "fractionalseconds", "date", "time", "now",
    "totaloffsetminutes", "maxdatetime", "mindatetime", "totalseconds", "round", "floor",
    "ceiling", "cast", "isof", "matchespattern", "hassubset", "hassubsequence",
})


class Fields(Protocol):
    """Where a predicate over compact records reads top-level properties (``RecordItems``)."""

    def getter(self, prop: str) -> Getter: ...

    def instant(self, prop: str) -> Callable[[Any], int] | None: ...


@dataclass(frozen=True)
class BoundFilter:
    predicate: Predicate
    properties: tuple[str, ...]
    on_records: bool = False  # the predicate reads records through ``fields``
    # Conjuncts of the whole filter that compare a record's instant: (property, op, the
    # literal in POSIX microseconds); an item is kept only if every one of them holds.
    bounds: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class _Scope:
    """A lambda's range variable: its name, item type, collection and the lambda's rule."""

    variable: str
    element: PropType
    collection: str
    rule: LambdaRule


def compile_filter(text: str, rules: ResourceRules, *, advanced: bool,
                   fields: Fields | None = None) -> BoundFilter:
    """Parse, check and compile a decoded ``$filter`` value; raises GraphError. With
    ``fields`` the predicate takes records (see the module docstring)."""
    try:
        tree = parse_filter(text)
    except FilterSyntaxError as exc:
        raise err.filter_syntax(rules, exc.detail) from None
    if rules.max_filter_height is not None:
        height = _height(tree)
        if height > rules.max_filter_height:
            raise err.excessive_height(height, rules.max_filter_height)
    binder = _Binder(rules, advanced, fields)
    predicate = binder.predicate(tree, None)
    bounds = tuple(binder.bounds[id(part)] for part in _flatten(tree, "and")
                   if id(part) in binder.bounds)
    return BoundFilter(predicate, tuple(binder.properties), fields is not None, bounds)


def _height(node: Node) -> int:
    """Directory filter-tree height: and/or chains are one level each, ``in`` is an or-level."""
    if isinstance(node, BoolOp):
        return 1 + max(_height(child) for child in _flatten(node, node.op))
    if isinstance(node, Not):
        return _height(node.operand)
    if isinstance(node, In):
        return 2 if len(node.values) > 1 else 1
    return 1


def _flatten(node: Node, op: str) -> list[Node]:
    if isinstance(node, BoolOp) and node.op == op:
        return _flatten(node.left, op) + _flatten(node.right, op)
    return [node]


def _count_getter(inner: Getter) -> Getter:
    return lambda item: len(inner(item) or ())


def _getter(names: tuple[str, ...]) -> Getter:
    if len(names) == 0:
        return lambda value: value
    if len(names) == 1:
        (key,) = names
        return lambda item: item.get(key) if isinstance(item, dict) else None

    def walk(item: Any) -> Any:
        for key in names:
            if not isinstance(item, dict):
                return None
            item = item.get(key)
        return item

    return walk


class _Binder:
    def __init__(self, rules: ResourceRules, advanced: bool, fields: Fields | None) -> None:
        self.rules = rules
        self.index = PropertyIndex(rules.entity)
        self.advanced = advanced
        self.fields = fields
        self.properties: list[str] = []
        self.negated = 0
        self.bounds: dict[int, tuple[str, str, int]] = {}  # by id() of the Compare node

    def top_getter(self, names: tuple[str, ...]) -> Getter:
        """The getter of a path from the item (a record when ``fields`` is given)."""
        if self.fields is None:
            return _getter(names)
        first = self.fields.getter(names[0])
        if len(names) == 1:
            return first
        rest = _getter(names[1:])
        return lambda record: rest(first(record))

    # -- paths -----------------------------------------------------------------------------
    def resolve(self, path: Path, scope: _Scope | None) -> tuple[Getter, PropType, str]:
        """Getter, type and canonical path (``from/emailAddress/address``) of a path."""
        segments = path.segments
        if scope is not None and segments[0] == scope.variable:
            ptype, names, canonical = scope.element, [], scope.collection
            rest = segments[1:]
            if rest and scope.rule.members is not None and \
                    rest[0].lower() not in {m.lower() for m in scope.rule.members}:
                raise err.invalid_node(self.rules)
        elif scope is not None:  # the outer item inside a lambda body: not run by Graph
            raise err.invalid_node(self.rules)
        else:
            found = self.index.top(segments[0])
            if found is None:
                raise err.unknown_property(self.rules, segments[0])
            name, ptype = found
            names, canonical, rest = [name], name, segments[1:]
        for position, seg in enumerate(rest):
            if seg == "$count" and ptype.collection and position == len(rest) - 1:
                self.directory_check(canonical.split("/")[0], "count")
                if not self.rules.is_directory:
                    raise err.invalid_node(self.rules)
                getter = self.top_getter(tuple(names)) if scope is None else _getter(tuple(names))
                return _count_getter(getter), PropType("Int32", "primitive"), canonical
            if ptype.collection or ptype.kind != "complex":
                raise err.filter_syntax(
                    self.rules, f"The parent value for a property access of a property '{seg}' "
                    "is not a single value. Property access can only be applied to a single "
                    "value.")
            found = self.index.member(ptype.name, seg)
            if found is None:
                raise err.unknown_property(self.rules, seg, f"microsoft.graph.{ptype.name}")
            member, ptype = found
            names.append(member)
            canonical = f"{canonical}/{member}"
        if scope is None:
            self.note(canonical)
            return self.top_getter(tuple(names)), ptype, canonical
        return _getter(tuple(names)), ptype, canonical

    def note(self, canonical: str) -> None:
        if canonical not in self.properties:
            self.properties.append(canonical)

    # -- directory capability checks (graph-semantics §3.9, §3.11) ---------------------------
    def directory_check(self, prop: str, op: str) -> None:
        table = self.rules.directory_filter
        if table is None:
            return
        if op == "contains":
            raise err.contains_unsupported()
        entry = table.get(prop)
        mode = entry.get(op) if entry else None
        if mode is None and entry and op == "in":
            mode = entry.get("eq")  # "in is supported by default wherever eq is" (§3.11)
        if mode is None and entry and op in ("ne", "not", "count") and "eq" in entry:
            mode = "advanced"  # every property that supports eq supports ne/not when advanced
        if mode is None:
            if prop == "id" and op in ("ge", "le", "gt", "lt"):
                raise err.not_indexed()
            raise err.unsupported_property_clause(self.rules, prop)
        if mode == "advanced" and not self.advanced:
            if op in ("ne", "not", "endswith", "null", "count"):
                raise err.unsupported_query()
            raise err.unsupported_property_clause(self.rules, prop)

    def check_op(self, canonical: str, op: str, scope: _Scope | None) -> None:
        if scope is not None and op not in scope.rule.ops:
            raise err.invalid_node(self.rules)
        top = canonical.split("/")[0]
        self.directory_check(top, op)
        if self.negated:
            self.directory_check(top, "not")

    # -- expressions -----------------------------------------------------------------------
    def predicate(self, node: Node, scope: _Scope | None) -> Predicate:
        if isinstance(node, BoolOp):
            return self.bool_op(node, scope)
        if isinstance(node, Not):
            self.negated += 1
            inner = self.predicate(node.operand, scope)
            self.negated -= 1
            return lambda item: not inner(item)
        if isinstance(node, Compare):
            return self.compare(node, scope)
        if isinstance(node, In):
            return self.in_(node, scope)
        if isinstance(node, Call):
            return self.call(node, scope)
        if isinstance(node, Lambda):
            return self.lambda_(node, scope)
        if isinstance(node, Path):
            getter, ptype, canonical = self.resolve(node, scope)
            if ptype.name != "Boolean" or ptype.collection:
                raise err.not_boolean(self.rules)
            self.check_op(canonical, "eq", scope)
            return lambda item: getter(item) is True
        if isinstance(node, Literal) and node.kind == "bool":
            value = bool(node.value)
            return lambda item: value
        raise err.not_boolean(self.rules)

    def bool_op(self, node: BoolOp, scope: _Scope | None) -> Predicate:
        parts = _flatten(node, node.op)
        limit = self.rules.in_limit
        if node.op == "or" and limit is not None and len(parts) > limit:
            raise err.too_many_or_clauses(len(parts), limit)
        preds = [self.predicate(part, scope) for part in parts]
        if node.op == "and":
            if len(preds) == 2:
                a, b = preds
                return lambda item: a(item) and b(item)
            return lambda item: all(p(item) for p in preds)
        if len(preds) == 2:
            a, b = preds
            return lambda item: a(item) or b(item)
        return lambda item: any(p(item) for p in preds)

    def compare(self, node: Compare, scope: _Scope | None) -> Predicate:
        left, right, op = node.left, node.right, node.op
        if isinstance(left, Literal) and not isinstance(right, Literal):
            left, right, op = right, left, _MIRROR[op]
        if isinstance(left, (Call, Not, Lambda, BoolOp)) and isinstance(right, Literal) \
                and right.kind == "bool" and op in ("eq", "ne"):
            inner = self.predicate(left, scope)
            wanted = bool(right.value) == (op == "eq")
            return inner if wanted else (lambda item: not inner(item))
        if op == "has" or not isinstance(left, Path) or not isinstance(right, Literal):
            raise err.invalid_node(self.rules)
        getter, ptype, canonical = self.resolve(left, scope)
        if right.kind == "null":
            self.check_op(canonical, "null", scope)
            if op == "ne":
                self.check_op(canonical, "ne", scope)
            if op == "eq":
                return lambda item: getter(item) is None
            if op == "ne":
                return lambda item: getter(item) is not None
            return lambda item: False  # null in a relational comparison is never true
        self.check_type(ptype, right, op)
        self.check_op(canonical, op, scope)
        self.check_length(canonical, right)
        ordering = op not in ("eq", "ne")
        norm = normalizer(ptype, ordering=ordering)
        key = literal_key(ptype, right.kind, right.value, ordering=ordering)
        if scope is None and "/" not in canonical:
            instant = self.fields.instant(canonical) if self.fields is not None else None
            micros = _micros(key) if instant is not None and ordering and \
                ptype.name == "DateTimeOffset" and not ptype.collection else None
            if instant is not None and micros is not None:
                self.bounds[id(node)] = (canonical, op, micros)
                return _record_instant(instant, op, micros)
            get = getter if self.fields is not None else operator.methodcaller("get", canonical)
            fast = _top_level_equality(get, ptype, op, key) if op in ("eq", "ne") else \
                _top_level_instant(get, ptype, op, key)
            if fast is not None:
                return fast
        return _comparison(getter, norm, op, key)

    def check_length(self, canonical: str, literal: Literal) -> None:
        """Directory string values are at most 120 characters (graph-semantics §2.4, §13.10)."""
        limit = self.rules.eq_value_limit
        if limit is not None and literal.kind == "string" and len(str(literal.value)) > limit:
            raise err.unsupported_property_clause(self.rules, canonical.split("/")[0])

    def check_type(self, ptype: PropType, literal: Literal, op: str) -> None:
        if ptype.collection or not literal_fits(ptype, literal.kind):
            left = f"Collection({ptype.edm})" if ptype.collection else ptype.edm
            raise err.incompatible_types(self.rules, left, literal_edm(literal.kind,
                                                                       literal.value), op)
        if ptype.kind == "enum":
            members = {m.casefold() for m in ENUMS[ptype.name]}
            if str(literal.value).casefold() not in members:
                raise err.invalid_enum(self.rules, str(literal.value))

    def in_(self, node: In, scope: _Scope | None) -> Predicate:
        if not isinstance(node.left, Path) or \
                not all(isinstance(v, Literal) for v in node.values):
            raise err.invalid_node(self.rules)
        limit = self.rules.in_limit
        if limit is not None and len(node.values) > limit:
            raise err.too_many_or_clauses(len(node.values), limit)
        getter, ptype, canonical = self.resolve(node.left, scope)
        keys = set()
        has_null = False
        for value in node.values:
            assert isinstance(value, Literal)
            if value.kind == "null":
                has_null = True
                continue
            self.check_type(ptype, value, "in")
            self.check_length(canonical, value)
            keys.add(literal_key(ptype, value.kind, value.value))
        self.check_op(canonical, "in", scope)
        norm = normalizer(ptype)

        def member(item: Any) -> bool:
            value = getter(item)
            if value is None:
                return has_null
            return norm(value) in keys

        return member

    def call(self, node: Call, scope: _Scope | None) -> Predicate:
        name = node.name
        if name not in _STRING_FUNCTIONS:
            if name in _ODATA_FUNCTIONS or name in ("any", "all"):
                raise err.invalid_node(self.rules)
            raise err.unknown_function(self.rules, name)
        if self.rules.is_directory:
            if name == "contains":
                raise err.contains_unsupported()
        elif name not in self.rules.string_functions:
            raise err.invalid_node(self.rules)  # endswith on Outlook (§2.4, dotnet#2572)
        if len(node.args) != 2:
            raise err.bad_function_args(self.rules, name)
        target, needle = node.args
        if isinstance(target, Literal) and isinstance(needle, Path):
            raise err.invalid_node(self.rules)
        if not isinstance(target, Path) or not isinstance(needle, Literal) or \
                needle.kind != "string":
            raise err.bad_function_args(self.rules, name)
        getter, ptype, canonical = self.resolve(target, scope)
        if ptype.collection or ptype.kind != "primitive" or ptype.name != "String":
            raise err.bad_function_args(self.rules, name)
        self.check_op(canonical, name, scope)
        self.check_length(canonical, needle)
        text = str(needle.value).casefold()

        def test(item: Any) -> bool:
            value = getter(item)
            if not isinstance(value, str):
                return False
            value = value.casefold()
            if name == "startswith":
                return value.startswith(text)
            if name == "endswith":
                return value.endswith(text)
            return text in value

        return test

    def lambda_(self, node: Lambda, scope: _Scope | None) -> Predicate:
        if scope is not None:  # nested lambdas
            raise err.invalid_node(self.rules)
        getter, ptype, canonical = self.resolve(node.collection, None)
        if not ptype.collection:
            raise err.filter_syntax(self.rules, "Any/All may only be used following a collection.")
        rule = self.rules.lambdas.get(canonical)
        if rule is None or node.kind == "all":  # "all isn't supported in Microsoft Graph" (§2.1)
            raise err.invalid_node(self.rules)
        if node.body is None:
            if self.negated:
                self.directory_check(canonical, "not")
            return lambda item: bool(getter(item))
        inner_scope = _Scope(str(node.variable), ptype.element(), canonical, rule)
        body = self.predicate(node.body, inner_scope)

        def any_(item: Any) -> bool:
            values = getter(item)
            if not values:
                return False
            for value in values:
                if body(value):
                    return True
            return False

        return any_


def _top_level_equality(get: Getter, ptype: PropType, op: str, key: Any) -> Predicate | None:
    """Specialised closures for the commonest filters (``isRead eq false``, ``subject eq 'x'``):
    they read the property directly instead of going through normaliser calls."""
    if ptype.kind != "primitive":
        return None
    if ptype.name == "Boolean":
        if op == "eq":
            return lambda item: get(item) is key
        return lambda item: get(item) is not key
    if ptype.name == "String":
        if op == "eq":
            return lambda item: type(v := get(item)) is str and v.casefold() == key
        return lambda item: type(v := get(item)) is not str or v.casefold() != key
    return None


_RELATIONAL = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


def _micros(key: Any) -> int | None:
    """POSIX microseconds of an instant key (``values.instant_key``'s UTC text); None if it is
    not one. Text order of the keys is time order, so comparing these is comparing the keys."""
    if not isinstance(key, str) or len(key) < 19:
        return None
    fraction = key[19:]
    if fraction and (fraction[0] != "." or not fraction[1:].isdigit() or len(fraction) > 7):
        return None
    try:
        moment = datetime.fromisoformat(key[:19]).replace(tzinfo=UTC)
    except ValueError:
        return None
    whole = (moment - _EPOCH).days * 86400 + (moment - _EPOCH).seconds
    return whole * 1_000_000 + (int(fraction[1:].ljust(6, "0")) if fraction else 0)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _record_instant(instant: Callable[[Any], int], op: str, micros: int) -> Predicate:
    """A comparison of a record's whole-second instant with a literal, in integers."""
    compare = _RELATIONAL[op]
    return lambda record: bool(compare(instant(record) * 1_000_000, micros))


def _top_level_instant(get: Getter, ptype: PropType, op: str, key: Any) -> Predicate | None:
    """``receivedDateTime ge 2024-01-01T00:00:00Z`` and friends, with instant_key's fast path
    for Graph's own ``...Z`` timestamps inlined (the range clause the InefficientFilter
    workaround puts in front of most mail filters)."""
    if ptype.name != "DateTimeOffset" or ptype.collection:
        return None
    compare = _RELATIONAL[op]

    def test(item: Any) -> bool:
        value = get(item)
        if type(value) is not str:
            return False
        moment = value[:19] if len(value) == 20 and value[19] == "Z" else instant_key(value)
        return moment is not None and compare(moment, key)

    return test


def _comparison(getter: Getter, norm: Callable[[Any], Any], op: str, key: Any) -> Predicate:
    if op == "eq":
        return lambda item: (v := getter(item)) is not None and norm(v) == key
    if op == "ne":
        return lambda item: (v := getter(item)) is None or norm(v) != key

    def relational(item: Any) -> bool:
        value = getter(item)
        if value is None:
            return False
        value = norm(value)
        if value is None:
            return False
        if op == "gt":
            return bool(value > key)
        if op == "ge":
            return bool(value >= key)
        if op == "lt":
            return bool(value < key)
        return bool(value <= key)

    return relational


__all__ = ["BoundFilter", "Fields", "GraphError", "compile_filter"]
