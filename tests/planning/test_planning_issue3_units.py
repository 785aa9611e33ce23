"""Pure units of the issue 3 pushdowns: IN chunking, CONTAINS_VALUE (pushed form and local
function), item routes, MaxRows/aggregate detection, TOP and typed parameters in plans."""

from __future__ import annotations

import datetime as dt

import pytest

from o365sql.catalog import load_catalog
from o365sql.execution.sql_functions import contains_value
from o365sql.odata.filter import Compare, InList, Junction, render_filter
from o365sql.odata.query import render
from o365sql.planning import plan_query, prepare

CATALOG = load_catalog()


def _plan(sql: str, params: object = None, **kw: object):  # type: ignore[no-untyped-def]
    return plan_query(prepare(sql), params, CATALOG, **kw)  # type: ignore[arg-type]


def _values(node: object) -> list[object]:
    if isinstance(node, InList):
        return list(node.values)
    if isinstance(node, Junction):
        return [v for p in node.parts for v in _values(p)]
    assert isinstance(node, Compare)
    return [node.value]


def test_in_chunks_cover_every_value_once_and_keep_case_twins_together() -> None:
    values = [f"s{i}" for i in range(14)] + ["Abc", "ABC", "abc", "x"]
    marks = ", ".join("?" for _ in values)
    plan = _plan(f"SELECT Subject FROM Messages WHERE Subject IN ({marks})", values)
    scan = plan.scans[0]
    chunks = [_values(q.filter) for q in scan.queries]
    assert len(chunks) == 2 and all(len(c) <= 15 for c in chunks)
    assert sorted(v for c in chunks for v in c) == sorted(values)
    assert any({"Abc", "ABC", "abc"} <= set(c) for c in chunks)
    assert scan.dedupe and not scan.exact  # strings: Graph ignores case, re-checked locally


def test_exact_in_chunks_need_no_dedupe_and_directory_uses_in() -> None:
    numbers = list(range(40))
    marks = ", ".join("?" for _ in numbers)
    plan = _plan(f"SELECT Name FROM MessageAttachments WHERE MessageId = 'm' "
                 f"AND Size IN ({marks})", numbers)
    assert len(plan.scans[0].queries) == 1  # attachments ignore $filter: nothing to split
    ids = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(31)]
    marks = ", ".join("?" for _ in ids)
    plan = _plan(f"SELECT DisplayName FROM Users WHERE Id IN ({marks})", ids)
    filters = [render_filter(q.filter) for q in plan.scans[0].queries]
    assert len(filters) == 3 and all(f.startswith("id in (") for f in filters)
    stamps = [f"2026-01-{d:02d}" for d in range(1, 18)]
    marks = ", ".join("?" for _ in stamps)
    plan = _plan(f"SELECT Subject FROM Messages WHERE ReceivedDateTime IN ({marks})", stamps)
    assert len(plan.scans[0].queries) == 2 and plan.scans[0].exact
    assert not plan.scans[0].dedupe


def test_too_many_chunks_stay_local() -> None:
    values = [f"v{i}" for i in range(15 * 50 + 1)]
    marks = ", ".join("?" for _ in values)
    plan = _plan(f"SELECT Subject FROM Messages WHERE Subject IN ({marks})", values)
    assert len(plan.scans[0].queries) == 1 and plan.scans[0].queries[0].filter is None


def test_contains_value_pushdown_forms() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE CONTAINS_VALUE(Categories, ?)", ["it's"])
    assert render(plan.scans[0].queries[0]).params[1] == (
        "$filter", "categories/any(x:x eq 'it''s')")
    plan = _plan("SELECT Id FROM Contacts WHERE CONTAINS_VALUE(EmailAddresses, 'ADDRESS', 'a@b')")
    assert render_filter(plan.scans[0].queries[0].filter) == \
        "emailAddresses/any(x:x/address eq 'a@b')"
    for sql in ("SELECT Id FROM Contacts WHERE CONTAINS_VALUE(EmailAddresses, 'a@b')",
                "SELECT Id FROM Contacts WHERE NOT CONTAINS_VALUE(EmailAddresses, 'address', 'a')",
                "SELECT Id FROM Messages WHERE CONTAINS_VALUE(Categories, 1)",
                "SELECT Id FROM Messages WHERE CONTAINS_VALUE(ToRecipients, 'emailAddress/address', 'a')"):
        assert _plan(sql).scans[0].queries[0].filter is None, sql


