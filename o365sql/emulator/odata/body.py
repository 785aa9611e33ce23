"""Write bodies checked against the EDM types: the one gate every POST/PATCH body passes.

Stage: emulator, OData engine (request bodies). ``graph_context.Ctx.entity_body`` /
``action_body`` and the ``$batch`` envelope call ``check_entity`` / ``check_action`` /
``check_batch_request`` before a route reads a single value, so the routes only ever see
values of the declared types and bad input becomes Graph's 400, never a traceback (graph-
semantics §8.2 error body; the RequestBodyRead code is the one Graph's OData reader answers
with, as the routes already did).

Types come from ``odata.schema`` (the CSDL subset, graph-semantics §10 and
``graph-v1.0-metadata.xml``); action parameters from the CSDL's bound operations
(``graph-csdl-subset.json`` → ``boundOperations``, matched case-insensitively: the CSDL spells
them ``Comment``, the docs send ``comment``). Messages follow Microsoft.OData.Core's reader
texts ("Cannot convert the literal ...", "A null value was found ...", "A node of type ...").

Rules, per OData JSON format v4.01 §7 and the CSDL: a primitive must be a JSON value of its
type (Int32 in range, DateTimeOffset/Date/Guid/Binary well formed, an enum one of its members,
compared case-insensitively as the routes always did); a complex value an object whose members
are the type's; a collection an array and never null (OData CSDL §7.2.1: Nullable on a
collection speaks of its items); collection items never null (Exchange stores no null
recipient, category or address; inferred). Instance annotations (``@odata.type``,
``x@odata.type``) are let through; ``@odata.type`` must be a string.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..errors import GraphError
from .schema import COMPLEX, ENTITIES, ENUMS, PropType

_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT_RANGE = {"Int32": (-(2 ** 31), 2 ** 31 - 1), "Int64": (-(2 ** 63), 2 ** 63 - 1)}
_ANY = PropType("any", "any")
_HEADERS = PropType("headers", "map")

# Navigation properties a create body may carry inline (message-post-attachments.md,
# user-sendmail.md: attachments with the message), and names the routes accept and ignore
# (``uid`` is a beta-only event property the docs' v1.0 samples still send).
NAVIGATION: dict[str, dict[str, PropType]] = {
    "message": {"attachments": PropType("attachment", "entity", True),
                "extensions": PropType("any", "any", True),
                "singleValueExtendedProperties": PropType("any", "any", True),
                "multiValueExtendedProperties": PropType("any", "any", True)},
    "event": {"attachments": PropType("attachment", "entity", True),
              "extensions": PropType("any", "any", True),
              "singleValueExtendedProperties": PropType("any", "any", True),
              "multiValueExtendedProperties": PropType("any", "any", True),
              "uid": PropType("String", "primitive")},
    "contact": {"extensions": PropType("any", "any", True),
                "singleValueExtendedProperties": PropType("any", "any", True),
                "multiValueExtendedProperties": PropType("any", "any", True)},
    # itemAttachment.item is an outlookItem (message, event, contact): any JSON object here.
    "itemAttachment": {"item": PropType("object", "object")},
}

# Bound actions the emulator serves, with their parameters (graph-csdl-subset.json
# boundOperations; names lower-cased).
_ACTION_SPEC: dict[str, str] = {
    "send": "",
    "sendmail": "message:message saveToSentItems:Boolean",
    "reply": "comment:String message:message",
    "replyall": "comment:String message:message",
    "forward": "comment:String toRecipients:[recipient] message:message",
    "createreply": "comment:String message:message",
    "createreplyall": "comment:String message:message",
    "createforward": "comment:String toRecipients:[recipient] message:message",
    "move": "destinationId:String",
    "copy": "destinationId:String",
    "accept": "comment:String sendResponse:Boolean",
    "decline": "comment:String sendResponse:Boolean proposedNewTime:timeSlot",
    "tentativelyaccept": "comment:String sendResponse:Boolean proposedNewTime:timeSlot",
    "cancel": "comment:String",
    "dismissreminder": "",
    "snoozereminder": "newReminderTime:dateTimeTimeZone",
}

# The $batch envelope (graph-semantics §6, json-batching.md): id, method and url are strings,
# headers an object of strings, dependsOn an array of ids, body any JSON.
BATCH_REQUEST: dict[str, PropType] = {
    "id": PropType("String", "primitive"), "method": PropType("String", "primitive"),
    "url": PropType("String", "primitive"), "headers": _HEADERS, "body": _ANY,
    "dependsOn": PropType("String", "primitive", True),
    "atomicityGroup": PropType("String", "primitive"),
}


def _action_params(spec: str) -> dict[str, PropType]:
    out: dict[str, PropType] = {}
    for part in spec.split():
        name, _, token = part.partition(":")
        collection = token.startswith("[")
        tname = token.strip("[]")
        if tname in ENTITIES:
            kind = "entity"
        elif tname in COMPLEX:
            kind = "complex"
        elif tname in ENUMS:
            kind = "enum"
        else:
            kind = "primitive"
        out[name] = PropType(tname, kind, collection)
    return out


ACTIONS: dict[str, dict[str, PropType]] = {n: _action_params(s) for n, s in _ACTION_SPEC.items()}


def _bad(message: str, code: str) -> GraphError:
    return GraphError(400, code, message)


def _literal(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _node(value: Any) -> str:
    if isinstance(value, dict):
        return "StartObject"
    if isinstance(value, list):
        return "StartArray"
    return "PrimitiveValue"


def _type_label(ptype: PropType) -> str:
    name = ptype.edm if ptype.kind in ("primitive", "enum", "complex") else \
        f"microsoft.graph.{ptype.name}"
    return f"Collection({name})" if ptype.collection else name


class _Checker:
    def __init__(self, code: str, *, string_booleans: bool = False) -> None:
        self.code = code
        self.string_booleans = string_booleans

    def members(self, data: Any, props: Mapping[str, PropType], type_name: str,
                where: str) -> dict[str, Any]:
        """The object with its property names in the CSDL's spelling (matched
        case-insensitively, like Outlook's property names in URLs, graph-semantics §2.2)."""
        if not isinstance(data, dict):
            raise _bad(f"A node of type '{_node(data)}' was read from the JSON reader when trying "
                       f"to read the contents of {where}; however, a 'StartObject' node was "
                       "expected.", self.code)
        folded = {n.lower(): n for n in props}
        out: dict[str, Any] = {}
        for key, value in data.items():
            if "@" in key:  # instance annotations: only @odata.type's value is typed
                if key.endswith("@odata.type") and not isinstance(value, str):
                    raise _bad(f"The value of the '{key}' annotation must be a string.", self.code)
                out[key] = value
                continue
            name = key if key in props else folded.get(key.lower())
            if name is None:
                raise _bad(f"The property '{key}' does not exist on type '{type_name}'. Make "
                           "sure to only use property names that are defined by the type.",
                           self.code)
            out[name] = self.value(value, props[name], key)
        return out

    def value(self, value: Any, ptype: PropType, prop: str) -> Any:
        """``value`` checked against ``ptype`` (objects rebuilt with canonical names)."""
        if ptype.kind == "any":
            if ptype.collection and not isinstance(value, list):
                self._not(value, prop, "StartArray")
            return value
        if value is None:
            if ptype.collection:
                label = _type_label(ptype)
                raise _bad(f"A null value was found for the property named '{prop}', which has "
                           f"the expected type '{label}[Nullable=true]'. The expected type "
                           f"'{label}[Nullable=true]' does not allow null values.", self.code)
            return None
        if ptype.collection:
            if not isinstance(value, list):
                self._not(value, prop, "StartArray")
            item_type = ptype.element()
            items = []
            for item in value:
                if item is None:
                    label = _type_label(item_type)
                    raise _bad(f"A null value was found with the expected type '{label}"
                               f"[Nullable=False]'. The expected type '{label}[Nullable=False]' "
                               "does not allow null values.", self.code)
                items.append(self.value(item, item_type, prop))
            return items
        if ptype.kind == "object":
            if not isinstance(value, dict):
                self._not(value, prop, "StartObject")
            return value
        if ptype.kind == "map":
            if not isinstance(value, dict):
                self._not(value, prop, "StartObject")
            for key, item in value.items():
                if not isinstance(item, str):
                    raise _bad(f"The value of the header '{key}' in '{prop}' must be a string.",
                               self.code)
            return value
        if ptype.kind == "complex":
            return self.members(value, COMPLEX[ptype.name], f"microsoft.graph.{ptype.name}",
                                f"the property '{prop}'")
        if ptype.kind == "entity":
            return self.entity(value, ptype.name, f"the property '{prop}'")
        if isinstance(value, (dict, list)):
            self._not(value, prop, "PrimitiveValue")
        if ptype.kind == "enum":
            members = {m.lower() for m in ENUMS[ptype.name]}
            if not isinstance(value, str) or value.lower() not in members:
                raise self._convert(value, ptype)
            return value
        if self.string_booleans and ptype.name == "Boolean" and isinstance(value, str) \
                and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not _primitive_ok(value, ptype.name):
            raise self._convert(value, ptype)
        return value

    def entity(self, value: Any, name: str, where: str) -> dict[str, Any]:
        if name == "attachment" and isinstance(value, dict):
            name = _attachment_type(value, self.code)
        props = {**ENTITIES[name], **NAVIGATION.get(name, {})}
        return self.members(value, props, f"microsoft.graph.{name}", where)

    def _not(self, value: Any, prop: str, expected: str) -> None:
        raise _bad(f"A node of type '{_node(value)}' was read from the JSON reader when trying to "
                   f"read the contents of the property '{prop}'; however, a '{expected}' node "
                   "was expected.", self.code)

    def _convert(self, value: Any, ptype: PropType) -> GraphError:
        return _bad(f"Cannot convert the literal '{_literal(value)}' to the expected type "
                    f"'{ptype.edm}'.", self.code)


