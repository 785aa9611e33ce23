"""Lazy list queries over compact message records (record_view, odata_query, mail_json).

The emulator answers message lists from views that build only the properties a query touches;
these tests check that the answers are the same as over fully built messages, that laziness
holds (a page builds its own items only, a filter builds only what it names), that the result
cache is bounded by the items it holds, and that memory stays small during a full paged scan.
"""

from __future__ import annotations

import json
import os
import random
import tracemalloc
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from graph_harness import Client

from o365sql.emulator.odata import query as odata_query
from o365sql.emulator.odata.rules import MESSAGES
from o365sql.emulator.tenant.mail_json import MESSAGE_TABLE, message_items, message_json
from o365sql.emulator.tenant.record_view import ABSENT, PropertyTable, RecordItems, RecordView
from o365sql.emulator.tenant.seed_mail import draft_count
from o365sql.emulator.tenant.tenant import item_ids

SELF = "https://emu.test/v1.0/me/messages"
CTX = "https://emu.test/v1.0/$metadata#users('x')/messages"


@pytest.fixture(scope="module")
def client() -> Client:
    return Client(seed=5, users=2, messages_per_user=600)


def _mailbox(client: Client) -> Any:
    return client.tenant.mailbox(client.tenant.users[0]["id"])


def _all_pages(client: Client, query: str) -> list[dict[str, Any]]:
    status, body, _ = client.call("GET", "/me/messages", query)
    assert status == 200, body
    rows = list(body["value"])
    while "@odata.nextLink" in body:
        link = urlsplit(body["@odata.nextLink"])
        status, body, _ = client.call("GET", link.path[len("/v1.0"):], link.query)
        assert status == 200, body
        rows.extend(body["value"])
    return rows


QUERIES = [
    "$top=50",
    "$top=7&$select=subject,isRead,from",
    "$top=25&$filter=isRead eq false",
    "$top=25&$filter=importance eq 'high' or hasAttachments eq true&$select=subject",
    "$top=40&$filter=receivedDateTime ge 2020-01-01T00:00:00Z&$orderby=receivedDateTime asc",
    "$top=30&$filter=subject ne 'x'&$orderby=subject desc,sentDateTime",
    "$top=30&$orderby=from/emailAddress/name,id desc",
    "$top=30&$filter=categories/any(c:c eq 'Blue category')",
    "$top=20&$search=\"budget\"",
    "$top=100&$filter=startswith(subject,'RE:')&$orderby=subject&$select=subject,bodyPreview",
]


@pytest.mark.parametrize("query", QUERIES)
def test_lazy_answers_equal_answers_over_built_messages(client: Client, query: str) -> None:
    mb = _mailbox(client)
    records = mb.mail.ordered()
    lazy = odata_query.apply_query(message_items(mb, records), MESSAGES, query, {}, SELF, CTX,
                                   cache_key=("lazy-test", mb.number, mb.version, query))
    built = [message_json(mb, r) for r in records]
    eager = odata_query.apply_query(built, MESSAGES, query, {}, SELF, CTX)
    assert json.dumps(lazy) == json.dumps(eager)
    assert lazy["value"], "the query should find something, or it checks nothing"


def test_paged_scan_equals_one_big_page(client: Client) -> None:
    scanned = _all_pages(client, "$top=37&$select=subject,receivedDateTime")
    _, whole, _ = client.call("GET", "/me/messages", "$top=1000&$select=subject,receivedDateTime")
    assert [m["id"] for m in scanned] == [m["id"] for m in whole["value"]]
    assert len(scanned) == len(_mailbox(client).mail.ordered()) == 600 + draft_count(600)


def test_default_order_is_received_desc_then_id() -> None:
    client = Client(seed=9, users=1, messages_per_user=300)
    mb = _mailbox(client)
    for rec in list(mb.mail.messages.values())[::3]:
        rec.received = 1_700_000_000  # many ties: the id text must break them
    mb.mail._changed()
    rows = _all_pages(client, "$top=1000&$select=receivedDateTime")
    keys = [(m["receivedDateTime"], m["id"]) for m in rows]
    by_time: dict[str, list[str]] = {}
    for stamp, ident in keys:
        by_time.setdefault(stamp, []).append(ident)
    assert [s for s, _ in keys] == sorted((s for s, _ in keys), reverse=True)
    assert all(ids == sorted(ids) for ids in by_time.values())
    assert max(len(ids) for ids in by_time.values()) >= 90


