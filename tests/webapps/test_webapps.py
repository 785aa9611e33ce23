"""End-to-end tests of the example web apps (examples/flask_app, examples/django_app) in a real
headless chromium.

Stage: tests. Each test drives chromium through the site and the emulator's sign-in pages
(clicking the account and Accept buttons) and compares the pages with the emulator's Graph data
for the signed-in user. Every scenario runs against both apps (the ``site`` fixture is parametrized); each
scenario signs in a different demo user, so each sees the consent page.
"""

from __future__ import annotations

from typing import Any

from webapp_browser import Chromium, Page
from webapp_scenarios import (
    app_feel,
    declined_consent,
    full_journey,
    refresh_after_rejection,
    refresh_before_expiry,
    reply_and_accept,
    revoked_sign_in,
    tampered_callback,
)
from webapp_servers import AppServer

from o365sql.emulator import Emulator


def test_sign_in_then_inbox_contacts_events_and_sign_out(
    page: Page, site: AppServer, emulator: Emulator
) -> None:
    # Zoë O'Neil: an apostrophe in the UPN and non-ASCII text on the way through.
    full_journey(page, site, emulator, emulator.users[2])


def test_declined_consent_returns_to_sign_in(
    page: Page, site: AppServer, emulator: Emulator
) -> None:
    declined_consent(page, site, emulator, emulator.users[4])


def test_refreshes_tokens_close_to_expiry(page: Page, site: AppServer, emulator: Emulator) -> None:
    refresh_before_expiry(page, site, emulator, emulator.users[0])


def test_refreshes_and_retries_when_graph_rejects_the_token(
    page: Page, site: AppServer, emulator: Emulator
) -> None:
    refresh_after_rejection(page, site, emulator, emulator.users[1])


def test_revoked_refresh_token_leads_back_to_sign_in(
    page: Page, site: AppServer, emulator: Emulator
) -> None:
    revoked_sign_in(page, site, emulator, emulator.users[3])


def test_callback_with_foreign_or_tampered_state_is_refused(
    page: Page, browser: Chromium, site: AppServer, emulator: Emulator
) -> None:
    tampered_callback(page, browser, site, emulator)


def test_reply_to_a_message_and_accept_an_invitation(
    page: Page, site: AppServer, emulator: Emulator
) -> None:
    reply_and_accept(page, site, emulator, emulator.users[5], emulator.users[0])


def test_message_view_paging_time_zone_and_notices_feel_like_an_app(
    page: Page, site: AppServer, emulator: Emulator, tmp_path_factory: Any
) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    app_feel(page, site, emulator, emulator.users[6], emulator.users[3], shots)
    for name in ("message", "inbox", "signed-out"):
        png = (shots / f"{site.name}-{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
