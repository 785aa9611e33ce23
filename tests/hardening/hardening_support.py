"""Helpers of the hardening tests: connections, the settings of generated tests (fixed seed
under CI, exploring elsewhere), and the path segments the emulator received."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

from hypothesis import HealthCheck, settings

import o365sql
from o365sql.emulator import Emulator

#: CI draws the same examples every run, so a red CI reproduces; elsewhere hypothesis explores.
DERANDOMIZE = bool(os.environ.get("CI"))
SCOPES = ["Mail.Read", "User.Read.All", "Calendars.Read", "Contacts.Read", "Group.Read.All"]


def generated(examples: int) -> Any:
    """hypothesis settings for a generated test of ``examples`` examples."""
    return settings(max_examples=examples, deadline=None, derandomize=DERANDOMIZE,
                    database=None, suppress_health_check=list(HealthCheck))


def connect(emu: Emulator, **props: Any) -> Any:
    """A connection to ``emu`` with a delegated token of its first user."""
    token = emu.mint_token(user=emu.users[0], scopes=SCOPES)
    return o365sql.connect(**{"GraphURL": emu.graph_url, "AuthorityURL": emu.authority,
                              "AzureTenant": emu.tenant_id, "SSLServerCert": emu.ca_path,
                              "OAuthAccessToken": token, **props})


def segments(raw_path: str) -> list[str]:
    """A path as a server routes it: split on ``/`` as sent, each segment decoded alone."""
    return [unquote(s) for s in raw_path.split("/") if s]


def sent_paths(emu: Emulator) -> list[str]:
    """The still-encoded paths (below ``/v1.0``) of every Graph request the emulator logged,
    ``$batch`` members included."""
    paths: list[str] = []
    for entry in emu.log:
        if entry.kind == "batch":
            paths.extend("/" + str(inner["url"]).split("?")[0].lstrip("/") for inner in entry.inner)
        elif entry.kind == "graph":
            paths.append(entry.raw_path[len("/v1.0"):])
    return paths
