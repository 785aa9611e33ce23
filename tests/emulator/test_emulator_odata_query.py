"""Unit tests of the emulator's OData entry points: options, ordering, paging, $select, $count."""

from __future__ import annotations

from urllib.parse import quote as urlquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o365sql.emulator.errors import GraphError
from o365sql.emulator.odata import rules as R
from o365sql.emulator.odata.query import (
    apply_query,
    apply_query_with_headers,
    count_only,
    entity_context,
    select_entity,
)

BASE = "https://emu.test/v1.0"
EVENTUAL = {"consistencylevel": "eventual"}


def message(i: int, **extra: object) -> dict:
    item = {
        "@odata.etag": f'W/"etag{i}"', "id": f"m{i:04d}", "subject": f"Subject {i % 7}",
        "isRead": i % 2 == 0, "importance": ("low", "normal", "high")[i % 3],
        "receivedDateTime": f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        "sentDateTime": f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        "hasAttachments": i % 4 == 0, "categories": ["Red"] if i % 5 == 0 else [],
        "from": {"emailAddress": {"name": f"Sender {i % 3}", "address": f"s{i % 3}@contoso.com"}},
        "body": {"contentType": "text", "content": f"body text {i}"},
        "internetMessageHeaders": [{"name": "X-A", "value": "1"}],
        "uniqueBody": {"contentType": "text", "content": "u"},
    }
    item.update(extra)
    return item


MESSAGES = [message(i) for i in range(45)]
USERS = [{"id": f"u{i:03d}", "displayName": f"User {i:03d}", "mail": f"user{i}@contoso.com",
          "userPrincipalName": f"user{i}@contoso.com", "givenName": "G", "surname": "S",
          "jobTitle": "Engineer" if i % 2 else None, "businessPhones": [], "mobilePhone": None,
          "officeLocation": None, "preferredLanguage": "en-US", "city": "Paris",
          "accountEnabled": i % 3 != 0, "aboutMe": "hi"} for i in range(230)]


def run(items: list[dict], rules: R.ResourceRules, query: str, headers: dict | None = None,
        **kw: object) -> dict:
    return apply_query(items, rules, query, headers or {}, f"{BASE}/me/{rules.name}",
                       f"{BASE}/$metadata#users('me')/{rules.name}", **kw)  # type: ignore[arg-type]


def fails(items: list[dict], rules: R.ResourceRules, query: str,
          headers: dict | None = None) -> GraphError:
    with pytest.raises(GraphError) as info:
        run(items, rules, query, headers)
    return info.value


def follow(items: list[dict], rules: R.ResourceRules, query: str,
           headers: dict | None = None) -> list[dict]:
    """Every page, following nextLinks (which must repeat the original options)."""
    pages = []
    while True:
        body = run(items, rules, query, headers)
        pages.append(body)
        link = body.get("@odata.nextLink")
        if not link:
            return pages
        assert link.startswith(f"{BASE}/me/{rules.name}?")
        query = link.split("?", 1)[1]


# -- defaults and paging ---------------------------------------------------------------------
def test_messages_default_page_and_order() -> None:
    body = run(MESSAGES, R.MESSAGES, "")
    assert list(body) == ["@odata.context", "@odata.nextLink", "value"]
    assert len(body["value"]) == 10
    assert body["@odata.nextLink"] == f"{BASE}/me/messages?$skip=10"
    received = [m["receivedDateTime"] for m in body["value"]]
    assert received == sorted((m["receivedDateTime"] for m in MESSAGES), reverse=True)[:10]
    first = body["value"][0]
    assert first["@odata.etag"].startswith('W/"') and "id" in first
    assert "internetMessageHeaders" not in first and "uniqueBody" not in first


def test_top_is_the_page_size_and_nextlink_repeats_options() -> None:
    query = "$top=1&$select=subject"
    body = run(MESSAGES, R.MESSAGES, query)
    assert len(body["value"]) == 1
    assert body["@odata.nextLink"] == f"{BASE}/me/messages?$top=1&$select=subject&$skip=1"
    pages = follow(MESSAGES, R.MESSAGES, "$top=7&$filter=isRead%20eq%20true")
    assert [len(p["value"]) for p in pages] == [7, 7, 7, 2]
    assert "@odata.nextLink" not in pages[-1]
    assert pages[2]["@odata.nextLink"].endswith("$top=7&$filter=isRead%20eq%20true&$skip=21")
    seen = [m["id"] for p in pages for m in p["value"]]
    assert len(seen) == len(set(seen)) == 23


