"""Paging rules of Graph collections, used by the Graph client (``client.py``, ``batch.py``) to
turn one ``GraphRequest`` into a stream of pages.

Pure functions: where the rows of a page are, where the next page is, and how a nextLink is
made relative for ``$batch``. Graph's rules (https://learn.microsoft.com/graph/paging): follow
the entire ``@odata.nextLink`` URL (it already carries every query option plus ``$skip`` or
``$skiptoken``) until it is absent; a page may be empty; headers such as ``ConsistencyLevel``
are not carried into the next page, so the client resends them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from o365sql.exceptions import InternalError, OperationalError

__all__ = ["RowBudget", "check_same_origin", "next_link", "page_rows", "relative_url"]


def page_rows(payload: Any) -> list[dict[str, Any]]:
    """The rows of one response: ``value`` of a collection, or the entity itself in a list.

    Example:
        >>> page_rows({"@odata.context": "x", "value": [{"id": "1"}]})
        [{'id': '1'}]
        >>> page_rows({"id": "me"})
        [{'id': 'me'}]
    """
    if isinstance(payload, dict):
        if "value" in payload:
            value = payload["value"]
            if isinstance(value, list):
                return value
            raise OperationalError("Graph sent a page whose 'value' is not a list")
        return [payload]
    if payload is None:
        return []
    raise OperationalError(
        f"Graph sent a page that is not a JSON object ({type(payload).__name__})"
    )


def next_link(payload: Any) -> str | None:
    """``@odata.nextLink`` of a page, or None on the last page.

    Example:
        >>> next_link({"value": [], "@odata.nextLink": "https://graph.microsoft.com/v1.0/me/messages?$skip=10"})
        'https://graph.microsoft.com/v1.0/me/messages?$skip=10'
    """
    if isinstance(payload, dict):
        link = payload.get("@odata.nextLink")
        if isinstance(link, str) and link:
            return link
    return None


def check_same_origin(link: str, base_url: str) -> None:
    """Refuse a nextLink on another scheme/host/port than the Graph base URL.

    The bearer token is sent with every page; a link elsewhere would hand it to that host.
    """
    a, b = urlsplit(link), urlsplit(base_url)
    if (a.scheme.lower(), a.netloc.lower()) != (b.scheme.lower(), b.netloc.lower()):
        raise InternalError(
            f"Graph sent an @odata.nextLink to {a.scheme}://{a.netloc}, not to the Graph base "
            f"URL {b.scheme}://{b.netloc}; not following it (the token would go there)"
        )


def relative_url(link: str, base_url: str) -> str:
    """A nextLink made relative to the version root, as ``$batch`` inner requests need.

    Example:
        >>> relative_url("https://graph.microsoft.com/v1.0/users?$top=5&$skiptoken=X%27a%27",
        ...              "https://graph.microsoft.com/v1.0")
        '/users?$top=5&$skiptoken=X%27a%27'
    """
    check_same_origin(link, base_url)
    parts = urlsplit(link)
    root = urlsplit(base_url).path.rstrip("/")
    path = parts.path
    if root and not (path == root or path.startswith(root + "/")):
        raise InternalError(
            f"Graph sent an @odata.nextLink outside the version root {root}: {path}"
        )
    path = path[len(root) :] or "/"
    return path + (f"?{parts.query}" if parts.query else "")


class RowBudget:
    """How many pages of one request the caller wants (``GraphRequest.limit``/``ties``).

    Without a limit every page is wanted. With one, paging stops once ``limit`` rows have
    arrived, unless ``ties`` names properties: then it goes on while the rows after the
    ``limit``-th all equal it on them (the next page may begin with more of the tie).

    Example:
        >>> b = RowBudget(3, ("d",))
        >>> b.more([{"d": 1}, {"d": 2}]), b.more([{"d": 2}, {"d": 2}]), b.more([{"d": 3}])
        (True, True, False)
    """

    __slots__ = ("_boundary", "_limit", "_seen", "_ties")

    def __init__(self, limit: int | None = None, ties: tuple[str, ...] = ()) -> None:
        self._limit = limit
        self._ties = tuple(tuple(t.split("/")) for t in ties)
        self._seen = 0
        self._boundary: tuple[Any, ...] | None = None

    def more(self, rows: list[dict[str, Any]]) -> bool:
        """Count one page of rows (pages in order); True while the next page is wanted."""
        if self._limit is None:
            return True
        before = self._seen
        self._seen += len(rows)
        if self._boundary is None:
            if self._seen < self._limit:
                return True
            if not self._ties or self._limit == 0:
                return False
            self._boundary = self._key(rows[self._limit - before - 1])
            rows = rows[self._limit - before:]
        return all(self._key(row) == self._boundary for row in rows)

    def _key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for path in self._ties:
            value: Any = row
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            values.append(value)
        return tuple(values)
