"""HTML of the emulator's sign-in pages: pick an account, consent, device code, admin consent,
the form_post hand-back, and Entra-style error pages.

Stage: identity (``identity/signin.py`` renders these). The element ids and names are stable so a script
or a headless browser can drive them:

* account picker: ``<form id="signin-form">`` with one ``<button name="user" value="{upn}"
  id="user-{n}">`` per user;
* consent: ``<form id="consent-form">`` with ``<button name="consent" value="accept"
  id="accept">`` and ``value="cancel" id="cancel"``; the scopes are ``<li class="scope">``;
* device code: ``<form id="devicecode-form">`` with ``<input name="otc" id="otc">`` and
  ``<button id="next">``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..server.transport import escape
from .directory import Person

_STYLE = """
body{font-family:"Segoe UI",Helvetica,Arial,sans-serif;background:#f2f2f2;margin:0}
main{max-width:440px;margin:60px auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 16px}
.brand{font-size:13px;color:#666;margin-bottom:20px}
button.account{display:block;width:100%;text-align:left;padding:12px;margin:6px 0;border:1px solid #ccc;background:#fff;cursor:pointer}
button.account:hover{background:#f0f6ff}
button.primary{background:#0067b8;color:#fff;border:0;padding:8px 24px;margin-right:8px;cursor:pointer}
button.secondary{background:#ccc;border:0;padding:8px 24px;cursor:pointer}
.upn{color:#555;font-size:13px}
.error{color:#a80000}
input[type=text]{width:100%;padding:8px;font-size:16px;margin:8px 0 16px}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>"
        "<div class=\"brand\">o365sql emulator &middot; Microsoft identity platform</div>"
        f"{body}</main></body></html>"
    )


def _hidden(fields: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )


def account_picker(action: str, flow: str, people: Iterable[Person], app_name: str,
                   hint: str | None) -> str:
    buttons = []
    for n, person in enumerate(people):
        selected = " autofocus" if hint and person.upn.lower() == hint.lower() else ""
        buttons.append(
            f'<button type="submit" class="account" name="user" value="{escape(person.upn)}" '
            f'id="user-{n}"{selected}>{escape(person.name)}<br>'
            f'<span class="upn">{escape(person.upn)}</span></button>'
        )
    body = (
        "<h1>Pick an account</h1>"
        f"<p>to continue to <b id=\"app-name\">{escape(app_name)}</b></p>"
        f'<form method="post" action="{escape(action)}" id="signin-form">'
        f"{_hidden({'flow': flow})}{''.join(buttons)}</form>"
    )
    return _page("Sign in to your account", body)


def consent(action: str, flow: str, person: Person, app_name: str, scopes: Iterable[str],
            admin: bool = False) -> str:
    items = "".join(f'<li class="scope">{escape(s)}</li>' for s in scopes)
    who = "" if admin else f'<p class="upn" id="signed-in-user">{escape(person.upn)}</p>'
    heading = "Permissions requested" + (" (for your organization)" if admin else "")
    body = (
        f"<h1>{heading}</h1>{who}"
        f"<p><b id=\"app-name\">{escape(app_name)}</b> would like to:</p><ul id=\"scopes\">{items}</ul>"
        f'<form method="post" action="{escape(action)}" id="consent-form">{_hidden({"flow": flow})}'
        '<button type="submit" class="primary" name="consent" value="accept" id="accept">Accept</button>'
        '<button type="submit" class="secondary" name="consent" value="cancel" id="cancel">Cancel</button>'
        "</form>"
    )
    return _page("Permissions requested", body)


def device_code_entry(action: str, error: str | None = None) -> str:
    message = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    body = (
        "<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>"
        f'{message}<form method="post" action="{escape(action)}" id="devicecode-form">'
        '<input type="text" name="otc" id="otc" autocomplete="off" placeholder="Code">'
        '<button type="submit" class="primary" id="next">Next</button></form>'
    )
    return _page("Enter code", body)


def done(message: str) -> str:
    return _page("Signed in", f'<h1>You are all set</h1><p id="done">{escape(message)}</p>')


def form_post(redirect_uri: str, fields: dict[str, str]) -> str:
    """The auto-submitting form of ``response_mode=form_post`` (as Entra sends it)."""
    return (
        "<html><head><title>Working...</title></head><body>"
        f'<form method="POST" name="hiddenform" action="{escape(redirect_uri)}">{_hidden(fields)}'
        "<noscript><p>Script is disabled. Click Submit to continue.</p>"
        '<input type="submit" value="Submit" /></noscript></form>'
        '<script language="javascript">document.forms[0].submit();</script></body></html>'
    )


def error(code: int, description: str) -> str:
    body = (
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f'<p class="error" id="error-code">AADSTS{code}: {escape(description)}</p>'
    )
    return _page("Sign in error", body)
