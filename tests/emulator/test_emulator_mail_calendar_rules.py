"""Mail, calendar and contact behaviours over real HTTPS: delta rounds with
``Prefer: odata.maxpagesize``, Outlook's literal ``+`` in ``$orderby``, forward without
recipients, meeting requests on invitation, and the contact/group properties the catalog selects."""

from __future__ import annotations

from typing import Any

import pytest

from o365sql.emulator import Emulator


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
def me(emu: Emulator) -> str:
    return emu.mint_token(emu.users[0])


def follow_delta(http: Any, url: str, headers: dict[str, str]) -> tuple[list[list[dict[str, Any]]], str]:
    """Every page of one delta round and the round's deltaLink."""
    pages = []
    while True:
        response = http.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["value"])
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return pages, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]
        assert "$skiptoken=" in url


# -- delta (graph-semantics §7) and Prefer: odata.maxpagesize (§5) --------------------------------
def test_message_delta_round_honours_maxpagesize_and_reports_changes(emu: Emulator, http: Any, me: str) -> None:
    folder = http.post(emu.graph_url + "/me/mailFolders", headers=bearer(me), json={"displayName": "Delta box"}).json()
    ids = [http.post(emu.graph_url + f"/me/mailFolders/{folder['id']}/messages", headers=bearer(me),
                     json={"subject": f"d{i}"}).json()["id"] for i in range(5)]
    headers = bearer(me, Prefer="odata.maxpagesize=2")
    url = emu.graph_url + f"/me/mailFolders/{folder['id']}/messages/delta?$select=subject,isRead"
    pages, delta_link = follow_delta(http, url, headers)
    assert [len(p) for p in pages] == [2, 2, 1]
    items = [m for p in pages for m in p]
    assert sorted(m["id"] for m in items) == sorted(ids)
    assert all(m["@odata.type"] == "#microsoft.graph.message" and set(m) >= {"subject", "isRead"}
               and "body" not in m for m in items)
    # A plain list ignores the preference: only delta honours it (§5).
    plain = http.get(emu.graph_url + f"/me/mailFolders/{folder['id']}/messages", headers=headers).json()
    assert len(plain["value"]) == 5
    # Next round: one changed, one deleted, one new; $select lives on in the token.
    assert http.patch(emu.graph_url + f"/me/messages/{ids[0]}", headers=bearer(me), json={"isRead": False}).status_code == 200
    assert http.delete(emu.graph_url + f"/me/messages/{ids[1]}", headers=bearer(me)).status_code == 204
    new = http.post(emu.graph_url + f"/me/mailFolders/{folder['id']}/messages", headers=bearer(me),
                    json={"subject": "d5"}).json()["id"]
    pages, again = follow_delta(http, delta_link, bearer(me))
    changes = {m["id"]: m for p in pages for m in p}
    assert set(changes) == {ids[0], ids[1], new}
    assert changes[ids[1]]["@removed"] == {"reason": "deleted"}
    assert changes[ids[0]]["isRead"] is False and "body" not in changes[ids[0]]
    pages, _ = follow_delta(http, again, bearer(me))
    assert pages == [[]]


def test_message_delta_options_and_tokens(emu: Emulator, http: Any, me: str) -> None:
    base = emu.graph_url + "/me/mailFolders/inbox/messages/delta"
    bad = http.get(base + "?$filter=isRead eq false", headers=bearer(me))
    assert bad.status_code == 400 and bad.json()["error"]["message"] == (
        "The '$filter' parameter value is not supported for 'Messages' resource; only a value of "
        "'receivedDateTime ge value' is supported.")
    ok = http.get(base + "?$filter=receivedDateTime ge 2000-01-01T00:00:00Z&$select=subject",
                  headers=bearer(me, Prefer="odata.maxpagesize=3"))
    assert ok.status_code == 200 and len(ok.json()["value"]) == 3
    assert ok.headers["Preference-Applied"] == "odata.maxpagesize=3"
    lost = http.get(base + "?$deltatoken=nonsense", headers=bearer(me))
    assert lost.status_code == 410 and lost.json()["error"]["code"] == "syncStateNotFound"
    assert http.get(emu.graph_url + "/me/messages/delta", headers=bearer(me)).status_code == 400


def test_calendar_view_and_contact_delta(emu: Emulator, http: Any, me: str) -> None:
    window = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-12-31T00:00:00Z"
    view = http.get(emu.graph_url + f"/me/calendarView?{window}&$top=1000", headers=bearer(me)).json()["value"]
    pages, _ = follow_delta(http, emu.graph_url + f"/me/calendarView/delta?{window}",
                            bearer(me, Prefer="odata.maxpagesize=4"))
    assert all(len(p) <= 4 for p in pages)
    assert [e["id"] for p in pages for e in p] == [e["id"] for e in view]
    assert http.get(emu.graph_url + "/me/calendarView/delta", headers=bearer(me)).status_code == 400
    contacts = http.get(emu.graph_url + "/me/contacts?$top=1000&$select=displayName", headers=bearer(me)).json()["value"]
    pages, _ = follow_delta(http, emu.graph_url + "/me/contacts/delta?$select=displayName",
                            bearer(me, Prefer="odata.maxpagesize=2"))
    assert all(len(p) <= 2 for p in pages)
    assert sorted(c["id"] for p in pages for c in p) == sorted(c["id"] for c in contacts)


