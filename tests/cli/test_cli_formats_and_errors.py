"""What a person reads: output formats (collections as JSON in json/jsonl, NULL vs empty string
in csv, markdown, vertical), column labels as written, and syntax errors a person can act on
(no parser internals; truncated statements refused; schema-qualified names accepted)."""

from __future__ import annotations

import ast
import csv
import io
import json
import pathlib
import re
from typing import Any

import pytest
from cli_support import run_cli

import o365sql
from o365sql.cli.output import write_result

DESCRIPTION = [("N", "INTEGER"), ("S", "VARCHAR"), ("R", "JSON")]
ROWS = [(1, "a|b", '[{"x": 1}]'), (2, None, None), (3, "", "[]")]


def _render(fmt: str, **options: Any) -> str:
    out = io.StringIO()
    write_result(out, DESCRIPTION, ROWS, fmt, **options)
    return out.getvalue()


def test_json_formats_write_collections_as_json_not_escaped_text() -> None:
    assert json.loads(_render("json")) == [{"N": 1, "S": "a|b", "R": [{"x": 1}]},
                                           {"N": 2, "S": None, "R": None},
                                           {"N": 3, "S": "", "R": []}]
    assert [json.loads(line)["R"] for line in _render("jsonl").splitlines()] == [[{"x": 1}], None, []]


def test_csv_null_is_empty_by_default_and_distinct_with_null_text() -> None:
    assert list(csv.reader(io.StringIO(_render("csv"))))[1:] == [
        ["1", "a|b", '[{"x": 1}]'], ["2", "", ""], ["3", "", "[]"]]
    marked = list(csv.reader(io.StringIO(_render("csv", null_text="\\N"))))[1:]
    assert marked[1] == ["2", "\\N", "\\N"] and marked[2][1] == ""


def test_markdown_and_vertical_formats() -> None:
    assert _render("markdown").splitlines() == [
        "| N | S | R |", "|---:|---|---|", '| 1 | a\\|b | [{"x": 1}] |', "| 2 | NULL | NULL |",
        "| 3 |  | [] |"]
    lines = _render("vertical").splitlines()
    assert lines[0].startswith("-[ RECORD 1 ]") and lines[1:4] == ["N | 1", "S | a|b", 'R | [{"x": 1}]']
    assert lines[4].startswith("-[ RECORD 2 ]") and lines[-1] == "(3 rows)"
    assert "S |" in lines and "S | NULL" in lines


def test_the_cli_writes_collections_and_nulls(p_args, cli_env, conn_props) -> None:
    sql = "SELECT Subject, ToRecipients, Categories FROM Messages ORDER BY ReceivedDateTime LIMIT 3"
    run = run_cli([*p_args, "-f", "jsonl", "query", sql], cli_env)
    assert run.code == 0, run.err
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert len(rows) == 3
    assert all(isinstance(r["ToRecipients"], list) and isinstance(r["Categories"], list) for r in rows)
    assert rows[0]["ToRecipients"][0]["emailAddress"]["address"]
    run = run_cli([*p_args, "--null", "(null)", "-f", "csv", "query",
                   "SELECT '' AS Empty, NULL AS Nothing"], cli_env)
    assert run.code == 0, run.err
    assert run.out.splitlines() == ["Empty,Nothing", ",(null)"]
    run = run_cli([*p_args, "-f", "markdown", "query", "SELECT 1 AS One"], cli_env)
    assert run.out.splitlines() == ["| One |", "|---:|", "| 1 |"]


@pytest.mark.parametrize("sql, label", [
    ("SELECT string_agg(Subject, ', ') FROM Messages", "string_agg(Subject, ', ')"),
    ("SELECT count(*) FROM Messages", "count(*)"),
    ("SELECT upper(Subject), substr(Subject,1,3) FROM Messages LIMIT 1", "upper(Subject)|substr(Subject,1,3)"),
    ("SELECT DISTINCT lower( Subject ) FROM Messages UNION SELECT 'x' LIMIT 1", "lower( Subject )"),
    ("SELECT Subject || '!' , IsRead FROM Messages LIMIT 1", "Subject || '!'|IsRead"),
    ("SELECT max(ReceivedDateTime) latest FROM Messages", "latest"),
])
def test_column_labels_are_the_users_own_text(conn_props, sql, label) -> None:
    with o365sql.connect(**conn_props) as conn:
        cur = conn.cursor().execute(sql)
        assert "|".join(d[0] for d in cur.description) == label


