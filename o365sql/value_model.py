"""The value model: for every SQL type of the catalog, its Python form, its storage form in the
local SQLite engine, its type for the local engine's type derivation, its OData literal form and
how text is read as it. Every stage takes these forms from here (DESIGN §5.1).

| SQL type | Python | SQLite storage | annotation (sqlglot) |
|---|---|---|---|
| VARCHAR, TEXT | ``str`` | TEXT | TEXT |
| GUID / ENUM / JSON | ``str`` | TEXT | UUID / ENUM / JSON (kept apart through expressions) |
| BINARY, VARBINARY | ``bytes`` | BLOB | VARBINARY |
| INTEGER / BIGINT | ``int`` | INTEGER | INT / BIGINT |
| BOOLEAN | ``bool`` | INTEGER 0/1 | BOOLEAN |
| DOUBLE, DECIMAL | ``float`` | REAL | DOUBLE |
| DATETIME | aware UTC ``datetime`` | TEXT ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (UTC) | TIMESTAMPTZ |
| DATETIME (wall clock) | naive ``datetime`` | the same text | TIMESTAMP |
| DATE / TIME | ``date`` / ``time`` | TEXT ISO 8601 | DATE / TIME |

Datetimes, aware or wall-clock, are stored in one canonical text form: the year always four
digits (``0001-01-01 00:00:00`` is Graph's "never" sentinel), UTC, a space between date and
time (the shape of SQLite's own ``datetime()``), microseconds only when not zero. Its text
order is time order, so SQLite compares and sorts datetimes as instants, and ``datetime('now')``
compares with it directly.

Text compared with a typed value is read as that type (PostgreSQL's rule for a literal of
unknown type): :func:`read_text` gives the Python value, or ``ValueError`` when the text is not
one; the planner turns that into a ``DataError`` naming the column.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from typing import Any

UTC = _dt.UTC

#: The convert form of dateTimeTimeZone wall-clock columns (naive datetimes), next to the SQL
#: type names; its SQL type (``description``) is DATETIME.
NAIVE_DATETIME = "DATETIME_NAIVE"


@dataclass(frozen=True)
class ValueForm:
    """One SQL type's forms (see the module docstring's table)."""

    sql_type: str
    python: type
    storage: str
    annotation: str


_FORMS = (
    ValueForm("VARCHAR", str, "TEXT", "TEXT"),
    ValueForm("TEXT", str, "TEXT", "TEXT"),
    ValueForm("GUID", str, "TEXT", "UUID"),
    ValueForm("ENUM", str, "TEXT", "ENUM"),
    ValueForm("JSON", str, "TEXT", "JSON"),
    ValueForm("BINARY", bytes, "BLOB", "VARBINARY"),
    ValueForm("VARBINARY", bytes, "BLOB", "VARBINARY"),
    ValueForm("INTEGER", int, "INTEGER", "INT"),
    ValueForm("BIGINT", int, "INTEGER", "BIGINT"),
    ValueForm("BOOLEAN", bool, "INTEGER", "BOOLEAN"),
    ValueForm("DOUBLE", float, "REAL", "DOUBLE"),
    ValueForm("DECIMAL", float, "REAL", "DOUBLE"),
    ValueForm("DATETIME", _dt.datetime, "TEXT", "TIMESTAMPTZ"),
    ValueForm(NAIVE_DATETIME, _dt.datetime, "TEXT", "TIMESTAMP"),
    ValueForm("DATE", _dt.date, "TEXT", "DATE"),
    ValueForm("TIME", _dt.time, "TEXT", "TIME"),
)

#: SQL type (or ``DATETIME_NAIVE``) -> its forms.
FORMS: dict[str, ValueForm] = {form.sql_type: form for form in _FORMS}

#: SQLite column affinity used for each catalog SQL type in residual temp tables.
STORAGE_AFFINITY: dict[str, str] = {form.sql_type: form.storage for form in _FORMS}

#: sqlglot type names for catalog SQL types (qualification and type annotation).
ANNOTATION_TYPES: dict[str, str] = {form.sql_type: form.annotation for form in _FORMS}

_FRACTION = re.compile(r"(\.\d{6})\d+")


# --------------------------------------------------------------------------- datetimes

def parse_datetime(text: str) -> _dt.datetime:
    """Parse ISO 8601 text (``Z``, offsets, 7-digit fractions, bare dates, the storage form)
    to an aware UTC datetime. Naive text is taken as UTC.

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


