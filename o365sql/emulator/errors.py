"""Graph's error responses, as the emulator writes them.

Every service of the emulator raises ``GraphError``; the server turns it into Graph's JSON error
body (``error.code``, ``error.message``, ``innerError`` with ``date``, ``request-id`` and
``client-request-id``), see https://learn.microsoft.com/graph/errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class GraphError(Exception):
    """A Graph error answer: HTTP status, ``error.code`` and ``error.message``.

    ``inner`` is False for the Exchange errors that real Graph sends without an ``innerError``.
    ``headers`` carries extra response headers (``Retry-After`` on 429/503); ``inner_fields``
    extra ``innerError`` members (the throttling sample of throttling.md carries ``code``,
    ``message`` and ``status`` there, graph-semantics §8.1).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        inner: bool = True,
        headers: dict[str, str] | None = None,
        inner_fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.inner = inner
        self.headers = dict(headers or {})
        self.inner_fields = dict(inner_fields or {})

    def body(self, request_id: str, client_request_id: str | None = None) -> dict[str, Any]:
        """The JSON body Graph sends for this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner:
            # Graph's innerError date has no zone suffix and second precision (errors.md samples).
            error["innerError"] = {
                **self.inner_fields,
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            }
        return {"error": error}
