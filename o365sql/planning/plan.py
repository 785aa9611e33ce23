"""Plan nodes: what the planner hands to execution (frozen where they can be).

A :class:`QueryPlan` is a list of :class:`Scan` (Graph or local ``sys_*`` sources, each loaded
into one SQLite temp table) plus the residual SQL that runs over them, or, when nothing needs all
rows, the per-page SQL (or nothing at all) of the streaming path. A :class:`ProcedurePlan` is an
EXEC call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog import Column, Table
from ..odata.query import ODataQuery


@dataclass(frozen=True)
class OutputColumn:
    """One result column: its name, catalog SQL type (type_code), nullability, and how its
    SQLite values turn back into Python ones (``convert``: the SQL type, or
    ``DATETIME_NAIVE`` for dateTimeTimeZone wall-clock columns)."""

    name: str
    sql_type: str
    null_ok: bool = True
    convert: str = ""


@dataclass(frozen=True)
class Dependency:
    """A scan addressed by values known only at run time.

    Two kinds: a join (``JOIN Messages m ON m.UserId = u.Id``), where the values are the
    distinct non-null ``column`` values of scan ``scan`` once it has run; and an uncorrelated
    subquery (``UserId IN (SELECT Id FROM Users WHERE ...)``, ``UserId = (SELECT ...)``), where
    ``sql`` is the subquery as residual SQLite over the storage tables of ``scans`` (which run
    first), its distinct non-null values (or, ``scalar``, the value of its first row) address
    the requests. ``slot`` is the endpoint template slot (``UserId``).

    A join may bind several slots (``ON a.MessageId = m.Id AND a.UserId = m.UserId``):
    ``bindings`` lists every ``(scan, column, slot)``, the first being ``scan``/``column``/
    ``slot``. Slots bound by one scan take its rows' distinct combinations of values (each
    message with its own mailbox); slots bound by different scans take every combination.
    """

    scan: int
    column: str
    slot: str
    sql: str | None = None
    scalar: bool = False
    scans: tuple[int, ...] = ()
    bindings: tuple[tuple[int, str, str], ...] = ()

    @property
    def needs(self) -> tuple[int, ...]:
        """The scans that must be loaded before this one's requests are known."""
        if self.sql is not None:
            return self.scans
        return tuple(dict.fromkeys(b[0] for b in self.bindings)) or (self.scan,)

    @property
    def slots(self) -> tuple[str, ...]:
        """The endpoint slots the run-time values fill, in binding order."""
        return tuple(b[2] for b in self.bindings) or (self.slot,)


@dataclass
class Scan:
    """One table reference: where its rows come from and which stored columns they fill.

    Attributes:
        index: position in the plan; the storage table is ``_scan<index>``.
        table: the catalog table.
        alias: the alias the residual SQL uses.
        columns: stored columns, in storage order.
        queries: one OData query per Graph request (several for a fan-out); empty for
            ``sys_*`` tables and dependent scans (built at run time from ``template_query``).
        fills: per query, the pseudo-column values its rows get (``UserId`` of a mailbox).
        template_query: the query a dependent scan instantiates per value (the first of
            ``templates``).
        templates: every template of a dependent scan, one per route (``a.UserId IN ('x',
            'y')`` with ``a.MessageId = m.Id``: two), each with its ``fills`` entry.
        dependency: see :class:`Dependency`.
        row_limit: stop reading after this many rows (LIMIT pushed as an early stop).
        exact: every WHERE conjunct of this scan was pushed exactly (no local re-check).
        pushed: human descriptions of what Graph does, for EXPLAIN.
        local: human descriptions of conjuncts evaluated locally, for EXPLAIN.
        count: the scan is a ``/$count`` call answering ``COUNT(*)``, or with
            ``count_property`` a GET of the folder whose property holds it
            (``folder_counts.py``).
        items: the queries are single-item GETs (``/me/messages/{Id}``); a missing item
            (404) is no row, and nothing but ``$select`` is sent.
        dedupe: requests may return the same item (chunks of a long IN list on a loosely
            compared column): keep the first copy of each key.
        empty: the scan's SELECT has a false WHERE clause (``x IN ()`` with an empty
            sequence parameter): no request is sent and the scan has no rows.
        notes: human explanations for EXPLAIN (why a COUNT(*) was not pushed ...).
        folder_names: well-known folder names the residual query compares ``ParentFolderId``
            with (lower-case): execution resolves them per mailbox (``planning/folders.py``).
        top_n: a bounded ranking pushed into every request (``top_n.py``): its description
            for EXPLAIN, or empty.
        missing_ok: the requests address a folder (``ParentFolderId = x``): Graph's "no such
            item"/"malformed id" answer for one of them means no rows, not an error.
        walk: a folder table read without a parent: each folder's ``childFolders`` are read
            too, level by level, so the rows are every folder at any depth.
        ranges: the property (Graph path) execution may split this one-request scan on, to
            read it as disjoint ranges at once when Graph's count makes it pay off
            (``range_scan.py``, ``execution/parallel_scan.py``); "" to read it as one request.
    """

    index: int
    table: Table
    alias: str
    columns: tuple[Column, ...]
    queries: tuple[ODataQuery, ...] = ()
    fills: tuple[dict[str, Any], ...] = ()
    template_query: ODataQuery | None = None
    templates: tuple[ODataQuery, ...] = ()
    dependency: Dependency | None = None
    row_limit: int | None = None
    exact: bool = False
    pushed: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    count: bool = False
    endpoint_count_with_filter: bool = True
    items: bool = False
    dedupe: bool = False
    empty: bool = False
    notes: list[str] = field(default_factory=list)
    folder_names: tuple[str, ...] = ()
    missing_ok: bool = False
    top_n: str = ""
    count_property: str = ""
    walk: bool = False
    ranges: str = ""

    @property
    def storage(self) -> str:
        return f"_scan{self.index}"

    @property
    def system(self) -> bool:
        return self.table.entity == "o365sql.system"


@dataclass
class QueryPlan:
    """A SELECT ready to run.

    Attributes:
        scans: the sources, in the order they must run (dependencies first).
        sql: the residual SQLite query over the storage tables (full path).
        output: result columns.
        streaming: rows can flow page by page (one scan, nothing needs all rows).
        page_sql: for streaming, the per-page SQLite query, or None when rows pass straight
            through conversion (``direct``).
        offset / limit: applied while streaming.
        steps: human descriptions of the local work, for EXPLAIN and golden files.
        aggregate: the outermost SELECT aggregates (MaxRows does not cap it).
        max_rows: the MaxRows property when it caps this result (EXPLAIN shows it).
    """

    scans: list[Scan]
    sql: str
    output: list[OutputColumn]
    streaming: bool = False
    page_sql: str | None = None
    direct_columns: tuple[int, ...] = ()
    offset: int = 0
    limit: int | None = None
    steps: list[str] = field(default_factory=list)
    aggregate: bool = False
    max_rows: int | None = None


@dataclass(frozen=True)
class ProcedurePlan:
    """An EXEC call: the procedure name and its bound arguments by parameter name."""

    name: str
    arguments: dict[str, Any]
