"""The HTTP session msal talks to the identity platform through, with the CA pinned per request.

Stage: sign-in transport. ``PinnedCASession`` is handed to msal as ``http_client``; msal uses it
for discovery and every token call.

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
from typing import Any

import requests
import requests.adapters

from o365sql.auth.store import temp_state_root

__all__ = ["PinnedCASession", "ca_bundle_path"]


class PinnedCASession(requests.Session):
    """A ``requests.Session`` that sends ``verify`` and ``timeout`` with every request.

    Args:
        verify: a CA bundle path, or True for requests' default trust (which then does honour
            ``REQUESTS_CA_BUNDLE``, as users who only set that variable expect).
        timeout: seconds per request, or None for none.
    """

    def __init__(self, verify: str | bool = True, timeout: float | None = 60.0) -> None:
        super().__init__()
        self._pinned: str | bool = verify
        self._timeout = timeout
        # msal mounts the same adapter on its own session: one retry on connection errors.
        adapter = requests.adapters.HTTPAdapter(max_retries=1)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        if self._pinned is not True:
            kwargs.setdefault("verify", self._pinned)
        if self._timeout is not None:
            kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)

    def __repr__(self) -> str:
        return f"PinnedCASession(verify={self._pinned!r}, timeout={self._timeout!r})"


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
