"""``from_storage_values`` (a result column at a time) equals ``from_storage`` of each value, for
every SQL type and every storage value SQLite can hand back (unit tests, generated)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from o365sql.value_model import FORMS, from_storage, from_storage_values, to_storage

#: Fixed examples under CI (a red run is reproducible), new ones elsewhere.
DERANDOMIZE = bool(os.environ.get("CI"))

SQL_TYPES = sorted(FORMS)
storage_datetimes = st.datetimes(min_value=dt.datetime(1, 1, 1)).map(
    lambda d: to_storage(d.replace(tzinfo=dt.UTC), "DATETIME"))
odd_texts = st.builds(
    lambda d, sep, frac, tail, lead: lead + d.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + tail,
    st.datetimes(), st.sampled_from([" ", "T"]),
    st.sampled_from(["", ".1", ".123456", ".1234567", "."]),
    st.sampled_from(["", "Z", "z", "+02:00", " ", "x"]), st.sampled_from(["", " "]))
#: What a SQLite result cell holds: mostly the column's own storage form, sometimes not.
cells = st.one_of(st.none(), storage_datetimes, storage_datetimes, odd_texts,
                  st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=6),
                  st.binary(max_size=3))
COMPARED = {"columns": 0, "uniform": 0}


def outcome(values: list[Any]) -> list[Any]:
    return [(type(v), repr(v), v.tzinfo if isinstance(v, dt.datetime) else None)
            for v in values]


@settings(max_examples=400, deadline=None, database=None, derandomize=DERANDOMIZE)
@given(st.lists(cells, max_size=10), st.sampled_from([0, 1, 2]))
def test_result_columns_match_from_storage(values: list[Any], uniform: int) -> None:
    if uniform == 1:  # a column of one storage type: the fast paths
        values = [v for v in values if v is None or isinstance(v, str)]
    elif uniform == 2:
        values = [v if v is None or not isinstance(v, int) else v % 2 for v in values
                  if v is None or isinstance(v, int)]
    for sql_type in [*SQL_TYPES, None]:
        COMPARED["columns"] += 1
        COMPARED["uniform"] += bool(uniform)
        expected = [from_storage(v, sql_type) for v in values]
        assert outcome(from_storage_values(list(values), sql_type)) == outcome(expected), sql_type


def test_result_columns_compared_enough() -> None:
    if COMPARED["columns"] == 0:
        test_result_columns_match_from_storage()
    assert COMPARED["columns"] >= 4000 and COMPARED["uniform"] >= 2000, COMPARED


def test_storage_datetimes_read_as_aware_utc_and_naive() -> None:
    stored = ["2026-01-01 10:00:00", "2026-01-01 10:00:00.250000", None]
    assert from_storage_values(stored, "DATETIME") == [
        dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 10, 0, 0, 250000, tzinfo=dt.UTC), None]
    assert from_storage_values(stored, "DATETIME_NAIVE")[0].tzinfo is None
    assert from_storage_values([1, 0, None], "BOOLEAN") == [True, False, None]
    assert from_storage_values([1, 2], "BOOLEAN") == [True, 2]  # not a stored boolean: as is
    assert from_storage_values([2026, 1.5], "DOUBLE") == [2026.0, 1.5]
    assert from_storage_values([1, "a"], "VARCHAR") == ["1", "a"]
