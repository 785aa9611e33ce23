"""Concurrent paging of one scan's disjoint parts: pages of several sources (the ranges of a
long scan, ``execution/parallel_scan.py``; or one scan's remaining pages) fetched by worker
threads while the caller converts the pages it already has.

SQL-free. Each source is a callable that, given the cancel event, yields pages (normally
``GraphClient.pending_pages(request, cancel)``); each runs in one worker thread from start to
end, so its pages stay in order. A ``PendingPage`` is parsed in the caller's thread when it is
handed on, so a worker asks for its next page as soon as it has the link (``pending.py``). Outlook serves at most 4 concurrent requests per mailbox
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits); the caller chooses
``workers`` within that and within ``MaxConcurrency``.

Memory is bounded: each source hands its pages through a queue of ``depth`` pages, and a
worker starts a source only while fewer than ``window`` sources are started and not yet fully
consumed. ``ordered`` hands the sources' pages on source after source (each source a range of
an ordered scan, the ranges in order); otherwise pages go on as they arrive. Closing the
generator (or an error) sets the cancel event: workers stop at their next page or retry wait,
and the generator joins them before it returns, so no thread outlives the scan.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from o365sql.exceptions import InternalError
from o365sql.graph.pending import PendingPage

__all__ = ["Source", "concurrent_pages"]

Page = list[dict[str, Any]]
#: A source of pages: called in its worker thread with the cancel event.
Source = Callable[[threading.Event], Iterator[Page | PendingPage]]

_POLL = 0.05  # seconds between checks of the cancel event while a worker or reader waits


class _Done:
    """The end of one source's pages."""


class _Failed:
    """One source's error, raised in the consumer's thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = _Done()


def concurrent_pages(sources: Sequence[Source], *, workers: int, ordered: bool,
                     depth: int = 4, window: int | None = None,
                     cancel: threading.Event | None = None) -> Generator[Page, None, None]:
    """The pages of every source, fetched by ``workers`` threads (see the module docstring).

    Args:
        sources: page sources; with ``ordered``, their pages come out source after source.
        workers: threads (requests in flight at once); at least 1.
        ordered: keep the sources' order; otherwise pages come out as they arrive.
        depth: pages each source (unordered: all sources together) may hold before its
            worker waits for the consumer; each worker holds one more while it waits.
        window: sources started and not yet consumed, at most (default ``workers``).
        cancel: the event that stops the workers (one is made when None); set on close.
    """
    count = len(sources)
    stop = cancel if cancel is not None else threading.Event()
    if count == 0:
        return
    workers = max(1, min(workers, count))
    window = max(workers, window or workers)
    shared: queue.Queue[object] = queue.Queue(maxsize=depth)
    queues: list[queue.Queue[object]] = [
        queue.Queue(maxsize=depth) for _ in range(count)] if ordered else [shared] * count
    slots = threading.Semaphore(window)
    lock = threading.Lock()
    taken = [0]
    errors: list[BaseException] = []

    def put(target: queue.Queue[object], item: object) -> bool:
        while not stop.is_set():
            try:
                target.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        while not stop.is_set():
            if not slots.acquire(timeout=_POLL):
                continue
            with lock:
                index = taken[0]
                taken[0] += 1
            if index >= count:
                slots.release()
                return
            pages: Iterator[Page | PendingPage] | None = None
            try:
                pages = sources[index](stop)
                for page in pages:
                    if not put(queues[index], page):
                        return
                put(queues[index], _DONE)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer's thread
                if not stop.is_set():
                    errors.append(exc)
                    put(queues[index], _Failed(exc))
                return
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()

    threads = [threading.Thread(target=work, name=f"o365sql-pages-{n}", daemon=True)
               for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        finished = 0
        current = 0
        while finished < count:
            source_queue = queues[current if ordered else 0]
            try:
                item = source_queue.get(timeout=_POLL)
            except queue.Empty:
                if errors:
                    raise errors[0]
                if not any(t.is_alive() for t in threads):  # pragma: no cover - a bug guard
                    raise InternalError("the page workers stopped before their pages were "
                                        "all handed on")
                continue
            if isinstance(item, _Failed):
                raise item.error
            if item is _DONE:
                finished += 1
                current += 1
                slots.release()
                continue
            if isinstance(item, PendingPage):
                yield item.rows()
                continue
            assert isinstance(item, list)
            yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()
