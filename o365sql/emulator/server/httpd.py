"""The emulator's HTTPS server: TLS, HTTP/1.1 keep-alive, one send per response.

Stage: the wire. Accepts connections on 127.0.0.1, runs the TLS handshake and the HTTP parsing
in a thread per connection, reads each request into a ``transport.HttpRequest`` and hands it to
``router.Router``; writes the answer back as one buffer (status line, headers and body in a
single ``sendall``) with TCP_NODELAY. DESIGN.md §3.8: with small writes the stdlib server
stalled ~40 ms per request on delayed ACKs.

Malformed input (bad request lines, bad headers, bad percent-encoding, oversize or truncated
bodies) is answered with a Graph-shaped JSON error and, where the stream can no longer be
trusted, the connection is closed; it never produces a traceback or a hung connection.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .faults import TRICKLE_CAP
from .transport import HttpRequest, Outcome

log = logging.getLogger("o365sql.emulator")


class Router(Protocol):
    """What the server hands each request to (the assembly's ``router.Router``). The server
    knows this shape only, never a route."""

    base_url: str
    max_body: int

    def serve(self, req: HttpRequest, raw_path: str, started: float) -> Outcome: ...

    def bad_url(self, method: str, raw_path: str, query: str, started: float) -> Outcome: ...

    def protocol_error(self, status: int, message: str, method: str, target: str,
                       started: float) -> Outcome: ...

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_OK = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")
MAX_BODY = 32 * 1024 * 1024


class _DateCache:
    """The ``Date`` header, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._value = formatdate(second, usegmt=True)
            self._second = second
        return self._value


_dates = _DateCache()


def encode_response(status: int, headers: dict[str, str], body: bytes, content_type: str,
                    keep_alive: bool) -> bytes:
    """Status line, headers and body as one buffer."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", f"Date: {_dates.now()}"]
    if status != 204 and status != 304 and not (100 <= status < 200):
        lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
    else:
        body = b""
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            continue  # never let a header value split the response
        lines.append(f"{name}: {value}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1", errors="replace") + body


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Thread per connection; TLS handshake in that thread, so a stray plain-HTTP or idle client
    cannot block the accept loop."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True
    # Set by the owner after binding, before serving: the router needs the base URL, and with
    # port 0 that is known only once the socket is bound.
    router: Router

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        self.ssl_context = context
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._conn_lock:
            self._connections.add(tls)
        return tls, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Close every open connection (keep-alive threads then end at once)."""
        with self._conn_lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "o365sql-emulator"
    timeout = 120  # idle keep-alive connections are closed after two minutes
    server: EmulatorHTTPServer

    def setup(self) -> None:
        self.request.settimeout(10)
        try:
            self.request.do_handshake()
            self._tls_ok = True
        except (ssl.SSLError, OSError):
            self._tls_ok = False
        super().setup()

    def handle(self) -> None:
        if not self._tls_ok:
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, TimeoutError, OSError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- parsing ---------------------------------------------------------------------------

    def handle_one_request(self) -> None:
        self._started = time.perf_counter()
        self.command = self.path = ""
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = "HTTP/1.1"
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        try:
            self._serve()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, bad headers, bad body framing): Graph-shaped
        JSON through the router (so the request log and counters see them), then close."""
        status = int(code)
        text = message or HTTPStatus(status).phrase
        method = getattr(self, "command", "") or ""
        target = getattr(self, "path", "") or ""
        if not method and not target:  # parse_request failed before splitting the line
            line = (getattr(self, "raw_requestline", b"") or b"")[:4096]
            words = line.decode("latin-1", errors="replace").split()
            method = words[0][:32] if words else ""
            target = words[1] if len(words) > 1 else ""
        started = getattr(self, "_started", None) or time.perf_counter()
        outcome = self.server.router.protocol_error(status, text, method, target, started)
        self.close_connection = True
        try:
            self.wfile.write(encode_response(outcome.status, outcome.headers, outcome.body,
                                             outcome.content_type, False))
        except OSError:
            pass

    def _serve(self) -> None:
        started = time.perf_counter()
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        if body is None:
            return
        target = self.path
        if target.startswith(("http://", "https://")):
            split = urlsplit(target)
            target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        raw_path, _, query = target.partition("?")
        query = query.partition("#")[0]
        router = self.server.router
        host = headers.get("host", "")
        base_url = f"https://{host}" if host and _HOST_OK.match(host) else router.base_url
        if _BAD_PERCENT.search(raw_path) or not raw_path.startswith("/"):
            outcome = router.bad_url(self.command, raw_path, query, started)
        else:
            try:
                path = unquote(raw_path, errors="strict")
            except UnicodeDecodeError:
                outcome = router.bad_url(self.command, raw_path, query, started)
            else:
                req = HttpRequest(self.command, path, query, headers, body, base_url)
                outcome = router.serve(req, raw_path, started)
        self._write(outcome)

    def _read_body(self, headers: dict[str, str]) -> bytes | None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length_text = headers.get("content-length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self.send_error(400, "The Content-Length header is not a valid number.")
            return None
        if length > self.server.router.max_body:
            self.send_error(413, "The request body is too large.")
            return None
        data = self.rfile.read(length)
        if len(data) != length:
            self.close_connection = True
            return None
        return data

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        limit = self.server.router.max_body
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            except ValueError:
                self.send_error(400, "Malformed chunked body.")
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                self.send_error(413, "The request body is too large.")
                return None
            data = self.rfile.read(size)
            self.rfile.readline(8)
            if len(data) != size:
                self.close_connection = True
                return None
            chunks.append(data)

    def _write(self, outcome: Outcome) -> None:
        keep_alive = not self.close_connection and not outcome.drop
        if self.headers.get("Connection", "").lower() == "close":
            keep_alive = False
        data = encode_response(outcome.status, outcome.headers, outcome.body,
                               outcome.content_type, keep_alive)
        if outcome.drop:
            # Headers and part of the body, then close: the client sees a truncated response.
            head_len = len(data) - len(outcome.body)
            cut = head_len + max(1, len(outcome.body) // 2) if outcome.body else head_len
            self.wfile.write(data[:cut])
            self.close_connection = True
            try:
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if outcome.trickle:
            self._trickle(data, outcome.trickle)
        else:
            self.wfile.write(data)
        if not keep_alive:
            self.close_connection = True

    def _trickle(self, data: bytes, gap: float) -> None:
        """One byte every ``gap`` seconds (trickle fault), until ``TRICKLE_CAP`` or the
        client hangs up; a client that gave up only costs this thread."""
        until = time.monotonic() + TRICKLE_CAP
        for index in range(len(data)):
            if time.monotonic() >= until:
                self.wfile.write(data[index:])
                return
            self.wfile.write(data[index:index + 1])
            self.wfile.flush()
            time.sleep(gap)

