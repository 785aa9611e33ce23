"""Table catalog: the virtual tables, their columns and Graph capabilities, loaded from ``schema/*.toml``.

Pipeline stage: catalog (pure data). It hands ``Catalog``/``Table``/``Column``/``Endpoint`` to the
planner (``planning/``), the OData renderer (``odata/``), the converter and execution (``sys_*``
rows). It does no I/O beyond reading the TOML files once per location (cached).

INTERFACE CONTRACT (shared by the planning, odata, execution and catalog work; do not change
field names without updating every user). Fields marked (+) were added after the first contract;
all have defaults.

Column
======
* ``name``: the SQL name, CData style, matched case-insensitively. **Naming rule:** the Graph
  property name with its first letter upper-cased (``subject`` -> ``Subject``, ``iCalUId`` ->
  ``ICalUId``); properties of complex values are flattened with ``_`` one level per property
  (``from/emailAddress/address`` -> ``From_EmailAddress_Address``, ``body/content`` ->
  ``Body_Content``, ``location/address/city`` -> ``Location_Address_City``).
* ``path``: the JSON path in a Graph entity, e.g. ``("from", "emailAddress", "address")``.
  Empty for pseudo-columns. Instance annotations use their JSON name: ``("@odata.etag",)``
  (column ``Etag``) and ``("@odata.type",)`` (column ``ODataType``).
* ``select``: the top-level Graph property to put in ``$select`` (``"from"``); ``None`` for
  pseudo-columns and for annotations, which Graph returns without being selected.
* ``edm_type``: the EDM type from the v1.0 CSDL of the leaf (``"Edm.String"``,
  ``"microsoft.graph.importance"``, ``"Collection(microsoft.graph.recipient)"``).
* ``sql_type``: one of ``o365sql.types.SQL_TYPES``. Mapping: Edm.String -> VARCHAR, Edm.Boolean ->
  BOOLEAN, Edm.Int32/Int16/Byte -> INTEGER, Edm.Int64 -> BIGINT, Edm.Double/Single -> DOUBLE,
  Edm.Decimal -> DECIMAL, Edm.DateTimeOffset -> DATETIME, Edm.Date -> DATE, Edm.TimeOfDay ->
  TIME, Edm.Binary -> VARBINARY (Graph sends base64), Edm.Guid -> GUID (text), enum types ->
  ENUM (``enum_values``), Edm.Duration -> VARCHAR (ISO 8601 text), collections and complex values
  without declared properties -> JSON.
* **Collections** (``toRecipients``, ``categories``, ``attendees``, ``businessPhones`` ...) are ONE
  column each, sql_type ``JSON``, holding Graph's array as compact JSON text with items unchanged
  (``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, e.g.
  ``[{"emailAddress":{"name":"Ann","address":"ann@x.com"}}]`` or ``["Red category"]``); ``[]`` for
  an empty array, NULL when Graph sends null or omits it. Writes accept the same JSON.
* **dateTimeTimeZone** values (event ``start``/``end``, flag dates) are two columns:
  ``<Prop>_DateTime`` with sql_type DATETIME holding a *naive* ``datetime`` = the wall-clock time in
  ``<Prop>_TimeZone`` (VARCHAR, Windows or IANA name). Graph sends ``"2017-09-04T12:00:00.0000000"``
  (a String, edm_type stays ``Edm.String``); the converter parses it, keeping microseconds. The
  driver sends no ``Prefer: outlook.timezone``, so Graph answers in UTC and ``*_TimeZone`` reads
  ``"UTC"``. Such columns have ``literal_form = "datetime-string"``. Edm.DateTimeOffset columns
  (``ReceivedDateTime`` ...) hold timezone-aware UTC datetimes.
* ``filter_ops``: the ``$filter`` operators/functions Graph evaluates on this column: subset of
  ``eq ne gt ge lt le startswith endswith contains in any``. Only what the references document is
  listed (conservative: undocumented means evaluated locally).
* ``filter_exact``: False when Graph evaluates the column loosely (Exchange and directory strings
  compare case-insensitively; event start/dateTime compares text). The predicate is pushed as a
  pre-filter and re-checked locally. For such columns the catalog lists only operators whose
  loose result is a *superset* of SQL's (``eq in startswith endswith contains any``; never
  ``ne gt ge lt le`` on case-insensitive strings). Rule for the planner, whatever the column:
  ``ne`` is always re-checked locally, because OData's ``ne`` is true for null values where SQL's
  ``<>`` is unknown.
* ``orderable``: Graph accepts ``$orderby`` on it.
* ``heavy``: left out of ``SELECT *`` (bodies, attachment content, properties that need extra
  permissions). Heaviness applies per ``select`` unit: every column sharing ``select="body"`` is
  heavy, because selecting any of them downloads the whole body.
* ``pseudo``: an address column that selects the endpoint, not a Graph property (``UserId``,
  ``CalendarId``, ``EventId``, ``MessageId``, ``GroupId``, window ``StartDateTime``/``EndDateTime``,
  ``IncludeHiddenFolders``). Bound by ``=`` or ``IN`` (fan-out, one scan per value) against
  literals/parameters or a join; the predicate is consumed by the endpoint and rows carry the
  bound value (``default_value`` when unbound).
* ``endpoint_param`` (+): a REAL Graph property that can also address an endpoint:
  ``ParentFolderId`` of Messages/Contacts/MailFolders/ContactFolders. When WHERE binds it with
  ``=``/``IN`` to literals or parameters, the planner uses the endpoint that ``requires`` it and the
  predicate is consumed (not re-checked); rows carry Graph's real ``parentFolderId``, and a value
  that names no folder reads no rows. On tables with ``well_known_folders`` (mail), a well-known
  name (``'Inbox'``, ``'Drafts'``, ``'sentitems'`` ..., any case) means its folder in every
  comparison with the column: in the path where it addresses the endpoint, resolved to the real
  id everywhere else (``planning/folders.py``). Other comparisons are evaluated locally. This
  holds with pushdown on and off (addressing is not pushdown). The key of a table of mail
  folders (``MailFolders.Id``) takes the names the same way (``Table.folder_id_columns``).
* ``default_value`` (+): for pseudo-columns, what rows carry when the query does not bind it.
  ``UserId`` defaults to ``'me'`` (CData's convention); binding ``UserId = 'me'`` (any case) means
  the signed-in user and selects the ``/me`` endpoints.
* ``enum_values`` (+): members of an ENUM column, in CSDL order.
* ``any_ops`` / ``any_path`` (+): for a JSON collection column whose ``filter_ops`` contain
  ``any``: the operators Graph accepts inside the lambda and the item sub-path compared (``()`` for
  primitive items: ``categories/any(c:c eq 'X')``; ``("address",)`` for
  ``emailAddresses/any(a:a/address eq 'x')``).
* ``advanced_ops`` (+): the subset of ``filter_ops`` (of ``any_ops`` for collection columns) that
  Graph evaluates only as a directory *advanced query* (``ConsistencyLevel: eventual`` header plus
  ``$count=true``, resent on every page).
* ``searchable`` (+): directory ``$search="prop:value"`` is documented for this column.
* **SearchTerms** (+): every table with ``search`` set has the pseudo-column ``SearchTerms``
  (``heavy``, so not in ``SELECT *``); ``WHERE SearchTerms = '...'`` sends ``$search`` and rows
  carry the terms. The catalog is its only definition (validation requires it).
* ``selectable`` (+): False when the property may not appear in ``$select`` on this endpoint
  (calendarView ``createdDateTime``; derived-type properties). A query needing such a column sends
  no ``$select`` at all, so Graph returns whole entities.
* ``select_only`` (+): Graph returns the property only when ``$select`` names it (message
  ``uniqueBody``/``internetMessageHeaders``, event ``cancelledOccurrences``, graph-semantics
  §3.1). When a scan sends no ``$select`` (a column that is not ``selectable`` is read), such
  properties are read by a second request that selects them (``execution/selected_only.py``;
  the replica's delta rounds without ``$select`` likewise, ``replica/refresh.py``).
* ``entity_subtype`` (+): the CSDL type declaring the property when it belongs to a derived type
  of the table's entity (``microsoft.graph.fileAttachment`` for ``ContentBytes``); NULL on other
  items.
* ``max_page_size`` (+): when set, a query that selects or filters this column may ask for at
  most this many items per page (``$top``), below the table's ``max_page_size``: Users'
  ``signInActivity`` columns allow 500 instead of 999 (graph-semantics §3.9).
* ``literal_form`` (+): ``""`` = render literals by ``edm_type``; ``"datetime-string"`` = a quoted
  string in Graph's own form ``'2017-09-04T12:00:00.0000000'`` (seven fraction digits, no offset),
  so that Graph's text comparison orders like time.

Endpoint
========
``template`` (path relative to the Graph base URL, ``{Column}`` placeholders), ``requires``
(columns that must be bound), ``params`` (+) (``(query parameter, column)`` pairs added to the
query string when the column is bound: ``startDateTime``/``endDateTime``,
``includeHiddenFolders``), ``count_with_filter`` (+) (False where ``@odata.count`` is unreliable
together with ``$filter``: whole-mailbox message lists). ``Table.endpoints`` list collection
endpoints, most specific first; ``Table.item_endpoints`` (+) list single-entity GETs
(``/me/messages/{Id}``), which the planner may use for ``Id = x`` (a 404 means no row).

Table
=====
See the field comments. (+) fields: ``item_endpoints``, ``search_combines_with_orderby``,
``filter_orderby_needs_eventual`` (directory: ``$filter`` with ``$orderby`` is an advanced query),
``max_filter_depth`` (directory: nested and/or deeper than 3 is rejected), ``max_eq_length``
(directory: ``eq`` value at most 120 characters), ``item_lookup`` (the item endpoints return
exactly the members of the collection endpoints, so the planner may answer ``Id = x`` /
``Id IN (...)`` with single-item GETs; False where an item GET also finds non-members, e.g.
``/me/mailFolders/{id}`` of a nested folder, ``/me/events/{id}`` of an occurrence),
``source`` (the file it came from), ``well_known_folders`` (names Graph accepts in place of a
folder id of ``ParentFolderId``, graph-semantics §3.1: mail folders only; the planner makes a
name mean its folder in every comparison, ``planning/folders.py``), ``folder_endpoints``
(single-folder GETs, ``/me/mailFolders/{ParentFolderId}``, that resolve a name to its id).

Loading
=======
``load_catalog(location)`` reads the shipped ``o365sql.schema`` files plus ``*.toml`` in
``location`` (the CData ``Location`` property); a user file with the name of a shipped table
replaces it. Every file is validated; errors are ``ProgrammingError`` naming the file and key.
Catalogs are cached per location and shared: treat them as read-only.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import importlib
import marshal
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import ProgrammingError
from .types import SQL_TYPES

__all__ = [
    "FILTER_OPS",
    "SEARCH_TERMS",
    "Catalog",
    "Column",
    "Endpoint",
    "Table",
    "load_catalog",
    "parse_table",
]

#: Every operator/function name a column may declare in ``filter_ops``/``any_ops``.
FILTER_OPS: frozenset[str] = frozenset(
    {"eq", "ne", "gt", "ge", "lt", "le", "startswith", "endswith", "contains", "in", "any"}
)
TABLE_KINDS = frozenset({"table", "view"})
#: The pseudo-column through which a query asks for ``$search`` (tables with ``search`` set).
SEARCH_TERMS = "SearchTerms"
SEARCH_KINDS = frozenset({"kql", "directory"})
LITERAL_FORMS = frozenset({"", "datetime-string"})


@dataclass(frozen=True)
class Column:
    """One column of a virtual table (fields documented in the module docstring)."""

    name: str
    sql_type: str
    edm_type: str = "Edm.String"
    path: tuple[str, ...] = ()
    select: str | None = None
    filter_ops: frozenset[str] = frozenset()
    filter_exact: bool = True
    orderable: bool = False
    heavy: bool = False
    pseudo: bool = False
    key: bool = False
    nullable: bool = True
    readonly: bool = True
    description: str = ""
    endpoint_param: bool = False
    default_value: Any = None
    enum_values: tuple[str, ...] = ()
    any_ops: frozenset[str] = frozenset()
    any_path: tuple[str, ...] = ()
    advanced_ops: frozenset[str] = frozenset()
    searchable: bool = False
    selectable: bool = True
    select_only: bool = False
    entity_subtype: str | None = None
    literal_form: str = ""
    max_page_size: int | None = None

    @property
    def is_collection(self) -> bool:
        """True for JSON columns holding a Graph collection."""
        return self.edm_type.startswith("Collection(")

    @property
    def addresses_endpoint(self) -> bool:
        """True when binding this column with ``=``/``IN`` may choose the endpoint."""
        return self.pseudo or self.endpoint_param


@dataclass(frozen=True)
class Endpoint:
    """One URL template of a table and the pseudo-columns that must be bound to use it.

    ``template`` is relative to the Graph base URL, e.g. ``/users/{UserId}/mailFolders/{ParentFolderId}/messages``.
    The first endpoint whose ``requires`` are all bound by the query's WHERE is used; the table's
    last endpoint usually requires nothing (``/me/messages``).
    """

    template: str
    requires: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()  # (query parameter, column) added when bound
    count_with_filter: bool = True  # False: @odata.count unreliable with $filter here

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The ``{Column}`` names in the template, in order."""
        return tuple(re.findall(r"\{([^{}]+)\}", self.template))


