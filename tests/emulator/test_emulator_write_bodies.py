"""Write bodies with wrongly typed values get Graph's 400, never a 500 (emulator write routes).

The property types here are read from the reference CSDL (graph-v1.0-metadata.xml), not from the
emulator's own schema, so the fuzz test checks the emulator against the contract rather than
against itself. Everything goes over real HTTPS to the session emulator.
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o365sql.emulator import Emulator

CSDL = Path("/work/shared/reference/graph-v1.0-metadata.xml")
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def _load_csdl() -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """Structural properties (with base types folded in) and enum members of microsoft.graph."""
    root = ET.parse(CSDL).getroot()
    schema = next(s for s in root.iter(EDM + "Schema") if s.get("Namespace") == "microsoft.graph")
    raw: dict[str, tuple[str | None, dict[str, str]]] = {}
    for kind in ("EntityType", "ComplexType"):
        for node in schema.findall(EDM + kind):
            props = {p.get("Name", ""): p.get("Type", "") for p in node.findall(EDM + "Property")}
            raw[node.get("Name", "")] = (node.get("BaseType"), props)
    enums = {e.get("Name", ""): [m.get("Name", "") for m in e.findall(EDM + "Member")]
             for e in schema.findall(EDM + "EnumType")}

    def fold(name: str) -> dict[str, str]:
        base, props = raw[name]
        out = fold(base.rsplit(".", 1)[-1]) if base else {}
        out.update(props)
        return out

    return {name: fold(name) for name in raw}, enums


TYPES, ENUMS = _load_csdl()
NOT_DATES = ["yesterday", "2024-13-45T00:00:00Z", "", "12:00", "2024-02-30"]


def wrong(type_name: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON values that are not of the CSDL type ``type_name``."""
    scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.text(max_size=5))
    if type_name.startswith("Collection("):
        inner = type_name[len("Collection("):-1]
        return st.one_of(st.just(None), st.just([None]), st.text(max_size=3),
                         st.integers(), st.just({"a": 1}), st.lists(wrong(inner, depth + 1), min_size=1, max_size=2))
    short = type_name.rsplit(".", 1)[-1]
    if type_name == "Edm.String":
        return st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False), st.just([]), st.just({"a": "b"}))
    if type_name == "Edm.Boolean":
        return st.one_of(st.text(max_size=5), st.integers(), st.just([True]), st.just({}))
    if type_name in ("Edm.Int32", "Edm.Int64"):
        return st.one_of(st.text(max_size=5), st.booleans(), st.just(1.5), st.just(2 ** 70),
                         st.just([1]))
    if type_name == "Edm.Double":
        return st.one_of(st.text(alphabet="abc", min_size=1, max_size=4), st.booleans(), st.just({}))
    if type_name in ("Edm.DateTimeOffset", "Edm.Date"):
        return st.one_of(st.sampled_from(NOT_DATES), st.integers(), st.booleans(), st.just([]))
    if type_name == "Edm.Guid":
        return st.one_of(st.just("not-a-guid"), st.integers(), st.just({}))
    if type_name == "Edm.Binary":
        return st.one_of(st.just("!!not base64!!"), st.integers(), st.just([]))
    if short in ENUMS:
        return st.one_of(st.just("notAMember"), st.integers(), st.booleans(), st.just(["normal"]))
    if short in TYPES:  # complex: not an object, an unknown member, or one wrong member
        options = [scalars, st.just([{}]), st.just({"noSuchProperty": 1})]
        members = sorted(TYPES[short].items())
        if members and depth < 3:
            options.append(st.sampled_from(members).flatmap(
                lambda m: wrong(m[1], depth + 1).map(lambda v, name=m[0]: {name: v})))
        return st.one_of(*options)
    raise AssertionError(f"no strategy for {type_name}")


