"""Graph directory routes: /me, /users, /groups, members and memberOf (emulator service stage).

Directory collections use the USERS / GROUPS / GROUP_MEMBERS rules of the OData engine
(default property sets, ``$skiptoken`` paging, ConsistencyLevel rules, graph-semantics §3.9-3.11).
Unknown objects are 404 ``Request_ResourceNotFound`` (docs-contrib#6431 wording); a missing
permission is 403 ``Authorization_RequestDenied``.

Hands on: ``EmuResponse`` to ``graph.service``.
"""

from __future__ import annotations

from typing import Any

from ..errors import GraphError
from ..server.wire import EmuResponse
from .context import Ctx, collection, count, entity
from .permissions import (
    GROUPS_READ,
    MEMBER_OF,
    MEMBER_OF_SELF,
    USER_SELF,
    USERS_READ,
    check_scopes,
)

USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"


def resource_not_found(key: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of its "
                      "queried reference-property objects are not present.")


def _read_only(ctx: Ctx) -> None:
    if ctx.method != "GET":
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def me(ctx: Ctx, user: dict[str, Any]) -> EmuResponse:
    from ..odata.rules import USERS

    _read_only(ctx)
    check_scopes(ctx.req.principal, USER_SELF, directory=True)
    return entity(ctx, user, USERS, f"{ctx.base}/$metadata#users")


def users(ctx: Ctx, segs: list[str]) -> EmuResponse:
    """``segs`` follow ``/users`` and do not reach a mailbox resource."""
    from ..odata.rules import USERS

    _read_only(ctx)
    tenant = ctx.service.tenant
    principal = ctx.req.principal
    if not segs:
        check_scopes(principal, USERS_READ, directory=True)
        return collection(ctx, list(tenant.users), USERS, f"{ctx.base}/$metadata#users")
    if segs == ["$count"]:
        check_scopes(principal, USERS_READ, directory=True)
        return count(ctx, list(tenant.users), USERS)
    if len(segs) == 1 and segs[0].lower() == "delta":
        check_scopes(principal, USERS_READ, directory=True)
        from . import delta as graph_delta

        return graph_delta.directory_delta(ctx, "user", lambda: list(tenant.users))
    user = tenant.user(segs[0])
    own = not principal.app_only and user is not None and user["id"] == principal.user_id
    check_scopes(principal, USER_SELF if own else USERS_READ, directory=True)
    if user is None:
        raise resource_not_found(segs[0])
    if len(segs) == 1:
        return entity(ctx, user, USERS, f"{ctx.base}/$metadata#users")
    if segs[1].lower() == "memberof":
        return member_of(ctx, user, segs[2:], f"{ctx.base}/$metadata#directoryObjects", own)
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[1]}'.")


def member_of(ctx: Ctx, user: dict[str, Any], rest: list[str], context: str, own: bool) -> EmuResponse:
    from ..odata.rules import GROUP_MEMBERS

    _read_only(ctx)
    check_scopes(ctx.req.principal, MEMBER_OF_SELF if own else MEMBER_OF, directory=True)
    tenant = ctx.service.tenant
    groups = [{"@odata.type": GROUP_TYPE, **g} for g in tenant.groups
              if user["id"] in tenant.group_members.get(g["id"], [])]
    if rest == ["$count"]:
        return count(ctx, groups, GROUP_MEMBERS)
    if rest:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
    return collection(ctx, groups, GROUP_MEMBERS, context)


def groups(ctx: Ctx, segs: list[str]) -> EmuResponse:
    from ..odata.rules import GROUP_MEMBERS, GROUPS

    _read_only(ctx)
    check_scopes(ctx.req.principal, GROUPS_READ, directory=True)
    tenant = ctx.service.tenant
    if not segs:
        return collection(ctx, list(tenant.groups), GROUPS, f"{ctx.base}/$metadata#groups")
    if segs == ["$count"]:
        return count(ctx, list(tenant.groups), GROUPS)
    if len(segs) == 1 and segs[0].lower() == "delta":
        from . import delta as graph_delta

        def member_types(group_id: str) -> dict[str, str]:
            found = (_member(ctx, m) for m in tenant.group_members.get(group_id, []))
            return {str(m["id"]): str(m["@odata.type"]) for m in found if m is not None}
        return graph_delta.directory_delta(ctx, "group", lambda: list(tenant.groups), member_types)
    group = tenant.group(segs[0])
    if group is None:
        raise resource_not_found(segs[0])
    if len(segs) == 1:
        return entity(ctx, group, GROUPS, f"{ctx.base}/$metadata#groups")
    if segs[1].lower() == "members":
        found = (_member(ctx, m) for m in tenant.group_members.get(group["id"], []))
        members = [m for m in found if m is not None]
        if segs[2:] == ["$count"]:
            return count(ctx, members, GROUP_MEMBERS)
        if len(segs) > 2:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[2]}'.")
        return collection(ctx, members, GROUP_MEMBERS, f"{ctx.base}/$metadata#directoryObjects")
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[1]}'.")


def _member(ctx: Ctx, object_id: str) -> dict[str, Any] | None:
    tenant = ctx.service.tenant
    user = tenant.user(object_id)
    if user is not None:
        return {"@odata.type": USER_TYPE, **user}
    group = tenant.group(object_id)
    if group is not None:
        return {"@odata.type": GROUP_TYPE, **group}
    return None
