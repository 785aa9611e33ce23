"""The emulator process's allocator settings (``emulator/server/allocator.py``): on glibc both
thresholds are accepted (mallopt refuses a value above its maximum, which would silently leave
every large response faulting its pages in afresh)."""

from __future__ import annotations

import platform
import sys

import pytest

from o365sql.emulator.server import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_thresholds_are_accepted_by_glibc() -> None:
    assert allocator.keep_freed_memory() is True


def test_a_page_of_whole_messages_stays_below_the_mmap_threshold() -> None:
    # ~2,600 characters per whole message (select.py's ENCODED_BUDGET note), 1,000 per page,
    # as text and as bytes.
    assert 2 * 1000 * 2600 * 2 < allocator.MMAP_THRESHOLD <= allocator.TRIM_THRESHOLD
