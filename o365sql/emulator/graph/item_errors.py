"""Exchange's answers for items it cannot address: not found, malformed id, unknown segment.

Stage: emulator Graph service. Shared by the mail, calendar, contact and attachment routes, so
that each answers a bad id the same way (and none imports another route module for it).
"""

from __future__ import annotations

from ..errors import GraphError

__all__ = ["NOT_FOUND", "bad_segment", "malformed", "not_found"]

# graph-semantics §3.1/§8.3 (observed, MHA#77): Exchange joins two texts with ", ".
NOT_FOUND = ("The specified object was not found in the store., The process failed to get the "
             "correct properties.")


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", NOT_FOUND)


def malformed() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def bad_segment(seg: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{seg}'.")
