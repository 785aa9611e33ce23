"""Unit tests of the value model (``o365sql/value_model.py``): one form per SQL type for
storage, OData and text read as the type; years below 1000 keep four digits everywhere."""

from __future__ import annotations

import datetime as dt

import pytest

from o365sql.types import SQL_TYPES
from o365sql.value_model import (
    FORMS,
    NAIVE_DATETIME,
    datetime_to_storage,
    from_storage,
    odata_literal,
    read_text,
    to_storage,
)

UTC = dt.UTC


def test_every_catalog_type_has_one_form_with_its_python_type() -> None:
    assert set(SQL_TYPES) <= set(FORMS)
    for name, python in SQL_TYPES.items():
        assert FORMS[name].python is python, name
    assert FORMS[NAIVE_DATETIME].python is dt.datetime


@pytest.mark.parametrize("value", [
    dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
    dt.datetime(2026, 10, 23, 3, 41, 44, 500, tzinfo=UTC),
    dt.datetime(2026, 10, 23, 5, 41, 44, tzinfo=dt.timezone(dt.timedelta(hours=2))),
])
def test_datetimes_round_trip_through_storage_with_four_digit_years(value: dt.datetime) -> None:
    text = datetime_to_storage(value)
    assert text[4] == "-" and text[10] == " "
    assert from_storage(text, "DATETIME") == value
    assert from_storage(to_storage(value.astimezone(UTC).replace(tzinfo=None)),
                        NAIVE_DATETIME) == value.astimezone(UTC).replace(tzinfo=None)


def test_storage_text_order_is_time_order() -> None:
    moments = [dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(999, 1, 1, tzinfo=UTC),
               dt.datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
               dt.datetime(2026, 1, 1, 9, 30, 0, 1, tzinfo=UTC),
               dt.datetime(2026, 1, 1, 9, 30, 1, tzinfo=UTC)]
    texts = [datetime_to_storage(m) for m in moments]
    assert texts == sorted(texts)


def test_odata_literals_keep_four_digit_years() -> None:
    sentinel = dt.datetime(1, 1, 1, tzinfo=UTC)
    assert odata_literal(sentinel, "Edm.DateTimeOffset") == "0001-01-01T00:00:00Z"
    assert odata_literal(sentinel, "datetime-string") == "'0001-01-01T00:00:00.0000000'"
    assert odata_literal("0001-01-01 00:00:00", "Edm.DateTimeOffset") == "0001-01-01T00:00:00Z"


@pytest.mark.parametrize("text,value", [
    ("true", True), ("FALSE", False), (" t ", True), ("f", False), ("yes", True), ("no", False),
    ("on", True), ("off", False), ("1", True), ("0", False), ("of", False)])
def test_text_read_as_boolean_as_postgresql_does(text: str, value: bool) -> None:
    assert read_text(text, "BOOLEAN") is value


@pytest.mark.parametrize("sql_type,text", [
    ("BOOLEAN", "maybe"), ("BOOLEAN", "o"), ("BOOLEAN", ""), ("BOOLEAN", "2"),
    ("INTEGER", "3.5"), ("INTEGER", "three"), ("BIGINT", ""), ("DOUBLE", "x"),
    ("DATETIME", "yesterday"), ("DATE", "2026-01-01T00:00:00"), ("TIME", "noon")])
def test_text_that_is_no_value_of_the_type_is_refused(sql_type: str, text: str) -> None:
    with pytest.raises(ValueError):
        read_text(text, sql_type)


def test_text_read_as_numbers_and_datetimes() -> None:
    assert read_text(" 3 ", "INTEGER") == 3
    assert read_text("+3", "BIGINT") == 3
    assert read_text("2.5", "DOUBLE") == 2.5
    assert read_text("2026-10-23T05:41:44+02:00", "DATETIME") == dt.datetime(
        2026, 10, 23, 3, 41, 44, tzinfo=UTC)
    assert read_text("0001-01-01T00:00:00Z", "DATETIME") == dt.datetime(1, 1, 1, tzinfo=UTC)
    assert read_text("2026-01-31", "DATE") == dt.date(2026, 1, 31)
    assert read_text("abc", "VARCHAR") == "abc"


def test_results_take_the_python_type_of_their_sql_type() -> None:
    assert from_storage(2026, "DOUBLE") == 2026.0 and isinstance(from_storage(2026, "DOUBLE"),
                                                                 float)
    assert from_storage(1, "VARCHAR") == "1"
    assert from_storage(1, "BOOLEAN") is True