def test_order_key_orders_like_the_id_text() -> None:
    rng = random.Random(3)
    key = uuid.UUID(int=rng.getrandbits(128)).bytes
    for kind in (item_ids.MESSAGE, item_ids.EVENT, item_ids.CONTACT):
        serials = rng.sample(range(1, 2**32), 3000) + list(range(1, 3000))
        by_text = sorted(serials, key=lambda s: item_ids.encode(key, kind, s))
        by_key = sorted(serials, key=lambda s: item_ids.order_key(kind, s))
        assert by_text == by_key


def _counting_table(calls: dict[str, int], forbidden: str | None = None) -> PropertyTable:
    def wrap(name: str, builder: Any) -> Any:
        def build(owner: Any, record: Any, scratch: dict[str, Any]) -> Any:
            calls[name] = calls.get(name, 0) + 1
            if name == forbidden:
                raise AssertionError(f"{name} was built")
            return builder(owner, record, scratch)
        return build

    return PropertyTable([(n, wrap(n, b)) for n, b in MESSAGE_TABLE.builders.items()],
                         native=MESSAGE_TABLE.native, id_order=MESSAGE_TABLE.id_order)


def test_a_page_builds_only_its_items_and_selected_properties(client: Client) -> None:
    mb = _mailbox(client)
    calls: dict[str, int] = {}
    items = RecordItems(mb.mail.ordered(), _counting_table(calls, forbidden="body"), mb,
                        presorted=(("receivedDateTime", True),))
    body = odata_query.apply_query(items, MESSAGES, "$top=10&$select=subject", {}, SELF, CTX,
                                   cache_key=("count-test", 1))
    assert len(body["value"]) == 10 and "@odata.nextLink" in body
    assert calls.get("subject") == 10 and "bodyPreview" not in calls


def test_a_filter_builds_only_the_properties_it_names(client: Client) -> None:
    mb = _mailbox(client)
    calls: dict[str, int] = {}
    items = RecordItems(mb.mail.ordered(), _counting_table(calls, forbidden="body"), mb,
                        presorted=(("receivedDateTime", True),))
    body = odata_query.apply_query(items, MESSAGES, "$top=5&$filter=isRead eq false&$select=isRead",
                                   {}, SELF, CTX, cache_key=("filter-test", 1))
    assert body["value"] and all(m["isRead"] is False for m in body["value"])
    assert calls["isRead"] == len(mb.mail.ordered()) + 5 and "subject" not in calls and "receivedDateTime" not in calls
    with pytest.raises(AssertionError, match="body was built"):
        odata_query.apply_query(items, MESSAGES, "$top=5&$select=body", {}, SELF, CTX)


def test_record_view_behaves_as_the_built_dict(client: Client) -> None:
    mb = _mailbox(client)
    rec = mb.mail.ordered()[3]
    full = message_json(mb, rec)
    view = RecordView(MESSAGE_TABLE, mb, rec)
    assert view.get("subject") == full["subject"] and view["isRead"] is full["isRead"]
    assert "@odata.type" not in view and view.get("@odata.type", 7) == 7
    with pytest.raises(KeyError):
        view["nope"]
    assert list(view) == list(full) and view == full and dict(view) == full
    assert bool(RecordView(MESSAGE_TABLE, mb, rec)) and len(RecordView(MESSAGE_TABLE, mb, rec)) == len(full)
    # json's C encoder reads the dict's size directly: a view is encoded once materialized.
    assert json.dumps(RecordView(MESSAGE_TABLE, mb, rec).materialize()) == json.dumps(full)
    assert MESSAGE_TABLE.builders["@odata.type"](mb, rec, {}) is ABSENT


