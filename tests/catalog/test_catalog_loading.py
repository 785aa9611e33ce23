"""Catalog loading: name lookup with suggestions, user tables from Location, validation errors
that name the file and key, caching, and the sys_* system table rows."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from o365sql.catalog import load_catalog
from o365sql.exceptions import ProgrammingError
from o365sql.system_catalog import (
    SYS_PROCEDUREPARAMETERS_COLUMNS,
    SYS_PROCEDURES_COLUMNS,
    SYS_TABLECOLUMNS_COLUMNS,
    SYS_TABLES_COLUMNS,
    sys_procedureparameters_rows,
    sys_procedures_rows,
    sys_tablecolumns_rows,
    sys_tables_rows,
)

GOOD = """
name = "Tasks"
entity = "microsoft.graph.todoTask"
kind = "view"
description = "To Do tasks"
max_page_size = 200

[[endpoints]]
template = "/users/{UserId}/todo/lists/{ListId}/tasks"
requires = ["UserId", "ListId"]

[[endpoints]]
template = "/me/todo/lists/{ListId}/tasks"
requires = ["ListId"]

[[columns]]
name = "Id"
sql_type = "VARCHAR"
path = ["id"]
select = "id"
key = true
filter_ops = ["eq"]
filter_exact = false

[[columns]]
name = "Title"
sql_type = "VARCHAR"
path = ["title"]
select = "title"
filter_ops = ["eq", "startswith"]
filter_exact = false
orderable = true

[[columns]]
name = "Body_Content"
sql_type = "VARCHAR"
path = ["body", "content"]
select = "body"
heavy = true

[[columns]]
name = "ListId"
sql_type = "VARCHAR"
pseudo = true

[[columns]]
name = "UserId"
sql_type = "VARCHAR"
pseudo = true
default_value = "me"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    write(tmp_path, "bad.toml", text)
    with pytest.raises(ProgrammingError) as info:
        load_catalog(tmp_path)
    message = str(info.value)
    assert "bad.toml" in message
    return message


def test_table_lookup_is_case_insensitive_and_suggests() -> None:
    cat = load_catalog()
    assert cat.table("MESSAGES") is cat.table("messages")
    assert "Messages" in cat and "nope" not in cat
    with pytest.raises(ProgrammingError, match=r"unknown table 'Mesages'; did you mean 'Messages'\?"):
        cat.table("Mesages")
    with pytest.raises(ProgrammingError, match=r"unknown table 'calendarvew'; did you mean 'CalendarView'\?"):
        cat.table("calendarvew")
    with pytest.raises(ProgrammingError) as info:
        cat.table("Zzqx")
    assert "did you mean" not in str(info.value)


def test_column_lookup_suggests() -> None:
    messages = load_catalog().table("Messages")
    assert messages.column_or_error("subject").name == "Subject"
    with pytest.raises(ProgrammingError,
                       match=r"unknown column 'Subjet' in table 'Messages'; did you mean 'Subject'\?"):
        messages.column_or_error("Subjet")
    with pytest.raises(ProgrammingError, match=r"did you mean 'From_EmailAddress_Address'\?"):
        messages.column_or_error("from_emailaddress_adress")


def test_default_columns_leave_out_heavy() -> None:
    messages = load_catalog().table("Messages")
    names = [c.name for c in messages.default_columns()]
    assert "Subject" in names and "UserId" in names
    assert "Body_Content" not in names and "Body_ContentType" not in names
    assert len(names) == len([c for c in messages.columns if not c.heavy])


def test_location_adds_user_tables_and_caches(tmp_path: Path) -> None:
    write(tmp_path, "tasks.toml", GOOD)
    cat = load_catalog(tmp_path)
    tasks = cat.table("tasks")
    assert tasks.source.endswith("tasks.toml") and tasks.kind == "view"
    assert tasks.max_page_size == 200 and tasks.default_page_size == 10
    assert tasks.column_or_error("title").filter_ops == {"eq", "startswith"}
    assert tasks.column_or_error("UserId").default_value == "me"
    assert [c.name for c in tasks.default_columns()] == ["Id", "Title", "ListId", "UserId"]
    assert cat.table("Messages") is load_catalog().table("Messages")  # shipped tables still there
    assert load_catalog(str(tmp_path)) is cat  # cached per location
    assert "tasks" not in load_catalog()