# (entity type, POST path, base POST body, PATCH target key) for every write route.
ROUTES = {
    "message": "/me/messages",
    "event": "/me/events",
    "contact": "/me/contacts",
    "mailFolder": "/me/mailFolders",
    "contactFolder": "/me/contactFolders",
    "calendar": "/me/calendars",
    "fileAttachment": None,  # POST /me/messages/{draft}/attachments
}
_unique = itertools.count()


def base_body(entity: str) -> dict[str, Any]:
    n = next(_unique)
    return {
        "message": {"subject": "fuzz"},
        "event": {"subject": "fuzz", "start": {"dateTime": "2026-03-01T10:00:00", "timeZone": "UTC"},
                  "end": {"dateTime": "2026-03-01T11:00:00", "timeZone": "UTC"}},
        "contact": {"givenName": "Fuzz"},
        "mailFolder": {"displayName": f"fuzz {n}"},
        "contactFolder": {"displayName": f"fuzz {n}"},
        "calendar": {"name": f"fuzz {n}"},
        "fileAttachment": {"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt",
                           "contentBytes": "aGk="},
    }[entity]


class Target:
    """A session, a token and one existing item per entity type to PATCH."""

    def __init__(self, emu: Emulator, session: Any) -> None:
        self.emu = emu
        self.session = session
        self.headers = {"Authorization": "Bearer " + emu.mint_token(emu.users[0]),
                        "Content-Type": "application/json"}
        self.items: dict[str, str] = {}
        for entity, path in ROUTES.items():
            if path is None:
                continue
            response = self.send("POST", path, base_body(entity))
            assert response.status_code == 201, response.text  # the base bodies are valid
            self.items[entity] = f"{path}/{response.json()['id']}"
        attachments = self.items["message"] + "/attachments"
        assert self.send("POST", attachments, base_body("fileAttachment")).status_code == 201
        self.attachments = attachments

    def send(self, method: str, path: str, body: Any) -> Any:
        return self.session.request(method, self.emu.graph_url + path, headers=self.headers,
                                    data=json.dumps(body), verify=self.emu.ca_path, timeout=30)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """An emulator of its own: the fuzzing creates items, which must not leak into other tests."""
    import requests

    with Emulator(seed=11, port=0) as emu:
        session = requests.Session()
        yield Target(emu, session)
        session.close()


