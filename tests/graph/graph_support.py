"""Helpers for the Graph client's behaviour tests (imported by conftest.py and the tests)."""

from __future__ import annotations

from o365sql.emulator import Emulator
from o365sql.graph.client import GraphClient
from o365sql.graph.retry import RetryPolicy

#: Fast retries so the tests measure behaviour, not waiting.
FAST = RetryPolicy(max_attempts=4, max_total_wait=5.0, backoff_base=0.02, backoff_cap=0.1)


class Tokens:
    """A token provider handing out ``first`` until asked to refresh, then ``refreshed``.

    ``calls`` records each call's ``force_refresh`` flag.
    """

    def __init__(self, first: str, refreshed: str | None = None) -> None:
        self.current = first
        self.refreshed = refreshed if refreshed is not None else first
        self.calls: list[bool] = []

    def access_token(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        if force_refresh:
            self.current = self.refreshed
        return self.current


def make_client(emu: Emulator, token: str | Tokens, **kwargs: object) -> GraphClient:
    provider = token if isinstance(token, Tokens) else Tokens(token)
    kwargs.setdefault("retry", FAST)
    return GraphClient(emu.graph_url, provider, verify=emu.ca_path, **kwargs)  # type: ignore[arg-type]
