"""The command line on a real terminal: the progress line never mixes with rows written to the
same terminal, it shows pages while a sorted result is fetched, a multi-line statement is one
history entry, and Tab completes column names before FROM (double Tab lists them). The shell
runs under tmux and the query under a pseudo-terminal, against the session's emulator."""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cli_support import SYSTEM_BUNDLE, TTYText, run_cli

from o365sql.cli.output import Progress, write_result

CLEAR = "\r\x1b[2K"
PROGRESS = re.compile(r"\d+ rows, \d+ pages \(\d+\.\d s\)")


def drawn_then_not_cleared(text: str) -> list[str]:
    """Progress texts followed by anything but the sequence that erases them."""
    return [m.group(0) for m in PROGRESS.finditer(text)
            if not text.startswith(CLEAR, m.end()) and m.end() != len(text)]


# -- the progress line, as a unit ------------------------------------------------------------

def test_rows_written_to_the_same_terminal_erase_and_end_the_progress_line() -> None:
    terminal = TTYText()  # stdout and stderr on one terminal
    pages = iter(range(1, 1000))
    progress = Progress(terminal, lambda: next(pages), delay=0, interval=0)
    rows = [(1, "a"), (2, "b"), (3, "c")]
    description = [("N", None, None, None, None, None, None),
                   ("S", None, None, None, None, None, None)]
    write_result(progress.guard(terminal), description, progress.track(iter(rows)), "csv")
    text = terminal.getvalue()
    assert drawn_then_not_cleared(text) == []
    assert text.replace(CLEAR, "").endswith("N,S\n1,a\n2,b\n3,c\n")
    assert not PROGRESS.search(text.split("N,S")[1])  # none once rows are on the terminal


def test_progress_goes_on_while_rows_go_elsewhere() -> None:
    stderr, stdout = TTYText(), TTYText()  # two different terminals (or stdout redirected)
    progress = Progress(stderr, lambda: 7, delay=0, interval=0)
    description = [("N", None, None, None, None, None, None)]
    write_result(progress.guard(stdout), description, progress.track(iter([(1,), (2,)])), "jsonl")
    assert stdout.getvalue() == '{"N": 1}\n{"N": 2}\n'
    assert "2 rows, 7 pages" in stderr.getvalue() and stderr.getvalue().endswith(CLEAR)


def test_the_ticker_draws_pages_before_any_row() -> None:
    stderr = TTYText()
    pages = [0]
    with Progress(stderr, lambda: pages[0], delay=0, interval=0.05):
        for n in range(1, 5):
            pages[0] = n
            time.sleep(0.12)
    assert "0 rows, 4 pages" in stderr.getvalue() or "0 rows, 3 pages" in stderr.getvalue()
    assert stderr.getvalue().endswith(CLEAR)


# -- the query command -----------------------------------------------------------------------

@pytest.fixture
def slow_pages(emu: Any) -> Iterator[Any]:
    rule = emu.faults.latency(0.3, path="/messages", count=4)
    yield rule
    emu.faults.remove(rule.id)


def test_sorted_result_shows_pages_while_they_are_fetched(p_args, cli_env, slow_pages):
    # A residual ORDER BY reads every page before the first row: the line must count pages.
    env = dict(cli_env, O365SQL_PROGRESS_DELAY="0")
    sql = "SELECT Subject FROM Messages ORDER BY length(Subject), Subject"
    tty = TTYText()
    run = run_cli([*p_args, "-p", "Pagesize=5", "query", sql, "-f", "csv"], env, stderr=tty)
    assert run.code == 0, run.err
    before_rows = [int(m.group(1)) for m in re.finditer(r"0 rows, (\d+) pages", run.err)]
    assert before_rows and max(before_rows) >= 2, run.err
    assert run.err.endswith(CLEAR) and slow_pages.fired == 4


def test_pages_are_counted_per_statement(p_args, cli_env, monkeypatch):
    env = dict(cli_env, O365SQL_PROGRESS_DELAY="0")
    tty = TTYText()
    # The shell reads a piped script from stdin: the same scan twice.
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT Id FROM Messages;\n" * 2))
    run = run_cli([*p_args, "-p", "Pagesize=10", "-f", "csv", "shell"], env, stderr=tty)
    assert run.code == 0, run.err
    counts = [int(m.group(1)) for m in re.finditer(r"rows, (\d+) pages", run.err)]
    assert counts and max(counts) <= 4, run.err  # 40 messages: 4 pages per statement


