"""Unit tests of ``graph/ranges.py``: worker threads paging several sources at once, pages handed
on in the sources' order (ordered) or as they come, bounded buffering, errors raised in the
caller's thread, and every worker stopped and joined when the caller closes the generator."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest

from o365sql.graph.ranges import Source, concurrent_pages


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("o365sql-pages")]


def _source(name: int, pages: int, delay: float, log: list[tuple[str, int, int]]) -> Source:
    def pages_of(stop: threading.Event) -> Iterator[list[dict[str, int]]]:
        for n in range(pages):
            time.sleep(delay)
            log.append(("fetched", name, n))
            yield [{"source": name, "page": n}]
    return pages_of


@pytest.mark.parametrize("seed", range(6))
def test_ordered_pages_keep_the_sources_order(seed: int) -> None:
    rng = random.Random(seed)
    log: list[tuple[str, int, int]] = []
    counts = [rng.randint(0, 6) for _ in range(rng.randint(1, 9))]
    sources = [_source(i, n, rng.choice([0, 0.001, 0.003]), log) for i, n in enumerate(counts)]
    got = [(p[0]["source"], p[0]["page"]) for p in concurrent_pages(
        sources, workers=rng.randint(1, 4), ordered=True, depth=rng.randint(1, 3))]
    assert got == [(i, n) for i, c in enumerate(counts) for n in range(c)]
    assert not _threads()


def test_unordered_pages_all_arrive_each_source_in_order() -> None:
    log: list[tuple[str, int, int]] = []
    sources = [_source(i, 5, 0.002 * (4 - i), log) for i in range(4)]
    got = [(p[0]["source"], p[0]["page"]) for p in concurrent_pages(
        sources, workers=4, ordered=False, depth=1)]
    assert sorted(got) == [(i, n) for i in range(4) for n in range(5)]
    for i in range(4):
        assert [n for s, n in got if s == i] == list(range(5))
    assert got != sorted(got)  # the fast sources came first: they did run at once


def test_ordered_buffering_is_bounded() -> None:
    """With window 2 and depth 1, a later source cannot run ahead of the caller: when the
    caller has taken k pages, at most (window * (depth + 1)) more have been fetched."""
    log: list[tuple[str, int, int]] = []
    sources = [_source(i, 4, 0.0, log) for i in range(6)]
    pages = concurrent_pages(sources, workers=2, ordered=True, depth=1)
    taken = 0
    for _ in pages:
        taken += 1
        time.sleep(0.01)  # let the workers run as far as they may
        assert len(log) <= taken + 2 * 2 + 2, (taken, len(log))
    assert taken == 24


def test_an_error_is_raised_in_the_caller_and_stops_the_rest() -> None:
    log: list[tuple[str, int, int]] = []

    def failing(stop: threading.Event) -> Iterator[list[dict[str, int]]]:
        yield [{"source": 1, "page": 0}]
        raise ValueError("range 1 failed")

    sources = [_source(0, 3, 0.001, log), failing, _source(2, 50, 0.001, log)]
    with pytest.raises(ValueError, match="range 1 failed"):
        list(concurrent_pages(sources, workers=3, ordered=True, depth=1))
    assert not _threads()
    assert len([e for e in log if e[1] == 2]) < 50  # the others stopped


def test_closing_early_joins_every_worker() -> None:
    log: list[tuple[str, int, int]] = []
    stop = threading.Event()
    sources = [_source(i, 1000, 0.001, log) for i in range(4)]
    pages = concurrent_pages(sources, workers=4, ordered=False, depth=1, cancel=stop)
    assert next(pages)
    assert _threads()
    pages.close()
    assert stop.is_set() and not _threads()
    fetched = len(log)
    time.sleep(0.05)
    assert len(log) == fetched < 100
