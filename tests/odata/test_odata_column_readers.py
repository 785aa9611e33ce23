"""column_reader gives exactly graph_value's values and DataError messages (unit tests)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o365sql.catalog import Column
from o365sql.conversion import (
    column_reader,
    column_values,
    graph_value,
    parse_datetime,
    storage_reader,
    storage_values,
)
from o365sql.exceptions import DataError

#: Fixed examples under CI (a red run is reproducible), new ones elsewhere.
DERANDOMIZE = bool(os.environ.get("CI"))

COLUMNS = [
    Column(name="Received", sql_type="DATETIME", edm_type="Edm.DateTimeOffset", path=("r",)),
    Column(name="Start", sql_type="DATETIME", edm_type="Edm.String", path=("s", "dateTime"),
           literal_form="datetime-string"),
    Column(name="Subject", sql_type="VARCHAR", path=("subject",)),
    Column(name="From", sql_type="VARCHAR", path=("from", "emailAddress", "address")),
    Column(name="Flag", sql_type="BOOLEAN", edm_type="Edm.Boolean", path=("f",)),
    Column(name="Size", sql_type="INTEGER", edm_type="Edm.Int32", path=("n",)),
    Column(name="Cats", sql_type="JSON", edm_type="Collection(Edm.String)", path=("c",)),
    Column(name="Whole", sql_type="JSON", edm_type="graph.thing", path=()),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3), max_leaves=6)
datetime_texts = st.builds(
    lambda d, frac, tail, lead: lead + d.strftime("%Y-%m-%dT%H:%M:%S") + frac + tail,
    st.datetimes(), st.sampled_from(["", ".1", ".123", ".123456", ".1234567", ".12345678", ","]),
    st.sampled_from(["Z", "z", "+02:00", "", "ZZ", "+00:00Z"]), st.sampled_from(["", " ", "\t"]))


def outcome(call: Any) -> Any:
    try:
        value = call()
    except DataError as exc:
        return ("error", str(exc))
    tz = value.tzinfo if isinstance(value, dt.datetime) else None
    return ("value", type(value), repr(value), tz)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["r", "s", "subject", "from", "f", "n", "c"]),
                       json_values | datetime_texts, max_size=7),
       st.dictionaries(st.sampled_from(["dateTime", "emailAddress"]),
                       json_values | datetime_texts, max_size=2))
def test_readers_match_graph_value(entity: dict[str, Any], nested: dict[str, Any]) -> None:
    entity = {**entity, "s": nested, "from": {"emailAddress": nested}} if nested else entity
    for column in COLUMNS:
        read = column_reader(column, "Messages")
        assert outcome(lambda read=read: read(entity)) == outcome(
            lambda column=column: graph_value(entity, column, "Messages")), column.name


@settings(max_examples=400, deadline=None)
@given(datetime_texts)
def test_fast_datetime_path_matches_parse_datetime(text: str) -> None:
    column = COLUMNS[0]
    read = column_reader(column, "Messages")
    try:
        expected: Any = parse_datetime(text)
    except ValueError:
        with pytest.raises(DataError, match="Messages.Received"):
            read({"r": text})
        return
    got = read({"r": text})
    assert (got, got.tzinfo, repr(got)) == (expected, expected.tzinfo, repr(expected))


def test_graph_forms_read_as_aware_utc() -> None:
    read = column_reader(COLUMNS[0], "Messages")
    assert read({"r": "2026-01-01T10:00:00.1234567Z"}) == dt.datetime(
        2026, 1, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert read({"r": "2026-01-01T10:00:00Z"}).tzinfo is dt.UTC
    assert read({"r": None}) is None and read(["not", "an", "object"]) is None


# -- a page at a time: column_values / storage_values equal the per-entity readers ----------

good_values = {
    "r": st.datetimes(min_value=dt.datetime(1900, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z") | st.none(),
    "subject": st.text(max_size=8) | st.none(),
    "f": st.booleans() | st.none(),
    "n": st.integers(-5, 5) | st.none(),
    "c": st.lists(st.text(max_size=3), max_size=2) | st.none(),
}
good_entities = st.fixed_dictionaries(
    {}, optional={**good_values, "from": st.fixed_dictionaries(
        {}, optional={"emailAddress": st.fixed_dictionaries(
            {}, optional={"address": st.text(max_size=5) | st.none()}) | st.none()}),
        "s": st.fixed_dictionaries({}, optional={"dateTime": datetime_texts}) | st.none()})
#: Mostly well-formed pages (the fast paths), sometimes an odd entity or value (the fallback).
odd_entities = (st.dictionaries(st.sampled_from(["r", "s", "subject", "from", "f", "n", "c"]),
                                json_values | datetime_texts, max_size=7)
                | st.sampled_from([[], "text", 3, None]))
pages = st.lists(st.one_of(good_entities, good_entities, good_entities, odd_entities),
                 min_size=0, max_size=12)
PAGES_COMPARED = {"all": 0, "well-formed": 0}


def page_outcome(call: Any) -> Any:
    try:
        values = call()
    except DataError as exc:
        return ("error", str(exc))
    return [("value", type(v), repr(v), v.tzinfo if isinstance(v, dt.datetime) else None)
            for v in values]


@settings(max_examples=500, deadline=None, database=None, derandomize=DERANDOMIZE)
@given(pages)
def test_page_values_match_per_entity_readers(page: list[Any]) -> None:
    PAGES_COMPARED["all"] += 1
    if all(isinstance(e, dict) and set(e) <= {*good_values, "from", "s"} for e in page):
        PAGES_COMPARED["well-formed"] += 1
    for column in COLUMNS:
        read = column_reader(column, "Messages")
        stored = storage_reader(column, "Messages")
        assert page_outcome(lambda c=column: column_values(c, "Messages", page)) == page_outcome(
            lambda r=read: [r(e) for e in page]), column.name
        assert page_outcome(lambda c=column: storage_values(c, "Messages", page)) == page_outcome(
            lambda r=stored: [r(e) for e in page]), column.name


def test_page_values_compared_enough() -> None:
    """The generated comparison ran, on well-formed pages (the fast paths) as well."""
    if PAGES_COMPARED["all"] == 0:
        test_page_values_match_per_entity_readers()
    assert PAGES_COMPARED["all"] >= 400 and PAGES_COMPARED["well-formed"] >= 100, PAGES_COMPARED


def test_page_fast_paths_give_the_graph_forms() -> None:
    page = [{"r": "2026-01-01T10:00:00.1234567Z", "subject": "a", "f": True,
             "from": {"emailAddress": {"address": "x@y"}}},
            {"r": None, "subject": None, "f": None, "from": None}, {}]
    assert column_values(COLUMNS[0], "Messages", page) == [
        dt.datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=dt.UTC), None, None]
    assert storage_values(COLUMNS[0], "Messages", page)[0] == "2026-01-01 10:00:00.123456"
    assert column_values(COLUMNS[3], "Messages", page) == ["x@y", None, None]
    assert storage_values(COLUMNS[4], "Messages", page) == [1, None, None]
    with pytest.raises(DataError, match=r"Messages\.Received"):
        column_values(COLUMNS[0], "Messages", [*page, {"r": "not a date"}])
