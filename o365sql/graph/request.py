"""The Graph request value the OData renderer hands to the Graph client.

``GraphRequest`` is SQL-free: ``graph/`` sends it, ``odata/`` builds it, and golden files
compare its ``line()`` form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class GraphRequest:
    """One Graph call.

    Attributes:
        method: HTTP method.
        path: path relative to the Graph base URL, already percent-encoded where needed,
            e.g. ``/users/adele%40contoso.com/messages``.
        params: query options in the order they are sent, e.g. ``(("$select", "subject"),)``.
        headers: extra request headers (``ConsistencyLevel``, ``Prefer``); resent on every page.
        body: JSON body for writes, or None.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None

    def query_string(self) -> str:
        """The query string as sent: OData punctuation kept readable, the rest percent-encoded."""
        return "&".join(
            f"{quote(k, safe='$')}={quote(v, safe=chr(39) + '(),:$/ ')}".replace(" ", "%20")
            for k, v in self.params
        )

    def line(self) -> str:
        """One human-readable line, ``GET /me/messages?$select=subject&$top=5`` (for EXPLAIN and golden files)."""
        text = f"{self.method} {self.path}"
        if self.params:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.params)
        return text
