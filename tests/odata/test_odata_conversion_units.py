"""Unit tests: OData literal quoting, filter rendering, and Graph JSON -> Python conversion."""

from __future__ import annotations

import datetime as dt

import pytest

from o365sql.catalog import Column
from o365sql.conversion import (
    datetime_to_storage,
    from_storage,
    graph_value,
    odata_literal,
    to_storage,
)
from o365sql.exceptions import DataError
from o365sql.odata.filter import Call, Compare, InList, Junction, render_filter
from o365sql.odata.query import ODataQuery, render, render_path

UTC = dt.UTC


@pytest.mark.parametrize("value, edm, expected", [
    ("it's", "Edm.String", "'it''s'"),
    (True, "Edm.Boolean", "true"),
    (5, "Edm.Int32", "5"),
    (1.5, "Edm.Double", "1.5"),
    (dt.datetime(2026, 1, 1, tzinfo=UTC), "Edm.DateTimeOffset", "2026-01-01T00:00:00Z"),
    (dt.datetime(2026, 1, 1, 12, 0, 0, 5), "Edm.DateTimeOffset", "2026-01-01T12:00:00.000005Z"),
    ("72f988bf-86f1-41af-91ab-2d7cd011db47", "Edm.Guid", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
    ("high", "microsoft.graph.importance", "'high'"),
    (dt.datetime(2017, 9, 4, 12), "datetime-string", "'2017-09-04T12:00:00.0000000'"),
    (None, "Edm.String", "null"),
])
def test_odata_literals(value: object, edm: str, expected: str) -> None:
    assert odata_literal(value, edm) == expected


@pytest.mark.parametrize("value, edm", [
    ("true", "Edm.Boolean"), ("1 or 1", "Edm.Guid"), ("5", "Edm.Int32"),
    (float("nan"), "Edm.Double"),
])
def test_odata_literal_refuses_wrong_types(value: object, edm: str) -> None:
    with pytest.raises(ValueError):
        odata_literal(value, edm)


def test_render_filter_nesting() -> None:
    node = Junction("and", (
        Compare("isRead", "eq", False, "Edm.Boolean"),
        Junction("or", (Call("startswith", "subject", "a"),
                        InList("importance", ("high", "low"), "Edm.String")))))
    assert render_filter(node) == (
        "isRead eq false and (startswith(subject,'a') or importance in ('high','low'))")


def test_render_request_and_path_encoding() -> None:
    query = ODataQuery("/users/{UserId}/messages", address=(("UserId", "a/b+c@x.com"),),
                       select=("subject", "id"), top=5, headers=(("ConsistencyLevel", "eventual"),))
    request = render(query)
    assert request.line() == "GET /users/a%2Fb%2Bc%40x.com/messages?$select=subject,id&$top=5"
    assert request.headers == (("ConsistencyLevel", "eventual"),)
    assert render_path("/me/mailFolders/{ParentFolderId}/messages",
                       (("ParentFolderId", "AAMk=="),)) == "/me/mailFolders/AAMk%3D%3D/messages"


def _col(**kw: object) -> Column:
    return Column(**kw)  # type: ignore[arg-type]


def test_graph_values() -> None:
    received = _col(name="ReceivedDateTime", sql_type="DATETIME", edm_type="Edm.DateTimeOffset",
                    path=("receivedDateTime",))
    assert graph_value({"receivedDateTime": "2026-01-01T10:00:00.1234567Z"}, received, "Messages") \
        == dt.datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)
    start = _col(name="Start_DateTime", sql_type="DATETIME", edm_type="Edm.String",
                 path=("start", "dateTime"), literal_form="datetime-string")
    assert graph_value({"start": {"dateTime": "2017-09-04T12:00:00.0000000", "timeZone": "UTC"}},
                       start, "Events") == dt.datetime(2017, 9, 4, 12)
    cats = _col(name="Categories", sql_type="JSON", edm_type="Collection(Edm.String)",
                path=("categories",))
    assert graph_value({"categories": ["Red", "Zoë"]}, cats, "Messages") == '["Red","Zoë"]'
    flag = _col(name="IsRead", sql_type="BOOLEAN", edm_type="Edm.Boolean", path=("isRead",))
    assert graph_value({"isRead": False}, flag, "Messages") is False
    assert graph_value({}, flag, "Messages") is None


def test_bad_graph_value_is_a_data_error_naming_table_and_column() -> None:
    received = _col(name="ReceivedDateTime", sql_type="DATETIME", edm_type="Edm.DateTimeOffset",
                    path=("receivedDateTime",))
    with pytest.raises(DataError, match="Messages.ReceivedDateTime"):
        graph_value({"receivedDateTime": "yesterday"}, received, "Messages")
    flag = _col(name="IsRead", sql_type="BOOLEAN", edm_type="Edm.Boolean", path=("isRead",))
    with pytest.raises(DataError, match="Messages.IsRead"):
        graph_value({"isRead": "yes"}, flag, "Messages")


def test_storage_round_trip_orders_like_time() -> None:
    early = dt.datetime(2026, 1, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    late = dt.datetime(2026, 1, 1, 19, 0, 0, 1, tzinfo=UTC)
    assert datetime_to_storage(early) < datetime_to_storage(late)
    assert from_storage(to_storage(late, "DATETIME"), "DATETIME") == late
    assert from_storage(to_storage(True, "BOOLEAN"), "BOOLEAN") is True
    naive = dt.datetime(2017, 9, 4, 12)
    assert from_storage(to_storage(naive, "DATETIME"), "DATETIME_NAIVE") == naive