def test_result_cache_is_bounded_by_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(odata_query, "_CACHE_ITEMS", 100)
    items = [{"id": f"{i:04d}", "n": i} for i in range(40)]
    from o365sql.emulator.odata.rules import MAIL_FOLDERS

    for key in range(10):
        body = odata_query.apply_query(items, MAIL_FOLDERS, "$top=3", {}, SELF, CTX,
                                       cache_key=("budget", key))
        assert [v["id"] for v in body["value"]] == ["0000", "0001", "0002"]
        _entries, held = odata_query.cached_items()
        assert held <= 100
    big = [{"id": f"{i:04d}"} for i in range(101)]  # alone over the budget: not kept
    before = odata_query.cached_items()
    odata_query.apply_query(big, MAIL_FOLDERS, "$top=3", {}, SELF, CTX, cache_key=("budget", "big"))
    assert odata_query.cached_items() == before


def test_full_scan_memory_stays_small() -> None:
    client = Client(seed=2, users=1, messages_per_user=20000)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        rows = _all_pages(client, "$top=1000&$select=subject,receivedDateTime,isRead")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 20000 + draft_count(20000)
    # The scan's own rows are ~6 MB of dicts; building every message (the eager way) took
    # ~120 MB for 20,000 messages and kept it in the result cache.
    assert peak - before < 40 * 2**20, f"peak grew by {(peak - before) / 2**20:.1f} MiB"


# Filters run on records (issue 12 point 7): instants compared as integers, ranges of the
# received order cut by binary search. Each generated filter is answered over records and over
# fully built messages (plain dicts, the reference path), whole result and $count alike.
_OPS = ("gt", "ge", "lt", "le", "eq", "ne")
_MIRROR = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge", "eq": "eq", "ne": "ne"}
_INSTANT_PROPS = ("receivedDateTime", "sentDateTime", "createdDateTime", "lastModifiedDateTime")


def _instant_literal(rng: random.Random, records: list[Any]) -> str:
    """A literal at, just beside or between the mailbox's own timestamps, in Graph's forms."""
    from datetime import UTC, datetime, timedelta

    base = datetime.fromtimestamp(rng.choice(records).received, UTC)
    shape = rng.randrange(6)
    if shape == 0:
        return base.strftime("%Y-%m-%dT%H:%M:%SZ")  # exactly a stored value
    if shape == 1:
        moment = base + timedelta(microseconds=rng.choice((1, 500_000, 999_999)) *
                                  rng.choice((1, -1)))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if shape == 2:
        return base.strftime("%Y-%m-%d")  # a bare date (Outlook, graph-semantics §2.2)
    if shape == 3:  # the same instant written with an offset
        return base.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S") + "+00:00" \
            if rng.random() < 0.5 else (base + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    if shape == 4:
        return base.strftime("%Y-%m-%dT%H:%M:%S.0Z")
    return rng.choice(("1999-01-01T00:00:00Z", "2999-01-01T00:00:00Z"))


def _instant_filter(rng: random.Random, records: list[Any]) -> str:
    def clause() -> str:
        roll = rng.random()
        if roll < 0.6:
            prop = "receivedDateTime" if rng.random() < 0.7 else rng.choice(_INSTANT_PROPS)
            op, literal = rng.choice(_OPS), _instant_literal(rng, records)
            return f"{literal} {_MIRROR[op]} {prop}" if rng.random() < 0.2 else f"{prop} {op} {literal}"
        if roll < 0.8:
            return f"isRead eq {rng.choice(('true', 'false'))}"
        if roll < 0.9:
            return f"importance eq '{rng.choice(('low', 'normal', 'high'))}'"
        return f"not (hasAttachments eq {rng.choice(('true', 'false'))})"

    parts = [clause() for _ in range(rng.randrange(1, 4))]
    joined = parts[0]
    for part in parts[1:]:
        joined = f"{joined} {'and' if rng.random() < 0.75 else 'or'} {part}"
    return joined