def as_utc(value: _dt.datetime | _dt.date | str) -> _dt.datetime:
    """A datetime, date or ISO text as an aware UTC datetime (naive = UTC)."""
    if isinstance(value, _dt.datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return parse_datetime(value)
    raise ValueError(f"cannot read {type(value).__name__} as a datetime")


def datetime_text(value: _dt.datetime, separator: str = " ", *, fraction: int = 0) -> str:
    """``YYYY-MM-DD<separator>HH:MM:SS`` of an already-UTC (or wall-clock) datetime, the year
    always four digits (``strftime('%Y')`` writes year 1 as ``1``), then ``.ffffff`` when
    there are microseconds, or ``fraction`` digits always."""
    text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}{separator}"
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    if fraction:
        return text + "." + f"{value.microsecond:06d}".ljust(fraction, "0")[:fraction]
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def datetime_to_storage(value: _dt.datetime | _dt.date) -> str:
    """The storage text of a datetime (naive = UTC, or wall clock): ``2026-01-01 09:30:00``."""
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return datetime_text(value)


# --------------------------------------------------------------------------- text as a type

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def read_text(text: str, sql_type: str) -> Any:
    """``text`` read as a value of ``sql_type``, as PostgreSQL reads a quoted literal compared
    with a typed column (``IsRead = 'false'``, ``Size > '100'``); text types return ``text``.

    Booleans take ``true/false``, ``yes/no``, ``on/off``, ``1/0`` and their unique prefixes
    (``t``, ``f``, ``y``, ``n``), any case, blanks trimmed; numbers their decimal text;
    DATETIME any ISO 8601 datetime or date (offsets converted to UTC); DATE an ISO date.

    Raises:
        ValueError: the text is no value of that type.
    """
    word = text.strip()
    if sql_type == "BOOLEAN":
        lowered = word.lower()
        if lowered in ("o", ""):
            raise ValueError(f"{text!r} is not a boolean")
        if any(w.startswith(lowered) for w in _TRUE) and not lowered.startswith("of"):
            return True
        if any(w.startswith(lowered) for w in _FALSE):
            return False
        raise ValueError(f"{text!r} is not a boolean (true/false, yes/no, on/off, 1/0)")
    if sql_type in ("INTEGER", "BIGINT"):
        if not re.fullmatch(r"[+-]?\d+", word):
            raise ValueError(f"{text!r} is not an integer")
        return int(word)
    if sql_type in ("DOUBLE", "DECIMAL"):
        number = float(word)
        if not math.isfinite(number) and word.lower().lstrip("+-") not in ("inf", "infinity",
                                                                          "nan"):
            raise ValueError(f"{text!r} is not a number")
        return number
    if sql_type in ("DATETIME", NAIVE_DATETIME):
        return parse_datetime(word)
    if sql_type == "DATE":
        if len(word) != 10:
            raise ValueError(f"{text!r} is not an ISO 8601 date (YYYY-MM-DD)")
        return _dt.date.fromisoformat(word)
    if sql_type == "TIME":
        return _dt.time.fromisoformat(_FRACTION.sub(r"\1", word))
    return text


def storage_literal(value: Any, sql_type: str) -> Any:
    """The storage value of a Python value of ``sql_type`` as a SQL literal holds it."""
    if isinstance(value, _dt.datetime) and sql_type == "DATE":
        value = value.date()
    return to_storage(value)


# --------------------------------------------------------------------------- Python ⇄ SQLite

