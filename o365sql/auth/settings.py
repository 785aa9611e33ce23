"""Sign-in settings: the connection properties the sign-in stage needs, checked and resolved.

Stage: first step of sign-in. ``AuthSettings.from_properties`` reads a ``Properties`` value (or
any object with the same attribute names) and hands on one frozen value with the authority,
the scope list msal accepts, the TLS trust setting and the credential inputs, so the rest of
``auth/`` never looks at raw properties again.

Decisions made here (documented in docs/architecture.md, "Sign-in"):

* Authority = ``AuthorityURL`` + ``/`` + ``AzureTenant``; the tenant defaults to ``common``
  for delegated sign-in and is required for app-only sign-in, because the identity platform
  refuses client credentials on ``common``
  (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
* Scopes: ``Scope`` is a space- (or comma-) separated list. The default is
  ``<Graph resource>/.default`` for both kinds of sign-in: for delegated sign-in that asks for
  every permission the app registration was granted, and msal adds ``offline_access openid
  profile`` itself (it refuses them in the list, so they are dropped from ``Scope`` here).
* ``OAuthGrantType`` (an o365sql reading of the CData property): ``CODE`` (default; browser
  sign-in through ``CallbackURL``), ``DEVICE_CODE`` (device-code sign-in for machines without
  a browser), ``CLIENT`` (client credentials; implied by the service-principal schemes).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from o365sql.exceptions import ProgrammingError

__all__ = ["APP_ONLY_SCHEMES", "DELEGATED", "RESERVED_SCOPES", "AuthSettings", "split_scopes"]

DELEGATED = "AzureAD"
APP_ONLY_SCHEMES = ("AzureServicePrincipal", "AzureServicePrincipalCert")
INITIATE_MODES = ("OFF", "GETANDREFRESH", "REFRESH")
GRANT_TYPES = ("CODE", "DEVICE_CODE", "CLIENT")
#: msal adds these to every user sign-in and raises ValueError when the caller passes them.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})

# Graph resource of each AzureEnvironment, for the default scope. Kept here rather than derived
# from GraphURL: against the emulator GraphURL is a loopback address, yet the scope must still
# name Graph. https://learn.microsoft.com/graph/deployments
_GRAPH_RESOURCE = {
    "GLOBAL": "https://graph.microsoft.com",
    "CHINA": "https://microsoftgraph.chinacloudapi.cn",
    "USGOVT": "https://graph.microsoft.us",
    "USGOVTDOD": "https://dod-graph.microsoft.us",
    "GERMANY": "https://graph.microsoft.de",
}


def split_scopes(text: str | None) -> tuple[str, ...]:
    """``"a b,c"`` → ``("a", "b", "c")``, keeping order and dropping duplicates."""
    seen: dict[str, None] = {}
    for part in (text or "").replace(",", " ").split():
        seen.setdefault(part, None)
    return tuple(seen)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _jwt_expiry(token: str) -> float | None:
    """``exp`` of a JWT access token, read without verifying it (only to fail early)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
    except (ValueError, TypeError):
        return None
    return float(exp) if isinstance(exp, (int, float)) else None


