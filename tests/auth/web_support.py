"""Helpers of the web-procedure tests: the connection string a web app's process uses, one
procedure call in a fresh process, and what to read back from URLs and Graph."""

from __future__ import annotations

import types
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from signin_browser import run_python

CALLBACK = "https://app.example/cb"

_STEP = """
    import json, os, types
    from o365sql.properties import parse_properties
    from o365sql import procedures
    context = types.SimpleNamespace(properties=parse_properties({dsn!r}), graph=None,
                                    connection=None)
    rows = procedures.get({name!r}).run(context, {args!r})
    print(json.dumps({{"pid": os.getpid(), "rows": rows}}))
"""


def dsn(emu: Any, store: str, **extra: str) -> str:
    """The confidential demo app's connection string, its tokens kept in ``store``."""
    values = {"OAuthClientId": emu.app.client_id, "OAuthClientSecret": emu.app.client_secret,
              "AuthorityURL": emu.base_url, "AzureTenant": emu.tenant_id,
              "SSLServerCert": emu.ca_path, "OAuthSettingsLocation": store, **extra}
    return ";".join(f"{k}='{v}'" for k, v in values.items())


def step(emu: Any, store: str, name: str, args: dict[str, Any], **extra: str) -> dict[str, Any]:
    """Runs one procedure in a new Python process: ``{"pid": ..., "rows": [...]}``."""
    result: dict[str, Any] = run_python(
        _STEP.format(dsn=dsn(emu, store, **extra), name=name, args=args))
    return result


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def context(p: Any) -> Any:
    """The execution context a procedure gets, for in-process calls."""
    return types.SimpleNamespace(properties=p, graph=None, connection=None)


def whoami(emu: Any, token: str) -> str:
    r = requests.get(emu.graph_url + "/me", headers={"Authorization": f"Bearer {token}"},
                     verify=emu.ca_path, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["userPrincipalName"])
