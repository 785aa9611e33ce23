"""Behaviour of the emulator's Graph service, called in-process (GraphService.handle).

These exercise the seeded tenant, routing, permissions, ids and reads; writes are in
test_emulator_graph_writes.py and real-HTTP checks in test_emulator_graph_http.py.
"""

from __future__ import annotations

import base64

import pytest
from graph_harness import ALL, BASE, Client, code

from o365sql.emulator.graph.service import GraphService
from o365sql.emulator.server.wire import EmuRequest, Principal
from o365sql.emulator.tenant import item_ids
from o365sql.emulator.tenant.build import build_tenant
from o365sql.emulator.tenant.seed_mail import draft_count


@pytest.fixture(scope="module")
def client() -> Client:
    return Client()


# tenant ----------------------------------------------------------------------------------------
def test_tenant_is_deterministic_per_seed() -> None:
    a, b, c = build_tenant(seed=5), build_tenant(seed=5), build_tenant(seed=6)
    assert [u["id"] for u in a.users] == [u["id"] for u in b.users]
    assert a.tenant_id == b.tenant_id != c.tenant_id
    sa, sb = GraphService(a, BASE), GraphService(b, BASE)
    p = Principal("x", a.users[0]["id"], ALL)
    q = Principal("x", b.users[0]["id"], ALL)
    ra = sa.handle(EmuRequest("GET", "/me/messages", "$top=50", {}, b"", p, "r")).body
    rb = sb.handle(EmuRequest("GET", "/me/messages", "$top=50", {}, b"", q, "r")).body
    assert ra == rb
    assert [u["id"] for u in a.users] != [u["id"] for u in c.users]


def test_tenant_sizes_follow_parameters() -> None:
    t = build_tenant(seed=2, users=3, messages_per_user=40, events_per_user=4, contacts_per_user=7,
                     groups=2, shared_mailbox=False)
    assert len(t.users) == 3 and len(t.groups) == 2
    # messages_per_user seeded messages, then a few unsent drafts (seed_mail.draft_count)
    assert all(len(mb.mail.messages) == 40 + draft_count(40) for mb in t.mailboxes.values())
    bare = build_tenant(seed=2, users=3, messages_per_user=40, drafts_per_user=0)
    assert all(len(mb.mail.messages) == 40 for mb in bare.mailboxes.values())
    assert all(len(mb.contacts.contacts) == 7 for mb in t.mailboxes.values())
    with pytest.raises(TypeError, match="messages_per_usr"):
        build_tenant(messages_per_usr=3)


def test_user_lookup_by_id_or_upn_case_insensitive(client: Client) -> None:
    user = client.tenant.users[2]
    assert client.tenant.user(user["userPrincipalName"].upper()) is user
    assert client.tenant.user(user["id"].upper()) is user
    assert client.tenant.user("nobody@nowhere.example") is None
    assert "'" in user["userPrincipalName"]  # the default tenant has a UPN with a quote


def test_seeded_mail_is_realistic(client: Client) -> None:
    status, body, _ = client.call("GET", "/me/messages", "$top=1000")
    assert status == 200
    msgs = body["value"]
    subjects = [m["subject"] for m in msgs]
    assert any(s.startswith("RE: ") for s in subjects)
    assert any("'" in s for s in subjects) and any(ord(ch) > 0x3000 for s in subjects for ch in s)
    assert any(not m["isRead"] for m in msgs) and any(m["hasAttachments"] for m in msgs)
    assert any(m["categories"] for m in msgs) and any(m["importance"] == "high" for m in msgs)
    assert any(m["flag"]["flagStatus"] == "flagged" for m in msgs)
    assert any(m.get("@odata.type") == "#microsoft.graph.eventMessageRequest" for m in msgs)
    externals = {r["emailAddress"]["address"].split("@")[1] for m in msgs for r in m["toRecipients"] + m["ccRecipients"]}
    assert client.tenant.domain in externals and len(externals) > 1
    conv = {}
    for m in msgs:
        conv.setdefault(m["conversationId"], []).append(m)
    assert any(len(v) > 2 for v in conv.values())
    received = [m["receivedDateTime"] for m in msgs]
    assert received == sorted(received, reverse=True)
    assert min(received) >= "2025-04-01" and max(received) <= "2026-11-01T00:00:00Z"
    assert "uniqueBody" not in msgs[0] and "internetMessageHeaders" not in msgs[0]
    assert msgs[0]["@odata.etag"] == f'W/"{msgs[0]["changeKey"]}"'


