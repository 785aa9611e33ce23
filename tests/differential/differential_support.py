"""Helpers the differential tests share: a world (connections and data) over a private
emulator for the duration of a test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from o365sql.emulator import Emulator


class Closable(Protocol):
    def close(self) -> None: ...


W = TypeVar("W", bound=Closable)


@contextmanager
def world_over_emulator(make: Callable[[Emulator], W], **tenant: Any) -> Iterator[W]:
    """``make(emulator)`` over a fresh emulator seeded with ``tenant``; closed afterwards."""
    with Emulator(**tenant) as emulator:
        world = make(emulator)
        try:
            yield world
        finally:
            world.close()


SCOPES = ["Mail.Read", "User.Read.All", "Calendars.Read", "Contacts.Read", "Group.Read.All"]


def delegated_properties(emulator: Emulator) -> dict[str, Any]:
    """Connection properties for the emulator's first user with every read scope."""
    token = emulator.mint_token(user=emulator.users[0], scopes=SCOPES)
    return {"GraphURL": emulator.graph_url, "AuthorityURL": emulator.authority,
            "AzureTenant": emulator.tenant_id, "SSLServerCert": emulator.ca_path,
            "OAuthAccessToken": token}
