"""Writes of the emulator's Graph service (in-process): mail, folders, events, contacts,
attachments and $batch, with Graph's status codes (graph-semantics §6, §9)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from graph_harness import Client, code

from o365sql.emulator.errors import GraphError
from o365sql.emulator.server.limits import throttled
from o365sql.emulator.server.wire import Principal


@pytest.fixture
def client() -> Client:
    return Client(seed=11, messages_per_user=30, events_per_user=10, contacts_per_user=5)


def _inbox_find(client: Client, user: int, subject: str) -> list[dict[str, Any]]:
    _, body, _ = client.call("GET", "/me/mailFolders/inbox/messages", "$top=1000", user=user)
    return [m for m in body["value"] if m["subject"] == subject]


def test_draft_create_patch_send_delivers(client: Client) -> None:
    bob = client.tenant.users[1]
    status, draft, _ = client.call("POST", "/me/messages", body={
        "subject": "Did you see last night's game? ⚽", "importance": "Low",
        "body": {"contentType": "HTML", "content": "They were <b>awesome</b>!"},
        "toRecipients": [{"emailAddress": {"address": bob["mail"]}}],
        "ccRecipients": [{"emailAddress": {"address": "someone@example.com"}}]})
    assert status == 201 and draft["isDraft"] is True and draft["importance"] == "low"
    assert draft["toRecipients"][0]["emailAddress"]["name"] == bob["displayName"]
    assert "from" not in draft
    _, drafts, _ = client.call("GET", "/me/mailFolders/drafts")
    assert draft["parentFolderId"] == drafts["id"]
    status, patched, _ = client.call("PATCH", f"/me/messages/{draft['id']}", body={"subject": "Game night", "categories": ["Blue category"]})
    assert status == 200 and patched["subject"] == "Game night" and patched["categories"] == ["Blue category"]
    assert patched["@odata.etag"] != draft["@odata.etag"] and patched["changeKey"] != draft["changeKey"]
    status, body, _ = client.call("POST", f"/me/messages/{draft['id']}/send")
    assert status == 202 and body is None
    assert client.call("GET", f"/me/messages/{draft['id']}")[0] == 404
    _, sent, _ = client.call("GET", "/me/mailFolders/sentitems/messages", "$top=1")
    assert sent["value"][0]["subject"] == "Game night" and sent["value"][0]["isDraft"] is False
    got = _inbox_find(client, 1, "Game night")
    assert len(got) == 1 and got[0]["isRead"] is False
    assert got[0]["conversationId"] == sent["value"][0]["conversationId"]
    assert got[0]["internetMessageId"] == sent["value"][0]["internetMessageId"]
    assert got[0]["id"] != sent["value"][0]["id"]


def test_send_mail_save_flag_and_recipients(client: Client) -> None:
    carol = client.tenant.users[2]
    _, before, _ = client.call("GET", "/me/mailFolders/sentitems")
    msg = {"subject": "Meet for lunch?", "body": {"contentType": "Text", "content": "The new cafeteria is open."},
           "toRecipients": [{"emailAddress": {"address": carol["userPrincipalName"].upper()}}],
           "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "attachment.txt",
                            "contentType": "text/plain", "contentBytes": "SGVsbG8gV29ybGQh"}]}
    assert client.call("POST", "/me/sendMail", body={"message": msg, "saveToSentItems": "false"})[0] == 202
    _, after, _ = client.call("GET", "/me/mailFolders/sentitems")
    assert after["totalItemCount"] == before["totalItemCount"]
    got = _inbox_find(client, 2, "Meet for lunch?")
    assert len(got) == 1 and got[0]["hasAttachments"] is True
    _, atts, _ = client.call("GET", f"/me/messages/{got[0]['id']}/attachments", user=2)
    assert base64.b64decode(atts["value"][0]["contentBytes"]) == b"Hello World!"
    status, body, _ = client.call("POST", "/me/sendMail", body={"message": {"subject": "x"}})
    assert (status, code(body)) == (400, "ErrorInvalidRecipients")
    assert client.call("POST", "/me/sendMail", body={"message": msg}, scopes=frozenset({"Mail.ReadWrite"}))[0] == 403


def test_reply_reply_all_forward_and_create_reply(client: Client) -> None:
    _, page, _ = client.call("GET", "/me/mailFolders/inbox/messages", "$top=50")
    orig = next(m for m in page["value"] if m.get("from") and m["from"]["emailAddress"]["address"].endswith(client.tenant.domain))
    status, draft, _ = client.call("POST", f"/me/messages/{orig['id']}/createReply", body={"comment": "Thanks!"})
    expected = orig["subject"] if orig["subject"].startswith("RE: ") else "RE: " + orig["subject"]
    assert status == 201 and draft["isDraft"] and draft["subject"] == expected
    assert draft["toRecipients"] == [orig["from"]] and draft["conversationId"] == orig["conversationId"]
    status, fw, _ = client.call("POST", f"/me/messages/{orig['id']}/createForward", body={})
    assert status == 201 and fw["subject"].startswith("FW: ") and fw["toRecipients"] == []
    assert client.call("POST", f"/me/messages/{orig['id']}/reply", body={"comment": "ok"})[0] == 202
    assert client.call("POST", f"/me/messages/{orig['id']}/replyAll", body={"comment": "all"})[0] == 202
    assert client.call("POST", f"/me/messages/{orig['id']}/forward", body={
        "comment": "fyi", "toRecipients": [{"emailAddress": {"address": "x@example.org", "name": "X"}}]})[0] == 202
    sender = client.tenant.user(orig["from"]["emailAddress"]["address"])
    idx = client.tenant.users.index(sender)
    before = len(_inbox_find(client, idx, expected))
    assert client.call("POST", f"/me/messages/{orig['id']}/reply", body={"comment": "again"})[0] == 202
    assert len(_inbox_find(client, idx, expected)) == before + 1 >= 3


def test_move_copy_delete_and_counters(client: Client) -> None:
    _, page, _ = client.call("GET", "/me/mailFolders/inbox/messages", "$filter=isRead eq false&$top=1")
    msg = page["value"][0]
    _, inbox0, _ = client.call("GET", "/me/mailFolders/inbox")
    status, patched, _ = client.call("PATCH", f"/me/messages/{msg['id']}", body={"isRead": True})
    assert status == 200 and patched["isRead"] is True
    _, inbox1, _ = client.call("GET", "/me/mailFolders/inbox")
    assert inbox1["unreadItemCount"] == inbox0["unreadItemCount"] - 1
    status, body, _ = client.call("PATCH", f"/me/messages/{msg['id']}", body={"subject": "rewritten"})
    assert (status, code(body)) == (400, "ErrorInvalidPropertyUpdateSentMessage")
    assert code(client.call("PATCH", f"/me/messages/{msg['id']}", body={"colour": 1})[1]) == "RequestBodyRead"
    status, moved, _ = client.call("POST", f"/me/messages/{msg['id']}/move", body={"destinationId": "archive"})
    assert status == 201 and moved["id"] != msg["id"] and moved["subject"] == msg["subject"]
    assert client.call("GET", f"/me/messages/{msg['id']}")[0] == 404
    _, archive, _ = client.call("GET", "/me/mailFolders/archive")
    assert moved["parentFolderId"] == archive["id"]
    status, copied, _ = client.call("POST", f"/me/messages/{moved['id']}/copy", body={"destinationId": "deleteditems"})
    assert status == 201 and copied["id"] != moved["id"]
    assert client.call("GET", f"/me/messages/{moved['id']}")[0] == 200
    assert client.call("DELETE", f"/me/messages/{copied['id']}")[0] == 204
    assert client.call("GET", f"/me/messages/{copied['id']}")[0] == 404
    assert client.call("DELETE", f"/me/messages/{moved['id']}", scopes=frozenset({"Mail.Read"}))[0] == 403


def test_mail_folder_writes(client: Client) -> None:
    status, folder, _ = client.call("POST", "/me/mailFolders", body={"displayName": "Clutter 2", "isHidden": True})
    assert status == 201 and folder["isHidden"] is True and folder["totalItemCount"] == 0
    assert client.call("POST", "/me/mailFolders", body={"displayName": "clutter 2"})[0] == 409
    status, child, _ = client.call("POST", f"/me/mailFolders/{folder['id']}/childFolders", body={"displayName": "Kid"})
    assert status == 201 and child["parentFolderId"] == folder["id"]
    _, renamed, _ = client.call("PATCH", f"/me/mailFolders/{child['id']}", body={"displayName": "Kid ✓"})
    assert renamed["displayName"] == "Kid ✓"
    status, moved, _ = client.call("POST", f"/me/mailFolders/{child['id']}/move", body={"destinationId": "inbox"})
    assert status == 200 and moved["parentFolderId"] == client.call("GET", "/me/mailFolders/inbox")[1]["id"]
    assert client.call("DELETE", f"/me/mailFolders/{folder['id']}")[0] == 204
    assert client.call("GET", f"/me/mailFolders/{folder['id']}")[0] == 404
    assert code(client.call("DELETE", "/me/mailFolders/inbox")[1]) == "ErrorDeleteDistinguishedFolder"


def test_attachment_add_and_delete(client: Client) -> None:
    _, page, _ = client.call("GET", "/me/messages", "$top=1")
    mid = page["value"][0]["id"]
    status, att, _ = client.call("POST", f"/me/messages/{mid}/attachments", body={
        "@odata.type": "#microsoft.graph.fileAttachment", "name": "n.txt", "contentBytes": "aGk="})
    assert status == 201 and att["size"] == 2
    assert client.call("GET", f"/me/messages/{mid}")[1]["hasAttachments"] is True
    assert client.call("DELETE", f"/me/messages/{mid}/attachments/{att['id']}")[0] == 204
    assert client.call("GET", f"/me/messages/{mid}/attachments/{att['id']}")[0] == 404


def test_event_create_invites_accept_updates_organizer_cancel(client: Client) -> None:
    bob = client.tenant.users[1]
    status, ev, headers = client.call("POST", "/me/events", headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}, body={
        "subject": "Plan summer company picnic", "body": {"contentType": "HTML", "content": "Let's kick-start!"},
        "start": {"dateTime": "2026-12-30T11:00:00", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2026-12-30T12:00:00", "timeZone": "Pacific Standard Time"},
        "attendees": [{"emailAddress": {"address": bob["mail"]}, "type": "Required"}],
        "location": {"displayName": "Conf Room 3", "locationType": "Default"}})
    assert status == 201 and ev["start"] == {"dateTime": "2026-12-30T11:00:00.0000000", "timeZone": "Pacific Standard Time"}
    assert headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'
    assert ev["type"] == "singleInstance" and ev["isOrganizer"] and ev["locations"][0]["displayName"] == "Conf Room 3"
    assert ev["attendees"][0]["type"] == "required" and ev["attendees"][0]["emailAddress"]["name"] == bob["displayName"]
    _, view, _ = client.call("GET", "/me/calendarView",
                             "startDateTime=2026-12-30T18:00:00Z&endDateTime=2026-12-30T20:00:00Z", user=1)
    copy = next(e for e in view["value"] if e["subject"] == "Plan summer company picnic")
    assert copy["isOrganizer"] is False and copy["iCalUId"] == ev["iCalUId"]
    assert copy["start"]["dateTime"] == "2026-12-30T19:00:00.0000000"  # 11:00 PST in UTC
    status, body, _ = client.call("POST", f"/me/events/{copy['id']}/cancel", body={}, user=1)
    assert status == 400 and code(body) == "ErrorAccessDenied"
    assert client.call("POST", f"/me/events/{copy['id']}/tentativelyAccept", body={"comment": "maybe", "sendResponse": True}, user=1)[0] == 202
    _, mine, _ = client.call("GET", f"/me/events/{ev['id']}")
    assert mine["attendees"][0]["status"]["response"] == "tentativelyAccepted"
    assert client.call("POST", f"/me/events/{ev['id']}/accept", body={})[0] == 400
    _, upd, _ = client.call("PATCH", f"/me/events/{ev['id']}", body={"subject": "Picnic (moved)"})
    assert upd["subject"] == "Picnic (moved)" and upd["changeKey"] != ev["changeKey"]
    assert client.call("GET", f"/me/events/{copy['id']}", user=1)[1]["subject"] == "Picnic (moved)"
    assert client.call("POST", f"/me/events/{ev['id']}/cancel", body={"comment": "rain"})[0] == 202
    assert client.call("GET", f"/me/events/{ev['id']}")[0] == 404
    assert client.call("GET", f"/me/events/{copy['id']}", user=1)[1]["isCancelled"] is True
    assert client.call("POST", "/me/events", body={"subject": "x"})[0] == 400


def test_recurring_event_create_and_delete_occurrence(client: Client) -> None:
    status, ev, _ = client.call("POST", "/me/calendars/" + client.call("GET", "/me/calendar")[1]["id"] + "/events", body={
        "subject": "Let's go for lunch", "start": {"dateTime": "2027-01-04T12:00:00", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2027-01-04T14:00:00", "timeZone": "Pacific Standard Time"},
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Monday"]},
                       "range": {"type": "endDate", "startDate": "2027-01-04", "endDate": "2027-02-28"}}})
    assert status == 201 and ev["type"] == "seriesMaster"
    assert ev["recurrence"]["pattern"]["firstDayOfWeek"] == "sunday"
    assert ev["recurrence"]["range"]["recurrenceTimeZone"] == "Pacific Standard Time"
    q = "startDateTime=2027-01-01T00:00:00Z&endDateTime=2027-03-31T00:00:00Z&$top=100"
    _, inst, _ = client.call("GET", f"/me/events/{ev['id']}/instances", q)
    assert len(inst["value"]) == 8
    assert client.call("DELETE", f"/me/events/{inst['value'][1]['id']}")[0] == 204
    assert len(client.call("GET", f"/me/events/{ev['id']}/instances", q)[1]["value"]) == 7


def test_contact_and_contact_folder_writes(client: Client) -> None:
    status, c, _ = client.call("POST", "/me/contacts", body={
        "givenName": "Pavel", "surname": "Bansky", "businessPhones": ["+1 732 555 0102"],
        "emailAddresses": [{"address": "pavelb@fabrikam.onmicrosoft.com", "name": "Pavel Bansky"}]})
    assert status == 201 and c["displayName"] == "Pavel Bansky" and c["homeAddress"] == {}
    _, p, _ = client.call("PATCH", f"/me/contacts/{c['id']}", body={"surname": "Banský"})
    assert p["displayName"] == "Pavel Banský"
    status, f, _ = client.call("POST", "/me/contactFolders", body={"displayName": "Important contacts"})
    assert status == 201
    assert client.call("POST", f"/me/contactFolders/{f['id']}/contacts", body={"givenName": "Ann"})[0] == 201
    assert len(client.call("GET", f"/me/contactFolders/{f['id']}/contacts")[1]["value"]) == 1
    assert client.call("DELETE", f"/me/contacts/{c['id']}")[0] == 204
    assert client.call("GET", f"/me/contacts/{c['id']}")[0] == 404
    assert client.call("POST", "/me/contacts", body={"givenName": "x"}, scopes=frozenset({"Contacts.Read"}))[0] == 403


class FakeLimits:
    """Stands in for the server's mailbox limits: throttles one mailbox."""

    def __init__(self, throttled: str) -> None:
        self.throttled = throttled
        self.entered: list[str] = []
        self.left: list[str] = []

    def enter(self, mailbox: str) -> float | None:
        if mailbox == self.throttled:
            return 2.5
        self.entered.append(mailbox)
        return None

    def admit(self, mailbox: str) -> GraphError | None:
        retry = self.enter(mailbox)
        return None if retry is None else throttled(retry)

    def leave(self, mailbox: str) -> None:
        self.left.append(mailbox)