@dataclass(frozen=True)
class Table:
    """One virtual table (or view) and what Graph can do on it."""

    name: str
    entity: str  # CSDL entity type, e.g. "microsoft.graph.message"
    endpoints: tuple[Endpoint, ...]
    columns: tuple[Column, ...]
    description: str = ""
    kind: str = "table"  # "table" or "view"
    key: str = "Id"
    max_page_size: int = 1000  # largest $top Graph accepts on this endpoint
    default_page_size: int = 10  # Graph's page size when $top is absent
    supports_top: bool = True
    supports_skip: bool = False
    supports_count: bool = False  # $count=true / /$count
    count_needs_eventual: bool = False  # directory objects: ConsistencyLevel: eventual
    advanced_needs_eventual: bool = False  # directory advanced queries
    search: str | None = None  # "kql" (messages), "directory" (users/groups) or None
    search_combines_with_filter: bool = False
    orderby_must_lead_filter: bool = False  # messages: InefficientFilter rule
    orderby_with_filter: bool = True  # False where Graph rejects $orderby together with $filter
    max_in_values: int = 15
    window: tuple[str, str] | None = None  # CalendarView: (start pseudo-column, end pseudo-column)
    insertable: bool = False
    updatable: bool = False
    deletable: bool = False
    item_endpoints: tuple[Endpoint, ...] = ()
    search_combines_with_orderby: bool = False
    filter_orderby_needs_eventual: bool = False
    max_filter_depth: int | None = None
    max_eq_length: int | None = None
    item_lookup: bool = False
    well_known_folders: tuple[str, ...] = ()
    folder_endpoints: tuple[Endpoint, ...] = ()
    source: str = ""
    # A property (Graph path) a long scan may be split on into disjoint ranges read at once
    # (execution/parallel_scan.py): never null, never changed once set, with ge/lt $filter and
    # $orderby; "" where the table has none.
    range_key: str = ""

    def column(self, name: str) -> Column | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    @functools.cached_property
    def _by_name(self) -> dict[str, Column]:
        # Planning and fan-outs look columns up by name thousands of times per statement;
        # the first column of a name wins, as a scan of ``columns`` would find it.
        return {col.name.lower(): col for col in reversed(self.columns)}

    def column_or_error(self, name: str) -> Column:
        """Return the column called ``name`` or raise ProgrammingError suggesting the nearest name."""
        col = self.column(name)
        if col is not None:
            return col
        hint = _suggestion(name, [c.name for c in self.columns])
        raise ProgrammingError(f"unknown column {name!r} in table {self.name!r}{hint}")

    def default_columns(self) -> tuple[Column, ...]:
        """The ``SELECT *`` columns: every column that is not heavy (pseudo-columns included)."""
        return tuple(c for c in self.columns if not c.heavy)

    def pseudo_columns(self) -> tuple[Column, ...]:
        """Columns that address an endpoint (pseudo-columns and endpoint parameters)."""
        return tuple(c for c in self.columns if c.addresses_endpoint)

    def folder_id_columns(self) -> frozenset[str]:
        """Lower-case names of the columns holding a mail folder id, where a well-known folder
        name (``well_known_folders``) means that folder (``planning/folders.py``).

        ``ParentFolderId`` of every table with ``well_known_folders``, and the key of a table
        whose rows are mail folders (``MailFolders.Id``): Graph answers
        ``GET /me/mailFolders/inbox`` with the folder whose ``id`` that is (graph-semantics
        §3.1), so ``Id = 'Inbox'`` means the Inbox row. Empty without ``well_known_folders``.
        """
        if not self.well_known_folders:
            return frozenset()
        names = {c.name.lower() for c in self.columns if c.name.lower() == "parentfolderid"}
        if self.entity in _MAIL_FOLDER_ENTITIES:
            names.add(self.key.lower())
        return frozenset(names)


