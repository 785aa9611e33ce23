"""The interactive shell: statements over several lines, meta commands, completion, history;
driven through a pipe and through a real pseudo-terminal (readline on)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest
from cli_support import SYSTEM_BUNDLE, run_process

import o365sql
from o365sql.catalog import load_catalog
from o365sql.cli.shell import META_COMMANDS, complete, split_statements, statement_complete

CATALOG = load_catalog()


# ------------------------------------------------------------------ pure functions
def test_statement_boundaries_ignore_quotes_and_comments():
    assert not statement_complete("SELECT 'a;")
    assert not statement_complete("SELECT 1 -- not the end;")
    assert not statement_complete("SELECT [odd;name] FROM T")
    assert statement_complete("SELECT 'it''s;' FROM T\n;")
    done, rest = split_statements("SELECT 1; /* ; */ SELECT \"a;b\" FROM T;\nSELECT")
    assert done == ["SELECT 1", '/* ; */ SELECT "a;b" FROM T']
    assert rest == "\nSELECT"
    assert split_statements(";;  ;")[0] == []


def test_complete_tables_after_from_and_describe():
    assert complete("Mess", "SELECT * FROM Mess", CATALOG) == [
        n for n in CATALOG.names() if n.lower().startswith("mess")]
    assert complete("cal", "select * from t join cal", CATALOG) == [
        n for n in CATALOG.names() if n.lower().startswith("cal")]
    assert complete("Con", ".describe Con", CATALOG) == [
        n for n in CATALOG.names() if n.startswith("Con")]


def test_complete_columns_of_named_tables_and_aliases():
    messages = [c.name for c in CATALOG.table("Messages").columns]
    got = complete("Rec", "SELECT Rec", CATALOG, history="")
    # No table named yet: every table's columns are offered.
    everyone = {c.name for t in CATALOG.names() for c in CATALOG.table(t).columns}
    assert set(got) == {c for c in everyone if c.startswith("Rec")}
    assert "ReceivedDateTime" in got and "Recurrence_Pattern_Type" in got
    got = complete("Rec", "SELECT Subject FROM Messages WHERE Rec", CATALOG)
    assert got == [c for c in messages if c.startswith("Rec")]
    got = complete("m.Sub", "SELECT m.Sub", CATALOG, history="FROM Messages AS m")
    assert got == ["m." + c for c in messages if c.startswith("Sub")]
    got = complete("Messages.IsR", "SELECT Messages.IsR", CATALOG)
    assert got == ["Messages." + c for c in messages if c.startswith("IsR")]
    assert "Messages.IsRead" in got


def test_complete_keywords_meta_commands_and_procedures():
    assert complete("SEL", "SEL", CATALOG) == ["SELECT"]
    assert complete("ord", "select x from messages ord", CATALOG) == ["order"]
    assert complete(".", ".", CATALOG) == sorted(META_COMMANDS)
    assert complete("GetOAuthA", "EXEC GetOAuthA", CATALOG) == [
        "GetOAuthAccessToken", "GetOAuthAuthorizationURL"]


# ------------------------------------------------------------------ through a pipe
def test_piped_script_with_multiline_statements(p_args, conn_props, tmp_path):
    with o365sql.connect(**conn_props) as conn:
        expected = conn.cursor().execute(
            "SELECT DisplayName FROM Contacts ORDER BY DisplayName LIMIT 3").fetchall()
    script = (
        ".format csv\n"
        "SELECT DisplayName\n"
        "  FROM Contacts  -- a comment; not the end\n"
        "  ORDER BY DisplayName\n"
        "  LIMIT 3;\n"
        ".describe MailFolders\n"
        ".quit\n"
        "SELECT 'never run';\n"
    )
    run = run_process([*p_args, "shell"], {"XDG_CONFIG_HOME": str(tmp_path)}, stdin=script)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[:4] == ["DisplayName", *[row[0] for row in expected]]
    assert lines[4].startswith("Column,Type,")
    folder_columns = [c.name for c in CATALOG.table("MailFolders").columns]
    assert [line.split(",")[0] for line in lines[5:]] == folder_columns
    assert "never run" not in run.out
    assert "o365sql>" not in run.out  # no prompts without a terminal


# ------------------------------------------------------------------ through a terminal
class Terminal:
    """``python -m o365sql shell`` on a pseudo-terminal."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "o365sql", *argv], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not seen; got:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096).decode("utf-8", "replace")
                except OSError:
                    break
        before, _, after = self.seen.partition(text)
        self.seen = after
        return before

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=20)
        finally:
            os.close(self.master)


@pytest.fixture
def terminal_env(tmp_path):
    return dict(os.environ, REQUESTS_CA_BUNDLE=SYSTEM_BUNDLE, TERM="xterm",
                XDG_CONFIG_HOME=str(tmp_path), O365SQL_HISTORY=str(tmp_path / "history"),
                INPUTRC=os.devnull, O365SQL_SHELL="readline")


def test_terminal_session_prompts_completion_and_history(p_args, conn_props, terminal_env,
                                                         tmp_path):
    with o365sql.connect(**conn_props) as conn:
        count = conn.cursor().execute("SELECT COUNT(*) FROM MailFolders").fetchone()[0]
    term = Terminal([*p_args, "shell"], terminal_env)
    try:
        term.expect("o365sql> ")
        term.send("SELECT COUNT(*) AS N\r")
        term.expect("   ...> ")  # continuation prompt: the statement has no ';' yet
        term.send("FROM MailF\t")  # tab completes the table name
        term.expect("MailFolders")
        term.send(";\r")
        output = term.expect("o365sql> ")
        assert [line.strip() for line in output.splitlines()][-3:] == ["N", "-", str(count)] or \
            str(count) in output.split()
        assert "(1 row)" in output
        term.send(".quit\r")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
    history = (tmp_path / "history").read_text()
    assert "FROM MailFolders;" in history and "SELECT COUNT(*) AS N" in history
