"""The Graph request value the OData renderer hands to the Graph client.

``GraphRequest`` is SQL-free: ``graph/`` sends it, ``odata/`` builds it, and golden files
compare its ``line()`` form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
        pushed_down: names of the query options (``$filter``, ``$orderby``, ``$top``,
            ``$count``, ``/$count`` for the path segment) the caller added only to narrow the
            answer, which it re-checks or computes itself: the request means the same without
            them. They are what the ``Pushdown=false`` connection property leaves out, so when
            Graph rejects the query, errors (``errors.py``) advise it only for these. Not part
            of the request's identity (equality, golden files).
        limit: the caller wants only the first ``limit`` rows (a top-N per mailbox): no
            further page is requested once that many have arrived, or None for every page.
        ties: with ``limit``, also the rows after the ``limit``-th that equal it on these
            properties (``/``-separated paths): paging goes on while a page ends in such a tie.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    pushed_down: tuple[str, ...] = field(default=(), compare=False)
    limit: int | None = None
    ties: tuple[str, ...] = ()

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
