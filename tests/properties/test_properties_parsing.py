"""Connection-property parsing: CData `Key=Value;` strings, keywords, types, errors, masking."""

from __future__ import annotations

import dataclasses

import pytest

import o365sql
from o365sql.graph.client import DEFAULT_CONCURRENCY
from o365sql.properties import SPECS, Properties, parse_properties, split_connection_string

SECRET = "s3cr3t-VALUE-that-must-not-leak"


def test_defaults_follow_cdata_and_global_cloud() -> None:
    p = parse_properties(None, {})
    assert p.auth_scheme == "AzureAD"
    assert p.initiate_oauth == "OFF"
    assert p.timeout == 60
    assert p.pushdown is True
    assert p.max_concurrency == DEFAULT_CONCURRENCY == 16
    assert p.max_rows is None and p.pagesize is None
    assert p.graph_url == "https://graph.microsoft.com/v1.0"
    assert p.authority_url == "https://login.microsoftonline.com"


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("A=1;B=2", [("A", "1"), ("B", "2")]),
        ("  A = 1 ; ; B=two words ;", [("A", "1"), ("B", "two words")]),
        ("A='x;y';B=\"p;q\"", [("A", "x;y"), ("B", "p;q")]),
        ('A=\'it\'\'s\';B="say ""hi"""', [("A", "it's"), ("B", 'say "hi"')]),
        ("A= 'padded' ;B=", [("A", "padded"), ("B", "")]),
        ("A=x=y", [("A", "x=y")]),
        ("", []),
    ],
)
def test_split_connection_string(dsn: str, expected: list[tuple[str, str]]) -> None:
    assert split_connection_string(dsn) == expected


def test_names_are_case_insensitive_and_snake_case_works() -> None:
    p = parse_properties(
        "oauthclientid=abc;INITIATEOAUTH=getandrefresh;callbackurl=http://localhost:33333",
        {
            "Azure_Tenant": "contoso.onmicrosoft.com",
            "max_rows": 5,
            "OAUTH_JWT_CERT_TYPE": "pfxfile",
        },
    )
    assert p.oauth_client_id == "abc"
    assert p.initiate_oauth == "GETANDREFRESH"  # enums keep their canonical spelling
    assert p.callback_url == "http://localhost:33333"
    assert p.azure_tenant == "contoso.onmicrosoft.com"
    assert p.max_rows == 5
    assert p.oauth_jwt_cert_type == "PFXFILE"


def test_keywords_override_the_string_and_later_keys_win() -> None:
    p = parse_properties("Timeout=10;Timeout=20;Pagesize=50", {"timeout": 30})
    assert (p.timeout, p.pagesize) == (30, 50)


def test_empty_value_means_default() -> None:
    p = parse_properties("AuthScheme=;Timeout=;Scope=", {})
    assert (p.auth_scheme, p.timeout, p.scope) == ("AzureAD", 60, None)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("YES", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("No", False),
        ("0", False),
    ],
)
def test_booleans(text: str, value: bool) -> None:
    assert parse_properties(f"Pushdown={text}", {}).pushdown is value
    assert parse_properties(None, {"pushdown": value}).pushdown is value


def test_cdata_no_limit_values() -> None:
    p = parse_properties("Timeout=0;MaxRows=-1", {})
    assert p.timeout is None and p.max_rows is None


@pytest.mark.parametrize(
    ("env", "graph", "login"),
    [
        ("GLOBAL", "https://graph.microsoft.com/v1.0", "https://login.microsoftonline.com"),
        ("china", "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://login.chinacloudapi.cn"),
        ("UsGovt", "https://graph.microsoft.us/v1.0", "https://login.microsoftonline.us"),
        ("USGOVTDOD", "https://dod-graph.microsoft.us/v1.0", "https://login.microsoftonline.us"),
        ("GERMANY", "https://graph.microsoft.de/v1.0", "https://login.microsoftonline.de"),
    ],
)
def test_azure_environment_sets_national_cloud_urls(env: str, graph: str, login: str) -> None:
    p = parse_properties(f"AzureEnvironment={env}", {})
    assert (p.graph_url, p.authority_url) == (graph, login)


def test_explicit_urls_beat_the_environment_and_lose_trailing_slash() -> None:
    p = parse_properties("AzureEnvironment=CHINA;GraphURL=https://127.0.0.1:8443/v1.0/", {})
    assert p.graph_url == "https://127.0.0.1:8443/v1.0"
    assert p.authority_url == "https://login.chinacloudapi.cn"


