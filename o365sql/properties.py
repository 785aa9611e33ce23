"""Connection properties: the first thing ``connect()`` does, turning a CData-style
``Key=Value;`` string and keyword arguments into one frozen ``Properties`` value.

It is pure (no I/O). ``Connection`` hands the result to the token provider (``auth/``), the
Graph client (``graph/``) and the execution stage. Property names are CData's Office 365 names
(``OAuthClientId``, ``InitiateOAuth``, ...; see the CData connection-property pages), matched
case-insensitively and also accepted in snake case (``oauth_client_id``).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from o365sql.exceptions import ProgrammingError

__all__ = [
    "NATIONAL_CLOUDS",
    "SPECS",
    "Properties",
    "PropertySpec",
    "parse_properties",
    "split_connection_string",
]

#: Graph and sign-in hosts of each Azure environment (CData ``AzureEnvironment`` values).
#: https://learn.microsoft.com/graph/deployments#microsoft-graph-and-graph-explorer-service-root-endpoints
#: Microsoft Cloud Germany closed in 2021; the value is kept so CData strings still parse.
NATIONAL_CLOUDS: dict[str, tuple[str, str]] = {
    "GLOBAL": ("https://graph.microsoft.com", "https://login.microsoftonline.com"),
    "CHINA": ("https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    "USGOVT": ("https://graph.microsoft.us", "https://login.microsoftonline.us"),
    "USGOVTDOD": ("https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
    "GERMANY": ("https://graph.microsoft.de", "https://login.microsoftonline.de"),
}

_MASK = "********"


@dataclass(frozen=True, repr=False)
class Properties:
    """Every connection property o365sql understands, after parsing and validation.

    Field names are the CData names in snake case. ``graph_url`` and ``authority_url`` default to
    the hosts of ``azure_environment``; every other default is the CData default or, for
    o365sql's own properties, documented on the field. ``repr()`` masks every secret.
    """

    # Authentication / Azure authentication
    auth_scheme: str = "AzureAD"
    azure_tenant: str | None = None
    azure_environment: str = "GLOBAL"
    # OAuth
    initiate_oauth: str = "OFF"
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_access_token: str | None = None
    oauth_refresh_token: str | None = None
    oauth_expires_in: int | None = None  # seconds the given access token lives
    oauth_token_timestamp: int | None = None  # when it was issued, ms since the epoch (CData)
    oauth_settings_location: str | None = None
    oauth_verifier: str | None = None  # an authorization code from GetOAuthAuthorizationURL
    oauth_grant_type: str = "CODE"  # AzureAD sign-in: CODE (browser) or DEVICE_CODE (headless)
    callback_url: str | None = None
    scope: str | None = None
    # JWT OAuth (certificate credential)
    oauth_jwt_cert: str | None = None
    oauth_jwt_cert_type: str = "PEMKEY_FILE"
    oauth_jwt_cert_password: str | None = None
    oauth_jwt_cert_subject: str | None = None
    # SSL: a CA file to trust in addition to nothing else (requests' verify=)
    ssl_server_cert: str | None = None
    # Schema
    location: str | None = None  # a directory of extra schema/*.toml files
    # Miscellaneous
    timeout: int | None = 60  # seconds per Graph call, retries included; 0: none (SPECS)
    pagesize: int | None = None  # $top per page; None: each table's default
    max_rows: int | None = None  # cap on rows a statement returns; None/-1: no cap
    # o365sql's own
    graph_url: str = ""  # default: <Graph host of azure_environment>/v1.0
    authority_url: str = ""  # default: sign-in host of azure_environment
    pushdown: bool = True  # False: fetch everything and filter locally (differential tests)
    max_concurrency: int = 16  # $batch POSTs in flight at once (see _CONCURRENCY_DOC)
    # Caching (CData's names; o365sql keeps the replica current with Graph delta queries)
    auto_cache: bool = False  # answer SELECTs over replicated tables from the replica
    cache_location: str | None = None  # replica SQLite file; default ~/.o365sql/replica.db
    cache_tolerance: int = 600  # seconds a replica stays fresh for AutoCache
    offline: bool = False  # answer from the replica alone: no network
    replicate_window: int = 365  # days each side of a first CalendarView copy's day

    def __post_init__(self) -> None:
        graph_host, login_host = NATIONAL_CLOUDS.get(
            self.azure_environment, NATIONAL_CLOUDS["GLOBAL"]
        )
        if not self.graph_url:
            object.__setattr__(self, "graph_url", graph_host + "/v1.0")
        if not self.authority_url:
            object.__setattr__(self, "authority_url", login_host)
        object.__setattr__(self, "graph_url", self.graph_url.rstrip("/"))
        object.__setattr__(self, "authority_url", self.authority_url.rstrip("/"))

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(CData name, value)`` of every property, secrets masked (``sys_connection_props``)."""
        for spec in SPECS:
            value = getattr(self, spec.field)
            yield spec.name, _shown(spec, value)

    def replace(self, **changes: Any) -> Properties:
        """A copy with some fields changed (field names, already typed)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        default = _DEFAULTS
        shown = [
            f"{spec.field}={_shown(spec, getattr(self, spec.field))!r}"
            for spec in SPECS
            if getattr(self, spec.field) != getattr(default, spec.field)
        ]
        return f"Properties({', '.join(shown)})"

    __str__ = __repr__

# Graph's limits (graph-semantics.md §8.1, delta-limits-spark.md §5.2-5.3): 4 concurrent
# requests per app and mailbox, 130,000 requests per 10 s per app. The default of 16 was
# measured (bench/compare.py --only fanout --latency 0.05, bench/README.md): at 50 ms per
# request the 201-mailbox fan-out gains little past 16 POSTs in flight on a small machine.
_CONCURRENCY_DOC = (
    "Requests in flight at once when a query reads many mailboxes (or folders, or looked-up "
    "items): how many $batch POSTs are out together (default 16). Whatever its value, each "
    "mailbox gets at most 4 concurrent requests, Outlook's limit per mailbox (a $batch body "
    "holds at most 4 items of one mailbox), so distinct mailboxes run in parallel beyond 4. "
    "Lower it to put less load on a throttled tenant."
)


@dataclass(frozen=True)
class PropertySpec:
    """How one property is named, typed and shown.

    ``kind`` is ``str``, ``secret`` (a string never shown), ``bool``, ``int`` or ``enum``;
    ``choices`` are the canonical spellings of an enum; ``minimum`` bounds an int; ``none_below``
    makes values below ``minimum`` mean "no limit" (CData's ``Timeout=0``, ``MaxRows=-1``).
    ``description`` is the text of docs/reference.md when the field's one-line comment is too
    short to define the property.
    """

    name: str
    field: str
    kind: str = "str"
    choices: tuple[str, ...] = ()
    minimum: int = 1
    none_values: tuple[int, ...] = ()
    description: str = ""


# CData: "seconds to wait for a server response before a timeout error". o365sql makes that a
# bound on each Graph call as a whole, so that retries cannot stretch it (GraphClient._call).
_TIMEOUT_DOC = (
    "Seconds one Graph call may take, its retries included (each page of a scan and each "
    "$batch POST is one call). Every connection attempt and every read waits at most what is "
    "left; once Timeout seconds have passed since the call started it fails with "
    "OperationalError ('... timed out after N s ...'). A retry wait (Retry-After or backoff) "
    "that would pass it is not made: the call fails at once, with ThrottledError for "
    "429/503/504. A failed host name lookup or a refused connection is retried once, after "
    "0.2 s. Timeout=0: no limit (retries then stop after 6 attempts or 120 s of waiting)."
)


SPECS: tuple[PropertySpec, ...] = (
    PropertySpec(
        "AuthScheme",
        "auth_scheme",
        "enum",
        ("AzureAD", "AzureServicePrincipal", "AzureServicePrincipalCert"),
    ),
    PropertySpec("AzureTenant", "azure_tenant"),
    PropertySpec("AzureEnvironment", "azure_environment", "enum", tuple(NATIONAL_CLOUDS)),
    PropertySpec("InitiateOAuth", "initiate_oauth", "enum", ("OFF", "GETANDREFRESH", "REFRESH")),
    PropertySpec("OAuthClientId", "oauth_client_id"),
    PropertySpec("OAuthClientSecret", "oauth_client_secret", "secret"),
    PropertySpec("OAuthAccessToken", "oauth_access_token", "secret"),
    PropertySpec("OAuthRefreshToken", "oauth_refresh_token", "secret"),
    PropertySpec("OAuthExpiresIn", "oauth_expires_in", "int"),
    PropertySpec("OAuthTokenTimestamp", "oauth_token_timestamp", "int", minimum=0),
    PropertySpec("OAuthSettingsLocation", "oauth_settings_location"),
    PropertySpec("OAuthVerifier", "oauth_verifier", "secret"),
    PropertySpec("OAuthGrantType", "oauth_grant_type", "enum", ("CODE", "DEVICE_CODE", "CLIENT")),
    PropertySpec("CallbackURL", "callback_url"),
    PropertySpec("Scope", "scope"),
    PropertySpec("OAuthJWTCert", "oauth_jwt_cert", "cert"),
    PropertySpec(
        "OAuthJWTCertType",
        "oauth_jwt_cert_type",
        "enum",
        ("PEMKEY_FILE", "PEMKEY_BLOB", "PFXFILE", "PFXBLOB"),
    ),
    PropertySpec("OAuthJWTCertPassword", "oauth_jwt_cert_password", "secret"),
    PropertySpec("OAuthJWTCertSubject", "oauth_jwt_cert_subject"),
    PropertySpec("SSLServerCert", "ssl_server_cert"),
    PropertySpec("Location", "location"),
    PropertySpec("Timeout", "timeout", "int", none_values=(0,), description=_TIMEOUT_DOC),
    PropertySpec("Pagesize", "pagesize", "int"),
    PropertySpec("MaxRows", "max_rows", "int", none_values=(-1, 0)),
    PropertySpec("GraphURL", "graph_url", "url"),
    PropertySpec("AuthorityURL", "authority_url", "url"),
    PropertySpec("Pushdown", "pushdown", "bool"),
    PropertySpec("MaxConcurrency", "max_concurrency", "int", description=_CONCURRENCY_DOC),
    PropertySpec("AutoCache", "auto_cache", "bool", description=(
        "Answer a SELECT over replicated tables (REPLICATE) from the local replica at "
        "CacheLocation: when the replica was refreshed within CacheTolerance seconds it answers "
        "at once; otherwise o365sql first asks Graph for what changed (delta queries) and applies "
        "it. A table never replicated is replicated by the first SELECT that reads it (tables "
        "REPLICATE supports only; others are read live).")),
    PropertySpec("CacheLocation", "cache_location", description=(
        "Path of the replica, a SQLite file any SQLite tool can read (tables and columns named "
        "as in the catalog; bookkeeping in _o365sql_* tables). Created with mode 0600. Default: "
        "~/.o365sql/replica.db. A file belongs to the sign-in that first wrote it (tenant and "
        "user, or application, from the token): another sign-in gets OperationalError naming "
        "the file, so give each account its own CacheLocation.")),
    PropertySpec("CacheTolerance", "cache_tolerance", "int", minimum=0, description=(
        "Seconds a replica stays fresh for AutoCache (default 600, CData's default). Older "
        "replicas are refreshed with delta queries before they answer.")),
    PropertySpec("Offline", "offline", "bool", description=(
        "Answer every SELECT from the replica alone, with no network; a table (or mailbox, or "
        "column) that was never replicated fails with OperationalError naming it.")),
    PropertySpec("ReplicateWindow", "replicate_window", "int", description=(
        "Days either side of the day of a first copy that REPLICATE CalendarView keeps when "
        "its WHERE names no window (calendarView delta needs one; default 365). Computed once "
        "and stored with the delta link: later refreshes keep that window.")),
)

_DEFAULTS = Properties()
_BY_KEY: dict[str, PropertySpec] = {}
for _spec in SPECS:
    _BY_KEY[_spec.name.lower()] = _spec
    _BY_KEY[_spec.field.replace("_", "")] = _spec

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _key(name: str) -> str:
    """Normalise a property name: case-insensitive, snake case accepted (``oauth_client_id``)."""
    return name.strip().lower().replace("_", "").replace("-", "")


def _shown(spec: PropertySpec, value: Any) -> Any:
    """The value as it may be displayed: secrets (and inline certificates) masked."""
    if value is None:
        return None
    if spec.kind == "secret":
        return _MASK
    if spec.kind == "cert" and _inline_blob(str(value)):
        return _MASK
    return value


def _inline_blob(value: str) -> bool:
    # OAuthJWTCert is a file path for the *_FILE types but the key itself for *_BLOB types.
    return "-----BEGIN" in value or "\n" in value or (len(value) > 200 and "/" not in value)


def _lookup(name: str) -> PropertySpec:
    spec = _BY_KEY.get(_key(name))
    if spec is not None:
        return spec
    names = [s.name for s in SPECS]
    close = difflib.get_close_matches(_key(name), [n.lower() for n in names], n=1, cutoff=0.6)
    hint = ""
    if close:
        hint = f"; did you mean {next(n for n in names if n.lower() == close[0])}?"
    raise ProgrammingError(f"unknown connection property {name.strip()!r}{hint}")


#: A host as a URL may carry it: a DNS name or IPv4 address, or an IPv6 address in brackets.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def _check_url(name: str, value: str) -> None:
    """An http(s) URL with a valid host and port, nothing an HTTP client would refuse later.

    Raises:
        ProgrammingError: naming the property and what is wrong with the value.
    """
    def bad(what: str) -> ProgrammingError:
        return ProgrammingError(f"connection property {name} must be an http(s) URL, got "
                                f"{value!r}: {what}")

    if not value.lower().startswith(("https://", "http://")):
        raise bad("it must start with https:// or http://")
    if not value.isascii() or any(c.isspace() or not c.isprintable() for c in value):
        raise bad("it may hold only printable ASCII characters, without spaces "
                  "(percent-encode the others)")
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed "[" of an IPv6 address
        raise bad("the host is not a valid host name") from None
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):
        host_part = host[:host.find("]") + 1] if "]" in host else host
    else:
        host_part = host.partition(":")[0]
    if not _HOST.fullmatch(host_part):
        raise bad(f"{host_part or 'the host'} is not a valid host name")
    try:
        port = parts.port
    except ValueError:
        raise bad("the port must be a number from 1 to 65535") from None
    if port is not None and port < 1 or host.endswith(":"):
        raise bad("the port must be a number from 1 to 65535")


def _convert(spec: PropertySpec, raw: Any) -> Any:
    """Type one value; errors name the property and never show a secret value."""
    if spec.kind in ("str", "secret", "cert", "url"):
        if not isinstance(raw, str):
            raise ProgrammingError(f"connection property {spec.name} must be a string")
        value = raw.strip()
        if spec.kind == "url" and value:
            _check_url(spec.name, value)
        if spec.field == "oauth_settings_location" and value.lower() == "memory://":
            # memory:// stores are shared by id; without one there is nothing to share by.
            raise ProgrammingError(
                "connection property OAuthSettingsLocation=memory:// needs an id, "
                "e.g. memory://app1"
            )
        return value or None
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ProgrammingError(
            f"connection property {spec.name} must be true or false "
            f"(also yes/no, on/off, 1/0), got {str(raw)!r}"
        )
    if spec.kind == "int":
        try:
            number = (
                raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw).strip())
            )
        except ValueError:
            raise ProgrammingError(
                f"connection property {spec.name} must be a whole number, got {str(raw)!r}"
            ) from None
        if number in spec.none_values:
            return None
        if number < spec.minimum:
            lower = "at least 0" if spec.minimum == 0 else "greater than 0"
            raise ProgrammingError(f"connection property {spec.name} must be {lower}, got {number}")
        return number
    # enum: case-insensitive, stored in its canonical spelling
    text = str(raw).strip()
    for choice in spec.choices:
        if choice.lower() == text.lower():
            return choice
    close = difflib.get_close_matches(
        text.lower(), [c.lower() for c in spec.choices], n=1, cutoff=0.5
    )
    hint = (
        f"; did you mean {next(c for c in spec.choices if c.lower() == close[0])}?" if close else ""
    )
    raise ProgrammingError(
        f"connection property {spec.name} must be one of {', '.join(spec.choices)}, "
        f"got {text!r}{hint}"
    )


def split_connection_string(dsn: str) -> list[tuple[str, str]]:
    """Split ``Key=Value;Key2='quoted;value'`` into ``(key, value)`` pairs, in order.

    Values may be quoted with ``'`` or ``"``; inside, the quote character is written twice and
    ``;`` is literal. Whitespace around keys and unquoted values is dropped; empty segments are
    ignored. Errors never echo a value (it could be a secret).

    Example:
        >>> split_connection_string("AuthScheme=AzureAD; Scope='a;b' ;Location=\\"x\\"\\"y\\";")
        [('AuthScheme', 'AzureAD'), ('Scope', 'a;b'), ('Location', 'x"y')]
    """
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(dsn)
    while i < n:
        # key: up to '='; a ';' first means a segment without a value
        j = i
        while j < n and dsn[j] not in "=;":
            j += 1
        key = dsn[i:j].strip()
        if j >= n or dsn[j] == ";":
            if key:
                named = f" {key!r}" if _key(key) in _BY_KEY else ""
                raise ProgrammingError(
                    f"connection string segment{named} at position {i} has no '=': "
                    "expected Key=Value pairs separated by ';'"
                )
            i = j + 1
            continue
        if not key:
            raise ProgrammingError(f"connection string has a value without a name at position {i}")
        i = j + 1
        while i < n and dsn[i] in " \t":
            i += 1
        if i < n and dsn[i] in "'\"":
            quote, i = dsn[i], i + 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise ProgrammingError(
                        f"connection string value of {key} has no closing {quote} quote"
                    )
                if dsn[i] == quote:
                    if i + 1 < n and dsn[i + 1] == quote:
                        chars.append(quote)
                        i += 2
                        continue
                    i += 1
                    break
                chars.append(dsn[i])
                i += 1
            while i < n and dsn[i] in " \t":
                i += 1
            if i < n and dsn[i] != ";":
                raise ProgrammingError(
                    f"connection string value of {key} has text after its closing quote"
                )
            value = "".join(chars)
        else:
            j = dsn.find(";", i)
            j = n if j < 0 else j
            value = dsn[i:j].strip()
            i = j
        pairs.append((key, value))
        i += 1  # skip ';'
    return pairs


def parse_properties(dsn: str | None = None, kwargs: Mapping[str, Any] | None = None) -> Properties:
    """Build ``Properties`` from a connection string and keyword arguments (keywords win).

    Raises:
        ProgrammingError: an unknown property (naming it and the nearest valid name), a value of
            the wrong type or outside the allowed set (naming the property and the choices), or a
            malformed connection string. Secret values never appear in the message.

    Example:
        >>> p = parse_properties("initiateoauth=getandrefresh;OAuthClientId=abc", {"maxrows": 9})
        >>> (p.initiate_oauth, p.oauth_client_id, p.max_rows, p.graph_url)
        ('GETANDREFRESH', 'abc', 9, 'https://graph.microsoft.com/v1.0')
    """
    pairs: list[tuple[str, Any]] = []
    if dsn is not None:
        if not isinstance(dsn, str):
            raise ProgrammingError("the connection string (dsn) must be a str")
        pairs.extend(split_connection_string(dsn))
    pairs.extend((kwargs or {}).items())
    values: dict[str, Any] = {}
    for key, raw in pairs:
        spec = _lookup(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            # An empty value (``Key=;``) means "the default", as in CData strings.
            values.pop(spec.field, None)
            continue
        values[spec.field] = _convert(spec, raw)
    return Properties(**values)
