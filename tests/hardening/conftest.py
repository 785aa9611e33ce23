"""Fixtures of the hardening tests: one small emulator per module and delegated connections."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from hardening_support import connect

from o365sql.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=10, users=2, messages_per_user=25, events_per_user=5) as emu:
        yield emu


@pytest.fixture(scope="module")
def on(emulator: Emulator) -> Iterator[Any]:
    with closing(connect(emulator)) as connection:
        yield connection
