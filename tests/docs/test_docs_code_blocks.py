"""Every code block of README.md and docs/guide.md runs against the emulator.

The convention (stated at the top of docs/guide.md):

* Blocks of one document run in order in one namespace, like a notebook, against one emulator
  whose demo tenant is anchored at now (as a user's demo is), so "the last 30 days" finds data.
* ``python`` blocks run as written. ``o365sql.connect`` and ``sqlalchemy.create_engine`` calls
  written for a real tenant (no ``GraphURL``) get the emulator's connection properties in place of
  the tenant's: its confidential app and first user's token for delegated sign-in, the app's
  client credentials for ``AuthScheme=AzureServicePrincipal``. Properties that are not about the
  tenant (``Timeout``, ``MaxConcurrency``, ...) are kept.
* Where a person acts in a browser (a block defining ``on_callback`` after computing ``url``),
  the emulator's scripted browser signs the first user in at ``url`` and the code it brings back
  goes to ``on_callback``, which must return an access token.
* ``sql`` blocks run through the cursor ``cur`` of the document's first Python block and must
  return rows: a recipe that finds nothing in the demo tenant teaches nothing.
* ``bash`` lines run their ``o365sql`` commands with the emulator's properties in
  ``$O365SQL_CONNECT``; ``python -m o365sql.emulator`` is started and stopped once it prints its
  JSON line. Set-up steps (``venv``, ``pip install``, ``install_tools.sh``) are run by ``.ci/run``
  on a fresh clone, the test command is checked to be the one ``.ci/run`` runs, and ``o365sql
  login``/``logout`` (a person at a browser) are covered by tests/cli/test_cli_signin.py. Any
  other line fails the test: the convention must cover every block.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

import o365sql
from o365sql.emulator import Emulator
from o365sql.emulator.identity.browser import SignInBrowser

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ["README.md", "docs/guide.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Properties that say which tenant, app or sign-in: replaced by the emulator's.
TENANT_PROPERTIES = {"authscheme", "azuretenant", "oauthclientid", "oauthclientsecret",
                     "callbackurl", "initiateoauth", "oauthsettingslocation", "oauthaccesstoken",
                     "oauthrefreshtoken", "oauthjwtcert", "oauthjwtcerttype", "graphurl",
                     "authorityurl", "sslservercert", "oauthgranttype", "scope"}
SET_UP = re.compile(r"^(python3(\.\d+)? -m venv |(\.venv/bin/)?pip install |bash tests/install_tools\.sh$)")


def code_blocks(document: str) -> list[tuple[str, str, int]]:
    """``(language, text, line number)`` of each fenced block."""
    text = (ROOT / document).read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


def _split_properties(dsn: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (dsn or "").split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


class Substitution:
    """The emulator's connection properties in place of a real tenant's."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.token = emu.mint_token(user=emu.users[0], scopes=[
            "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read",
            "User.Read.All", "Group.Read.All", "Mail.Read.Shared", "Calendars.Read.Shared"],
            lifetime=3600)
        self.substituted = 0

    def server(self) -> dict[str, str]:
        emu = self.emu
        return {"GraphURL": emu.graph_url, "AuthorityURL": emu.base_url, "AzureTenant": emu.tenant_id,
                "SSLServerCert": emu.ca_path}

    def delegated(self) -> dict[str, str]:
        return {**self.server(), "OAuthClientId": self.emu.app.client_id,
                "OAuthClientSecret": self.emu.app.client_secret, "OAuthAccessToken": self.token,
                "InitiateOAuth": "OFF"}

    def properties(self, given: dict[str, Any]) -> dict[str, Any]:
        if any(_norm(k) == "graphurl" for k in given):
            return given  # written for the emulator already
        self.substituted += 1
        kept = {k: v for k, v in given.items() if _norm(k) not in TENANT_PROPERTIES}
        scheme = next((str(v) for k, v in given.items() if _norm(k) == "authscheme"), "AzureAD")
        if scheme.lower().startswith("azureserviceprincipal"):
            return {**kept, **self.server(), "AuthScheme": "AzureServicePrincipal",
                    "OAuthClientId": self.emu.app.client_id,
                    "OAuthClientSecret": self.emu.app.client_secret}
        return {**kept, **self.delegated()}

    def connection_string(self) -> str:
        return ";".join(f"{k}={v}" for k, v in self.delegated().items())


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    # The demo's own default: the tenant's data ends now (the suite pins its anchor otherwise).
    with Emulator(anchor=datetime.now(UTC)) as emulator:
        yield emulator


@pytest.fixture
def substitution(emu: Any, monkeypatch: pytest.MonkeyPatch) -> Substitution:
    sub = Substitution(emu)
    real_connect, real_engine = o365sql.connect, sqlalchemy.create_engine

    def connect(dsn: str | None = None, **props: Any) -> o365sql.Connection:
        given = {**_split_properties(dsn), **props}
        return real_connect(**sub.properties(given))

    def create_engine(url: Any, *args: Any, **kw: Any) -> Any:
        text = str(url)
        if not text.startswith("o365sql://") or "127.0.0.1" in text:
            return real_engine(url, *args, **kw)
        query = dict(sqlalchemy.engine.make_url(text).query)
        props = sub.properties({**query, **kw.pop("connect_args", {}), "OAuthClientId": "x"})
        return real_engine("o365sql://", *args, connect_args=props, **kw)

    monkeypatch.setattr(o365sql, "connect", connect)
    monkeypatch.setattr(sqlalchemy, "create_engine", create_engine)
    return sub