@dataclass(frozen=True, repr=False)
class AuthSettings:
    """Everything sign-in needs, resolved. ``repr`` shows no secret."""

    scheme: str
    initiate: str
    grant_type: str
    client_id: str | None
    authority_host: str
    tenant: str
    scopes: tuple[str, ...]
    callback_url: str | None
    settings_location: str | None
    verify: str | bool
    timeout: float | None
    client_secret: str | None = field(default=None)
    access_token: str | None = field(default=None)
    access_token_expires_at: float | None = field(default=None)
    refresh_token: str | None = field(default=None)
    verifier: str | None = field(default=None)
    cert_source: str | None = field(default=None)
    cert_type: str | None = field(default=None)
    cert_password: str | None = field(default=None)
    cert_subject: str | None = field(default=None)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_properties(cls, props: Any) -> AuthSettings:
        """Read ``props`` (``o365sql.properties.Properties`` or any object with its fields).

        Raises:
            ProgrammingError: a value sign-in cannot use, naming the property.
        """

        def get(name: str, default: Any = None) -> Any:
            value = getattr(props, name, default)
            return default if value is None else value

        scheme = _canonical(get("auth_scheme", DELEGATED), (DELEGATED, *APP_ONLY_SCHEMES),
                            "AuthScheme")
        initiate = _canonical(get("initiate_oauth", "OFF"), INITIATE_MODES, "InitiateOAuth")
        grant = _canonical(get("oauth_grant_type", "CODE"), GRANT_TYPES, "OAuthGrantType")
        if scheme in APP_ONLY_SCHEMES:
            grant = "CLIENT"
        environment = str(get("azure_environment", "GLOBAL")).upper()
        authority_host = (_text(get("authority_url")) or "https://login.microsoftonline.com")
        authority_host = authority_host.rstrip("/")
        if not authority_host.lower().startswith("https://"):
            raise ProgrammingError(
                f"AuthorityURL must be an https URL (msal refuses anything else), "
                f"got {authority_host!r}"
            )
        tenant = _text(get("azure_tenant"))
        if tenant is None:
            if scheme in APP_ONLY_SCHEMES:
                raise ProgrammingError(
                    f"AzureTenant is required with AuthScheme={scheme}: give the tenant id or "
                    "a verified domain such as contoso.onmicrosoft.com (app-only sign-in cannot "
                    "use the 'common' endpoint)"
                )
            tenant = "common"
        resource = _GRAPH_RESOURCE.get(environment, _GRAPH_RESOURCE["GLOBAL"])
        scopes = tuple(s for s in split_scopes(_text(get("scope"))) if s not in RESERVED_SCOPES)
        if not scopes:
            scopes = (f"{resource}/.default",)

        timeout_raw = get("timeout", 60)
        try:
            timeout = float(timeout_raw) if timeout_raw not in (None, "", 0, "0") else None
        except (TypeError, ValueError):
            raise ProgrammingError(f"Timeout must be a number of seconds, got {timeout_raw!r}") \
                from None

        access_token = _text(get("oauth_access_token"))
        expires_at: float | None = None
        if access_token:
            expires_in = get("oauth_expires_in")
            stamp_ms = get("oauth_token_timestamp")
            if expires_in not in (None, "") and stamp_ms not in (None, ""):
                expires_at = float(stamp_ms) / 1000.0 + float(expires_in)
            elif expires_in not in (None, ""):
                expires_at = time.time() + float(expires_in)
            else:
                expires_at = _jwt_expiry(access_token)

        callback = _text(get("callback_url"))
        if callback is not None and not callback.lower().startswith(("http://", "https://")):
            raise ProgrammingError(f"CallbackURL must be an http(s) URL, got {callback!r}")

        return cls(
            scheme=scheme,
            initiate=initiate,
            grant_type=grant,
            client_id=_text(get("oauth_client_id")),
            authority_host=authority_host,
            tenant=tenant,
            scopes=scopes,
            callback_url=callback,
            settings_location=_text(get("oauth_settings_location")),
            verify=_verify_setting(_text(get("ssl_server_cert"))),
            timeout=timeout,
            client_secret=_text(get("oauth_client_secret")),
            access_token=access_token,
            access_token_expires_at=expires_at,
            refresh_token=_text(get("oauth_refresh_token")),
            verifier=_text(get("oauth_verifier")),
            cert_source=_text(get("oauth_jwt_cert")),
            cert_type=_text(get("oauth_jwt_cert_type")),
            cert_password=get("oauth_jwt_cert_password"),
            cert_subject=_text(get("oauth_jwt_cert_subject")),
        )

    # ------------------------------------------------------------------ derived values
    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant}"

    @property
    def authority_hostname(self) -> str:
        return (urlsplit(self.authority_host).hostname or "").lower()

    @property
    def delegated(self) -> bool:
        return self.scheme == DELEGATED

    @property
    def uses_certificate(self) -> bool:
        return self.scheme == "AzureServicePrincipalCert" or (
            self.delegated and not self.client_secret and self.cert_source is not None
        )

    @property
    def confidential(self) -> bool:
        """True when the app proves who it is (secret or certificate): msal's confidential app."""
        return bool(self.client_secret) or self.uses_certificate

    def require_client_id(self, doing: str) -> str:
        if not self.client_id:
            raise ProgrammingError(
                f"OAuthClientId is required to {doing}: give the application (client) id of the "
                "app registration"
            )
        return self.client_id

    def secrets(self) -> tuple[str, ...]:
        """The secret values held here, for scrubbing text that leaves the driver."""
        values = (self.client_secret, self.access_token, self.refresh_token, self.verifier,
                  self.cert_password if isinstance(self.cert_password, str) else None)
        return tuple(v for v in values if v)

    def __repr__(self) -> str:
        return (
            f"AuthSettings(scheme={self.scheme!r}, initiate={self.initiate!r}, "
            f"grant_type={self.grant_type!r}, client_id={self.client_id!r}, "
            f"authority={self.authority!r}, scopes={' '.join(self.scopes)!r}, "
            f"settings_location={self.settings_location!r})"
        )

    __str__ = __repr__


def _canonical(value: Any, choices: tuple[str, ...], name: str) -> str:
    text = str(value).strip()
    for choice in choices:
        if choice.lower() == text.lower():
            return choice
    raise ProgrammingError(f"{name} must be one of {', '.join(choices)}, got {text!r}")


def _verify_setting(value: str | None) -> str | bool:
    """``SSLServerCert`` → requests' ``verify``: a CA file path, or True (the default trust).

    ``*`` (CData: accept any certificate) is refused rather than turned into ``verify=False``:
    tokens would then go to whoever answers.
    """
    if value is None:
        return True
    if value == "*":
        raise ProgrammingError(
            "SSLServerCert=* (accept any certificate) is not supported: give the path of the CA "
            "certificate file to trust"
        )
    return value
