"""o365sql: a PEP 249 (DB-API 2.0) driver that runs SQL over Microsoft Graph.

This module is the PEP 249 surface only: ``connect()``, the module globals, the exception
classes, the type objects and constructors, ``Connection`` and ``Cursor``. The pipeline behind
it (planning, OData rendering, the Graph client, execution) is in the subpackages.

    >>> import o365sql
    >>> (o365sql.apilevel, o365sql.threadsafety, o365sql.paramstyle)
    ('2.0', 1, 'named')
"""

from __future__ import annotations

from o365sql.connection import Connection, connect
from o365sql.cursor import Cursor
from o365sql.exceptions import (
    AuthenticationError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PermissionDeniedError,
    ProgrammingError,
    ThrottledError,
    Warning,
)
from o365sql.types import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
)
from o365sql.version import __version__

#: PEP 249: the DB-API level supported.
apilevel = "2.0"
#: PEP 249: threads may share the module, but not connections (a connection holds token and
#: cursor state that is not designed for concurrent use).
threadsafety = 1
#: PEP 249: ``WHERE Id = :id`` (sqlglot parses ``:name`` natively; ``?`` with a sequence is
#: accepted too, as an extension).
paramstyle = "named"

__all__ = [
    # module globals and constructor
    "apilevel",
    "threadsafety",
    "paramstyle",
    "connect",
    "__version__",
    # classes
    "Connection",
    "Cursor",
    # exceptions (PEP 249 tree + the domain subclasses o365sql raises)
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "AuthenticationError",
    "ThrottledError",
    "PermissionDeniedError",
    # type objects and constructors
    "STRING",
    "BINARY",
    "NUMBER",
    "DATETIME",
    "ROWID",
    "Date",
    "Time",
    "Timestamp",
    "DateFromTicks",
    "TimeFromTicks",
    "TimestampFromTicks",
    "Binary",
]

# Show the public classes as o365sql.X (tracebacks, reprs, pickling), as httpx does.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("o365sql."):
        _obj.__module__ = "o365sql"
del _name, _obj
