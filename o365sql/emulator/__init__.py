"""Offline emulator of Microsoft Graph v1.0 and the Microsoft identity platform.

``Emulator`` (defined in ``runtime.py``) serves both over HTTPS on 127.0.0.1::

    from o365sql.emulator import Emulator
    with Emulator(seed=1, port=0) as emu:
        emu.authority, emu.graph_url, emu.ca_path, emu.app.client_id, emu.app.client_secret

It is imported lazily, so importing the Graph side's modules (``o365sql.emulator.tenant.tenant``,
``server.wire``, ``errors``) does not load the server, TLS and JWT machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime import Emulator

__all__ = ["Emulator"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from .runtime import Emulator

        return Emulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
