"""Graph contact routes: contacts and contact folders (emulator service stage).

``/contacts`` is the default Contacts folder; ``/contactFolders`` lists that folder's children
(v1.0 leaves the default folder out, graph-semantics §3.6-3.7); ``childFolders`` nest. Writes:
create 201, PATCH 200, DELETE 204 (§9). ``displayName`` is regenerated from the name fields when
they change and no displayName is given (contact.md).

Hands on: ``EmuResponse`` to ``graph.service``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import GraphError
from ..server.wire import EmuResponse
from ..tenant import item_ids
from ..tenant.contact_store import (
    CONTACT_PROPERTIES,
    EMAIL_SLOTS,
    ContactFolderRecord,
    ContactRecord,
    contact_folder_json,
    contact_json,
    normalise,
)
from . import attachments as graph_attachments
from .context import Ctx, collection, count, entity
from .extended import merge_extended
from .item_errors import bad_segment, malformed, not_found
from .permissions import CONTACTS_READ, CONTACTS_WRITE, check_mailbox

if TYPE_CHECKING:
    from ..tenant.tenant import Mailbox

IGNORED = {"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "parentFolderId"}


def _need(ctx: Ctx, mb: Mailbox, write: bool = False) -> None:
    check_mailbox(ctx.service.tenant, ctx.req.principal, mb, CONTACTS_WRITE if write else CONTACTS_READ)


def _decode(mb: Mailbox, text: str, kind: int) -> int:
    try:
        ident = item_ids.decode(text)
    except item_ids.MalformedId as exc:
        raise malformed() from exc
    if ident.mailbox != mb.key or ident.kind != kind:
        raise not_found()
    return ident.serial


def find_folder(mb: Mailbox, text: str) -> ContactFolderRecord:
    folder = mb.contacts.folders.get(_decode(mb, text, item_ids.CONTACT_FOLDER))
    if folder is None:
        raise not_found()
    return folder


def route(ctx: Ctx, mb: Mailbox, segs: list[str], ref: str) -> EmuResponse:
    users = f"{ctx.base}/$metadata#users('{ref}')"
    store = mb.contacts
    head = segs[0].lower()
    if head == "contacts":
        return _contacts(ctx, mb, store.folders[store.default], segs[1:], users + "/contacts")
    if head == "contactfolders":
        if len(segs) == 2 and segs[1].lower() == "delta":
            if ctx.method != "GET":
                raise graph_attachments.method_not_allowed()
            _need(ctx, mb)
            from . import delta as graph_delta

            return graph_delta.contact_folder_delta(ctx, mb)
        if len(segs) == 1 or segs[1] == "$count":
            return _folder_list(ctx, mb, store.default, users + "/contactFolders", segs[1:])
        folder = find_folder(mb, segs[1])
        path = f"{users}/contactFolders('{segs[1]}')"
        rest = segs[2:]
        while len(rest) >= 2 and rest[0].lower() == "childfolders" and rest[1] != "$count":
            child = find_folder(mb, rest[1])
            if child.parent != folder.serial:
                raise not_found()
            folder, path, rest = child, f"{path}/childFolders('{rest[1]}')", rest[2:]
        return _folder(ctx, mb, folder, rest, users + "/contactFolders", path)
    raise bad_segment(segs[0])


def _folder_list(ctx: Ctx, mb: Mailbox, parent: int, context: str, rest: list[str]) -> EmuResponse:
    from ..odata.rules import CONTACT_FOLDERS

    items = [contact_folder_json(mb, f) for f in mb.contacts.children(parent)]
    if rest == ["$count"]:
        _need(ctx, mb)
        return count(ctx, items, CONTACT_FOLDERS)
    if ctx.method == "GET":
        _need(ctx, mb)
        return collection(ctx, items, CONTACT_FOLDERS, context)
    if ctx.method == "POST":
        _need(ctx, mb, write=True)
        data = ctx.entity_body("contactFolder")
        name = data.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'DisplayName' is empty.")
        if data.get("parentFolderId"):
            parent = find_folder(mb, str(data["parentFolderId"])).serial
        _unique(mb, parent, name, None)
        folder = mb.contacts.add_folder(name, parent)
        entity_context = context.rsplit("/", 1)[0] + "/contactFolders" if context.endswith("/childFolders") else context
        return entity(ctx, contact_folder_json(mb, folder), CONTACT_FOLDERS, entity_context, status=201, select=False)
    raise graph_attachments.method_not_allowed()


def _unique(mb: Mailbox, parent: int, name: str, exclude: int | None) -> None:
    for f in mb.contacts.children(parent):
        if f.serial != exclude and f.display_name.lower() == name.lower():
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")


def _folder(ctx: Ctx, mb: Mailbox, folder: ContactFolderRecord, rest: list[str], context: str,
            path: str) -> EmuResponse:
    from ..odata.rules import CONTACT_FOLDERS

    if not rest:
        if ctx.method == "GET":
            _need(ctx, mb)
            return entity(ctx, contact_folder_json(mb, folder), CONTACT_FOLDERS, context)
        if ctx.method == "PATCH":
            _need(ctx, mb, write=True)
            data = ctx.entity_body("contactFolder")
            if "displayName" in data:
                if not isinstance(data["displayName"], str) or not data["displayName"].strip():
                    raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'DisplayName' is empty.")
                _unique(mb, folder.parent, str(data["displayName"]), folder.serial)
                folder.display_name = str(data["displayName"])
            return entity(ctx, contact_folder_json(mb, folder), CONTACT_FOLDERS, context, select=False)
        if ctx.method == "DELETE":
            _need(ctx, mb, write=True)
            if folder.serial == mb.contacts.default:
                raise GraphError(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
            doomed = set(mb.contacts.subtree(folder.serial))
            for c in [c for c in mb.contacts.contacts.values() if c.folder in doomed]:
                del mb.contacts.contacts[c.serial]
            for s in doomed:
                del mb.contacts.folders[s]
            return EmuResponse(204)
        raise graph_attachments.method_not_allowed()
    head = rest[0].lower()
    if head == "childfolders":
        return _folder_list(ctx, mb, folder.serial, path + "/childFolders", rest[1:])
    if head == "contacts":
        return _contacts(ctx, mb, folder, rest[1:], path + "/contacts")
    raise bad_segment(rest[0])


def _contacts(ctx: Ctx, mb: Mailbox, folder: ContactFolderRecord, rest: list[str], context: str) -> EmuResponse:
    from ..odata.rules import CONTACTS

    store = mb.contacts
    if not rest or rest == ["$count"]:
        items = [contact_json(mb, c) for c in store.in_folder(folder.serial)]
        if rest:
            _need(ctx, mb)
            return count(ctx, items, CONTACTS)
        if ctx.method == "GET":
            _need(ctx, mb)
            return collection(ctx, items, CONTACTS, context)
        if ctx.method == "POST":
            _need(ctx, mb, write=True)
            now = ctx.service.tenant.now()
            data = _fields(ctx.entity_body("contact"), {})
            created = ContactRecord(store.next_serial(), folder.serial, data[0], now, now, data[1])
            store.contacts[created.serial] = created
            return entity(ctx, contact_json(mb, created), CONTACTS, context, status=201, select=False)
        raise graph_attachments.method_not_allowed()
    if [r.lower() for r in rest] == ["delta"]:
        if ctx.method != "GET":
            raise graph_attachments.method_not_allowed()
        _need(ctx, mb)
        return _contact_delta(ctx, mb, folder)
    rec = store.contacts.get(_decode(mb, rest[0], item_ids.CONTACT))
    if rec is None or (folder.serial != rec.folder):
        raise not_found()
    if len(rest) > 1:
        raise bad_segment(rest[1])
    if ctx.method == "GET":
        _need(ctx, mb)
        return entity(ctx, contact_json(mb, rec), CONTACTS, context)
    if ctx.method == "PATCH":
        _need(ctx, mb, write=True)
        rec.data, cats = _fields(ctx.entity_body("contact"), rec.data, rec.categories)
        rec.categories = cats
        rec.change += 1
        rec.modified = ctx.service.tenant.now()
        return entity(ctx, contact_json(mb, rec), CONTACTS, context, select=False)
    if ctx.method == "DELETE":
        _need(ctx, mb, write=True)
        del store.contacts[rec.serial]
        return EmuResponse(204)
    raise graph_attachments.method_not_allowed()


def _contact_delta(ctx: Ctx, mb: Mailbox, folder: ContactFolderRecord) -> EmuResponse:
    """GET .../contactFolders/{id}/contacts/delta (§7, contact-delta.md): $select supported."""
    from . import delta as graph_delta

    return graph_delta.contact_delta(ctx, mb, folder.serial)


def _fields(data: dict[str, Any], current: dict[str, Any],
            categories: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    merged = dict(current)
    cats = list(categories or [])
    names_changed = False
    for key, value in data.items():
        if key.startswith("@odata.") or key in IGNORED:
            continue
        if key == "categories":
            cats = list(value or [])
            continue
        if key == "singleValueExtendedProperties":
            merged[key] = merge_extended(merged.get(key), value)
            continue
        if key in EMAIL_SLOTS:
            continue  # applied below, once emailAddresses itself is merged
        if key not in CONTACT_PROPERTIES:
            raise GraphError(400, "RequestBodyRead", f"The property '{key}' does not exist on type "
                             "'microsoft.graph.contact'. Make sure to only use property names that are defined by the type.")
        if key == "emailAddresses":
            value = [_email(e) for e in value or []]
        merged[key] = value
        names_changed |= key in ("givenName", "surname", "middleName")
    slots = [(EMAIL_SLOTS.index(k), v) for k, v in data.items() if k in EMAIL_SLOTS]
    if slots:
        # Writing a slot rewrites that entry of emailAddresses (null empties it).
        emails: list[dict[str, Any] | None] = list(merged.get("emailAddresses") or [])
        for slot, value in sorted(slots, key=lambda pair: pair[0]):
            emails.extend([None] * (slot + 1 - len(emails)))
            emails[slot] = _email(value) if value else None
        merged["emailAddresses"] = [e for e in emails if e]
    if names_changed and "displayName" not in data:
        merged["displayName"] = None  # regenerated from the name fields by normalise()
        merged["fileAs"] = None if "fileAs" not in data else merged.get("fileAs")
    return normalise(merged), cats


def _email(value: dict[str, Any]) -> dict[str, Any]:
    return {"name": value.get("name") or value.get("address"), "address": value.get("address")}
