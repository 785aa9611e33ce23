"""Pure units of the engine review fixes: negations, empty IN lists, constant folding, result
types over booleans, SQLite rewrites (checked in real sqlite3), directory search forms, the
Unicode LIKE/UPPER/LOWER functions, page caps and EXPLAIN texts."""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

import pytest
import sqlglot

from o365sql.catalog import load_catalog
from o365sql.exceptions import DataError, NotSupportedError, ProgrammingError
from o365sql.execution.explain import explain_rows
from o365sql.execution.residual import connect
from o365sql.execution.sql_functions import fold, like, lower, upper
from o365sql.planning import plan_query, prepare
from o365sql.planning.bind import fold_booleans
from o365sql.planning.search_terms import search_text
from o365sql.planning.sqlite_rewrite import rewrite_for_sqlite

CATALOG = load_catalog()


def _plan(sql: str, params: object = None, **kw: Any):  # type: ignore[no-untyped-def]
    return plan_query(prepare(sql), params, CATALOG, **kw)  # type: ignore[arg-type]


def _filters(plan: Any) -> list[str | None]:
    from o365sql.odata.query import render

    return [dict(render(q).params).get("$filter") for s in plan.scans for q in s.queries]


# ------------------------------------------------------------------ negations


@pytest.mark.parametrize("condition", [
    "Subject NOT LIKE 'Quarterly%'", "Subject NOT LIKE '%budget%'",
    "NOT Subject LIKE 'Quarterly%'", "Importance NOT IN ('high')",
    "ReceivedDateTime NOT BETWEEN '2026-01-01' AND '2026-02-01'",
    "NOT (Subject = 'x')", "NOT (Subject = 'x' OR IsRead)", "Subject IS NOT NULL",
    ("NOT Subject IN ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', "
     "'o', 'p')")])
def test_negated_predicates_are_never_pushed_positive(condition: str) -> None:
    plan = _plan(f"SELECT Subject FROM Messages WHERE {condition}")
    assert _filters(plan) == [None], condition
    assert not plan.scans[0].exact


def test_negated_like_on_directory_and_contacts_stays_local() -> None:
    for table, column in (("Users", "DisplayName"), ("Contacts", "DisplayName"),
                          ("Groups", "Mail")):
        plan = _plan(f"SELECT Id FROM {table} WHERE {column} NOT LIKE 'a%'")
        assert _filters(plan) == [None], table


# ------------------------------------------------------------------ empty IN, constants


def test_empty_sequence_parameter_reads_nothing() -> None:
    for sql in ("SELECT Subject FROM Messages WHERE Importance IN :l",
                "SELECT Subject FROM Messages WHERE UserId IN :l",
                "SELECT COUNT(*) FROM Messages WHERE UserId IN :l AND IsRead",
                "SELECT DisplayName FROM Users WHERE Id IN :l"):
        plan = _plan(sql, {"l": []})
        assert plan.scans[0].empty and not plan.scans[0].queries, sql
        assert not plan.streaming and "FALSE" in plan.sql.upper(), sql


def test_not_in_empty_sequence_keeps_every_row() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE Importance NOT IN :l", {"l": []})
    assert not plan.scans[0].empty and plan.scans[0].queries
    assert plan.direct_columns  # NOT (x IN ()) folds to TRUE: nothing left to check


def test_empty_in_under_or_folds_away() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE Importance IN :l OR IsRead = true",
                 {"l": []})
    assert _filters(plan) == ["isRead eq true"]


