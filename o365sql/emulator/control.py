"""Test-control endpoints under ``/_emulator/``, so other processes (the CLI, a web app under
test, a benchmark) can do what Python code does with the ``Emulator`` object.

Stage: ``router.py`` sends every ``/_emulator`` request here; these requests are not logged and
not subject to faults or limits. Bodies are JSON. Not part of any real Microsoft service.

    GET    /_emulator/info                        connection facts (as the CLI prints them)
    GET    /_emulator/log                         {"entries": [...], "counters": {...}}
    GET    /_emulator/counters
    POST   /_emulator/clear                       clear the log (also DELETE /_emulator/log)
    GET    /_emulator/config                      {"identity": {...}, "limits": {...}}
    POST   /_emulator/config                      {"identity": {...}, "limits": {...}}
    GET    /_emulator/faults                      the rules
    POST   /_emulator/faults                      a rule or a list: {"kind": "status", "status": 503, ...}
    DELETE /_emulator/faults[?id=N]               remove one rule or all (releasing what a hold keeps)
    GET    /_emulator/apps                        registered apps (no secrets)
    POST   /_emulator/apps                        register: {"client_id", "client_secret", "redirect_uris",
                                                  "certificates": [PEM], "delegated_scopes", "app_roles",
                                                  "public", "name"} → the app and its secret
    POST   /_emulator/token                       {"user", "scopes", "roles", "client_id", "lifetime"}
    POST   /_emulator/revoke                      {"user"}: revoke the user's refresh tokens
    POST   /_emulator/devicecode/approve          {"user_code", "user"}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, Protocol

from .identity.apps import AppRegistry, RegisteredApp
from .identity.grantstore import IdentityConfig
from .server.faults import FaultInjector
from .server.limits import MailboxThrottle
from .server.requestlog import LogEntry
from .server.transport import HttpRequest, HttpResponse, json_response


class ControlledEmulator(Protocol):
    """What the controls reach: the parts of ``runtime.Emulator`` a test may drive. A protocol,
    so that this module does not import the runtime that assembles it."""

    apps: AppRegistry
    faults: FaultInjector
    limits: MailboxThrottle

    @property
    def config(self) -> IdentityConfig: ...

    @property
    def log(self) -> list[LogEntry]: ...

    @property
    def counters(self) -> dict[str, Any]: ...

    def info(self) -> dict[str, Any]: ...

    def clear_log(self) -> None: ...

    def register_app(self, client_id: str | None = None, *, client_secret: str | None = None,
                     client_secrets: Iterable[str] | None = None, redirect_uris: Iterable[str] = (),
                     certificates: Iterable[str | bytes] = (),
                     delegated_scopes: str | Iterable[str] | None = None,
                     app_roles: str | Iterable[str] | None = None, public: bool = False,
                     name: str | None = None) -> RegisteredApp: ...

    def mint_token(self, user: str | None = None, scopes: str | Iterable[str] | None = None,
                   roles: str | Iterable[str] | None = None, client_id: str | None = None,
                   lifetime: float | None = None, audience: str = ...) -> str: ...

    def revoke_refresh_tokens(self, user: str) -> None: ...

    def approve_device_code(self, user_code: str, user: str) -> None: ...

    def expire_delta_tokens(self, scope_part: str = "") -> int: ...


class Controls:
    def __init__(self, emulator: ControlledEmulator) -> None:
        self.emu = emulator

    def handle(self, req: HttpRequest) -> HttpResponse:
        what = req.path[len("/_emulator"):].strip("/")
        method = req.method
        emu = self.emu
        if what == "info" and method == "GET":
            return json_response(200, emu.info())
        if what == "log":
            if method == "GET":
                return json_response(200, {"entries": [e.as_dict() for e in emu.log],
                                           "counters": _jsonable(emu.counters)})
            if method == "DELETE":
                emu.clear_log()
                return json_response(200, {"ok": True})
        if what == "counters" and method == "GET":
            return json_response(200, _jsonable(emu.counters))
        if what in ("clear", "log/clear") and method == "POST":
            emu.clear_log()
            return json_response(200, {"ok": True})
        if what == "config":
            if method == "POST":
                self._configure(_object(req))
            if method in ("GET", "POST"):
                return json_response(200, self._config())
        if what == "faults":
            return self._faults(req)
        if what == "apps":
            if method == "GET":
                return json_response(200, [a.describe() for a in emu.apps.all()])
            if method == "POST":
                return self._register(_object(req))
        if what == "token" and method == "POST":
            body = _object(req)
            token = emu.mint_token(user=body.get("user"), scopes=body.get("scopes"),
                                   roles=body.get("roles"), client_id=body.get("client_id"),
                                   lifetime=body.get("lifetime"))
            return json_response(200, {"access_token": token, "token_type": "Bearer"})
        if what == "delta/expire" and method == "POST":
            dropped = emu.expire_delta_tokens(str(_object(req).get("scope", "")))
            return json_response(200, {"dropped": dropped})
        if what == "revoke" and method == "POST":
            emu.revoke_refresh_tokens(str(_object(req)["user"]))
            return json_response(200, {"ok": True})
        if what == "devicecode/approve" and method == "POST":
            body = _object(req)
            emu.approve_device_code(str(body["user_code"]), str(body["user"]))
            return json_response(200, {"ok": True})
        return json_response(404, {"error": {"code": "NotFound",
                                             "message": f"No test-control endpoint {method} /_emulator/{what}"}})

    def _config(self) -> dict[str, Any]:
        return {"identity": self.emu.config.as_dict(), "limits": asdict(self.emu.limits.settings)}

    def _configure(self, body: dict[str, Any]) -> None:
        identity = dict(body.get("identity") or {})
        limits = dict(body.get("limits") or {})
        for key, value in body.items():
            if key in ("identity", "limits"):
                continue
            if hasattr(self.emu.limits.settings, key):
                limits[key] = value
            else:
                identity[key] = value
        self.emu.config.update(identity)
        self.emu.limits.configure(**limits)

    def _faults(self, req: HttpRequest) -> HttpResponse:
        faults = self.emu.faults
        if req.method == "POST":
            body = req.json()
            items = body if isinstance(body, list) else [body]
            added = [faults.add(**dict(item)).as_dict() for item in items]
            return json_response(200, added)
        if req.method == "DELETE":
            rule_id = req.query_params().get("id")
            if rule_id:
                faults.remove(int(rule_id))
            else:
                faults.clear()
            return json_response(200, {"ok": True})
        return json_response(200, [r.as_dict() for r in faults.rules])

    def _register(self, body: dict[str, Any]) -> HttpResponse:
        app = self.emu.register_app(
            body.get("client_id"), client_secret=body.get("client_secret"),
            client_secrets=body.get("client_secrets"), redirect_uris=body.get("redirect_uris", ()),
            certificates=[c.encode() if isinstance(c, str) else c
                          for c in body.get("certificates", ())],
            delegated_scopes=body.get("delegated_scopes"), app_roles=body.get("app_roles"),
            public=bool(body.get("public", False)), name=body.get("name"),
        )
        out = app.describe()
        # The caller needs the (possibly generated) secret once, like the portal shows it.
        out["client_secret"] = app.client_secret
        return json_response(200, out)


def _object(req: HttpRequest) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise TypeError("the request body must be a JSON object")
    return body


def _jsonable(counters: dict[str, Any]) -> dict[str, Any]:
    return {k: ({str(s): n for s, n in v.items()} if isinstance(v, dict) else v)
            for k, v in counters.items()}
