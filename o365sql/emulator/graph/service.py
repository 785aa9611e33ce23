"""Graph v1.0 routing of the emulator (emulator service stage).

The server authenticates a request and hands a ``wire.EmuRequest`` (path below ``/v1.0``) to
``GraphService.handle``, which dispatches by the first segments to the resource modules:
``/me`` and ``/users/{id|userPrincipalName}`` (case-insensitive) to the mailbox resources
(``graph.mail``, ``graph.calendar``, ``graph.contacts``) or the directory (``graph.directory``),
``/groups`` to the directory, ``/$batch`` to ``graph.batch``. Each mailbox request holds that
mailbox's lock; deliveries into other mailboxes run after it is released.

Errors are raised as ``errors.GraphError``; the server writes Graph's JSON for them.
"""

from __future__ import annotations

from ..errors import GraphError
from ..server.wire import EmuRequest, EmuResponse
from ..tenant.tenant import Tenant
from .context import Ctx, parse_prefer
from .delta import DeltaStore
from .permissions import (
    CALENDAR_READ,
    CONTACTS_READ,
    MAIL_READ,
    MAIL_SEND,
    Need,
    check_scopes,
)
from .uploads import UploadStore

MAIL = {"messages", "mailfolders", "sendmail"}
CALENDAR = {"events", "calendar", "calendars", "calendarview"}
CONTACTS = {"contacts", "contactfolders"}


def bad_segment(seg: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{seg}'.")


class GraphService:
    """Answers Graph requests against one seeded ``Tenant``."""

    def __init__(self, tenant: Tenant, base_url: str) -> None:
        self.tenant = tenant
        self.base_url = base_url.rstrip("/")
        self.delta = DeltaStore()  # delta-query tokens (graph.delta)
        # Large-attachment upload sessions; their URLs live beside the version root.
        self.uploads = UploadStore(tenant, self.base_url.rsplit("/", 1)[0])

    def upload(self, method: str, token: str, headers: dict[str, str], body: bytes) -> EmuResponse:
        """A request to an upload session's URL (``graph.uploads``)."""
        return self.uploads.put(token, method, headers, body, self._finish_upload)

    def _finish_upload(self, user_id: str, collection: str, item: str, item_url: str,
                       facts: dict[str, object]) -> str:
        """Add a finished upload's file to its message or event; its Graph URL."""
        from ..tenant import item_ids
        from . import attachments as graph_attachments
        from .calendar import find_event
        from .mail import find_message

        mb = self.tenant.mailbox(user_id)
        if mb is None:
            raise GraphError(404, "ErrorItemNotFound", "The item of the upload session no longer exists.")
        with mb.lock:
            owner = find_message(mb, item) if collection == "messages" else find_event(mb, item)[0]
            added = graph_attachments.attach(self.tenant.now(), owner, {
                "@odata.type": graph_attachments.FILE, **facts})
            kind = item_ids.ATTACHMENT if collection == "messages" else item_ids.EVENT_ATTACHMENT
            attachment = mb.item_id(kind, owner.serial, added["__n"])
            mb.version += 1
        return f"{item_url}/attachments('{attachment}')"

    def handle(self, req: EmuRequest) -> EmuResponse:
        ctx = Ctx(req, self, parse_prefer(req.headers.get("prefer", "")))
        segs = list(req.route_segments())
        if not segs:
            raise GraphError(400, "BadRequest", "Invalid request.")
        head = segs[0].lower()
        if head == "$batch" and len(segs) == 1:
            from . import batch as graph_batch

            return graph_batch.handle(ctx)
        if head == "me":
            principal = req.principal
            if principal.app_only:
                raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            user = self.tenant.user(principal.user_id or "")
            if user is None:
                raise GraphError(404, "Request_ResourceNotFound",
                                 f"Resource '{principal.user_id}' does not exist or one of its queried "
                                 "reference-property objects are not present.")
            return self._user_scope(ctx, user["id"], segs[1:], given=None)
        if head == "users":
            if len(segs) >= 3 and segs[2].lower() in MAIL | CALENDAR | CONTACTS:
                return self._user_scope(ctx, segs[1], segs[2:], given=segs[1])
            from . import directory as graph_directory

            return graph_directory.users(ctx, segs[1:])
        if head == "groups":
            from . import directory as graph_directory

            return graph_directory.groups(ctx, segs[1:])
        raise bad_segment(segs[0])

    def _user_scope(self, ctx: Ctx, key: str, rest: list[str], given: str | None) -> EmuResponse:
        from . import directory as graph_directory

        if not rest:
            user = self.tenant.user(key)
            assert user is not None
            return graph_directory.me(ctx, user)
        area = rest[0].lower()
        if area == "memberof":
            user = self.tenant.user(key)
            assert user is not None
            return graph_directory.member_of(ctx, user, rest[1:], f"{self.base_url}/$metadata#directoryObjects", True)
        if area in MAIL:
            need: Need = MAIL_SEND if area == "sendmail" else MAIL_READ
        elif area in CALENDAR:
            need = CALENDAR_READ
        elif area in CONTACTS:
            need = CONTACTS_READ
        else:
            raise bad_segment(rest[0])
        check_scopes(ctx.req.principal, need)
        mb = self.tenant.mailbox(key)
        if mb is None:
            # Exchange's answer for an unknown mailbox (user-findroomlists issue, docs#4097).
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        from .context import user_ref

        ref = user_ref(ctx, mb, given)
        with mb.lock:
            try:
                if area in MAIL:
                    from . import mail as graph_mail

                    response = graph_mail.route(ctx, mb, rest, ref)
                elif area in CALENDAR:
                    from . import calendar as graph_calendar

                    response = graph_calendar.route(ctx, mb, rest, ref)
                else:
                    from . import contacts as graph_contacts

                    response = graph_contacts.route(ctx, mb, rest, ref)
            finally:
                # Every write, refused ones too, retires what the query engine keeps for the
                # mailbox (results, counts, encoded items: keyed by this version).
                if ctx.method != "GET":
                    mb.version += 1
        for job in ctx.after:
            job()
        return response