def test_condition_on_no_column_is_not_ignored() -> None:
    # WHERE 1 = 0 narrows no scan: the rows must still go through the local filter.
    plan = _plan("SELECT Subject FROM Messages WHERE 1 = 0")
    assert not plan.direct_columns and plan.page_sql and "1 = 0" in plan.page_sql


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 1 FROM t WHERE (FALSE OR a = 1) AND TRUE", "SELECT 1 FROM t WHERE (a = 1)"),
    ("SELECT 1 FROM t WHERE NOT (FALSE) AND b", "SELECT 1 FROM t WHERE b"),
    ("SELECT 1 FROM t WHERE a AND (FALSE)", "SELECT 1 FROM t WHERE FALSE"),
    ("SELECT 1 FROM t WHERE (x OR TRUE) AND y", "SELECT 1 FROM t WHERE y"),
    ("SELECT 1 FROM t WHERE x AND y", "SELECT 1 FROM t WHERE x AND y"),
])
def test_fold_booleans(sql: str, expected: str) -> None:
    tree = sqlglot.parse_one(sql, read="sqlite")
    fold_booleans(tree)
    assert tree.sql("sqlite") == expected


# ------------------------------------------------------------------ BETWEEN, page caps


def test_between_on_an_advanced_column_is_an_advanced_query() -> None:
    between = _plan("SELECT DisplayName FROM Users WHERE EmployeeHireDate BETWEEN "
                    "'2020-01-01' AND '2021-01-01'").scans[0].queries[0]
    pair = _plan("SELECT DisplayName FROM Users WHERE EmployeeHireDate >= '2020-01-01' AND "
                 "EmployeeHireDate <= '2021-01-01'").scans[0].queries[0]
    assert between.filter == pair.filter
    assert between.count and ("ConsistencyLevel", "eventual") in between.headers
    assert between.headers == pair.headers


def test_sign_in_activity_caps_the_page_at_500() -> None:
    assert _plan("SELECT DisplayName FROM Users").scans[0].queries[0].top == 999
    for sql in ("SELECT SignInActivity_LastSignInDateTime FROM Users",
                "SELECT DisplayName FROM Users WHERE SignInActivity_LastSignInDateTime IS NULL"):
        assert _plan(sql).scans[0].queries[0].top == 500, sql
    assert _plan("SELECT SignInActivity_LastSignInDateTime FROM Users",
                 pagesize=100).scans[0].queries[0].top == 100


# ------------------------------------------------------------------ result types


@pytest.mark.parametrize(("expression", "sql_type"), [
    ("SUM(IsRead)", "BIGINT"), ("TOTAL(IsRead)", "DOUBLE"), ("AVG(IsRead)", "DOUBLE"),
    ("COUNT(IsRead)", "BIGINT"), ("MIN(IsRead)", "BOOLEAN"), ("MAX(IsRead)", "BOOLEAN"),
    ("IsRead + 1", "INTEGER"), ("-IsRead", "INTEGER"), ("IsRead", "BOOLEAN"),
    ("NOT IsRead", "BOOLEAN"), ("IsRead AND HasAttachments", "BOOLEAN"),
    ("COALESCE(IsRead, FALSE)", "BOOLEAN"), ("SUM(IsRead) > 1", "BOOLEAN"),
    ("MAX(ReceivedDateTime)", "DATETIME"), ("CASE WHEN IsRead THEN 1 ELSE 0 END", "INTEGER"),
])
def test_result_types_over_booleans(expression: str, sql_type: str) -> None:
    plan = _plan(f"SELECT {expression} FROM Messages")
    assert plan.output[0].sql_type == sql_type


# ------------------------------------------------------------------ datetime literals


@pytest.mark.parametrize(("condition", "bad"), [
    ("ReceivedDateTime >= 'yesterday'", "'yesterday'"), ("ReceivedDateTime >= 5", " 5 "),
    ("5 < ReceivedDateTime", " 5 "), ("ReceivedDateTime = TRUE", "TRUE"),
    ("ReceivedDateTime IN ('2026-01-01', 'soon')", "'soon'"),
    ("ReceivedDateTime BETWEEN 'a' AND '2026-01-01'", "'a'")])
def test_invalid_datetime_literals_are_data_errors(condition: str, bad: str) -> None:
    with pytest.raises(DataError, match="Messages.ReceivedDateTime") as info:
        _plan(f"SELECT Subject FROM Messages WHERE {condition}")
    assert bad in str(info.value)


