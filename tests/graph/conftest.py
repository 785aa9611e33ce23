"""Fixtures for the Graph client's behaviour tests: one emulator per module, and a clean log,
fault list and limits per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from o365sql.emulator import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=1) as emulator:
        yield emulator


@pytest.fixture
def clean(emu: Emulator) -> Iterator[Emulator]:
    emu.faults.clear()
    emu.limits.reset()
    emu.clear_log()
    yield emu
    emu.faults.clear()
    emu.limits.reset()
