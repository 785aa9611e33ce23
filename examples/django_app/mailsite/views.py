"""Views of the example site: sign-in with Microsoft, the callback, sign-out, the inbox,
contacts and events pages, and two actions: reply to a message, accept an invitation.

Stage: HTTP handling, on top of ``mailbox_sql`` (which runs all SQL). The sign-in state is a
random value per attempt, kept in the session and compared with the callback's ``state``
before the code is redeemed; a mismatch is refused (it is how a forged or replayed callback
shows itself).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
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
            return _to_signin(err.reason)

    return wrapper


def _callback_url(request: HttpRequest) -> str:
    return settings.O365SQL_CALLBACK_URL or request.build_absolute_uri(reverse("callback"))


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    if mailbox_sql.signed_in(request.session):
        return redirect("inbox")
    return render(request, "mailsite/signin.html", {"reason": request.GET.get("reason")})


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
        reason = request.GET.get("error_description") or request.GET["error"]
        return render(request, "mailsite/signin.html", {"reason": reason}, status=401)
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
    return redirect("inbox")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return _to_signin("You are signed out.")


@require_GET
@signed_in_only
def inbox(request: HttpRequest) -> HttpResponse:
    rows = mailbox_sql.query(request.session, mailbox_sql.INBOX, {"folder": "inbox"})
    return render(request, "mailsite/inbox.html",
                  {"messages": rows, "notice": _NOTICES.get(request.GET.get("done", ""))})


_NOTICES = {"replied": "Reply sent.", "accepted": "Invitation accepted."}


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
