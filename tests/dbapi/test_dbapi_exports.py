"""The public surface of ``o365sql``: pinned so that nothing is added or lost by accident."""

from __future__ import annotations

import importlib.metadata

import o365sql
from o365sql import exceptions, types

EXPECTED = {
    "apilevel",
    "threadsafety",
    "paramstyle",
    "connect",
    "__version__",
    "Connection",
    "Cursor",
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
}


def test_all_is_pinned_and_every_name_exists() -> None:
    assert set(o365sql.__all__) == EXPECTED
    assert len(o365sql.__all__) == len(EXPECTED)
    for name in o365sql.__all__:
        assert hasattr(o365sql, name), name


def test_module_globals() -> None:
    assert o365sql.apilevel == "2.0"
    assert o365sql.threadsafety == 1
    assert o365sql.paramstyle == "named"


def test_version_matches_the_distribution() -> None:
    assert o365sql.__version__ == importlib.metadata.version("o365sql")


def test_exported_classes_show_the_package_as_module() -> None:
    for name in ("Connection", "Cursor", "Error", "ProgrammingError", "ThrottledError"):
        assert getattr(o365sql, name).__module__ == "o365sql", name


def test_exceptions_and_types_are_the_same_objects() -> None:
    for name in exceptions.__all__:
        assert getattr(o365sql, name) is getattr(exceptions, name)
    for name in ("STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Date", "Binary"):
        assert getattr(o365sql, name) is getattr(types, name)


def test_pep249_exception_tree() -> None:
    assert issubclass(o365sql.Warning, Exception) and not issubclass(o365sql.Warning, o365sql.Error)
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(o365sql, name), o365sql.Error)
    for name in (
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        assert issubclass(getattr(o365sql, name), o365sql.DatabaseError)
    assert issubclass(o365sql.ThrottledError, o365sql.OperationalError)
    assert issubclass(o365sql.AuthenticationError, o365sql.OperationalError)
    assert issubclass(o365sql.PermissionDeniedError, o365sql.ProgrammingError)
