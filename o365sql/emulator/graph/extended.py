"""Single-value extended properties of Outlook items (emulator service stage): what a create
or update body's ``singleValueExtendedProperties`` does to the stored ones.

Used by the message, event and contact routes; the items carry the merged list, which the
OData engine filters with ``singleValueExtendedProperties/any(ep: ep/id eq '...' and ep/value
eq '...')`` (odata.rules) and shows only when selected.
"""

from __future__ import annotations

from typing import Any

from ..errors import GraphError


def merge_extended(stored: Any, given: Any) -> list[dict[str, Any]]:
    """Single-value extended properties after a write: each given ``{id, value}`` replaces the
    stored one with the same id (ids compare case-insensitively; singlevaluelegacyextended-
    property-post-singlevalueextendedproperties.md)."""
    if not isinstance(given, list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) and "value" in p for p in given):
        raise GraphError(400, "RequestBodyRead",
                         "Invalid value for property 'singleValueExtendedProperties': an array of "
                         "objects with id and value is expected.")
    merged = {str(p["id"]).lower(): dict(p) for p in stored or []}
    for p in given:
        merged[p["id"].lower()] = {"id": p["id"], "value": None if p["value"] is None else str(p["value"])}
    return list(merged.values())
