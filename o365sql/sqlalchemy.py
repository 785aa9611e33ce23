"""SQLAlchemy 2.x dialect ``o365sql://``: where SQLAlchemy, pandas and BI tools meet the driver.

Stage: integration on top of the PEP 249 surface. SQLAlchemy calls ``import_dbapi()`` (the
``o365sql`` module) and ``create_connect_args(url)`` (URL → connection properties), compiles
Core statements into the SQL subset the o365sql engine parses, and reflects tables from the
connection's catalog (``schema/*.toml`` plus ``Location``) without any Graph request. It is
registered by the entry point ``o365sql = o365sql.sqlalchemy:O365Dialect`` and never imported by
``o365sql/__init__.py`` (SQLAlchemy is an optional extra).

URL: ``o365sql://[client_id[:client_secret]@][tenant]/?Key=Value&...``: the user name is
``OAuthClientId``, the password ``OAuthClientSecret`` (SQLAlchemy masks it in reprs), the host
``AzureTenant``; query parameters are any connection properties (CData names, any case). Put
tokens and other secrets in ``create_engine(..., connect_args={...})``, not in the query
string, which SQLAlchemy shows in ``repr(engine)``.

pandas: ``read_sql_table`` types columns from reflection, so Edm.DateTimeOffset columns are
``datetime64[..., UTC]`` even when every value is NULL (``Events.OriginalStart`` of single
events). ``read_sql``/``read_sql_query`` on SQL text only see the values (pandas reads no
column types from a result): a column whose values are all NULL comes back as ``object``
(None); ask for the type with ``parse_dates={"OriginalStart": {"utc": True}}`` or
``dtype={"OriginalStart": "datetime64[us, UTC]"}``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.engine import default, reflection
from sqlalchemy.engine.interfaces import (
    IsolationLevel,
    ReflectedCheckConstraint,
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedIndex,
    ReflectedPrimaryKeyConstraint,
    ReflectedTableComment,
    ReflectedUniqueConstraint,
)
from sqlalchemy.exc import ArgumentError, NoSuchTableError
from sqlalchemy.sql import compiler

import o365sql
from o365sql.catalog import Catalog, Column, Table

__all__ = [
    "SCHEMA",
    "O365Compiler",
    "O365Dialect",
    "O365IdentifierPreparer",
    "O365TypeCompiler",
    "column_type",
]

#: The one schema name (CData's SchemaName in sys_tables). It is accepted in reflection and
#: on ``Table(..., schema=SCHEMA)``, but never written into SQL: the engine has no schemas.
SCHEMA = "Office365"


def column_type(column: Column) -> sqltypes.TypeEngine[Any]:
    """The SQLAlchemy type of a catalog column.

    ``DATETIME`` columns from ``Edm.DateTimeOffset`` hold aware UTC datetimes:
    ``TIMESTAMP(timezone=True)``, a ``DateTime(timezone=True)`` that pandas also reads as
    time-zone aware (``read_sql_table`` makes such a column ``datetime64[..., UTC]`` even
    when every value is NULL; for a plain ``DateTime`` it infers from the values, and a
    column of NULLs becomes naive). The ``*_DateTime`` halves of Graph's dateTimeTimeZone
    values are naive wall-clock times (their zone is the ``*_TimeZone`` column), so plain
    ``DateTime``. ``JSON`` columns hold JSON text, as the driver returns it: ``String``.
    """
    kind = column.sql_type
    if kind == "DATETIME":
        if column.edm_type == "Edm.DateTimeOffset":
            return sqltypes.TIMESTAMP(timezone=True)
        return sqltypes.DateTime(timezone=False)
    factory = _TYPES.get(kind, sqltypes.String)
    return factory()


_TYPES: dict[str, type[sqltypes.TypeEngine[Any]]] = {
    "VARCHAR": sqltypes.String, "TEXT": sqltypes.Text, "GUID": sqltypes.String,
    "ENUM": sqltypes.String, "JSON": sqltypes.String, "BOOLEAN": sqltypes.Boolean,
    "INTEGER": sqltypes.Integer, "BIGINT": sqltypes.BigInteger, "DOUBLE": sqltypes.Float,
    "DECIMAL": sqltypes.Numeric, "DATE": sqltypes.Date, "TIME": sqltypes.Time,
    "BINARY": sqltypes.LargeBinary, "VARBINARY": sqltypes.LargeBinary,
}


class O365IdentifierPreparer(compiler.IdentifierPreparer):
    """Quotes only names that need it: o365sql names are case-insensitive, so ``Messages``
    is written bare (SQLAlchemy's default quotes every mixed-case name), and the schema is
    left out of table references."""

    def __init__(self, dialect: Any, *args: Any, **kw: Any) -> None:
        # Takes what the base takes, so the class can stand as the dialect's ``preparer``.
        super().__init__(dialect, *args, **kw)
        # SQLAlchemy asks this for the schema to write before a table (and a table's
        # columns); o365sql's SQL has none, so a Table(..., schema=SCHEMA) renders bare.
        # SQLAlchemy types the hook as returning str, yet its own default returns Table.schema,
        # which is None for a table without one; None is what it expects for "no schema".
        self.schema_for_object = _no_schema  # type: ignore[assignment]

    def _requires_quotes(self, value: str) -> bool:
        if not value:
            return True
        return (value.lower() in self.reserved_words
                or value[0] in self.illegal_initial_characters
                or not self.legal_characters.match(str(value)))

    def format_table(self, table: Any, use_schema: bool = True, name: str | None = None) -> str:
        return super().format_table(table, use_schema=False, name=name)


class O365Compiler(compiler.SQLCompiler):
    """SQLAlchemy's generic SQL, which the engine reads (sqlglot): ``LIMIT :n OFFSET :m`` with
    bound values, ``:name`` parameters. Two things differ: an offset alone is ``OFFSET n``
    (the generic ``LIMIT -1 OFFSET n`` is SQLite's idiom; the engine follows SQL, where a
    LIMIT is never negative), and booleans are ``TRUE``/``FALSE`` rather than ``1``/``0``."""

    def limit_clause(self, select: Any, **kw: Any) -> str:
        text = ""
        if select._limit_clause is not None:
            text += "\n LIMIT " + self.process(select._limit_clause, **kw)
        if select._offset_clause is not None:
            text += "\n OFFSET " + self.process(select._offset_clause, **kw)
        return text

    def visit_true(self, expr: Any, **kw: Any) -> str:
        return "TRUE"

    def visit_false(self, expr: Any, **kw: Any) -> str:
        return "FALSE"


class O365TypeCompiler(compiler.GenericTypeCompiler):
    """Type names for ``CAST`` in the catalog's spelling (``o365sql.types.SQL_TYPES``)."""

    def visit_float(self, type_: Any, **kw: Any) -> str:
        return "DOUBLE"

    def visit_double(self, type_: Any, **kw: Any) -> str:
        return "DOUBLE"

    def visit_large_binary(self, type_: Any, **kw: Any) -> str:
        return "VARBINARY"

    def visit_JSON(self, type_: Any, **kw: Any) -> str:
        return "JSON"

    def visit_uuid(self, type_: Any, **kw: Any) -> str:
        return "GUID"

    def visit_TIMESTAMP(self, type_: Any, **kw: Any) -> str:
        return "DATETIME"


class O365Dialect(default.DefaultDialect):
    """The ``o365sql://`` dialect (driver ``graph``)."""

    name = "o365sql"
    driver = "graph"
    # Must be set on every dialect class, it is not inherited (SQLAlchemy warns otherwise).
    supports_statement_cache = True
    default_paramstyle = "named"
    statement_compiler = O365Compiler
    type_compiler_cls = O365TypeCompiler
    preparer = O365IdentifierPreparer
    supports_alter = False
    supports_schemas = False
    supports_views = True
    supports_native_boolean = True
    supports_native_decimal = True
    supports_sequences = False
    supports_comments = True
    inline_comments = False
    supports_multivalues_insert = False
    # rowcount is exact for UPDATE and DELETE, and for executemany the total of all rows
    # (o365sql's writes count what Graph created, changed or deleted).
    supports_sane_rowcount = True
    supports_sane_multi_rowcount = True
    postfetch_lastrowid = False
    # INSERT ... RETURNING works (the created items, read from Graph's answers).
    insert_returning = True
    update_returning = False
    delete_returning = False
    returns_native_bytes = True
    # Graph has no transactions: every statement takes effect at once.
    isolation_level = "AUTOCOMMIT"
    # The driver already returns Python objects (aware datetimes, bools, ints): no SQLAlchemy
    # result processing on top (shillelagh does the same).
    # Its type comes from DefaultDialect, which declares it per instance (hence no ClassVar);
    # this empty mapping is never mutated.
    colspecs = {}  # noqa: RUF012

    @classmethod
    def import_dbapi(cls) -> Any:
        return o365sql

    def create_connect_args(self, url: Any) -> tuple[list[Any], dict[str, Any]]:
        """Map the URL onto ``o365sql.connect`` keywords (see the module docstring)."""
        if url.port is not None:
            raise ArgumentError("o365sql:// URLs have no port: the host is the Azure tenant "
                                "(GraphURL/AuthorityURL choose the servers)")
        props: dict[str, Any] = {}
        if url.username:
            props["OAuthClientId"] = url.username
        if url.password:
            props["OAuthClientSecret"] = url.password
        if url.host:
            props["AzureTenant"] = url.host
        for key, value in url.query.items():
            if isinstance(value, tuple):  # ?k=a&k=b: the last one, as in a connection string
                value = value[-1]
            props[key] = value
        return [], props

    # -- connection behaviour -----------------------------------------------------------------
    def do_rollback(self, dbapi_connection: Any) -> None:
        # No-op on purpose: SQLAlchemy rolls back on first connect and on every return to the
        # pool, and o365sql's rollback() raises NotSupportedError (nothing can be undone), which
        # would make engine.connect() fail. Nothing is pending, so nothing is lost.
        return None

    def do_ping(self, dbapi_connection: Any) -> bool:
        # A connection holds no server session (each statement is independent HTTPS), so it is
        # usable while open; pre-ping costs no Graph request.
        return not dbapi_connection.closed

    def get_isolation_level(self, dbapi_connection: Any) -> IsolationLevel:
        return "AUTOCOMMIT"

    def get_default_isolation_level(self, dbapi_conn: Any) -> IsolationLevel:
        return "AUTOCOMMIT"

    def get_isolation_level_values(self, dbapi_conn: Any) -> list[IsolationLevel]:
        return ["AUTOCOMMIT"]

    def set_isolation_level(self, dbapi_connection: Any, level: IsolationLevel) -> None:
        if level != "AUTOCOMMIT":
            raise ArgumentError(f"o365sql supports only AUTOCOMMIT (Graph has no "
                                f"transactions), not {level!r}")

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", o365sql.__version__)[:3])

    def _get_default_schema_name(self, connection: Any) -> str:
        return SCHEMA

    # -- reflection (from the catalog: local, cheap, never a Graph request) ----------------------
    def _catalog(self, connection: Any) -> Catalog:
        dbapi_connection = connection.connection.dbapi_connection
        catalog: Catalog = dbapi_connection.catalog
        return catalog

    def _table(self, connection: Any, table_name: str, schema: str | None) -> Table:
        catalog = self._catalog(connection)
        if not _our_schema(schema) or table_name not in catalog:
            raise NoSuchTableError(table_name)
        return catalog.table(table_name)

    def get_schema_names(self, connection: Any, **kw: Any) -> list[str]:
        return [SCHEMA]

    @reflection.cache
    def get_table_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        if not _our_schema(schema):
            return []
        return [t.name for t in self._catalog(connection) if t.kind == "table"]

    @reflection.cache
    def get_view_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        if not _our_schema(schema):
            return []
        return [t.name for t in self._catalog(connection) if t.kind == "view"]

    def has_table(self, connection: Any, table_name: str, schema: str | None = None,
                  **kw: Any) -> bool:
        # pandas calls this with a whole SQL statement to tell it from a table name: it must
        # stay local and never raise.
        try:
            return _our_schema(schema) and table_name in self._catalog(connection)
        except Exception:  # noqa: BLE001 - "not a table" is the honest answer
            return False

    @reflection.cache
    def get_columns(self, connection: Any, table_name: str, schema: str | None = None,
                    **kw: Any) -> list[ReflectedColumn]:
        table = self._table(connection, table_name, schema)
        # Heavy columns (bodies, attachment content) are reflected too: a reflected Table is
        # a description of everything there is; SELECT * leaves them out, explicit names don't.
        return [
            {"name": c.name, "type": column_type(c), "nullable": c.nullable, "default": None,
             "autoincrement": False, "comment": c.description or None}
            for c in table.columns
        ]

    @reflection.cache
    def get_pk_constraint(self, connection: Any, table_name: str, schema: str | None = None,
                          **kw: Any) -> ReflectedPrimaryKeyConstraint:
        table = self._table(connection, table_name, schema)
        return {"constrained_columns": [table.key], "name": None}

    def get_foreign_keys(self, connection: Any, table_name: str, schema: str | None = None,
                         **kw: Any) -> list[ReflectedForeignKeyConstraint]:
        self._table(connection, table_name, schema)
        return []

    def get_indexes(self, connection: Any, table_name: str, schema: str | None = None,
                    **kw: Any) -> list[ReflectedIndex]:
        self._table(connection, table_name, schema)
        return []

    def get_unique_constraints(self, connection: Any, table_name: str,
                               schema: str | None = None, **kw: Any
                               ) -> list[ReflectedUniqueConstraint]:
        self._table(connection, table_name, schema)
        return []

    def get_check_constraints(self, connection: Any, table_name: str,
                              schema: str | None = None, **kw: Any
                              ) -> list[ReflectedCheckConstraint]:
        self._table(connection, table_name, schema)
        return []

    def get_table_comment(self, connection: Any, table_name: str, schema: str | None = None,
                          **kw: Any) -> ReflectedTableComment:
        table = self._table(connection, table_name, schema)
        return {"text": table.description or None}


def _no_schema(obj: Any) -> None:
    return None


def _our_schema(schema: str | None) -> bool:
    return schema is None or schema.lower() == SCHEMA.lower()
