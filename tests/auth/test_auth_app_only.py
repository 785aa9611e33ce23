"""App-only sign-in (client credentials) against the emulator: secret, certificate as a PEM
file (certificate + key) and as a password-protected PFX; wrong secrets, wrong passwords,
missing tenant; one msal app per process for the same credential."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from o365sql import auth, procedures
from o365sql.auth import apps as auth_apps
from o365sql.auth.certificate import load_certificate
from o365sql.exceptions import AuthenticationError, ProgrammingError


def users_status(emu: Any, token: str) -> int:
    r = requests.get(emu.graph_url + "/users", headers={"Authorization": f"Bearer {token}"},
                     verify=emu.ca_path, timeout=30)
    return r.status_code


def token_calls(emu: Any) -> int:
    return sum(1 for e in emu.log if e.grant_type == "client_credentials")


@pytest.fixture
def pem_file(emu: Any, tmp_path: Path) -> Path:
    path = tmp_path / "app-cert-and-key.pem"
    path.write_bytes(Path(emu.app.cert_path).read_bytes() + Path(emu.app.key_path).read_bytes())
    return path


@pytest.fixture
def pfx_file(emu: Any, tmp_path: Path) -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key(Path(emu.app.key_path).read_bytes(), None)
    cert = x509.load_pem_x509_certificate(Path(emu.app.cert_path).read_bytes())
    path = tmp_path / "app.pfx"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"o365sql", key, cert, None,  # type: ignore[arg-type]
        serialization.BestAvailableEncryption(b"pfx-Passw0rd")))
    return path


def test_client_secret(emu, props):
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipal"))
    emu.clear_log()
    token = provider.access_token()
    assert users_status(emu, token) == 200
    assert provider.access_token() == token  # from memory
    # a second connection finds msal's cached app token: no second token request
    again = auth.token_provider(props(auth_scheme="AzureServicePrincipal")).access_token()
    assert again == token and token_calls(emu) == 1
    # after a 401, a new token is requested
    assert provider.access_token(force_refresh=True) != token and token_calls(emu) == 2


def test_certificate_in_a_pem_file(emu, props, pem_file):
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                         oauth_client_secret=None,
                                         oauth_jwt_cert=str(pem_file),
                                         oauth_jwt_cert_type="PEMKEY_FILE"))
    assert users_status(emu, provider.access_token()) == 200
    assert load_certificate(str(pem_file)).thumbprint.lower() == emu.app.thumbprint.lower()


def test_certificate_in_a_pfx_file(emu, props, pfx_file):
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                         oauth_client_secret=None, oauth_jwt_cert=str(pfx_file),
                                         oauth_jwt_cert_type="PFXFILE",
                                         oauth_jwt_cert_password="pfx-Passw0rd"))
    assert users_status(emu, provider.access_token()) == 200


def test_wrong_pfx_password_names_the_property_not_the_password(props, pfx_file):
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                         oauth_jwt_cert=str(pfx_file),
                                         oauth_jwt_cert_type="PFXFILE",
                                         oauth_jwt_cert_password="wrong-pfx-pass"))
    with pytest.raises(ProgrammingError) as info:
        provider.access_token()
    assert "OAuthJWTCertPassword" in str(info.value)
    assert "wrong-pfx-pass" not in str(info.value)


def test_certificate_subject_must_match(props, pem_file):
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                         oauth_jwt_cert=str(pem_file),
                                         oauth_jwt_cert_subject="CN=someone-else"))
    with pytest.raises(ProgrammingError, match="OAuthJWTCertSubject"):
        provider.access_token()


def _self_signed(tmp_path: Path, name: str, key: Any) -> Path:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    path = tmp_path / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return path


def test_certificate_the_app_does_not_know_is_refused(emu, props, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = _self_signed(tmp_path, "stranger", rsa.generate_private_key(65537, 2048))
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                         oauth_jwt_cert=str(path)))
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    assert info.value.code is not None and info.value.code.startswith("AADSTS")


def test_non_rsa_certificate_is_refused_before_any_request(props, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    path = _self_signed(tmp_path, "ec-app", ec.generate_private_key(ec.SECP256R1()))
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                         oauth_jwt_cert=str(path)))
    with pytest.raises(ProgrammingError, match="RSA"):
        provider.access_token()


def test_wrong_secret(emu, props):
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                         oauth_client_secret="not-the-secret-42"))
    with pytest.raises(AuthenticationError) as info:
        provider.access_token()
    assert info.value.code == "AADSTS7000215"
    assert "not-the-secret-42" not in str(info.value)
    assert "OAuthClientSecret" in str(info.value)


def test_app_only_needs_a_tenant_and_a_credential(props):
    with pytest.raises(ProgrammingError, match="AzureTenant"):
        auth.token_provider(props(auth_scheme="AzureServicePrincipal", azure_tenant=None))
    with pytest.raises(ProgrammingError, match="OAuthClientSecret"):
        auth.token_provider(props(auth_scheme="AzureServicePrincipal", oauth_client_secret=None))
    with pytest.raises(ProgrammingError, match="OAuthJWTCert"):
        auth.token_provider(props(auth_scheme="AzureServicePrincipalCert")).access_token()


def test_unknown_tenant_is_reported(emu, props):
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                         azure_tenant="no-such-tenant.example"))
    with pytest.raises(Exception) as info:
        provider.access_token()
    assert "AzureTenant" in str(info.value)


def test_one_msal_app_per_credential(emu, props):
    first = auth_apps.app_for(auth.AuthSettings.from_properties(props()))
    same = auth_apps.app_for(auth.AuthSettings.from_properties(props()))
    other = auth_apps.app_for(auth.AuthSettings.from_properties(
        props(oauth_client_secret="another-secret")))
    assert first is same and first is not other
    assert "secret" not in repr(first).lower().replace("client_id", "")


def test_get_oauth_access_token_for_an_app(emu, props):
    import types

    context = types.SimpleNamespace(properties=props(auth_scheme="AzureServicePrincipal"))
    rows = procedures.get("GetOAuthAccessToken").run(context, {})
    token, refresh, expires_in = rows[0]
    assert users_status(emu, token) == 200 and refresh == "" and int(expires_in) > 3000


def test_works_without_requests_ca_bundle_too(emu, props, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                         oauth_settings_location="memory://no-bundle"))
    assert users_status(emu, provider.access_token()) == 200


def test_untrusted_authority_certificate_names_ssl_server_cert(emu, props):
    # without SSLServerCert the machine's bundle is used, which does not hold the emulator's CA
    provider = auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                         ssl_server_cert=None))
    with pytest.raises(Exception) as info:
        provider.access_token()
    assert "SSLServerCert" in str(info.value)
