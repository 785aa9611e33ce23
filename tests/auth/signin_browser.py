"""A scripted person at a browser on the emulator's sign-in pages, and a runner for steps in
another Python process: shared by the sign-in tests."""

from __future__ import annotations

import html.parser
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


# ---------------------------------------------------------------------- the browser
@dataclass
class _Form:
    action: str
    method: str
    ident: str | None
    name: str | None
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value)


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(a.get("action", ""), a.get("method", "get").lower(),
                                    a.get("id"), a.get("name")))
        elif self.forms and tag == "input" and a.get("type") == "hidden":
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@dataclass
class BrowserVisit:
    """What the scripted browser saw: the pages, and where the sign-in sent it in the end."""

    pages: list[str] = field(default_factory=list)
    final_url: str | None = None  # the callback URL (query mode) or the form_post action
    final_fields: dict[str, str] = field(default_factory=dict)
    error_page: str | None = None


class Browser:
    """A person at a browser: picks ``user`` on the account picker and accepts (or cancels)
    the consent page, then lets the redirect or form_post reach the callback. Callback URLs on
    loopback are delivered; others (https://app.example/cb) are only recorded, as a web app
    would receive them."""

    def __init__(self, emu: Any, user: str | None = None, consent: bool = True) -> None:
        self.emu = emu
        self.user = user or emu.users[1]
        self.consent = consent
        self.visits: list[BrowserVisit] = []
        self.session = requests.Session()

    def __call__(self, url: str) -> bool:
        self.visit(url)
        return True

    def visit(self, url: str) -> BrowserVisit:
        response = self.session.get(url, verify=self.emu.ca_path, allow_redirects=False,
                                    timeout=30)
        return self.drive(response)

    def drive(self, response: requests.Response) -> BrowserVisit:
        """Go on from a page the browser shows (picker, consent, form_post, redirect)."""
        visit = BrowserVisit()
        self.visits.append(visit)
        for _ in range(10):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if target.startswith(self.emu.base_url):
                    response = self.session.get(target, verify=self.emu.ca_path,
                                                allow_redirects=False, timeout=30)
                    continue
                visit.final_url = target
                if _is_loopback(target):
                    requests.get(target, timeout=30)
                return visit
            page = _FormParser()
            page.feed(response.text)
            visit.pages.append(response.text)
            forms = {f.ident or f.name: f for f in page.forms}
            if "signin-form" in forms:
                form = forms["signin-form"]
                data = dict(form.fields, user=self.user)
            elif "consent-form" in forms:
                form = forms["consent-form"]
                data = dict(form.fields, consent="accept" if self.consent else "cancel")
            elif "hiddenform" in forms:  # response_mode=form_post: the page posts itself
                form = forms["hiddenform"]
                visit.final_url, visit.final_fields = form.action, dict(form.fields)
                if _is_loopback(form.action):
                    requests.post(form.action, data=form.fields, timeout=30)
                return visit
            else:
                visit.error_page = "".join(page.text)  # an error page, or "you are all set"
                return visit
            response = self.session.post(urljoin(response.url, form.action), data=data,
                                         verify=self.emu.ca_path, allow_redirects=False,
                                         timeout=30)
        raise AssertionError("the sign-in pages went round in circles")


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")


# ---------------------------------------------------------------------- other processes
def run_python(code: str, env_extra: dict[str, str] | None = None) -> Any:
    """Run ``code`` in a new Python process; return the JSON it prints last."""
    env = dict(os.environ, REQUESTS_CA_BUNDLE=SYSTEM_BUNDLE, **(env_extra or {}))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    if done.returncode:
        raise AssertionError(f"subprocess failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
