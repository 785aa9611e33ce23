"""The deadline watchdog stays cheap per call (issue 12 point 3) and still cuts what it must:
finished deadlines are dropped lazily (the heap stays bounded), the thread is not woken for a
deadline later than one it already waits for, and a deadline that passes behind thousands of
finished ones is still expired on time."""

from __future__ import annotations

import time

from o365sql.graph import deadline as deadlines


def test_finished_deadlines_do_not_wake_the_watchdog_and_stay_bounded() -> None:
    watchdog = deadlines._WATCHDOG
    wakes = 0
    notify = watchdog._wake.notify

    def counting(n: int = 1) -> None:
        nonlocal wakes
        wakes += 1
        notify(n)

    watchdog._wake.notify = counting  # type: ignore[method-assign]
    try:
        for _ in range(5000):
            with deadlines.deadline(60) as item:
                assert item is not None and not item.passed
    finally:
        del watchdog._wake.notify
    assert wakes <= 10  # not once per call (it was ~1 in 2: the thread woke to drop each)
    assert len(watchdog._heap) <= 2100


def test_a_deadline_behind_many_finished_ones_still_passes() -> None:
    for _ in range(3000):
        with deadlines.deadline(30):
            pass
    started = time.monotonic()
    with deadlines.deadline(0.05) as item:
        assert item is not None
        while not item.passed and time.monotonic() - started < 5:
            time.sleep(0.01)
    assert item.passed and time.monotonic() - started < 5