def test_record_filters_equal_filters_over_built_messages(client: Client) -> None:
    mb = _mailbox(client)
    records = mb.mail.ordered()
    built = [message_json(mb, r) for r in records]
    rng = random.Random(1207 if os.environ.get("CI") else None)
    compared = found = errors = 0
    for n in range(200):
        filt = _instant_filter(rng, records)
        # An $orderby must lead the $filter (InefficientFilter): mostly one that does, sometimes
        # one that does not (both paths must refuse it alike).
        leads = filt.startswith("receivedDateTime") and rng.random() < 0.7
        order = rng.choice(("&$orderby=receivedDateTime desc", "&$orderby=receivedDateTime asc")) \
            if leads else rng.choice(("",) * 8 + ("&$orderby=sentDateTime desc",
                                                  "&$orderby=subject,receivedDateTime desc"))
        wire = filt.replace("+", "%2B")  # a raw "+" in a query string is a space
        query = f"$top=1000&$count=true&$select=receivedDateTime,isRead&$filter={wire}{order}"
        lazy = _answer(message_items(mb, records), query, ("record-filter", n, mb.version))
        eager = _answer(built, query, None)
        assert lazy == eager, query
        if isinstance(eager, str):  # the same error both ways (InefficientFilter...)
            errors += 1
            continue
        counted = odata_query.count_only(message_items(mb, records), MESSAGES, f"$filter={wire}", {},
                                         cache_key=("record-count", n, mb.version))
        assert counted == len(eager["value"]) == eager["@odata.count"], filt
        compared += 1
        found += bool(eager["value"]) and len(eager["value"]) < len(records)
    assert compared >= 140 and found >= 50 and errors,  f"{compared} compared, {found} kept some but not all, {errors} errors"


def _answer(items: Any, query: str, cache_key: Any) -> Any:
    """A query's JSON body, or its Graph error code."""
    from o365sql.emulator.errors import GraphError

    try:
        return json.loads(json.dumps(odata_query.apply_query(items, MESSAGES, query, {}, SELF, CTX,
                                                             cache_key=cache_key)))
    except GraphError as exc:
        return exc.code


