"""A wrong credential never yields a token, even when the token store already holds one for the
same OAuthClientId: app-only tokens are kept per credential (a hash of the secret, or of the
certificate), and a person's stored tokens are only served silently to the credential that
obtained them; any other credential has to prove itself to the authority first."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests

from o365sql import auth
from o365sql.auth import apps as auth_apps
from o365sql.exceptions import AuthenticationError

WRONG = "not-the-secret-0123456789"


def grants(emu: Any, kind: str | None = None) -> list[str]:
    return [e.grant_type for e in emu.log if e.grant_type and (kind is None or e.grant_type == kind)]


def status_of(emu: Any, token: str, path: str = "/users") -> int:
    r = requests.get(emu.graph_url + path, headers={"Authorization": f"Bearer {token}"},
                     verify=emu.ca_path, timeout=30)
    return r.status_code


@pytest.fixture
def app_pem(emu: Any, tmp_path: Path) -> Path:
    path = tmp_path / "app.pem"
    path.write_bytes(Path(emu.app.cert_path).read_bytes() + Path(emu.app.key_path).read_bytes())
    return path


# ---------------------------------------------------------------------- app-only
@pytest.mark.parametrize("location", ["file", "memory", "unset"])
def test_wrong_secret_is_refused_after_the_right_one_filled_the_store(emu, props, tmp_path,
                                                                      location):
    where = {"file": str(tmp_path / "shared.json"), "memory": f"memory://partition-{tmp_path.name}",
             "unset": None}[location]
    good = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                     oauth_settings_location=where))
    assert status_of(emu, good.access_token()) == 200
    emu.clear_log()
    bad = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                    oauth_client_secret=WRONG, oauth_settings_location=where))
    with pytest.raises(AuthenticationError) as info:
        bad.access_token()
    assert info.value.code == "AADSTS7000215"
    assert grants(emu) == ["client_credentials"]  # the authority was asked, and said no
    # a fresh msal app with the right secret still finds its own cached token: no request
    auth_apps.clear_registry()
    emu.clear_log()
    again = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                      oauth_settings_location=where))
    assert status_of(emu, again.access_token()) == 200
    assert grants(emu) == []


def test_a_certificate_the_app_does_not_know_gets_no_cached_token(emu, props, tmp_path,
                                                                   app_pem, stranger_pem):
    where = str(tmp_path / "cert-store.json")
    for cert in (None, app_pem):  # the store gets a token by secret, then by certificate
        p = (props(auth_scheme="AzureServicePrincipal", oauth_settings_location=where)
             if cert is None else
             props(auth_scheme="AzureServicePrincipalCert", oauth_client_secret=None,
                   oauth_jwt_cert=str(cert), oauth_settings_location=where))
        assert status_of(emu, auth.token_provider(p).access_token()) == 200
    stranger = auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                         oauth_client_secret=None,
                                         oauth_jwt_cert=str(stranger_pem),
                                         oauth_settings_location=where))
    with pytest.raises(AuthenticationError) as info:
        stranger.access_token()
    assert info.value.code is not None and info.value.code.startswith("AADSTS7000")


def test_the_store_keeps_no_secret_and_no_plain_hash_of_it(emu, props, tmp_path):
    where = tmp_path / "hashes.json"
    auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                              oauth_settings_location=str(where))).access_token()
    text = where.read_text()
    secret = emu.app.client_secret
    assert secret not in text
    for digest in (hashlib.sha256(secret.encode()).hexdigest(),
                   hashlib.sha1(secret.encode()).hexdigest(),
                   hashlib.md5(secret.encode()).hexdigest()):
        assert digest[:16] not in text


def test_app_tokens_and_a_persons_tokens_share_a_store(emu, props, browser, tmp_path):
    where = str(tmp_path / "both.json")
    person = auth.token_provider(props(initiate_oauth="GETANDREFRESH", callback_url=
                                       "http://localhost:0", oauth_settings_location=where),
                                 browser=browser(user=emu.users[3]))
    assert status_of(emu, person.access_token(), "/me") == 200
    assert status_of(emu, auth.token_provider(props(
        auth_scheme="AzureServicePrincipal", oauth_settings_location=where)).access_token()) == 200
    auth_apps.clear_registry()
    emu.clear_log()
    later = auth.token_provider(props(initiate_oauth="REFRESH", oauth_settings_location=where))
    assert later.access_token() == person.access_token()  # the person's, from the store
    app = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                    oauth_settings_location=where)).access_token()
    assert app != person.access_token() and status_of(emu, app) == 200
    assert grants(emu) == []


# ---------------------------------------------------------------------- delegated
def _sign_in(emu: Any, props: Any, browser: Any, where: str, **extra: Any) -> Any:
    provider = auth.token_provider(props(initiate_oauth="GETANDREFRESH",
                                         callback_url="http://localhost:0",
                                         oauth_settings_location=where, **extra),
                                   browser=browser(user=emu.users[3]))
    assert status_of(emu, provider.access_token(), "/me") == 200
    return provider


def test_a_persons_tokens_are_not_served_to_a_wrong_secret(emu, props, browser, tmp_path):
    where = str(tmp_path / "person.json")
    _sign_in(emu, props, browser, where)
    emu.clear_log()
    wrong = auth.token_provider(props(initiate_oauth="REFRESH", oauth_client_secret=WRONG,
                                      oauth_settings_location=where))
    with pytest.raises(AuthenticationError) as info:
        wrong.access_token()
    assert info.value.code == "AADSTS7000215"
    assert "OAuthClientSecret" in str(info.value) and WRONG not in str(info.value)
    assert grants(emu) == ["refresh_token"]  # it had to prove the secret, and failed
    # without any secret (a public client of the same id): refused as well
    public = auth.token_provider(props(initiate_oauth="REFRESH", oauth_client_secret=None,
                                       oauth_settings_location=where))
    with pytest.raises(AuthenticationError) as info:
        public.access_token()
    assert info.value.code is not None and info.value.code.startswith("AADSTS")
    # the right secret still gets the stored token without asking the authority
    emu.clear_log()
    right = auth.token_provider(props(initiate_oauth="REFRESH", oauth_settings_location=where))
    assert status_of(emu, right.access_token(), "/me") == 200
    assert grants(emu) == []


def test_a_new_valid_secret_proves_itself_once(emu, props, browser, tmp_path):
    # Secret rotation: the app registration holds the old and the new secret.
    old, new = "rotating-secret-old-0001", "rotating-secret-new-0002"
    app = emu.register_app(client_secrets=[old, new], redirect_uris=["http://localhost"],
                           name="rotating")
    where = str(tmp_path / "rotating.json")
    _sign_in(emu, props, browser, where, oauth_client_id=app.client_id, oauth_client_secret=old)
    emu.clear_log()
    with_new = props(initiate_oauth="REFRESH", oauth_client_id=app.client_id,
                     oauth_client_secret=new, oauth_settings_location=where)
    assert status_of(emu, auth.token_provider(with_new).access_token(), "/me") == 200
    assert grants(emu) == ["refresh_token"]
    emu.clear_log()
    assert status_of(emu, auth.token_provider(with_new).access_token(), "/me") == 200
    assert grants(emu) == []  # proven: the store now belongs to the new secret
