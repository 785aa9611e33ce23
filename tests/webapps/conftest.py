"""Fixtures of the example web apps' end-to-end tests: an emulator, a headless chromium that
trusts only the emulator's certificates, a fresh browser tab per test, and each example app
running in its own process against the emulator.

Stage: test support. Chromium is Debian's (``tests/install_tools.sh`` installs it);
without it these tests fail with that instruction rather than pass silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from webapp_browser import Chromium, Page, find_chromium, spki_pins
from webapp_servers import AppServer, start_app

from o365sql.emulator import Emulator


@pytest.fixture(scope="module", params=["flask", "django"])
def app_kind(request: pytest.FixtureRequest) -> str:
    """Which example app the scenarios run against; pytest runs all of one app's first."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="module")
def emulator(app_kind: str) -> Iterator[Emulator]:
    # One per app: each scenario signs a different user in, so each sees the consent page.
    with Emulator(seed=1, users=7) as emu:  # users[6]: the app-feel scenario
        yield emu


@pytest.fixture(scope="module")
def browser(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    executable = find_chromium()
    if executable is None:
        pytest.fail(
            "chromium is not installed: run tests/install_tools.sh "
            "(or set O365SQL_CHROMIUM to a chromium binary)"
        )
    pins = spki_pins(emulator.ca_path, servers=(("127.0.0.1", emulator.port),))
    chromium = Chromium.launch(
        executable, spki=pins, log_dir=str(tmp_path_factory.mktemp("chromium"))
    )
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Chromium, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A tab in its own browser context (no cookies shared between tests). On failure, a
    screenshot of the tab is saved next to the test's temporary files."""
    tab = browser.new_page()
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        try:
            shot = tab.screenshot(str(tmp_path / "failure.png"))
            print(f"screenshot of the failing page: {shot} ({tab.url_or_unknown()})")
        except Exception as err:  # noqa: BLE001 - best effort, never hides the real failure
            print(f"no screenshot: {err}")
    tab.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


@pytest.fixture(scope="module")
def site(
    app_kind: str, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    """The example app under test, served on a free loopback port."""
    server = start_app(app_kind, emulator, tmp_path_factory.mktemp(app_kind))
    yield server
    server.stop()
