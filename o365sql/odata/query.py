"""OData stage: one scan's query options, rendered into a ``GraphRequest``.

The planner fills an :class:`ODataQuery` (SQL-free: paths, Graph property names, a filter
tree); :func:`render` turns it into the request the Graph client sends. Options are written in
a fixed order (window, ``$select``, ``$filter``, ``$search``, ``$orderby``, ``$top``,
``$count``) so golden files are stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import quote

from ..graph.request import GraphRequest
from .filter import FilterNode, render_filter


@dataclass(frozen=True)
class ODataQuery:
    """Everything one Graph list call needs.

    Attributes:
        template: endpoint template, e.g. ``/users/{UserId}/messages``.
        address: values for the template's ``{Name}`` slots (raw, encoded at render time).
        select: ``$select`` properties in order.
        filter: the ``$filter`` tree, or None.
        search: the ``$search`` expression (already in Graph's syntax), or None.
        orderby: ``(path, descending)`` pairs.
        top: ``$top``, or None.
        count: add ``$count=true`` (directory advanced queries).
        count_segment: request ``/$count`` instead of the collection.
        params: endpoint query parameters (``startDateTime``...), already in Graph's text form.
        headers: extra request headers (``ConsistencyLevel``, ``Prefer``).
        pushed_down: the options the planner added only because pushdown is on (``$filter``,
            ``$orderby``, ``$count``, ``/$count``); handed on as ``GraphRequest.pushed_down``
            so a rejection's advice is accurate. Not part of the query's identity.
        limit / ties: only the first ``limit`` rows are wanted (plus those tied with the last
            on the ``ties`` paths): ``GraphRequest.limit``/``ties``, a top-N per request.
    """

    template: str
    address: tuple[tuple[str, str], ...] = ()
    select: tuple[str, ...] = ()
    filter: FilterNode | None = None
    search: str | None = None
    orderby: tuple[tuple[str, bool], ...] = ()
    top: int | None = None
    count: bool = False
    count_segment: bool = False
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    pushed_down: tuple[str, ...] = field(default=(), compare=False)
    limit: int | None = None
    ties: tuple[str, ...] = ()

    def with_address(self, **values: str) -> ODataQuery:
        """The same query addressed at other template values (fan-out)."""
        merged = dict(self.address)
        merged.update(values)
        return replace(self, address=tuple(merged.items()))


def path_segment(value: str) -> str:
    """One value as exactly one path segment: every reserved character percent-encoded
    (``/``, ``?``, ``#``, ``%`` ...), and a value made only of dots encoded too, since HTTP
    clients remove ``.`` and ``..`` segments before sending (RFC 3986 §5.2.4; requests and
    urllib3 do), which would address the parent resource instead.

    Example:
        >>> path_segment("a/b?c"), path_segment("..")
        ('a%2Fb%3Fc', '%2E%2E')
    """
    text = quote(value, safe="")
    if text and not text.strip("."):
        return text.replace(".", "%2E")
    return text


def render_path(template: str, address: tuple[tuple[str, str], ...]) -> str:
    """Fill ``{Name}`` slots with percent-encoded values (ids contain ``/``, ``+``, ``=``),
    each as one segment (``path_segment``).

    Graph needs ids URL-encoded in paths (graph-semantics.md §3.1, §13.19).

    Example:
        >>> render_path("/users/{UserId}/messages", (("UserId", "adele@contoso.com"),))
        '/users/adele%40contoso.com/messages'
    """
    path = template
    lowered = {k.lower(): v for k, v in address}
    while "{" in path:
        start = path.index("{")
        end = path.index("}", start)
        name = path[start + 1:end]
        if name.lower() not in lowered:
            raise KeyError(name)
        path = path[:start] + path_segment(str(lowered[name.lower()])) + path[end + 1:]
    return path


def render(query: ODataQuery) -> GraphRequest:
    """The ``GraphRequest`` for a scan.

    Example:
        >>> render(ODataQuery("/me/messages", select=("subject",), top=5)).line()
        'GET /me/messages?$select=subject&$top=5'
    """
    path = render_path(query.template, query.address)
    params: list[tuple[str, str]] = []
    if query.count_segment:
        path = path.rstrip("/") + "/$count"
    params.extend(query.params)
    if query.select and not query.count_segment:
        params.append(("$select", ",".join(query.select)))
    if query.filter is not None:
        params.append(("$filter", render_filter(query.filter)))
    if query.search is not None:
        params.append(("$search", query.search))
    if query.orderby and not query.count_segment:
        params.append(("$orderby", ",".join(p + (" desc" if d else "") for p, d in query.orderby)))
    if query.top is not None and not query.count_segment:
        params.append(("$top", str(query.top)))
    if query.count and not query.count_segment:
        params.append(("$count", "true"))
    sent = {name for name, _ in params} | ({"/$count"} if query.count_segment else set())
    return GraphRequest(method="GET", path=path, params=tuple(params), headers=query.headers,
                        pushed_down=tuple(o for o in query.pushed_down if o in sent),
                        limit=None if query.count_segment else query.limit, ties=query.ties)


def search_expression(terms: str) -> str:
    """``$search`` text: the terms in double quotes unless already quoted (Graph's form,
    https://learn.microsoft.com/graph/search-query-parameter)."""
    stripped = terms.strip()
    if len(stripped) >= 2 and stripped.startswith('"') and stripped.endswith('"'):
        return stripped
    return '"' + stripped.replace('"', '\\"') + '"'
