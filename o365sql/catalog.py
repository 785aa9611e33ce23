"""Table catalog: the virtual tables, their columns and Graph capabilities, loaded from ``schema/*.toml``.

This is data for the planner (``planning/``) and the OData renderer (``odata/``); it does no I/O
beyond reading the TOML files once.

INTERFACE CONTRACT (shared by the planning, odata, execution and catalog work; do not change
field names without updating every user):

* ``Column.name``: the SQL name, CData style (``Subject``, ``From_EmailAddress_Address``,
  ``Start_DateTime``); matched case-insensitively.
* ``Column.path``: the JSON path in a Graph entity, e.g. ``("from", "emailAddress", "address")``.
  Empty for pseudo-columns.
* ``Column.select``: the top-level Graph property to put in ``$select`` (``"from"``); ``None``
  for pseudo-columns.
* ``Column.edm_type``: the EDM type from the v1.0 CSDL (``"Edm.String"``,
  ``"Edm.DateTimeOffset"``, ``"microsoft.graph.importance"``, ``"Collection(Edm.String)"`` ...).
* ``Column.sql_type``: one of ``o365sql.types.SQL_TYPES``.
* ``Column.filter_ops``: the ``$filter`` operators/functions Graph evaluates on this column:
  subset of ``eq ne gt ge lt le startswith endswith contains in any``.
* ``Column.filter_exact``: False when Graph evaluates the column's string comparisons loosely
  (Exchange compares strings case-insensitively): pushed as a pre-filter and re-checked locally.
* ``Column.orderable``: Graph accepts ``$orderby`` on it.
* ``Column.heavy``: left out of ``SELECT *`` (bodies, attachment content).
* ``Column.pseudo``: an address column (``UserId``, ``ParentFolderId``, ``CalendarId``,
  ``StartDateTime``/``EndDateTime`` window) that selects the endpoint, not a Graph property.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column of a virtual table."""

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


@dataclass(frozen=True)
class Endpoint:
    """One URL template of a table and the pseudo-columns that must be bound to use it.

    ``template`` is relative to the Graph base URL, e.g. ``/users/{UserId}/mailFolders/{ParentFolderId}/messages``.
    The first endpoint whose ``requires`` are all bound by the query's WHERE is used; the table's
    last endpoint usually requires nothing (``/me/messages``).
    """

    template: str
    requires: tuple[str, ...] = ()


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

    def column(self, name: str) -> Column | None:
        """Return the column called ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None


@dataclass
class Catalog:
    """All tables known to a connection: the shipped ones plus any from ``Location``."""

    tables: dict[str, Table] = field(default_factory=dict)  # keyed by lower-case name
