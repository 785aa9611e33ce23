"""``o365sql login`` / ``logout`` against the emulator's identity platform, through msal:
the tokens land in the CLI's token file (0600) and the next command uses them."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_support import run_cli

from o365sql import auth
from o365sql.auth import apps as auth_apps
from o365sql.emulator.identity.browser import SignInBrowser


@pytest.fixture(autouse=True)
def _fresh_msal_apps():
    yield
    auth_apps.clear_registry()


def _base(emu: Any, client_id: str) -> list[str]:
    props = {"OAuthClientId": client_id, "AzureTenant": emu.tenant_id,
             "AuthorityURL": emu.base_url, "GraphURL": emu.graph_url,
             "SSLServerCert": emu.ca_path}
    return [arg for k, v in props.items() for arg in ("-p", f"{k}={v}")]


def _store(cli_env: dict[str, str]) -> Path:
    return Path(cli_env["XDG_CONFIG_HOME"]) / "o365sql" / "oauth-settings.json"


def _count(args: list[str], env: dict[str, str]) -> Any:
    return run_cli([*args, "query", "SELECT COUNT(*) AS N FROM Messages", "-f", "csv"], env)


@pytest.fixture
def browser_person(emu):
    """A person who signs in as the second demo user in whatever browser the driver opens."""
    def person(url: str) -> bool:
        browser = SignInBrowser(emu.ca_path)
        try:
            browser.deliver(browser.sign_in(url, emu.users[1]))
        finally:
            browser.session.close()
        return True

    previous = auth.set_browser(person)
    yield person
    auth.set_browser(previous)


def test_browser_login_then_query_then_logout(emu, cli_env, browser_person):
    args = _base(emu, emu.public_app.client_id)
    login = run_cli([*args, "login", "--browser"], cli_env)
    assert login.code == 0, login.err
    assert f"signed in as {emu.users[1]}" in login.err
    store = _store(cli_env)
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    kept = json.loads(store.read_text())["last_tokens"]
    assert kept["access_token"] not in login.err + login.out

    # The next command signs nobody in: InitiateOAuth=REFRESH is the CLI's default.
    counted = _count(args, cli_env)
    assert counted.code == 0, counted.err
    assert int(counted.out.splitlines()[1]) > 0

    logout = run_cli([*args, "logout"], cli_env)
    assert logout.code == 0 and emu.users[1] in logout.err
    assert "access_token" not in json.loads(store.read_text())["last_tokens"]
    after = _count(args, cli_env)
    assert after.code == 1 and len(after.err.splitlines()) == 1
    assert after.err.startswith("o365sql: error: ")


class PersonAtTerminal(io.StringIO):
    """Reads the device-code message on stderr and types the code on the /devicelogin page."""

    def __init__(self, emu: Any, user: str) -> None:
        super().__init__()
        self.emu, self.user = emu, user
        self.threads: list[threading.Thread] = []

    def write(self, text: str) -> int:
        found = re.search(r"enter the code (\S+)", text)
        if found:
            browser = SignInBrowser(self.emu.ca_path)
            url = re.search(r"https://\S+", text).group(0)
            thread = threading.Thread(
                target=lambda: browser.device_login(url, found.group(1), self.user))
            thread.start()
            self.threads.append(thread)
        return super().write(text)


def test_device_code_login(emu, cli_env):
    args = _base(emu, emu.public_app.client_id)
    person = PersonAtTerminal(emu, emu.users[2])
    login = run_cli([*args, "login", "--device-code"], cli_env, stderr=person)
    for thread in person.threads:
        thread.join(30)
    assert login.code == 0, login.err
    assert "enter the code" in login.err and f"signed in as {emu.users[2]}" in login.err
    assert _count(args, cli_env).code == 0


def test_client_secret_login_hides_the_secret(emu, cli_env):
    args = _base(emu, emu.app.client_id) + ["-p", f"OAuthClientSecret={emu.app.client_secret}"]
    login = run_cli([*args, "login", "--client-secret"], cli_env)
    assert login.code == 0, login.err
    assert emu.app.client_secret not in login.err + login.out
    assert f"application {emu.app.client_id}" in login.err
    assert stat.S_IMODE(os.stat(_store(cli_env)).st_mode) == 0o600
    wrong = _base(emu, emu.app.client_id) + ["-p", "OAuthClientSecret=wrong-secret-value"]
    failed = run_cli([*wrong, "login", "--client-secret"], cli_env)
    assert failed.code == 1 and len(failed.err.splitlines()) == 1
    assert "wrong-secret-value" not in failed.err


def test_certificate_login(emu, cli_env, tmp_path):
    pem = tmp_path / "app.pem"
    pem.write_bytes(Path(emu.app.key_path).read_bytes() + Path(emu.app.cert_path).read_bytes())
    args = _base(emu, emu.app.client_id)
    login = run_cli([*args, "login", "--certificate", str(pem)], cli_env)
    assert login.code == 0, login.err
    assert f"application {emu.app.client_id}" in login.err


def test_logout_forgets_app_tokens_too(emu, cli_env):
    args = _base(emu, emu.app.client_id) + ["-p", f"OAuthClientSecret={emu.app.client_secret}"]
    assert run_cli([*args, "login", "--client-secret"], cli_env).code == 0
    before = json.loads(Path(_store(cli_env)).read_text())
    assert any(part.get("AccessToken") for part in before["app_tokens"].values())
    assert emu.app.client_secret not in json.dumps(before)
    logout = run_cli([*args, "logout"], cli_env)
    assert logout.code == 0 and "signed out" in logout.err
    after = json.loads(Path(_store(cli_env)).read_text())
    assert not after.get("app_tokens") and not after.get("msal_cache") and not after.get("last_tokens")
