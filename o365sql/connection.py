"""The PEP 249 ``Connection``: it holds what one session of statements shares (properties,
catalog, token provider, Graph client) and hands it to cursors, which hand it to the execution
stage as an ``execution.Context``.

Nothing here talks to Graph or signs in when the connection is made: the token provider and the
Graph client are created on first use, so ``connect()`` never blocks and statements that need
no token (``EXEC GetOAuthAuthorizationURL``, ``EXPLAIN``) work without one.

Transactions: Graph has none, so ``commit()`` does nothing (PEP 249: "database modules that do
not support transactions should implement this method with void functionality") and
``rollback()`` raises ``NotSupportedError`` (PEP 249's own example of that error; a silent
rollback would claim an undo that never happens). The SQLAlchemy dialect overrides
``do_rollback`` so pooled connections still work.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from o365sql import exceptions
from o365sql.exceptions import InterfaceError, NotSupportedError, ProgrammingError
from o365sql.properties import Properties, parse_properties

if TYPE_CHECKING:
    from o365sql.auth.tokens import TokenProvider
    from o365sql.catalog import Catalog
    from o365sql.cursor import Cursor
    from o365sql.graph.client import GraphClient
    from o365sql.replica import ReplicaStore
    from o365sql.replica.owner import Owner

__all__ = ["Connection", "connect"]


def connect(
    dsn: str | None = None,
    *,
    token_provider: TokenProvider | None = None,
    catalog: Catalog | None = None,
    **props: Any,
) -> Connection:
    """Open a connection (no network traffic until the first statement needs Graph).

    Args:
        dsn: a CData-style connection string, ``"InitiateOAuth=GETANDREFRESH;OAuthClientId=..."``.
        token_provider: extension: an object with ``access_token(*, force_refresh=False)`` to
            use instead of signing in from the properties (e.g. a credential of your app).
        catalog: extension: the tables to expose instead of the shipped ones plus ``Location``.
        **props: connection properties as keywords (CData names in any case, or snake case);
            they override the same names in ``dsn``.

    Raises:
        ProgrammingError: an unknown property or a bad value (the message names it).
    """
    return Connection(parse_properties(dsn, props), token_provider=token_provider, catalog=catalog)


class _DeferredTokens:
    """Token provider handed to the Graph client: resolves the connection's provider on first use,
    so building the client (and a statement that never calls Graph) signs nobody in."""

    def __init__(self, connection: Connection) -> None:
        self._connection = weakref.ref(connection)

    def access_token(self, *, force_refresh: bool = False) -> str:
        connection = self._connection()
        if connection is None:
            raise InterfaceError("the connection is gone")
        return connection.token_provider.access_token(force_refresh=force_refresh)


class Connection:
    """A PEP 249 connection to Microsoft Graph (or the emulator).

    Attributes:
        properties: the parsed ``Properties`` (secrets masked in its repr).
        autocommit: always True: every statement takes effect at once in Graph.
    """

    # PEP 249 optional extension: the exception classes as connection attributes.
    Warning = exceptions.Warning
    Error = exceptions.Error
    InterfaceError = exceptions.InterfaceError
    DatabaseError = exceptions.DatabaseError
    DataError = exceptions.DataError
    OperationalError = exceptions.OperationalError
    IntegrityError = exceptions.IntegrityError
    InternalError = exceptions.InternalError
    ProgrammingError = exceptions.ProgrammingError
    NotSupportedError = exceptions.NotSupportedError

    def __init__(
        self,
        properties: Properties,
        *,
        token_provider: TokenProvider | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.properties = properties
        self._token_provider = token_provider
        self._catalog = catalog
        self._graph: GraphClient | None = None
        self._replica: ReplicaStore | None = None
        self._cursors: weakref.WeakSet[Cursor] = weakref.WeakSet()
        self._closed = False

    # -- lazily built collaborators ---------------------------------------------------------

    @property
    def token_provider(self) -> TokenProvider:
        """The sign-in stage's provider for this connection's properties (built on first use)."""
        self._check_open()
        if self._token_provider is None:
            self._token_provider = _token_provider_for(self.properties)
        return self._token_provider

    @property
    def catalog(self) -> Catalog:
        """The tables this connection exposes: the shipped schema plus ``Location``."""
        self._check_open()
        if self._catalog is None:
            from o365sql.catalog import load_catalog

            self._catalog = load_catalog(self.properties.location)
        return self._catalog

    @property
    def graph(self) -> GraphClient:
        """The Graph client of this connection (one HTTP session and pool)."""
        self._check_open()
        if self._graph is None:
            from o365sql.graph.client import GraphClient

            props = self.properties
            self._graph = GraphClient(
                props.graph_url,
                _DeferredTokens(self),
                verify=_verify(props),
                timeout=float(props.timeout) if props.timeout is not None else None,
                max_concurrency=props.max_concurrency,
            )
        return self._graph

    @property
    def replica_store(self) -> ReplicaStore:
        """The replica at CacheLocation (opened on first use; REPLICATE, AutoCache, Offline)."""
        self._check_open()
        if self._replica is None:
            from o365sql.replica import ReplicaStore

            self._replica = ReplicaStore(self.properties.cache_location, self._replica_owner())
        return self._replica

    def _replica_owner(self) -> Owner | None:
        """Whose rows this connection may read from a replica (replica/owner.py): the signed-in
        principal, from its token. Offline, only a token given as OAuthAccessToken is asked
        (any other would need the network); without one, the file is not checked."""
        from o365sql.replica.owner import token_owner

        props = self.properties
        if props.offline and not props.oauth_access_token:
            return None
        try:
            return token_owner(self.token_provider.access_token())
        except exceptions.Error:
            if props.offline:
                return None  # an expired token Offline: no sign-in, the file is not checked
            raise

    # -- PEP 249 ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def autocommit(self) -> bool:
        return True

    def cursor(self) -> Cursor:
        """A new cursor on this connection."""
        from o365sql.cursor import Cursor

        self._check_open()
        cur = Cursor(self)
        self._cursors.add(cur)
        return cur

    def commit(self) -> None:
        """Does nothing: Graph applies every change at once (no transactions)."""
        self._check_open()

    def rollback(self) -> None:
        """Always raises ``NotSupportedError``: Graph has no transactions to roll back."""
        self._check_open()
        raise NotSupportedError(
            "rollback is not supported: Microsoft Graph has no transactions and every "
            "statement took effect when it ran"
        )

    def close(self) -> None:
        """Close the connection and its cursors; closing again does nothing (as in sqlite3)."""
        if self._closed:
            return
        for cur in list(self._cursors):
            cur.close()
        if self._graph is not None:
            self._graph.close()
        if self._replica is not None:
            self._replica.close()
        self._closed = True

    def execute(
        self, operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> Cursor:
        """Extension (as in sqlite3 and CData): a new cursor with ``operation`` executed on it."""
        return self.cursor().execute(operation, parameters)

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<o365sql.Connection {state} to {self.properties.graph_url}>"

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the connection is closed")


def _verify(props: Properties) -> bool | str:
    """``verify=`` for requests: the ``SSLServerCert`` CA file, else the system's trust."""
    path = props.ssl_server_cert
    if not path:
        return True
    if not os.path.isfile(path):
        raise ProgrammingError(
            f"connection property SSLServerCert must name a PEM file of CA certificates; "
            f"{path!r} is not a file"
        )
    return path


def _token_provider_for(props: Properties) -> TokenProvider:
    """The sign-in stage's provider; a given ``OAuthAccessToken`` with ``InitiateOAuth=OFF``
    is used as it is (``auth/static.py``) when the sign-in stage does not handle it itself."""
    try:
        from o365sql.auth import token_provider
    except ImportError:
        pass  # no sign-in stage: only a given access token can be used (below)
    else:
        return token_provider(props)
    if props.oauth_access_token and props.initiate_oauth == "OFF":
        from o365sql.auth.static import StaticTokenProvider

        expires_at = None
        if props.oauth_token_timestamp is not None and props.oauth_expires_in is not None:
            expires_at = props.oauth_token_timestamp / 1000 + props.oauth_expires_in
        elif props.oauth_expires_in is not None:
            expires_at = time.time() + props.oauth_expires_in
        return StaticTokenProvider(props.oauth_access_token, expires_at=expires_at)
    raise NotSupportedError(
        "sign-in is not available in this build: pass OAuthAccessToken with InitiateOAuth=OFF"
    )
