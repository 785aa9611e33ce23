"""Server-driven paging: page sizes, ``$skip`` offsets, opaque ``$skiptoken``s and nextLinks.

Stage: emulator, OData query engine (paging). ``odata.query`` asks ``page_size`` how many items a
page holds, ``start_offset`` where the page starts, and ``next_link`` for the URL of the next one.

Graph's behaviour (graph-semantics §1.2, §3.1, §3.9, https://learn.microsoft.com/graph/paging):
``$top`` sets the page size and the nextLink repeats every original option, so later pages keep
it; Outlook collections page with ``$skip`` (``.../me/messages?$top=1&$skip=1``), directory
collections with an opaque ``$skiptoken`` (``$skiptoken=X%274453707...%27``). Messages take
``$top`` 1-1000 (a larger value is clamped here, inferred: "a $top above the maximum may be
ignored, clamped, or rejected"); directory objects 1-999 and reject the rest (observed).
``Prefer: odata.maxpagesize`` is honoured only where a rule says so (documented for delta).
"""

from __future__ import annotations

import re
import zlib

from . import errors as err
from .options import QueryOptions, parse_int
from .rules import ResourceRules

_TOKEN = re.compile(r"^X'44537074([0-9A-F]{16})([0-9A-F]{8})'$")


def page_size(rules: ResourceRules, options: QueryOptions, maxpagesize: int | None) -> int:
    raw = options.get("$top")
    top = parse_int(rules, "$top", raw)
    max_top = rules.max_top
    if rules.reduced_max_top is not None and _names(options, rules.reduced_max_top[0]):
        max_top = min(max_top, rules.reduced_max_top[1])
    if top is None:
        size = min(rules.default_page_size, max_top)
    elif rules.top_over_max == "reject" and not 1 <= top <= max_top:
        raise err.page_size_out_of_range(str(raw).strip(), max_top)
    else:
        size = min(top, max_top)
    if maxpagesize is not None:
        size = min(size, maxpagesize)
    return size


def _names(options: QueryOptions, prop: str) -> bool:
    """Whether ``$select`` or ``$filter`` names ``prop`` (case-insensitively, as a whole word)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(prop)}(?![A-Za-z0-9_])", re.IGNORECASE)
    return any(pattern.search(options.get(name) or "") for name in ("$select", "$filter"))


def start_offset(rules: ResourceRules, options: QueryOptions) -> int:
    if rules.paging == "skiptoken":
        if options.get("$skip") is not None:
            raise err.skip_not_supported()
        token = options.get("$skiptoken")
        return 0 if token is None else decode_skiptoken(token, options)
    skip = parse_int(rules, "$skip", options.get("$skip"))
    if skip is not None and not rules.skip_supported:
        raise err.skip_not_supported()
    return skip or 0


def encode_skiptoken(offset: int, options: QueryOptions) -> str:
    """An opaque token in the directory's ``X'...'`` shape, bound to the other options."""
    check = zlib.crc32(options.fingerprint().encode("utf-8"))
    return f"X'44537074{offset:016X}{check:08X}'"


def decode_skiptoken(token: str, options: QueryOptions) -> int:
    m = _TOKEN.match(token.strip())
    if not m or int(m.group(2), 16) != zlib.crc32(options.fingerprint().encode("utf-8")):
        raise err.bad_skiptoken()
    return int(m.group(1), 16)


def next_link(self_url: str, rules: ResourceRules, options: QueryOptions, offset: int) -> str:
    """The URL of the page starting at ``offset``: the original options plus $skip/$skiptoken."""
    base = self_url.split("?", 1)[0]
    parts = options.without_paging()
    if rules.paging == "skiptoken":
        token = encode_skiptoken(offset, options).replace("'", "%27")
        parts.append(f"$skiptoken={token}")
    else:
        parts.append(f"$skip={offset}")
    return f"{base}?{'&'.join(parts)}"
