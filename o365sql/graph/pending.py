"""Pages whose JSON is parsed by the thread that reads their rows, so the thread that fetched
them can ask for the next page at once (``GraphClient.pending_pages``, read by ``ranges.py``).

SQL-free. A worker following one request's ``@odata.nextLink`` needs only the link to go on;
parsing the whole page first (~5 ms of CPU for 1,000 messages, under the one GIL every worker
and the caller share) delayed every next request by that much and more. Graph writes the
link among the members before ``value`` (every collection sample in the Graph docs, e.g.
``{"@odata.context": ..., "@odata.nextLink": ..., "value": [...]}``), so the worker reads
just those members; when the link is not there (after ``value``, or no link at all: the last
page) the page is parsed whole, as before. The reader's parse checks the link it finds is
the one the worker followed.
"""

from __future__ import annotations

import json
from typing import Any

from o365sql.exceptions import OperationalError
from o365sql.graph.paging import next_link, page_rows

__all__ = ["HEAD_CHARS", "PendingPage", "head_next_link"]

#: Characters of a page read for the members before ``value`` (a nextLink is < 2,000).
HEAD_CHARS = 8192
_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def head_next_link(content: bytes) -> str | None:
    """``@odata.nextLink`` of a JSON page when it is one of the members before ``value``;
    None when it is not there (the whole page must be parsed to know).

    Example:
        >>> head_next_link(b'{"@odata.context":"c","@odata.nextLink":"https://g/x?$skip=5",'
        ...                b'"value":[{"id":"1"}]}')
        'https://g/x?$skip=5'
        >>> head_next_link(b'{"value":[],"@odata.nextLink":"https://g/x?$skip=5"}') is None
        True
    """
    text = content[:HEAD_CHARS].decode("utf-8", errors="replace")
    pos = _skip(text, 0)
    if text[pos:pos + 1] != "{":
        return None
    pos = _skip(text, pos + 1)
    while text[pos:pos + 1] == '"':
        try:
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _skip(text, pos)
            if text[pos:pos + 1] != ":" or key == "value":
                return None
            value, pos = _DECODER.raw_decode(text, _skip(text, pos + 1))
        except ValueError:  # a member cut off at HEAD_CHARS, or not JSON: parse it whole
            return None
        if key == "@odata.nextLink":
            return value if isinstance(value, str) and value else None
        pos = _skip(text, pos)
        if text[pos:pos + 1] != ",":
            return None
        pos = _skip(text, pos + 1)
    return None


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


class PendingPage:
    """One page: its body still to parse (with the link the fetching thread followed), or
    already parsed."""

    __slots__ = ("_content", "_line", "_payload", "link")

    def __init__(self, content: bytes | None, line: str, link: str | None,
                 payload: Any = None) -> None:
        self._content = content
        self._line = line
        self._payload = payload
        self.link = link

    @classmethod
    def parsed(cls, payload: Any, line: str) -> PendingPage:
        return cls(None, line, next_link(payload), payload)

    def payload(self) -> Any:
        """The page's JSON, parsed here the first time (``GraphClient._decode``'s errors)."""
        if self._content is not None:
            try:
                payload = json.loads(self._content)
            except ValueError as exc:
                raise OperationalError(
                    f"Graph answered {self._line} with malformed JSON: {exc}") from None
            self._content = None
            if next_link(payload) != self.link:
                raise OperationalError(
                    f"Graph answered {self._line} with two different @odata.nextLink values")
            self._payload = payload
        return self._payload

    def rows(self) -> list[dict[str, Any]]:
        return page_rows(self.payload())
