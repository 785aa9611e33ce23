"""Every structural property of the v1.0 entity types the emulator serves is selectable on its
collection, with a value of the CSDL type (or is in a refusal list Graph documents).

The contract is read from the v1.0 CSDL: ``graph-v1.0-metadata.xml`` in the shared reference
when it exists, otherwise the CSDL subset the repository carries (``tests/catalog/csdl_subset.json``,
generated from the same file by ``tools/gen_schema.py``). The documented refusals are written
here from graph-semantics.md, not read from the emulator, so the emulator is checked against
Graph rather than against itself. The behaviour tests go over real HTTPS to the session emulator.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from o365sql.emulator import Emulator
from o365sql.emulator.odata.schema import COMPLEX, ENTITIES, ENUMS, PropType

REFERENCE = Path("/work/shared/reference/graph-v1.0-metadata.xml")
SUBSET = Path(__file__).resolve().parents[1] / "catalog" / "csdl_subset.json"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@dataclass(frozen=True)
class Prop:
    """One CSDL property: ``type`` as ``Edm.String`` / ``importance`` / ``Collection(recipient)``
    (namespace prefixes dropped); ``nullable`` False only where the CSDL says so."""

    type: str
    nullable: bool = True

    @property
    def collection(self) -> bool:
        return self.type.startswith("Collection(")

    @property
    def element(self) -> str:
        return self.type[len("Collection("):-1] if self.collection else self.type


def _short(type_name: str) -> str:
    """``graph.recipient``/``microsoft.graph.recipient`` → ``recipient``; Edm names unchanged."""
    inner = type_name[len("Collection("):-1] if type_name.startswith("Collection(") else type_name
    if not inner.startswith("Edm."):
        inner = inner.rsplit(".", 1)[-1]
    return f"Collection({inner})" if type_name.startswith("Collection(") else inner


def _load() -> tuple[dict[str, dict[str, Prop]], dict[str, list[str]], str]:
    """Structural properties (base types folded in) and enum members of microsoft.graph."""
    raw: dict[str, tuple[str | None, dict[str, Prop]]] = {}
    enums: dict[str, list[str]] = {}
    if REFERENCE.exists():
        root = ET.parse(REFERENCE).getroot()
        schema = next(s for s in root.iter(EDM + "Schema") if s.get("Namespace") == "microsoft.graph")
        for kind in ("EntityType", "ComplexType"):
            for node in schema.findall(EDM + kind):
                props = {p.get("Name", ""): Prop(_short(p.get("Type", "")), p.get("Nullable") != "false")
                         for p in node.findall(EDM + "Property")}
                base = node.get("BaseType")
                raw[node.get("Name", "")] = (base.rsplit(".", 1)[-1] if base else None, props)
        for node in schema.findall(EDM + "EnumType"):
            enums[node.get("Name", "")] = [m.get("Name", "") for m in node.findall(EDM + "Member")]
        source = str(REFERENCE)
    else:
        types = json.loads(SUBSET.read_text(encoding="utf-8"))["types"]
        for name, spec in types.items():
            if spec["kind"] == "EnumType":
                enums[name] = list(spec["members"])
            else:
                props = {p: Prop(_short(t)) for p, t in spec.get("properties", {}).items()}
                raw[name] = (spec.get("base"), props)
        source = str(SUBSET)

    def fold(name: str) -> dict[str, Prop]:
        base, props = raw[name]
        out = fold(base) if base else {}
        out.update(props)
        return out

    return {name: fold(name) for name in raw}, enums, source


TYPES, CSDL_ENUMS, SOURCE = _load()

# The entity types behind the emulator's collections (attachments are listed as the base type:
# graph-semantics §3.8, a derived-only property in $select fails on microsoft.graph.attachment).
SERVED = ("message", "event", "contact", "mailFolder", "contactFolder", "calendar", "attachment",
          "fileAttachment", "user", "group")

# Documented refusals (graph-semantics.md), written down here independently of the emulator.
# §3.9: not returned in a collection; /users?$select=aboutMe answers 501 Not Implemented.
USER_COLLECTION_501 = frozenset({"aboutMe", "birthday", "hireDate", "interests", "mySite",
                                 "pastProjects", "preferredName", "responsibilities", "schools",
                                 "skills", "mailboxSettings"})
# §3.10 (+ group.md for isFavorite, unseenConversationsCount, unseenMessagesCount): supported only
# on GET /groups/{id}; hasMembersWithLicenseErrors and isArchived are never returned.
GROUP_GET_ONLY = frozenset({"allowExternalSenders", "autoSubscribeNewMembers",
                            "hideFromAddressLists", "hideFromOutlookClients", "isSubscribedByMail",
                            "unseenCount", "isFavorite", "unseenConversationsCount",
                            "unseenMessagesCount"})
GROUP_NEVER = frozenset({"hasMembersWithLicenseErrors", "isArchived"})
# §3.4: createdDateTime and lastModifiedDateTime "do not support $select" on calendarView.
CALENDAR_VIEW_UNSELECTABLE = frozenset({"createdDateTime", "lastModifiedDateTime"})


def _reachable(entities: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """Complex and enum type names reachable from ``entities``."""
    complexes: set[str] = set()
    enums: set[str] = set()
    todo = list(entities)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for prop in TYPES[name].values():
            element = prop.element
            if element in CSDL_ENUMS:
                enums.add(element)
            elif element in TYPES:
                complexes.add(element)
                todo.append(element)
    return complexes, enums


def _edm(ptype: PropType) -> str:
    name = ptype.edm if ptype.kind == "primitive" else ptype.name
    return f"Collection({name})" if ptype.collection else name


# -- the emulator's schema is the CSDL's ---------------------------------------------------------


@pytest.mark.parametrize("entity", SERVED)
def test_schema_has_every_structural_property_of_the_csdl(entity: str) -> None:
    want = {name: prop.type for name, prop in TYPES[entity].items()}
    have = {name: _edm(ptype) for name, ptype in ENTITIES[entity].items()}
    assert have == want, f"microsoft.graph.{entity} differs from {SOURCE}"


def test_schema_complex_and_enum_types_are_the_csdl_ones() -> None:
    complexes, enums = _reachable(SERVED)
    for name in sorted(complexes):
        assert name in COMPLEX, f"complex type {name} (reachable from a served entity) is missing"
        want = {p: prop.type for p, prop in TYPES[name].items()}
        have = {p: _edm(t) for p, t in COMPLEX[name].items()}
        assert have == want, f"microsoft.graph.{name} differs from {SOURCE}"
    for name in sorted(enums):
        assert list(ENUMS.get(name, ())) == CSDL_ENUMS[name], f"enum {name} differs from {SOURCE}"


# -- every property is selectable over HTTP, with a value of its type ------------------------------

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_ANNOTATION = re.compile(r"^@odata\.|@odata\.type$")


def _primitive_fits(value: Any, edm: str) -> bool:
    if edm == "Edm.String":
        return isinstance(value, str)
    if edm == "Edm.Boolean":
        return isinstance(value, bool)
    if edm in ("Edm.Int32", "Edm.Int64"):
        return isinstance(value, int) and not isinstance(value, bool)
    if edm == "Edm.Double":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if not isinstance(value, str):
        return False
    try:
        if edm == "Edm.DateTimeOffset":
            datetime.fromisoformat(value)
        elif edm == "Edm.Date":
            date.fromisoformat(value)
        elif edm == "Edm.Guid":
            return bool(_GUID.match(value)) and uuid.UUID(value) is not None
        elif edm == "Edm.Binary":
            base64.b64decode(value, validate=True)
        elif edm == "Edm.TimeOfDay":
            return bool(_TIME.match(value))
    except ValueError:
        return False
    return True


def _misfits(value: Any, prop: Prop, where: str) -> list[str]:
    """Why ``value`` is not a JSON value of ``prop`` (empty when it is)."""
    if prop.collection:
        if not isinstance(value, list):  # Graph answers an empty collection with []
            return [f"{where}: expected a JSON array for {prop.type}, got {value!r}"]
        element = Prop(prop.element, nullable=False)
        return [m for i, item in enumerate(value) for m in _misfits(item, element, f"{where}[{i}]")]
    if value is None:
        return [] if prop.nullable else [f"{where}: null for a non-nullable {prop.type}"]
    if prop.type.startswith("Edm."):
        return [] if _primitive_fits(value, prop.type) else [f"{where}: {value!r} is not {prop.type}"]
    if prop.type in CSDL_ENUMS:
        return [] if value in CSDL_ENUMS[prop.type] else [f"{where}: {value!r} not in enum {prop.type}"]
    if not isinstance(value, dict):
        return [f"{where}: expected an object of {prop.type}, got {value!r}"]
    members = TYPES[prop.type]
    out = [f"{where}/{key}: not a member of {prop.type}" for key in value
           if key not in members and not _ANNOTATION.search(key)]
    for key, member in members.items():
        if key in value:
            out.extend(_misfits(value[key], member, f"{where}/{key}"))
    return out


def _bearer(emu: Emulator) -> dict[str, str]:
    token = emu.mint_token(emu.users[0], scopes=["Mail.ReadWrite", "Calendars.ReadWrite",
                                                 "Contacts.ReadWrite", "User.Read.All",
                                                 "Group.Read.All"])
    return {"Authorization": f"Bearer {token}"}


def _get(emu: Emulator, http: Any, path: str, query: str) -> Any:
    resp = http.get(f"{emu.graph_url}{path}?{query}", headers=_bearer(emu))
    assert resp.status_code == 200, f"{path}?{query}: {resp.status_code} {resp.text[:400]}"
    return resp.json()


def _first_id(emu: Emulator, http: Any, path: str, query: str = "") -> str:
    body = _get(emu, http, path, "$top=1&$select=id" + (f"&{query}" if query else ""))
    return str(body["value"][0]["id"])


def _resources(emu: Emulator, http: Any) -> list[tuple[str, str, str, frozenset[str], bool]]:
    """(entity, path, extra query, properties left out of the answer, single entity)."""
    message = _first_id(emu, http, "/me/messages", "$filter=hasAttachments eq true")
    group = _first_id(emu, http, "/groups")
    window = "startDateTime=2026-10-01T00:00:00Z&endDateTime=2026-12-01T00:00:00Z"
    none: frozenset[str] = frozenset()
    return [
        ("message", "/me/messages", "$top=20", none, False),
        ("message", "/me/mailFolders/inbox/messages", "$top=5", none, False),
        ("message", f"/me/messages/{message}", "", none, True),
        ("mailFolder", "/me/mailFolders", "", none, False),
        ("mailFolder", "/me/mailFolders/inbox/childFolders", "", none, False),
        ("event", "/me/events", "$top=20", none, False),
        ("event", "/me/calendarView", window + "&$top=20", CALENDAR_VIEW_UNSELECTABLE, False),
        ("calendar", "/me/calendars", "", none, False),
        ("contact", "/me/contacts", "$top=20", none, False),
        ("contactFolder", "/me/contactFolders", "", none, False),
        ("attachment", f"/me/messages/{message}/attachments", "", none, False),
        ("user", "/users", "", USER_COLLECTION_501, False),
        ("user", "/me", "", none, True),
        ("group", "/groups", "", GROUP_GET_ONLY | GROUP_NEVER, False),
        ("group", f"/groups/{group}", "", GROUP_NEVER, True),
    ]


def test_every_property_is_selectable_with_a_value_of_its_type(emu: Emulator, http: Any) -> None:
    checked: set[tuple[str, str]] = set()
    for entity, path, query, omitted, single in _resources(emu, http):
        props = TYPES[entity]
        # the 501 properties are asked for alone below; everything else in one $select
        refused = USER_COLLECTION_501 if path == "/users" else frozenset()
        selected = [p for p in props if p not in refused]
        body = _get(emu, http, path, "&".join(filter(None, [query, "$select=" + ",".join(selected)])))
        items = [body] if single else body["value"]
        assert items, f"{path} returned no items to check"
        problems: list[str] = []
        for item in items:
            for name in selected:
                if name in omitted:
                    assert name not in item, f"{path}: {name} is documented as not returned"
                    continue
                if name not in item:
                    problems.append(f"{path}: {name} missing from a $select-ed item")
                    continue
                problems.extend(_misfits(item[name], props[name], f"{path} {name}"))
                checked.add((entity, name))
        assert not problems, "\n".join(problems[:20])
    for entity in ("message", "event", "contact", "mailFolder", "contactFolder", "calendar",
                   "attachment", "user", "group"):
        unchecked = set(TYPES[entity]) - {n for e, n in checked if e == entity}
        if entity == "group":
            unchecked -= GROUP_NEVER  # never returned, so nothing to check
        assert not unchecked, (entity, unchecked)


@pytest.mark.parametrize("name", sorted(USER_COLLECTION_501))
def test_user_properties_refused_on_the_collection_get_501(emu: Emulator, http: Any, name: str) -> None:
    resp = http.get(f"{emu.graph_url}/users?$select=displayName,{name}", headers=_bearer(emu))
    assert resp.status_code == 501, resp.text
    single = _get(emu, http, "/me", f"$select={name}")
    assert name in single and not _misfits(single[name], TYPES["user"][name], name)


def test_driver_catalog_columns_named_in_the_report_are_selectable(emu: Emulator, http: Any) -> None:
    # The properties the driver's catalog (generated from the same CSDL) asked for and got 400.
    users = ["authorizationInfo", "customSecurityAttributes", "deviceEnrollmentLimit",
             "identityParentId", "isManagementRestricted", "print"]
    groups = ["infoCatalogs", "isManagementRestricted", "onPremisesExtensionAttributes",
              "serviceProvisioningErrors", "welcomeMessageEnabled"]
    body = _get(emu, http, "/users", "$select=id," + ",".join(users))
    assert body["@odata.context"].endswith("/$metadata#users(id," + ",".join(users) + ")")
    first = body["value"][0]
    assert first["deviceEnrollmentLimit"] in (5, 1000)  # user.md: the allowed values
    assert first["authorizationInfo"] == {"certificateUserIds": []}
    body = _get(emu, http, "/groups", "$select=id," + ",".join(groups))
    for group in body["value"]:
        assert group["infoCatalogs"] == [] and group["serviceProvisioningErrors"] == []
        assert set(group["onPremisesExtensionAttributes"]) == {f"extensionAttribute{i}" for i in range(1, 16)}
    group_id = body["value"][0]["id"]
    one = _get(emu, http, f"/groups/{group_id}", "$select=isFavorite,isManagementRestricted")
    assert one["isFavorite"] is False and one["isManagementRestricted"] is None
