"""The local listener that receives the browser's redirect after desktop sign-in.

Stage: desktop sign-in transport. ``LoopbackListener(callback_url)`` listens on the host and
port of a loopback ``CallbackURL`` (``http://localhost:33333`` in CData's examples; port 0 picks
a free one) and hands ``interactive.py`` the authorization response: the query of a ``GET``
redirect or the fields of a ``response_mode=form_post`` ``POST``.

Why our own and not msal's ``AuthCodeReceiver``: msal's receiver accepts only ``POST`` since
msal 1.35 and only ``GET`` before, it cannot serve a path (``CallbackURL`` may have one), and
msal only uses it for public clients, while a confidential app with ``OAuthClientSecret`` needs
the same thing. The identity platform allows any port on ``http://localhost`` redirect URIs
(https://learn.microsoft.com/entra/identity-platform/reply-url#localhost-exceptions).
"""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from o365sql.exceptions import ProgrammingError

__all__ = ["LoopbackListener", "is_loopback_url"]

_LOOPBACK_HOSTS = {"localhost": "127.0.0.1", "127.0.0.1": "127.0.0.1", "::1": "::1"}

_DONE_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>o365sql sign-in</title></head>"
    "<body><h1>{title}</h1><p>{text}</p></body></html>"
)


def is_loopback_url(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "").lower() in _LOOPBACK_HOSTS


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    expected_path: str
    response: dict[str, str] | None
    received: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib logs every request line to stderr, and a request line carries the code.
        return

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self._handle(parts.path, dict(parse_qsl(parts.query)))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self._handle(urlsplit(self.path).path, dict(parse_qsl(body)))

    def _handle(self, path: str, params: dict[str, str]) -> None:
        expected = self.server.expected_path
        if (path or "/").rstrip("/") != expected.rstrip("/") or not (
                "code" in params or "error" in params):
            self._reply(404, "Not the sign-in callback", "o365sql is waiting for the sign-in "
                        "response on another address.")
            return
        if self.server.response is None:
            self.server.response = params
        if "error" in params:
            self._reply(200, "Sign-in failed", html.escape(
                f"{params.get('error')}: {params.get('error_description', '')}"))
        else:
            self._reply(200, "Signed in", "o365sql received the sign-in. You can close this "
                        "window.")
        self.server.received.set()

    def _reply(self, status: int, title: str, text: str) -> None:
        body = _DONE_PAGE.format(title=html.escape(title), text=text).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class LoopbackListener:
    """Listens on a loopback CallbackURL until the authorization response arrives.

    Use as a context manager; ``redirect_uri`` is the CallbackURL with the real port.
    """

    def __init__(self, callback_url: str) -> None:
        if not is_loopback_url(callback_url):
            raise ProgrammingError(
                f"desktop sign-in needs a loopback CallbackURL such as http://localhost:33333, "
                f"got {callback_url!r}; web applications sign users in with "
                "GetOAuthAuthorizationURL and GetOAuthAccessToken (AuthMode=WEB)")
        parts = urlsplit(callback_url)
        host = (parts.hostname or "localhost").lower()
        bind = _LOOPBACK_HOSTS[host]
        try:
            server = _Server((bind, parts.port or 0), _Handler)
        except OSError as exc:
            raise ProgrammingError(
                f"CallbackURL {callback_url!r}: cannot listen on port {parts.port or 0} "
                f"({exc.strerror}); choose another port") from None
        server.expected_path = parts.path or "/"
        server.response = None
        server.received = threading.Event()
        self._server = server
        port = server.server_address[1]
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.redirect_uri = urlunsplit(("http", netloc, parts.path, "", ""))
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="o365sql-signin-listener", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The authorization response (``code``/``state`` or ``error``), or None on timeout."""
        self._server.received.wait(timeout)
        return self._server.response

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __repr__(self) -> str:
        return f"LoopbackListener({self.redirect_uri!r})"