def test_folders_top_level_hidden_and_children(client: Client) -> None:
    status, body, _ = client.call("GET", "/me/mailFolders", "$top=100")
    assert status == 200
    names = {f["displayName"] for f in body["value"]}
    assert {"Inbox", "Sent Items", "Drafts", "Deleted Items", "Archive", "Junk Email", "Outbox",
            "Conversation History"} <= names
    assert "Private stash" not in names and "Projects" not in names
    _, hidden, _ = client.call("GET", "/me/mailFolders", "includeHiddenFolders=true&$top=100")
    assert "Private stash" in {f["displayName"] for f in hidden["value"]}
    _, inbox, _ = client.call("GET", "/me/mailFolders/inbox")
    assert inbox["@odata.context"].endswith("/mailFolders/$entity")
    _, kids, _ = client.call("GET", "/me/mailFolders/Inbox/childFolders")
    projects = next(f for f in kids["value"] if f["displayName"] == "Projects")
    assert projects["childFolderCount"] == 2 and projects["parentFolderId"] == inbox["id"]
    _, grand, _ = client.call("GET", f"/me/mailFolders/{inbox['id']}/childFolders/{projects['id']}/childFolders")
    assert {"Alpha", "Bêta – 2025"} == {f["displayName"] for f in grand["value"]}
    _, in_folder, _ = client.call("GET", "/me/mailFolders/inbox/messages", "$top=1000&$count=true")
    assert in_folder["@odata.count"] == inbox["totalItemCount"] == len(in_folder["value"])
    assert sum(not m["isRead"] for m in in_folder["value"]) == inbox["unreadItemCount"]
    assert in_folder["@odata.context"] == f"{BASE}/$metadata#users('{client.tenant.users[0]['id']}')/mailFolders('inbox')/messages"


def test_count_segment_is_text(client: Client) -> None:
    status, body, _ = client.call("GET", "/me/messages/$count")
    assert status == 200 and body == str(len(client.tenant.mailboxes[client.tenant.users[0]["id"]].mail.messages))


def test_permissions(client: Client) -> None:
    t = client.tenant
    assert code(client.call("GET", "/me/messages", scopes=frozenset({"User.Read"}))[1]) == "ErrorAccessDenied"
    status, body, _ = client.call("GET", "/users", scopes=frozenset({"User.Read"}))
    assert status == 403 and code(body) == "Authorization_RequestDenied"
    assert client.call("GET", "/me", scopes=frozenset({"User.Read"}))[0] == 200
    status, body, _ = client.call("GET", "/me", user=None, roles=frozenset({"User.Read.All"}))
    assert status == 400 and body["error"]["message"] == "/me request is only valid with delegated authentication flow."
    other = t.users[1]["userPrincipalName"]
    status, body, _ = client.call("GET", f"/users/{other}/messages")
    assert status == 403 and body["error"]["message"] == "Access is denied. Check credentials and try again."
    assert client.call("GET", f"/users/{other}/messages", user=None, roles=frozenset({"Mail.Read"}))[0] == 200
    assert client.call("GET", f"/users/{other}/events", user=None, roles=frozenset({"Mail.Read"}))[0] == 403
    status, body, _ = client.call("GET", "/users/ghost@contoso.onmicrosoft.com/messages", user=None,
                                  roles=frozenset({"Mail.Read"}))
    assert (status, code(body)) == (404, "ErrorInvalidUser")
    assert "ghost@contoso.onmicrosoft.com" in body["error"]["message"]
    status, body, _ = client.call("GET", "/users/ghost@contoso.onmicrosoft.com")
    assert (status, code(body)) == (404, "Request_ResourceNotFound")


