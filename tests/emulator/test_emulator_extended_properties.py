"""Single-value extended properties on messages, events and contacts (in-process): set on
create and update, found with ``singleValueExtendedProperties/any(ep: ep/id eq ... and
ep/value eq ...)`` as the Graph docs show for messages, and left out of answers unless
selected (Graph returns them only with $expand)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from graph_harness import Client, code

PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color"


@pytest.fixture
def client() -> Client:
    return Client(seed=3, messages_per_user=5, events_per_user=2, contacts_per_user=2)


def _find(client: Client, collection: str, value: str) -> list[str]:
    query = ("$filter=" + quote(f"singleValueExtendedProperties/any(ep: ep/id eq '{PROP}' and "
                                f"ep/value eq '{value}')", safe="") + "&$select=id")
    status, body, _ = client.call("GET", collection, query)
    assert status == 200, body
    return [item["id"] for item in body["value"]]


@pytest.mark.parametrize("collection, body", [
    ("/me/messages", {"subject": "x"}),
    ("/me/contacts", {"givenName": "x"}),
    ("/me/events", {"subject": "x", "start": {"dateTime": "2031-01-01T10:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2031-01-01T11:00:00", "timeZone": "UTC"}}),
])
def test_set_found_by_filter_and_hidden_unless_selected(client: Client, collection: str,
                                                        body: dict[str, object]) -> None:
    status, created, _ = client.call("POST", collection, body={
        **body, "singleValueExtendedProperties": [{"id": PROP, "value": "Green"}]})
    assert status == 201
    assert _find(client, collection, "Green") == [created["id"]]
    assert _find(client, collection, "Blue") == []
    _, listed, _ = client.call("GET", collection, "$top=50")
    assert all("singleValueExtendedProperties" not in item for item in listed["value"])
    status, _, _ = client.call("PATCH", f"{collection}/{created['id']}", body={
        "singleValueExtendedProperties": [{"id": PROP.upper(), "value": "Blue"}]})
    assert status == 200
    assert _find(client, collection, "Blue") == [created["id"]]
    assert _find(client, collection, "Green") == []


def test_malformed_extended_properties_are_refused(client: Client) -> None:
    status, body, _ = client.call("POST", "/me/messages", body={
        "subject": "x", "singleValueExtendedProperties": [{"value": "no id"}]})
    assert status == 400 and code(body) == "RequestBodyRead"


def test_other_members_and_operators_are_refused(client: Client) -> None:
    query = "$filter=" + quote("singleValueExtendedProperties/any(ep: startswith(ep/value, 'G'))",
                               safe="")
    status, body, _ = client.call("GET", "/me/messages", query)
    assert status == 400 and code(body) == "ErrorInvalidUrlQueryFilter"
