"""PEP 249 exception tree, plus the few domain subclasses o365sql raises.

Every stage raises these; nothing else escapes the public API::

    Warning
    Error
    ├── InterfaceError            misuse of the driver API, closed connection/cursor
    └── DatabaseError
        ├── DataError             a Graph value that cannot be converted
        ├── OperationalError      network, timeouts, Graph 5xx, throttling, sign-in
        │   ├── AuthenticationError   sign-in or token failure (401, AADSTS errors)
        │   └── ThrottledError        429/503 still failing after retries
        ├── IntegrityError        (unused: Graph has no constraints we check)
        ├── InternalError         o365sql generated a request Graph rejected
        ├── ProgrammingError      bad SQL, unknown table/column/procedure, bad property
        │   └── PermissionDeniedError 403 from Graph (missing scope or role)
        └── NotSupportedError     valid SQL that o365sql cannot run (DDL, rollback, ...)

Errors raised from a Graph response carry its facts as attributes (``code``,
``status``, ``request_id``, ``date``) and in the message; tokens and secrets never
appear in either.
"""

from __future__ import annotations

from typing import Any

__all__ = [
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
]


class Warning(Exception):  # noqa: A001 - PEP 249 name
    """Exported as PEP 249 asks; o365sql never raises it."""


class Error(Exception):
    """Base class of every o365sql error.

    Attributes:
        code: Graph's ``error.code`` (or the AADSTS error) when the error came from a response.
        status: HTTP status of that response.
        request_id: ``innerError.request-id`` (or ``request-id`` header) of that response.
        date: ``innerError.date`` of that response.
    """

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        date: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.date = date
        self.extra = extra

    def __str__(self) -> str:
        parts = [self.message]
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.code:
            facts.append(f"code {self.code}")
        if self.request_id:
            facts.append(f"request-id {self.request_id}")
        if facts and not all(f in self.message for f in facts):
            parts.append("(" + ", ".join(facts) + ")")
        return " ".join(p for p in parts if p)


class InterfaceError(Error):
    """Misuse of the driver interface (closed objects, bad arguments to its methods)."""


class DatabaseError(Error):
    """Errors about the data source: Graph, its data, or the SQL run against it."""


class DataError(DatabaseError):
    """A value that cannot be converted or is out of range."""


class OperationalError(DatabaseError):
    """Network failures, timeouts, Graph 5xx, throttling and sign-in failures."""


class IntegrityError(DatabaseError):
    """Exported as PEP 249 asks; Graph enforces no relational constraints o365sql checks."""


class InternalError(DatabaseError):
    """o365sql built a request Graph rejected as malformed: a bug in o365sql."""


class ProgrammingError(DatabaseError):
    """Bad SQL, unknown tables/columns/procedures, wrong parameters or properties."""


class NotSupportedError(DatabaseError):
    """Valid input that o365sql or Graph cannot carry out."""


class AuthenticationError(OperationalError):
    """Sign-in failed, or a token was rejected and could not be refreshed."""


class ThrottledError(OperationalError):
    """Graph kept answering 429/503/504 after every retry the policy allows."""


class PermissionDeniedError(ProgrammingError):
    """Graph answered 403: the token lacks the scope or role the request needs."""
