"""``o365sql replicate`` and ``o365sql query --offline``: the replica from the command line
(issue 13 point 8), against the emulator."""

from __future__ import annotations

import json
from typing import Any

from cli_support import run_cli

import o365sql


def test_replicate_then_query_offline(p_args: list[str], cli_env: dict[str, str],
                                      conn_props: dict[str, str], tmp_path: Any) -> None:
    cache = str(tmp_path / "replica.db")
    run = run_cli([*p_args, "--cache", cache, "replicate", "Messages", "MailFolders", "-f", "json"],
                  cli_env)
    assert run.code == 0, run.err
    outcome = json.loads(run.out)
    assert [(r["TableName"], r["UserId"], r["Error"]) for r in outcome] == [
        ("Messages", "me", None), ("MailFolders", "me", None)]
    sql = "SELECT ParentFolderId, COUNT(*) AS n FROM Messages GROUP BY ParentFolderId"
    # Offline needs no token and no reachable Graph: only the replica.
    offline = run_cli(["-p", f"CacheLocation={cache}", "--offline", "query", sql, "-f", "json"],
                      cli_env)
    assert offline.code == 0, offline.err
    with o365sql.connect(**conn_props) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        live = sorted((r[0], r[1]) for r in cur.fetchall())
    assert sorted((r["ParentFolderId"], r["n"]) for r in json.loads(offline.out)) == live
    missing = run_cli(["--cache", cache, "--offline", "query", "SELECT * FROM Contacts"], cli_env)
    assert missing.code == 1 and "Contacts was never replicated" in missing.err
    bad = run_cli([*p_args, "--cache", cache, "replicate", "Messages", "Contacts",
                   "--where", "UserId = 'x'"], cli_env)
    assert bad.code != 0 and "--where applies to one table" in bad.err


def test_replicate_keeps_heavy_columns_asked_for(p_args: list[str], cli_env: dict[str, str],
                                                 tmp_path: Any) -> None:
    cache = str(tmp_path / "replica.db")
    sql = "SELECT COUNT(*) AS n FROM Messages WHERE Body_Content IS NOT NULL"
    run = run_cli([*p_args, "--cache", cache, "replicate", "Messages"], cli_env)
    assert run.code == 0, run.err
    refused = run_cli(["--cache", cache, "--offline", "query", sql], cli_env)
    assert refused.code == 1 and "Body_Content" in refused.err
    run = run_cli([*p_args, "--cache", cache, "replicate", "Messages", "--include",
                   "Body_Content", "-f", "json"], cli_env)
    assert run.code == 0, run.err
    copied = json.loads(run.out)[0]
    offline = run_cli(["--cache", cache, "--offline", "query", sql, "-f", "json"], cli_env)
    assert offline.code == 0, offline.err
    assert json.loads(offline.out) == [{"n": copied["Rows"]}] and copied["Rows"] > 0
    bad = run_cli([*p_args, "--cache", cache, "replicate", "Messages", "Contacts",
                   "--include", "Body_Content"], cli_env)
    assert bad.code != 0 and "--include applies to one table" in bad.err
