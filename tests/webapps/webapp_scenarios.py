"""Whole user journeys through an example app, each one test in ``test_flask_app.py`` and
``test_django_app.py`` (the two apps have the same pages and element ids).

Stage: test scenarios, built from the steps and checks in ``webapp_checks``. Each scenario takes
the tab, the running app, the emulator and the demo user to sign in; the emulator's request log
shows which token grants the app used.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from webapp_browser import Chromium, Page
from webapp_checks import (
    app_rows,
    check_contacts,
    check_cookies,
    check_events,
    check_inbox,
    css_string,
    grants,
    notice_colour,
    sign_in,
)
from webapp_oracle import GraphOracle
from webapp_servers import AppServer

import o365sql

__all__ = [
    "app_feel",
    "declined_consent",
    "full_journey",
    "refresh_after_rejection",
    "refresh_before_expiry",
    "reply_and_accept",
    "revoked_sign_in",
    "tampered_callback",
]


def full_journey(page: Page, app: AppServer, emulator: Any, user: str) -> None:
    """Sign in, read the three pages (and follow the site's own links), sign out."""
    codes_before = grants(emulator, "authorization_code")
    sign_in(page, app, emulator, user)
    assert grants(emulator, "authorization_code") == codes_before + 1
    oracle = GraphOracle(emulator, user)
    check_inbox(page, oracle)
    check_cookies(page, app)

    page.click("#nav-contacts")
    page.wait_for_url(app.url + "/contacts")
    check_contacts(page, oracle)

    page.click("#nav-events")
    page.wait_for_url(app.url + "/events")
    check_events(page, app, oracle, emulator.tenant.anchor)
    # A fresh token lives about an hour, well past the apps' 5-minute refresh margin.
    assert grants(emulator, "refresh_token") == 0

    page.click("#signout-button")
    page.wait_for_url(app.url + "/?")
    assert page.exists("#signin-button")
    page.goto(app.url + "/inbox")  # the tokens are gone: back to the sign-in page
    assert urlsplit(page.url).path == "/"
    assert page.exists("#signin-button")

    # The request log shows the callback, with its code masked.
    log = app.log_text()
    assert "/callback?code=[redacted]" in log
    assert not re.search(r"[?&]code=(?!\[redacted\])", log)


def declined_consent(page: Page, app: AppServer, emulator: Any, user: str) -> None:
    """Cancel on the consent page: back on the site's sign-in page with the reason, no tokens."""
    codes_before = grants(emulator, "authorization_code")
    page.goto(app.url + "/")
    page.click("#signin-button")
    page.wait_for_url(emulator.authority)
    page.click(f"#signin-form button[name=user][value={css_string(user)}]")
    page.wait_for("document.querySelector('#consent-form') !== null", what="the consent page")
    page.click("#cancel")
    page.wait_for_url(app.url + "/callback?error=access_denied")
    assert "declined" in page.text("#reason")
    assert page.exists("#signin-button")
    assert grants(emulator, "authorization_code") == codes_before
    page.goto(app.url + "/inbox")
    assert urlsplit(page.url).path == "/"


def refresh_before_expiry(page: Page, app: AppServer, emulator: Any, user: str) -> None:
    """Tokens that expire within the app's refresh margin are refreshed before each query."""
    saved = emulator.config.access_token_lifetime
    emulator.config.access_token_lifetime = 120  # under the apps' 300 s margin
    try:
        before = grants(emulator, "refresh_token")
        sign_in(page, app, emulator, user)  # lands on /inbox: one query
        assert grants(emulator, "refresh_token") == before + 1
        oracle = GraphOracle(emulator, user)
        check_inbox(page, oracle)
        page.click("#nav-contacts")
        page.wait_for_url(app.url + "/contacts")
        assert grants(emulator, "refresh_token") == before + 2
        check_contacts(page, oracle)
    finally:
        emulator.config.access_token_lifetime = saved


def refresh_after_rejection(page: Page, app: AppServer, emulator: Any, user: str) -> None:
    """Graph answers 401 to a valid-looking token: the app refreshes once and retries."""
    sign_in(page, app, emulator, user)
    oracle = GraphOracle(emulator, user)
    before = grants(emulator, "refresh_token")
    rule = emulator.faults.status(401, path="/messages", count=1)
    try:
        page.goto(app.url + "/inbox")
        page.wait_for_url(app.url + "/inbox")
        assert rule.fired == 1
        assert grants(emulator, "refresh_token") == before + 1
        check_inbox(page, oracle)
    finally:
        emulator.faults.remove(rule.id)


def revoked_sign_in(page: Page, app: AppServer, emulator: Any, user: str) -> None:
    """When the refresh token is revoked too, the visitor is sent back to sign in."""
    sign_in(page, app, emulator, user)
    emulator.revoke_refresh_tokens(user)
    rule = emulator.faults.status(401, path="/messages", count=1)
    try:
        page.goto(app.url + "/inbox")
        page.wait_for_url(app.url + "/?")
        assert rule.fired == 1
        assert "sign in again" in page.text("#reason")
        assert page.exists("#signin-button")
        page.goto(app.url + "/inbox")
        assert urlsplit(page.url).path == "/"
    finally:
        emulator.faults.remove(rule.id)


def tampered_callback(page: Page, browser: Chromium, app: AppServer, emulator: Any) -> None:
    """A callback whose state is not the one this browser's sign-in started is refused, and
    no code is redeemed."""
    codes_before = grants(emulator, "authorization_code")
    page.goto(app.url + "/")
    page.click("#signin-button")
    authorize = page.wait_for_url(emulator.authority)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    assert len(state) >= 32  # a random value per sign-in

    # Another browser (no sign-in started there) receives a callback with that state.
    other = browser.new_page()
    try:
        other.goto(f"{app.url}/callback?code=stolen-code&state={state}")
        assert other.text("#error-title") == "Sign-in refused"
        assert not other.exists("#messages")
    finally:
        other.close()

    # This browser receives a callback with a changed state.
    page.goto(f"{app.url}/callback?code=forged-code&state={state[:-2]}xx")
    assert page.text("#error-title") == "Sign-in refused"
    assert "state mismatch" in page.text("#error-message")
    # The state was used up by that attempt: the genuine one is refused now too.
    page.goto(f"{app.url}/callback?code=forged-code&state={state}")
    assert page.text("#error-title") == "Sign-in refused"
    assert grants(emulator, "authorization_code") == codes_before
    page.goto(app.url + "/inbox")
    assert urlsplit(page.url).path == "/"


_MARK_ROW_JS = """(() => {
  const row = Array.from(document.querySelectorAll(%(rows)s))
    .find(r => r.querySelector('.subject').textContent === %(subject)s);
  if (!row) return false;
  const comment = row.querySelector('.reply-comment');
  if (comment) comment.value = %(comment)s;
  const button = row.querySelector(%(button)s);
  if (!button) return false;
  button.id = 'chosen-action';
  return true;
})()"""


def _choose(page: Page, rows: str, subject: str, button: str, comment: str = "") -> None:
    """Mark ``button`` in the row showing ``subject`` (typing ``comment`` in its reply box)."""
    found = page.evaluate(_MARK_ROW_JS % {"rows": json.dumps(rows), "subject": json.dumps(subject),
                                          "comment": json.dumps(comment),
                                          "button": json.dumps(button)})
    assert found, f"no row with {subject!r} and a {button} on {page.url}"


def reply_and_accept(page: Page, app: AppServer, emulator: Any, user: str, other: str) -> None:
    """``other`` mails ``user`` and invites them to a meeting tomorrow; in the site ``user``
    replies with a comment and accepts the invitation; ``other``'s Inbox holds the reply and
    their event shows ``user`` as accepted (read through o365sql as ``other``)."""
    subject = "Lunch " + secrets.token_hex(4)
    comment = "Yes, see you at noon ✓"
    organizer = o365sql.connect(
        GraphURL=emulator.graph_url, AuthorityURL=emulator.authority,
        AzureTenant=emulator.tenant_id, SSLServerCert=emulator.ca_path,
        OAuthAccessToken=emulator.mint_token(user=other, scopes=[
            "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite"]))
    try:
        cur = organizer.cursor()
        cur.execute("EXEC SendMail @ToRecipients = :to, @Subject = :s, @Content = 'Free?'",
                    {"to": user, "s": subject})
        tomorrow = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0,
                                             tzinfo=None) + timedelta(days=1)
        cur.execute(
            "INSERT INTO Events (Subject, Start_DateTime, Start_TimeZone, End_DateTime, "
            "End_TimeZone, Attendees) VALUES (:s, :start, 'UTC', :end, 'UTC', :who)",
            {"s": subject, "start": tomorrow, "end": tomorrow + timedelta(hours=1),
             "who": json.dumps([{"emailAddress": {"address": user}, "type": "required"}])})

        sign_in(page, app, emulator, user)
        _choose(page, "#messages tr.message", subject, ".reply-button", comment)
        page.click("#chosen-action")
        page.wait_for_url(app.url + "/inbox?done=replied")
        assert page.text("#notice") == "Reply sent."
        cur.execute("SELECT From_EmailAddress_Address, Body_Content FROM Messages "
                    "WHERE ParentFolderId = 'Inbox' AND Subject = :s", {"s": "RE: " + subject})
        replies = cur.fetchall()
        assert len(replies) == 1 and replies[0][0].lower() == user.lower()
        assert comment in replies[0][1]

        page.click("#nav-events")
        page.wait_for_url(app.url + "/events")
        _choose(page, "#events tr.event", subject, ".accept-button")
        page.click("#chosen-action")
        page.wait_for_url(app.url + "/events?done=accepted")
        assert page.text("#notice") == "Invitation accepted."
        shown = app_rows(page, "#events tr.event", [(".subject", None), (".response", None)])
        assert [r[1].split()[0] for r in shown if r[0] == subject] == ["accepted"]
        assert not page.evaluate(
            "Array.from(document.querySelectorAll('#events tr.event')).some(r => "
            f"r.querySelector('.subject').textContent === {json.dumps(subject)} && "
            "r.querySelector('.accept-button') !== null)")
        cur.execute("SELECT Attendees FROM Events WHERE Subject = :s", {"s": subject})
        (attendees,), = cur.fetchall()
        answers = {a["emailAddress"]["address"].lower(): a["status"]["response"]
                   for a in json.loads(attendees)}
        assert answers == {user.lower(): "accepted"}
    finally:
        organizer.close()


