"""Convert stage: Graph JSON values to Python values per catalog column.

* Graph JSON → Python (:func:`graph_value`): ``Edm.DateTimeOffset`` → aware UTC ``datetime``;
  ``dateTimeTimeZone.dateTime`` strings (event start/end; catalog ``literal_form =
  "datetime-string"``) → *naive* ``datetime``, the wall-clock time in the sibling
  ``*_TimeZone`` column (UTC unless the caller asked Graph otherwise), as catalog.py documents;
  booleans, numbers and enum strings keep their types;
  collections and complex values → **compact JSON text** (``json.dumps`` with ``,``/``:``
  separators, non-ASCII kept), the one form o365sql reads and will accept for writes.

The other forms of each value (SQLite storage, OData literal, text read as a type) are defined
once in ``value_model.py``; the names other stages know from here are re-exported.

Bad values raise ``DataError`` naming the table and column.

The streaming scan reads many rows of the same few columns, so :func:`column_reader` builds,
once per column, a closure that does what :func:`graph_value` does with the path walk and the
type dispatch decided up front (same values, same errors), and :func:`column_values` converts a
whole page's column at once (the scans' path: a 1,000-message page of five columns converts in
about a third of the time the per-value readers take).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

from .exceptions import DataError
from .value_model import (
    NAIVE_DATETIME,
    STORAGE_AFFINITY,
    UTC,
    datetime_to_storage,
    from_storage,
    from_storage_values,
    odata_literal,
    parse_datetime,
    read_text,
    to_storage,
)

if TYPE_CHECKING:
    from .catalog import Column

__all__ = [
    "NAIVE_DATETIME",
    "STORAGE_AFFINITY",
    "UTC",
    "column_reader",
    "column_values",
    "datetime_to_storage",
    "extract",
    "from_storage",
    "from_storage_values",
    "graph_value",
    "is_naive_datetime",
    "odata_literal",
    "page_rows",
    "parse_datetime",
    "storage_values",
    "to_json_text",
    "to_storage",
]


# --------------------------------------------------------------------------- Graph → Python

def extract(entity: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a Graph entity; None when any step is missing or null."""
    value: Any = entity
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
        if value is None:
            return None
    return value


def graph_value(entity: dict[str, Any], column: Column, table: str) -> Any:
    """The Python value of ``column`` in one Graph entity.

    Raises:
        DataError: the JSON value cannot be read as the column's type.
    """
    raw = extract(entity, column.path)
    if raw is None:
        return None
    try:
        return _convert(raw, column, entity)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(
            f"cannot read {table}.{column.name} ({column.edm_type}) from Graph value "
            f"{_preview(raw)}: {exc}") from None


#: A per-column reader: one Graph entity in, the column's Python value out.
Reader = Callable[[Any], Any]


def column_reader(column: Column, table: str) -> Reader:
    """A function equal to ``lambda entity: graph_value(entity, column, table)``, but faster.

    The path walk is specialised by the path's length and the conversion chosen once by the
    column's types; values and ``DataError`` messages are the ones :func:`graph_value` gives.
    """
    get = _path_getter(column.path)
    convert = _converter(column)

    def read(entity: Any) -> Any:
        raw = get(entity)
        if raw is None:
            return None
        try:
            return convert(raw)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(
                f"cannot read {table}.{column.name} ({column.edm_type}) from Graph value "
                f"{_preview(raw)}: {exc}") from None

    return read


def storage_reader(column: Column, table: str) -> Reader:
    """Graph entity → the column's storage value (``to_storage(column_reader(...))``): the one
    conversion the live scans and the replica both use, so they store the same values."""
    read = column_reader(column, table)
    sql_type = column.sql_type
    return lambda entity: to_storage(read(entity), sql_type)


def column_values(column: Column, table: str, page: list[Any]) -> list[Any]:
    """``[column_reader(column, table)(entity) for entity in page]``, a column at a time.

    A page has a thousand entities of the same shape, so the path is walked and the common
    types are checked once per column with list comprehensions and ``set(map(type, ...))``
    rather than by two closure calls per value: strings and booleans whose JSON type is already
    the column's need no per-value work at all. Anything unusual on the page (an entity or a
    step that is no object, a value of another JSON type, text the fast datetime path refuses)
    sends the whole column through :func:`column_reader`, whose values and ``DataError``
    messages are the reference."""
    try:
        values = _walk(column.path, page)
        fast = _page_converter(column)
        if fast is not None:
            converted = fast(values)
            if converted is not None:
                return converted
    except (AttributeError, ValueError, TypeError, OverflowError, IndexError):
        pass
    read = column_reader(column, table)
    return [read(entity) for entity in page]