def assert_graph_400(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text


CASES = [(entity, prop) for entity in ROUTES for prop in sorted(TYPES[entity])]


def test_every_write_entity_is_covered() -> None:
    assert len(CASES) > 140  # message, event, contact, folders, calendar, attachment properties
    assert ("event", "reminderMinutesBeforeStart") in CASES and ("contact", "primaryEmailAddress") in CASES


@pytest.mark.parametrize("entity,prop", CASES)
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_wrongly_typed_values_get_graphs_400(target: Target, entity: str, prop: str, data: Any) -> None:
    value = data.draw(wrong(TYPES[entity][prop]), label=f"{entity}.{prop}")
    body = {**base_body(entity), prop: value}
    if entity == "fileAttachment":
        assert_graph_400(target.send("POST", target.attachments, body), f"POST attachment {prop}={value!r}")
        return
    assert_graph_400(target.send("POST", ROUTES[entity], body), f"POST {entity} {prop}={value!r}")
    assert_graph_400(target.send("PATCH", target.items[entity], {prop: value}),
                     f"PATCH {entity} {prop}={value!r}")


def nulls(type_name: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """Well-typed values with a null somewhere inside (nullable members are legal JSON)."""
    if type_name.startswith("Collection("):
        inner = type_name[len("Collection("):-1]
        return st.lists(nulls(inner, depth + 1), min_size=1, max_size=2)
    members = sorted(TYPES.get(type_name.rsplit(".", 1)[-1], {}).items())
    if not members or depth > 2:
        return st.just(None)
    return st.sampled_from(members).flatmap(
        lambda m: nulls(m[1], depth + 1).map(lambda v, name=m[0]: {name: v}))


@pytest.mark.parametrize("entity,prop", CASES)
@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_nulls_inside_values_are_never_a_5xx(target: Target, entity: str, prop: str, data: Any) -> None:
    value = data.draw(nulls(TYPES[entity][prop]), label=f"{entity}.{prop}")
    body = {**base_body(entity), prop: value}
    responses = [target.send("POST", target.attachments if entity == "fileAttachment" else ROUTES[entity], body)]
    if entity != "fileAttachment":
        responses.append(target.send("PATCH", target.items[entity], {prop: value}))
    for response in responses:
        assert response.status_code < 500, f"{entity}.{prop}={value!r}: {response.text[:300]}"
        if response.status_code >= 400:
            assert response.json()["error"]["code"]


# -- the reviewer's repros, one by one -----------------------------------------------------------
@pytest.mark.parametrize("entity,body", [
    ("contact", {"emailAddresses": [None]}), ("contact", {"emailAddresses": "x"}),
    ("contact", {"givenName": 1}), ("contact", {"categories": [1, 2]}),
    ("event", {"attendees": "s"}), ("event", {"body": "s"}), ("event", {"location": 1}),
    ("event", {"locations": [None]}), ("event", {"recurrence": 1}), ("event", {"categories": None}),
    ("event", {"subject": 5}), ("event", {"importance": 5}), ("event", {"importance": "urgent"}),
    ("event", {"categories": [1, 2]}), ("event", {"isAllDay": "yes"}),
    ("message", {"flag": "s"}), ("message", {"flag": {"flagStatus": 3}}),
    ("message", {"flag": {"dueDateTime": "tomorrow"}}),
])
def test_reviewer_repros(target: Target, entity: str, body: dict[str, Any]) -> None:
    response = target.send("PATCH", target.items[entity], body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "RequestBodyRead"
    if entity == "contact" and "emailAddresses" in body:
        created = target.send("POST", "/me/contacts", body)
        assert created.status_code == 400 and created.json()["error"]["code"] == "RequestBodyRead"


def test_event_reminder_properties_are_writable(target: Target) -> None:
    response = target.send("PATCH", target.items["event"],
                           {"reminderMinutesBeforeStart": 45, "isReminderOn": False, "importance": "high"})
    assert response.status_code == 200, response.text
    got = target.send("GET", target.items["event"] + "?$select=reminderMinutesBeforeStart,isReminderOn,importance",
                      None).json()
    assert (got["reminderMinutesBeforeStart"], got["isReminderOn"], got["importance"]) == (45, False, "high")


@pytest.mark.parametrize("request_", [
    {"id": "1", "method": "GET", "url": "/me", "headers": "bad"},
    {"id": "1", "method": "GET", "url": "/me", "headers": {"Prefer": 5}},
    {"id": "1", "method": 5, "url": "/me"},
    {"id": 1, "method": "GET", "url": "/me"},
    {"id": "1", "method": "GET", "url": ["/me"]},
    {"id": "1", "method": "GET", "url": "/me", "dependsOn": "0"},
    {"id": "1", "method": "GET", "url": "/me", "surprise": True},
    "not an object",
])
def test_malformed_batch_envelopes_are_400(target: Target, request_: Any) -> None:
    response = target.send("POST", "/$batch", {"requests": [request_]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BadRequest"


def test_action_parameters_are_typed(target: Target) -> None:
    message = target.items["message"]
    for action, body in [("forward", {"toRecipients": "x"}), ("forward", {"comment": 5}),
                         ("move", {"destinationId": 7}), ("createReply", {"message": "x"}),
                         ("reply", {"unknownParameter": 1})]:
        response = target.send("POST", f"{message}/{action}", body)
        assert response.status_code == 400, (action, response.text)
        assert response.json()["error"]["code"] == "RequestBodyRead"
    response = target.send("POST", "/me/sendMail", {"message": {"subject": 5}})
    assert response.status_code == 400 and response.json()["error"]["code"] == "RequestBodyRead"
