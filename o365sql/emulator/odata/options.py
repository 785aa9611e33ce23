"""The raw query string of a Graph request → the system query options the engine runs.

Stage: emulator, OData query engine (query-string parsing). Hands ``QueryOptions`` (decoded
values plus the original encoded parts, which nextLinks repeat) to ``odata.query``.

Decoding is form-style, as Graph's front end does it: ``%XX`` escapes and ``+`` for a space (the
docs' own ``$filter=groupTypes/any(c:c+eq+'Unified')``, graph-semantics examples); so an
unescaped ``+`` in a DateTimeOffset offset arrives as a space and fails to parse, as on Graph.
The exception is Outlook's ``$orderby``, where ``+`` stays a plus (§1.1).
Option names are matched case-insensitively (OData 4.01; inferred for Graph). The ``$`` prefix
is optional on v1.0 "for only a subset of APIs" (§1.1, query-parameters.md): the emulator takes
bare names on directory resources only (inferred) and ignores them elsewhere, like any other
parameter it does not own (``startDateTime``, ``includeHiddenFolders``, ``$expand`` ... are the
routes' business).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus

from . import errors as err
from .rules import ResourceRules

OPTION_NAMES = ("$filter", "$orderby", "$select", "$top", "$skip", "$skiptoken", "$count",
                "$search")
_PAGING = frozenset({"$skip", "$skiptoken"})


@dataclass(frozen=True)
class QueryOptions:
    """Decoded values of the options present (None when absent) and the encoded parts."""

    values: dict[str, str] = field(default_factory=dict)
    parts: tuple[tuple[str, str], ...] = ()  # (canonical name or "", raw "name=value")

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def without_paging(self) -> list[str]:
        """The encoded parts a nextLink repeats (everything except $skip/$skiptoken)."""
        return [raw for name, raw in self.parts if name not in _PAGING]

    def fingerprint(self) -> str:
        """The decoded options other than paging, in a stable order (binds a $skiptoken)."""
        return "&".join(f"{k}={v}" for k, v in sorted(self.values.items()) if k not in _PAGING)


def parse_options(query: str, rules: ResourceRules) -> QueryOptions:
    """Split and decode ``query``; raises GraphError for a repeated system query option."""
    values: dict[str, str] = {}
    parts: list[tuple[str, str]] = []
    query = query.removeprefix("?")
    for raw in query.split("&"):
        if not raw:
            continue
        raw_name, _, raw_value = raw.partition("=")
        name = unquote_plus(raw_name).strip().lower()
        if not name.startswith("$") and rules.dollar_optional and f"${name}" in OPTION_NAMES:
            name = f"${name}"
        if name not in OPTION_NAMES:
            parts.append(("", raw))
            continue
        if name in values:
            raise err.duplicate_option(rules, name)
        if name == "$orderby" and not rules.is_directory:
            # Outlook takes a "+" in $orderby literally: "receivedDateTime+desc" names no
            # property and is "OrderBy not supported." (graph-semantics §1.1, observed in
            # python-o365#260); only %20 is a space there.
            values[name] = unquote(raw_value)
        else:
            values[name] = unquote_plus(raw_value)
        parts.append((name, raw))
    return QueryOptions(values, tuple(parts))


def parse_bool(rules: ResourceRules, raw: str | None) -> bool:
    """``$count=true|false`` (case-insensitive)."""
    if raw is None:
        return False
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise err.invalid_count(rules, raw)
    return lowered == "true"


def parse_int(rules: ResourceRules, option: str, raw: str | None) -> int | None:
    """A non-negative integer option (``$top``, ``$skip``); huge values stay Python ints."""
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 30:
        raise err.invalid_integer(rules, option, raw)
    return int(text)


def parse_maxpagesize(prefer: str | None) -> int | None:
    """``Prefer: odata.maxpagesize=N`` (among other comma-separated preferences)."""
    if not prefer:
        return None
    for pref in prefer.split(","):
        name, _, value = pref.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize":
            text = value.strip().strip('"')
            if text.isascii() and text.isdigit() and int(text) > 0:
                return int(text)
    return None