# -- $orderby with a literal "+" (graph-semantics §1.1) ------------------------------------------
def test_plus_before_desc_is_orderby_not_supported_on_outlook(emu: Emulator, http: Any, me: str) -> None:
    bad = http.get(emu.graph_url + "/me/messages?$orderby=receivedDateTime+desc", headers=bearer(me))
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "OrderBy not supported."
    good = http.get(emu.graph_url + "/me/messages?$orderby=receivedDateTime%20desc&$top=3", headers=bearer(me))
    assert good.status_code == 200
    stamps = [m["receivedDateTime"] for m in good.json()["value"]]
    assert stamps == sorted(stamps, reverse=True) and len(stamps) == 3
    # Directory resources decode "+" as a space (the docs' own c:c+eq+'Unified').
    users = http.get(emu.graph_url + "/users?$orderby=displayName+desc", headers=bearer(emu.mint_token(
        emu.users[0], scopes=["User.Read.All"])))
    assert users.status_code == 200


# -- forward needs recipients (§9; observed ErrorInvalidRecipients) -------------------------------
def test_forward_without_recipients_is_400(emu: Emulator, http: Any, me: str) -> None:
    message = http.get(emu.graph_url + "/me/mailFolders/inbox/messages?$top=1", headers=bearer(me)).json()["value"][0]
    drafts_before = http.get(emu.graph_url + "/me/mailFolders/drafts", headers=bearer(me)).json()["totalItemCount"]
    response = http.post(emu.graph_url + f"/me/messages/{message['id']}/forward", headers=bearer(me),
                         json={"comment": "fyi"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidRecipients"
    assert http.get(emu.graph_url + "/me/mailFolders/drafts", headers=bearer(me)).json()["totalItemCount"] == drafts_before
    ok = http.post(emu.graph_url + f"/me/messages/{message['id']}/forward", headers=bearer(me),
                   json={"comment": "fyi", "toRecipients": [{"emailAddress": {"address": emu.users[1]}}]})
    assert ok.status_code == 202


# -- invitations deliver a meeting request (§9) ---------------------------------------------------
def test_invitation_delivers_an_event_message_request(emu: Emulator, http: Any, me: str) -> None:
    attendee = emu.users[2]
    created = http.post(emu.graph_url + "/me/events", headers=bearer(me), json={
        "subject": "Quarterly planning 7f3a", "body": {"contentType": "text", "content": "agenda"},
        "start": {"dateTime": "2026-05-04T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-05-04T10:00:00", "timeZone": "UTC"},
        "location": {"displayName": "Room 7"},
        "attendees": [{"emailAddress": {"address": attendee}, "type": "required"}]})
    assert created.status_code == 201, created.text
    token = emu.mint_token(attendee)
    inbox = http.get(emu.graph_url + "/me/mailFolders/inbox/messages?$filter=subject eq 'Quarterly planning 7f3a'",
                     headers=bearer(token)).json()["value"]
    assert len(inbox) == 1
    request = inbox[0]
    assert request["@odata.type"] == "#microsoft.graph.eventMessageRequest"
    assert request["meetingMessageType"] == "meetingRequest" and request["isRead"] is False
    assert request["startDateTime"]["dateTime"].startswith("2026-05-04T09:00:00")
    assert request["location"]["displayName"] == "Room 7"
    assert request["from"]["emailAddress"]["address"].lower() == emu.users[0].lower()
    # An update does not invite the same attendee twice.
    http.patch(emu.graph_url + f"/me/events/{created.json()['id']}", headers=bearer(me), json={"subject": "Quarterly planning 7f3a"})
    again = http.get(emu.graph_url + "/me/mailFolders/inbox/messages?$filter=subject eq 'Quarterly planning 7f3a'",
                     headers=bearer(token)).json()["value"]
    assert len(again) == 1


# -- properties the catalog selects --------------------------------------------------------------
def test_contact_email_slots_and_group_license_state(emu: Emulator, http: Any, me: str) -> None:
    created = http.post(emu.graph_url + "/me/contacts", headers=bearer(me), json={
        "givenName": "Slot", "emailAddresses": [{"address": "a@x.test", "name": "A"}, {"address": "b@x.test"}]}).json()
    url = emu.graph_url + f"/me/contacts/{created['id']}?$select=primaryEmailAddress,secondaryEmailAddress,tertiaryEmailAddress"
    got = http.get(url, headers=bearer(me)).json()
    assert got["primaryEmailAddress"] == {"name": "A", "address": "a@x.test"}
    assert got["secondaryEmailAddress"]["address"] == "b@x.test" and got["tertiaryEmailAddress"] is None
    assert "primaryEmailAddress" not in http.get(emu.graph_url + f"/me/contacts/{created['id']}", headers=bearer(me)).json()
    patched = http.patch(emu.graph_url + f"/me/contacts/{created['id']}", headers=bearer(me),
                         json={"tertiaryEmailAddress": {"address": "c@x.test"}})
    assert [e["address"] for e in patched.json()["emailAddresses"]] == ["a@x.test", "b@x.test", "c@x.test"]
    listed = http.get(emu.graph_url + "/me/contacts?$select=displayName,primaryEmailAddress&$top=1000",
                      headers=bearer(me)).json()["value"]
    assert any(c["primaryEmailAddress"] for c in listed)
    groups = http.get(emu.graph_url + "/groups?$select=displayName,licenseProcessingState",
                      headers=bearer(emu.mint_token(emu.users[0], scopes=["Group.Read.All"])))
    assert groups.status_code == 200, groups.text
    assert all("licenseProcessingState" in g for g in groups.json()["value"])