def test_batch(client: Client) -> None:
    reqs = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]
    status, body, _ = client.call("POST", "/$batch", body={"requests": reqs})
    assert status == 400 and code(body) == "BadRequest"
    status, body, _ = client.call("POST", "/$batch", body={"requests": [{"id": "a", "method": "GET", "url": "/me"},
                                                                       {"id": "A", "method": "GET", "url": "/me"}]})
    assert status == 400
    bob = client.tenant.users[1]
    status, body, _ = client.call("POST", "/$batch", body={"requests": [
        {"id": "1", "method": "GET", "url": "/me/messages?$top=2&$select=subject"},
        {"id": "2", "method": "GET", "url": "/me/nothing"},
        {"id": "3", "dependsOn": ["2"], "method": "GET", "url": "/me"},
        {"id": "4", "method": "GET", "url": f"users/{bob['id']}/messages"},
        {"id": "5", "method": "POST", "url": "/me/mailFolders", "body": {"displayName": "From batch"},
         "headers": {"Content-Type": "application/json"}},
        {"id": "6", "method": "GET", "url": "users?$filter=city eq null&$count=true", "headers": {"ConsistencyLevel": "eventual"}},
    ]})
    assert status == 200
    by_id = {r["id"]: r for r in body["responses"]}
    assert set(by_id) == {"1", "2", "3", "4", "5", "6"}
    assert by_id["1"]["status"] == 200 and len(by_id["1"]["body"]["value"]) == 2
    assert by_id["2"]["status"] == 400 and by_id["3"]["status"] == 424
    assert by_id["4"]["status"] == 403 and by_id["5"]["status"] == 201
    assert by_id["6"]["status"] == 200 and "@odata.count" in by_id["6"]["body"]


