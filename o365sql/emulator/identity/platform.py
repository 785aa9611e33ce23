"""The identity platform's shared state and its one way of answering with tokens.

Stage: identity. ``IdentityPlatform`` holds the directory, app registry, grant store and token
issuer; the token endpoint (``identity/grants.py``), the sign-in pages (``identity/signin.py``) and
``Emulator.mint_token`` all issue tokens through ``token_response``/``access_token`` so a minted
token is exactly what the token endpoint would have returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from . import aadsts
from .apps import AppRegistry
from .directory import Directory, Person
from .grantstore import GrantStore, IdentityConfig, RefreshGrant
from .scopes import full_uris
from .tokens import TokenIssuer, UserClaims, b64url

MULTI_TENANT = ("common", "organizations", "consumers")


class IdentityPlatform:
    def __init__(self, directory: Directory, apps: AppRegistry, store: GrantStore,
                 issuer: TokenIssuer, demo_password: str) -> None:
        self.directory = directory
        self.apps = apps
        self.store = store
        self.issuer = issuer
        self.demo_password = demo_password

    @property
    def config(self) -> IdentityConfig:
        return self.store.config

    def resolve_tenant(self, segment: str) -> str:
        """The tenant path segment as discovery should echo it: the GUID, or a multi-tenant alias."""
        low = segment.lower()
        if low in ("common", "organizations"):
            return low
        if self.directory.is_tenant(low):
            return self.directory.tenant_id
        raise aadsts.unknown_tenant(segment)

    def person(self, key: str | None) -> Person:
        person = self.directory.find(key)
        if person is None:
            raise aadsts.unknown_user(key or "")
        return person

    @staticmethod
    def claims_of(person: Person) -> UserClaims:
        return UserClaims(oid=person.oid, upn=person.upn, name=person.name)

    def client_info(self, person: Person) -> str:
        return b64url(json.dumps({"uid": person.oid, "utid": self.directory.tenant_id},
                                 separators=(",", ":")))

    def token_response(
        self,
        *,
        client_id: str,
        person: Person | None,
        graph: Iterable[str],
        echo: Iterable[str] = (),
        oidc: Iterable[str] = (),
        nonce: str | None = None,
        client_info: bool = True,
        roles: Iterable[str] = (),
        refresh_grant: RefreshGrant | None = None,
    ) -> dict[str, Any]:
        """The JSON of a successful token response (reference msal.md §5)."""
        config = self.store.config
        lifetime = int(config.access_token_lifetime)
        graph = list(graph)
        oidc = set(oidc)
        claims = self.claims_of(person) if person else None
        access = self.issuer.access_token(
            client_id=client_id, user=claims, scopes=graph, roles=roles, lifetime=lifetime
        )
        resp: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        }
        if person is not None:
            # msal caches the token under exactly these strings, so echo the client's spelling;
            # ".default" is expanded to the granted permissions, as Entra does.
            echoed = [e for e in echo if not e.endswith("/.default") and e != ".default"]
            resp["scope"] = " ".join(echoed or full_uris(graph))
        if config.refresh_in:
            resp["refresh_in"] = int(config.refresh_in)
        if person is not None and "offline_access" in oidc:
            now = time.time()
            if refresh_grant is not None and not config.rotate_refresh_tokens:
                pass  # the client keeps its refresh token
            else:
                resp["refresh_token"] = self.store.new_refresh(RefreshGrant(
                    client_id=client_id, user_oid=person.oid, graph=graph, oidc=oidc,
                    issued=refresh_grant.issued if refresh_grant else now, last_used=now,
                ))
        if person is not None and claims is not None and "openid" in oidc:
            resp["id_token"] = self.issuer.id_token(client_id=client_id, user=claims, nonce=nonce)
        if person is not None and client_info:
            resp["client_info"] = self.client_info(person)
        return resp
