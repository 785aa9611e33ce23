"""Pure parts of the write path: planning (which SELECT finds the rows, which columns a write
may name), the item each row is changed at, and the body a row becomes."""

from __future__ import annotations

import datetime as dt

import pytest

import o365sql
from o365sql.catalog import load_catalog
from o365sql.execution.writes import _item_path
from o365sql.planning import prepare
from o365sql.planning.writes import plan_write
from o365sql.write_body import graph_body

CATALOG = load_catalog()


def test_update_reads_the_key_the_addresses_and_each_set_value() -> None:
    plan = plan_write(prepare("UPDATE Events SET Subject = Subject || '!' WHERE GroupId = :g"),
                      {"g": "g1"}, CATALOG)
    assert [c.name for c in plan.address_columns] == ["UserId", "GroupId"]
    assert plan.source_sql == ('SELECT "Id", "UserId", "GroupId", Subject || \'!\' AS _set_1 '
                               'FROM "Events" WHERE GroupId = :g')


@pytest.mark.parametrize("address, path", [
    ({"UserId": "me", "GroupId": None}, "/me/events/A%2FB%3D"),
    ({"UserId": "adele@contoso.com", "GroupId": None}, "/users/adele%40contoso.com/events/A%2FB%3D"),
    ({"UserId": "me", "GroupId": "g1"}, "/groups/g1/events/A%2FB%3D"),
])
def test_each_row_is_changed_where_it_was_read(address: dict[str, str | None], path: str) -> None:
    assert _item_path(CATALOG.table("Events"), "A/B=", address, False) == path


def test_app_only_writes_name_the_mailbox() -> None:
    with pytest.raises(o365sql.ProgrammingError, match="UserId"):
        _item_path(CATALOG.table("Contacts"), "x", {"UserId": "me"}, True)


def test_flattened_columns_nest_back_along_their_read_paths() -> None:
    events = CATALOG.table("Events")
    body = graph_body([(events.column_or_error(n), v) for n, v in (
        ("Start_DateTime", dt.datetime(2031, 1, 2, 9, 30)), ("Start_TimeZone", "UTC"),
        ("Body_Content", "<p>x</p>"), ("Body_ContentType", "HTML"),
        ("Categories", '["Red category"]'))], "Events")
    assert body == {"start": {"dateTime": "2031-01-02T09:30:00.0000000", "timeZone": "UTC"},
                    "body": {"content": "<p>x</p>", "contentType": "html"},
                    "categories": ["Red category"]}


def test_insert_refuses_computed_values_and_unknown_columns() -> None:
    with pytest.raises(o365sql.ProgrammingError, match="literal or a parameter"):
        plan_write(prepare("INSERT INTO Contacts (GivenName) VALUES (UPPER('a'))"), None, CATALOG)
    with pytest.raises(o365sql.ProgrammingError, match="did you mean"):
        plan_write(prepare("INSERT INTO Contacts (GivenNme) VALUES ('a')"), None, CATALOG)
    with pytest.raises(o365sql.ProgrammingError, match="2 values for 1 columns"):
        plan_write(prepare("INSERT INTO Contacts (GivenName) VALUES ('a', 'b')"), None, CATALOG)


def test_a_complex_value_whose_columns_are_all_null_is_written_as_null() -> None:
    events = CATALOG.table("Events")
    recurrence = [c for c in events.columns if c.path[:1] == ("recurrence",)]
    assert len(recurrence) > 5
    body = graph_body([(c, None) for c in recurrence]
                      + [(events.column_or_error("Subject"), "x")], "Events")
    assert body == {"recurrence": None, "subject": "x"}
    partial = graph_body([(events.column_or_error("Location_DisplayName"), "Room"),
                          (events.column_or_error("Location_Address_City"), None)], "Events")
    assert partial == {"location": {"displayName": "Room", "address": None}}
