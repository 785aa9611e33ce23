"""End-to-end tests of the Django example (examples/django_app) in a real headless chromium.

Stage: tests. Each test drives chromium through the site and the emulator's sign-in pages
(clicking the account and Accept buttons) and compares the pages with the emulator's Graph data
for the signed-in user. The scenarios are shared with the other example's tests
(``webapp_scenarios``); each test signs in a different demo user, so each sees the consent page.
"""

from __future__ import annotations

from webapp_browser import Chromium, Page
from webapp_scenarios import (
    declined_consent,
    full_journey,
    refresh_after_rejection,
    refresh_before_expiry,
    revoked_sign_in,
    tampered_callback,
)
from webapp_servers import AppServer

from o365sql.emulator import Emulator


def test_django_sign_in_then_inbox_contacts_events_and_sign_out(
    page: Page, django_app: AppServer, emulator: Emulator
) -> None:
    # Zoë O'Neil: an apostrophe in the UPN and non-ASCII text on the way through.
    full_journey(page, django_app, emulator, emulator.users[2])


def test_django_declined_consent_returns_to_sign_in(
    page: Page, django_app: AppServer, emulator: Emulator
) -> None:
    declined_consent(page, django_app, emulator, emulator.users[4])


def test_django_refreshes_tokens_close_to_expiry(
    page: Page, django_app: AppServer, emulator: Emulator
) -> None:
    refresh_before_expiry(page, django_app, emulator, emulator.users[0])


def test_django_refreshes_and_retries_when_graph_rejects_the_token(
    page: Page, django_app: AppServer, emulator: Emulator
) -> None:
    refresh_after_rejection(page, django_app, emulator, emulator.users[1])


def test_django_revoked_refresh_token_leads_back_to_sign_in(
    page: Page, django_app: AppServer, emulator: Emulator
) -> None:
    revoked_sign_in(page, django_app, emulator, emulator.users[3])


def test_django_callback_with_foreign_or_tampered_state_is_refused(
    page: Page, browser: Chromium, django_app: AppServer, emulator: Emulator
) -> None:
    tampered_callback(page, browser, django_app, emulator)
