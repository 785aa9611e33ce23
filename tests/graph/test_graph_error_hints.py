"""The advice on a rejected generated query (InternalError): "Pushdown=false avoids it" only
when the option Graph refused was pushed down (``GraphRequest.pushed_down``), otherwise what to
change. Pure unit tests of ``errors.error_for`` plus the client carrying the marks, against the
emulator."""

from __future__ import annotations

import pytest
from graph_support import make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.graph.errors import GraphErrorInfo, error_for, rejected_options
from o365sql.graph.request import GraphRequest

LINE = "GET /me/messages?$select=id,subject&$filter=endswith(subject,'x')&$orderby=subject&$top=10"


def _error(code: str, message: str, line: str = LINE,
           pushed: tuple[str, ...] = ()) -> o365sql.Error:
    return error_for(GraphErrorInfo(400, code, message, "rid-1", None), line, pushed_down=pushed)


def test_pushed_filter_refused_says_pushdown_false_avoids_it() -> None:
    exc = _error("ErrorInvalidUrlQueryFilter",
                 "The query filter contains one or more invalid nodes.", pushed=("$filter",))
    assert isinstance(exc, o365sql.InternalError)
    assert "Pushdown=false does not send it and avoids the error" in exc.message
    assert "pushed down its $filter" in exc.message
    assert exc.code == "ErrorInvalidUrlQueryFilter" and exc.request_id == "rid-1"


def test_conflict_of_search_and_pushed_filter_names_the_pushed_one() -> None:
    line = "GET /me/messages?$select=id&$filter=isRead%20eq%20true&$search=%22pizza%22"
    exc = _error("SearchWithFilter", "The query parameter '$filter' is not supported with "
                 "'$search'.", line, pushed=("$filter",))
    hint = exc.message.split("'$search'.; ", 1)[1]
    assert hint.startswith("o365sql pushed down its $filter, which Graph refused")
    assert "$search" not in hint and "avoids the error" in hint


def test_search_refused_without_pushdown_asks_to_change_the_search_terms() -> None:
    line = "GET /users?$select=id&$search=%22displayName:a%22&$count=true"
    exc = _error("Request_UnsupportedQuery", "Request with $search query parameter only works "
                 "through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
                 line)
    assert isinstance(exc, o365sql.InternalError)
    assert "Pushdown=false" in exc.message and "avoids" not in exc.message
    assert "sends the same $search" in exc.message and "change the search terms" in exc.message


def test_unknown_selected_property_asks_to_leave_out_its_column() -> None:
    line = "GET /me/messages?$select=id,nosuchprop&$filter=subject%20eq%20'a'"
    exc = _error("RequestBroker--ParseUri",
                 "Could not find a property named 'nosuchprop' on type 'microsoft.graph.message'.",
                 line, pushed=("$filter",))
    assert "avoids" not in exc.message
    assert "sends the same $select" in exc.message and "'nosuchprop'" in exc.message


def test_property_named_in_a_pushed_filter_is_avoidable() -> None:
    line = "GET /me/messages?$select=id,subject&$filter=nosuchprop%20eq%20'a'"
    exc = _error("RequestBroker--ParseUri",
                 "Could not find a property named 'nosuchprop' on type 'microsoft.graph.message'.",
                 line, pushed=("$filter",))
    assert "pushed down its $filter" in exc.message and "avoids the error" in exc.message


def test_unattributed_rejection_with_pushed_options_may_be_avoided() -> None:
    exc = _error("Request_UnsupportedQuery", "Unsupported Query.", pushed=("$filter", "$orderby"))
    assert "Pushdown=false does not send its $filter, $orderby" in exc.message
    assert "may avoid the error" in exc.message


def test_unattributed_rejection_without_pushed_options_is_reported() -> None:
    exc = _error("Request_UnsupportedQuery", "Unsupported Query.", "GET /users?$select=id")
    assert "avoids" not in exc.message and "may avoid" not in exc.message
    assert "Pushdown=false sends the same request" in exc.message
    assert "report" in exc.message


def test_rejected_options_reads_codes_messages_and_property_names() -> None:
    options = {"$select": "id,subject", "$filter": "subject eq 'a'", "$orderby": "subject"}
    assert rejected_options("InefficientFilter", "too complex", options) == {"$filter",
                                                                             "$orderby"}
    assert rejected_options("BadRequest", "Invalid filter clause: x", options) == {"$filter"}
    assert rejected_options("Request_UnsupportedQuery", "Unsupported Query.", options) is None
    assert rejected_options("RequestBroker--ParseUri", "Could not find a property named "
                            "'subject' on type 'x'.", options) == {"$select", "$filter",
                                                                    "$orderby"}


def test_a_non_query_400_gets_no_query_advice() -> None:
    exc = _error("ErrorInvalidIdMalformed", "Id is malformed.", pushed=("$filter",))
    assert isinstance(exc, o365sql.ProgrammingError) and "Pushdown" not in exc.message


def test_client_carries_pushed_marks_of_a_request(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    pushed = GraphRequest("GET", "/me/messages", (("$select", "id"),
                                                   ("$filter", "endswith(subject,'x')")),
                          pushed_down=("$filter",))
    with pytest.raises(o365sql.InternalError, match="avoids the error"):
        next(client.pages(pushed))
    plain = GraphRequest("GET", "/me/messages", (("$select", "id"),
                                                  ("$filter", "endswith(subject,'x')")))
    with pytest.raises(o365sql.InternalError) as info:
        next(client.pages(plain))
    assert "avoids" not in info.value.message
    # In a $batch, each inner request keeps its own marks.
    other = GraphRequest("GET", f"/users/{clean.users[1]}/messages", pushed.params,
                         pushed_down=("$filter",))
    app = make_client(clean, clean.mint_token())
    with pytest.raises(o365sql.InternalError, match="avoids the error"):
        list(app.fan_out([GraphRequest("GET", f"/users/{clean.users[0]}/messages",
                                       pushed.params, pushed_down=("$filter",)), other]))
    assert pushed == GraphRequest("GET", "/me/messages", pushed.params)  # marks: not identity
