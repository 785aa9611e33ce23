"""Convert stage, write direction: SQL values of catalog columns to a Graph request body.

The mirror of :func:`o365sql.conversion.graph_value`. A flattened column is written back along
the same ``Column.path`` it is read from (``Body_Content`` -> ``{"body": {"content": ...}}``,
``Start_DateTime``/``Start_TimeZone`` -> ``{"start": {"dateTime": ..., "timeZone": ...}}``), and
every value is accepted in the form o365sql reads it in:

* JSON columns (collections, complex values without declared properties): the compact JSON
  text a SELECT returns (``'[{"emailAddress":{"address":"a@x.com"}}]'``), or a Python list/dict;
* ``Edm.DateTimeOffset`` columns: an aware ``datetime`` (naive = UTC) or ISO 8601 text, sent as
  ``2026-01-01T09:30:00Z``;
* dateTimeTimeZone ``*_DateTime`` columns: the naive wall-clock ``datetime`` (or its text) in
  the sibling ``*_TimeZone``, sent in Graph's own ``2026-01-01T09:30:00.0000000`` form;
* BOOLEAN: ``True``/``False`` (or 0/1, 'true'/'false'); ENUM: a member name in any case;
  VARBINARY: ``bytes`` (sent as base64).

Only columns the catalog marks writable (``readonly = false``) may be written; the caller
(``execution/writes.py``) refuses the others by name. Bad values raise ``DataError`` naming the
table and column.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
from collections.abc import Iterable
from typing import Any

from .catalog import Column
from .conversion import UTC, is_naive_datetime, parse_datetime
from .exceptions import DataError
from .value_model import datetime_text

__all__ = ["graph_body", "write_value"]


def graph_body(values: Iterable[tuple[Column, Any]], table: str) -> dict[str, Any]:
    """The Graph JSON body setting each column to its value.

    Columns sharing a path prefix are merged (``Body_Content`` and ``Body_ContentType`` make one
    ``body`` object). A complex column set to NULL next to one of its own properties is an
    error: the two cannot both be written.
    """
    body: dict[str, Any] = {}
    for column, value in values:
        converted = write_value(value, column, table)
        node = body
        for step in column.path[:-1]:
            child = node.get(step)
            if child is None:
                child = node[step] = {}
            elif not isinstance(child, dict):
                raise DataError(f"{table}.{column.name} cannot be written together with the "
                                f"whole value of {'/'.join(column.path[:-1])}")
            node = child
        leaf = column.path[-1]
        if leaf in node and isinstance(node[leaf], dict) and not isinstance(converted, dict):
            raise DataError(f"{table}.{column.name} cannot be written together with its own "
                            "properties")
        node[leaf] = converted
    return {k: _collapse(v) for k, v in body.items()}


def _collapse(value: Any) -> Any:
    """A complex value whose every flattened column is NULL is one null, as it reads: Graph
    sends ``"recurrence": null`` for a single event, which reads as NULL in every
    ``Recurrence_*`` column, and refuses ``{"pattern": {"daysOfWeek": null, ...}}`` back."""
    if not isinstance(value, dict):
        return value
    inner = {k: _collapse(v) for k, v in value.items()}
    return None if all(v is None for v in inner.values()) else inner


def write_value(value: Any, column: Column, table: str) -> Any:
    """The Graph JSON value of one SQL value of ``column``.

    Raises:
        DataError: the value cannot be written as the column's type (naming table and column).
    """
    if value is None:
        return None
    try:
        return _to_graph(value, column)
    except (ValueError, TypeError, OverflowError) as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise DataError(f"cannot write {shown} to {table}.{column.name} ({column.sql_type}): "
                        f"{exc}") from None


def _to_graph(value: Any, column: Column) -> Any:
    sql_type = column.sql_type
    if sql_type == "JSON":
        if isinstance(value, (list, dict)):
            return value
        if not isinstance(value, str):
            raise TypeError("expected JSON text")
        parsed = json.loads(value)
        if column.is_collection and not isinstance(parsed, list):
            raise ValueError("expected a JSON array, as the column reads")
        return parsed
    if sql_type == "DATETIME":
        return _datetime(value, naive=is_naive_datetime(column))
    if sql_type == "DATE":
        if isinstance(value, _dt.datetime):
            return value.date().isoformat()
        if isinstance(value, _dt.date):
            return value.isoformat()
        return _dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    if sql_type == "BOOLEAN":
        return _boolean(value)
    if sql_type in ("INTEGER", "BIGINT"):
        if isinstance(value, bool):
            raise TypeError("expected an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("expected an integer")
        return int(value)
    if sql_type in ("DOUBLE", "DECIMAL"):
        if isinstance(value, bool):
            raise TypeError("expected a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("Graph takes finite numbers only")
        return number
    if sql_type in ("BINARY", "VARBINARY"):
        if isinstance(value, (bytes, bytearray, memoryview)):
            return base64.b64encode(bytes(value)).decode("ascii")
        raise TypeError("expected bytes")
    if sql_type == "ENUM" and column.enum_values:
        if not isinstance(value, str):
            raise TypeError("expected a member name")
        for member in column.enum_values:
            if member.lower() == value.strip().lower():
                return member
        raise ValueError("expected one of " + ", ".join(column.enum_values))
    if isinstance(value, bool) or not isinstance(value, str):
        raise TypeError(f"expected text, not {type(value).__name__}")
    return value


def _datetime(value: Any, *, naive: bool) -> str:
    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, _dt.date):
        moment = _dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = parse_datetime(value)
        if naive and not _has_offset(value):
            moment = moment.replace(tzinfo=None)
    else:
        raise TypeError("expected a datetime or ISO 8601 text")
    if naive:
        # dateTimeTimeZone.dateTime: the wall-clock time in the sibling *_TimeZone, in Graph's
        # own seven-digit form (graph-semantics §2.2); an aware value is taken as its UTC time.
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return datetime_text(moment, "T", fraction=7)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return datetime_text(moment, "T") + "Z"


def _has_offset(text: str) -> bool:
    tail = text.strip()[10:]
    return tail.endswith(("Z", "z")) or "+" in tail or "-" in tail


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise TypeError("expected true or false")
