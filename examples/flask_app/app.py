"""Example web application (Flask): visitors sign in with their Microsoft 365 account and see
their inbox (page by page, each message readable with its body shown safely), contacts and next
week's events, all read with SQL through o365sql, and can reply to a message and accept an
invitation (the ReplyToMessage and RespondToEvent procedures). Times are shown in the viewer's
time zone (the page carries UTC instants; the browser formats them). The sign-in page shows only
the site's own notices, never text taken from the URL.

Stage: an application on top of o365sql's PEP 249 surface. It signs people in with the OAuth
stored procedures (``EXEC GetOAuthAuthorizationURL`` / ``GetOAuthAccessToken`` /
``RefreshOAuthAccessToken``), keeps each visitor's tokens on the server, and runs ``SELECT``
statements with named parameters on a connection made from the visitor's access token. It hands
nothing on: it renders HTML.

Configuration (environment variables):

* ``O365SQL_CONNECTION`` (required): the app's connection string without any user's token, e.g.
  ``OAuthClientId=...;OAuthClientSecret=...;AzureTenant=contoso.onmicrosoft.com`` for Microsoft
  365, or the emulator's ``GraphURL``/``AuthorityURL``/``AzureTenant``/``SSLServerCert`` plus the
  demo app's id and secret (see README.md).
* ``O365SQL_CALLBACK_URL``: the redirect URI registered for the app; default this app's own
  ``/callback`` URL as the browser reached it.
* ``O365SQL_REFRESH_MARGIN``: refresh an access token this many seconds before it expires
  (default 300).
* ``FLASK_SECRET_KEY``: signs the session cookie; default a random key per process (everyone is
  signed out when the process restarts).

Run: ``flask --app examples/flask_app/app.py run`` (``create_app`` is the app factory).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask, abort, current_app, redirect, render_template, request, session, url_for
from mailbox_sql import ActionFailed, MailboxSQL, NotSignedIn, SignInFailed, TokenVault
from werkzeug.wrappers import Response

log = logging.getLogger("o365sql.examples.flask")

_CODE_IN_URL = re.compile(r"([?&](?:code|state|session_state)=)[^&\s\"]+")


class RedactAuthCodes(logging.Filter):
    """Masks the authorization code (and state) in request log lines such as
    ``GET /callback?code=...`` so access logs never hold a redeemable code."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _CODE_IN_URL.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        record.msg = _CODE_IN_URL.sub(r"\1[redacted]", str(record.msg))
        return True


def create_app(connection: str | None = None, **config: Any) -> Flask:
    """The application. ``connection`` overrides ``O365SQL_CONNECTION``; ``config`` sets Flask
    config keys (``CALLBACK_URL``, ``REFRESH_MARGIN``, ``SECRET_KEY``...)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("FLASK_SECRET_KEY") or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        # Lax: the cookie comes back on the top-level redirect from the sign-in page.
        SESSION_COOKIE_SAMESITE="Lax",
        CALLBACK_URL=os.environ.get("O365SQL_CALLBACK_URL"),
        REFRESH_MARGIN=float(os.environ.get("O365SQL_REFRESH_MARGIN", "300")),
    )
    app.config.update(config)
    dsn = connection or os.environ.get("O365SQL_CONNECTION")
    if not dsn:
        raise RuntimeError("set O365SQL_CONNECTION to the app's o365sql connection string")
    app.extensions["mailbox_sql"] = MailboxSQL(
        dsn, TokenVault(), refresh_margin=app.config["REFRESH_MARGIN"]
    )
    logging.getLogger("werkzeug").addFilter(RedactAuthCodes())
    _add_routes(app)
    return app


def _mail() -> MailboxSQL:
    return current_app.extensions["mailbox_sql"]  # type: ignore[no-any-return]


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, "the form is out of date: reload the page and try again")


def _callback_url() -> str:
    return current_app.config["CALLBACK_URL"] or url_for("callback", _external=True)


def _signed_in_user() -> str:
    """The site user's key (random, from the signed session cookie); else go to sign-in."""
    user = session.get("user")
    if not user or not _mail().vault.has(user):
        raise NotSignedIn()
    return str(user)