def storage_values(column: Column, table: str, page: list[Any]) -> list[Any]:
    """``[storage_reader(column, table)(entity) for entity in page]``, a column at a time."""
    sql_type = column.sql_type
    if sql_type == "DATETIME" and not is_naive_datetime(column):
        try:
            return [None if v is None else _utc_storage_text(v) for v in _walk(column.path, page)]
        except (AttributeError, ValueError, TypeError, IndexError):
            pass  # another form somewhere on the page: parse, then format
    values = column_values(column, table, page)
    if sql_type in _TEXT_TYPES and _only(values, _TEXT):
        return values
    if sql_type == "BOOLEAN":
        return [None if v is None else (1 if v else 0) for v in values]
    if sql_type == "DATETIME" and _only(values, _DATETIME):
        return [None if v is None else datetime_to_storage(v) for v in values]
    return [to_storage(v, sql_type) for v in values]


def page_rows(columns: Sequence[Column], table: str, page: list[Any], fixed: Mapping[str, Any],
              values: Callable[[Column, str, list[Any]], list[Any]] = column_values
              ) -> list[tuple[Any, ...]]:
    """One tuple per entity of ``page``, built a column at a time: a column whose lower-case
    name is in ``fixed`` holds that value in every row (pseudo-columns, columns a request's
    address fixes), the others ``values(column, table, page)`` (:func:`column_values`, or
    :func:`storage_values` for SQLite tables)."""
    if not columns:
        return [()] * len(page)
    cells: list[list[Any]] = []
    for column in columns:
        name = column.name.lower()
        cells.append([fixed[name]] * len(page) if name in fixed else values(column, table, page))
    return list(zip(*cells))


_TEXT_TYPES = ("VARCHAR", "TEXT", "GUID", "ENUM")
_NONE: type = type(None)
_TEXT: frozenset[type] = frozenset((str, _NONE))
_BOOLEAN: frozenset[type] = frozenset((bool, _NONE))
_DATETIME: frozenset[type] = frozenset((_dt.datetime, _NONE))


def _only(values: list[Any], types: frozenset[type]) -> bool:
    return set(map(type, values)) <= types


def _walk(path: tuple[str, ...], page: list[Any]) -> list[Any]:
    """:func:`extract` of every entity of a page; ``AttributeError`` or ``TypeError`` where an
    entity or an inner step is no JSON object (the caller then takes :func:`extract`'s
    per-value path)."""
    if not path:
        return list(page)  # the entity itself (a JSON column of the whole object)
    values = page
    for step in path:
        try:
            # dict.get mapped over the page runs in C; any value that is not a dict (a null
            # step, a scalar) raises TypeError, and the comprehension decides.
            values = list(map(dict.get, values, repeat(step)))
        except TypeError:
            values = [None if value is None else value.get(step) for value in values]
    return values


def _page_converter(column: Column) -> Callable[[list[Any]], list[Any] | None] | None:
    """A whole-page version of :func:`_converter` for the common column types; it returns
    None (or raises) when a value is not of the expected JSON type."""
    sql_type = column.sql_type
    if sql_type in _TEXT_TYPES:
        return lambda values: values if _only(values, _TEXT) else None
    if sql_type == "BOOLEAN":
        return lambda values: values if _only(values, _BOOLEAN) else None
    if sql_type == "DATETIME" and not is_naive_datetime(column):
        return _page_datetimes
    return None


def _page_datetimes(values: list[Any]) -> list[Any] | None:
    """:func:`_graph_datetime` of each value, inline for Graph's ``...Z`` form (a ValueError
    sends the column through the per-value path, which tries ``parse_datetime`` as well)."""
    if not _only(values, _TEXT):
        return None
    parse = _dt.datetime.fromisoformat
    return [None if v is None else
            parse(v) if len(v) >= 20 and v[-1] == "Z" and v[10] == "T" else parse_datetime(v)
            for v in values]


def _utc_storage_text(text: str) -> str:
    """``datetime_to_storage(_graph_datetime(text))`` for Graph's ``YYYY-MM-DDTHH:MM:SSZ``:
    the same digits, the ``T`` a space and no ``Z``, once ``fromisoformat`` has found them a
    real date and time (it reads ASCII digits only). Any other form raises ValueError."""
    if len(text) != 20 or text[10] != "T" or text[13] != ":" or text[16] != ":" or \
            text[19] != "Z":
        raise ValueError("not the plain UTC form")
    _dt.datetime.fromisoformat(text)
    return f"{text[:10]} {text[11:19]}"