def test_invalid_datetime_parameter_is_a_data_error() -> None:
    with pytest.raises(DataError, match="'tomorrow'"):
        _plan("SELECT Subject FROM Messages WHERE ReceivedDateTime < :d", {"d": "tomorrow"})


# ------------------------------------------------------------------ SQLite rewrites


def _sqlite_rows(sql: str, tables: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(":memory:")
    for name, values in tables.items():
        db.execute(f"CREATE TABLE {name} (v)")
        db.executemany(f"INSERT INTO {name} VALUES (?)", [(v,) for v in values])
    tree = rewrite_for_sqlite(sqlglot.parse_one(sql, read="sqlite"))
    return db.execute(tree.sql("sqlite")).fetchall()


def _reference(x: Any, op: str, values: list[Any], quantifier: str) -> Any:
    """SQL's three-valued ``x op ALL/ANY (values)``."""
    compare = {">": lambda a, b: a > b, "=": lambda a, b: a == b, "<=": lambda a, b: a <= b,
               "<>": lambda a, b: a != b}[op]
    results = [None if x is None or v is None else compare(x, v) for v in values]
    if quantifier == "ALL":
        if any(r is False for r in results):
            return 0
        return None if any(r is None for r in results) else 1
    if any(r is True for r in results):
        return 1
    return None if any(r is None for r in results) else 0


@pytest.mark.parametrize("values", [[], [1, 2], [2, None], [None], [3, 3]])
@pytest.mark.parametrize("op", [">", "=", "<=", "<>"])
@pytest.mark.parametrize("quantifier", ["ALL", "ANY"])
def test_quantified_comparisons_keep_sql_null_rules(values: list[Any], op: str,
                                                    quantifier: str) -> None:
    xs = [1, 2, 3, None]
    rows = _sqlite_rows(f"SELECT v, v {op} {quantifier} (SELECT v FROM s) FROM t ORDER BY v",
                        {"t": xs, "s": values})
    assert rows == [(x, _reference(x, op, values, quantifier)) for x in [None, 1, 2, 3]]


def test_parenthesised_set_operands_run_in_sqlite() -> None:
    rows = _sqlite_rows("(SELECT v FROM t ORDER BY v DESC LIMIT 1) UNION ALL "
                        "(SELECT v FROM t ORDER BY v LIMIT 1)", {"t": [1, 5, 3]})
    assert rows == [(5,), (1,)]


def test_intersect_all_is_not_supported() -> None:
    with pytest.raises(NotSupportedError, match="INTERSECT ALL"):
        _plan("SELECT Subject FROM Messages INTERSECT ALL SELECT Subject FROM Events")


# ------------------------------------------------------------------ search terms


@pytest.mark.parametrize(("table", "terms", "sent"), [
    ("Users", "adele", '"displayName:adele"'),
    ("Users", "adele vance", '"displayName:adele vance"'),
    ("Users", "DISPLAYNAME:Adele", '"displayName:Adele"'),
    ("Users", 'say "hi"', '"displayName:say \\"hi\\""'),
    ("Groups", "description:sales", '"description:sales"'),
    ("Groups", '"displayName:a" OR ("description:b" AND "displayName:c")',
     '"displayName:a" OR ("description:b" AND "displayName:c")'),
    ("Messages", "pizza", '"pizza"'),
    ("Messages", "from:adele subject:lunch", '"from:adele subject:lunch"'),
])
def test_search_text_forms(table: str, terms: str, sent: str) -> None:
    assert search_text(CATALOG.table(table), terms) == sent


@pytest.mark.parametrize("terms", ["mail:adele", '"displayName:a" OR', '"mail:a"', "",
                                   "displayName:", '("displayName:a"', '"displayName:a" AND OR'])
def test_search_text_refuses_what_graph_cannot_take(terms: str) -> None:
    with pytest.raises(ProgrammingError) as info:
        search_text(CATALOG.table("Users"), terms)
    assert "Users.SearchTerms" in str(info.value)
    assert "Pushdown=false avoids" not in str(info.value)


@pytest.mark.parametrize("condition", [
    "SearchTerms = 'x' OR Subject = 'y'", "NOT SearchTerms = 'x'",
    "SearchTerms = 'x' AND SearchTerms <> 'y'", "SearchTerms LIKE 'x%'",
    "IsRead AND (SearchTerms = 'x' OR IsRead)"])
def test_search_terms_only_as_a_top_level_conjunct(condition: str) -> None:
    for pushdown in (True, False):
        with pytest.raises(ProgrammingError, match="top-level AND"):
            _plan(f"SELECT Subject FROM Messages WHERE {condition}", pushdown=pushdown)


def test_search_terms_are_sent_with_pushdown_off() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE SearchTerms = 'pizza' AND IsRead = true",
                 pushdown=False)
    query = plan.scans[0].queries[0]
    assert query.search == '"pizza"' and query.filter is None