def test_location_file_replaces_shipped_table(tmp_path: Path) -> None:
    write(tmp_path, "mine.toml", GOOD.replace('name = "Tasks"', 'name = "Calendars"'))
    cat = load_catalog(tmp_path)
    assert cat.table("Calendars").entity == "microsoft.graph.todoTask"
    assert load_catalog().table("Calendars").entity == "microsoft.graph.calendar"


def test_location_duplicate_tables_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "b.toml", GOOD)
    with pytest.raises(ProgrammingError, match=r"b\.toml: table 'Tasks' is already defined in .*a\.toml"):
        load_catalog(tmp_path)


def test_location_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ProgrammingError, match="not a folder"):
        load_catalog(tmp_path / "missing")


@pytest.mark.parametrize(("change", "expected"), [
    (('select = "title"', 'select = "title"\nfilter_op = ["eq"]'),
     r"columns\[1\] \(Title\): unknown key 'filter_op'; did you mean 'filter_ops'\?"),
    (('max_page_size = 200', 'max_pagesize = 200'), r"table: unknown key 'max_pagesize'"),
    (('sql_type = "VARCHAR"\npath = ["title"]', 'sql_type = "STRING"\npath = ["title"]'),
     r"columns\[1\] \(Title\)\.sql_type: unknown type 'STRING'"),
    (('["eq", "startswith"]', '["eq", "like"]'), r"columns\[1\] \(Title\)\.filter_ops: unknown operator 'like'"),
    (('/me/todo/lists/{ListId}/tasks"', '/me/todo/lists/{ListID}/tasks"'),
     r"endpoints\[1\] .*template: write \{ListId\}, not \{ListID\}"),
    (('/me/todo/lists/{ListId}/tasks"', '/me/todo/lists/{Folder}/tasks"'),
     r"endpoints\[1\] .*placeholder \{Folder\} is not a column"),
    (('requires = ["ListId"]', 'requires = []'), r"endpoints\[1\] .*must list placeholder 'ListId'"),
    (('requires = ["ListId"]', 'requires = ["ListId", "Title"]'),
     r"'Title' is neither pseudo, endpoint_param nor key"),
    (('orderable = true', 'orderable = "yes"'), r"columns\[1\] \(Title\)\.orderable: expected true or false"),
    (('max_page_size = 200', 'max_page_size = "200"'), r"table\.max_page_size: expected an integer"),
    (('kind = "view"', 'kind = "procedure"'), r"table\.kind: 'procedure' is not"),
    (('name = "Tasks"\n', ''), r"missing key 'name'"),
    (('name = "Title"', 'name = "Id"'), r"duplicate column name 'Id'"),
    (('name = "Title"', 'name = "Ti tle"'), r"is not a plain SQL identifier"),
    (('select = "body"\nheavy = true', 'select = "title"\nheavy = true'), r"heaviness is per select unit"),
    (('name = "ListId"\nsql_type = "VARCHAR"\npseudo = true',
      'name = "ListId"\nsql_type = "VARCHAR"\npseudo = true\npath = ["x"]'), r"pseudo-column has no path"),
    (('filter_exact = false\norderable = true', 'filter_exact = false\norderable = true\nany_ops = ["eq"]'),
     r"any_ops: set, but filter_ops does not contain 'any'"),
    (('["eq", "startswith"]', '["eq", "any"]'), r"'any' needs a collection edm_type"),
    (('name = "ListId"\nsql_type = "VARCHAR"\npseudo = true',
      'name = "ListId"\nsql_type = "VARCHAR"\npseudo = true\nendpoint_param = true'),
     r"pseudo and endpoint_param exclude each other"),
    (('name = "Title"\nsql_type = "VARCHAR"', 'name = "Title"\nsql_type = "INTEGER"'),
     r"columns\[1\] \(Title\)\.filter_ops: 'startswith' needs a string column"),
    (('name = "UserId"\nsql_type = "VARCHAR"', 'name = "UserId"\nsql_type = "ENUM"'),
     r"enum_values: required for an ENUM column"),
])
def test_bad_files_name_file_and_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    message = error_for(tmp_path, GOOD.replace(old, new, 1))
    assert re.search(expected, message), message


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    assert "not valid TOML" in error_for(tmp_path, GOOD + "\nname = \n")


def test_window_must_name_pseudo_columns(tmp_path: Path) -> None:
    text = GOOD.replace('max_page_size = 200', 'max_page_size = 200\nwindow = ["Title", "ListId"]')
    assert "table.window: 'Title' is not a pseudo-column" in error_for(tmp_path, text)


