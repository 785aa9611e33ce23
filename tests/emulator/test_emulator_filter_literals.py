"""Malformed DateTimeOffset, Date and GUID literals in ``$filter`` are refused with a 400, never
answered as an empty page (graph-semantics §2.2: these literals are unquoted, so the OData
parser, not the comparison, must validate them).

graph-semantics §2.2/§8.3 do not give Graph's text for a bad date literal; the emulator answers
with the parse-error shape it uses for the resource (``RequestBroker--ParseUri`` on Outlook,
``BadRequest`` "Invalid filter clause: ..." on the directory) and OData's (ODL) wording for the
literal. Unit tests on the lexer, behaviour tests over real HTTPS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from o365sql.emulator import Emulator
from o365sql.emulator.odata.lexer import FilterSyntaxError, tokenize

DTO_FORMAT = "should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value " \
             "is within valid range."


@pytest.mark.parametrize("literal", [
    "2026-13-01T00:00:00Z",       # month 13
    "2026-02-30T00:00:00Z",       # 30 February
    "2026-02-28T25:00:00Z",       # hour 25
    "2026-02-28T23:60:00Z",       # minute 60
    "2026-02-28T23:00:00+25:00",  # offset out of range
    "2026-02-28T23:00:00",        # no zone: Graph wants Z or an offset
])
def test_bad_datetimeoffset_literals_are_refused_by_the_lexer(literal: str) -> None:
    text = f"receivedDateTime ge {literal}"
    with pytest.raises(FilterSyntaxError) as info:
        tokenize(text)
    assert info.value.detail == f"The DateTimeOffset text '{literal}' {DTO_FORMAT}"


@pytest.mark.parametrize("literal", ["2026-13-01", "2026-02-30", "2026-00-10", "2026-04-31"])
def test_bad_date_literals_are_refused_by_the_lexer(literal: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        tokenize(f"receivedDateTime ge {literal}")
    assert info.value.detail == (f"The Date text '{literal}' should be in format 'yyyy-mm-dd' "
                                 "and each field value is within valid range.")


@pytest.mark.parametrize("text,kind,value", [
    ("a ge 2024-02-29T23:59:59.1234567Z", "datetime", "2024-02-29T23:59:59.1234567Z"),
    ("a ge 2024-02-29T23:59-08:00", "datetime", "2024-02-29T23:59-08:00"),
    ("a ge 2024-02-29", "date", "2024-02-29"),
    ("a eq 72F988BF-86f1-41af-91ab-2d7cd011db47", "guid", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
])
def test_valid_literals_still_lex(text: str, kind: str, value: str) -> None:
    token = tokenize(text)[2]
    assert (token.kind, token.value) == (kind, value)


def _get(emu: Emulator, http: Any, path: str, filter_text: str, **headers: str) -> Any:
    token = emu.mint_token(emu.users[0], scopes=["Mail.Read", "User.Read.All"])
    return http.get(f"{emu.graph_url}{path}?$filter={quote(filter_text)}",
                    headers={"Authorization": f"Bearer {token}", **headers})


def test_messages_refuse_an_invalid_datetimeoffset(emu: Emulator, http: Any) -> None:
    ok = _get(emu, http, "/me/messages", "receivedDateTime ge 2026-01-01T00:00:00Z")
    assert ok.status_code == 200 and ok.json()["value"]
    resp = _get(emu, http, "/me/messages", "receivedDateTime ge 2026-13-01T00:00:00Z")
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "RequestBroker--ParseUri"
    assert error["message"] == f"The DateTimeOffset text '2026-13-01T00:00:00Z' {DTO_FORMAT}"


def test_messages_refuse_an_invalid_bare_date(emu: Emulator, http: Any) -> None:
    resp = _get(emu, http, "/me/messages", "receivedDateTime ge 2026-02-30")
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "RequestBroker--ParseUri"
    assert "'2026-02-30'" in resp.json()["error"]["message"]


def test_users_refuse_an_invalid_datetimeoffset(emu: Emulator, http: Any) -> None:
    resp = _get(emu, http, "/users", "createdDateTime ge 2026-13-01T00:00:00Z")
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"] == ("Invalid filter clause: The DateTimeOffset text "
                                f"'2026-13-01T00:00:00Z' {DTO_FORMAT}")


@pytest.mark.parametrize("guid", ["c7df2760-2c81-4ef7-b578-5b5392b571d",     # one digit short
                                  "c7df2760-2c81-4ef7-b578-5b5392b571dg",    # not hex
                                  "184efa2198c34e5d95abd07053a96e67"])       # no dashes
def test_users_refuse_an_invalid_guid(emu: Emulator, http: Any, guid: str) -> None:
    good = _get(emu, http, "/users",
                "assignedLicenses/any(s:s/skuId eq c7df2760-2c81-4ef7-b578-5b5392b571df)")
    assert good.status_code == 200 and good.json()["value"]
    resp = _get(emu, http, "/users", f"assignedLicenses/any(s:s/skuId eq {guid})")
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "BadRequest" and error["message"].startswith("Invalid filter clause: ")