# ------------------------------------------------------------------ Unicode functions


@pytest.mark.parametrize(("value", "pattern", "expected"), [
    ("Über die Präsentation", "über%", 1), ("RE: hello", "re:%", 1), ("Zoë", "ZOË", 1),
    ("Straße", "STRAẞE", 1), ("Straße", "strasse", 0), ("ab", "a_", 1), ("a\nb", "a_b", 1),
    ("ΣΊΣΥΦΟΣ", "σίσυφοσ", 1), ("abc", "%B%", 1), ("abc", "abd", 0), (None, "a", None),
    ("a", None, None), (5, "5", 1),
])
def test_like_ignores_case_in_every_alphabet(value: Any, pattern: Any, expected: Any) -> None:
    assert like(pattern, value) == expected


def test_like_escape_and_folding_keep_one_character_per_character() -> None:
    assert like("a!%%", "a%b", "!") == 1 and like("a!%%", "axb", "!") == 0
    assert like("a!_", "a_", "!") == 1 and like("a!_", "ab", "!") == 0
    for text in ("Straße", "İstanbul", "ﬁne", "ΣΊΣΥΦΟΣ"):
        assert len(fold(text)) == len(text)


def test_upper_lower_are_unicode_aware_and_keep_sqlite_types() -> None:
    assert upper("Zoë O'Neil") == "ZOË O'NEIL" and lower("ÜBER") == "über"
    assert upper(None) is None and lower(5) == "5"


def test_functions_are_registered_in_the_local_engine() -> None:
    db = connect()
    assert db.execute("SELECT 'Über' LIKE 'über%', UPPER('zoë'), LOWER('Ä'), "
                      "'x' NOT LIKE 'X', 'A%' LIKE 'a!%' ESCAPE '!'").fetchone() == (
        1, "ZOË", "ä", 0, 1)


# ------------------------------------------------------------------ EXPLAIN


def _explain(sql: str, **kw: Any) -> list[str]:
    return [f"{kind}: {detail}" for _, kind, detail in explain_rows(_plan(sql, **kw))]


def test_explain_shows_fan_out_templates_readably() -> None:
    rows = _explain("SELECT m.Subject FROM Users u JOIN Messages m ON m.UserId = u.Id")
    assert any(r.startswith("graph: GET /users/{UserId}/messages?") for r in rows), rows
    assert not any("%7B" in r for r in rows)
    rows = _explain("SELECT Subject FROM Messages WHERE UserId IN (SELECT Id FROM Users)")
    assert any("subquery" in r and "(UserId)" in r for r in rows), rows
    assert any(r.startswith("graph: GET /users/{UserId}/messages?") for r in rows), rows


def test_explain_shows_max_rows_and_why_a_count_is_local() -> None:
    rows = _explain("SELECT Subject FROM Messages", max_rows=7)
    assert "max rows: MaxRows caps the result at 7 rows" in rows
    assert not any("MaxRows" in r for r in _explain("SELECT COUNT(*) FROM Messages",
                                                       max_rows=7))
    rows = _explain("SELECT COUNT(*) FROM Messages WHERE IsRead = false")
    assert any(r.startswith("note: Messages: COUNT(*) counted locally") and "unreliable" in r
               and "bind ParentFolderId" in r for r in rows), rows
    assert not any("§" in r or "graph-semantics" in r for r in rows), rows  # not in the repo
    rows = _explain("SELECT COUNT(*) FROM Messages WHERE ParentFolderId = 'Inbox' AND "
                    "IsRead = false")
    assert rows[0] == "graph: GET /me/mailFolders/Inbox?$select=unreadItemCount"


