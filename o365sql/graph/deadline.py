"""HTTP transport, deadlines: a call that passes its deadline is cut off, however slow the server.

requests' ``timeout`` bounds each socket operation, not the call: a server that sends its
status line, headers or body one byte at a time within the read timeout holds a call for as
long as it likes (https://requests.readthedocs.io/en/latest/user/advanced/#timeouts: "timeout
is not a time limit on the entire response download"). So every call runs under a
``deadline``: the sessions' connections (``DeadlineAdapter``) register the socket they use
with the calling thread's deadline, and one watchdog thread shuts those sockets down when it
passes. The blocked read then fails at once, and the caller, seeing ``Deadline.passed``,
reports a timeout instead of a network error.

Used by the Graph client (``client.py``) and by the sign-in session msal talks through
(``auth/tls_session.py``), so ``Timeout`` means the same for both.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Deadline", "DeadlineAdapter", "deadline"]


class Deadline:
    """One call's deadline: the connections it uses, and whether it passed while in use."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.passed = False
        self._done = False
        self._connections: set[HTTPConnection] = set()
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def use(self, connection: HTTPConnection) -> None:
        with self._lock:
            if self._done:
                return
            if self.passed:
                _cut(connection)
            else:
                self._connections.add(connection)

    @property
    def done(self) -> bool:
        """The call is over (``finish``): nothing of it is watched any more."""
        return self._done

    def finish(self) -> None:
        """The call is over: its connections (back in the pool) are no longer watched."""
        with self._lock:
            self._done = True
            self._connections = set()

    def expire(self) -> None:
        """Called by the watchdog: cut every connection the call is using."""
        with self._lock:
            if self._done:
                return
            self.passed = True
            connections, self._connections = self._connections, set()
        for connection in connections:
            _cut(connection)


def _cut(connection: HTTPConnection) -> None:
    """Shut the socket down under the reader's feet (its recv returns at once). The plain
    socket's shutdown, not ``SSLSocket.shutdown``, which would unwrap TLS under the reader."""
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _Watchdog:
    """One daemon thread expiring deadlines in time order.

    Cheap per call, since every Graph request starts and ends one deadline: the thread is
    woken only when a new deadline comes before every one in the heap (or the heap is empty),
    and a finished deadline stays in the heap (``Deadline.expire`` ignores it) until its time
    comes, when every finished one at the top goes with it, or until finished ones are most
    of a large heap. Dropping finished ones sooner would empty the heap after each call and
    wake the thread for the next."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._finished = 0

    def watch(self, item: Deadline) -> None:
        with self._wake:
            first = not self._heap or item.at < self._heap[0][0]
            heapq.heappush(self._heap, (item.at, next(self._order), item))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="o365sql-deadlines",
                                                daemon=True)
                self._thread.start()
            elif first:
                self._wake.notify()

    def unwatch(self, item: Deadline) -> None:
        """``item`` is finished (its ``finish`` was called): dropped later (see above)."""
        with self._wake:
            self._finished += 1
            if len(self._heap) > 1024 and 2 * self._finished > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._finished = 0

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._heap:
                    self._wake.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                _, _, item = heapq.heappop(self._heap)
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                self._finished = 0 if not self._heap else self._finished
            item.expire()


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextmanager
def deadline(seconds: float | None) -> Iterator[Deadline | None]:
    """Run the body (HTTP calls through a ``DeadlineAdapter`` in this thread) under a
    deadline ``seconds`` from now; None: no deadline. Nested deadlines: the inner one rules
    while it runs."""
    if seconds is None:
        yield None
        return
    item = Deadline(time.monotonic() + max(0.0, seconds))
    outer = getattr(_current, "deadline", None)
    _current.deadline = item
    _WATCHDOG.watch(item)
    try:
        yield item
    finally:
        item.finish()
        _current.deadline = outer
        _WATCHDOG.unwatch(item)


def _register(connection: HTTPConnection) -> None:
    item: Deadline | None = getattr(_current, "deadline", None)
    if item is not None:
        item.use(connection)


class _WatchedHTTPConnection(HTTPConnection):
    """A connection that registers with the calling thread's deadline before each send and
    each wait for an answer; the HTTPS one reuses it by sitting before HTTPSConnection."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)

    def getresponse(self) -> Any:
        _register(self)
        return super().getresponse()


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections obey the calling thread's ``deadline``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
