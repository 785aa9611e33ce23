"""A process's first query loads only what it uses (issue 12 point 3): a connection given its
access token reads rows without loading sign-in (msal, the browser flow, the token store), the
replica, the write path, the local SQLite engine (a streamed query needs none), EXEC's and
REPLICATE's parsers, EXPLAIN, ``uuid`` (and the ``platform`` it loads), ``pickle`` (the compiled
catalog is plain ``marshal`` data) or the TOP-reading sqlglot dialect; a connection that signs
in, or a statement that uses one of them, still gets them."""

from __future__ import annotations

import os
import subprocess
import sys

from o365sql.emulator import Emulator

NOT_LOADED = ("msal", "o365sql.auth.providers", "o365sql.auth.interactive", "o365sql.auth.store",
              "o365sql.replica", "o365sql.execution.replica_scans", "o365sql.execution.writes",
              "o365sql.graph.writes", "webbrowser", "sqlite3", "o365sql.execution.residual",
              "o365sql.execution.explain", "o365sql.planning.exec_statement",
              "o365sql.planning.replicate_statement", "uuid", "platform", "pickle")

FIRST_QUERY = """
import sys
import o365sql
with o365sql.connect(GraphURL=sys.argv[1], OAuthAccessToken=sys.argv[2],
                     SSLServerCert=sys.argv[3]) as con:
    cur = con.cursor()
    cur.execute("SELECT Subject FROM Messages ORDER BY ReceivedDateTime DESC LIMIT 3")
    rows = cur.fetchall()
    print(len(rows))
    print(" ".join(m for m in sys.argv[4:] if m in sys.modules))
    from o365sql.planning import parse
    built = parse._read_dialect.cache_info().currsize
    cur.execute("SELECT TOP 2 Subject FROM Messages WHERE Subject <> 'x'")
    print(built, parse._read_dialect.cache_info().currsize, len(cur.fetchall()),
          "sqlite3" in sys.modules)
    cur.execute("UPDATE Messages SET IsRead = true WHERE Id = 'no-such-message-id'")
    print(" ".join(m for m in sys.argv[4:] if m in sys.modules))
"""


def test_a_first_query_with_a_given_token_loads_only_what_it_uses(emulator: Emulator) -> None:
    token = emulator.mint_token(user=emulator.users[0], scopes=["Mail.ReadWrite"])
    done = subprocess.run(
        [sys.executable, "-c", FIRST_QUERY, emulator.graph_url, token, emulator.ca_path,
         *NOT_LOADED], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONWARNINGS": "error"})
    assert done.returncode == 0, done.stderr[-2000:]
    count, loaded, dialect, after_write = done.stdout.splitlines()
    assert count == "3"
    assert loaded == ""
    # sqlglot's dialect with TOP is derived (~4 ms) for the first statement that has the word.
    # The local engine is loaded when a statement needs it (Subject <> 'x' is re-checked).
    assert dialect == "0 1 2 True"
    # The write path is loaded when a write comes (and the replica, to mark it stale).
    assert "o365sql.execution.writes" in after_write.split()
