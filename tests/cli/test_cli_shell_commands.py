"""The shell's psql and sqlite3 habits, through a pipe: \\x and \\G, \\d and friends, \\timing,
\\o/.output, \\i/.read, \\pset null; describe for the sys_* tables; bare ``o365sql`` without a
connection says how to connect."""

from __future__ import annotations

import re

from cli_support import run_process

from o365sql.catalog import load_catalog
from o365sql.cli.shell import BACKSLASH_COMMANDS, complete, split_terminated
from o365sql.system_catalog import SYSTEM_TABLES

CATALOG = load_catalog()


def _shell(p_args, tmp_path, script: str):
    run = run_process([*p_args, "shell"], {"XDG_CONFIG_HOME": str(tmp_path)}, stdin=script)
    return run


def test_backslash_G_ends_a_statement_and_shows_it_vertically():
    assert split_terminated("SELECT 'a\\G' AS x\\G SELECT 2;\nSELECT 3\\g") == (
        [("SELECT 'a\\G' AS x", True), ("SELECT 2", False), ("SELECT 3", False)], "")
    assert split_terminated("SELECT 1 -- \\G\n") == ([], "SELECT 1 -- \\G\n")
    assert complete("\\d", "\\d", CATALOG) == sorted(c for c in BACKSLASH_COMMANDS if c.startswith("\\d"))
    assert complete("Mess", "\\d Mess", CATALOG) == ["Messages", "MessageAttachments"] or \
        sorted(complete("Mess", "\\d Mess", CATALOG)) == ["MessageAttachments", "Messages"]


def test_expanded_display_and_G(p_args, tmp_path):
    run = _shell(p_args, tmp_path, "\\x on\nSELECT 1 AS a, 'two' AS bb;\n\\x off\n"
                 "SELECT 3 AS c;\nSELECT 4 AS d\\G\n\\x\nSELECT 5 AS e;\n")
    assert run.code == 0, run.err
    blocks = run.out.split("(1 row)\n")
    assert re.match(r"-\[ RECORD 1 \]-*\na  \| 1\nbb \| two\n$", blocks[0])
    assert blocks[1] == "c\n-\n3\n"
    assert re.match(r"-\[ RECORD 1 \]-*\nd \| 4\n$", blocks[2])
    assert re.match(r"-\[ RECORD 1 \]-*\ne \| 5\n$", blocks[3])  # \x alone toggles
    assert "Expanded display is on." in run.err and "Expanded display is off." in run.err


def test_d_dt_df_and_help_next_to_the_dot_commands(p_args, tmp_path):
    run = _shell(p_args, tmp_path, "\\pset format csv\n\\d\n\\dt\n.tables\n\\d Messages\n"
                 ".describe Messages\n\\df\n.procedures\n\\?\n\\q\nSELECT 'never run';\n")
    assert run.code == 0, run.err
    tables = [t.name for t in CATALOG] + [t.name for t in SYSTEM_TABLES.values()]
    listing = "Table,Kind,Description\n"
    parts = run.out.split(listing)
    assert len(parts) == 4  # \d, \dt and .tables
    for part in parts[1:3]:
        assert [line.split(",")[0] for line in part.splitlines()][:len(tables)] == tables
    describe = [c.name for c in CATALOG.table("Messages").columns]
    shown = run.out.split("Column,Type,")
    assert len(shown) == 3
    assert [line.split(",")[0] for line in shown[1].splitlines()[1:len(describe) + 1]] == describe
    assert run.out.count("Procedure,Parameters") == 2
    assert "\\timing" in run.out and ".output" in run.out  # \? lists both kinds
    assert "never run" not in run.out


def test_describe_the_sys_tables(p_args, tmp_path):
    run = run_process([*p_args, "-f", "csv", "describe", "sys_tablecolumns"],
                      {"XDG_CONFIG_HOME": str(tmp_path)})
    assert run.code == 0, run.err
    names = [line.split(",")[0] for line in run.out.splitlines()[1:]]
    assert names == [c.name for c in SYSTEM_TABLES["sys_tablecolumns"].columns]
    run = _shell(p_args, tmp_path, ".format csv\n\\d Office365.sys_procedures\n")
    assert [line.split(",")[0] for line in run.out.splitlines()[1:]] == [
        c.name for c in SYSTEM_TABLES["sys_procedures"].columns]


def test_timing_output_files_and_scripts(p_args, tmp_path):
    inner = tmp_path / "inner.sql"
    inner.write_text("SELECT 'inner' AS w;\n.read " + str(tmp_path / "last.sql") + "\n")
    (tmp_path / "last.sql").write_text("-- no final semicolon\nSELECT 'last' AS w\n")
    out_file, dot_file = tmp_path / "out.txt", tmp_path / "dot.txt"
    script = (f"\\timing on\nSELECT 1 AS t;\n\\timing off\n\\o {out_file}\nSELECT 'to file' AS f;\n"
              f"\\o\n.output {dot_file}\n\\i {inner}\n.output\n.format csv\nSELECT 'screen' AS s;\n"
              f"\\pset null (null)\nSELECT NULL AS n, '' AS e;\n.nullvalue\nSELECT NULL AS n;\n")
    run = _shell(p_args, tmp_path, script)
    assert run.code == 0, run.err
    assert re.match(r"t\n-\n1\n\(1 row\)\nTime: \d+\.\d{3} ms\n", run.out)
    assert run.out.count("Time:") == 1
    assert out_file.read_text() == "f\n-------\nto file\n(1 row)\n"
    assert dot_file.read_text() == "w\n-----\ninner\n(1 row)\nw\n----\nlast\n(1 row)\n"
    assert "to file" not in run.out and "inner" not in run.out
    assert run.out.endswith("s\nscreen\nn,e\n(null),\nn\n\"\"\n")  # csv quotes a lone empty field


def test_a_script_reading_itself_is_refused(p_args, tmp_path):
    loop = tmp_path / "loop.sql"
    loop.write_text(f"SELECT 1 AS x;\n\\i {loop}\n")
    run = _shell(p_args, tmp_path, f"\\i {loop}\n")
    assert run.code == 1 and "already being read" in run.err


def test_bare_o365sql_without_a_connection_says_how_to_connect(tmp_path):
    run = run_process([], {"XDG_CONFIG_HOME": str(tmp_path)}, stdin="")
    assert run.code == 2
    assert "not connected" in run.err and "o365sql demo" in run.err and "O365SQL_CONNECT" in run.err
    assert "Traceback" not in run.err