def test_batch_applies_mailbox_limits_per_inner_request(client: Client) -> None:
    import json

    from o365sql.emulator.server.wire import EmuRequest

    me = client.tenant.users[0]["id"]
    other = client.tenant.users[1]
    limits = FakeLimits(other["id"])
    body = {"requests": [{"id": "1", "method": "GET", "url": "/me/messages?$top=1"},
                         {"id": "2", "method": "GET", "url": f"/users/{other['userPrincipalName']}/messages"},
                         {"id": "3", "method": "GET", "url": "/me"}]}
    principal = Principal("c", None, frozenset(), frozenset({"Mail.Read", "User.Read.All"}))
    req = EmuRequest("POST", "/$batch", "", {}, json.dumps(body).encode(), principal, "r", limits)
    out = client.service.handle(req).body
    by_id = {r["id"]: r for r in out["responses"]}
    assert by_id["1"]["status"] == 400  # /me with an app-only token, inside the batch too
    assert by_id["2"]["status"] == 429 and by_id["2"]["headers"]["Retry-After"] == "2.5"
    assert by_id["2"]["body"]["error"]["code"] == "ApplicationThrottled"
    delegated = Principal("c", me, frozenset({"Mail.Read", "User.Read"}))
    req = EmuRequest("POST", "/$batch", "", {}, json.dumps(body).encode(), delegated, "r", limits)
    out = client.service.handle(req).body
    assert {r["id"]: r["status"] for r in out["responses"]} == {"1": 200, "2": 429, "3": 200}
    assert limits.entered == [me] and limits.left == [me]