def test_contains_value_function() -> None:
    assert contains_value('["Red","Blue"]', "Red") == 1
    assert contains_value('["Red","Blue"]', "red") == 0
    assert contains_value("[]", "Red") == 0
    assert contains_value(None, "Red") is None and contains_value('["a"]', None) is None
    emails = '[{"name":"Ann","address":"ann@x.com"},{"name":"Bo","address":null}]'
    assert contains_value(emails, "address", "ann@x.com") == 1
    assert contains_value(emails, "Address", "ANN@x.com") == 0
    assert contains_value(emails, "ann@x.com") == 0  # objects never equal a string
    recipients = '[{"emailAddress":{"name":"Ann","address":"ann@x.com"}}]'
    assert contains_value(recipients, "emailAddress/address", "ann@x.com") == 1
    assert contains_value("[1, 2, true]", 2) == 1 and contains_value("[1, 2]", "2") == 0
    assert contains_value("not json", "x") is None


def test_item_lookups_only_where_members_match() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE Id IN ('a', 'b') AND IsRead = true")
    scan = plan.scans[0]
    assert scan.items and [render(q).path for q in scan.queries] == [
        "/me/messages/a", "/me/messages/b"]
    assert all(q.filter is None and q.top is None for q in scan.queries)
    for sql in ("SELECT Id FROM MailFolders WHERE Id = 'x'",  # nested folders are not members
                "SELECT Id FROM Events WHERE Id = 'x'",  # occurrences are not members
                "SELECT Id FROM Messages WHERE ParentFolderId = 'inbox' AND Id = 'x'",
                "SELECT Id FROM Messages WHERE SearchTerms = 'x' AND Id = 'x'"):
        assert not _plan(sql).scans[0].items, sql
    assert not _plan("SELECT Id FROM Messages WHERE Id = 'a'", pushdown=False).scans[0].items


def test_maxrows_caps_plain_queries_only() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE IsRead = true", max_rows=7)
    assert plan.limit == 7 and plan.scans[0].queries[0].top == 7 and not plan.aggregate
    plan = _plan("SELECT Subject FROM Messages LIMIT 3", max_rows=7)
    assert plan.limit == 3
    for sql in ("SELECT Importance, COUNT(*) FROM Messages GROUP BY Importance",
                "SELECT MAX(ReceivedDateTime) FROM Messages"):
        plan = _plan(sql, max_rows=1)
        assert plan.aggregate and plan.limit is None, sql
    plan = _plan("SELECT Subject, (SELECT COUNT(*) FROM Calendars) FROM Messages", max_rows=1)
    assert not plan.aggregate


def test_top_and_bare_temporal_parameters() -> None:
    plan = _plan("SELECT TOP 4 Subject FROM Messages ORDER BY ReceivedDateTime DESC")
    assert plan.limit == 4 and plan.scans[0].queries[0].top == 4
    with pytest.raises(Exception, match="TOP"):
        _plan("SELECT TOP 'x' Subject FROM Messages")
    plan = _plan("SELECT :a, :b AS b, :c, :d FROM Calendars",
                 {"a": dt.datetime(2026, 1, 1), "b": dt.date(2026, 1, 1),
                  "c": dt.time(1, 2), "d": "2026-01-01"})
    assert [o.sql_type for o in plan.output] == ["DATETIME", "DATE", "TIME", "VARCHAR"]
