"""OData stage: the ``$filter`` expression tree and its text form, with literal quoting.

The planner builds these SQL-free nodes from predicates it decided to push; :func:`render_filter`
writes them as Graph expects (graph-semantics.md §2; https://learn.microsoft.com/graph/filter-query-parameter).
Literals go through :func:`o365sql.conversion.odata_literal`, which quotes strings (``'``
doubled) and writes DateTimeOffset/Guid/boolean/number values unquoted only after checking
their form, so no value can change the structure of the expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..conversion import odata_literal


@dataclass(frozen=True)
class Compare:
    """``path op literal`` with op one of eq ne gt ge lt le."""

    path: str
    op: str
    value: Any
    edm_type: str


@dataclass(frozen=True)
class InList:
    """``path in (v1, v2, ...)``."""

    path: str
    values: tuple[Any, ...]
    edm_type: str


@dataclass(frozen=True)
class Call:
    """``func(path, literal)`` for startswith, endswith and contains."""

    func: str
    path: str
    value: str
    edm_type: str = "Edm.String"


@dataclass(frozen=True)
class Any_:
    """``path/any(x:x eq literal)`` over a collection of primitives, or
    ``path/any(x:x/item/path eq literal)`` comparing a property of complex items."""

    path: str
    value: Any
    edm_type: str = "Edm.String"
    item_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Junction:
    """``a and b`` / ``a or b``."""

    op: str
    parts: tuple[FilterNode, ...]


FilterNode = Union[Compare, InList, Call, Any_, Junction]  # noqa: UP007 - runtime alias


def render_filter(node: FilterNode, *, top: bool = True) -> str:
    """The ``$filter`` text of a node.

    Example:
        >>> render_filter(Junction("and", (Compare("isRead", "eq", False, "Edm.Boolean"),
        ...     Call("startswith", "subject", "it's"))))
        "isRead eq false and startswith(subject,'it''s')"
    """
    if isinstance(node, Compare):
        return f"{node.path} {node.op} {odata_literal(node.value, node.edm_type)}"
    if isinstance(node, InList):
        items = ",".join(odata_literal(v, node.edm_type) for v in node.values)
        return f"{node.path} in ({items})"
    if isinstance(node, Call):
        return f"{node.func}({node.path},{odata_literal(node.value, node.edm_type)})"
    if isinstance(node, Any_):
        item = "/".join(("x",) + node.item_path)
        return f"{node.path}/any(x:{item} eq {odata_literal(node.value, node.edm_type)})"
    parts = [render_filter(p, top=False) for p in node.parts]
    text = f" {node.op} ".join(parts)
    return text if top or node.op == "and" else f"({text})"


def check_renderable(node: FilterNode) -> bool:
    """True when every literal in ``node`` can be written for its EDM type."""
    try:
        render_filter(node)
    except (ValueError, TypeError):
        return False
    return True


def paths(node: FilterNode) -> list[str]:
    """The property paths a filter mentions, in order (for the InefficientFilter rule)."""
    if isinstance(node, Junction):
        result: list[str] = []
        for part in node.parts:
            result.extend(paths(part))
        return result
    return [node.path]


def uses_operator(node: FilterNode, ops: set[str]) -> bool:
    """True when the filter uses any of ``ops`` (operators or function names)."""
    if isinstance(node, Junction):
        return node.op in ops or any(uses_operator(p, ops) for p in node.parts)
    if isinstance(node, Compare):
        return node.op in ops or (node.value is None and "null" in ops)
    if isinstance(node, InList):
        return "in" in ops
    if isinstance(node, Call):
        return node.func in ops
    return "any" in ops
