"""Spark SQL types for o365sql's column types, and Python values in the form Spark takes.

Stage: pure. One row per catalog SQL type (``o365sql.types.SQL_TYPES``):

========================  ================  =====================================================
o365sql type              Spark type        why
========================  ================  =====================================================
VARCHAR TEXT GUID ENUM    STRING
JSON (collections)        STRING            the driver's one documented form: Graph's array as
                                            compact JSON text; ``from_json`` turns it into an
                                            array in Spark when wanted
INTEGER / BIGINT          INT / BIGINT      Edm.Int32 / Edm.Int64
DOUBLE DECIMAL            DOUBLE            the driver returns floats for both
BOOLEAN                   BOOLEAN
DATETIME                  TIMESTAMP         an instant (Edm.DateTimeOffset, aware UTC datetimes)
DATETIME_NAIVE            TIMESTAMP_NTZ     a wall-clock ``*_DateTime`` of a dateTimeTimeZone,
                                            whose zone is in the ``*_TimeZone`` column
DATE                      DATE
TIME                      STRING            ``HH:MM:SS[.ffffff]`` (Edm.TimeOfDay)
BINARY VARBINARY          BINARY
========================  ================  =====================================================
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

_TYPES = {
    "VARCHAR": "STRING", "TEXT": "STRING", "GUID": "STRING", "ENUM": "STRING", "JSON": "STRING",
    "INTEGER": "INT", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "DECIMAL": "DOUBLE",
    "BOOLEAN": "BOOLEAN", "DATETIME": "TIMESTAMP", "DATETIME_NAIVE": "TIMESTAMP_NTZ",
    "DATE": "DATE", "TIME": "STRING", "BINARY": "BINARY", "VARBINARY": "BINARY",
}


def spark_type(sql_type: str) -> str:
    """The Spark type (DDL spelling) of an o365sql result type; text for anything else
    (a computed column SQLite types loosely)."""
    return _TYPES.get(sql_type.upper(), "STRING")


def value_converter(spark: str) -> Callable[[Any], Any]:
    """How a value the driver returns becomes one Spark accepts for the type ``spark``."""
    if spark == "STRING":
        return _text
    if spark == "DOUBLE":
        return _double
    if spark in ("INT", "BIGINT"):
        return _integer
    return _same


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _double(value: Any) -> Any:
    return None if value is None else float(value)


def _integer(value: Any) -> Any:
    return None if value is None else int(value)
