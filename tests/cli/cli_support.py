"""Helpers shared by the command-line tests: run ``o365sql.cli.main`` in this process or
``python -m o365sql`` in a new one, and a text stream that says it is a terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass
class Run:
    code: int
    out: str
    err: str


class TTYText(io.StringIO):
    """A text stream that says it is a terminal (for the progress line)."""

    def isatty(self) -> bool:
        return True


def run_cli(argv: Sequence[str], env: dict[str, str], stderr: io.StringIO | None = None) -> Run:
    from o365sql.cli import main

    out = io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ=env)
    return Run(code, out.getvalue(), err.getvalue())


def run_process(argv: Sequence[str], env_extra: dict[str, str] | None = None,
                stdin: str | None = None, timeout: float = 60) -> Run:
    env = dict(os.environ, REQUESTS_CA_BUNDLE=SYSTEM_BUNDLE, **(env_extra or {}))
    env.pop("O365SQL_CONNECT", None)
    done = subprocess.run([sys.executable, "-m", "o365sql", *argv], input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)
    return Run(done.returncode, done.stdout, done.stderr)
