"""Unit tests of the pure planning parts: parsing, parameters, binding, errors, caching."""

from __future__ import annotations

import datetime as dt

import pytest

from o365sql.catalog import load_catalog
from o365sql.exceptions import NotSupportedError, ProgrammingError
from o365sql.odata.query import render
from o365sql.planning import plan_procedure, plan_query, prepare
from o365sql.planning.parse import parse_statement

HOSTILE = ["' or 1 eq 1 or '", ")", "&$top=1", "%26", "ünïcödé ☕", "line\nbreak", "a'b''c",
           "x) or (subject eq 'y"]


def first_request(sql: str, params: object = None):  # type: ignore[no-untyped-def]
    plan = plan_query(prepare(sql), params, load_catalog())  # type: ignore[arg-type]
    return render(plan.scans[0].queries[0])


def test_syntax_error_shows_line_column_and_caret() -> None:
    with pytest.raises(ProgrammingError) as info:
        prepare("SELECT Subject\nFROM Messages WHERE")
    text = str(info.value)
    assert "line 2, column 15" in text
    assert "FROM Messages WHERE" in text and "^^^^^" in text


@pytest.mark.parametrize("sql, kind", [
    ("CREATE TABLE t (a INT)", "CREATE"),
    ("DROP TABLE Messages", "DROP"),
    ("MERGE INTO Messages USING Contacts ON 1 = 1 WHEN MATCHED THEN DELETE", "MERGE"),
    ("EXPLAIN DELETE FROM Messages", "DELETE"),
])
def test_ddl_merge_and_explained_writes_are_not_supported(sql: str, kind: str) -> None:
    with pytest.raises(NotSupportedError, match=kind):
        prepare(sql)


@pytest.mark.parametrize("sql", [
    "INSERT INTO Messages (Subject) VALUES ('x')",
    "UPDATE Messages SET Subject = 'x'",
    "DELETE FROM Messages",
])
def test_writes_parse_as_writes(sql: str) -> None:
    statement = prepare(sql)
    assert statement.kind == "write" and statement.write is not None


def test_unknown_column_and_table_suggest() -> None:
    with pytest.raises(ProgrammingError, match="did you mean Messages.Subject"):
        plan_query(prepare("SELECT Subjct FROM Messages"), None, load_catalog())
    with pytest.raises(ProgrammingError, match="did you mean Messages"):
        plan_query(prepare("SELECT Subject FROM Mesages"), None, load_catalog())


def test_parse_is_cached_per_text() -> None:
    sql = "SELECT Subject FROM Messages WHERE Subject = :s"
    assert parse_statement(sql) is parse_statement(sql)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_stay_one_literal(value: str) -> None:
    request = first_request("SELECT Subject FROM Messages WHERE Subject = :s", {"s": value})
    filter_text = dict(request.params)["$filter"]
    assert filter_text == "subject eq '" + value.replace("'", "''") + "'"
    # On the wire the value cannot open a new query option.
    wire = request.query_string()
    assert wire.count("&") == len(request.params) - 1
    assert "\n" not in wire


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_in_qmark_and_in_lists(value: str) -> None:
    request = first_request("SELECT DisplayName FROM Users WHERE DisplayName IN (?)",
                            [[value, "b"]])
    assert dict(request.params)["$filter"] == (
        "displayName in ('" + value.replace("'", "''") + "','b')")


def test_hostile_value_cannot_reach_an_unquoted_guid() -> None:
    # A GUID-typed literal is written unquoted, so only a well-formed GUID may be pushed.
    from o365sql.conversion import odata_literal

    with pytest.raises(ValueError):
        odata_literal("1 or 1 eq 1", "Edm.Guid")


@pytest.mark.parametrize("value, expected", [
    (None, None), (True, "isRead eq true"), (False, "isRead eq false"),
])
def test_bind_bool_and_none(value: object, expected: str | None) -> None:
    request = first_request("SELECT Subject FROM Messages WHERE IsRead = ?", [value])
    assert dict(request.params).get("$filter") == expected


