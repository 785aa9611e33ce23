"""How the Spark side opens o365sql connections: one per task (and one on Spark's driver to plan).

Stage: the seam between Spark and the PEP 249 surface. Each task builds its connection from the
connection properties the reader carries (they reach executors inside the pickled reader, never
in a partition, the schema or an option Spark prints), signs in app-only with msal as
``o365sql.connect`` would (msal keeps one app object per process, so tasks in a reused Python
worker share its token), and paces its requests when a budget is set (``budget.py``).
"""

from __future__ import annotations

from ..auth import token_provider
from ..connection import Connection
from ..properties import Properties
from .budget import PacedTokens


def open_connection(properties: Properties, rate: float | None = None) -> Connection:
    """A connection signing in with ``properties``; ``rate`` caps its requests a second."""
    tokens = token_provider(properties)
    if rate is not None:
        tokens = PacedTokens(tokens, rate)
    return Connection(properties, token_provider=tokens)