def to_storage(value: Any, sql_type: str | None = None) -> Any:
    """A Python value as stored in a residual SQLite table."""
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
    A DOUBLE that SQLite computed as an integer (``'2026-…' + 0``) becomes a float, a number
    in a text column its text.
    """
    if value is None or sql_type is None:
        return value
    try:
        if sql_type == "DATETIME" and isinstance(value, str):
            return parse_datetime(value)
        if sql_type == NAIVE_DATETIME and isinstance(value, str):
            return parse_datetime(value).replace(tzinfo=None)
        if sql_type == "DATE" and isinstance(value, str):
            return _dt.date.fromisoformat(value[:10])
        if sql_type == "TIME" and isinstance(value, str):
            return _dt.time.fromisoformat(value)
        if sql_type == "BOOLEAN" and isinstance(value, int) and value in (0, 1):
            return bool(value)
        if sql_type in ("DOUBLE", "DECIMAL") and isinstance(value, int):
            return float(value)
        form = FORMS.get(sql_type)
        if form is not None and form.python is str and isinstance(value, (int, float)):
            return str(value)  # a text column SQLite computed a number for (CASE ... 1 ...)
    except ValueError:
        return value
    return value


def from_storage_values(values: list[Any], sql_type: str | None) -> list[Any]:
    """``[from_storage(v, sql_type) for v in values]``, a result column at a time.

    A chunk of results is mostly of the one storage type its column promises, so the types
    are checked once (``set(map(type, ...))``): text and numbers already in their Python type
    are kept as they are, booleans and datetimes in the storage form are converted inline.
    Anything else (a number SQLite computed in a text column, a datetime text another form,
    text no datetime) sends the column through :func:`from_storage`, the reference."""
    if sql_type is None or not values:
        return values
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return values
    form = FORMS.get(sql_type)
    try:
        if sql_type in ("DATETIME", NAIVE_DATETIME) and kinds == {str}:
            read = _storage_utc if sql_type == "DATETIME" else _storage_naive
            return [None if v is None else read(v) for v in values]
        if sql_type == "BOOLEAN" and kinds == {int} and set(values) <= {0, 1, None}:
            return [None if v is None else v == 1 for v in values]
        if form is not None and kinds == {form.python} and sql_type not in _CONVERTED:
            return values  # text as text, integers as integers, floats as floats
    except ValueError:
        pass
    return [from_storage(v, sql_type) for v in values]


#: Types whose storage value is never the Python value itself.
_CONVERTED = frozenset(("DATETIME", NAIVE_DATETIME, "DATE", "TIME", "BOOLEAN"))


def _storage_utc(text: str) -> _dt.datetime:
    """``parse_datetime`` of one storage text, ``YYYY-MM-DD HH:MM:SS[.ffffff]`` read directly
    (naive storage text is UTC); any other form goes through ``parse_datetime``."""
    if len(text) in (19, 26) and text[10] == " ":
        try:
            # The offset appended rather than datetime.replace(tzinfo=...) afterwards, whose
            # keyword call costs eight times the parse (2,000 values: 0.18 ms, not 1.5 ms).
            return _dt.datetime.fromisoformat(text + "+00:00")
        except ValueError:
            pass  # text of this length that carries its own offset: parse_datetime reads it
    return parse_datetime(text)


def _storage_naive(text: str) -> _dt.datetime:
    """:func:`_storage_utc` without the time zone: the storage form read as it is (appending
    the offset only to drop it again would cost a ``replace`` per value)."""
    if len(text) in (19, 26) and text[10] == " ":
        value = _dt.datetime.fromisoformat(text)
        if value.tzinfo is None:
            return value
    return _storage_utc(text).replace(tzinfo=None)


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
        return datetime_text(as_utc(value), "T") + "Z"
    if edm_type == "Edm.Date":
        if isinstance(value, _dt.datetime):
            raise ValueError("a datetime is not a date")
        day = value if isinstance(value, _dt.date) else _dt.date.fromisoformat(str(value))
        return day.isoformat()
    if edm_type == "datetime-string":
        # dateTimeTimeZone.dateTime is text compared as text; Graph's own form (seven fraction
        # digits, no offset) makes text order time order (graph-semantics §2.2, catalog.py).
        return "'" + datetime_text(as_utc(value), "T", fraction=7) + "'"
    if edm_type == "Edm.Guid":
        # Unquoted in OData: only a well-formed GUID may be written, so no text can leak in.
        import uuid  # here: it loads ``platform``, which a query without a GUID never needs

        return str(uuid.UUID(str(value)))
    if isinstance(value, _dt.datetime):
        # dateTimeTimeZone.dateTime is an Edm.String compared as text (graph-semantics §2.2).
        value = datetime_text(as_utc(value).replace(microsecond=0), "T")
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"cannot write {type(value).__name__} as {edm_type}")  # noqa: TRY004 - callers keep it local
    if "\x00" in value:
        # Graph documents nothing for U+0000 in a $filter string (Outlook and directory text
        # cannot hold it): the comparison stays local, where it is exact.
        raise ValueError("a string with U+0000 is not sent to Graph")
    return "'" + value.replace("'", "''") + "'"
