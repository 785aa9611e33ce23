"""Delta queries over real HTTPS for every resource the replica tracks (graph-semantics §7,
delta-limits-spark §5.1): mail folders, messages per folder (moves included), contact folders,
contacts, calendarView, users and groups with ``members@delta``; the documented response
shapes (graph-examples.json: ``get_messages_delta_3``), Graph's option restrictions and 410
``syncStateNotFound`` for a token Graph no longer knows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_emulator_mail_calendar_rules import bearer, follow_delta

from o365sql.emulator import Emulator

EXAMPLES = Path("/work/shared/reference/graph-examples.json")


@pytest.fixture
def me(emu: Emulator) -> str:
    return emu.mint_token(emu.users[1])


@pytest.fixture
def app(emu: Emulator) -> str:
    return emu.mint_token()


def _items(pages: list[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for page in pages for item in page}


def test_message_delta_page_shape_follows_documented_example(emu: Emulator, http: Any, me: str) -> None:
    """The documented last page (get_messages_delta_3): context, deltaLink, items typed first."""
    documented = None
    if EXAMPLES.exists():
        for example in json.loads(EXAMPLES.read_text()):
            if example.get("example_name") == "get_messages_delta_3":
                documented = example["response_body"]
    pages = []
    url = emu.graph_url + "/me/mailFolders/inbox/messages/delta?$select=subject,isRead,sender"
    while True:
        body = http.get(url, headers=bearer(me, Prefer="odata.maxpagesize=2")).json()
        pages.append(body)
        if "@odata.deltaLink" in body:
            break
        url = body["@odata.nextLink"]
    last = pages[-1]
    assert last["@odata.context"].endswith("/$metadata#Collection(message)")
    assert "$deltatoken=" in last["@odata.deltaLink"] and "@odata.nextLink" not in last
    item = pages[0]["value"][0]
    assert next(iter(item)) == "@odata.type" and item["@odata.type"] == "#microsoft.graph.message"
    assert {"subject", "isRead", "sender", "id"} <= set(item) and "body" not in item
    if documented is not None:
        assert set(documented) == set(last)
        assert set(documented["value"][0]) - {"@odata.etag"} <= set(item) | {"@odata.etag"}


def test_mail_folder_delta_reports_renames_counts_and_deletes(emu: Emulator, http: Any, me: str) -> None:
    g = emu.graph_url
    pages, link = follow_delta(http, g + "/me/mailFolders/delta", bearer(me, Prefer="odata.maxpagesize=3"))
    assert all(len(p) <= 3 for p in pages)
    first = _items(pages)
    names = {f["displayName"] for f in first.values()}
    assert {"Inbox", "Sent Items", "Drafts"} <= names
    top = http.get(g + "/me/mailFolders?$top=100", headers=bearer(me)).json()["value"]
    assert {f["id"] for f in top} <= set(first)  # the delta covers the whole visible tree
    # A new folder, a child of it, a rename, a message filed (counts change) and a delete.
    made = http.post(g + "/me/mailFolders", headers=bearer(me), json={"displayName": "Delta A"}).json()
    child = http.post(g + f"/me/mailFolders/{made['id']}/childFolders", headers=bearer(me),
                      json={"displayName": "Delta A1"}).json()
    inbox = next(f for f in first.values() if f["displayName"] == "Inbox")
    http.post(g + "/me/mailFolders/inbox/messages", headers=bearer(me), json={"subject": "x"})
    pages, link2 = follow_delta(http, link, bearer(me))
    changed = _items(pages)
    assert {made["id"], child["id"], inbox["id"]} <= set(changed)
    assert changed[inbox["id"]]["totalItemCount"] == inbox["totalItemCount"] + 1
    assert http.patch(g + f"/me/mailFolders/{made['id']}", headers=bearer(me),
                      json={"displayName": "Delta B"}).status_code == 200
    assert http.delete(g + f"/me/mailFolders/{made['id']}", headers=bearer(me)).status_code == 204
    pages, link3 = follow_delta(http, link2, bearer(me))
    changed = _items(pages)
    assert changed[made["id"]]["@removed"] == {"reason": "deleted"}
    assert changed[child["id"]]["@removed"] == {"reason": "deleted"}
    assert follow_delta(http, link3, bearer(me))[0] == [[]]


def test_message_moves_leave_one_folder_and_enter_another(emu: Emulator, http: Any, me: str) -> None:
    g = emu.graph_url
    a = http.post(g + "/me/mailFolders", headers=bearer(me), json={"displayName": "Move A"}).json()
    b = http.post(g + "/me/mailFolders", headers=bearer(me), json={"displayName": "Move B"}).json()
    msg = http.post(g + f"/me/mailFolders/{a['id']}/messages", headers=bearer(me), json={"subject": "m"}).json()
    _, link_a = follow_delta(http, g + f"/me/mailFolders/{a['id']}/messages/delta", bearer(me))
    _, link_b = follow_delta(http, g + f"/me/mailFolders/{b['id']}/messages/delta", bearer(me))
    moved = http.post(g + f"/me/messages/{msg['id']}/move", headers=bearer(me),
                      json={"destinationId": b["id"]}).json()
    pages_a, _ = follow_delta(http, link_a, bearer(me))
    pages_b, _ = follow_delta(http, link_b, bearer(me))
    assert _items(pages_a) == {msg["id"]: {"@odata.type": "#microsoft.graph.message", "id": msg["id"],
                                           "@removed": {"reason": "deleted"}}}
    assert list(_items(pages_b)) == [moved["id"]]
    assert _items(pages_b)[moved["id"]]["parentFolderId"] == b["id"]


def test_contact_and_contact_folder_delta(emu: Emulator, http: Any, me: str) -> None:
    g = emu.graph_url
    pages, link = follow_delta(http, g + "/me/contacts/delta?$select=displayName", bearer(me))
    before = _items(pages)
    assert before and all(set(c) <= {"@odata.type", "@odata.etag", "id", "displayName"} for c in before.values())
    victim, edited = sorted(before)[:2]
    assert http.patch(g + f"/me/contacts/{edited}", headers=bearer(me), json={"givenName": "Zed"}).status_code == 200
    assert http.delete(g + f"/me/contacts/{victim}", headers=bearer(me)).status_code == 204
    pages, _ = follow_delta(http, link, bearer(me))
    changed = _items(pages)
    assert set(changed) == {victim, edited}
    assert changed[victim]["@removed"] == {"reason": "deleted"}
    assert set(changed[edited]) <= {"@odata.type", "@odata.etag", "id", "displayName"}
    fpages, flink = follow_delta(http, g + "/me/contactFolders/delta", bearer(me))
    folders = _items(fpages)
    assert any(f["displayName"] == "Contacts" for f in folders.values())
    made = http.post(g + "/me/contactFolders", headers=bearer(me), json={"displayName": "Delta C"}).json()
    fpages, _ = follow_delta(http, flink, bearer(me))
    assert list(_items(fpages)) == [made["id"]]


def test_calendar_view_delta_reports_updates_and_cancellations(emu: Emulator, http: Any, me: str) -> None:
    g = emu.graph_url
    window = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2027-12-31T00:00:00Z"
    assert http.get(g + f"/me/calendarView/delta?{window}&$select=subject",
                    headers=bearer(me)).status_code in (200, 400)
    event = http.post(g + "/me/events", headers=bearer(me), json={
        "subject": "delta ev", "start": {"dateTime": "2026-06-01T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-06-01T11:00:00", "timeZone": "UTC"}}).json()
    _, link = follow_delta(http, g + f"/me/calendarView/delta?{window}", bearer(me))
    assert http.patch(g + f"/me/events/{event['id']}", headers=bearer(me),
                      json={"subject": "delta ev 2"}).status_code == 200
    pages, link = follow_delta(http, link, bearer(me))
    assert _items(pages)[event["id"]]["subject"] == "delta ev 2"
    assert http.delete(g + f"/me/events/{event['id']}", headers=bearer(me)).status_code == 204
    pages, _ = follow_delta(http, link, bearer(me))
    assert _items(pages)[event["id"]]["@removed"] == {"reason": "deleted"}


def test_users_and_groups_delta_with_members(emu: Emulator, http: Any, app: str) -> None:
    g = emu.graph_url
    tenant = emu.tenant
    pages, ulink = follow_delta(http, g + "/users/delta?$select=displayName,jobTitle", bearer(app))
    users = _items(pages)
    assert len(users) == len(tenant.users)
    pages, glink = follow_delta(http, g + "/groups/delta?$select=displayName,members", bearer(app))
    groups = _items(pages)
    group_id = min(groups)
    assert {m["id"] for m in groups[group_id]["members@delta"]} == set(tenant.group_members[group_id])
    outsider = next(u["id"] for u in tenant.users if u["id"] not in tenant.group_members[group_id])
    leaver = tenant.group_members[group_id][0]
    tenant.add_member(group_id, outsider)
    tenant.remove_member(group_id, leaver)
    changed_user = tenant.users[-1]["id"]
    tenant.update_user(changed_user, jobTitle="Replica tester")
    pages, _ = follow_delta(http, glink, bearer(app))
    changed = _items(pages)
    assert list(changed) == [group_id]
    assert {(m["id"], "@removed" in m) for m in changed[group_id]["members@delta"]} == {
        (outsider, False), (leaver, True)}
    pages, _ = follow_delta(http, ulink, bearer(app))
    assert list(_items(pages)) == [changed_user]
    assert _items(pages)[changed_user]["jobTitle"] == "Replica tester"


@pytest.mark.parametrize("path,query", [
    ("/me/mailFolders/delta", "$orderby=displayName"),
    ("/me/mailFolders/delta", "$filter=displayName eq 'Inbox'"),
    ("/me/contacts/delta", "$search=\"x\""),
    ("/me/contactFolders/delta", "$filter=displayName eq 'x'"),
    ("/me/mailFolders/inbox/messages/delta", "$orderby=subject"),
    ("/me/mailFolders/inbox/messages/delta", "$search=\"hello\""),
    ("/users/delta", "$orderby=displayName"),
    ("/groups/delta", "$search=\"displayName:x\""),
])
def test_delta_refuses_what_graph_refuses(emu: Emulator, http: Any, me: str, app: str, path: str,
                                          query: str) -> None:
    token = app if path.startswith(("/users", "/groups")) else me
    answer = http.get(emu.graph_url + path + "?" + query, headers=bearer(token))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] in ("ErrorInvalidUrlQuery", "Request_UnsupportedQuery")


def test_forgotten_tokens_answer_410_and_a_new_round_starts_over(emu: Emulator, http: Any, me: str) -> None:
    g = emu.graph_url
    url = g + "/me/mailFolders/inbox/messages/delta?$select=subject"
    pages, link = follow_delta(http, url, bearer(me))
    first = pages[0]
    nxt = http.get(url, headers=bearer(me, Prefer="odata.maxpagesize=1")).json()["@odata.nextLink"]
    assert emu.expire_delta_tokens() >= 2
    for lost in (link, nxt):
        answer = http.get(lost, headers=bearer(me))
        assert answer.status_code == 410 and answer.json()["error"]["code"] == "syncStateNotFound"
    again, _ = follow_delta(http, url, bearer(me))
    assert {m["id"] for m in again[0]} >= {m["id"] for m in first[:1]}


def test_maxpagesize_raises_delta_pages_above_the_default(emu: Emulator, http: Any, me: str) -> None:
    """Delta pages hold 10 items unless the request prefers more (delta-limits §5.1)."""
    url = emu.graph_url + "/me/mailFolders/inbox/messages/delta?$select=subject"
    plain = http.get(url, headers=bearer(me)).json()
    assert len(plain["value"]) == 10 and "@odata.nextLink" in plain
    more = http.get(url, headers=bearer(me, Prefer="odata.maxpagesize=25"))
    assert len(more.json()["value"]) == 25
    assert more.headers["Preference-Applied"] == "odata.maxpagesize=25"


def test_mail_folder_delta_holds_the_whole_tree_hidden_ones_flagged(emu: Emulator, http: Any,
                                                                    me: str) -> None:
    """mailFolders/delta is flat: every folder under msgfolderroot at any depth, hidden ones
    included with isHidden (the tree a childFolders walk with includeHiddenFolders lists)."""
    g = emu.graph_url
    parent = http.post(g + "/me/mailFolders", headers=bearer(me),
                       json={"displayName": "Tree 1"}).json()["id"]
    for level in (2, 3):
        parent = http.post(g + f"/me/mailFolders/{parent}/childFolders", headers=bearer(me),
                           json={"displayName": f"Tree {level}"}).json()["id"]
    hidden = http.post(g + "/me/mailFolders", headers=bearer(me),
                       json={"displayName": "Tree hidden", "isHidden": True}).json()["id"]
    walked: dict[str, bool] = {}
    level_ids = [""]
    while level_ids:
        found = []
        for ident in level_ids:
            path = f"/me/mailFolders/{ident}/childFolders" if ident else "/me/mailFolders"
            value = http.get(g + path + "?includeHiddenFolders=true&$top=999",
                             headers=bearer(me)).json()["value"]
            walked.update({f["id"]: f["isHidden"] for f in value})
            found += [f["id"] for f in value]
        level_ids = found
    pages, _ = follow_delta(http, g + "/me/mailFolders/delta", bearer(me))
    delta = {f["id"]: f["isHidden"] for f in _items(pages).values()}
    assert delta == walked and parent in delta and delta[hidden] is True
