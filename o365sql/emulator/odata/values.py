"""How the OData engine compares Graph JSON values: normalisers and sort keys per EDM type.

Stage: emulator, OData query engine (values). Used by ``odata.filter`` (comparisons),
``odata.query`` (``$orderby``) and ``odata.search``.

Rules, with their sources:
* strings compare case-insensitively on every resource: directory ``eq``/``startswith`` are
  case-insensitive (graph-semantics §2.3, doc example ``startswith(displayName,'mary')``) and
  Exchange restrictions are treated the same way (§2.3, inferred);
* DateTimeOffset values compare by instant: every value (item or literal, ``Z`` or offset, with
  or without fractional seconds, or a bare date on Outlook, §2.2) becomes a UTC text key
  ``YYYY-MM-DDTHH:MM:SS[.fraction]`` whose text order is the time order;
* GUIDs compare case-insensitively, enums by member name case-insensitively (ordering by the
  member's position in the CSDL, as OData orders enums by value).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .schema import ENUMS, PropType

Normalizer = Callable[[Any], Any]


def instant_key(text: Any) -> str | None:
    """The UTC text key of an ISO 8601 date/time (None for a value that is not one)."""
    if not isinstance(text, str):
        return None
    # Fast path: Graph writes its own timestamps as "2024-01-01T00:00:00Z".
    if len(text) == 20 and text[19] == "Z" and text[10] == "T":
        return text[:19]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:  # Graph's dateTimeTimeZone strings carry no offset: UTC (§10)
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    key = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if len(key) != 19:  # years before 1000 print short on some platforms; pad for text order
        key = f"{moment.year:04d}{key[key.index('-'):]}"
    if moment.microsecond:
        key += f".{moment.microsecond:06d}".rstrip("0")
    return key


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _guid(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _bool(value: Any) -> Any:
    return value if isinstance(value, bool) else None


def _enum_position(members: tuple[str, ...]) -> Normalizer:
    index = {m.casefold(): i for i, m in enumerate(members)}

    def position(value: Any) -> Any:
        return index.get(value.casefold(), len(index)) if isinstance(value, str) else None

    return position


def normalizer(ptype: PropType, *, ordering: bool = False) -> Normalizer:
    """The function that turns a JSON value of ``ptype`` into its comparison key."""
    if ptype.kind == "enum":
        return _enum_position(ENUMS[ptype.name]) if ordering else _fold
    name = ptype.name
    if name == "DateTimeOffset":
        return instant_key
    if name == "String":
        return _fold
    if name == "Guid":
        return _guid
    if name in ("Int32", "Int64", "Double"):
        return _number
    if name == "Boolean":
        return _bool
    return lambda value: value  # Date (YYYY-MM-DD sorts as text), Binary


def literal_edm(kind: str, value: object) -> str:
    """The EDM type name ODL reports for a literal."""
    if kind == "int":
        # The lexer makes every int literal a Python int (odata_lexer).
        return "Edm.Int32" if isinstance(value, int) and -(2**31) <= value < 2**31 else "Edm.Int64"
    return {
        "string": "Edm.String", "decimal": "Edm.Decimal", "datetime": "Edm.DateTimeOffset",
        "date": "Edm.Date", "guid": "Edm.Guid", "bool": "Edm.Boolean", "null": "null",
    }[kind]


_COMPATIBLE: dict[str, frozenset[str]] = {
    "String": frozenset({"string"}),
    "DateTimeOffset": frozenset({"datetime", "date"}),
    "Date": frozenset({"date"}),
    "Boolean": frozenset({"bool"}),
    "Int32": frozenset({"int"}),
    "Int64": frozenset({"int"}),
    "Double": frozenset({"int", "decimal"}),
    "Guid": frozenset({"guid"}),
}


def literal_fits(ptype: PropType, kind: str) -> bool:
    """Whether a literal of ``kind`` may be compared with a property of ``ptype`` (ODL rules;
    enums take their member name as a quoted string on Graph, §2.2)."""
    if kind == "null":
        return True
    if ptype.kind == "enum":
        return kind == "string"
    if ptype.kind != "primitive":
        return False
    if ptype.name in ("Int32", "Int64") and kind == "decimal":
        return True  # numeric promotion
    return kind in _COMPATIBLE.get(ptype.name, frozenset())


def literal_key(ptype: PropType, kind: str, value: object, *, ordering: bool = False) -> Any:
    """The comparison key of a literal already checked with ``literal_fits``."""
    if kind == "null":
        return None
    if kind == "date":
        return f"{value}T00:00:00" if ptype.name == "DateTimeOffset" else value
    if kind == "decimal":
        return float(str(value))
    return normalizer(ptype, ordering=ordering)(value)
