"""The HTTP session msal talks to the identity platform through, with the CA pinned per request.

Stage: sign-in transport. ``PinnedCASession`` is handed to msal as ``http_client``; msal uses it
for discovery and every token call, with the Graph client's retry policy and deadlines.

Why a subclass and not ``Session.verify``: requests lets ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE`` override ``Session.verify`` (``Session.merge_environment_settings``; open
upstream as https://github.com/psf/requests/issues/3829), so a session told to trust the
emulator's CA still fails with ``SSLError`` on machines that export the variable. A ``verify=``
passed with each request wins over the environment, while proxy variables keep working.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from typing import Any

import requests

from o365sql.auth.store import temp_state_root
from o365sql.graph.deadline import Deadline, DeadlineAdapter, deadline
from o365sql.graph.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after

__all__ = ["PinnedCASession", "SignInUnavailable", "TransientFailuresForgotten", "ca_bundle_path"]


class PinnedCASession(requests.Session):
    """A ``requests.Session`` that sends ``verify`` with every request, retries like the Graph
    client, and ends every call at its deadline.

    Each call (discovery, ``/token``, ``/devicecode``) follows the Graph client's one retry
    policy (``graph/retry.py``): 429, 503, 504 and dropped connections are tried again,
    honouring ``Retry-After`` (fractional too), all within ``timeout`` seconds from the first
    attempt; connecting, waiting and reading are cut off at that deadline, however slowly the
    server answers (``graph/deadline.py``). When the retries run out, the call raises
    ``SignInUnavailable`` with the last answer's facts; when the deadline passes,
    ``requests.exceptions.Timeout``.

    Args:
        verify: a CA bundle path, or True for requests' default trust (which then does honour
            ``REQUESTS_CA_BUNDLE``, as users who only set that variable expect).
        timeout: seconds per call, retries included, or None for none.
        retry: the retry policy (default: the Graph client's).
    """

    def __init__(self, verify: str | bool = True, timeout: float | None = 60.0,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__()
        self._pinned: str | bool = verify
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        # The retry policy below replaces urllib3's; connections obey the call's deadline.
        adapter = DeadlineAdapter(max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        if self._pinned is not True:
            kwargs.setdefault("verify", self._pinned)
        state = self._retry.start(self._timeout)
        state.begin()
        while True:
            remaining = state.remaining()
            if remaining is not None:
                kwargs["timeout"] = remaining
            watch: Deadline | None = None
            try:
                with deadline(remaining) as watch:
                    response = super().request(method, url, *args, **kwargs)
                    _ = response.content  # read within the deadline; a drop is retried here
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ReadTimeout) as exc:
                if state.expired() or (watch is not None and watch.passed):
                    raise requests.exceptions.Timeout(
                        f"the sign-in call timed out after {self._timeout:g} s (the Timeout "
                        "connection property bounds each call, retries included)") from None
                delay = state.next_delay(type(exc).__name__)
                if delay is None:
                    raise
                time.sleep(delay)
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
            delay = state.next_delay(str(response.status_code),
                                     parse_retry_after(response.headers.get("Retry-After")))
            if delay is None:
                raise SignInUnavailable(response, state.summary(), state.past_deadline)
            response.close()
            time.sleep(delay)

    def __repr__(self) -> str:
        return f"PinnedCASession(verify={self._pinned!r}, timeout={self._timeout!r})"


class SignInUnavailable(requests.exceptions.RequestException):
    """The identity platform still answered 429/503/504 when the retries ran out: the
    message carries its status, OAuth error, AADSTS description and trace ids, and the
    retries made. Raised instead of handing msal the answer, which msal would remember and
    replay to later calls (``TransientFailuresForgotten``)."""

    def __init__(self, response: requests.Response, retries: str, past_deadline: bool) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        facts = [f"HTTP {response.status_code}"]
        if body.get("error"):
            facts.append(str(body["error"]))
        description = str(body.get("error_description") or "").splitlines()
        text = ", ".join(facts) + (f": {description[0][:300]}" if description else "")
        ids = [f"{label} {body[key]}" for key, label in (("trace_id", "trace id"),
                                                          ("correlation_id", "correlation id"))
               if body.get(key)]
        if ids:
            text += f" ({', '.join(ids)})"
        when = " before the Timeout" if past_deadline else ""
        super().__init__(f"{text}, still {retries}{when}", response=response)


class TransientFailuresForgotten(dict[str, Any]):
    """msal's ``http_cache`` without its memory of failures: msal caches a 429/5xx answer
    of the token endpoint and replays it to every later call for ``Retry-After`` seconds (5
    when absent; ``msal/throttled_http_client.py``), across connections that share the app.
    ``PinnedCASession`` has already retried such an answer within ``Timeout``, so a later
    call must try again rather than fail from memory. Other entries (discovery documents,
    the 400 "UI required" answers) are kept."""

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(key, str) and key.endswith("429/5xx/Retry-After"):
            return
        super().__setitem__(key, value)


def ca_bundle_path(value: str | bool) -> str | bool:
    """``SSLServerCert`` may be a file path or the PEM text itself; requests needs a path.

    PEM text is written once per content to a private file in ``$TMPDIR/o365sql-<uid>`` (made
    0700 and owner-checked by the token store, which keeps pending sign-ins there too).
    """
    if not isinstance(value, str) or "-----BEGIN" not in value:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:24]
    directory = str(temp_state_root())
    path = os.path.join(directory, f"ca-{digest}.pem")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ca-")
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        os.replace(tmp, path)
    return path