HOSTILE = ("<p id='greeting'>Hello <b>there</b></p>"
           "<script>parent.document.title = 'pwned by script'</script>"
           "<img src=x onerror=\"parent.document.title = 'pwned by onerror'\">"
           "<form action='https://evil.example/'><input name=q></form>")


def app_feel(page: Page, app: AppServer, emulator: Any, user: str, other: str,
             shots: Any) -> None:
    """What makes the example feel like an app: a message view that shows someone else's HTML
    safely, paging through the inbox, times in the viewer's zone, a signed-out notice styled
    as information, and a sign-in page that shows no text from its URL. Screenshots of the
    pages are taken, and the notices' colours read from them."""
    subject = "Hostile HTML " + secrets.token_hex(4)
    sender = o365sql.connect(
        GraphURL=emulator.graph_url, AuthorityURL=emulator.authority,
        AzureTenant=emulator.tenant_id, SSLServerCert=emulator.ca_path,
        OAuthAccessToken=emulator.mint_token(user=other, scopes=["Mail.ReadWrite", "Mail.Send"]))
    try:
        sender.cursor().execute(
            "EXEC SendMail @ToRecipients = :to, @Subject = :s, @Content = :c, @ContentType = 'html'",
            {"to": user, "s": subject, "c": HOSTILE})
    finally:
        sender.close()
    sign_in(page, app, emulator, user)
    oracle = GraphOracle(emulator, user)
    assert page.text("#user-name") == oracle.display_name()  # who is signed in, in the header
    first, second = oracle.inbox(), oracle.inbox(skip=20)
    assert first[0][0] == subject and second  # the new mail tops an inbox of over one page
    assert page.text("#page-info").startswith("Page 1: messages 1 to 20")
    page_title = page.evaluate("document.title")

    # The message view: the body in a sandboxed frame, its script and handlers inert.
    page.evaluate("document.querySelector('#messages tr.message .subject a').click()")
    page.wait_for_url(app.url + "/message?id=")
    assert page.text("#message-subject") == subject
    assert user.lower() in page.text("#message-to").lower()
    assert page.attribute("#body", "sandbox") == ""
    assert "<script>" in (page.attribute("#body", "srcdoc") or "")  # kept, as text, inert
    assert page.evaluate("document.querySelector('#body').contentDocument") is None  # no same origin
    page.evaluate("new Promise(r => setTimeout(r, 500))")  # time for a script to have run
    assert "pwned" not in page.evaluate("document.title")
    page.screenshot(str(shots / f"{app.name}-message.png"))
    page.click("#back-to-inbox")
    page.wait_for_url(app.url + "/inbox")
    assert page.evaluate("document.title") == page_title

    # Paging: the second page is Graph's next 20, and back.
    page.click("#next-page")
    page.wait_for_url(app.url + "/inbox?page=2")
    assert page.text("#page-info").startswith(f"Page 2: messages 21 to {20 + len(second)}")
    shown = app_rows(page, "#messages tr.message", [(".subject", None), (".from", None),
                                                      (".from", "title"), (".received", None),
                                                      (".is-read", None)])
    assert shown == second
    page.click("#previous-page")
    page.wait_for_url(app.url + "/inbox?page=1")
    assert not page.exists("#previous-page")
    page.screenshot(str(shots / f"{app.name}-inbox.png"))

    # Times in the viewer's time zone: the same instants, shown nine hours later in Tokyo.
    page._send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
    try:
        page.goto(app.url + "/inbox")
        assert page.text("#time-zone") == "Asia/Tokyo"
        received = [r[0] for r in app_rows(page, "#messages tr.message", [(".received", None)])]
        tokyo = [(datetime.strptime(r[3], "%Y-%m-%d %H:%M") + timedelta(hours=9))
                 .strftime("%Y-%m-%d %H:%M") for r in first]
        assert received == tokyo
    finally:
        page._send("Emulation.setTimezoneOverride", {"timezoneId": "UTC"})

    # Signed out: an information notice (blue), not a warning (red).
    page.click("#signout-button")
    page.wait_for_url(app.url + "/?")
    assert page.text("#reason") == "You are signed out."
    assert page.attribute("#reason", "role") == "status"
    page.screenshot(str(shots / f"{app.name}-signed-out.png"))
    red, green, blue = notice_colour(page, "#reason")
    assert blue > red + 20, (red, green, blue)

    # The sign-in page shows its own notices only, chosen by key, never the URL's text.
    page.goto(app.url + "/?reason=" + quote("Your account is locked: call +1 555 0100"))
    assert not page.exists("#reason") and "locked" not in page.text()
    page.goto(app.url + "/?reason=expired")
    assert "sign in again" in page.text("#reason")
    red, green, blue = notice_colour(page, "#reason")
    assert red > blue + 20, (red, green, blue)  # a problem: the warning colour
    page.goto(app.url + "/callback?state=x&error=access_denied&error_description="
              + quote("Call +1 555 0100 to unlock"))
    assert "555" not in page.text()
