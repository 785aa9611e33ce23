"""Unit tests of the emulator's $search engines (KQL subset for mail, directory clauses)."""

from __future__ import annotations

import pytest

from o365sql.emulator.errors import GraphError
from o365sql.emulator.odata import rules as R
from o365sql.emulator.odata.search import compile_search, directory_tokens

MAIL = [
    {"id": "1", "subject": "Pizza party friday", "hasAttachments": True, "importance": "high",
     "body": {"contentType": "html", "content": "<span>Bring <em>drinks</em></span>"},
     "from": {"emailAddress": {"name": "Bob Smith", "address": "bob@contoso.com"}},
     "toRecipients": [{"emailAddress": {"name": "Alice", "address": "alice@contoso.com"}}],
     "ccRecipients": [], "bccRecipients": [],
     "receivedDateTime": "2024-07-23T10:00:00Z", "sentDateTime": "2024-07-23T09:59:00Z"},
    {"id": "2", "subject": "Annual report", "hasAttachments": False, "importance": "normal",
     "body": {"contentType": "text", "content": "The annual report is attached. pizza-free"},
     "from": {"emailAddress": {"name": "Carol", "address": "carol@fabrikam.com"}},
     "toRecipients": [], "ccRecipients": [{"emailAddress": {"name": "Bob", "address":
                                                            "bob@contoso.com"}}],
     "bccRecipients": [],
     "receivedDateTime": "2024-01-05T08:00:00Z", "sentDateTime": "2024-01-05T07:00:00Z"},
    {"id": "3", "subject": None, "hasAttachments": False, "importance": "low", "body": None,
     "from": None, "toRecipients": None, "receivedDateTime": None, "sentDateTime": None},
]


def kql(query: str) -> list[str]:
    pred = compile_search(query, R.MESSAGES)
    return [m["id"] for m in MAIL if pred(m)]


@pytest.mark.parametrize("query,expected", [
    ('"pizza"', ["1", "2"]),                # subject and body, word prefix
    ('"PIZ*"', ["1", "2"]),
    ('"drinks"', ["1"]),                    # HTML body text, tags stripped
    ('"span"', []),                         # a tag name is not text
    ('"smith"', ["1"]),                     # sender name
    ('"annual report"', ["2"]),             # implicit AND
    ('"\\"report is\\""', ["2"]),           # phrase
    ('"\\"is report\\""', []),
    ('"pizza AND friday"', ["1"]),
    ('"party OR annual"', ["1", "2"]),
    ('"pizza NOT party"', ["2"]),
    ('"(party OR annual) AND NOT friday"', ["2"]),
    ('"from:bob@contoso.com"', ["1"]),
    ('"from:carol"', ["2"]),
    ('"to:alice"', ["1"]),
    ('"cc:bob"', ["2"]),
    ('"participants:bob"', ["1", "2"]),
    ('"recipients:bob"', ["2"]),
    ('"subject:report"', ["2"]),
    ('"body:drinks"', ["1"]),
    ('"hasAttachments:true"', ["1"]),
    ('"hasattachment:false"', ["2", "3"]),
    ('"importance:high"', ["1"]),
    ('"importance:medium"', ["2"]),
    ('"received:2024-07-23"', ["1"]),
    ('"received:07/23/2024"', ["1"]),
    ('"received>=2024-02-01"', ["1"]),
    ('"received<2024-02-01"', ["2"]),
    ('"sent:2024-01-01..2024-01-31"', ["2"]),
    ('"kind:email"', ["1", "2", "3"]),
    ('"nosuchproperty:x"', []),
    ("pizza", ["1", "2"]),                  # without the outer quotes
    ('""', ["1", "2", "3"]),
])
def test_kql(query: str, expected: list[str]) -> None:
    assert kql(query) == expected


def test_directory_tokens_follow_the_documented_rules() -> None:
    # search-query-parameter.md §directory: case changes, symbols, digits
    assert directory_tokens("HelloWorld") == ["hello", "world"]
    assert directory_tokens("HELLOworld") == ["helloworld"]
    assert directory_tokens("hello.world") == ["hello", ".", "world", "helloworld"]
    assert directory_tokens("hello123world") == ["hello", "123", "world"]


GROUPS = [{"id": "g1", "displayName": "SFA Videos", "description": None, "mail": "SFAVideos@x"},
          {"id": "g2", "displayName": "Video Production", "description": "Video Production",
           "mail": "videoprod@x"},
          {"id": "g3", "displayName": "Sales", "description": "prod and sales",
           "mail": "sales@x"},
          {"id": "g4", "displayName": "HelloWorld Team", "description": "", "mail": "hw@x"}]


@pytest.mark.parametrize("query,expected", [
    ('"displayName:Video"', ["g1", "g2"]),
    ('"displayName:video" OR "description:prod"', ["g1", "g2", "g3"]),   # group-list Ex.6
    ('"displayName:vid" AND "description:prod"', ["g2"]),
    ('"displayName:team world"', ["g4"]),                                # any order
    ('"displayName:oworld"', []),                                       # tokens, not contains
    ('"mail:sfa"', ["g1"]),                                              # startswith fallback
    ('"mail:fav"', []),
    ('("displayName:sales" OR "displayName:hello") AND "description:prod"', ["g3"]),
])
def test_directory_search(query: str, expected: list[str]) -> None:
    pred = compile_search(query, R.GROUPS)
    assert [g["id"] for g in GROUPS if pred(g)] == expected


@pytest.mark.parametrize("query", ['"video"', '"displayName:video', '"displayName:a" XOR "x:y"',
                                   "displayName:video", ""])
def test_directory_search_syntax_errors(query: str) -> None:
    with pytest.raises(GraphError) as info:
        compile_search(query, R.GROUPS)
    assert (info.value.status, info.value.code) == (400, "Request_UnsupportedQuery")


def test_directory_search_unknown_property() -> None:
    with pytest.raises(GraphError) as info:
        compile_search('"nope:x"', R.USERS)
    assert info.value.message == "Could not find a property named 'nope' on type " \
                                 "'microsoft.graph.user'."
