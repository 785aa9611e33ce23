"""Pages parsed by their reader (``graph/pending.py``): the nextLink a worker follows before
the page is parsed is exactly the one the parsed page carries, or the page is parsed whole."""

from __future__ import annotations

import json
import random

import pytest

from o365sql.exceptions import OperationalError
from o365sql.graph.pending import HEAD_CHARS, PendingPage, head_next_link

LINK = "https://graph.microsoft.com/v1.0/me/messages?$filter=a%20lt%20b&$top=1000&$skip=2000"


def _page(members: list[tuple[str, object]], indent: int | None = None) -> bytes:
    return json.dumps(dict(members), indent=indent, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("indent", [None, 2])
def test_the_link_before_value_is_read_without_parsing_the_rows(indent: int | None) -> None:
    body = _page([("@odata.context", "ctx"), ("@odata.count", 3), ("@odata.nextLink", LINK),
                  ("value", [{"id": "1"}])], indent)
    assert head_next_link(body) == LINK


@pytest.mark.parametrize("members", [
    [("@odata.context", "ctx"), ("value", []), ("@odata.nextLink", LINK)],  # after value
    [("@odata.context", "ctx"), ("value", [{"id": "1"}])],                  # last page
    [("@odata.context", "x" * HEAD_CHARS), ("@odata.nextLink", LINK), ("value", [])],  # cut off
    [("@odata.nextLink", ""), ("value", [])],                               # empty link
])
def test_no_link_in_the_head_means_parse_it_whole(members: list[tuple[str, object]]) -> None:
    assert head_next_link(_page(members)) is None


@pytest.mark.parametrize("body", [b"", b"[]", b"not json", b'{"@odata.nextLink": ', b"{}",
                                  b'{"@odata.context" "x"}', b'{"a": 1 "b": 2}'])
def test_malformed_heads_give_none(body: bytes) -> None:
    assert head_next_link(body) is None


def test_escaped_links_are_decoded_as_json_decodes_them() -> None:
    body = b'{"@odata.nextLink":"https:\\/\\/g\\/x?a=1\\u0026b=\\"2\\"","value":[]}'
    assert head_next_link(body) == json.loads(body)["@odata.nextLink"]


def test_generated_pages_agree_with_the_full_parse() -> None:
    rnd = random.Random(12)
    compared = early = 0
    for _ in range(600):
        members: list[tuple[str, object]] = [("value", [{"id": str(i)} for i in range(3)])]
        if rnd.random() < 0.5:
            members.append(("@odata.context", "".join(rnd.choice('ab"\\/é\u2028 {}:,')
                                                      for _ in range(rnd.randrange(40)))))
        if rnd.random() < 0.5:
            members.append(("@odata.count", rnd.randrange(-1, 10**6)))
        if rnd.random() < 0.8:
            members.append(("@odata.nextLink", LINK + "".join(
                rnd.choice('x"\\/ ü') for _ in range(rnd.randrange(5)))))
        rnd.shuffle(members)
        body = _page(members, rnd.choice([None, 1]))
        found = head_next_link(body)
        expected = json.loads(body).get("@odata.nextLink")
        keys = [k for k, _ in members]
        if "@odata.nextLink" in keys and keys.index("@odata.nextLink") < keys.index("value"):
            assert found == expected
            early += 1
        else:
            assert found is None
        compared += 1
    assert compared == 600 and early >= 150


def test_a_pending_page_parses_once_and_checks_the_link() -> None:
    body = _page([("@odata.nextLink", LINK), ("value", [{"id": "1"}, {"id": "2"}])])
    page = PendingPage(body, "GET /me/messages", head_next_link(body))
    assert page.link == LINK
    assert page.rows() == [{"id": "1"}, {"id": "2"}]
    assert page.rows() is page.rows()
    # Two nextLinks (JSON keeps the last): the link followed is not the page's.
    twice = b'{"@odata.nextLink":"https://g/a","value":[],"@odata.nextLink":"https://g/b"}'
    with pytest.raises(OperationalError, match="two different @odata.nextLink"):
        PendingPage(twice, "GET /me/messages", head_next_link(twice)).rows()
    with pytest.raises(OperationalError, match="GET /me/messages with malformed JSON"):
        PendingPage(b'{"@odata.nextLink":"https://g/a","value":[', "GET /me/messages",
                    "https://g/a").rows()
