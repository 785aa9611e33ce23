"""A real headless chromium for the example web apps' end-to-end tests, driven over the Chrome
DevTools Protocol (CDP) on a pipe.

Stage: test support (no part of o365sql). ``Chromium.launch()`` starts Debian's chromium with
``--remote-debugging-pipe``: the browser reads CDP commands from its fd 3 and writes answers and
events to its fd 4, as NUL-terminated JSON (the same transport Playwright uses with chromium).
``Chromium.new_page()`` opens a tab in a fresh browser context (its own cookies), and ``Page``
navigates, waits for conditions in the page, reads text and clicks elements with real mouse
events (``Input.dispatchMouseEvent``: the page sees trusted ``mousedown``/``mouseup``/``click``,
exactly as from a person's mouse).

Why this and not Playwright or Selenium: it needs only chromium and the standard library. No
pip package with its own Node driver (Playwright) whose expectations drift from Debian's
chromium updates, no chromedriver (Selenium). It uses only long-stable CDP domains (Target,
Page, Runtime, Input). The flags follow reference/baselines-and-browser.md §4: headless, and
``--no-sandbox`` because the tests run as root.

TLS: the emulator's certificate chains to its own CA, which chromium does not know. Only for
this test browser, ``--ignore-certificate-errors-spki-list`` names the public keys of the
emulator's CA and server certificate, so those (and nothing else) are accepted; chromium honours
that switch only with ``--user-data-dir``, which is always given here.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import signal
import ssl
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["BrowserError", "Chromium", "Page", "find_chromium", "spki_pins"]

# Debian's real binary; /usr/bin/chromium is a shell wrapper that only adds desktop flags.
_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "chromium", "chromium-browser")


class BrowserError(RuntimeError):
    """The browser answered a command with an error, died, or a wait timed out."""


def find_chromium() -> str | None:
    """Path of the chromium to drive (``O365SQL_CHROMIUM`` overrides), or None."""
    override = os.environ.get("O365SQL_CHROMIUM")
    if override:
        return override
    for name in _CANDIDATES:
        path = (
            shutil.which(name) if "/" not in name else (name if os.access(name, os.X_OK) else None)
        )
        if path:
            return path
    return None


def spki_pins(*pem_paths: str, servers: tuple[tuple[str, int], ...] = ()) -> list[str]:
    """base64(SHA-256(SubjectPublicKeyInfo)) of each certificate, as chromium's
    ``--ignore-certificate-errors-spki-list`` wants them."""
    pems = [Path(p).read_bytes() for p in pem_paths]
    pems += [ssl.get_server_certificate(addr).encode("ascii") for addr in servers]
    pins = []
    for pem in pems:
        cert = x509.load_pem_x509_certificate(pem)
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pins.append(base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"))
    return pins


def _high_fd(fd: int) -> int:
    # Move a pipe end above 10 so the dup2 onto 3 and 4 in the child cannot clobber another end.
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Chromium:
    """One headless chromium process and its CDP pipe. Use ``launch()``; ``close()`` ends it."""

    def __init__(
        self, pid: int, to_browser: int, from_browser: int, profile: str, log_path: str
    ) -> None:
        self.pid = pid
        self.log_path = log_path
        self._to_browser = to_browser
        self._from_browser = from_browser
        self._profile = profile
        self._next_id = 0
        self._lock = threading.Lock()
        self._answers: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._dead = False
        self._reader = threading.Thread(target=self._read_loop, name="chromium-cdp", daemon=True)
        self._reader.start()

    @classmethod
    def launch(
        cls,
        executable: str,
        *,
        spki: Sequence[str] = (),
        window: tuple[int, int] = (1000, 800),
        log_dir: str | None = None,
    ) -> Chromium:
        profile = tempfile.mkdtemp(prefix="o365sql-chromium-")
        log_path = os.path.join(log_dir or profile, "chromium.log")
        args = [
            executable,
            "--headless=new",
            "--no-sandbox",  # root cannot use the sandbox (reference §4)
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            "--password-store=basic",
            f"--window-size={window[0]},{window[1]}",
        ]
        if spki:
            args.append("--ignore-certificate-errors-spki-list=" + ",".join(spki))
        args.append("about:blank")
        cmd_r, cmd_w = (_high_fd(fd) for fd in os.pipe())
        evt_r, evt_w = (_high_fd(fd) for fd in os.pipe())
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
            (os.POSIX_SPAWN_DUP2, cmd_r, 3),
            (os.POSIX_SPAWN_DUP2, evt_w, 4),
        ]
        # Its own process group, so close() can end the browser's helper processes too.
        pid = os.posix_spawn(executable, args, dict(os.environ), file_actions=actions, setpgroup=0)
        os.close(cmd_r)
        os.close(evt_w)
        browser = cls(pid, cmd_w, evt_r, profile, log_path)
        try:
            browser.send("Browser.getVersion", timeout=30)  # answers once chromium is up
        except BrowserError:
            log = Path(log_path).read_text(errors="replace")[-2000:]
            browser.close()
            raise BrowserError(f"chromium did not start ({executable}):\n{log}") from None
        return browser

    # -- the pipe --------------------------------------------------------------------------

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._answers[message["id"]] = message
                        self._cond.notify_all()
                # Events are not needed: the tests poll the page's state instead.
        with self._cond:
            self._dead = True
            self._cond.notify_all()

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        """Send one CDP command and wait for its answer's ``result``."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            data = json.dumps(message).encode() + b"\0"
            try:
                while data:
                    data = data[os.write(self._to_browser, data) :]
            except OSError as err:
                raise BrowserError(f"chromium is gone ({err}); see {self.log_path}") from None
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._answers:
                left = deadline - time.monotonic()
                if self._dead:
                    raise BrowserError(f"chromium exited during {method}; see {self.log_path}")
                if left <= 0:
                    raise BrowserError(f"no answer to {method} within {timeout} s")
                self._cond.wait(left)
            answer = self._answers.pop(ident)
        if "error" in answer:
            raise BrowserError(
                f"{method}: {answer['error'].get('message')} ({answer['error'].get('code')})"
            )
        result: dict[str, Any] = answer.get("result", {})
        return result

    # -- tabs ------------------------------------------------------------------------------

    def new_page(self) -> Page:
        """A tab in a new browser context: no cookies or storage shared with other pages."""
        context = self.send("Target.createBrowserContext", {"disposeOnDetach": True})[
            "browserContextId"
        ]
        target = self.send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context}
        )["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        return Page(self, session, target, context)

    def close(self) -> None:
        """Ask chromium to quit, then make sure its process group is gone."""
        try:
            self.send("Browser.close", timeout=5)
        except BrowserError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        try:  # helper processes (renderer, zygote) that outlived the browser process
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._reader.join(timeout=2)
        shutil.rmtree(self._profile, ignore_errors=True)


class Page:
    """One tab. Every wait polls the page with ``Runtime.evaluate`` until a condition holds,
    which also works across the navigations a click starts."""

    def __init__(self, browser: Chromium, session: str, target: str, context: str) -> None:
        self.browser = browser
        self.session = session
        self.target = target
        self.context = context

    def _send(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 15.0
    ) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able values only)."""
        result = self._send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def goto(self, url: str, *, timeout: float = 15.0) -> None:
        """Open ``url`` and wait until its page (after any redirects) has loaded."""
        # Mark the current document, so the wait below cannot mistake it for the new one.
        try:
            self.evaluate("window.__o365sqlLeaving = true")
        except BrowserError:
            pass  # no document yet
        answer = self._send("Page.navigate", {"url": url}, timeout=timeout)
        if answer.get("errorText"):
            raise BrowserError(f"navigating to {url}: {answer['errorText']}")
        self.wait_for(
            "!window.__o365sqlLeaving && document.readyState === 'complete'",
            timeout=timeout,
            what=f"the page at {url} to load",
        )

    def wait_for(self, condition: str, *, timeout: float = 15.0, what: str | None = None) -> Any:
        """Poll the JavaScript ``condition`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            try:
                value = self.evaluate(condition)
                if value:
                    return value
            except BrowserError as err:  # the context is replaced while a navigation commits
                last_error = str(err)
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"timed out after {timeout} s waiting for {what or condition} "
                    f"(page: {self.url_or_unknown()}){'; ' + last_error if last_error else ''}"
                )
            time.sleep(0.05)

    def wait_for_url(self, prefix: str, *, timeout: float = 15.0) -> str:
        """Wait until the tab shows a fully loaded page whose URL starts with ``prefix``."""
        cond = (
            f"location.href.startsWith({json.dumps(prefix)}) && "
            "document.readyState === 'complete' && location.href"
        )
        return str(self.wait_for(cond, timeout=timeout, what=f"a loaded page at {prefix}"))

    def url_or_unknown(self) -> str:
        try:
            return str(self.evaluate("location.href"))
        except BrowserError:
            return "?"

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def exists(self, selector: str) -> bool:
        return bool(self.evaluate(f"document.querySelector({json.dumps(selector)}) !== null"))

    def text(self, selector: str = "body") -> str:
        """``innerText`` of the first element matching ``selector`` (error if none)."""
        value = self.evaluate(
            f"(e => e === null ? null : e.innerText)(document.querySelector({json.dumps(selector)}))"
        )
        if value is None:
            raise BrowserError(f"no element matches {selector!r} on {self.url_or_unknown()}")
        return str(value)

    def texts(self, selector: str) -> list[str]:
        """``innerText`` of every element matching ``selector``, in document order."""
        return list(
            self.evaluate(
                f"Array.from(document.querySelectorAll({json.dumps(selector)}), e => e.innerText)"
            )
        )

    def attribute(self, selector: str, name: str) -> str | None:
        value = self.evaluate(
            f"(e => e && e.getAttribute({json.dumps(name)}))"
            f"(document.querySelector({json.dumps(selector)}))"
        )
        return None if value is None else str(value)

    def click(self, selector: str, *, timeout: float = 10.0) -> None:
        """Click the centre of the element with the mouse, as a person would."""
        point = self.wait_for(
            f"(e => {{ if (!e) return null; e.scrollIntoView({{block: 'center'}});"
            f" const r = e.getBoundingClientRect();"
            f" return r.width > 0 && r.height > 0 ? [r.x + r.width / 2, r.y + r.height / 2] : null; }})"
            f"(document.querySelector({json.dumps(selector)}))",
            timeout=timeout,
            what=f"a visible {selector!r} to click",
        )
        x, y = float(point[0]), float(point[1])
        self._send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self._send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1},
            )

    def screenshot(self, path: str) -> str:
        data = self._send("Page.captureScreenshot", {"format": "png"})["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.browser.send("Target.closeTarget", {"targetId": self.target})
            self.browser.send("Target.disposeBrowserContext", {"browserContextId": self.context})
        except BrowserError:
            pass
