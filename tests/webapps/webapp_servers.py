"""Start the example web apps as their users would, each in its own process on a free loopback
port, configured for a running emulator.

Stage: test support. The Flask app runs under ``python -m flask --app .../app.py run`` (its
``create_app`` factory), the Django site under ``manage.py runserver --noreload``. Both get the
emulator's connection string in ``O365SQL_CONNECTION``; their output goes to a log file the
tests read (to check that no authorization code is logged).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

__all__ = ["EXAMPLES", "AppServer", "connection_string", "start_app"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def connection_string(emulator: Any) -> str:
    """The apps' o365sql connection string for the emulator's demo app (no user's token)."""
    return (
        f"GraphURL={emulator.graph_url};AuthorityURL={emulator.base_url};"
        f"AzureTenant={emulator.tenant_id};SSLServerCert={emulator.ca_path};"
        f"OAuthClientId={emulator.app.client_id};"
        f"OAuthClientSecret={emulator.app.client_secret}"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AppServer:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_app(kind: str, emulator: Any, log_dir: Path) -> AppServer:
    """Start ``kind`` ("flask" or "django") and wait until it answers."""
    port = _free_port()
    env = dict(os.environ)
    env["O365SQL_CONNECTION"] = connection_string(emulator)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("O365SQL_CALLBACK_URL", None)
    if kind == "flask":
        app_dir = EXAMPLES / "flask_app"
        cmd = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            str(app_dir / "app.py"),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-reload",
            "--no-debugger",
        ]
    elif kind == "django":
        app_dir = EXAMPLES / "django_app"
        cmd = [
            sys.executable,
            str(app_dir / "manage.py"),
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
        ]
    else:
        raise ValueError(f"unknown example app {kind!r}")
    log_path = log_dir / f"{kind}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=app_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = AppServer(kind, f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"the {kind} example exited with {process.returncode}:\n{server.log_text()}"
            )
        try:
            if requests.get(server.url + "/", timeout=2, allow_redirects=False).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"the {kind} example did not answer within 30 s:\n{server.log_text()}"
            )
        time.sleep(0.1)
