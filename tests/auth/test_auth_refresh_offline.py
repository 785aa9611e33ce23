"""InitiateOAuth=REFRESH with nothing to refresh fails at once, without any network call, and
says where it looked and how to sign in first; an offline machine gets the same answer rather
than "could not reach the sign-in service"."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from o365sql import auth
from o365sql.exceptions import AuthenticationError


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_says_how_to_sign_in(message: str, where: str) -> None:
    assert f"no tokens to refresh in {where}" in message
    for way in ("InitiateOAuth=GETANDREFRESH", "o365sql login", "GetOAuthAccessToken"):
        assert way in message
    assert "could not reach" not in message


def test_empty_store_fails_without_contacting_the_authority(emu, props, tmp_path):
    store = tmp_path / "never-signed-in.json"
    provider = auth.token_provider(props(initiate_oauth="REFRESH",
                                         oauth_settings_location=str(store)))
    emu.clear_log()
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    assert_says_how_to_sign_in(str(info.value), f"the token store {str(store)!r}")
    assert emu.log == []  # not even the discovery document


@pytest.mark.parametrize("location", ["file", "memory", "unset"])
def test_offline_machine_is_told_to_sign_in_not_that_the_network_is_down(props, tmp_path,
                                                                         location):
    where = {"file": str(tmp_path / "t.json"), "memory": "memory://offline-empty",
             "unset": None}[location]
    provider = auth.token_provider(props(initiate_oauth="REFRESH",
                                         authority_url=f"https://127.0.0.1:{closed_port()}",
                                         oauth_settings_location=where))
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    expected = {"file": f"the token store {where!r}", "memory": "the token store "
                "'memory://offline-empty'",
                "unset": "this process's memory (OAuthSettingsLocation is not set)"}[location]
    assert_says_how_to_sign_in(str(info.value), expected)


def test_tokens_of_another_app_are_nothing_to_refresh(emu, props, browser, tmp_path):
    store = str(tmp_path / "public-app.json")
    auth.token_provider(props(oauth_client_id=emu.public_app.client_id, oauth_client_secret=None,
                              initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0",
                              oauth_settings_location=store),
                        browser=browser(user=emu.users[3])).access_token()
    emu.clear_log()
    provider = auth.token_provider(props(initiate_oauth="REFRESH", oauth_settings_location=store))
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    assert emu.app.client_id in str(info.value)
    assert_says_how_to_sign_in(str(info.value), f"the token store {store!r}")
    assert emu.log == []


def test_given_access_token_is_used_until_graph_rejects_it(emu, props, tmp_path):
    token = emu.mint_token(emu.users[0])
    provider = auth.token_provider(props(initiate_oauth="REFRESH", oauth_access_token=token,
                                         oauth_settings_location=str(tmp_path / "t.json")))
    emu.clear_log()
    assert provider.access_token() == token
    with pytest.raises(AuthenticationError) as info:
        provider.access_token(force_refresh=True)
    assert str(info.value).startswith("Graph rejected the access token, and there are no "
                                      "tokens to refresh in")
    assert token not in str(info.value)
    assert emu.log == []


def test_a_refresh_token_property_still_goes_to_the_authority(emu, props, tmp_path):
    provider = auth.token_provider(props(initiate_oauth="REFRESH",
                                         oauth_refresh_token="not-a-real-refresh-token-77",
                                         oauth_settings_location=str(tmp_path / "t.json")))
    emu.clear_log()
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    error: Any = info.value
    assert error.code and error.code.startswith("AADSTS") and error.request_id
    assert [e.grant_type for e in emu.log if e.grant_type] == ["refresh_token"]
    assert "not-a-real-refresh-token-77" not in str(error)