def test_search_needs_search_terms(tmp_path: Path) -> None:
    text = GOOD.replace('max_page_size = 200', 'max_page_size = 200\nsearch = "kql"')
    assert "no pseudo-column 'SearchTerms'" in error_for(tmp_path, text)


def test_collection_columns_cannot_be_ordered(tmp_path: Path) -> None:
    text = GOOD + '\n[[columns]]\nname = "Tags"\nsql_type = "JSON"\nedm_type = "Collection(Edm.String)"\n' \
                  'path = ["tags"]\nselect = "tags"\norderable = true\n'
    assert "collection column" in error_for(tmp_path, text)


def test_sys_tables_rows() -> None:
    cat = load_catalog()
    rows = sys_tables_rows(cat)
    assert all(len(r) == len(SYS_TABLES_COLUMNS) for r in rows)
    by_name = {r[2]: r for r in rows}
    assert by_name["Messages"][3] == "TABLE" and by_name["CalendarView"][3] == "VIEW"
    messages = dict(zip([c for c, _ in SYS_TABLES_COLUMNS], by_name["Messages"]))
    assert messages["Search"] == "kql" and messages["Endpoints"].endswith("/me/messages")
    assert set(by_name) == set(cat.names())
    cols = sys_tablecolumns_rows(cat)
    names = [c for c, _ in SYS_TABLECOLUMNS_COLUMNS]
    assert names[:6] == ["CatalogName", "SchemaName", "TableName", "ColumnName", "DataTypeName", "DataType"]
    assert all(len(r) == len(names) for r in cols)
    subject = next(dict(zip(names, r)) for r in cols if r[2] == "Messages" and r[3] == "Subject")
    assert subject["DataTypeName"] == "VARCHAR" and subject["IsNullable"] is True
    assert subject["IsKey"] is False and subject["IsHidden"] is False
    assert subject["GraphPath"] == "subject" and subject["FilterOperators"] == "contains eq startswith"
    assert subject["FilterExact"] is False and subject["Orderable"] is True
    key = next(dict(zip(names, r)) for r in cols if r[2] == "Messages" and r[3] == "Id")
    assert key["IsKey"] is True and key["IsNullable"] is False and key["Ordinal"] == 0
    body = next(dict(zip(names, r)) for r in cols if r[2] == "Messages" and r[3] == "Body_Content")
    assert body["IsHidden"] is True
    user = next(dict(zip(names, r)) for r in cols if r[2] == "Messages" and r[3] == "UserId")
    assert user["IsPseudo"] is True
    terms = next(dict(zip(names, r)) for r in cols if r[2] == "Messages" and r[3] == "SearchTerms")
    assert terms["IsPseudo"] is True and terms["IsHidden"] is True
    received = next(dict(zip(names, r)) for r in cols
                    if r[2] == "Messages" and r[3] == "ReceivedDateTime")
    assert received["IsNullable"] is False
    assert len(cols) == sum(len(t.columns) for t in cat)


def test_sys_procedure_rows() -> None:
    procs = [
        SimpleNamespace(name="GetOAuthAuthorizationURL", description="Gets the URL",
                        parameters=[SimpleNamespace(name="CallbackUrl", sql_type="VARCHAR",
                                                    required=False, description="redirect")],
                        result_columns=[("URL", "VARCHAR")]),
        SimpleNamespace(name="SendMail", description="Sends mail",
                        parameters=[SimpleNamespace(name="Subject", sql_type="varchar",
                                                    required=True, description="")],
                        result_columns=[]),
    ]
    rows = sys_procedures_rows(procs)
    assert [r[2] for r in rows] == ["GetOAuthAuthorizationURL", "SendMail"]
    assert all(len(r) == len(SYS_PROCEDURES_COLUMNS) for r in rows)
    params = sys_procedureparameters_rows(procs)
    names = [c for c, _ in SYS_PROCEDUREPARAMETERS_COLUMNS]
    as_dicts = [dict(zip(names, r)) for r in params]
    assert [(d["ProcedureName"], d["ColumnName"], d["Direction"], d["Ordinal"]) for d in as_dicts] == [
        ("GetOAuthAuthorizationURL", "CallbackUrl", 1, 0), ("GetOAuthAuthorizationURL", "URL", 4, 1),
        ("SendMail", "Subject", 1, 0)]
    assert as_dicts[2]["IsRequired"] is True and as_dicts[2]["DataTypeName"] == "VARCHAR"
