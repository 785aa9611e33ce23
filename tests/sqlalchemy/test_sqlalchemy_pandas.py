"""pandas over the ``o365sql://`` engine: ``read_sql`` (string, ``text()`` with parameters),
``read_sql_query`` and ``read_sql_table`` give the driver's rows with proper dtypes (aware UTC
datetimes, bool, int64), with no warning; the raw DB-API path warns, as pandas documents."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest
import sqlalchemy as sa
from pandas.api import types as ptypes

from o365sql.catalog import load_catalog

CATALOG = load_catalog()


def _is_utc(dtype: object) -> bool:
    return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"


def test_read_sql_string_matches_the_cursor(engine, raw):
    sql = ("SELECT Id, Subject, ReceivedDateTime, IsRead, HasAttachments FROM Messages "
           "ORDER BY ReceivedDateTime DESC LIMIT 12")
    df = pd.read_sql(sql, engine)
    rows = raw.cursor().execute(sql).fetchall()
    assert list(df.columns) == ["Id", "Subject", "ReceivedDateTime", "IsRead", "HasAttachments"]
    assert len(df) == len(rows) == 12
    assert _is_utc(df["ReceivedDateTime"].dtype)
    assert df["IsRead"].dtype == bool and df["HasAttachments"].dtype == bool
    assert [ts.to_pydatetime() for ts in df["ReceivedDateTime"]] == [r[2] for r in rows]
    assert df["Subject"].tolist() == [r[1] for r in rows]
    assert df["IsRead"].tolist() == [r[3] for r in rows]


def test_read_sql_text_with_params_and_aggregates(engine, raw):
    sql = ("SELECT Importance, COUNT(*) AS N FROM Messages WHERE ReceivedDateTime >= :since "
           "GROUP BY Importance ORDER BY Importance")
    since = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    df = pd.read_sql(sa.text(sql), engine, params={"since": since})
    rows = raw.cursor().execute(sql, {"since": since}).fetchall()
    assert df["N"].dtype == "int64"
    assert list(df.itertuples(index=False, name=None)) == rows
    assert rows
    same = pd.read_sql_query(sa.text(sql), engine, params={"since": since})
    pd.testing.assert_frame_equal(df, same)


def test_read_sql_table_reflects_and_types_columns(engine, raw):
    df = pd.read_sql_table("Messages", engine)
    table = CATALOG.table("Messages")
    assert list(df.columns) == [c.name for c in table.columns]
    count = raw.cursor().execute("SELECT COUNT(*) FROM Messages").fetchone()[0]
    assert len(df) == count > 0
    for column in table.columns:
        dtype = df[column.name].dtype
        if column.sql_type == "DATETIME" and column.edm_type == "Edm.DateTimeOffset":
            assert _is_utc(dtype), column.name  # all-NULL columns too (reflected type)
        elif column.sql_type == "BOOLEAN" and df[column.name].notna().all():
            assert dtype == bool, column.name
    assert _is_utc(df["ReceivedDateTime"].dtype)
    assert df["IsRead"].dtype == bool


def test_read_sql_table_events_keeps_wall_clock_times_naive(engine):
    df = pd.read_sql_table("Events", engine, columns=["Subject", "Start_DateTime",
                                                     "Start_TimeZone", "CreatedDateTime"])
    assert len(df) > 0
    assert ptypes.is_datetime64_dtype(df["Start_DateTime"]) and \
        not isinstance(df["Start_DateTime"].dtype, pd.DatetimeTZDtype)
    assert _is_utc(df["CreatedDateTime"].dtype)


def test_all_null_datetimeoffset_column_is_utc(engine, raw):
    """``Events.OriginalStart`` is NULL on every single (non-recurring) event of the seeded
    tenant; ``read_sql_table`` still types it ``datetime64[..., UTC]`` from reflection."""
    values = raw.cursor().execute("SELECT OriginalStart FROM Events").fetchall()
    assert values and all(v == (None,) for v in values)
    df = pd.read_sql_table("Events", engine, columns=["Subject", "OriginalStart",
                                                     "CreatedDateTime"])
    assert len(df) == len(values) and df["OriginalStart"].isna().all()
    assert _is_utc(df["OriginalStart"].dtype) and _is_utc(df["CreatedDateTime"].dtype)
    with engine.connect() as conn:
        events = sa.Table("Events", sa.MetaData(), autoload_with=conn)
    assert isinstance(events.c.OriginalStart.type, sa.TIMESTAMP)
    assert events.c.OriginalStart.type.timezone is True
    assert not isinstance(events.c.Start_DateTime.type, sa.TIMESTAMP)


def test_read_sql_text_all_null_datetimes_need_parse_dates(engine):
    """On SQL text pandas sees only values (no column types): an all-NULL column is object
    unless asked for, as the dialect documents; ``parse_dates`` with ``utc`` gives UTC."""
    sql = "SELECT Subject, OriginalStart FROM Events"
    plain = pd.read_sql(sql, engine)
    assert plain["OriginalStart"].isna().all() and len(plain) > 0
    # Never a naive datetime64, which would claim wall-clock times.
    assert not (ptypes.is_datetime64_dtype(plain["OriginalStart"]) and
                not isinstance(plain["OriginalStart"].dtype, pd.DatetimeTZDtype))
    asked = pd.read_sql(sql, engine, parse_dates={"OriginalStart": {"utc": True}})
    assert _is_utc(asked["OriginalStart"].dtype)


def test_integer_columns_are_int64(engine, raw):
    table = CATALOG.table("MailFolders")
    names = [c.name for c in table.columns if c.sql_type in ("INTEGER", "BIGINT")]
    assert names  # item counts of a folder
    sql = f"SELECT DisplayName, {', '.join(names)} FROM MailFolders"
    df = pd.read_sql(sql, engine)
    assert len(df) > 0
    for name in names:
        assert df[name].dtype == "int64", name
    assert list(df.itertuples(index=False, name=None)) == raw.cursor().execute(sql).fetchall()
    counts = pd.read_sql("SELECT COUNT(*) AS N FROM Contacts", engine)
    assert counts["N"].dtype == "int64"


def test_raw_dbapi_connection_path_warns(raw):
    with pytest.warns(UserWarning, match="pandas only supports SQLAlchemy connectable"):
        df = pd.read_sql("SELECT DisplayName FROM Users", raw)
    assert len(df) == raw.cursor().execute("SELECT COUNT(*) FROM Users").fetchone()[0]
