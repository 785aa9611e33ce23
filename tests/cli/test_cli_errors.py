"""Every failure of the command line is one line on stderr, exit code 1, and no traceback
(unless --debug); nothing secret is echoed."""

from __future__ import annotations

import pytest
from cli_support import run_cli, run_process


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("o365sql: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_unknown_table_names_the_nearest(p_args, cli_env):
    run = run_cli([*p_args, "query", "SELECT * FROM Mesages"], cli_env)
    assert run.code == 1 and run.out == ""
    line = _one_error_line(run.err)
    assert "Mesages" in line and "Messages" in line


def test_describe_unknown_table(cli_env):
    run = run_cli(["describe", "Contacs"], cli_env)
    assert run.code == 1
    assert "Contacts" in _one_error_line(run.err)


def test_syntax_error(p_args, cli_env):
    # One error line, then the statement and a caret under the fault (as sqlite3 and psql do).
    run = run_cli([*p_args, "query", "SELECT Subject FROM Messages WHERE ("], cli_env)
    assert run.code == 1 and run.out == ""
    first, echo, caret = run.err.splitlines()
    _one_error_line(first)
    assert "line 1, column 36" in first
    assert echo == "  SELECT Subject FROM Messages WHERE ("
    assert caret == "  " + " " * 35 + "^"


@pytest.mark.parametrize("sql", ["SELEC Subject FROM Messages", "SELEC x"])
def test_misspelled_first_keyword_suggests_select(p_args, cli_env, sql):
    run = run_cli([*p_args, "query", sql], cli_env)
    assert run.code == 1
    first, echo, caret = run.err.splitlines()
    assert "line 1, column 1" in first and "did you mean SELECT?" in first
    assert "not supported" not in first
    assert echo == f"  {sql}" and caret == "  ^^^^^"


def test_show_tables_says_what_to_use_and_logs_nothing(p_args, cli_env):
    run = run_process([*p_args, "query", "SHOW TABLES"], env_extra=cli_env)
    assert run.code == 1
    line = _one_error_line(run.err)  # sqlglot's "Falling back ..." warning would be a 2nd line
    assert "SELECT * FROM sys_tables" in line


def test_unknown_property_and_bad_p(cli_env):
    run = run_cli(["-p", "OAuthClientIdd=x", "query", "SELECT 1"], cli_env)
    assert run.code == 1
    assert "OAuthClientId" in _one_error_line(run.err)
    run = run_cli(["-p", "novalue", "tables"], cli_env)
    assert run.code == 1
    assert "-p expects Key=Value" in _one_error_line(run.err)


def test_graph_rejection_carries_its_code_and_hides_the_token(emu, conn_props, cli_env):
    expired = emu.mint_token(user=emu.users[0], lifetime=-60)
    props = dict(conn_props, OAuthAccessToken=expired)
    args = [arg for k, v in props.items() for arg in ("-p", f"{k}={v}")]
    run = run_cli([*args, "query", "SELECT Subject FROM Messages LIMIT 1"], cli_env)
    assert run.code == 1
    line = _one_error_line(run.err)
    assert expired not in line and expired[-20:] not in line
    assert "token" in line.lower()


def test_no_properties_at_all(cli_env):
    run = run_cli(["query", "SELECT Subject FROM Messages LIMIT 1"], cli_env)
    assert run.code == 1
    _one_error_line(run.err)


def test_usage_error_exits_2(cli_env):
    run = run_cli(["query"], cli_env)
    assert run.code == 2
    assert "usage:" in run.err


def test_traceback_only_with_debug(p_args):
    plain = run_process([*p_args, "query", "SELECT * FROM Nope"])
    assert plain.code == 1 and "Traceback" not in plain.err
    assert len(plain.err.splitlines()) == 1
    debug = run_process([*p_args, "--debug", "query", "SELECT * FROM Nope"])
    assert debug.code == 1 and "Traceback" in debug.err
    assert "ProgrammingError" in debug.err


@pytest.mark.parametrize("argv", [["shell"], []])
def test_piped_shell_reports_each_error_and_goes_on(p_args, cli_env, argv, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(
        "SELECT * FROM Nope;\nSELECT COUNT(*) AS N FROM Contacts;\n.nonsense\n"))
    run = run_cli([*p_args, "-f", "csv", *argv], cli_env)
    assert run.code == 1  # a piped script with a failed statement fails
    errors = run.err.splitlines()
    assert len(errors) == 2 and all(e.startswith("o365sql: error: ") for e in errors)
    assert run.out.splitlines()[0] == "N" and int(run.out.splitlines()[1]) > 0
