"""``o365sql query`` / ``tables`` / ``describe`` / ``explain`` / ``procedures`` against the
emulator: every format shows exactly the rows the DB-API returns for the same statement."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from cli_support import TTYText, run_cli, run_process

import o365sql
from o365sql.catalog import load_catalog
from o365sql.cli.output import cell_text, display_width

SQL = ("SELECT Id, Subject, ReceivedDateTime, IsRead, Importance FROM Messages "
       "ORDER BY ReceivedDateTime DESC LIMIT 7")


def _rows(conn_props: dict[str, str], sql: str, params: Any = None) -> tuple[list[str], list[tuple]]:
    with o365sql.connect(**conn_props) as conn:
        cur = conn.cursor()
        cur.execute(sql, params)
        return [d[0] for d in cur.description], cur.fetchall()


def test_csv_has_the_cursor_rows(p_args, cli_env, conn_props):
    names, rows = _rows(conn_props, SQL)
    run = run_cli([*p_args, "query", SQL, "-f", "csv"], cli_env)
    assert run.code == 0, run.err
    assert run.err == ""
    parsed = list(csv.reader(io.StringIO(run.out)))
    assert parsed[0] == names
    assert parsed[1:] == [[cell_text(v) for v in row] for row in rows]
    assert len(rows) == 7


def test_json_array_and_lines(p_args, cli_env, conn_props):
    names, rows = _rows(conn_props, SQL)
    expected = [{n: (v.isoformat() if hasattr(v, "isoformat") else v) for n, v in zip(names, row)}
                for row in rows]
    run = run_cli([*p_args, "query", SQL, "-f", "json"], cli_env)
    assert run.code == 0, run.err
    assert json.loads(run.out) == expected
    assert isinstance(json.loads(run.out)[0]["IsRead"], bool)
    lines = run_cli([*p_args, "-f", "jsonl", "query", SQL], cli_env)  # option before the command
    assert [json.loads(line) for line in lines.out.splitlines()] == expected


def test_table_is_aligned_and_cut(p_args, cli_env, conn_props):
    names, rows = _rows(conn_props, SQL)
    run = run_cli([*p_args, "query", SQL, "--max-width", "12"], cli_env)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[-1] == f"({len(rows)} rows)"
    header, rule, body = lines[0], lines[1], lines[2:-1]
    assert [h.strip() for h in header.split(" | ")] == [n[:11] + "…" if len(n) > 12 else n
                                                         for n in names]
    assert len(body) == len(rows)
    # every separator sits in the same display column on every line
    positions = {tuple(_bar_columns(line)) for line in [header, *body]}
    assert len(positions) == 1
    assert rule.count("+") == len(names) - 1
    for line in body:
        assert all(display_width(cell.strip()) <= 12 for cell in line.split(" | "))


def _bar_columns(line: str) -> list[int]:
    cols, width = [], 0
    for i, char in enumerate(line):
        if line.startswith(" | ", i):
            cols.append(width)
        width += display_width(char)
    return cols


def test_named_parameters(p_args, cli_env, conn_props):
    sql = "SELECT Subject FROM Messages WHERE Importance = :imp ORDER BY Subject"
    _, rows = _rows(conn_props, sql, {"imp": "high"})
    run = run_cli([*p_args, "query", sql, "-P", "imp=high", "-f", "csv"], cli_env)
    assert run.code == 0, run.err
    assert list(csv.reader(io.StringIO(run.out)))[1:] == [[r[0]] for r in rows]
    assert rows  # the seeded tenant has important mail, else the test proves nothing


def test_connect_string_env_and_precedence(conn_props, cli_env):
    dsn = ";".join(f"{k}={v}" for k, v in conn_props.items() if k != "OAuthAccessToken")
    env = dict(cli_env, O365SQL_CONNECT=f"OAuthAccessToken=not-a-token;{dsn}")
    sql = "SELECT COUNT(*) AS N FROM Messages"
    bad = run_cli(["query", sql], env)
    assert bad.code == 1 and "o365sql: error:" in bad.err
    good = run_cli(["-c", f"OAuthAccessToken={conn_props['OAuthAccessToken']}", "query", sql,
                    "-f", "csv"], env)
    assert good.code == 0, good.err
    assert int(good.out.splitlines()[1]) == _rows(conn_props, sql)[1][0][0]


def test_tables_and_describe_follow_the_catalog(cli_env):
    catalog = load_catalog()
    run = run_cli(["tables", "-f", "csv"], cli_env)
    assert run.code == 0, run.err
    listed = [row[0] for row in csv.reader(io.StringIO(run.out))][1:]
    assert listed == [t.name for t in catalog] + [
        "sys_tables", "sys_tablecolumns", "sys_procedures", "sys_procedureparameters",
        "sys_replicas"]
    run = run_cli(["describe", "events", "-f", "json"], cli_env)
    described = json.loads(run.out)
    table = catalog.table("Events")
    assert [c["Column"] for c in described] == [c.name for c in table.columns]
    by_name = {c["Column"]: c for c in described}
    for column in table.columns:
        shown = by_name[column.name]
        assert shown["Type"] == column.sql_type
        assert ("heavy" in shown["Flags"].split()) == column.heavy
        assert ("pseudo" in shown["Flags"].split()) == column.pseudo
        assert set(shown["Filter"].replace("~", "").split()) == set(column.filter_ops)
        assert (shown["Sort"] == "yes") == column.orderable


def test_procedures_lists_the_registry(cli_env):
    from o365sql import procedures

    run = run_cli(["procedures", "-f", "json"], cli_env)
    assert run.code == 0, run.err
    names = sorted(p.name for p in procedures.all_procedures())
    assert [p["Procedure"] for p in json.loads(run.out)] == names


def test_explain_shows_the_graph_request(p_args, cli_env, conn_props):
    sql = "SELECT Subject FROM Messages WHERE IsRead = false ORDER BY ReceivedDateTime DESC LIMIT 3"
    run = run_cli([*p_args, "explain", sql], cli_env)
    assert run.code == 0, run.err
    _, rows = _rows(conn_props, "EXPLAIN " + sql)
    for row in rows:  # shown whole: no cell is cut by the default --max-width
        assert all(cell_text(v) in run.out for v in row)
    assert "$filter=" in run.out and "isRead eq false" in run.out


def test_progress_only_on_a_terminal(p_args, cli_env):
    sql = "SELECT Id, Subject FROM Messages WHERE UserId IN (:a, :b)"
    env = dict(cli_env, O365SQL_PROGRESS_DELAY="0")
    args = [*p_args, "-p", "Pagesize=5", "query", sql, "-f", "csv", "-P", "a=me", "-P", "b=me"]
    tty = TTYText()
    run = run_cli(args, env, stderr=tty)
    assert run.code == 0, run.err
    assert "rows" in run.err and "pages" in run.err and "\r" in run.err
    assert run.err.endswith("\r\x1b[2K")  # the line is erased when the scan ends
    plain = run_cli(args, env)
    assert plain.code == 0 and plain.err == ""
    assert plain.out == run.out


def test_python_dash_m_runs_the_cli(p_args):
    run = run_process([*p_args, "query", "SELECT COUNT(*) AS N FROM Contacts", "-f", "csv"])
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == "N" and int(run.out.splitlines()[1]) >= 1


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_empty_result(p_args, cli_env, fmt):
    run = run_cli([*p_args, "query", "SELECT Subject FROM Messages WHERE Subject = 'no such subject x'",
                   "-f", fmt], cli_env)
    assert run.code == 0, run.err
    expected = {"table": "Subject\n-------\n(0 rows)\n", "csv": "Subject\n", "json": "[]\n",
                "jsonl": ""}
    assert run.out == expected[fmt]
