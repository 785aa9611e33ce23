"""The end-to-end scenarios both example apps must pass, driven in a real chromium.

Stage: test scenarios (``test_flask_app.py`` and ``test_django_app.py`` run each of them
against their app). A person's steps: open the site, click "Sign in with Microsoft", pick the
account on the emulator's sign-in page, accept the consent page, land back on the site, and
read the inbox, contacts and events pages. Every page is compared with what the emulator's
Graph API returns for that user (``webapp_oracle``), never with hard-coded strings.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from webapp_browser import Page
from webapp_oracle import GraphOracle
from webapp_servers import AppServer

__all__ = [
    "app_rows",
    "check_contacts",
    "check_cookies",
    "check_events",
    "check_inbox",
    "css_string",
    "grants",
    "notice_colour",
    "sign_in",
]

_ROWS_JS = """Array.from(document.querySelectorAll(%s), row => %s.map(
    ([sel, attr]) => { const c = row.querySelector(sel);
                       return c === null ? null : (attr ? c.getAttribute(attr) : c.textContent); }))"""


def app_rows(
    page: Page, row_selector: str, cells: list[tuple[str, str | None]]
) -> list[tuple[str, ...]]:
    """The text (or attribute) of ``cells`` in every row the page shows."""
    rows = page.evaluate(_ROWS_JS % (json.dumps(row_selector), json.dumps(cells)))
    return [tuple(r) for r in rows]


def css_string(value: str) -> str:
    """``value`` as a double-quoted CSS string (for attribute selectors)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def grants(emulator: Any, kind: str) -> int:
    """How many token requests of grant type ``kind`` the emulator has answered."""
    return sum(1 for e in emulator.log if e.kind == "identity" and e.grant_type == kind)


def sign_in(page: Page, app: AppServer, emulator: Any, user: str) -> None:
    """Click through the site's sign-in and the emulator's account picker and consent page."""
    page.goto(app.url + "/")
    page.click("#signin-button")
    page.wait_for_url(emulator.authority)
    page.wait_for("document.querySelector('#signin-form') !== null", what="the account picker")
    offered = page.evaluate(
        "Array.from(document.querySelectorAll('#signin-form button[name=user]'), b => b.value)"
    )
    assert offered == emulator.users
    page.click(f"#signin-form button[name=user][value={css_string(user)}]")
    page.wait_for("document.querySelector('#consent-form') !== null", what="the consent page")
    assert page.text("#signed-in-user") == user
    page.click("#accept")
    page.wait_for_url(app.url + "/inbox")


def check_inbox(page: Page, oracle: GraphOracle) -> None:
    expected = oracle.inbox()
    assert len(expected) == 20  # the seeded Inbox holds more than a page
    shown = app_rows(
        page,
        "#messages tr.message",
        [
            (".subject", None),
            (".from", None),
            (".from", "title"),
            (".received", None),
            (".is-read", None),
        ],
    )
    assert shown == expected
    # The unread style follows the read flag.
    flags = page.evaluate(
        "Array.from(document.querySelectorAll('#messages tr.message'),"
        " r => r.classList.contains('unread'))"
    )
    assert flags == [row[4] == "no" for row in expected]


def check_contacts(page: Page, oracle: GraphOracle) -> None:
    expected = oracle.contacts()
    assert expected, "the seeded user has contacts"
    shown = app_rows(
        page,
        "#contacts tr.contact",
        [(".name", None), (".company", None), (".email", None), (".mobile", None)],
    )
    assert sorted(shown) == expected
    names = [row[0] for row in shown]
    assert names == sorted(names, key=str.casefold) or names == sorted(names)


def check_events(page: Page, app: AppServer, oracle: GraphOracle, reference: datetime) -> None:
    """The page as opened from the menu (the 7 days from today), then a week with events near
    the tenant's ``reference`` date (the seeded events surround it), then the next week."""
    now = datetime.now(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if page.text("#window").startswith(f"From {today - timedelta(days=1):%Y-%m-%d} "):
        today -= timedelta(days=1)  # the page was made just before midnight (UTC)
    _check_event_window(page, oracle, today)
    busy = oracle.busy_week(reference)
    page.goto(f"{app.url}/events?start={busy:%Y-%m-%d}")
    rows = _check_event_window(page, oracle, busy)
    assert len(rows) >= 2
    page.click("#next-week")  # the page's own navigation moves the window by seven days
    page.wait_for_url(f"{app.url}/events?start={busy + timedelta(days=7):%Y-%m-%d}")
    _check_event_window(page, oracle, busy + timedelta(days=7))


def _check_event_window(page: Page, oracle: GraphOracle, start: datetime) -> list[tuple[str, ...]]:
    end = start + timedelta(days=7)
    assert page.text("#window") == f"From {start:%Y-%m-%d} to {end:%Y-%m-%d} (UTC)"
    expected = oracle.events(start, end)
    shown = app_rows(
        page,
        "#events tr.event",
        [
            (".start", None),
            (".end", None),
            (".subject", None),
            (".location", None),
            (".organizer", None),
        ],
    )
    assert sorted(shown) == expected
    assert [r[0] for r in shown] == sorted(r[0] for r in shown)  # ordered by start
    assert page.exists("#events tr.no-events") == (not expected)
    return shown


# A JWT's header and payload (base64url JSON objects: "eyJ...") then the signature part.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")


def _decoded_forms(value: str) -> list[str]:
    """The cookie value, plus its payload decoded as Flask's (zlib'd) base64 session if it is one."""
    forms = [value]
    payload = value.lstrip(".").split(".")[0]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        if value.startswith("."):
            raw = zlib.decompress(raw)
        forms.append(raw.decode("utf-8", "replace"))
    except (ValueError, zlib.error):
        pass
    return forms


def check_cookies(page: Page, app: AppServer) -> None:
    """No token travels in the site's cookies: they are short and hold no JWT or token field."""
    cookies = page.browser.send("Storage.getCookies", {"browserContextId": page.context})["cookies"]
    site = [c for c in cookies if c["domain"] == "127.0.0.1" and not c["secure"]]
    assert site, "the site keeps a session cookie"
    for cookie in site:
        assert len(cookie["value"]) < 512, cookie["name"]
        for form in _decoded_forms(cookie["value"]):
            assert not _JWT.search(form), cookie["name"]
            assert not re.search(r"token", form, re.IGNORECASE), cookie["name"]


def notice_colour(page: Page, selector: str) -> tuple[int, int, int]:
    """The average colour of a screenshot of the element ``selector`` (its box on the screen)."""
    box = page.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                        ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
    x, y, width, height = box
    data = page._send("Page.captureScreenshot", {
        "format": "png", "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1}})
    pixels = _png_pixels(base64.b64decode(data["data"]))
    count = len(pixels)
    assert count > 100, "the notice is too small to see"
    return tuple(sum(p[i] for p in pixels) // count for i in range(3))  # type: ignore[return-value]


def _png_pixels(png: bytes) -> list[tuple[int, ...]]:
    """The pixels of an 8-bit RGB or RGBA PNG (what chromium's screenshots are)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(png):
        length = int.from_bytes(png[pos:pos + 4], "big")
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour = header[8], header[9]
    assert depth == 8 and colour in (2, 6), (depth, colour)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * size
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for r in range(height):
        start = r * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - size] if i >= size else 0
            b = previous[i]
            c = previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return [tuple(line[i:i + 3]) for line in rows for i in range(0, stride, size)]