def _run_python(block: str, line: int, namespace: dict[str, Any], emu: Any, document: str) -> None:
    had_callback = "on_callback" in namespace
    code = compile("\n" * (line) + block, f"{document} block at line {line}", "exec")
    exec(code, namespace)  # noqa: S102 - the documents' own examples, run on purpose
    if "on_callback" in namespace and not had_callback:
        # The person at the browser: sign the first user in at url, bring the code back.
        browser = SignInBrowser(emu.ca_path)
        try:
            landing = browser.sign_in(namespace["url"], emu.users[0])
        finally:
            browser.session.close()
        assert landing.params.get("state") == namespace["state"], landing.params
        token = namespace["on_callback"](landing.params["code"], landing.params["state"])
        assert isinstance(token, str) and token.count(".") == 2  # a signed JWT


def _run_sql(block: str, line: int, namespace: dict[str, Any], document: str) -> int:
    cur = namespace.get("cur")
    assert cur is not None, f"{document}:{line}: a sql block before any Python block made 'cur'"
    cur.execute(block.strip().rstrip(";"))
    rows = cur.fetchall()
    assert rows, f"{document}:{line}: the recipe returns no rows in the demo tenant"
    return len(rows)


def _commands(block: str) -> Iterator[str]:
    for raw in block.splitlines():
        words = shlex.split(raw, comments=True)
        if not words:
            continue
        command: list[str] = []
        for word in words + [";"]:
            if word in ("&&", ";") or word.endswith(";") and word != ";":
                if word.endswith(";") and word != ";":
                    command.append(word[:-1])
                if command:
                    yield shlex.join(command)
                command = []
            else:
                command.append(word)


def _run_bash(block: str, document: str, tmp_path: Path, sub: Substitution,
              monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from o365sql.cli import main

    done: list[str] = []
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in _commands(block):
        argv = shlex.split(command)
        if argv[0] == "export":
            assert argv[1].startswith("O365SQL_CONNECT="), command  # replaced by the emulator's
            continue
        if SET_UP.match(command):
            continue  # .ci/run does these on a fresh clone
        if argv[0].endswith("python") and argv[1:3] == ["-m", "pytest"]:
            assert command in ci, f"{document}: the test command differs from .ci/run's"
            continue
        if argv[:3] == ["python", "-m", "o365sql.emulator"]:
            _start_emulator_process(argv[3:])
            done.append(command)
            continue
        assert argv[0] in ("o365sql", ".venv/bin/o365sql"), f"{document}: no convention runs {command!r}"
        if argv[1] in ("login", "logout"):
            continue  # a person at a browser: tests/cli/test_cli_signin.py
        env = {"O365SQL_CONNECT": sub.connection_string(), "XDG_CONFIG_HOME": str(tmp_path),
               "O365SQL_HISTORY": str(tmp_path / "history")}
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        out, err = io.StringIO(), io.StringIO()
        code = main(argv[1:], stdout=out, stderr=err, environ=env)
        assert code == 0, f"{document}: {command!r} failed: {err.getvalue()}"
        assert "error" not in err.getvalue(), err.getvalue()
        done.append(command)
    return done


def _start_emulator_process(args: list[str]) -> None:
    # A fixed port may be taken on this machine: the same command on a free one.
    if "--port" in args:
        args[args.index("--port") + 1] = "0"
    proc = subprocess.Popen([sys.executable, "-m", "o365sql.emulator", *args],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["graph_url"].startswith("https://127.0.0.1:") and info["client_secret"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_code_block_runs_against_the_emulator(document, emu, substitution, tmp_path,
                                                    monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    # A connection without CacheLocation keeps its replica in ~/.o365sql/replica.db: give each
    # run its own home, or a REPLICATE block meets delta links of another run's emulator.
    monkeypatch.setenv("HOME", str(tmp_path))
    blocks = code_blocks(document)
    assert len(blocks) >= 8
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    ran = {"python": 0, "sql": 0, "bash": 0}
    for language, text, line in blocks:
        assert language in ran, f"{document}:{line}: a block needs a language (python, sql, bash)"
        if language == "python":
            _run_python(text, line, namespace, emu, document)
        elif language == "sql":
            _run_sql(text, line, namespace, document)
        else:
            _run_bash(text, document, tmp_path, substitution, monkeypatch)
        ran[language] += 1
    assert ran["python"] >= 4 and ran["bash"] >= 1
    assert substitution.substituted >= 1
    if document == "docs/guide.md":
        assert ran["sql"] >= 8
        assert "answered after" in capsys.readouterr().out  # the response-time recipe printed
