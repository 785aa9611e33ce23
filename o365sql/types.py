"""PEP 249 type objects and constructors, and the mapping of catalog SQL types onto them.

``Cursor.description`` type codes are the catalog's SQL type names (``"VARCHAR"``,
``"DATETIME"``, ...); each compares equal to exactly one of the type objects here.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

__all__ = [
    "DBAPITypeObject",
    "STRING",
    "BINARY",
    "NUMBER",
    "DATETIME",
    "ROWID",
    "BOOLEAN",
    "Date",
    "Time",
    "Timestamp",
    "DateFromTicks",
    "TimeFromTicks",
    "TimestampFromTicks",
    "Binary",
    "SQL_TYPES",
]


class DBAPITypeObject:
    """A PEP 249 type object: compares equal to every type code in its group."""

    def __init__(self, name: str, *values: str) -> None:
        self.name = name
        self.values = frozenset(v.upper() for v in values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self is other
        if isinstance(other, str):
            return other.upper() in self.values
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<DBAPITypeObject {self.name}>"


STRING = DBAPITypeObject("STRING", "VARCHAR", "TEXT", "GUID", "ENUM", "JSON")
BINARY = DBAPITypeObject("BINARY", "BINARY", "VARBINARY")
NUMBER = DBAPITypeObject("NUMBER", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "BOOLEAN")
DATETIME = DBAPITypeObject("DATETIME", "DATETIME", "DATE", "TIME")
ROWID = DBAPITypeObject("ROWID", "ROWID")
# Not in PEP 249, but useful to consumers (SQLAlchemy, pandas) that want booleans apart.
BOOLEAN = DBAPITypeObject("BOOLEAN", "BOOLEAN")

#: Every SQL type name the catalog may use, with the Python type its values have.
SQL_TYPES: dict[str, type] = {
    "VARCHAR": str,
    "TEXT": str,
    "GUID": str,
    "ENUM": str,
    "JSON": str,
    "BINARY": bytes,
    "VARBINARY": bytes,
    "INTEGER": int,
    "BIGINT": int,
    "DOUBLE": float,
    "DECIMAL": float,
    "BOOLEAN": bool,
    "DATETIME": datetime.datetime,
    "DATE": datetime.date,
    "TIME": datetime.time,
}

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802 - PEP 249 name
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802 - PEP 249 name
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802 - PEP 249 name
    return Timestamp(*time.localtime(ticks)[:6])


def Binary(value: Any) -> bytes:  # noqa: N802 - PEP 249 name
    return bytes(value)