def _pty_run(argv: list[str], env: dict[str, str], timeout: float = 60) -> str:
    """Run ``python -m o365sql`` with stdout and stderr on one pseudo-terminal; its output."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "o365sql", *argv], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_rows_on_the_same_terminal_never_carry_the_progress_line(p_args, cli_env, slow_pages,
                                                                fmt):
    env = dict(os.environ, **cli_env, O365SQL_PROGRESS_DELAY="0",
               REQUESTS_CA_BUNDLE=SYSTEM_BUNDLE)
    env.pop("O365SQL_CONNECT", None)
    out = _pty_run([*p_args, "-p", "Pagesize=5", "-f", fmt, "query",
                    "SELECT Id, Subject FROM Messages"], env)
    assert PROGRESS.search(out), out  # the line was drawn while the first page was slow
    assert drawn_then_not_cleared(out) == [], out
    first_row = {"csv": "Id,Subject\n", "jsonl": '{"Id": ', "json": "[\n"}[fmt]
    # Whatever preceded the rows on the terminal was erased: the rows start a clean line.
    before = out[:out.index(first_row)]
    assert before == "" or before.endswith(CLEAR), repr(before[-80:])
    assert not PROGRESS.search(out[out.index(first_row):])


# -- the shell under tmux --------------------------------------------------------------------


def _require_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: run tests/install_tools.sh")


class Tmux:
    """One shell in a private tmux server (its own socket: other tmux users are untouched)."""

    def __init__(self, command: str) -> None:
        _require_tmux()
        self.socket = f"o365sql-test-{os.getpid()}-{time.monotonic_ns()}"
        self.name = "shell"
        self._tmux("new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", command)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=20, check=False)
        return done.stdout

    def keys(self, *keys: str) -> None:
        """Key names (``Enter``, ``Tab``, ``Left``, ``C-u``) or plain words."""
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        """Text typed literally (tmux would read a trailing ';' as a command separator)."""
        if text.endswith(";"):
            text = text[:-1] + "\\;"
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, pattern: str, limit: float = 30.0) -> str:
        deadline = time.monotonic() + limit
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never appeared on the screen:\n{screen}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", self.name],
                              capture_output=True, timeout=20, check=False).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=20, check=False)
        # kill-server leaves the socket file behind.
        path = os.path.join(os.environ.get("TMUX_TMPDIR") or "/tmp", f"tmux-{os.getuid()}",
                            self.socket)
        if os.path.exists(path):
            os.remove(path)


def start_shell(p_args: list[str], env_extra: dict[str, str], prompt: str = r"(?m)^o365sql>\s*$"
                ) -> Tmux:
    """``o365sql shell`` in tmux (160 x 50), its prompt on the screen."""
    # The readline shell unless the test asks for prompt_toolkit's (O365SQL_SHELL=prompt_toolkit).
    env = {"O365SQL_SHELL": "readline", **env_extra, "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE,
           "TERM": "xterm", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    command = " ".join(["env", "-u", "PAGER", *(shlex.quote(f"{k}={v}") for k, v in env.items()),
                        shlex.quote(sys.executable), "-m", "o365sql",
                        *(shlex.quote(a) for a in p_args), "shell"])
    session = Tmux(command)
    try:
        session.wait_for(prompt)
    except BaseException:
        session.close()
        raise
    return session


@pytest.fixture
def shell(p_args, cli_env) -> Iterator[Tmux]:
    session = start_shell(p_args, cli_env)
    try:
        yield session
    finally:
        session.close()


def test_a_multi_line_statement_is_one_history_entry(shell, cli_env):
    shell.keys("SELECT Subject", "Enter")
    shell.wait_for(r"(?m)^   \.\.\.>\s*$")
    shell.keys("FROM Messages", "Enter")
    shell.wait_for(r"(?m)FROM Messages\n   \.\.\.>\s*$")
    shell.type("LIMIT 1;")
    shell.keys("Enter")
    shell.wait_for(r"\(1 row\)")
    shell.keys("Up")
    shell.wait_for(r"(?m)^o365sql> SELECT Subject FROM Messages LIMIT 1;\s*$")
    shell.keys("C-u", ".quit", "Enter")
    deadline = time.monotonic() + 20
    while shell.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    with open(cli_env["O365SQL_HISTORY"], encoding="utf-8") as handle:
        entries = [line.rstrip("\n") for line in handle]
    assert "SELECT Subject FROM Messages LIMIT 1;" in entries
    assert "FROM Messages" not in entries and "LIMIT 1;" not in entries


def test_tab_before_from_completes_columns_of_the_table_named_later(shell):
    shell.keys("SELECT Subj FROM Messages")
    shell.keys(*["Left"] * len(" FROM Messages"), "Tab")
    shell.wait_for(r"o365sql> SELECT Subject FROM Messages")
    shell.keys("End", "C-u", "SELECT IsR FROM Messages")
    shell.keys(*["Left"] * len(" FROM Messages"), "Tab", "Tab")
    screen = shell.wait_for(r"IsReadReceiptRequested")
    assert re.search(r"IsRead\s+IsReadReceiptRequested", screen), screen  # double Tab lists


def test_tab_with_no_table_named_offers_every_tables_columns(shell):
    shell.keys("SELECT ReceivedD", "Tab")
    shell.wait_for(r"o365sql> SELECT ReceivedDateTime")


# -- psql's habits on a terminal: pager, expanded display, prompts -----------------------------

LONG = "SELECT Subject FROM Messages UNION ALL SELECT Subject FROM Messages;"  # over 80 rows > 50 lines


def test_a_trailing_comment_after_the_semicolon_leaves_no_continuation_prompt(shell):
    shell.type("SELECT 41 + 1 AS answer; -- the answer")
    shell.keys("Enter")
    screen = shell.wait_for(r"\(1 row\)\n(.*\n)*o365sql>\s*$")
    assert "...>" not in screen
    shell.type("-- only a comment")
    shell.keys("Enter")
    shell.type("SELECT 1 AS one;")
    shell.keys("Enter")
    screen = shell.wait_for(r"one\n-+\n\s*1\n\(1 row\)")
    assert "...>" not in screen


def test_long_results_go_through_less_by_default_and_not_after_pset_pager_off(shell):
    shell.type(LONG)
    shell.keys("Enter")
    screen = shell.wait_for(r"(?m)^:\s*$")  # less -S waits at its prompt
    assert "rows)" not in screen and "Subject" in screen
    shell.keys("q")
    shell.wait_for(r"(?m)^o365sql>\s*$")
    shell.type("\\pset pager off")
    shell.keys("Enter")
    shell.wait_for("Pager is off")
    shell.type(LONG)
    shell.keys("Enter")
    shell.wait_for(r"\(8\d rows\)\n(.*\n)*o365sql>\s*$")


def test_pager_is_PAGER_and_short_results_skip_it(p_args, cli_env, tmp_path):
    paged = tmp_path / "paged.txt"
    session = start_shell(p_args, {**cli_env, "PAGER": f"tee {paged}"})
    try:
        session.type("SELECT 1 AS one;")
        session.keys("Enter")
        session.wait_for(r"\(1 row\)")
        assert not paged.exists()
        session.type(LONG)
        session.keys("Enter")
        session.wait_for(r"\(8\d rows\)\n(.*\n)*o365sql>\s*$")
        text = paged.read_text()
        assert text.startswith("Subject\n") and re.search(r"\(8\d rows\)\n$", text)
    finally:
        session.close()


def test_expanded_auto_turns_wide_rows_vertical_and_G_ends_a_statement(shell):
    shell.type("\\x auto")
    shell.keys("Enter")
    shell.wait_for("Expanded display is auto")
    shell.type("SELECT Subject, Id, ConversationId, InternetMessageId FROM Messages LIMIT 1;")
    shell.keys("Enter")
    screen = shell.wait_for(r"-\[ RECORD 1 \]-*\n")
    assert re.search(r"(?m)^Subject\s+\| ", screen)
    shell.type("SELECT 1 AS narrow;")
    shell.keys("Enter")
    shell.wait_for(r"narrow\n-+\n\s*1\n\(1 row\)")
    shell.type("\\x off")
    shell.keys("Enter")
    shell.wait_for("Expanded display is off")
    shell.type("SELECT 2 AS two, 3 AS three\\G")
    shell.keys("Enter")
    shell.wait_for(r"-\[ RECORD 1 \]-*\ntwo\s+\| 2\nthree \| 3")


# -- the prompt_toolkit shell (the `shell` extra) ------------------------------------------------

def test_prompt_toolkit_highlights_and_completes_as_you_type(p_args, cli_env):
    session = start_shell(p_args, {**cli_env, "O365SQL_SHELL": "prompt_toolkit"},
                          prompt=r"(?m)^o365sql> ?$")
    try:
        session.type("SELECT 'x', Subj")
        # The menu opens under the line without any Tab.
        session.wait_for(r"o365sql> SELECT 'x', Subj\s*\n\s+Subject\b")
        colours = session._tmux("capture-pane", "-p", "-e", "-t", session.name)
        line = next(x for x in colours.splitlines() if "SELECT" in x)
        assert re.search(r"\x1b\[[0-9;]*34m(\x1b\[[0-9;]*m)*SELECT", line), repr(line)  # keyword
        assert re.search(r"\x1b\[[0-9;]*32m(\x1b\[[0-9;]*m)*'x'", line), repr(line)  # string
        session.keys("Down", "Enter")  # take the completion
        session.wait_for(r"o365sql> SELECT 'x', Subject")
        session.keys("End", "C-u")
        session.type("SELECT Subject AS s")
        session.keys("Enter")  # no ';' yet (an open completion menu with nothing chosen stays out): a new line of the same statement
        session.wait_for(r"(?m)^   \.\.\.> ?$")
        session.type("FROM Messages LIMIT 2;")
        session.keys("Enter")
        session.wait_for(r"\(2 rows\)\n(.*\n)*o365sql> ?\s*$")
        session.keys("Up")  # the whole statement comes back
        session.wait_for(r"o365sql> SELECT Subject AS s\n   \.\.\.> FROM Messages LIMIT 2;")
        session.keys("C-u", "C-d")
        session.type(".quit")
        session.keys("Enter")
        deadline = time.monotonic() + 20
        while session.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        with open(cli_env["O365SQL_HISTORY"], encoding="utf-8") as handle:
            assert "SELECT Subject AS s FROM Messages LIMIT 2;" in handle.read().splitlines()
    finally:
        session.close()