#: Entity types whose rows are mail folders (their key is a folder id; CSDL, v1.0).
_MAIL_FOLDER_ENTITIES = frozenset({"microsoft.graph.mailFolder",
                                   "microsoft.graph.mailSearchFolder"})


@dataclass
class Catalog:
    """All tables known to a connection: the shipped ones plus any from ``Location``."""

    tables: dict[str, Table] = field(default_factory=dict)  # keyed by lower-case name

    def table(self, name: str) -> Table:
        """Return the table called ``name`` (case-insensitive) or raise ProgrammingError."""
        found = self.tables.get(name.lower())
        if found is not None:
            return found
        hint = _suggestion(name, [t.name for t in self.tables.values()])
        raise ProgrammingError(f"unknown table {name!r}{hint}")

    def names(self) -> list[str]:
        """Table names in their catalog spelling, sorted."""
        return sorted((t.name for t in self.tables.values()), key=str.lower)

    def __iter__(self) -> Iterator[Table]:
        """Tables in name order."""
        return iter(self.tables[n.lower()] for n in self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.tables


def _suggestion(name: str, candidates: Sequence[str]) -> str:
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


# -- TOML parsing and validation -----------------------------------------------------------
class _Invalid(Exception):
    """A validation failure; turned into ProgrammingError with the file name."""


def _convert(value: Any, annotation: str, where: str) -> Any:
    """Check and convert one TOML value to the dataclass field's annotated type."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    if value is None and optional:  # TOML has no null; only reachable from dict callers
        return None
    if base == "Any":
        if isinstance(value, (str, bool, int, float)):
            return value
        raise _Invalid(f"{where}: expected a string, number or boolean")
    if base == "str":
        if isinstance(value, str):
            return value
        raise _Invalid(f"{where}: expected a string, got {value!r}")
    if base == "bool":
        if isinstance(value, bool):
            return value
        raise _Invalid(f"{where}: expected true or false, got {value!r}")
    if base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Invalid(f"{where}: expected an integer, got {value!r}")
    if base in ("tuple[str, ...]", "frozenset[str]"):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return frozenset(value) if base.startswith("frozenset") else tuple(value)
        raise _Invalid(f"{where}: expected a list of strings, got {value!r}")
    if base == "tuple[str, str]":
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise _Invalid(f"{where}: expected a list of two strings, got {value!r}")
    if base == "tuple[tuple[str, str], ...]":
        pairs = value.items() if isinstance(value, dict) else None
        if pairs is not None and all(isinstance(v, str) for _, v in pairs):
            return tuple((str(k), v) for k, v in value.items())
        raise _Invalid(f"{where}: expected a table of query parameter = column, got {value!r}")
    raise AssertionError(f"catalog field type {annotation!r} has no TOML converter")


def _build(cls: type, data: dict[str, Any], where: str, special: frozenset[str]) -> dict[str, Any]:
    """Convert ``data`` into keyword arguments of ``cls``, rejecting unknown keys."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in special:
            continue
        f = fields.get(key)
        if f is None or key == "source":
            hint = _suggestion(key, [n for n in fields if n != "source"])
            raise _Invalid(f"{where}: unknown key {key!r}{hint}")
        kwargs[key] = _convert(value, str(f.type), f"{where}.{key}")
    missing = [n for n, f in fields.items()
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               and n not in kwargs and n not in special]
    if missing:
        raise _Invalid(f"{where}: missing key {missing[0]!r}")
    return kwargs


def _parse_endpoints(raw: Any, where: str) -> tuple[Endpoint, ...]:
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise _Invalid(f"{where}: expected an array of tables ([[{where}]])")
    return tuple(Endpoint(**_build(Endpoint, e, f"{where}[{i}]", frozenset()))
                 for i, e in enumerate(raw))


def parse_table(data: dict[str, Any], source: str = "<table>") -> Table:
    """Build and validate one Table from parsed TOML (``source`` names it in errors)."""
    try:
        return _parse_table(data, source)
    except _Invalid as exc:
        raise ProgrammingError(f"schema file {source}: {exc}") from None


def _parse_table(data: dict[str, Any], source: str) -> Table:
    special = frozenset({"columns", "endpoints", "item_endpoints", "folder_endpoints"})
    kwargs = _build(Table, data, "table", special)
    if "endpoints" not in data:
        raise _Invalid("table: missing key 'endpoints'")
    endpoints = _parse_endpoints(data["endpoints"], "endpoints")
    items = _parse_endpoints(data.get("item_endpoints", []), "item_endpoints")
    folders = _parse_endpoints(data.get("folder_endpoints", []), "folder_endpoints")
    raw_cols = data.get("columns")
    if not isinstance(raw_cols, list) or not raw_cols or not all(isinstance(c, dict) for c in raw_cols):
        raise _Invalid("table: expected a non-empty array of tables [[columns]]")
    columns = []
    for i, raw in enumerate(raw_cols):
        label = f"columns[{i}]" + (f" ({raw['name']})" if isinstance(raw.get("name"), str) else "")
        columns.append(_check_column(Column(**_build(Column, raw, label, frozenset())), label))
    table = Table(endpoints=endpoints, columns=tuple(columns), item_endpoints=items,
                  folder_endpoints=folders, source=source, **kwargs)
    _check_table(table)
    return table


def _check_column(col: Column, where: str) -> Column:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", col.name):
        raise _Invalid(f"{where}.name: {col.name!r} is not a plain SQL identifier")
    if col.sql_type not in SQL_TYPES:
        raise _Invalid(f"{where}.sql_type: unknown type {col.sql_type!r}; one of {', '.join(SQL_TYPES)}")
    for key in ("filter_ops", "any_ops", "advanced_ops"):
        bad = sorted(getattr(col, key) - FILTER_OPS)
        if bad:
            raise _Invalid(f"{where}.{key}: unknown operator {bad[0]!r}; "
                           f"allowed: {' '.join(sorted(FILTER_OPS))}")
    text_ops = col.filter_ops & {"startswith", "endswith", "contains"}
    if text_ops and col.sql_type not in ("VARCHAR", "TEXT", "GUID", "ENUM"):
        raise _Invalid(f"{where}.filter_ops: {min(text_ops)!r} needs a string column, "
                       f"not {col.sql_type}")
    if col.any_ops and "any" not in col.filter_ops:
        raise _Invalid(f"{where}.any_ops: set, but filter_ops does not contain 'any'")
    if "any" in col.filter_ops and not col.is_collection:
        raise _Invalid(f"{where}.filter_ops: 'any' needs a collection edm_type")
    if not col.advanced_ops <= (col.filter_ops | col.any_ops):
        raise _Invalid(f"{where}.advanced_ops: must be a subset of filter_ops/any_ops")
    if col.is_collection and (col.orderable or col.filter_ops - {"any"}):
        raise _Invalid(f"{where}: a collection column can only be filtered with 'any' and is not orderable")
    if col.pseudo and (col.path or col.select):
        raise _Invalid(f"{where}: a pseudo-column has no path or select")
    if not col.pseudo and not col.path:
        raise _Invalid(f"{where}.path: required for a non-pseudo column")
    if col.pseudo and col.endpoint_param:
        raise _Invalid(f"{where}: pseudo and endpoint_param exclude each other")
    if col.sql_type == "ENUM" and not col.enum_values:
        raise _Invalid(f"{where}.enum_values: required for an ENUM column")
    if col.literal_form not in LITERAL_FORMS:
        raise _Invalid(f"{where}.literal_form: unknown form {col.literal_form!r}")
    return col


def _check_table(table: Table) -> None:
    if table.kind not in TABLE_KINDS:
        raise _Invalid(f"table.kind: {table.kind!r} is not 'table' or 'view'")
    if table.search is not None and table.search not in SEARCH_KINDS:
        raise _Invalid(f"table.search: {table.search!r} is not 'kql' or 'directory'")
    terms = table.column(SEARCH_TERMS)
    if table.search is not None and (terms is None or not terms.pseudo):
        raise _Invalid(f"table.search: set, but there is no pseudo-column {SEARCH_TERMS!r} "
                       "(WHERE SearchTerms = '...' is how a query asks for $search)")
    if not table.endpoints:
        raise _Invalid("endpoints: at least one endpoint is required")
    seen: set[str] = set()
    for col in table.columns:
        if col.name.lower() in seen:
            raise _Invalid(f"columns: duplicate column name {col.name!r}")
        seen.add(col.name.lower())
    if table.column(table.key) is None:
        raise _Invalid(f"table.key: {table.key!r} is not a column")
    if table.well_known_folders and not table.folder_endpoints:
        raise _Invalid("table.well_known_folders: set, but there are no [[folder_endpoints]] "
                       "to resolve a name to its folder id")
    for label, group in (("endpoints", table.endpoints), ("item_endpoints", table.item_endpoints),
                         ("folder_endpoints", table.folder_endpoints)):
        for i, ep in enumerate(group):
            where = f"{label}[{i}] ({ep.template})"
            if not ep.template.startswith("/"):
                raise _Invalid(f"{where}.template: must start with '/'")
            for name in ep.placeholders:
                named = table.column(name)
                if named is None:
                    raise _Invalid(f"{where}.template: placeholder {{{name}}} is not a column")
                if named.name != name:
                    raise _Invalid(f"{where}.template: write {{{named.name}}}, not {{{name}}}")
                if name not in ep.requires:
                    raise _Invalid(f"{where}.requires: must list placeholder {name!r}")
            for name in list(ep.requires) + [c for _, c in ep.params]:
                named = table.column(name)
                if named is None:
                    raise _Invalid(f"{where}: {name!r} is not a column")
                if not (named.addresses_endpoint or named.key):
                    raise _Invalid(f"{where}: {name!r} is neither pseudo, endpoint_param nor key")
    if table.window is not None:
        for name in table.window:
            named = table.column(name)
            if named is None or not named.pseudo:
                raise _Invalid(f"table.window: {name!r} is not a pseudo-column")
    for col in table.columns:
        if col.heavy and col.select and any(
                c.select == col.select and not c.heavy for c in table.columns):
            raise _Invalid(f"columns ({col.name}): heavy, but other columns selecting "
                           f"{col.select!r} are not (heaviness is per select unit)")


# -- loading -------------------------------------------------------------------------------
def _read(text: str, source: str) -> Table:
    import tomllib  # only when a file is parsed: the shipped ones are usually compiled

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammingError(f"schema file {source}: not valid TOML: {exc}") from None
    return parse_table(data, source)


def _schema_root() -> Any:
    """The shipped schema folder: a ``Path`` when installed as files (read without loading
    ``importlib.resources``, which a first query has no other use for), else the package's
    ``importlib.resources`` traversable (a zip)."""
    locations = list(getattr(importlib.import_module("o365sql.schema"), "__path__", ()))
    if len(locations) == 1 and os.path.isdir(locations[0]):
        return Path(locations[0])
    from importlib import resources

    return resources.files("o365sql.schema")


@functools.lru_cache(maxsize=1)
def _shipped_tables() -> dict[str, Table]:
    root = _schema_root()
    texts = [(entry.name, entry.read_bytes()) for entry in sorted(
        root.iterdir(), key=lambda e: e.name) if entry.name.endswith(".toml")]
    compiled = _compiled_path(root, texts)
    tables = _load_compiled(compiled)
    if tables is not None:
        return tables
    tables = {}
    for name, data in texts:
        _add(tables, _read(data.decode("utf-8"), f"o365sql.schema/{name}"), replace=False)
    _store_compiled(compiled, tables)
    return tables


# The shipped tables, compiled: parsing and validating the schema files costs tens of
# milliseconds (more than the rest of a process's first query), loading them compiled about
# one. The file sits in the schema package's __pycache__, beside the bytecode Python writes
# there and trusted as that bytecode is; its name holds a hash of everything the tables are
# built from (each file, this module and types.py, the Python version), so an edited file or
# a changed Table class never loads stale tables. Not writable (a read-only install, a zip):
# the files are parsed each time, as before.
def _compiled_path(root: Any, texts: list[tuple[str, bytes]]) -> Path | None:
    if not isinstance(root, Path):
        return None
    digest = hashlib.sha256(sys.version.encode())
    for source in (Path(__file__), Path(__file__).with_name("types.py")):
        try:
            digest.update(source.read_bytes())
        except OSError:
            return None
    for name, data in texts:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return root / "__pycache__" / f"catalog-{digest.hexdigest()[:32]}.marshal"


# The compiled form: for each table, the fields of the Table, its Columns and its Endpoints
# that differ from their defaults (most of a column's 26 do not), as plain data in ``marshal``
# form (the format of bytecode: per Python version, which the file's name holds; no module to
# import, unlike ``pickle``), rebuilt by ``_rebuild``. A first query's catalog loads in ~1.2 ms,
# where the pickled objects took ~4 ms plus ~2 ms importing ``pickle``. Rebuilt objects are what
# the constructor made: every field set, in field order.
_NESTED = ("columns", "endpoints", "item_endpoints", "folder_endpoints")


def _field_defaults(cls: type) -> dict[str, Any]:
    return {f.name: None if f.default is dataclasses.MISSING else f.default
            for f in dataclasses.fields(cls)}


_DEFAULTS: dict[type, dict[str, Any]] = {
    cls: _field_defaults(cls) for cls in (Column, Endpoint, Table)}


def _changed(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The dataclass fields of ``obj`` that differ from their defaults (not what the instance
    caches besides, such as a Table's ``_by_name``)."""
    state = vars(obj)
    return {name: state[name] for name, default in _DEFAULTS[type(obj)].items()
            if name not in skip and not (type(state[name]) is type(default)
                                         and state[name] == default)}


def _rebuild(cls: type, changed: dict[str, Any]) -> Any:
    """A compiled catalog object from the fields that differ from the defaults."""
    obj: Any = object.__new__(cls)
    fields = obj.__dict__
    fields.update(_DEFAULTS[cls])
    fields.update(changed)
    return obj


def _compiled_form(tables: dict[str, Table]) -> bytes:
    return marshal.dumps({
        key: (_changed(table, _NESTED), *(tuple(_changed(item) for item in getattr(table, name))
                                          for name in _NESTED))
        for key, table in tables.items()})


def _from_compiled(data: bytes) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for key, (fields, columns, *endpoints) in marshal.loads(data).items():
        fields["columns"] = tuple([_rebuild(Column, c) for c in columns])
        for name, group in zip(_NESTED[1:], endpoints, strict=True):
            fields[name] = tuple([_rebuild(Endpoint, e) for e in group])
        tables[key] = _rebuild(Table, fields)
    return tables


def _load_compiled(path: Path | None) -> dict[str, Table] | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            tables = _from_compiled(handle.read())
    except Exception:  # noqa: BLE001 - missing, partly written, unreadable or foreign: parse
        return None
    if tables and all(isinstance(key, str) for key in tables):
        return tables
    return None


def _store_compiled(path: Path | None, tables: dict[str, Table]) -> None:
    if path is None:
        return
    import tempfile

    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".catalog-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(_compiled_form(tables))
            os.replace(temporary, path)  # whole or not at all, for concurrent processes
        except BaseException:
            os.unlink(temporary)
            raise
        for stale in path.parent.glob("catalog-*"):
            if stale != path:  # compiled from other schema files or code: never loaded again
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # not writable: parsed again next time


def _add(tables: dict[str, Table], table: Table, *, replace: bool) -> None:
    other = tables.get(table.name.lower())
    if other is not None and not replace:
        raise ProgrammingError(f"schema file {table.source}: table {table.name!r} "
                               f"is already defined in {other.source}")
    tables[table.name.lower()] = table


@functools.lru_cache(maxsize=32)
def _load(location: str | None) -> Catalog:
    tables = dict(_shipped_tables())  # the shipped Table objects are shared by every location
    if location is not None:
        folder = Path(location)
        if not folder.is_dir():
            raise ProgrammingError(f"Location {location!r} is not a folder of schema files")
        user: dict[str, Table] = {}
        for path in sorted(folder.glob("*.toml")):
            _add(user, _read(path.read_text(encoding="utf-8"), str(path)), replace=False)
        for table in user.values():  # a user file replaces a shipped table of the same name
            _add(tables, table, replace=True)
    return Catalog(tables)


def load_catalog(location: str | os.PathLike[str] | None = None) -> Catalog:
    """Load the shipped tables plus ``*.toml`` from ``location`` (cached per location)."""
    if location is None or str(location) == "":
        return _load(None)
    return _load(str(Path(location).expanduser().resolve()))