def _path_getter(path: tuple[str, ...]) -> Reader:
    """:func:`extract` for one fixed path. JSON values other than objects have no ``get``
    (list, str, int, float, bool, None), hence the ``AttributeError`` meaning "not an object"."""
    if len(path) == 1:
        (first,) = path

        def get1(entity: Any) -> Any:
            try:
                return entity.get(first)
            except AttributeError:
                return None
        return get1
    if len(path) == 2:
        first, second = path

        def get2(entity: Any) -> Any:
            try:
                return entity.get(first).get(second)
            except AttributeError:
                return None
        return get2
    return lambda entity: extract(entity, path)


def _converter(column: Column) -> Callable[[Any], Any]:
    """The conversion :func:`_convert` would apply to a non-null value of ``column``."""
    sql_type = column.sql_type
    if sql_type == "DATETIME" and not is_naive_datetime(column):
        return _graph_datetime
    if sql_type == "BOOLEAN":
        return _boolean
    if sql_type in ("VARCHAR", "TEXT", "GUID", "ENUM"):
        def text(raw: Any) -> Any:
            # Strings are by far the common case; anything else takes the general path.
            return raw if type(raw) is str else _convert(raw, column, None)
        return text
    return lambda raw: _convert(raw, column, None)


def _graph_datetime(raw: Any) -> _dt.datetime:
    """An ``Edm.DateTimeOffset`` value as aware UTC, same as ``parse_datetime``.

    Graph writes ``2026-01-01T09:30:00Z`` or ``...:00.123Z`` (or seven fraction digits), which
    ``datetime.fromisoformat`` reads directly since Python 3.11 (``Z`` as UTC, fraction digits
    past six truncated, as ``parse_datetime`` truncates them); anything else, and any text it
    refuses, goes through ``parse_datetime``.
    """
    if not isinstance(raw, str):
        raise TypeError("expected an ISO 8601 string")
    if len(raw) >= 20 and raw[-1] == "Z" and raw[10] == "T":
        try:
            return _dt.datetime.fromisoformat(raw)
        except ValueError:
            pass
    return parse_datetime(raw)


def _boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError("expected true or false")
    return raw


def _convert(raw: Any, column: Column, entity: dict[str, Any] | None) -> Any:
    sql_type = column.sql_type
    if sql_type == "DATETIME":
        if not isinstance(raw, str):
            raise TypeError("expected an ISO 8601 string")
        if is_naive_datetime(column):
            return parse_datetime(raw).replace(tzinfo=None)
        return parse_datetime(raw)
    if sql_type == "DATE":
        if not isinstance(raw, str):
            raise TypeError("expected an ISO 8601 date string")
        return _dt.date.fromisoformat(raw[:10])
    if sql_type == "TIME":
        if not isinstance(raw, str):
            raise TypeError("expected an ISO 8601 time string")
        return read_text(raw, "TIME")
    if sql_type == "BOOLEAN":
        if not isinstance(raw, bool):
            raise TypeError("expected true or false")
        return raw
    if sql_type in ("INTEGER", "BIGINT"):
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise TypeError("expected an integer")
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError("expected an integer")
        return int(raw)
    if sql_type in ("DOUBLE", "DECIMAL"):
        if isinstance(raw, bool):
            raise TypeError("expected a number")
        if isinstance(raw, str) and raw in ("INF", "-INF", "NaN"):
            return float(raw.replace("INF", "inf"))
        return float(raw)
    if sql_type in ("BINARY", "VARBINARY"):
        if not isinstance(raw, str):
            raise TypeError("expected base64 text")
        return base64.b64decode(raw, validate=True)
    if isinstance(raw, (dict, list)) or sql_type == "JSON":
        return to_json_text(raw)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float)):
        return str(raw)
    if not isinstance(raw, str):
        raise TypeError(f"unexpected JSON value of type {type(raw).__name__}")
    return raw


def is_naive_datetime(column: Column) -> bool:
    """dateTimeTimeZone.dateTime columns hold naive wall-clock datetimes (catalog.py)."""
    return column.sql_type == "DATETIME" and (
        getattr(column, "literal_form", "") == "datetime-string" or column.edm_type == "Edm.String")


def to_json_text(value: Any) -> str:
    """The one JSON text form of collections and complex values."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _preview(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


