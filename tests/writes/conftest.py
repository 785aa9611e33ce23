"""Fixtures of the write tests: one emulator per module and connections of its demo users with
the write permissions (delegated), plus an app-only one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from writes_support import WRITE_SCOPES, connect

from o365sql.emulator import Emulator

DEFAULT_TENANT = {"seed": 11, "users": 3, "messages_per_user": 8, "events_per_user": 3}


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """One emulator per module, sized by the module's ``TENANT`` options if it has them."""
    with Emulator(**getattr(request.module, "TENANT", DEFAULT_TENANT)) as emu:
        yield emu


@pytest.fixture(scope="module")
def me(emulator: Emulator) -> Iterator[Any]:
    """The first demo user, with the write scopes."""
    connection = connect(emulator, emulator.users[0], WRITE_SCOPES)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def other(emulator: Emulator) -> Iterator[Any]:
    """The second demo user, with the write scopes."""
    connection = connect(emulator, emulator.users[1], WRITE_SCOPES)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def app(emulator: Emulator) -> Iterator[Any]:
    """An application (client credentials): every mailbox, only by UserId."""
    connection = connect(emulator, None, None)
    yield connection
    connection.close()
