"""``o365sql demo``: a fresh emulator, a real desktop sign-in, real queries, exit 0."""

from __future__ import annotations

import io
import re
import sys

from cli_support import run_cli, run_process

from o365sql.cli.demo import DEMO_QUERIES


def test_demo_prints_every_query_with_rows(cli_env):
    run = run_process(["demo"], {"XDG_CONFIG_HOME": cli_env["XDG_CONFIG_HOME"]})
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    for title, sql in DEMO_QUERIES:
        assert f"-- {title}\n{sql};" in run.out
    counts = [int(n) for n in re.findall(r"^\((\d+) rows?\)$", run.out, re.MULTILINE)]
    assert len(counts) == len(DEMO_QUERIES)
    assert all(n > 0 for n in counts), run.out
    assert "signed in as" in run.err and "desktop sign-in" in run.err


def test_demo_shell_reads_statements(cli_env, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(
        "SELECT COUNT(*) AS N\nFROM Users;\n.format csv\nSELECT UserPrincipalName FROM Users "
        "ORDER BY UserPrincipalName LIMIT 1;\n"))
    run = run_cli(["demo", "--shell"], cli_env)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].strip() == "N" and int(lines[2]) > 0 and lines[3] == "(1 row)"
    assert lines[4] == "UserPrincipalName" and "@" in lines[5]