def _attachment_type(value: dict[str, Any], code: str) -> str:
    """The derived attachment type a body names with ``@odata.type`` (fileAttachment when
    absent, as the attachment route always assumed)."""
    kind = value.get("@odata.type", "#microsoft.graph.fileAttachment")
    if not isinstance(kind, str):
        raise _bad("The value of the '@odata.type' annotation must be a string.", code)
    short = kind.lstrip("#").rsplit(".", 1)[-1].lower()
    for name in ("fileAttachment", "itemAttachment", "referenceAttachment"):
        if name.lower() == short:
            return name
    raise GraphError(400, "ErrorInvalidParameter", f"Attachment type '{kind}' is not supported.")


def _primitive_ok(value: Any, edm: str) -> bool:
    if edm in ("String", "Stream"):
        return isinstance(value, str)
    if edm == "Boolean":
        return isinstance(value, bool)
    if edm in _INT_RANGE:
        low, high = _INT_RANGE[edm]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if edm == "Double":
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) or \
            value in ("NaN", "INF", "-INF")
    if not isinstance(value, str):
        return False
    if edm == "Guid":
        return bool(_GUID.match(value))
    if edm == "Date":
        return bool(_DATE.match(value)) and _parses(date.fromisoformat, value)
    if edm == "DateTimeOffset":
        text = value.strip()
        return bool(text) and _parses(datetime.fromisoformat, text.replace("Z", "+00:00")
                                      .replace("z", "+00:00"))
    if edm == "Binary":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        return True
    return True


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def check_entity(data: Any, entity: str, *, code: str = "RequestBodyRead") -> dict[str, Any]:
    """``data`` as a body of ``entity`` (``message``, ``event``, ``attachment`` ...) with
    canonical property names; raises the 400 GraphError naming the first property at fault."""
    return _Checker(code).entity(data, entity, "the request body")


def check_action(data: Any, action: str, *, code: str = "RequestBodyRead") -> dict[str, Any]:
    """``data`` as the parameters of a bound action (``forward``, ``sendMail``, ``accept``...)."""
    params = ACTIONS[action.lower()]
    # Boolean parameters also come as "true"/"false" strings in the docs' own working samples
    # (user-sendmail.md "saveToSentItems": "false"; outlook-calendar-meeting-proposals.md
    # "sendResponse": "true"), so actions take both (graph-semantics §9).
    checker = _Checker(code, string_booleans=True)
    if not isinstance(data, dict):
        return checker.members(data, params, action, "the request body")
    folded = {n.lower(): n for n in params}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if "@" in key:
            continue
        name = folded.get(key.lower())
        if name is None:
            raise _bad(f"The parameter '{key}' in the request payload is not a valid parameter "
                       f"for the operation '{action}'.", code)
        out[name] = checker.value(value, params[name], key)
    return out


def check_batch_request(data: Any) -> dict[str, Any]:
    """One entry of a ``$batch`` body; a malformed envelope is the batch's 400 BadRequest."""
    return _Checker("BadRequest").members(data, BATCH_REQUEST, "batch request", "a batch request")