def test_shared_mailbox_needs_share_and_shared_scope(client: Client) -> None:
    support = client.tenant.user(f"support@{client.tenant.domain}")
    assert support is not None
    path = f"/users/{support['userPrincipalName']}/messages"
    assert client.call("GET", path, scopes=frozenset({"Mail.Read"}))[0] == 403
    assert client.call("GET", path, scopes=frozenset({"Mail.Read.Shared"}))[0] == 200
    assert client.call("GET", path, user=3, scopes=frozenset({"Mail.Read.Shared"}))[0] == 403  # not shared with user 3


def test_ids_malformed_unknown_and_foreign(client: Client) -> None:
    assert code(client.call("GET", "/me/messages/not-an-id")[1]) == "ErrorInvalidIdMalformed"
    mb = client.tenant.mailboxes[client.tenant.users[0]["id"]]
    missing = mb.item_id(item_ids.MESSAGE, 999_999)
    status, body, _ = client.call("GET", f"/me/messages/{missing}")
    assert (status, code(body)) == (404, "ErrorItemNotFound")
    other = client.tenant.mailboxes[client.tenant.users[1]["id"]]
    foreign = other.item_id(item_ids.MESSAGE, next(iter(other.mail.messages)))
    assert client.call("GET", f"/me/messages/{foreign}")[0] == 404
    tampered = missing[:-3] + ("B" if missing[-3] != "B" else "C") + missing[-2:]
    assert client.call("GET", f"/me/messages/{tampered}")[0] == 400


def test_single_message_select_and_prefer_text(client: Client) -> None:
    _, page, _ = client.call("GET", "/me/messages", "$top=1")
    mid = page["value"][0]["id"]
    status, body, headers = client.call("GET", f"/me/messages/{mid}", "$select=subject,body,uniqueBody",
                                        headers={"Prefer": 'outlook.body-content-type="text"'})
    assert status == 200
    assert body["@odata.context"].endswith("/messages(subject,body,uniqueBody)/$entity")
    assert body["body"]["contentType"] == "text" and "<" not in body["body"]["content"]
    assert body["uniqueBody"]["contentType"] == "text"
    assert headers["Preference-Applied"] == 'outlook.body-content-type="text"'
    assert set(body) == {"@odata.context", "@odata.etag", "id", "subject", "body", "uniqueBody"}
    _, mime, _ = client.call("GET", f"/me/messages/{mid}/$value")
    assert "Message-ID:" in mime and "Subject:" in mime