def test_range_bounds_cut_the_received_order_by_binary_search(client: Client) -> None:
    mb = _mailbox(client)
    records = mb.mail.ordered()
    calls: dict[str, int] = {}
    items = RecordItems(records, _counting_table(calls), mb, presorted=(("receivedDateTime", True),))
    items.table.instants.update(MESSAGE_TABLE.instants)
    lower = records[len(records) // 2]
    upper = records[len(records) // 4]
    from o365sql.emulator.tenant.mail_json import iso

    filt = f"receivedDateTime ge {iso(lower.received)} and receivedDateTime lt {iso(upper.received)}"
    body = odata_query.apply_query(items, MESSAGES, f"$top=1000&$select=subject&$filter={filt}",
                                   {}, SELF, CTX)
    expected = [r for r in records if lower.received <= r.received < upper.received]
    assert [v["subject"] for v in body["value"]] == \
        [message_json(mb, r)["subject"] for r in expected] and expected
    # Only the page's subjects were built: the range itself was found without building any
    # receivedDateTime text.
    assert "receivedDateTime" not in calls and calls["subject"] == len(expected)


def test_counts_are_kept_until_the_mailbox_changes() -> None:
    client = Client(seed=6, users=1, messages_per_user=300)
    status, unread, _ = client.call("GET", "/me/messages/$count", "$filter=isRead eq false")
    assert status == 200 and int(unread) > 0
    status, page, _ = client.call("GET", "/me/messages", "$filter=isRead eq false&$top=1&$select=id")
    assert status == 200
    target = page["value"][0]["id"]
    status, _, _ = client.call("PATCH", f"/me/messages/{target}", body={"isRead": True})
    assert status == 200
    status, after, _ = client.call("GET", "/me/messages/$count", "$filter=isRead eq false")
    assert status == 200 and int(after) == int(unread) - 1
    status, again, _ = client.call("GET", "/me/messages/$count", "$filter=isRead eq false")
    assert int(again) == int(after)


# Listings sent as cached item texts (issue 12 point 7): the bytes equal the JSON of the body
# built the ordinary way, a write is never hidden, and the cache stays within its budget.
ENCODED_QUERIES = [
    "$top=30&$select=id,subject,receivedDateTime,isRead,from",
    "$top=30&$select=subject&$skip=30&$count=true",
    "$top=25&$filter=isRead eq false&$select=isRead,toRecipients,categories,replyTo",
    "$top=5",
    ("$top=40&$orderby=receivedDateTime asc&$filter=receivedDateTime ge 2000-01-01T00:00:00Z"
     "&$select=receivedDateTime,singleValueExtendedProperties"),
]


@pytest.mark.parametrize("query", ENCODED_QUERIES)
def test_encoded_listing_is_the_json_of_the_built_body(client: Client, query: str) -> None:
    from o365sql.emulator.odata.select import encoded_chars

    mb = _mailbox(client)
    items = message_items(mb, mb.mail.ordered())
    key = ("encoded-test", mb.number, mb.version, query)
    built = odata_query.apply_query(items, MESSAGES, query, {}, SELF, CTX, cache_key=key)
    expected = json.dumps(built, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    for _ in range(2):  # built, then from the cache of encoded items
        encoded, _ = odata_query.apply_query_encoded(items, MESSAGES, query, {}, SELF, CTX,
                                                     cache_key=key)
        assert encoded == expected
    assert encoded_chars()[0] >= len(built["value"]) > 0


def test_encoded_listing_shows_every_write() -> None:
    from o365sql.emulator.server.wire import EncodedResponse

    client = Client(seed=7, users=1, messages_per_user=200)
    mb = client.tenant.mailbox(client.tenant.users[0]["id"])
    query = "$top=10&$select=subject,isRead"
    answer = client.service.handle(_request(client, "GET", "/me/messages", query))
    assert isinstance(answer, EncodedResponse)
    first = json.loads(answer.encoded)["value"][0]
    status, _, _ = client.call("PATCH", f"/me/messages/{first['id']}",
                               body={"isRead": not first["isRead"]})
    assert status == 200
    status, body, _ = client.call("GET", "/me/messages", query)
    assert status == 200 and body["value"][0]["isRead"] is (not first["isRead"])
    # A $batch embeds the listing as JSON (decoded from the encoded text).
    status, batch, _ = client.call("POST", "/$batch", body={"requests": [
        {"id": "1", "method": "GET", "url": f"/me/messages?{query}"}]})
    assert status == 200 and batch["responses"][0]["body"]["value"] == body["value"]
    # A Prefer that changes items is applied to them (not served from the cached texts).
    status, texts, _ = client.call("GET", "/me/messages", "$top=3&$select=body",
                                   headers={"Prefer": 'outlook.body-content-type="text"'})
    assert status == 200 and {v["body"]["contentType"] for v in texts["value"]} == {"text"}
    assert mb.version > 0


def _request(client: Client, method: str, path: str, query: str) -> Any:
    from o365sql.emulator.server.wire import EmuRequest

    return EmuRequest(method, path, query, {}, b"", client.principal(), "req-1")


def test_encoded_items_stay_within_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from o365sql.emulator.odata import select

    monkeypatch.setattr(select, "ENCODED_BUDGET", 50_000)
    client = Client(seed=8, users=1, messages_per_user=1500)
    rows = _all_pages(client, "$top=500&$select=subject,receivedDateTime,from")
    assert len(rows) >= 1500
    held, chars = select.encoded_chars()
    assert 0 < chars <= 50_000 and held < len(rows)


def test_a_refused_patch_changes_nothing() -> None:
    """A PATCH refused for one property (subject of a sent message: draft only) applies none of
    the others (importance, isRead, categories), so the message and every listing of it stay
    as they were, and no kept listing or count can disagree with the message itself."""
    client = Client(seed=9, users=1, messages_per_user=60)
    query = "$top=20&$select=importance,isRead,categories,isDraft"
    status, page, _ = client.call("GET", "/me/messages", query)
    sent = next(v for v in page["value"] if not v["isDraft"])
    _, unread_before, _ = client.call("GET", "/me/messages/$count", "$filter=isRead eq false")
    change = {"importance": "low" if sent["importance"] != "low" else "high",
              "isRead": not sent["isRead"], "categories": ["Red category"], "subject": "x"}
    status, body, _ = client.call("PATCH", f"/me/messages/{sent['id']}", body=change)
    assert status == 400 and body["error"]["code"] == "ErrorInvalidPropertyUpdateSentMessage"
    status, one, _ = client.call("GET", f"/me/messages/{sent['id']}",
                                 "$select=importance,isRead,categories,isDraft")
    assert {k: one[k] for k in ("importance", "isRead", "categories")} == \
        {k: sent[k] for k in ("importance", "isRead", "categories")}
    _, again, _ = client.call("GET", "/me/messages", query)
    assert next(v for v in again["value"] if v["id"] == sent["id"]) == sent
    _, unread_after, _ = client.call("GET", "/me/messages/$count", "$filter=isRead eq false")
    assert unread_after == unread_before
