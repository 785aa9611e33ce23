"""The seeded tenant has unsent drafts in every mailbox, shaped like Graph's drafts
(graph-examples.json, the user-post-messages.md responses: isDraft true, isRead true, no from or
sender, receivedDateTime = sentDateTime = createdDateTime, filed in Drafts), the same for the
same seed. Over real HTTPS where the answer goes through the Graph routes."""

from __future__ import annotations

from typing import Any

import pytest

from o365sql.emulator import Emulator
from o365sql.emulator.tenant.build import build_tenant
from o365sql.emulator.tenant.mail_store import DRAFT


def _drafts(tenant: Any) -> dict[str, list[Any]]:
    out = {}
    for user in tenant.users:
        store = tenant.mailboxes[user["id"]].mail
        out[user["userPrincipalName"]] = [m for m in store.messages.values() if m.flags & DRAFT]
    return out


def test_every_mailbox_has_a_few_drafts_in_drafts() -> None:
    tenant = build_tenant(seed=1)
    for upn, drafts in _drafts(tenant).items():
        store = tenant.mailboxes[tenant.user(upn)["id"]].mail
        folder = store.well_known["drafts"]
        assert len(drafts) >= 2, upn
        assert all(d.folder == folder for d in drafts), upn
        assert all(d.sent == d.received for d in drafts), upn  # never sent: both are creation
        assert store.folders[folder].total == len(drafts)


def test_drafts_are_deterministic_per_seed() -> None:
    def shape(seed: int) -> list[tuple[Any, ...]]:
        return [(upn, d.serial, d.seed, d.received, d.to, d.conv)
                for upn, drafts in _drafts(build_tenant(seed=seed, users=3, messages_per_user=30)).items()
                for d in drafts]

    assert shape(4) == shape(4)
    assert shape(4) != shape(5)


def test_drafts_do_not_change_the_rest_of_the_tenant() -> None:
    # The drafts are drawn from their own random stream, after everything else: the other
    # messages, events and contacts are those of a tenant seeded without them.
    with_drafts = build_tenant(seed=6, users=3, messages_per_user=25)
    without = build_tenant(seed=6, users=3, messages_per_user=25, drafts_per_user=0)
    for user in with_drafts.users:
        a = with_drafts.mailboxes[user["id"]]
        b = without.mailboxes[without.user(user["id"])["id"]]
        extra = len(list(a.mail.messages.values())) - len(list(b.mail.messages.values()))
        assert extra >= 1
        kept = [(m.serial, m.seed, m.received, m.folder, m.flags) for m in a.mail.messages.values()][:25]
        assert kept == [(m.serial, m.seed, m.received, m.folder, m.flags) for m in b.mail.messages.values()]
        assert list(a.calendars.events) == list(b.calendars.events)


def test_no_messages_means_no_drafts() -> None:
    tenant = build_tenant(seed=1, users=2, messages_per_user=0)
    assert all(not drafts for drafts in _drafts(tenant).values())


def _bearer(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.mint_token(emu.users[0], scopes=['Mail.Read'])}"}


def test_drafts_over_http_look_like_graph_drafts(emu: Emulator, http: Any) -> None:
    folder = http.get(emu.graph_url + "/me/mailFolders/drafts", headers=_bearer(emu)).json()
    assert folder["totalItemCount"] >= 2
    listed = http.get(emu.graph_url + "/me/mailFolders/drafts/messages?$top=50&$select="
                      "isDraft,isRead,from,sender,receivedDateTime,sentDateTime,createdDateTime,"
                      "parentFolderId,toRecipients,subject", headers=_bearer(emu)).json()["value"]
    assert len(listed) == folder["totalItemCount"]
    for draft in listed:
        assert draft["isDraft"] is True and draft["isRead"] is True
        assert draft["from"] is None and draft["sender"] is None
        assert draft["receivedDateTime"] == draft["sentDateTime"] == draft["createdDateTime"]
        assert draft["parentFolderId"] == folder["id"]
        assert draft["toRecipients"] and draft["subject"]
    found = http.get(emu.graph_url + "/me/messages?$filter=isDraft eq true&$count=true&$top=100"
                     "&$select=isDraft", headers=_bearer(emu)).json()
    # The session emulator is shared: other tests may have saved drafts in other folders too.
    assert found["@odata.count"] == len(found["value"]) >= len(listed)
    assert {d["id"] for d in listed} <= {d["id"] for d in found["value"]}
    assert all(d["isDraft"] is True for d in found["value"])


@pytest.mark.parametrize("count", [2, 40, 150])
def test_draft_count_grows_with_the_mailbox(count: int) -> None:
    tenant = build_tenant(seed=2, users=1, messages_per_user=count, shared_mailbox=False)
    store = tenant.mailboxes[tenant.users[0]["id"]].mail
    assert len(list(store.messages.values())) >= count + 1