def test_event_shapes_match_the_documented_examples(client: Client) -> None:
    """outlook-calendar-meeting-proposals.md: an event carries ``uid``; a named location is
    in ``locations`` with its name as ``uniqueId`` (``private``); an attendee who proposes a
    new time shows it to the organizer as ``attendees[].proposedNewTime``."""
    bob = client.tenant.users[1]
    status, ev, _ = client.call("POST", "/me/events", body={
        "subject": "Let's go for lunch", "body": {"contentType": "HTML", "content": "Noon?"},
        "start": {"dateTime": "2026-12-16T12:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-16T14:00:00", "timeZone": "UTC"},
        "location": {"displayName": "Harry's Bar"},
        "attendees": [{"emailAddress": {"address": bob["mail"]}, "type": "required"}]})
    assert status == 201
    assert ev["uid"] == ev["iCalUId"] and ev["uid"]
    assert ev["locations"] == [{"displayName": "Harry's Bar", "locationType": "default",
                                "uniqueId": "Harry's Bar", "uniqueIdType": "private"}]
    assert "proposedNewTime" not in ev["attendees"][0]
    _, view, _ = client.call("GET", "/me/calendarView",
                             "startDateTime=2026-12-16T00:00:00Z&endDateTime=2026-12-17T00:00:00Z",
                             user=1)
    copy = next(e for e in view["value"] if e["subject"] == "Let's go for lunch")
    assert copy["uid"] == ev["uid"]
    proposal = {"start": {"dateTime": "2026-12-16T18:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-16T20:00:00", "timeZone": "UTC"}}
    assert client.call("POST", f"/me/events/{copy['id']}/tentativelyAccept", user=1, body={
        "comment": "Lunch or dinner?", "sendResponse": True, "proposedNewTime": proposal})[0] == 202
    _, mine, _ = client.call("GET", f"/me/events/{ev['id']}")
    assert mine["attendees"][0]["status"]["response"] == "tentativelyAccepted"
    assert mine["attendees"][0]["proposedNewTime"] == proposal
    _, seeded, _ = client.call("GET", "/me/events", "$top=50")
    assert all("uid" in e for e in seeded["value"])
    assert all("uniqueId" in loc for e in seeded["value"] for loc in e["locations"]
               if loc.get("displayName"))
