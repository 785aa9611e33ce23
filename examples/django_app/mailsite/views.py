"""Views of the example site: sign-in with Microsoft, the callback, sign-out, the inbox (page by
page), a message with its body shown safely, contacts and events pages, and two actions: reply
to a message, accept an invitation. The sign-in page shows only the site's own notices, chosen by
a key, never text taken from the URL; times go to the page as UTC instants that the browser shows
in the viewer's time zone.

Stage: HTTP handling, on top of ``mailbox_sql`` (which runs all SQL). The sign-in state is a
random value per attempt, kept in the session and compared with the callback's ``state``
before the code is redeemed; a mismatch is refused (it is how a forged or replayed callback
shows itself).
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from mailsite import mailbox_sql
from mailsite.mailbox_sql import ActionFailed, NotSignedIn, SignInFailed

log = logging.getLogger("mailsite")

View = Callable[..., HttpResponse]


def _to_signin(reason: str | None = None) -> HttpResponseRedirect:
    url = reverse("index")
    return redirect(f"{url}?{urlencode({'reason': reason})}" if reason else url)


def signed_in_only(view: View) -> View:
    """Run ``view`` for a signed-in visitor; anyone else (or a visitor whose tokens can no
    longer be refreshed) goes to the sign-in page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not mailbox_sql.signed_in(request.session):
            return _to_signin()
        try:
            return view(request, *args, **kwargs)
        except NotSignedIn as err:
            return _to_signin("expired" if err.reason else None)

    return wrapper


def _callback_url(request: HttpRequest) -> str:
    return settings.O365SQL_CALLBACK_URL or request.build_absolute_uri(reverse("callback"))


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    if mailbox_sql.signed_in(request.session):
        return redirect("inbox")
    # Only the site's own notices, chosen by a key: text from the URL is never shown.
    kind, text = SIGNIN_NOTICES.get(request.GET.get("reason", ""), ("", ""))
    return render(request, "mailsite/signin.html", {"reason": text, "reason_kind": kind})


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    state = secrets.token_urlsafe(32)
    request.session["oauth_state"] = state
    return redirect(mailbox_sql.authorization_url(callback_url=_callback_url(request), state=state))


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    expected = request.session.pop("oauth_state", None)
    state = request.GET.get("state", "")
    if not expected or not secrets.compare_digest(state, expected):
        log.warning("sign-in callback refused: state does not match the session")
        return render(
            request,
            "mailsite/error.html",
            {
                "title": "Sign-in refused",
                "message": "The sign-in response does not belong to this browser session "
                "(state mismatch).",
            },
            status=400,
        )
    if "error" in request.GET:
        reason = signin_error_text(request.GET["error"])
        return render(request, "mailsite/signin.html",
                      {"reason": reason, "reason_kind": "warning"}, status=401)
    code = request.GET.get("code")
    if not code:
        return HttpResponseBadRequest("the callback has no code")
    try:
        tokens = mailbox_sql.redeem_code(code, callback_url=_callback_url(request), state=state)
    except SignInFailed as err:
        return render(
            request,
            "mailsite/error.html",
            {"title": "Sign-in failed", "message": str(err)},
            status=401,
        )
    request.session.cycle_key()  # a new session key for the signed-in visitor (no fixation)
    mailbox_sql.store_tokens(request.session, tokens)
    request.session["o365sql_name"] = mailbox_sql.who(tokens)
    return redirect("inbox")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return _to_signin("signed-out")


@require_GET
@signed_in_only
def inbox(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("page", "1")
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        return HttpResponseBadRequest("page must be a number from 1")
    page, size = int(text), mailbox_sql.PAGE_SIZE
    rows = mailbox_sql.query(request.session, mailbox_sql.INBOX,
                             {"folder": "inbox", "offset": (page - 1) * size})
    return render(request, "mailsite/inbox.html", {
        "messages": rows[:size], "page": page, "has_next": len(rows) > size,
        "first": (page - 1) * size + 1 if rows else 0, "last": (page - 1) * size + len(rows[:size]),
        "previous_page": page - 1, "next_page": page + 1,
        "notice": _NOTICES.get(request.GET.get("done", ""))})


@require_GET
@signed_in_only
def message(request: HttpRequest) -> HttpResponse:
    item = request.GET.get("id", "")
    if not item:
        return HttpResponseBadRequest("which message? (?id=...)")
    rows = mailbox_sql.query(request.session, mailbox_sql.MESSAGE, {"id": item})
    if not rows:
        raise Http404("no such message in your mailbox")
    found = rows[0]
    found["To"] = mailbox_sql.addresses(found.pop("ToRecipients"))
    found["is_html"] = (found.get("Body_ContentType") or "").lower() == "html"
    response = render(request, "mailsite/message.html", {"m": found})
    # The body is someone else's HTML: shown in a sandboxed frame (no scripts, forms or
    # same-origin access) and, by this policy, without remote images or other loads.
    response["Content-Security-Policy"] = MESSAGE_POLICY
    return response


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


def _action(request: HttpRequest, sql: str, page: str, done: str) -> HttpResponse:
    """Run an action from a form (CSRF-checked by Django) and go back to ``page``."""
    item = request.POST.get("id", "")
    if not item:
        return HttpResponseBadRequest("the form names no item")
    try:
        mailbox_sql.act(request.session, sql,
                        {"id": item, "comment": request.POST.get("comment", "")})
    except ActionFailed as err:
        return render(request, "mailsite/error.html",
                      {"title": "Graph refused the action", "message": str(err)}, status=502)
    back = request.POST.get("back", "")
    query = {"done": done, **({"start": back} if back else {})}
    return redirect(f"{reverse(page)}?{urlencode(query)}")


@require_POST
@signed_in_only
def reply(request: HttpRequest) -> HttpResponse:
    return _action(request, mailbox_sql.REPLY, "inbox", "replied")


@require_POST
@signed_in_only
def accept(request: HttpRequest) -> HttpResponse:
    return _action(request, mailbox_sql.ACCEPT, "events", "accepted")


@require_GET
@signed_in_only
def contacts(request: HttpRequest) -> HttpResponse:
    rows = mailbox_sql.query(request.session, mailbox_sql.CONTACTS)
    for row in rows:
        row["Email"] = mailbox_sql.first_address(row.pop("EmailAddresses"))
    return render(request, "mailsite/contacts.html", {"contacts": rows})


@require_GET
@signed_in_only
def events(request: HttpRequest) -> HttpResponse:
    try:
        first = (
            date.fromisoformat(request.GET["start"])
            if request.GET.get("start")
            else datetime.now(UTC).date()
        )
    except ValueError:
        return HttpResponseBadRequest("start must be a date: YYYY-MM-DD")
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = start + timedelta(days=7)
    rows = mailbox_sql.query(request.session, mailbox_sql.EVENTS, {"start": start, "end": end})
    return render(
        request,
        "mailsite/events.html",
        {
            "events": rows,
            "start": start,
            "end": end,
            "previous": (first - timedelta(days=7)).isoformat(),
            "next": (first + timedelta(days=7)).isoformat(),
            "first": first.isoformat(),
            "notice": _NOTICES.get(request.GET.get("done", "")),
        },
    )