@pytest.mark.parametrize("sql, message, caret_at", [
    ("SELECT FROM Messages", "expected a column list after SELECT", 0),
    ("SELECT", "expected a column list after SELECT", 0),
    ("SELECT DISTINCT\nFROM Users", "expected a column list after SELECT", 0),
    ("SELECT * FROM Users ORDER", "expected BY after ORDER", 20),
    ("SELECT * FROM Users GROUP", "expected BY after GROUP", 20),
    ("SELECT * FROM Users u WHERE u.Id = ? LIMIT", "expected an expression after 'LIMIT'", 37),
    ("SELECT * FROM Users desc", "unexpected 'desc'", 20),
    ("SELECT * FROM", "expected a table name after 'FROM', found the end of the statement", 9),
    ("SELECT * FROM Messages m JOIN", "expected a table name after 'JOIN'", 25),
    ("SELECT * FROM Users WHERE Id IN (SELECT", "expected a column list after SELECT", 33),
])
def test_syntax_errors_read_like_sentences_with_a_caret(conn_props, sql, message, caret_at) -> None:
    with o365sql.connect(**conn_props) as conn, pytest.raises(o365sql.ProgrammingError) as info:
        conn.cursor().execute(sql)
    text = str(info.value)
    assert message in text
    assert "Token" not in text and "SENTINEL" not in text and "TokenType" not in text
    caret_line = text.splitlines()[-1]
    assert caret_line.index("^") - 2 == caret_at - (sql.rfind("\n", 0, caret_at) + 1)


def test_quoted_clause_words_are_still_aliases(conn_props) -> None:
    with o365sql.connect(**conn_props) as conn:
        cur = conn.cursor().execute('SELECT Subject "order" FROM Messages "group" LIMIT 1')
        assert cur.description[0][0] == "order" and len(cur.fetchall()) == 1


def test_schema_qualified_names_are_the_schema_sys_tables_reports(conn_props) -> None:
    with o365sql.connect(**conn_props) as conn:
        cur = conn.cursor()
        catalog, schema = cur.execute(
            "SELECT DISTINCT CatalogName, SchemaName FROM sys_tables").fetchall()[0]
        bare = cur.execute("SELECT Id FROM Messages ORDER BY Id").fetchall()
        for name in (f"{schema}.Messages", f"{catalog}.{schema}.Messages", f"{schema.lower()}.messages"):
            assert cur.execute(f"SELECT m.Id FROM {name} m ORDER BY m.Id").fetchall() == bare
        listed = len(cur.execute("SELECT * FROM sys_tables").fetchall())
        assert listed > 5
        assert cur.execute(f"SELECT COUNT(*) FROM {schema}.sys_tables").fetchone()[0] == listed
        assert cur.execute("SELECT COUNT(*) FROM sys_tables").fetchone()[0] == listed
        with pytest.raises(o365sql.ProgrammingError, match="unknown schema 'dbo'.*Office365"):
            cur.execute("SELECT * FROM dbo.Messages")


_OUTSIDE_DOCS = re.compile(r"§|graph-semantics|cdata-data-model|msal\.md|peers\.md|graph-examples"
                           r"|graph-csdl|delta-limits|style-and-conventions|baselines-and-browser")


def test_describe_and_procedures_cite_no_document_outside_the_repository() -> None:
    from o365sql import procedures
    from o365sql.catalog import load_catalog

    texts = []
    for table in load_catalog():
        texts.append(table.description)
        texts.extend(c.description for c in table.columns)
    for proc in procedures.all_procedures():
        texts.append(proc.description)
    assert len(texts) > 500
    assert [t for t in texts if t and _OUTSIDE_DOCS.search(t)] == []


def test_no_message_string_in_the_driver_cites_a_document_outside_the_repository() -> None:
    # Comments and docstrings may cite the reference material; strings a user can read may not.
    root = pathlib.Path(o365sql.__file__).parent
    found, scanned = [], 0
    for path in [*root.rglob("*.py"), *(root.parent / "procedures").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                scanned += 1
                if _OUTSIDE_DOCS.search(node.value):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert scanned > 2000 and found == []