def test_users_groups_members(client: Client) -> None:
    status, body, _ = client.call("GET", "/users")
    assert status == 200 and len(body["value"]) == len(client.tenant.users)
    assert set(body["value"][0]) == {"id", "businessPhones", "displayName", "givenName", "jobTitle", "mail",
                                     "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}
    upn = client.tenant.users[2]["userPrincipalName"]
    status, body, _ = client.call("GET", f"/users/{upn.lower()}", "$select=displayName,department")
    assert status == 200 and body["department"] and body["@odata.context"] == f"{BASE}/$metadata#users(displayName,department)/$entity"
    _, groups, _ = client.call("GET", "/groups")
    unified = [g for g in groups["value"] if "Unified" in g["groupTypes"]]
    security = [g for g in groups["value"] if not g["groupTypes"]]
    assert unified and security and all(g["mailEnabled"] is False for g in security)
    types = set()
    for g in groups["value"]:
        _, members, _ = client.call("GET", f"/groups/{g['id']}/members")
        types |= {m["@odata.type"] for m in members["value"]}
    assert types == {"#microsoft.graph.user", "#microsoft.graph.group"}
    _, member_of, _ = client.call("GET", "/me/memberOf")
    assert member_of["value"] and all(m["@odata.type"] == "#microsoft.graph.group" for m in member_of["value"])
    assert client.call("GET", "/groups/00000000-0000-0000-0000-000000000000")[0] == 404


def test_calendar_view_requires_window_and_expands_series(client: Client) -> None:
    status, body, _ = client.call("GET", "/me/calendarView")
    assert (status, code(body)) == (400, "ErrorInvalidParameter")
    assert "StartDateTime and EndDateTime" in body["error"]["message"]
    _, events, _ = client.call("GET", "/me/events", "$top=1000")
    kinds = {e["type"] for e in events["value"]}
    assert kinds <= {"singleInstance", "seriesMaster"} and "seriesMaster" in kinds
    assert any(e["isAllDay"] for e in events["value"])
    assert len({e["originalStartTimeZone"] for e in events["value"]}) >= 3
    q = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2027-06-01T00:00:00Z&$top=1000"
    _, view, _ = client.call("GET", "/me/calendarView", q)
    assert {e["type"] for e in view["value"]} >= {"occurrence", "singleInstance"}
    assert all(e["type"] != "seriesMaster" for e in view["value"])
    assert all(e["end"]["dateTime"] > "2026-01-01" and e["start"]["dateTime"] < "2027-06-01" for e in view["value"])
    master = next(e for e in events["value"] if e["type"] == "seriesMaster")
    _, inst, _ = client.call("GET", f"/me/events/{master['id']}/instances",
                             "startDateTime=2024-01-01&endDateTime=2029-01-01&$top=1000")
    assert inst["value"] and all(i["seriesMasterId"] == master["id"] for i in inst["value"])
    one = inst["value"][0]
    assert client.call("GET", f"/me/events/{one['id']}")[1]["type"] == "occurrence"
    assert client.call("GET", f"/me/events/{master['id']}/instances")[0] == 400


def test_prefer_timezone_converts_and_is_echoed(client: Client) -> None:
    _, utc, _ = client.call("GET", "/me/events", "$top=5&$select=start,end,isAllDay")
    status, pst, headers = client.call("GET", "/me/events", "$top=5&$select=start,end,isAllDay",
                                       headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'})
    assert status == 200
    assert headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'
    for a, b in zip(utc["value"], pst["value"]):
        assert a["start"]["timeZone"] == "UTC" and b["start"]["timeZone"] == "Pacific Standard Time"
        if not a["isAllDay"]:
            assert a["start"]["dateTime"] != b["start"]["dateTime"]
        assert len(b["start"]["dateTime"]) == len("2017-08-30T11:00:00.0000000")


def test_contacts_and_folders(client: Client) -> None:
    _, contacts, _ = client.call("GET", "/me/contacts", "$top=100")
    default_folder = contacts["value"][0]["parentFolderId"]
    assert all(c["parentFolderId"] == default_folder for c in contacts["value"])
    assert any(len(c["emailAddresses"]) > 1 for c in contacts["value"])
    assert any(c["birthday"] is None for c in contacts["value"]) and any(c["birthday"] for c in contacts["value"])
    _, folders, _ = client.call("GET", "/me/contactFolders")
    assert default_folder not in {f["id"] for f in folders["value"]}
    clients = next(f for f in folders["value"] if f["displayName"] == "Clients")
    _, kids, _ = client.call("GET", f"/me/contactFolders/{clients['id']}/childFolders")
    assert [f["displayName"] for f in kids["value"]] == ["VIP ⭐"]


def test_attachments_list_get_value(client: Client) -> None:
    _, page, _ = client.call("GET", "/me/messages", "$filter=hasAttachments eq true&$top=1")
    mid = page["value"][0]["id"]
    _, atts, _ = client.call("GET", f"/me/messages/{mid}/attachments")
    att = atts["value"][0]
    assert att["@odata.type"] == "#microsoft.graph.fileAttachment" and att["contentBytes"]
    _, one, _ = client.call("GET", f"/me/messages/{mid}/attachments/{att['id']}")
    assert one["id"] == att["id"] and one["@odata.context"].endswith("/attachments/$entity")
    status, raw, _ = client.call("GET", f"/me/messages/{mid}/attachments/{att['id']}/$value")
    assert status == 200 and raw == base64.b64decode(att["contentBytes"])


def test_unknown_segment_is_bad_request(client: Client) -> None:
    status, body, _ = client.call("GET", "/me/planner/tasks")
    assert status == 400 and body["error"]["message"] == "Resource not found for the segment 'planner'."