def test_bind_datetimes_naive_is_utc_and_aware_converted() -> None:
    naive = first_request("SELECT Subject FROM Messages WHERE ReceivedDateTime >= :d",
                          {"d": dt.datetime(2026, 1, 2, 3, 4, 5)})
    assert dict(naive.params)["$filter"] == "receivedDateTime ge 2026-01-02T03:04:05Z"
    aware = first_request("SELECT Subject FROM Messages WHERE ReceivedDateTime >= :d",
                          {"d": dt.datetime(2026, 1, 2, 3, 4, 5,
                                            tzinfo=dt.timezone(dt.timedelta(hours=2)))})
    assert dict(aware.params)["$filter"] == "receivedDateTime ge 2026-01-02T01:04:05Z"
    day = first_request("SELECT Subject FROM Messages WHERE ReceivedDateTime >= ?",
                        [dt.date(2026, 1, 2)])
    assert dict(day.params)["$filter"] == "receivedDateTime ge 2026-01-02T00:00:00Z"


def test_sequences_expand_for_in() -> None:
    plan = plan_query(prepare("SELECT DisplayName FROM Users WHERE Id IN :ids"),
                      {"ids": ["a", "b"]}, load_catalog())
    assert dict(render(plan.scans[0].queries[0]).params)["$filter"] == "id in ('a','b')"
    empty = plan_query(prepare("SELECT DisplayName FROM Users WHERE Id IN :ids"),
                       {"ids": []}, load_catalog())
    # x IN () is false: no request at all, and the local query keeps the FALSE.
    assert empty.scans[0].empty and not empty.scans[0].queries
    assert "WHERE FALSE" in (empty.page_sql or empty.sql).upper()


def test_parameter_errors() -> None:
    with pytest.raises(ProgrammingError, match=":s"):
        plan_query(prepare("SELECT Subject FROM Messages WHERE Subject = :s"), {},
                   load_catalog())
    with pytest.raises(ProgrammingError, match="2 '\\?' placeholders"):
        plan_query(prepare("SELECT Subject FROM Messages WHERE Subject = ? OR Subject = ?"),
                   ["a"], load_catalog())
    with pytest.raises(ProgrammingError, match="mix"):
        prepare("SELECT Subject FROM Messages WHERE Subject = ? OR Subject = :x")
    with pytest.raises(ProgrammingError, match="sequence"):
        plan_query(prepare("SELECT Subject FROM Messages WHERE Subject = :s"), {"s": [1, 2]},
                   load_catalog())


def test_placeholder_lookalikes_in_strings_are_text() -> None:
    statement = prepare("SELECT Subject FROM Messages WHERE Subject = 'thi%s :may ca%(u)se? troub:1e'")
    assert statement.param_names == ()


def test_calendarview_needs_window() -> None:
    with pytest.raises(ProgrammingError, match="time window"):
        plan_query(prepare("SELECT Subject FROM CalendarView"), None, load_catalog())


def test_exec_forms() -> None:
    statement = prepare("EXECUTE GetOAuthAuthorizationURL @CallbackUrl = 'https://x/cb', "
                        "@State = :state, Scope = 'a b', @Prompt = NULL")
    assert statement.procedure == "GetOAuthAuthorizationURL"
    call = plan_procedure(statement, {"state": "' or 1=1 --"})
    assert call.arguments == {"CallbackUrl": "https://x/cb", "State": "' or 1=1 --",
                              "Scope": "a b", "Prompt": None}
    qmark = plan_procedure(prepare("EXEC P @A = ?, @B = 2"), ["x"])
    assert qmark.arguments == {"A": "x", "B": 2}
    with pytest.raises(ProgrammingError, match="@A given twice"):
        prepare("EXEC P @A = 1, @A = 2")
