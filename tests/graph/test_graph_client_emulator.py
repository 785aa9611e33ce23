"""The Graph client against the emulator over loopback HTTPS: retries per fault kind, token
refresh, error mapping, TLS trust per request. Every assertion about what went over the wire
is checked in the emulator's request log, not only in the client's own counters."""

from __future__ import annotations

import logging
import time

import pytest
import requests
from graph_support import FAST, Tokens, make_client

import o365sql
from o365sql.emulator import Emulator
from o365sql.graph.client import GraphClient
from o365sql.graph.request import GraphRequest
from o365sql.graph.retry import RetryPolicy

ME = GraphRequest("GET", "/me", (("$select", "displayName,userPrincipalName"),))
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def statuses(emu: Emulator, path: str = "/v1.0/me") -> list[int]:
    return [entry.status for entry in emu.log if entry.path == path]


def test_send_returns_parsed_json_and_counts(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    me = client.send(ME)
    assert me["userPrincipalName"] == clean.users[0]
    assert statuses(clean) == [200]
    stats = client.stats.snapshot()
    assert stats["requests"] == 1 and stats["bytes"] > 0 and stats["retries"] == 0


@pytest.mark.parametrize(
    ("fault", "first_status"),
    [
        ({"kind": "status", "status": 503, "retry_after": 0.05}, 503),
        ({"kind": "status", "status": 504}, 504),  # no Retry-After: backoff
        ({"kind": "status", "status": 429, "retry_after": 0.03}, 429),
    ],
)
def test_throttling_and_unavailability_are_retried(
    clean: Emulator, fault: dict[str, object], first_status: int
) -> None:
    clean.faults.add(path="/me", count=2, **fault)
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    started = time.monotonic()
    assert client.send(ME)["userPrincipalName"] == clean.users[0]
    assert statuses(clean) == [first_status, first_status, 200]
    stats = client.stats.snapshot()
    assert stats["retries"] == 2 and stats["throttled"] == 2 and stats["requests"] == 3
    if "retry_after" in fault:
        # Retry-After is honoured exactly (fractional seconds), not replaced by backoff.
        assert stats["wait_seconds"] == pytest.approx(2 * float(fault["retry_after"]))  # type: ignore[arg-type]
        assert time.monotonic() - started >= stats["wait_seconds"]


def test_connection_dropped_mid_response_is_retried(clean: Emulator) -> None:
    clean.faults.drop(path="/me", count=1)
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    assert client.send(ME)["userPrincipalName"] == clean.users[0]
    entries = [e for e in clean.log if e.path == "/v1.0/me"]
    assert [e.fault for e in entries] == ["drop", None]
    assert client.stats.retries == 1 and client.stats.requests == 2


def test_read_timeout_ends_the_call_without_a_retry(clean: Emulator) -> None:
    # Timeout bounds the call as a whole: a read that used it up is not tried again.
    rule = clean.faults.latency(1.0, path="/me", count=3)
    client = make_client(clean, clean.mint_token(user=clean.users[0]), timeout=0.3)
    with pytest.raises(o365sql.OperationalError, match=r"timed out after 0\.3 s"):
        client.send(ME)
    assert rule.fired == 1 and client.stats.retries == 0 and client.stats.requests == 1
    # The emulator logs the abandoned request when its latency is over: wait for it, so it
    # does not land in the next test's log.
    until = time.monotonic() + 5
    while not statuses(clean) and time.monotonic() < until:
        time.sleep(0.05)


def test_gives_up_with_throttled_error_carrying_the_facts(clean: Emulator) -> None:
    clean.faults.status(503, retry_after=0.01, path="/me")
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    with pytest.raises(o365sql.ThrottledError) as info:
        client.send(ME)
    assert statuses(clean) == [503] * FAST.max_attempts
    exc = info.value
    last = [e for e in clean.log if e.path == "/v1.0/me"][-1]
    assert exc.status == 503 and exc.request_id == last.request_id and exc.code == last.error
    assert f"after {FAST.max_attempts} attempts" in str(exc) and last.request_id in str(exc)


def test_retry_after_beyond_the_budget_fails_at_once(clean: Emulator) -> None:
    clean.faults.status(429, retry_after=30, path="/me")
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    started = time.monotonic()
    with pytest.raises(o365sql.ThrottledError, match="429"):
        client.send(ME)
    assert time.monotonic() - started < 2 and statuses(clean) == [429]


def test_unreachable_host_is_an_operational_error_after_one_quick_retry(clean: Emulator) -> None:
    with socket_closed_port() as port:
        client = GraphClient(
            f"https://127.0.0.1:{port}/v1.0", Tokens("t"), verify=clean.ca_path, retry=FAST
        )
        with pytest.raises(o365sql.OperationalError, match="could not reach Graph") as info:
            client.send(ME)
    # A refused connection rarely heals within seconds: one retry, not the whole policy.
    assert "after 2 attempts" in str(info.value)
    assert client.stats.requests == 2 and client.stats.retries == 1


def test_expired_token_is_refreshed_once(clean: Emulator) -> None:
    user = clean.users[0]
    tokens = Tokens(clean.mint_token(user=user, lifetime=-120), clean.mint_token(user=user))
    client = make_client(clean, tokens)
    assert client.send(ME)["userPrincipalName"] == user
    assert statuses(clean) == [401, 200]
    assert tokens.calls.count(True) == 1 and client.stats.refreshes == 1


def test_a_second_401_is_an_authentication_error(clean: Emulator) -> None:
    expired = clean.mint_token(user=clean.users[0], lifetime=-120)
    tokens = Tokens(expired, clean.mint_token(user=clean.users[0], lifetime=-60))
    client = make_client(clean, tokens)
    with pytest.raises(o365sql.AuthenticationError) as info:
        client.send(ME)
    assert statuses(clean) == [401, 401] and tokens.calls.count(True) == 1
    assert info.value.code == "InvalidAuthenticationToken"
    assert info.value.request_id == clean.log[-1].request_id
    assert expired not in str(info.value)


def test_static_token_that_graph_rejects_explains_what_to_do(clean: Emulator) -> None:
    # A token for another audience: unexpired, so it is sent, and Graph answers 401.
    foreign = clean.mint_token(user=clean.users[0], audience="api://some-other-api")
    con = o365sql.connect(
        OAuthAccessToken=foreign, GraphURL=clean.graph_url, SSLServerCert=clean.ca_path
    )
    with pytest.raises(o365sql.AuthenticationError, match="OAuthAccessToken") as info:
        con.graph.send(ME)
    assert foreign not in str(info.value) and foreign not in repr(info.value.args)
    assert statuses(clean) == [401]
    assert info.value.request_id == clean.log[-1].request_id
    con.close()


def test_graph_error_is_mapped_with_code_and_request_id(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    with pytest.raises(o365sql.ProgrammingError) as info:
        client.send(GraphRequest("GET", "/me/noSuchThing"))
    entry = clean.log[-1]
    exc = info.value
    assert not isinstance(exc, o365sql.InternalError)
    assert (exc.status, exc.code, exc.request_id) == (entry.status, entry.error, entry.request_id)
    assert (
        entry.request_id in str(exc)
        and str(entry.error) in str(exc)
        and "/me/noSuchThing" in str(exc)
    )


def test_verify_is_passed_per_request_even_with_requests_ca_bundle(
    clean: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests replaces Session.verify by REQUESTS_CA_BUNDLE; only a per-request verify wins.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    assert client.send(ME)["userPrincipalName"] == clean.users[0]
    # The system trust does not know the emulator's CA: a TLS error, not retried, with advice.
    untrusting = GraphClient(clean.graph_url, Tokens("t"), verify=True, retry=FAST)
    with pytest.raises(o365sql.OperationalError, match="SSLServerCert"):
        untrusting.send(ME)
    assert untrusting.stats.requests == 1


def test_connection_trusts_ssl_server_cert_with_the_env_bundle_set(
    clean: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    token = clean.mint_token(user=clean.users[0])
    with o365sql.connect(
        f"OAuthAccessToken={token};GraphURL={clean.graph_url};SSLServerCert='{clean.ca_path}'"
    ) as con:
        assert con.graph.send(ME)["userPrincipalName"] == clean.users[0]


def test_authorization_header_and_token_are_never_logged(
    clean: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    token = clean.mint_token(user=clean.users[0])
    clean.faults.status(503, retry_after=0.01, path="/me", count=1)
    caplog.set_level(logging.DEBUG)
    client = make_client(clean, token)
    client.send(ME)
    with pytest.raises(o365sql.Error):
        client.send(GraphRequest("GET", "/me/noSuchThing"))
    assert caplog.records  # the client and urllib3 did log
    assert token not in caplog.text and "Bearer" not in caplog.text


def test_closed_client_refuses_work(clean: Emulator) -> None:
    client = make_client(clean, clean.mint_token(user=clean.users[0]))
    client.close()
    with pytest.raises(o365sql.InterfaceError):
        client.send(ME)


def test_non_get_cannot_be_paged(clean: Emulator) -> None:
    client = make_client(clean, "t")
    with pytest.raises(o365sql.InterfaceError, match="GET"):
        next(client.pages(GraphRequest("POST", "/me/messages", body={})))


class socket_closed_port:
    """A local TCP port with nothing listening (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


def test_requests_exceptions_never_escape(clean: Emulator) -> None:
    clean.faults.drop(path="/me")
    client = make_client(
        clean,
        clean.mint_token(user=clean.users[0]),
        retry=RetryPolicy(max_attempts=2, backoff_base=0.01),
    )
    with pytest.raises(o365sql.OperationalError) as info:
        client.send(ME)
    assert not isinstance(info.value, requests.RequestException)
    assert "after 2 attempts" in str(info.value)


def test_missing_permission_is_permission_denied_with_graph_facts(clean: Emulator) -> None:
    # A token with only User.Read may read /me but not the mailbox: Graph answers 403
    # ErrorAccessDenied, which must surface as PermissionDeniedError carrying its facts.
    client = make_client(clean, clean.mint_token(user=clean.users[0], scopes=["User.Read"]))
    assert client.send(ME)["userPrincipalName"].lower() == clean.users[0].lower()
    with pytest.raises(o365sql.PermissionDeniedError) as info:
        client.send(GraphRequest("GET", "/me/messages", (("$top", "1"),)))
    entry = clean.log[-1]
    exc = info.value
    assert isinstance(exc, o365sql.ProgrammingError)
    assert (exc.status, exc.code, exc.request_id) == (403, "ErrorAccessDenied", entry.request_id)
    assert entry.status == 403 and entry.request_id in str(exc)