@pytest.mark.parametrize(
    ("dsn", "fragments"),
    [
        ("OAuthClientSecrt=x", ["'OAuthClientSecrt'", "did you mean OAuthClientSecret"]),
        ("Pagesiz=5", ["'Pagesiz'", "did you mean Pagesize"]),
        ("Timeout=soon", ["Timeout", "whole number", "'soon'"]),
        ("MaxConcurrency=0", ["MaxConcurrency", "greater than 0"]),
        ("Pushdown=maybe", ["Pushdown", "true or false"]),
        (
            "AuthScheme=AzureServicePrincipl",
            [
                "AuthScheme",
                "AzureAD, AzureServicePrincipal, AzureServicePrincipalCert",
                "did you mean AzureServicePrincipal",
            ],
        ),
        ("InitiateOAuth=ALWAYS", ["InitiateOAuth", "OFF, GETANDREFRESH, REFRESH"]),
        ("GraphURL=graph.local", ["GraphURL", "http(s) URL"]),
        ("Scope='unterminated", ["Scope", "closing ' quote"]),
        ("Scope='a'b", ["Scope", "after its closing quote"]),
        ("=value", ["without a name"]),
    ],
)
def test_errors_name_the_property(dsn: str, fragments: list[str]) -> None:
    with pytest.raises(o365sql.ProgrammingError) as info:
        parse_properties(dsn, {})
    for fragment in fragments:
        assert fragment in str(info.value)


def test_unknown_keyword_argument_is_refused() -> None:
    with pytest.raises(o365sql.ProgrammingError, match="did you mean MaxRows"):
        o365sql.connect(max_row=3)


@pytest.mark.parametrize(
    "dsn",
    [
        f"OAuthClientSecret={SECRET}",
        f"OAuthAccessToken='{SECRET}'",
        f'OAuthRefreshToken="{SECRET}"',
        f"OAuthJWTCertPassword={SECRET}",
        f"OAuthVerifier={SECRET}",
        f"OAuthJWTCert=-----BEGIN PRIVATE KEY-----{SECRET}",
    ],
)
def test_secrets_are_masked_in_repr_items_and_connection(dsn: str) -> None:
    p = parse_properties(dsn, {})
    assert SECRET in "".join(
        str(getattr(p, f.name)) for f in dataclasses.fields(p)
    )  # it was parsed
    assert SECRET not in repr(p)
    assert SECRET not in str(p)
    assert SECRET not in repr(list(p.items()))
    assert "********" in repr(p)
    conn = o365sql.connect(dsn)
    assert SECRET not in repr(conn) and SECRET not in repr(conn.properties)
    conn.close()


@pytest.mark.parametrize(
    "dsn",
    [
        f"OAuthClientSecret='{SECRET}",  # unterminated quote
        f"{SECRET}",  # no '='
        f"OAuthClientSecret='x'{SECRET}",  # text after the quote
        f"Unknownish={SECRET}",
        f"OAuthClientSecret=a;{SECRET};Timeout=1",
    ],
)
def test_errors_never_echo_values(dsn: str) -> None:
    with pytest.raises(o365sql.ProgrammingError) as info:
        parse_properties(dsn, {})
    assert SECRET not in str(info.value)


def test_certificate_path_is_shown_but_inline_key_is_not() -> None:
    p = parse_properties("OAuthJWTCert=/etc/o365/app.pem", {})
    assert "/etc/o365/app.pem" in repr(p)


def test_every_spec_maps_to_a_field_and_names_are_unique() -> None:
    fields = {f.name for f in dataclasses.fields(Properties)}
    assert {s.field for s in SPECS} == fields
    assert len({s.name.lower() for s in SPECS}) == len(SPECS)


def test_properties_are_frozen_and_replace_works() -> None:
    p = parse_properties("Timeout=5", {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.timeout = 6  # type: ignore[misc]
    assert p.replace(timeout=7).timeout == 7 and p.timeout == 5


def test_memory_store_without_an_id_is_refused_at_connect() -> None:
    with pytest.raises(o365sql.ProgrammingError, match=r"OAuthSettingsLocation=memory:// needs an id"):
        parse_properties("OAuthSettingsLocation=memory://", {})
    assert parse_properties("OAuthSettingsLocation=memory://app1", {}).oauth_settings_location == (
        "memory://app1"
    )
