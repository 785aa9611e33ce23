"""One msal application object per (authority, client id, credential) per process.

Stage: sign-in plumbing. ``app_for(settings)`` hands the providers and procedures an
``AppHandle``; ``handle.bound_to(state)`` loads a token store's msal cache into the app, yields
the app, and puts the cache back into the state if msal changed it.

Credentials and cached tokens: msal files tokens by client id, not by the secret or certificate
that obtained them, so a token store filled with one credential would serve its tokens to any
other credential of the same client id. ``AppHandle.credential`` is a fingerprint of the
credential (see ``credential_fingerprint``): app-only tokens are kept in the store under it
(``bound_to(state, partition=…)``), and a person's tokens are only served silently to the
credential recorded with them (see ``providers``).

Why a registry: every msal ``ClientApplication`` fetches the authority's OpenID discovery
document when it is built, over a fresh TLS connection; reusing the app keeps that to once per
process and reuses one keep-alive session (see the measurements in the msal research note,
"Connection reuse"). The app's token cache is one ``SerializableTokenCache``; since
``deserialize`` replaces its whole content, binding it to a store under the handle's lock
keeps stores apart even when two of them use the same app.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from o365sql.auth.certificate import ClientCertificate, load_certificate
from o365sql.auth.settings import AuthSettings
from o365sql.auth.signin_errors import Redactor, error_from_exception, install_log_scrubber
from o365sql.auth.store import StoreState
from o365sql.auth.tls_session import PinnedCASession, TransientFailuresForgotten, ca_bundle_path

if TYPE_CHECKING:
    # msal ships no type information (no py.typed, no stubs): its objects are Any to mypy.
    import msal  # type: ignore[import-untyped]

__all__ = ["AppHandle", "app_for", "clear_registry", "credential_fingerprint"]


@dataclass(eq=False, repr=False)
class AppHandle:
    """An msal app with its token cache and the lock that serialises use of that cache."""

    app: msal.ClientApplication
    cache: msal.SerializableTokenCache
    lock: threading.RLock
    confidential: bool
    certificate: ClientCertificate | None
    #: ``credential_fingerprint`` of the secret or certificate ("public" for none).
    credential: str = "public"

    @contextlib.contextmanager
    def bound_to(self, state: StoreState, *, partition: str | None = None) -> Iterator[Any]:
        """Use the app with ``state``'s tokens; write msal's changes back into ``state``.

        Args:
            partition: use the msal cache kept under this name (app-only tokens, by
                credential fingerprint) instead of the store's main cache (a person's tokens).
        """
        with self.lock:
            text = state.msal_cache if partition is None else state.partitions.get(partition, "")
            self.cache.deserialize(text or None)
            try:
                yield self.app
            finally:
                if self.cache.has_state_changed:
                    if partition is None:
                        state.msal_cache = self.cache.serialize()
                    else:
                        state.partitions[partition] = self.cache.serialize()
                    state.dirty = True
                self.cache.deserialize(None)  # hold no tokens between uses

    def __repr__(self) -> str:
        kind = "confidential" if self.confidential else "public"
        return f"AppHandle({kind}, client_id={self.app.client_id!r})"


_REGISTRY: dict[tuple[Any, ...], AppHandle] = {}
_REGISTRY_LOCK = threading.Lock()


def credential_fingerprint(client_id: str, *, secret: str | None = None,
                           certificate: ClientCertificate | None = None) -> str:
    """A name for a credential that is safe to write into a token store.

    ``secret-<hex>``: SHA-256 over a label, the client id and the secret. Secrets the identity
    platform issues are about 40 random characters, so the hash does not let anyone find the
    secret; the label and client id keep it from matching a plain hash of the secret anywhere
    else. ``cert-<hex>``: SHA-256 over the label, the client id and the certificate (its PEM text
    as ``load_certificate`` re-encodes it); ``load_certificate`` has already checked that the private key given with it
    belongs to that certificate, so only a holder of the key arrives at this name.
    ``public``: no credential (a public client).
    """
    if certificate is not None:
        material, kind = certificate.certificate_pem.encode(), "cert"
    elif secret:
        material, kind = secret.encode(), "secret"
    else:
        return "public"
    digest = hashlib.sha256(b"o365sql credential v1\0" + client_id.encode() + b"\0" + material)
    return f"{kind}-{digest.hexdigest()[:40]}"


def _credential(settings: AuthSettings, client_id: str
                ) -> tuple[Any, str, ClientCertificate | None]:
    """msal's ``client_credential``, a non-secret fingerprint of it, and the certificate."""
    if settings.uses_certificate:
        cert = load_certificate(settings.cert_source, settings.cert_type,
                                settings.cert_password, settings.cert_subject)
        return cert.msal_credential(), credential_fingerprint(client_id, certificate=cert), cert
    if settings.client_secret:
        return (settings.client_secret,
                credential_fingerprint(client_id, secret=settings.client_secret), None)
    return None, "public", None


def app_for(settings: AuthSettings, *, doing: str = "signing in") -> AppHandle:
    """The process-wide msal app for these settings, built on first use.

    Raises:
        ProgrammingError: OAuthClientId missing, or a certificate that cannot be read.
        OperationalError: the authority could not be reached or does not know the tenant.
    """
    import msal

    install_log_scrubber()
    client_id = settings.require_client_id(doing)
    credential, fingerprint, cert = _credential(settings, client_id)
    verify = ca_bundle_path(settings.verify)
    key = (settings.authority.lower(), client_id, fingerprint, verify, settings.timeout)
    with _REGISTRY_LOCK:
        handle = _REGISTRY.get(key)
        if handle is not None:
            return handle
        cache = msal.SerializableTokenCache()
        # Instance discovery asks login.microsoftonline.com about the authority host; for any
        # other host (a national cloud's is in the list, the emulator's is not) it must be off,
        # or msal calls out to Microsoft first.
        well_known = settings.authority_hostname in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS
        common: dict[str, Any] = {
            "authority": settings.authority,
            "http_client": PinnedCASession(verify, settings.timeout),
            "http_cache": TransientFailuresForgotten(),
            "token_cache": cache,
            "instance_discovery": None if well_known else False,
        }
        try:
            if credential is not None:
                app: Any = msal.ConfidentialClientApplication(
                    client_id, client_credential=credential, **common)
            else:
                app = msal.PublicClientApplication(client_id, **common)
        except Exception as exc:  # noqa: BLE001 - msal: ValueError, requests, MsalServiceError
            raise error_from_exception(exc, doing, settings.authority,
                                       Redactor(settings.secrets())) from None
        handle = AppHandle(app=app, cache=cache, lock=threading.RLock(),
                           confidential=credential is not None, certificate=cert,
                           credential=fingerprint)
        _REGISTRY[key] = handle
        return handle


def clear_registry() -> None:
    """Forget every app (tests that restart an emulator on a reused port call this)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
