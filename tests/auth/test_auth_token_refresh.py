"""Tokens refresh themselves: before expiry, once after a 401 (force_refresh), from a refresh
token given as a property; and fail clearly when they cannot (revoked refresh tokens,
InitiateOAuth=OFF, REFRESH with nothing to refresh)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from o365sql import auth
from o365sql.exceptions import AuthenticationError, ProgrammingError


def grants(emu: Any) -> list[str]:
    return [e.grant_type for e in emu.log if e.grant_type]


def status_of(emu: Any, token: str) -> int:
    r = requests.get(emu.graph_url + "/me", headers={"Authorization": f"Bearer {token}"},
                     verify=emu.ca_path, timeout=30)
    return r.status_code


@pytest.fixture
def signed_in(emu, props, browser):
    """A GETANDREFRESH provider that has signed users[1] in (store in tmp_path)."""

    def make(**overrides: Any) -> Any:
        provider = auth.token_provider(
            props(initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0",
                  **overrides), browser=browser(user=emu.users[1]))
        provider.access_token()
        return provider

    return make


def test_token_is_refreshed_before_it_expires(emu, signed_in):
    # Tokens living 302 s are inside msal's and o365sql's 300 s margin after 2 s.
    emu.config.update({"access_token_lifetime": 302})
    provider = signed_in()
    first = provider.access_token()
    emu.clear_log()
    assert provider.access_token() == first  # 302 s left: still good
    assert grants(emu) == []
    time.sleep(2.2)
    second = provider.access_token()
    assert second != first
    assert grants(emu) == ["refresh_token"]
    assert status_of(emu, second) == 200


def test_force_refresh_after_a_401_gets_a_new_token(emu, signed_in):
    provider = signed_in()
    first = provider.access_token()
    emu.clear_log()
    second = provider.access_token(force_refresh=True)
    assert second != first and grants(emu) == ["refresh_token"]
    assert status_of(emu, second) == 200


def test_revoked_refresh_token_says_how_to_sign_in_again(emu, signed_in, props):
    signed_in()
    emu.revoke_refresh_tokens(emu.users[1])
    provider = auth.token_provider(props(initiate_oauth="REFRESH"))
    with pytest.raises(AuthenticationError) as info:
        provider.access_token(force_refresh=True)
    error = info.value
    assert error.code == "AADSTS50173"
    assert error.request_id and error.request_id in str(error)  # the authority's trace id
    assert "GetOAuthAccessToken" in str(error) and "GETANDREFRESH" in str(error)


def test_revoked_refresh_token_with_getandrefresh_signs_in_again(emu, signed_in, props,
                                                                 browser):
    signed_in()
    emu.revoke_refresh_tokens(emu.users[1])
    person = browser(user=emu.users[3])
    provider = auth.token_provider(props(initiate_oauth="GETANDREFRESH",
                                         callback_url="http://localhost:0"), browser=person)
    token = provider.access_token(force_refresh=True)
    assert len(person.visits) == 1 and status_of(emu, token) == 200
    assert provider.username == emu.users[3]  # type: ignore[attr-defined]


def test_refresh_token_given_as_a_property_is_redeemed_once(emu, signed_in, props, tmp_path):
    refresh = _refresh_token_of(signed_in())
    p = props(initiate_oauth="REFRESH", oauth_refresh_token=refresh,
              oauth_settings_location=str(tmp_path / "other.json"))
    emu.clear_log()
    first = auth.token_provider(p).access_token()
    assert status_of(emu, first) == 200 and grants(emu) == ["refresh_token"]
    # the next connection with the same properties uses the store's (rotated) tokens: the
    # property's refresh token is not redeemed again
    emu.clear_log()
    assert auth.token_provider(p).access_token() == first
    assert grants(emu) == []


def test_memory_settings_location_is_shared_by_the_same_id(emu, signed_in, props):
    signed_in(oauth_settings_location="memory://shared-1")
    same = auth.token_provider(props(initiate_oauth="REFRESH",
                                     oauth_settings_location="memory://shared-1"))
    assert status_of(emu, same.access_token()) == 200
    other = auth.token_provider(props(initiate_oauth="REFRESH",
                                      oauth_settings_location="memory://shared-2"))
    with pytest.raises(AuthenticationError, match="no tokens to refresh"):
        other.access_token()


def test_refresh_mode_never_opens_a_browser(props):
    def no_browser(url: str) -> bool:
        raise AssertionError("REFRESH must not start a sign-in")

    provider = auth.token_provider(props(initiate_oauth="REFRESH"), browser=no_browser)
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    assert "InitiateOAuth=GETANDREFRESH" in str(info.value)


def test_off_uses_the_access_token_as_given(emu, props):
    token = emu.mint_token(emu.users[0])
    provider = auth.token_provider(props(oauth_access_token=token))
    assert provider.access_token() == token and status_of(emu, token) == 200
    with pytest.raises(AuthenticationError, match="InitiateOAuth"):
        provider.access_token(force_refresh=True)


def test_off_with_an_expired_access_token_fails_before_calling_graph(emu, props):
    token = emu.mint_token(emu.users[0], lifetime=-30)
    provider = auth.token_provider(props(oauth_access_token=token))
    with pytest.raises(AuthenticationError, match="expired"):
        provider.access_token()


def test_off_without_a_token_says_what_to_set(props):
    with pytest.raises(ProgrammingError, match="OAuthAccessToken"):
        auth.token_provider(props())


def _refresh_token_of(provider: Any) -> str:
    import json

    location = provider._store.location
    with open(location) as handle:
        return str(json.load(handle)["last_tokens"]["refresh_token"])
