"""The ``o365sql://`` dialect: registration, URL mapping, connecting (the rollback trap),
reflection from the catalog, and Core/``text()`` statements compiled into SQL the engine runs."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

import o365sql
from o365sql.catalog import load_catalog
from o365sql.sqlalchemy import SCHEMA, O365Dialect, column_type

CATALOG = load_catalog()


def test_entry_point_and_statement_cache_flag():
    engine = sa.create_engine("o365sql://")  # resolved through the sqlalchemy.dialects entry point
    assert isinstance(engine.dialect, O365Dialect)
    assert engine.dialect.dbapi is o365sql
    assert engine.dialect.paramstyle == "named"
    assert O365Dialect.__dict__["supports_statement_cache"] is True


def test_url_maps_to_connection_properties():
    url = sa.make_url("o365sql://client-id:s3cret@contoso.onmicrosoft.com/"
                      "?AuthScheme=AzureServicePrincipal&Pagesize=50&pagesize=100")
    args, kwargs = O365Dialect().create_connect_args(url)
    assert args == []
    assert kwargs == {"OAuthClientId": "client-id", "OAuthClientSecret": "s3cret",
                      "AzureTenant": "contoso.onmicrosoft.com",
                      "AuthScheme": "AzureServicePrincipal", "Pagesize": "50",
                      "pagesize": "100"}
    assert "s3cret" not in repr(url)
    with pytest.raises(sa.exc.ArgumentError, match="no port"):
        O365Dialect().create_connect_args(sa.make_url("o365sql://tenant:443/"))


def test_connect_begin_and_pool_return_do_not_roll_back(engine):
    # o365sql's rollback() raises NotSupportedError; SQLAlchemy rolls back on every checkin.
    for _ in range(3):
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1 AS one")).scalar() == 1
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT 2")).scalar() == 2
    with pytest.raises(o365sql.NotSupportedError):
        engine.raw_connection().dbapi_connection.rollback()


def test_reflection_lists_the_catalog(engine):
    insp = sa.inspect(engine)
    assert insp.get_schema_names() == [SCHEMA]
    assert insp.get_table_names() == [t.name for t in CATALOG if t.kind == "table"]
    assert insp.get_view_names() == [t.name for t in CATALOG if t.kind == "view"]
    assert insp.has_table("messages") and insp.has_table("CalendarView")
    assert not insp.has_table("SELECT Subject FROM Messages")  # pandas asks this
    assert not insp.has_table("Messages", schema="other")
    assert insp.get_pk_constraint("Messages")["constrained_columns"] == ["Id"]
    assert insp.get_foreign_keys("Messages") == [] and insp.get_indexes("Messages") == []
    assert insp.get_table_comment("Events")["text"] == CATALOG.table("Events").description
    with pytest.raises(sa.exc.NoSuchTableError):
        insp.get_columns("Mesages")


def test_column_types_follow_the_catalog(engine):
    insp = sa.inspect(engine)
    for table in CATALOG:
        reflected = insp.get_columns(table.name)
        assert [c["name"] for c in reflected] == [c.name for c in table.columns]
        for column, info in zip(table.columns, reflected):
            assert type(info["type"]) is type(column_type(column))
            assert info["nullable"] == column.nullable
    messages = {c["name"]: c["type"] for c in insp.get_columns("Messages")}
    assert isinstance(messages["ReceivedDateTime"], sa.DateTime)
    assert messages["ReceivedDateTime"].timezone is True  # Edm.DateTimeOffset
    assert isinstance(messages["IsRead"], sa.Boolean)
    assert isinstance(messages["Subject"], sa.String)
    events = {c["name"]: c["type"] for c in insp.get_columns("Events")}
    assert events["Start_DateTime"].timezone is False  # dateTimeTimeZone: a wall-clock time
    kinds = {c.sql_type for t in CATALOG for c in t.columns}
    for sql_type, expected in {"INTEGER": sa.Integer, "BIGINT": sa.BigInteger,
                               "DOUBLE": sa.Float, "DATE": sa.Date, "JSON": sa.String}.items():
        if sql_type in kinds:
            column = next(c for t in CATALOG for c in t.columns if c.sql_type == sql_type)
            assert isinstance(column_type(column), expected)


def test_core_select_compiles_to_engine_sql_and_runs(engine, raw):
    with engine.connect() as conn:
        messages = sa.Table("Messages", sa.MetaData(), autoload_with=conn)
        query = (sa.select(messages.c.Subject, messages.c.ReceivedDateTime)
                 .where(messages.c.IsRead == sa.false())
                 .where(messages.c.ReceivedDateTime >= datetime.datetime(2020, 1, 1,
                                                                         tzinfo=datetime.UTC))
                 .order_by(messages.c.ReceivedDateTime.desc()).limit(4).offset(1))
        compiled = " ".join(str(query.compile(engine)).split())
        assert compiled == (
            "SELECT Messages.Subject, Messages.ReceivedDateTime FROM Messages "
            "WHERE Messages.IsRead = FALSE AND Messages.ReceivedDateTime >= "
            ":ReceivedDateTime_1 ORDER BY Messages.ReceivedDateTime DESC "
            "LIMIT :param_1 OFFSET :param_2")
        got = conn.execute(query).all()
    cur = raw.cursor()
    cur.execute("SELECT Subject, ReceivedDateTime FROM Messages WHERE IsRead = false AND "
                "ReceivedDateTime >= :d ORDER BY ReceivedDateTime DESC LIMIT 4 OFFSET 1",
                {"d": datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)})
    assert [tuple(r) for r in got] == cur.fetchall()
    assert got


def test_text_with_parameters_and_schema_qualified_tables(engine, raw):
    sql = "SELECT DisplayName, Mail FROM Users WHERE DisplayName >= :low ORDER BY DisplayName"
    with engine.connect() as conn:
        got = conn.execute(sa.text(sql), {"low": "B"}).all()
        users = sa.Table("Users", sa.MetaData(schema=SCHEMA), autoload_with=conn)
        count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar()
    assert [tuple(r) for r in got] == raw.cursor().execute(sql, {"low": "B"}).fetchall()
    assert count == raw.cursor().execute("SELECT COUNT(*) FROM Users").fetchone()[0]
    assert got and count >= len(got)


def test_offset_without_limit(engine, raw):
    with engine.connect() as conn:
        contacts = sa.Table("Contacts", sa.MetaData(), autoload_with=conn)
        query = sa.select(contacts.c.DisplayName).order_by(contacts.c.DisplayName).offset(2)
        got = [r[0] for r in conn.execute(query)]
    everything = [r[0] for r in raw.cursor().execute(
        "SELECT DisplayName FROM Contacts ORDER BY DisplayName").fetchall()]
    assert got == everything[2:] and len(everything) > 2
