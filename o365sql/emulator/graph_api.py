"""Graph v1.0 routing of the emulator (first, minimal cut).

Stage: emulator service. Receives an authenticated ``wire.EmuRequest`` from the server and
answers with a ``wire.EmuResponse``; raises ``errors.GraphError`` for Graph's errors.
"""

from __future__ import annotations

from .errors import GraphError
from .tenant import Tenant
from .wire import EmuRequest, EmuResponse


class GraphService:
    def __init__(self, tenant: Tenant, base_url: str) -> None:
        self.tenant = tenant
        self.base_url = base_url.rstrip("/")

    def handle(self, req: EmuRequest) -> EmuResponse:
        p = req.principal
        if req.path.rstrip("/").lower() in ("/me", "/me/messages") and p.user_id is None:
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        user = self.tenant.user(p.user_id or "")
        path = req.path.rstrip("/").lower()
        if req.method == "GET" and path == "/me" and user:
            return EmuResponse(200, {"@odata.context": f"{self.base_url}/$metadata#users/$entity", **user})
        if req.method == "GET" and path == "/me/messages" and user:
            return EmuResponse(200, {
                "@odata.context": f"{self.base_url}/$metadata#users('{user['id']}')/messages",
                "value": self.tenant.messages[user["id"]][:10]})
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{req.path.strip('/').split('/')[-1]}'.")