def test_explain_names_empty_scans_and_folder_resolution() -> None:
    rows = [f"{k}: {d}" for _, k, d in explain_rows(
        _plan("SELECT Subject FROM Messages WHERE Importance IN :l", {"l": []}))]
    assert rows[0].startswith("empty: Messages: no request")
    rows = _explain("SELECT Subject FROM Messages WHERE ParentFolderId <> 'SentItems'")
    assert any(r.startswith("folders: Messages: resolve 'sentitems'") for r in rows), rows


# ------------------------------------------------------------------ folder names


def test_folder_names_outside_the_endpoint_choice_are_resolved_locally() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE ParentFolderId IN ('Inbox', 'id1') "
                 "OR ParentFolderId <> 'SENTITEMS'")
    scan = plan.scans[0]
    assert scan.folder_names == ("inbox", "sentitems")
    assert "O365_FOLDER_ID(\"messages\".\"userid\", 'Inbox')" in plan.page_sql
    assert "'id1'" in plan.page_sql and "O365_FOLDER_ID(\"messages\".\"userid\", 'id1')" \
        not in plan.page_sql
    assert any(c.name == "UserId" for c in scan.columns)


def test_folder_names_only_where_graph_documents_them() -> None:
    plan = _plan("SELECT DisplayName FROM Contacts WHERE ParentFolderId <> 'Inbox'")
    assert plan.scans[0].folder_names == () and "O365_FOLDER_ID" not in (plan.page_sql or "")


def test_folder_and_item_addresses_tolerate_missing_ids() -> None:
    assert _plan("SELECT Subject FROM Messages WHERE ParentFolderId IN ('Inbox', 'x')"
                 ).scans[0].missing_ok
    assert _plan("SELECT Name FROM MessageAttachments WHERE MessageId = 'm'").scans[0].missing_ok
    assert not _plan("SELECT Subject FROM Messages WHERE UserId = 'a@b.c'").scans[0].missing_ok


def test_subquery_on_user_id_fans_out_after_its_scans() -> None:
    plan = _plan("SELECT Subject FROM Messages WHERE UserId IN (SELECT Id FROM Users WHERE "
                 "Department = 'Sales')")
    messages = next(s for s in plan.scans if s.table.name == "Messages")
    assert messages.dependency is not None and messages.dependency.sql
    assert [s.table.name for s in plan.scans] == ["Users", "Messages"]
    users = plan.scans[0]
    assert messages.dependency.needs == (users.index,)
    assert users.storage in messages.dependency.sql
    scalar = _plan("SELECT Subject FROM Messages WHERE UserId = (SELECT Id FROM Users LIMIT 1)")
    dependent = next(s for s in scalar.scans if s.table.name == "Messages")
    assert dependent.dependency is not None and dependent.dependency.scalar
    # A correlated subquery is no address: it stays an ordinary local condition.
    correlated = _plan("SELECT u.Id FROM Users u WHERE EXISTS (SELECT 1 FROM Messages m "
                       "WHERE m.UserId = (SELECT u.Id))")
    assert all(s.dependency is None for s in correlated.scans)


def test_every_combination_of_quantifier_rewrites_parses() -> None:
    for op, quantifier in itertools.product(("=", "<>", "<", ">="), ("ALL", "ANY")):
        plan = _plan(f"SELECT Subject FROM Messages m WHERE m.ReceivedDateTime {op} {quantifier} "
                     "(SELECT e.CreatedDateTime FROM Events e)")
        assert quantifier not in plan.sql.split("FROM")[1]