def _add_routes(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = _csrf_token

    @app.errorhandler(NotSignedIn)
    def _not_signed_in(err: NotSignedIn) -> Response:
        session.pop("user", None)
        return redirect(url_for("index", reason="expired") if err.reason else url_for("index"))

    @app.get("/")
    def index() -> str | Response:
        if session.get("user") and _mail().vault.has(session["user"]):
            return redirect(url_for("inbox"))
        # Only the site's own notices, chosen by a key: text from the URL is never shown.
        kind, text = SIGNIN_NOTICES.get(request.args.get("reason", ""), ("", ""))
        return render_template("signin.html", reason=text, reason_kind=kind)

    @app.post("/login")
    def login() -> Response:
        _check_csrf()
        state = secrets.token_urlsafe(32)
        session["oauth_state"] = state
        url = _mail().authorization_url(callback_url=_callback_url(), state=state)
        return redirect(url)

    @app.get("/callback")
    def callback() -> str | Response | tuple[str, int]:
        expected = session.pop("oauth_state", None)
        state = request.args.get("state", "")
        # The state ties this callback to the sign-in this browser started (CSRF protection):
        # anything else is refused before the code is redeemed.
        if not expected or not secrets.compare_digest(state, expected):
            log.warning("sign-in callback refused: state does not match the session")
            return render_template(
                "error.html",
                title="Sign-in refused",
                message="The sign-in response does not belong to this "
                "browser session (state mismatch).",
            ), 400
        if "error" in request.args:
            return render_template("signin.html", reason=signin_error_text(request.args["error"]),
                                   reason_kind="warning"), 401
        code = request.args.get("code")
        if not code:
            abort(400, "the callback has no code")
        try:
            tokens = _mail().redeem_code(code, callback_url=_callback_url(), state=state)
        except SignInFailed as err:
            return render_template("error.html", title="Sign-in failed", message=str(err)), 401
        old = session.get("user")
        if old:
            _mail().vault.drop(old)
        session.clear()  # a new session for the signed-in user (no fixation)
        session["user"] = _mail().vault.add(tokens)
        session["name"] = _mail().who(tokens)
        return redirect(url_for("inbox"))

    @app.post("/logout")
    def logout() -> Response:
        _check_csrf()
        user = session.get("user")
        if user:
            _mail().vault.drop(user)
        session.clear()
        return redirect(url_for("index", reason="signed-out"))

    @app.get("/inbox")
    def inbox() -> str:
        page = _page_number(request.args.get("page"))
        size = MailboxSQL.PAGE_SIZE
        rows = _mail().query(_signed_in_user(), MailboxSQL.INBOX,
                             {"folder": "inbox", "offset": (page - 1) * size})
        return render_template("inbox.html", messages=rows[:size], page=page,
                               has_next=len(rows) > size,
                               notice=_NOTICES.get(request.args.get("done", "")))

    @app.get("/message")
    def message() -> str | Response:
        item = request.args.get("id", "")
        if not item:
            abort(400, "which message? (?id=...)")
        rows = _mail().query(_signed_in_user(), MailboxSQL.MESSAGE, {"id": item})
        if not rows:
            abort(404, "no such message in your mailbox")
        found = rows[0]
        found["To"] = MailboxSQL.addresses(found.pop("ToRecipients"))
        response = current_app.make_response(render_template("message.html", m=found))
        # The body is someone else's HTML: shown in a sandboxed frame (no scripts, forms or
        # same-origin access) and, by this policy, without remote images or other loads.
        response.headers["Content-Security-Policy"] = MESSAGE_POLICY
        return response

    @app.post("/reply")
    def reply() -> str | Response | tuple[str, int]:
        return _action(MailboxSQL.REPLY, "inbox", "replied")

    @app.post("/accept")
    def accept() -> str | Response | tuple[str, int]:
        return _action(MailboxSQL.ACCEPT, "events", "accepted")

    @app.get("/contacts")
    def contacts() -> str:
        rows = _mail().query(_signed_in_user(), MailboxSQL.CONTACTS)
        for row in rows:
            row["Email"] = MailboxSQL.first_address(row.pop("EmailAddresses"))
        return render_template("contacts.html", contacts=rows)

    @app.get("/events")
    def events() -> str:
        first = _start_day(request.args.get("start"))
        start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        end = start + timedelta(days=7)
        rows = _mail().query(_signed_in_user(), MailboxSQL.EVENTS, {"start": start, "end": end})
        return render_template(
            "events.html",
            events=rows,
            start=start,
            end=end,
            previous=(first - timedelta(days=7)).isoformat(),
            next=(first + timedelta(days=7)).isoformat(),
            first=first.isoformat(),
            notice=_NOTICES.get(request.args.get("done", "")),
        )


_NOTICES = {"replied": "Reply sent.", "accepted": "Invitation accepted."}

#: The sign-in page's notices by key: (kind, text); "info" is news, "warning" a problem.
SIGNIN_NOTICES = {
    "signed-out": ("info", "You are signed out."),
    "expired": ("warning", "Your Microsoft sign-in has expired. Please sign in again."),
}
#: What a sign-in that came back with an error says, by OAuth error code.
_SIGNIN_ERRORS = {
    "access_denied": "You declined the sign-in, or the permissions the site asks for.",
    "consent_required": "The site needs your consent (or an administrator's) to read your mail.",
    "login_required": "Microsoft asked you to sign in again.",
}
MESSAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                  "img-src data:; frame-src 'self'; form-action 'self'; base-uri 'none'")


def signin_error_text(code: str) -> str:
    """The sign-in page's text for an OAuth error code: a known code's own sentence, else the
    code itself when it looks like one (letters and underscores), never free text."""
    if code in _SIGNIN_ERRORS:
        return _SIGNIN_ERRORS[code]
    if re.fullmatch(r"[a-z_]{1,40}", code):
        return f"Microsoft did not sign you in ({code})."
    return "Microsoft did not sign you in."


def _page_number(text: str | None) -> int:
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        abort(400, "page must be a number from 1")
    return int(text)


def _action(sql: str, page: str, done: str) -> str | Response | tuple[str, int]:
    """Run an action from a form (CSRF-checked) and go back to ``page``."""
    _check_csrf()
    item = request.form.get("id", "")
    if not item:
        abort(400, "the form names no item")
    try:
        _mail().act(_signed_in_user(), sql, {"id": item, "comment": request.form.get("comment", "")})
    except ActionFailed as err:
        return render_template("error.html", title="Graph refused the action",
                               message=str(err)), 502
    back = request.form.get("back")
    return redirect(url_for(page, done=done, start=back) if back else url_for(page, done=done))


def _start_day(text: str | None) -> date:
    """The first day of the events window: ``?start=YYYY-MM-DD``, default today (UTC)."""
    if not text:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400, "start must be a date: YYYY-MM-DD")
