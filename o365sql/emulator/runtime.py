"""``Emulator``: one running emulator of Microsoft Graph v1.0 and the identity platform.

Stage: the assembly point. Builds the seeded tenant (the Graph side's ``tenant.build_tenant``),
the identity platform (directory, apps, grants, token issuer), the limits, faults and request
log, and serves them over HTTPS on 127.0.0.1. ``o365sql.emulator.Emulator`` is this class.

    with Emulator(seed=1, port=0) as emu:
        emu.authority, emu.graph_url, emu.ca_path, emu.app.client_id, emu.app.client_secret

``anchor`` (a datetime or ISO 8601 text) is the moment the seeded data is laid out around: by
default now, or ``$O365SQL_EMULATOR_ANCHOR`` when set (the test suite pins it there).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from .control import Controls
from .identity.apps import AppRegistry, RegisteredApp, as_list
from .identity.directory import Directory
from .identity.grantstore import GrantStore, IdentityConfig
from .identity.platform import IdentityPlatform
from .identity.routes import IdentityService
from .identity.signin import SignIn
from .identity.tokens import GRAPH_RESOURCE, TokenIssuer
from .router import Router
from .server import tls
from .server.faults import FaultInjector
from .server.httpd import EmulatorHTTPServer
from .server.limits import MailboxThrottle
from .server.requestlog import LogEntry, RequestLog

if TYPE_CHECKING:
    from .graph.service import GraphService

DEMO_DELEGATED = [
    "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read",
    "User.ReadBasic.All", "User.Read.All", "Group.Read.All", "GroupMember.Read.All",
]
DEMO_ROLES = [
    "Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read.All",
    "Group.Read.All",
]
DEMO_REDIRECT_URIS = [
    "http://localhost:33333", "http://localhost:33333/callback",
    "http://127.0.0.1:*", "http://127.0.0.1:*/callback", "https://app.example/cb",
]
PUBLIC_REDIRECT_URIS = [
    "http://localhost", "http://127.0.0.1",
    "https://login.microsoftonline.com/common/oauth2/nativeclient",
]


def _guid(seed: int, label: str) -> str:
    digest = hashlib.sha256(f"o365sql-emulator:{seed}:{label}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _secret(seed: int, label: str) -> str:
    # Entra's generated secrets look like "abC8Q~..."; this one is fixed per seed so that
    # examples and demos can be repeated. It protects nothing real.
    digest = hashlib.sha256(f"o365sql-emulator-secret:{seed}:{label}".encode()).digest()
    return "emu8Q~" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:34]


class Emulator:
    """A running emulator (started by the constructor; ``stop()`` or ``with`` ends it)."""

    demo_password = "Emulator-Passw0rd!"

    def __init__(self, seed: int = 1, port: int = 0, host: str = "127.0.0.1", *,
                 state_dir: str | None = None, anchor: datetime | str | None = None,
                 **tenant_options: Any) -> None:
        from .tenant.build import build_tenant

        self.seed = seed
        self.tenant = build_tenant(seed=seed, anchor=anchor, **tenant_options)
        self.anchor = self.tenant.anchor
        self.directory = Directory.from_tenant(self.tenant)
        self.tenant_id = self.directory.tenant_id
        material = tls.material()
        self.ca_path = str(tls.copy_ca(state_dir) if state_dir else material.ca_path)

        # Bound first (port 0 picks a free one); its router is set in _assemble, before serving.
        self._server = EmulatorHTTPServer((host, port), context=material.server_context())
        self.host = host
        self.port = int(self._server.server_address[1])
        self.base_url = f"https://{host}:{self.port}"
        self.graph_url = self.base_url + "/v1.0"
        self.authority = f"{self.base_url}/{self.tenant_id}"

        try:
            self._assemble(seed, material)
        except BaseException:
            self._server.server_close()
            raise
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=f"o365sql-emulator-{self.port}", daemon=True)
        self._thread.start()
        self._stopped = False

    def _assemble(self, seed: int, material: tls.Material) -> None:
        self.apps = AppRegistry(self.directory.primary_domain)
        self.app = self.apps.add(RegisteredApp(
            client_id=_guid(seed, "confidential-app"), name="o365sql demo app",
            client_secrets=[_secret(seed, "confidential-app")],
            certificates=[material.app_cert_path.read_bytes()],
            redirect_uris=list(DEMO_REDIRECT_URIS), delegated_scopes=list(DEMO_DELEGATED),
            app_roles=list(DEMO_ROLES), cert_path=str(material.app_cert_path),
            key_path=str(material.app_key_path), thumbprint=material.app_thumbprint,
        ))
        self.public_app = self.apps.add(RegisteredApp(
            client_id=_guid(seed, "public-app"), name="o365sql desktop (public client)",
            public=True, redirect_uris=list(PUBLIC_REDIRECT_URIS),
            delegated_scopes=list(DEMO_DELEGATED),
        ))
        self.store = GrantStore()
        self.issuer = TokenIssuer(material.signing_key_path, self.tenant_id, self.base_url)
        self.idp = IdentityPlatform(self.directory, self.apps, self.store, self.issuer,
                                    self.demo_password)
        self._signin = SignIn(self.idp)
        self.faults = FaultInjector(seed)
        self.limits = MailboxThrottle(self._mailbox_key)
        self._log = RequestLog()
        self._graph = self._make_graph()
        controls = Controls(self)
        self._server.router = Router(
            issuer=self.issuer, identity=IdentityService(self.idp), graph=lambda: self._graph,
            throttle=self.limits, faults=self.faults, requestlog=self._log,
            control=controls.handle, base_url=self.base_url,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<Emulator {self.base_url} tenant={self.tenant_id} seed={self.seed} {state}>"

    def _make_graph(self) -> GraphService:
        from .graph.service import GraphService

        return GraphService(self.tenant, base_url=self.graph_url)

    def _mailbox_key(self, mailbox: str) -> str:
        person = self.directory.find(mailbox)
        return person.oid.lower() if person else mailbox.lower()

    # -- people and apps ---------------------------------------------------------------------

    @property
    def users(self) -> list[str]:
        """UPNs of the users who can sign in."""
        return [p.upn for p in self.directory.people]

    @property
    def config(self) -> IdentityConfig:
        return self.store.config

    def register_app(
        self,
        client_id: str | None = None,
        *,
        client_secret: str | None = None,
        client_secrets: Iterable[str] | None = None,
        redirect_uris: Iterable[str] = (),
        certificates: Iterable[str | bytes] = (),
        delegated_scopes: str | Iterable[str] | None = None,
        app_roles: str | Iterable[str] | None = None,
        public: bool = False,
        name: str | None = None,
    ) -> RegisteredApp:
        """Register (or replace) an app. ``certificates``: PEM text/bytes or paths to PEM files.
        A confidential app with neither secret nor certificate gets a generated secret."""
        secrets_list = list(client_secrets or [])
        if client_secret:
            secrets_list.insert(0, client_secret)
        pems = [_read_pem(c) for c in certificates]
        if not public and not secrets_list and not pems:
            secrets_list.append(_secret(self.seed, str(uuid.uuid4())))
        app = RegisteredApp(
            client_id=client_id or str(uuid.uuid4()), name=name or "registered app",
            public=public, client_secrets=secrets_list, certificates=pems,
            redirect_uris=list(redirect_uris),
            delegated_scopes=as_list(delegated_scopes) if delegated_scopes is not None else list(DEMO_DELEGATED),
            app_roles=as_list(app_roles),
        )
        if pems:
            app.thumbprint = _sha1_hex(pems[0])
        return self.apps.add(app)

    def scope_app(self, mailboxes: Iterable[str], *, client_id: str | None = None,
                  access_right: str = "RestrictAccess") -> None:
        """An application access policy (``New-ApplicationAccessPolicy``): with
        ``RestrictAccess`` the app (default: the demo app) opens only ``mailboxes`` (UPNs or
        object ids) app-only, with ``DenyAccess`` every mailbox but those; the others answer
        403 ``ErrorAccessDenied`` (``tenant/access_policies.py``)."""
        owners = []
        for mailbox in mailboxes:
            user = self.tenant.user(mailbox)
            if user is None:
                raise ValueError(f"no user {mailbox!r} in the tenant")
            owners.append(str(user["id"]))
        self.tenant.access_policies.add(client_id or self.app.client_id, frozenset(owners),
                                        access_right)

    def unscope_app(self, client_id: str | None = None) -> None:
        """Remove the app's access policies (``Remove-ApplicationAccessPolicy``); with no
        ``client_id``, the demo app's."""
        self.tenant.access_policies.remove(client_id or self.app.client_id)

    # -- tokens ------------------------------------------------------------------------------

    def mint_token(self, user: str | None = None, scopes: str | Iterable[str] | None = None,
                   roles: str | Iterable[str] | None = None, client_id: str | None = None,
                   lifetime: float | None = None, audience: str = GRAPH_RESOURCE) -> str:
        """An access token signed exactly as the token endpoint signs them. ``user`` = UPN (a
        delegated token with ``identity.scopes``, default the app's delegated scopes) or None (app-only
        with ``roles``, default the app's roles). A negative ``lifetime`` gives an expired token."""
        app = self.apps.get(client_id) if client_id else self.app
        life = self.config.access_token_lifetime if lifetime is None else lifetime
        if user is not None:
            person = self.idp.person(user)
            granted = as_list(scopes) if scopes is not None else list(app.delegated_scopes)
            granted = [s.rsplit("/", 1)[-1] for s in granted]
            return self.issuer.access_token(client_id=app.client_id, user=self.idp.claims_of(person),
                                            scopes=granted, roles=as_list(roles), lifetime=life,
                                            audience=audience)
        granted_roles = as_list(roles) if roles is not None else list(app.app_roles)
        return self.issuer.access_token(client_id=app.client_id, user=None, roles=granted_roles,
                                        lifetime=life, audience=audience)

    def revoke_refresh_tokens(self, user: str) -> None:
        """Invalidate the user's refresh tokens and browser sessions (AADSTS50173 afterwards)."""
        self.store.revoke(self.idp.person(user).oid)

    def expire_delta_tokens(self, scope_part: str = "") -> int:
        """Forget the delta tokens (all, or those of scopes containing ``scope_part``, such as a
        user id), as Exchange drops old tokens from its bounded cache: calling their links
        then answers 410 ``syncStateNotFound``. Returns how many were dropped."""
        return int(self._graph.delta.forget(scope_part))

    def approve_device_code(self, user_code: str, user: str) -> None:
        """Approve a pending device code as ``user`` (what /devicelogin does)."""
        self._signin.approve_device_code(user_code, user)

    # -- log ---------------------------------------------------------------------------------

    @property
    def log(self) -> list[LogEntry]:
        return self._log.entries()

    def clear_log(self) -> None:
        """Forget the log, its counters and the concurrency high-water marks."""
        self._log.clear()
        self.limits.clear_peaks()

    @property
    def counters(self) -> dict[str, Any]:
        """The log's counters plus ``mailbox_concurrency`` (``MailboxThrottle.peaks``)."""
        return {**self._log.counters(), "mailbox_concurrency": self.limits.peaks()}

    def info(self) -> dict[str, Any]:
        """What a client needs to connect (the CLI prints this as one JSON line)."""
        return {
            "base_url": self.base_url, "graph_url": self.graph_url, "authority": self.authority,
            "tenant_id": self.tenant_id, "ca_path": self.ca_path,
            "client_id": self.app.client_id, "client_secret": self.app.client_secret,
            "redirect_uris": list(self.app.redirect_uris),
            "public_client_id": self.public_app.client_id,
            "cert_path": self.app.cert_path, "key_path": self.app.key_path,
            "thumbprint": self.app.thumbprint, "users": self.users,
            "demo_password": self.demo_password,
            "anchor": self.anchor.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _read_pem(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    if "-----BEGIN" in value:
        return value.encode("ascii")
    return Path(value).read_bytes()


def _sha1_hex(pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(pem)
    return cert.fingerprint(hashes.SHA1()).hex().upper()
