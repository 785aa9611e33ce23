"""Fixtures of the execution tests: one emulator per test module, sized by the module's
``TENANT`` options, and connections to it with pushdown on and off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from execution_support import connect, on_and_off

from o365sql.emulator import Emulator

DEFAULT_TENANT: dict[str, int] = {"seed": 5, "users": 2, "messages_per_user": 60,
                                  "events_per_user": 6}


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    with Emulator(**getattr(request.module, "TENANT", DEFAULT_TENANT)) as emu:
        yield emu


@pytest.fixture(scope="module")
def on(emulator: Emulator, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Pushdown on, with the module's ``CONNECT`` properties (e.g. ``Pagesize``), if any."""
    connection = connect(emulator, **getattr(request.module, "CONNECT", {}))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def off(emulator: Emulator, request: pytest.FixtureRequest) -> Iterator[Any]:
    connection = connect(emulator, Pushdown=False, **getattr(request.module, "CONNECT", {}))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def app_pair(emulator: Emulator) -> Iterator[tuple[Any, Any]]:
    """Pushdown on and off with an application's token (no /me): every mailbox is read
    through /users/{id}."""
    with on_and_off(emulator, emulator.mint_token()) as pair:
        yield pair
