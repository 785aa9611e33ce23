"""A scripted "person at a browser" for the emulator's sign-in pages, for tests and demos.

Stage: test support (no part of the emulator's server). ``SignInBrowser`` fetches the authorize
URL, clicks the user's button on the account picker, accepts (or cancels) the consent page and
returns what the app's redirect URI would receive: the query, the fragment, or the fields of the
``form_post`` page. ``ScriptedBrowser`` plugs into ``webbrowser`` so msal's
``acquire_token_interactive`` can run unattended; it works in a background thread because
msal's listener only starts serving after ``open()`` returns (reference msal.md §1.7).

It trusts the emulator's CA per request (``verify=ca_path``), which ``REQUESTS_CA_BUNDLE``
cannot override.
"""

from __future__ import annotations

import html.parser
import threading
import webbrowser
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests


@dataclass
class Form:
    action: str
    method: str
    form_id: str | None
    name: str | None
    fields: dict[str, str] = field(default_factory=dict)  # hidden and text inputs
    buttons: list[dict[str, str]] = field(default_factory=list)  # name, value, id


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").upper(),
                                   a.get("id"), a.get("name")))
        elif tag == "input" and self.forms and a.get("name"):
            if a.get("type", "text") in ("hidden", "text"):
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1].buttons.append({"name": a.get("name", ""), "value": a.get("value", ""),
                                           "id": a.get("id", "")})


def parse_forms(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


@dataclass
class Landing:
    """What arrived at the redirect URI."""

    url: str  # the redirect URI (with query or fragment for those modes)
    params: dict[str, str]  # code/state/client_info/... or error/error_description/...
    mode: str  # "query", "fragment" or "form_post"


class SignInError(RuntimeError):
    """The flow stopped on an emulator page (an error page, or an unexpected page)."""

    def __init__(self, message: str, status: int, page: str) -> None:
        super().__init__(message)
        self.status = status
        self.page = page


class SignInBrowser:
    def __init__(self, ca_path: str, session: requests.Session | None = None) -> None:
        self.ca_path = ca_path
        self.session = session or requests.Session()

    def _request(self, method: str, url: str, data: dict[str, str] | None = None) -> requests.Response:
        return self.session.request(method, url, data=data, verify=self.ca_path,
                                    allow_redirects=False, timeout=30)

    def sign_in(self, auth_url: str, user: str | None = None, consent: bool = True) -> Landing:
        """Run the pages from ``auth_url`` to the redirect URI."""
        origin = _origin(auth_url)
        resp = self._request("GET", auth_url)
        for _ in range(10):
            if resp.status_code in (301, 302, 303, 307):
                location = urljoin(resp.url, resp.headers["Location"])
                if _origin(location) != origin:
                    return _landing_from_redirect(location)
                resp = self._request("GET", location)
                continue
            if resp.status_code != 200:
                raise SignInError(f"sign-in stopped with HTTP {resp.status_code}", resp.status_code, resp.text)
            forms = parse_forms(resp.text)
            form = forms[0] if forms else None
            if form is None:
                raise SignInError("sign-in page without a form", resp.status_code, resp.text)
            if form.name == "hiddenform":
                return Landing(form.action, dict(form.fields), "form_post")
            data = dict(form.fields)
            if form.form_id == "signin-form":
                choice = user or form.buttons[0]["value"]
                data["user"] = choice
            elif form.form_id == "consent-form":
                data["consent"] = "accept" if consent else "cancel"
            else:
                raise SignInError(f"unexpected form {form.form_id!r}", resp.status_code, resp.text)
            resp = self._request(form.method, urljoin(resp.url, form.action), data)
        raise SignInError("too many sign-in steps", resp.status_code, resp.text)

    def device_login(self, verification_uri: str, user_code: str, user: str,
                     consent: bool = True) -> str:
        """Enter a device code and sign in; returns the text of the final page."""
        resp = self._request("GET", verification_uri)
        form = parse_forms(resp.text)[0]
        data = dict(form.fields)
        data["otc"] = user_code
        resp = self._request("POST", urljoin(resp.url, form.action), data)
        for _ in range(4):
            if resp.status_code != 200:
                raise SignInError(f"device login stopped with HTTP {resp.status_code}",
                                  resp.status_code, resp.text)
            forms = parse_forms(resp.text)
            if not forms:
                return resp.text
            form = forms[0]
            data = dict(form.fields)
            if form.form_id == "signin-form":
                data["user"] = user
            else:
                data["consent"] = "accept" if consent else "cancel"
            resp = self._request("POST", urljoin(resp.url, form.action), data)
        return resp.text

    def deliver(self, landing: Landing) -> requests.Response:
        """Hand a landing to a local (plain HTTP) redirect URI, as the browser would."""
        if landing.mode == "form_post":
            return requests.post(landing.url, data=landing.params, timeout=30)
        return requests.get(landing.url, timeout=30)


class ScriptedBrowser(webbrowser.BaseBrowser):
    """A ``webbrowser`` browser that signs ``user`` in on a background thread."""

    def __init__(self, ca_path: str, user: str | None = None) -> None:
        super().__init__("o365sql-emulator-scripted")
        self.ca_path = ca_path
        self.user = user
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        thread = threading.Thread(target=self._drive, args=(url,), daemon=True)
        self.threads.append(thread)
        thread.start()
        return True

    def _drive(self, url: str) -> None:
        try:
            browser = SignInBrowser(self.ca_path)
            browser.deliver(browser.sign_in(url, self.user))
        except BaseException as err:  # noqa: BLE001 - reported to the test through .errors
            self.errors.append(err)


def _origin(url: str) -> tuple[str, str]:
    split = urlsplit(url)
    return split.scheme, split.netloc


def _landing_from_redirect(location: str) -> Landing:
    split = urlsplit(location)
    if split.fragment:
        return Landing(location, dict(parse_qsl(split.fragment, keep_blank_values=True)), "fragment")
    return Landing(location, dict(parse_qsl(split.query, keep_blank_values=True)), "query")
