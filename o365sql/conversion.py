"""Convert stage: Graph JSON values to Python values per catalog column, and back out again.

Three directions, one place:

* Graph JSON → Python (:func:`graph_value`): ``Edm.DateTimeOffset`` → aware UTC ``datetime``;
  ``dateTimeTimeZone.dateTime`` strings (event start/end; catalog ``literal_form =
  "datetime-string"``) → *naive* ``datetime``, the wall-clock time in the sibling
  ``*_TimeZone`` column (UTC unless the caller asked Graph otherwise), as catalog.py documents;
  booleans, numbers and enum strings keep their types;
  collections and complex values → **compact JSON text** (``json.dumps`` with ``,``/``:``
  separators, non-ASCII kept), the one form o365sql reads and will accept for writes.
* Python ⇄ residual storage in SQLite (:func:`to_storage`, :func:`from_storage`): datetimes are
  stored as UTC text ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (same shape as SQLite's own ``datetime()``,
  so text order is time order), booleans as 0/1, JSON as text.
* Python value → OData literal (:func:`odata_literal`) for ``$filter`` (graph-semantics.md §2.2).

Bad values raise ``DataError`` naming the table and column.

The streaming scan reads many rows of the same few columns, so :func:`column_reader` builds,
once per column, a closure that does what :func:`graph_value` does with the path walk and the
type dispatch decided up front (same values, same errors).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .exceptions import DataError

if TYPE_CHECKING:
    from .catalog import Column

UTC = _dt.UTC

#: SQLite column affinity used for each catalog SQL type in residual temp tables.
STORAGE_AFFINITY: dict[str, str] = {
    "VARCHAR": "TEXT", "TEXT": "TEXT", "GUID": "TEXT", "ENUM": "TEXT", "JSON": "TEXT",
    "BINARY": "BLOB", "VARBINARY": "BLOB",
    "INTEGER": "INTEGER", "BIGINT": "INTEGER", "BOOLEAN": "INTEGER",
    "DOUBLE": "REAL", "DECIMAL": "REAL",
    "DATETIME": "TEXT", "DATE": "TEXT", "TIME": "TEXT",
}

_FRACTION = re.compile(r"(\.\d{6})\d+")


# --------------------------------------------------------------------------- datetimes

def parse_datetime(text: str) -> _dt.datetime:
    """Parse ISO 8601 text (``Z``, offsets, 7-digit fractions, bare dates) to an aware UTC datetime.

    Naive text is taken as UTC.

    Example:
        >>> parse_datetime("2017-04-15T12:00:00.0000000")
        datetime.datetime(2017, 4, 15, 12, 0, tzinfo=datetime.timezone.utc)
    """
    cleaned = text.strip()
    if cleaned.endswith(("z", "Z")):
        cleaned = cleaned[:-1] + "+00:00"
    cleaned = _FRACTION.sub(r"\1", cleaned)
    value = _dt.datetime.fromisoformat(cleaned)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def datetime_to_storage(value: _dt.datetime | _dt.date) -> str:
    """The residual-storage text of a datetime (naive = UTC): ``2026-01-01 09:30:00[.ffffff]``."""
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def storage_to_datetime(text: str) -> _dt.datetime:
    """Read residual-storage text (or any ISO text SQLite functions produce) back as aware UTC."""
    return parse_datetime(text)


def normalise_datetime_text(text: str, sql_type: str) -> str | None:
    """Canonical storage text for a literal compared with a DATETIME/DATE column, or None."""
    try:
        if sql_type == "DATE":
            return _dt.date.fromisoformat(text.strip()[:10]).isoformat() if len(
                text.strip()) == 10 else None
        return datetime_to_storage(parse_datetime(text))
    except ValueError:
        return None


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
        return _dt.time.fromisoformat(_FRACTION.sub(r"\1", raw))
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


# --------------------------------------------------------------------------- Python ⇄ SQLite

def to_storage(value: Any, sql_type: str) -> Any:
    """A converted Python value as stored in a residual SQLite table."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return datetime_to_storage(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else value
    return value


def from_storage(value: Any, sql_type: str | None) -> Any:
    """A SQLite result value back as the Python value its SQL type promises.

    ``sql_type`` may be ``"DATETIME_NAIVE"`` for dateTimeTimeZone columns (naive datetimes).
    """
    if value is None or sql_type is None:
        return value
    try:
        if sql_type == "DATETIME" and isinstance(value, str):
            return storage_to_datetime(value)
        if sql_type == "DATETIME_NAIVE" and isinstance(value, str):
            return storage_to_datetime(value).replace(tzinfo=None)
        if sql_type == "DATE" and isinstance(value, str):
            return _dt.date.fromisoformat(value[:10])
        if sql_type == "TIME" and isinstance(value, str):
            return _dt.time.fromisoformat(value)
        if sql_type == "BOOLEAN" and isinstance(value, int) and value in (0, 1):
            return bool(value)
    except ValueError:
        return value
    return value


# --------------------------------------------------------------------------- Python → OData

def odata_literal(value: Any, edm_type: str) -> str:
    """The ``$filter`` literal for a Python value compared with a property of ``edm_type``.

    Strings are single-quoted with ``'`` doubled; DateTimeOffset, Date, Guid, booleans and
    numbers are unquoted; enums are quoted member names (graph-semantics.md §2.2,
    https://learn.microsoft.com/graph/filter-query-parameter).

    Raises:
        ValueError: the value cannot be written as that EDM type (the caller keeps the
            predicate local instead).

    Example:
        >>> odata_literal("let's", "Edm.String")
        "'let''s'"
    """
    if value is None:
        return "null"
    if edm_type == "Edm.Boolean":
        if not isinstance(value, bool):
            raise ValueError("not a boolean")
        return "true" if value else "false"
    if edm_type in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not an integer")
        return str(value)
    if edm_type in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("not a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a finite number")
        return repr(value) if isinstance(value, float) else str(value)
    if edm_type == "Edm.DateTimeOffset":
        moment = _as_datetime(value)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond:06d}"
        return text + "Z"
    if edm_type == "Edm.Date":
        if isinstance(value, _dt.datetime):
            raise ValueError("a datetime is not a date")
        day = value if isinstance(value, _dt.date) else _dt.date.fromisoformat(str(value))
        return day.isoformat()
    if edm_type == "datetime-string":
        # dateTimeTimeZone.dateTime is text compared as text; Graph's own form (seven fraction
        # digits, no offset) makes text order time order (graph-semantics §2.2, catalog.py).
        moment = _as_datetime(value)
        return "'" + moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}0'"
    if edm_type == "Edm.Guid":
        # Unquoted in OData: only a well-formed GUID may be written, so no text can leak in.
        return str(uuid.UUID(str(value)))
    if isinstance(value, _dt.datetime):
        # dateTimeTimeZone.dateTime is an Edm.String compared as text (graph-semantics §2.2).
        value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"cannot write {type(value).__name__} as {edm_type}")
    if "\x00" in value:
        # Graph documents nothing for U+0000 in a $filter string (Outlook and directory text
        # cannot hold it): the comparison stays local, where it is exact.
        raise ValueError("a string with U+0000 is not sent to Graph")
    return "'" + value.replace("'", "''") + "'"


def _as_datetime(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return parse_datetime(value)
    raise ValueError(f"cannot write {type(value).__name__} as a DateTimeOffset")
