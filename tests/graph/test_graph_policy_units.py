"""Pure parts of the Graph client: Retry-After parsing, the retry policy, error mapping, paging."""

from __future__ import annotations

import email.utils
import importlib.metadata
import time
import uuid

import pytest

import o365sql
from o365sql.graph.client import _default_user_agent, request_id
from o365sql.graph.errors import error_for, error_info, permission_hint, redact
from o365sql.graph.paging import check_same_origin, next_link, page_rows, relative_url
from o365sql.graph.retry import RetryPolicy, parse_retry_after


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2.128", 2.128),
        ("0", 0.0),
        ("7", 7.0),
        (" 0.05 ", 0.05),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("later", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_parse_retry_after_http_date() -> None:
    now = time.time()
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30, abs=1.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    jittered = RetryPolicy(backoff_base=1.0, backoff_cap=8.0)
    for n in range(1, 7):
        plain = policy.backoff(n)
        assert plain / 2 <= jittered.backoff(n) <= plain


def test_retry_state_honours_retry_after_and_attempt_limit() -> None:
    state = RetryPolicy(max_attempts=3, max_total_wait=100).start()
    assert state.next_delay("429 TooManyRequests", 2.5) == 2.5
    assert state.next_delay("429 TooManyRequests", 0.5) == 0.5
    assert state.next_delay("503") is None  # third attempt failed: give up
    assert state.attempts == 3
    assert "3 attempts" in state.summary() and "429 TooManyRequests x2" in state.summary()


def test_retry_state_gives_up_when_the_wait_would_pass_the_budget() -> None:
    state = RetryPolicy(max_attempts=10, max_total_wait=5).start()
    assert state.next_delay("429", 4.0) == 4.0
    assert state.next_delay("429", 2.0) is None  # 6 s > 5 s budget


GRAPH_BODY = {
    "error": {
        "code": "ErrorItemNotFound",
        "message": "The specified object was not found in the store.",
        "innerError": {
            "date": "2026-01-02T03:04:05",
            "request-id": "rid-123",
            "client-request-id": "c-1",
        },
    }
}


def test_error_info_reads_graph_json() -> None:
    info = error_info(404, GRAPH_BODY, {"Retry-After": "1"})
    assert (info.code, info.request_id, info.date, info.retry_after) == (
        "ErrorItemNotFound",
        "rid-123",
        "2026-01-02T03:04:05",
        "1",
    )


def test_error_info_without_inner_error_uses_the_request_id_header() -> None:
    body = (
        b'{"error":{"code":"ErrorInvalidUrlQueryFilter",'
        b'"message":"The query filter contains one or more invalid nodes."}}'
    )
    info = error_info(400, body, {"request-id": "hdr-9"})
    assert (info.code, info.request_id) == ("ErrorInvalidUrlQueryFilter", "hdr-9")


def test_error_info_handles_non_json_bodies() -> None:
    info = error_info(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {})
    assert info.code is None and "502 Bad Gateway" in info.message
    assert error_info(500, b"", {}).message == ""


@pytest.mark.parametrize(
    ("status", "code", "message", "cls"),
    [
        (400, "ErrorInvalidIdMalformed", "Id is malformed.", o365sql.ProgrammingError),
        (
            400,
            "InefficientFilter",
            "The restriction or sort order is too complex for this operation.",
            o365sql.InternalError,
        ),
        (
            400,
            "BadRequest",
            "Invalid filter clause: Syntax error at position 3",
            o365sql.InternalError,
        ),
        (400, "Request_UnsupportedQuery", "Unsupported Query.", o365sql.InternalError),
        (
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
            o365sql.AuthenticationError,
        ),
        (
            403,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
            o365sql.PermissionDeniedError,
        ),
        (404, "ErrorItemNotFound", "not found", o365sql.ProgrammingError),
        (
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed",
            o365sql.NotSupportedError,
        ),
        (409, "ErrorIrresolvableConflict", "conflict", o365sql.IntegrityError),
        (
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            o365sql.ThrottledError,
        ),
        (500, "generalException", "boom", o365sql.OperationalError),
        (503, "serviceNotAvailable", "try later", o365sql.ThrottledError),
    ],
)
def test_status_mapping(status: int, code: str, message: str, cls: type[Exception]) -> None:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": "rid-7"}}}
    exc = error_for(error_info(status, body, {}), "GET /me/messages?$top=5")
    assert type(exc) is cls
    text = str(exc)
    assert code in text and message in text and "rid-7" in text and "GET /me/messages" in text
    assert (exc.code, exc.status, exc.request_id) == (code, status, "rid-7")
    assert text.count("rid-7") == 1


def test_permission_denied_names_the_permission() -> None:
    exc = error_for(
        error_info(
            403, {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}, {}
        ),
        "GET /users/adele/messages",
    )
    assert isinstance(exc, o365sql.ProgrammingError)
    assert "Mail.Read" in str(exc) and exc.extra["permission"].startswith("Mail.Read")
    named = "Missing scope permissions on the request. API requires one of 'Calendars.ReadWrite'."
    assert permission_hint(named, "GET /me/messages") == "Calendars.ReadWrite"


def test_redact_removes_tokens() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = redact(
        f"Authorization: Bearer {jwt} and {jwt} access_token={jwt}&code=abc123 error code: 80049217"
    )
    assert jwt not in text and "abc123" not in text and "80049217" in text
    exc = error_for(
        error_info(
            401,
            {"error": {"code": "InvalidAuthenticationToken", "message": f"bad token {jwt}"}},
            {},
        ),
        "GET /me",
    )
    assert jwt not in str(exc)


def test_page_rows_and_next_link() -> None:
    assert page_rows({"value": [{"id": 1}], "@odata.nextLink": "x"}) == [{"id": 1}]
    assert page_rows({"value": []}) == []
    assert page_rows({"id": "single"}) == [{"id": "single"}]
    link = next_link({"value": [], "@odata.nextLink": "https://h/v1.0/me/messages?$skip=10"})
    assert link is not None and link.endswith("$skip=10")
    assert next_link({"value": []}) is None
    with pytest.raises(o365sql.OperationalError):
        page_rows({"value": "nope"})


def test_relative_url_and_origin_check() -> None:
    base = "https://127.0.0.1:8443/v1.0"
    assert relative_url(
        "https://127.0.0.1:8443/v1.0/users/a%40b/messages?$skip=10&$top=5", base
    ) == ("/users/a%40b/messages?$skip=10&$top=5")
    with pytest.raises(o365sql.InternalError, match="not following"):
        check_same_origin("https://evil.example/v1.0/me/messages?$skip=1", base)
    with pytest.raises(o365sql.InternalError):
        relative_url("https://127.0.0.1:8443/beta/me", base)


def test_request_ids_are_random_version_4_uuids_in_uuid4_text_form() -> None:
    """``client-request-id`` is made without importing ``uuid`` (a first query's cost): it must
    still be what ``str(uuid.uuid4())`` gives: lower-case 8-4-4-4-12 hex, version 4, RFC 4122
    variant, and never repeat."""
    ids = [request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every random bit varies: the 122 bits outside version and variant are not stuck.
    ored, anded = 0, (1 << 128) - 1
    for text in ids:
        value = uuid.UUID(text).int
        ored, anded = ored | value, anded & value
    fixed = (0xF << 76) | (0x3 << 62)  # the version nibble and the variant's two bits
    assert ored | fixed == (1 << 128) - 1
    assert anded & ~fixed == 0


def test_user_agent_names_the_installed_version() -> None:
    """Read from ``o365sql.version`` (no metadata scan on a first query), it is still the
    distribution's version."""
    assert _default_user_agent() == f"o365sql/{importlib.metadata.version('o365sql')}"