def test_client_skip_replaces_skip_in_nextlink() -> None:
    body = run(MESSAGES, R.MESSAGES, "$skip=40&$top=3")
    assert body["@odata.nextLink"].endswith("?$top=3&$skip=43")
    body = run(MESSAGES, R.MESSAGES, "$skip=44&$top=3")
    assert len(body["value"]) == 1 and "@odata.nextLink" not in body
    assert run(MESSAGES, R.MESSAGES, "$skip=500")["value"] == []


def test_top_limits_outlook_clamps_directory_rejects() -> None:
    many = [message(i) for i in range(1100)]
    body = run(many, R.MESSAGES, "$top=5000&$select=id")
    assert len(body["value"]) == 1000
    assert body["@odata.nextLink"].endswith("$top=5000&$select=id&$skip=1000")
    assert len(run(many, R.MESSAGES, "$top=99999999999999999999")["value"]) == 1000
    assert run(MESSAGES, R.MESSAGES, "$top=0")["value"] == []
    for top in ("1000", "0", "99999999999999999999"):
        e = fails(USERS, R.USERS, f"$top={top}")
        assert (e.code, e.message) == ("Request_UnsupportedQuery", (
            f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."))
    assert len(run(USERS, R.USERS, "$top=999")["value"]) == 230


@pytest.mark.parametrize("query,code", [
    ("$top=abc", "RequestBroker--ParseUri"), ("$top=-1", "RequestBroker--ParseUri"),
    ("$skip=1.5", "RequestBroker--ParseUri"), ("$count=yes", "RequestBroker--ParseUri"),
    ("$filter=isRead eq true&$FILTER=isRead eq false", "RequestBroker--ParseUri"),
])
def test_bad_option_values(query: str, code: str) -> None:
    e = fails(MESSAGES, R.MESSAGES, query)
    assert (e.status, e.code) == (400, code)
    assert fails(USERS, R.USERS, "$top=x").code == "BadRequest"


def test_top_error_text() -> None:
    assert fails(MESSAGES, R.MESSAGES, "$top=abc").message == (
        "Invalid value 'abc' for $top query option found. The $top query option requires a "
        "non-negative integer value.")


def test_option_names_case_and_dollar() -> None:
    assert len(run(MESSAGES, R.MESSAGES, "$TOP=3&$Filter=isRead+eq+true")["value"]) == 3
    assert len(run(MESSAGES, R.MESSAGES, "top=3")["value"]) == 10        # Outlook: $ required
    assert len(run(USERS, R.USERS, "top=3")["value"]) == 3               # directory: optional
    body = run(USERS, R.USERS, "filter=startswith(displayName,'user 00')&top=5")
    assert [u["id"] for u in body["value"]] == [f"u00{i}" for i in range(5)]


def test_directory_skiptoken_paging() -> None:
    pages = follow(USERS, R.USERS, "$top=100&$filter=accountEnabled%20eq%20true")
    assert [len(p["value"]) for p in pages] == [100, 53]
    link = pages[0]["@odata.nextLink"]
    assert link.startswith(f"{BASE}/me/users?$top=100&$filter=accountEnabled%20eq%20true"
                           "&$skiptoken=X%27")
    assert link.endswith("%27") and "$skip=" not in link
    ids = [u["id"] for p in pages for u in p["value"]]
    assert ids == [u["id"] for u in USERS if u["accountEnabled"]]


def test_directory_skiptoken_is_bound_to_the_query() -> None:
    link = run(USERS, R.USERS, "$top=10")["@odata.nextLink"]
    token = link.split("$skiptoken=", 1)[1]
    for query in (f"$top=10&$filter=city eq 'Paris'&$skiptoken={token}",
                  "$top=10&$skiptoken=X%27garbage%27", f"$top=10&$skiptoken={token[:-6]}00%27"):
        e = fails(USERS, R.USERS, query)
        assert (e.status, e.code) == (400, "Request_BadRequest")


def test_directory_rejects_skip() -> None:
    e = fails(USERS, R.USERS, "$skip=5")
    assert (e.code, e.message) == ("Request_BadRequest", "'$skip' is not supported by the service.")
    assert fails(USERS, R.GROUPS, "skip=0").code == "Request_BadRequest"


def test_count_outlook_every_page() -> None:
    pages = follow(MESSAGES, R.MESSAGES, "$count=true&$top=20&$filter=hasAttachments eq true")
    assert [p["@odata.count"] for p in pages] == [12]
    pages = follow(MESSAGES, R.MESSAGES, "$count=true&$top=20")
    assert [p["@odata.count"] for p in pages] == [45, 45, 45]


def test_count_directory_needs_header_and_first_page_only() -> None:
    assert "@odata.count" not in run(USERS, R.USERS, "$count=true")       # silently ignored
    pages = follow(USERS, R.USERS, "$count=true", EVENTUAL)
    assert pages[0]["@odata.count"] == 230
    assert all("@odata.count" not in p for p in pages[1:]) and len(pages) == 3


def test_count_segment() -> None:
    assert count_only(MESSAGES, R.MESSAGES, "$filter=isRead eq false", {}) == 22
    e = pytest.raises(GraphError, count_only, USERS, R.USERS, "", {}).value
    assert (e.status, e.code, e.message) == (400, "Request_BadRequest",
                                             "$count is not currently supported.")
    assert count_only(USERS, R.USERS, "", EVENTUAL) == 230
    # the segment is an advanced query: ne/endswith work with the header alone
    assert count_only(USERS, R.USERS, "$filter=accountEnabled ne true", EVENTUAL) == 77
    assert count_only(USERS, R.USERS, "$filter=endswith(mail,'9@contoso.com')", EVENTUAL) == 23


def test_maxpagesize_only_where_honoured() -> None:
    prefer = {"prefer": "odata.maxpagesize=3"}
    body, headers = apply_query_with_headers(MESSAGES, R.MESSAGES, "", prefer, "u", "c")
    assert len(body["value"]) == 10 and headers == {}
    # graph-semantics §5: documented for delta; the delta rules honour it, no others do.
    assert {r.name for r in R.ALL_RULES if r.honor_maxpagesize} == {
        "messages/delta", "calendarView/delta", "contacts/delta", "mailFolders/delta",
        "contactFolders/delta", "users/delta", "groups/delta"}
    body, headers = apply_query_with_headers(MESSAGES, R.MESSAGES_DELTA, "$top=5", prefer, "u", "c")
    assert len(body["value"]) == 3 and headers == {"Preference-Applied": "odata.maxpagesize=3"}
    assert body["@odata.nextLink"] == "u?$top=5&$skip=3"


# -- ordering --------------------------------------------------------------------------------
def test_orderby_nulls_and_ties() -> None:
    items = [message(i, subject=s) for i, s in
             enumerate(["b", None, "A", "a", None, "C", "b"])]
    asc = [m["id"] for m in run(items, R.MESSAGES, "$orderby=subject")["value"]]
    assert asc == ["m0001", "m0004", "m0002", "m0003", "m0000", "m0006", "m0005"]
    desc = [m["id"] for m in run(items, R.MESSAGES, "$orderby=subject desc")["value"]]
    assert desc == ["m0005", "m0000", "m0006", "m0002", "m0003", "m0001", "m0004"]


def test_orderby_multiple_keys_and_paths() -> None:
    body = run(MESSAGES, R.MESSAGES, "$orderby=from/emailAddress/name desc,subject&$top=45")
    got = [(m["from"]["emailAddress"]["name"], m["subject"], m["id"]) for m in body["value"]]
    want = sorted(got, key=lambda t: (t[1], t[2]))
    want = sorted(want, key=lambda t: t[0], reverse=True)
    assert got == want


def test_orderby_dates_by_instant() -> None:
    items = [message(0, receivedDateTime="2024-01-01T10:00:00+02:00"),  # 08:00Z
             message(1, receivedDateTime="2024-01-01T09:00:00Z"),
             message(2, receivedDateTime="2024-01-01T08:30:00.0000000Z")]
    body = run(items, R.MESSAGES, "$orderby=receivedDateTime")
    assert [m["id"] for m in body["value"]] == ["m0000", "m0002", "m0001"]


@given(st.lists(st.tuples(st.sampled_from(["x", "Y", "z", None]), st.integers(0, 5)),
                min_size=0, max_size=60), st.integers(1, 9))
@settings(max_examples=60, deadline=None)
def test_paging_equals_one_full_sort(rows: list[tuple[str | None, int]], top: int) -> None:
    items = [message(i, subject=s, receivedDateTime=f"2024-02-0{d + 1}T00:00:00Z")
             for i, (s, d) in enumerate(rows)]
    pages = follow(items, R.MESSAGES, f"$orderby=receivedDateTime desc,subject&$top={top}"
                   "&$filter=receivedDateTime ge 1900-01-01T00:00:00Z")
    got = [m["id"] for p in pages for m in p["value"]]

    def key(m: dict) -> tuple:
        subject = m["subject"]
        return (-int(m["receivedDateTime"][9]), subject is not None,
                (subject or "").casefold(), m["id"])

    assert got == [m["id"] for m in sorted(items, key=key)]


def test_first_page_shortcut_matches_full_sort() -> None:
    many = [message(i, subject=f"s{(i * 7919) % 50}") for i in range(2000)]
    first = run(many, R.MESSAGES, "$orderby=subject&$filter=subject ge 'a'&$top=20")["value"]
    full = run(many, R.MESSAGES, "$orderby=subject&$filter=subject ge 'a'&$top=1000")["value"]
    assert [m["id"] for m in first] == [m["id"] for m in full[:20]]
    cached = run(many, R.MESSAGES, "$orderby=subject&$filter=subject ge 'a'&$top=20",
                 cache_key=("mbx", 1))["value"]
    assert cached == first


@pytest.mark.parametrize("query", [
    "$orderby=DateTimeReceived desc", "$orderby=toRecipients", "$orderby=from",
    "$orderby=subject sideways",
])
def test_outlook_orderby_rejections(query: str) -> None:
    e = fails(MESSAGES, R.MESSAGES, query)
    assert (e.status, e.message) == (400, "OrderBy not supported.")


# -- the messages InefficientFilter rule (graph-semantics §3.1, blog [B]) -----------------------
def _by(*keys: tuple[str, bool]) -> object:
    """The expected order, computed here independently: stable sorts, least significant first,
    ties by id (every key below is non-null in MESSAGES)."""
    def order(items: list[dict]) -> list[str]:
        result = sorted(items, key=lambda m: m["id"])
        for name, desc in reversed(keys):
            result.sort(key=lambda m: m[name].lower() if isinstance(m[name], str) else m[name],
                        reverse=desc)
        return [m["id"] for m in result]
    return order


@pytest.mark.parametrize("filter_,orderby,wanted,order", [
    ("receivedDateTime ge 1900-01-01T00:00:00Z and from/emailAddress/address eq 's1@contoso.com'",
     "receivedDateTime", lambda m: m["from"]["emailAddress"]["address"] == "s1@contoso.com",
     _by(("receivedDateTime", False))),                                       # blog 1b
    ("Subject eq 'Subject 1' and importance eq 'normal'", "subject,importance,receivedDateTime desc",
     lambda m: m["subject"] == "Subject 1" and m["importance"] == "normal",
     _by(("subject", False), ("importance", False), ("receivedDateTime", True))),
    ("hasAttachments eq true and receivedDateTime ge 2024-01-10", "hasAttachments,receivedDateTime",
     lambda m: m["hasAttachments"] and m["receivedDateTime"] >= "2024-01-10",
     _by(("hasAttachments", False), ("receivedDateTime", False))),
    ("receivedDateTime ge 2024-01-05 and receivedDateTime lt 2024-01-20 and isRead eq false",
     "receivedDateTime desc",
     lambda m: "2024-01-05" <= m["receivedDateTime"] < "2024-01-20" and not m["isRead"],
     _by(("receivedDateTime", True))),
])
def test_inefficient_filter_allowed(filter_: str, orderby: str, wanted: object, order: object) -> None:
    body = run(MESSAGES, R.MESSAGES, f"$filter={filter_}&$orderby={orderby}&$top=100")
    expected = order([m for m in MESSAGES if wanted(m)])  # type: ignore[operator]
    assert expected, "the case must select some messages"
    assert [m["id"] for m in body["value"]] == expected


@pytest.mark.parametrize("filter_,orderby", [
    ("from/emailAddress/address eq 's1@contoso.com'", "receivedDateTime"),    # blog 1a
    ("receivedDateTime ge 2024-01-01 and hasAttachments eq true",
     "hasAttachments,receivedDateTime"),                                     # blog 2: order
    ("isRead eq false and receivedDateTime ge 2024-01-01", "receivedDateTime"),  # not first
    ("contains(subject,'x')", "receivedDateTime desc"),                      # Mail-Otter#168
])
def test_inefficient_filter_rejected(filter_: str, orderby: str) -> None:
    e = fails(MESSAGES, R.MESSAGES, f"$filter={filter_}&$orderby={orderby}")
    assert (e.status, e.code, e.message) == (
        400, "InefficientFilter", ("The restriction or sort order is too complex for this "
        "operation."))


def test_inefficient_rule_only_for_messages() -> None:
    events = [{"id": "e1", "subject": "a", "isAllDay": False}]
    assert run(events, R.EVENTS, "$filter=isAllDay eq false&$orderby=subject")["value"]


# -- directory ordering / advanced queries -----------------------------------------------------
def test_directory_orderby_rules() -> None:
    body = run(USERS, R.USERS, "$orderby=displayName desc&$top=2")
    assert [u["id"] for u in body["value"]] == ["u229", "u228"]
    e = fails(USERS, R.USERS, "$filter=startswith(displayName,'User 1')&$orderby=displayName")
    assert (e.code, e.message) == ("Request_UnsupportedQuery",
                                   "Sorting not supported for current query.")
    body = run(USERS, R.USERS, "$filter=startswith(displayName,'user 1')&$orderby=displayName"
               "&$count=true&$top=1", EVENTUAL)                       # user-list Example 4
    assert body["@odata.count"] == 100 and body["value"][0]["displayName"] == "User 100"
    assert fails(USERS, R.USERS, "$orderby=jobTitle").code == "Request_UnsupportedQuery"
    assert run(USERS, R.USERS, "$orderby=jobTitle&$count=true", EVENTUAL)["value"]
    assert fails(USERS, R.USERS, "$orderby=nope").message == \
        "Could not find a property named 'nope' on type 'microsoft.graph.user'."


def test_directory_advanced_needs_count_and_header() -> None:
    query = "$filter=accountEnabled ne true"
    assert fails(USERS, R.USERS, query).message == "Unsupported Query."
    assert fails(USERS, R.USERS, query, EVENTUAL).message == "Unsupported Query."
    body = run(USERS, R.USERS, query + "&$count=true", EVENTUAL)
    assert body["@odata.count"] == 77


# -- $search combinations --------------------------------------------------------------------
def test_message_search_exclusions() -> None:
    e = fails(MESSAGES, R.MESSAGES, '$search="subject"&$filter=isRead eq true')
    assert (e.code, e.message) == ("SearchWithFilter",
                                   "The query parameter '$filter' is not supported with '$search'.")
    e = fails(MESSAGES, R.MESSAGES, '$search="subject"&$orderby=subject')
    assert (e.code, e.message) == ("SearchWithOrderBy",
                                   "The query parameter '$orderBy' is not supported with '$search'.")
    assert fails(MESSAGES, R.EVENTS, '$search="x"').code == "ErrorInvalidUrlQuery"


def test_message_search_order_cap_and_paging() -> None:
    many = [message(i, sentDateTime=f"2023-{1 + i % 12:02d}-01T00:00:{i % 60:02d}Z")
            for i in range(1200)]
    query = "$search=" + urlquote('"subject"')
    pages = follow(many, R.MESSAGES, query + "&$top=400&$count=true")
    assert [len(p["value"]) for p in pages] == [400, 400, 200]           # capped at 1000
    assert pages[0]["@odata.count"] == 1000
    sent = [m["sentDateTime"] for p in pages for m in p["value"]]
    assert sent == sorted(sent, reverse=True)
    assert pages[0]["@odata.nextLink"].endswith(query + "&$top=400&$count=true&$skip=400")


def test_directory_search() -> None:
    e = fails(USERS, R.USERS, '$search="displayName:user"')
    assert e.message == ("Request with $search query parameter only works through MSGraph with a "
                         "special request header: 'ConsistencyLevel: eventual'")
    body = run(USERS, R.USERS, '$search="displayName:us" AND "displayName:012"'
               "&$orderby=displayName&$count=true", EVENTUAL)
    assert [u["id"] for u in body["value"]] == ["u012"] and body["@odata.count"] == 1
    body = run(USERS, R.USERS, '$search="displayName:012" OR "mail:user13"&$filter=city eq '
               "'paris'", EVENTUAL)
    assert [u["id"] for u in body["value"]] == ["u012", "u013", "u130", "u131", "u132", "u133",
                                                "u134", "u135", "u136", "u137", "u138", "u139"]


# -- $select, default sets and shapes --------------------------------------------------------
def test_select_keeps_id_etag_and_echoes_context() -> None:
    body = run(MESSAGES, R.MESSAGES, "$select=subject,sender&$top=1")
    assert body["@odata.context"].endswith("/messages(subject,sender)")
    assert list(body["value"][0]) == ["@odata.etag", "id", "subject", "sender"]
    body = run(MESSAGES, R.MESSAGES, "$select=internetMessageHeaders&$top=1")
    assert body["value"][0]["internetMessageHeaders"] == [{"name": "X-A", "value": "1"}]


def test_select_keeps_odata_type() -> None:
    items = [message(1, **{"@odata.type": "#microsoft.graph.eventMessage"})]
    assert run(items, R.MESSAGES, "$select=subject")["value"][0]["@odata.type"] == \
        "#microsoft.graph.eventMessage"


def test_select_unknown_property() -> None:
    e = fails(MESSAGES, R.MESSAGES, "$select=subject,isJunk")
    assert (e.code, e.message) == ("RequestBroker--ParseUri", ("Could not find a property named "
                                   "'isJunk' on type 'microsoft.graph.message'."))
    e = fails(USERS, R.USERS, "$select=nope")
    assert (e.code, e.message) == ("BadRequest", ("Parsing OData Select and Expand failed: Could "
                                   "not find a property named 'nope' on type 'microsoft.graph.user'."))
    attachments = [{"id": "a1", "name": "f.txt", "contentId": "c"}]
    assert fails(attachments, R.ATTACHMENTS, "$select=contentId").code == "RequestBroker--ParseUri"


def test_users_default_set_and_unselectable() -> None:
    user = run(USERS, R.USERS, "$top=1")["value"][0]
    assert set(user) == set(R.USER_DEFAULT) and "city" not in user
    assert list(run(USERS, R.USERS, "$select=city&$top=1")["value"][0]) == ["id", "city"]
    e = fails(USERS, R.USERS, "$select=displayName,aboutMe")
    assert e.status == 501
    assert select_entity(USERS[0], R.USERS, "$select=displayName,aboutMe") == {
        "id": "u000", "displayName": "User 000", "aboutMe": "hi"}
    assert set(select_entity(USERS[0], R.USERS, "")) == set(R.USER_DEFAULT)
    assert entity_context(f"{BASE}/$metadata#users/$entity", R.USERS, "$select=mail") == \
        f"{BASE}/$metadata#users(mail)/$entity"


def test_calendar_view_hides_created_in_selected_lists() -> None:
    events = [{"id": "e1", "subject": "s", "createdDateTime": "2024-01-01T00:00:00Z"}]
    assert run(events, R.CALENDAR_VIEW, "$select=subject,createdDateTime")["value"] == [
        {"id": "e1", "subject": "s"}]
    assert "createdDateTime" not in run(events, R.CALENDAR_VIEW, "")["value"][0]
    assert "createdDateTime" in run(events, R.EVENTS, "")["value"][0]


def test_group_members_default_by_type() -> None:
    members = [{"@odata.type": "#microsoft.graph.user", "id": "u1", "displayName": "U",
                "city": "X", "mail": "u@x"},
               {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "G",
                "securityEnabled": True, "isArchived": False}]
    out = run(members, R.GROUP_MEMBERS, "")["value"]
    assert out[0]["@odata.type"] == "#microsoft.graph.user" and "city" not in out[0]
    assert set(out[0]) == {"@odata.type", *R.USER_DEFAULT}
    assert out[1]["securityEnabled"] is True and "isArchived" not in out[1]


def test_attachments_ignore_filter() -> None:
    attachments = [{"@odata.type": "#microsoft.graph.fileAttachment", "id": "a1", "name": "x"}]
    assert run(attachments, R.ATTACHMENTS, "$filter=this is not ( valid")["value"] == \
        attachments


def test_output_items_are_copies() -> None:
    body = run(MESSAGES, R.MESSAGES, "$top=1")
    body["value"][0]["subject"] = "changed"
    assert all(m["subject"] != "changed" for m in MESSAGES)
