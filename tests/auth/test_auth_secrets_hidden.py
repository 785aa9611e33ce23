"""Secrets stay secret: every flow runs with every logger at DEBUG, and every log line, repr,
str, error message (and its attributes) and formatted traceback is searched for the client
secret, a wrong secret, the PFX password, the private key, the authorization codes, the PKCE
code verifier, and every access and refresh token the flows obtained (browser, web procedures,
headless OAuthVerifier, device code, refresh, app-only)."""

from __future__ import annotations

import json
import logging
import traceback
import types
from pathlib import Path
from typing import Any

import pytest

from o365sql import auth, procedures
from o365sql.auth.settings import AuthSettings
from o365sql.auth.signin_errors import Redactor
from o365sql.exceptions import Error


def test_no_secret_in_any_output(emu, props, browser, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    secrets: set[str] = {emu.app.client_secret, "pfx-secret-Passw0rd", "wrong-secret-123456"}
    key_lines = [line for line in Path(emu.app.key_path).read_text().splitlines()
                 if line and not line.startswith("-----")]
    secrets.update(key_lines[:3])

    def show(*objects: Any) -> None:
        for obj in objects:
            texts.extend([repr(obj), str(obj)])

    def failing(call: Any) -> None:
        with pytest.raises(Error) as info:
            call()
        show(info.value, vars(info.value))
        texts.append("".join(traceback.format_exception(info.value)))

    # desktop sign-in (confidential app), then refresh and a forced refresh
    desktop_props = props(initiate_oauth="GETANDREFRESH", callback_url="http://localhost:0")
    person = browser()
    provider = auth.token_provider(desktop_props, browser=person)
    tokens = [provider.access_token(), provider.access_token(force_refresh=True)]
    codes = [person.visits[0].final_fields["code"]]
    show(provider, desktop_props, AuthSettings.from_properties(desktop_props))

    # web flow through the procedures (rows hold tokens by design: they are not searched)
    context = types.SimpleNamespace(properties=props(), graph=None, connection=None)
    url = procedures.get("GetOAuthAuthorizationURL").run(
        context, {"CallbackUrl": "https://app.example/cb", "State": "st"})[0][0]
    for pending in (tmp_path / "tokens.json.pending").glob("*.json"):
        secrets.add(json.loads(pending.read_text())["flow"]["code_verifier"])  # PKCE
    visit = browser().visit(url)
    codes.append(visit.final_url.split("code=", 1)[1].split("&", 1)[0])
    row = procedures.get("GetOAuthAccessToken").run(
        context, {"AuthMode": "WEB", "Verifier": visit.final_url})[0]
    tokens += [row[0], row[1]]
    row = procedures.get("RefreshOAuthAccessToken").run(context, {"OAuthRefreshToken": row[1]})[0]
    tokens += [row[0], row[1]]
    show(*procedures.all_procedures())

    # headless sign-in with OAuthVerifier (a callback URL), then the same code again: refused
    headless_props = props(initiate_oauth="REFRESH", oauth_settings_location="memory://secrets-hl")
    url = procedures.get("GetOAuthAuthorizationURL").run(
        types.SimpleNamespace(properties=headless_props),
        {"CallbackUrl": "https://app.example/cb", "State": "headless"})[0][0]
    callback = browser(user=emu.users[3]).visit(url).final_url
    code = callback.split("code=", 1)[1].split("&", 1)[0]
    codes.append(code)
    headless_props = headless_props.replace(oauth_verifier=callback)
    headless = auth.token_provider(headless_props)
    tokens.append(headless.access_token())
    show(headless, headless_props, AuthSettings.from_properties(headless_props))
    failing(auth.token_provider(props(initiate_oauth="REFRESH", oauth_verifier=code,
                                      callback_url="https://app.example/cb",
                                      oauth_settings_location="memory://secrets-reused")
                                ).access_token)

    # device-code sign-in (public client)
    def type_the_code(info: Any) -> None:
        person = browser(user=emu.users[2])
        page = person.session.post(info["verification_uri"], data={"otc": info["user_code"]},
                                   verify=emu.ca_path, timeout=30, allow_redirects=False)
        person.drive(page)

    device_props = props(oauth_client_id=emu.public_app.client_id, oauth_client_secret=None,
                         initiate_oauth="GETANDREFRESH", oauth_grant_type="DEVICE_CODE",
                         oauth_settings_location="memory://secrets-device")
    device = auth.token_provider(device_props, device_code_prompt=type_the_code)
    tokens += [device.access_token(), device.access_token(force_refresh=True)]
    show(device)

    # app-only with a secret and with a PFX certificate
    app_provider = auth.token_provider(props(auth_scheme="AzureServicePrincipal"))
    tokens.append(app_provider.access_token())
    show(app_provider)
    pfx = _pfx(emu, tmp_path, b"pfx-secret-Passw0rd")
    cert_props = props(auth_scheme="AzureServicePrincipalCert", oauth_jwt_cert=str(pfx),
                       oauth_jwt_cert_type="PFXFILE",
                       oauth_jwt_cert_password="pfx-secret-Passw0rd")
    cert_provider = auth.token_provider(cert_props)
    tokens.append(cert_provider.access_token())
    show(cert_provider, cert_props, AuthSettings.from_properties(cert_props))

    # failures: wrong secret, wrong PFX password, revoked refresh token, a rejected static token
    # (a store of its own: the shared one holds a valid app token, which msal would hand out)
    failing(auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                      oauth_client_secret="wrong-secret-123456",
                                      oauth_settings_location="memory://wrong-secret")
                                ).access_token)
    failing(auth.token_provider(props(auth_scheme="AzureServicePrincipalCert",
                                      oauth_jwt_cert=str(pfx), oauth_jwt_cert_type="PFXFILE",
                                      oauth_jwt_cert_password="wrong-secret-123456")
                                ).access_token)
    # a wrong secret on the same stores as the right one (app-only and a person's tokens)
    failing(auth.token_provider(props(auth_scheme="AzureServicePrincipal",
                                      oauth_client_secret="wrong-secret-123456")).access_token)
    failing(auth.token_provider(props(initiate_oauth="REFRESH",
                                      oauth_client_secret="wrong-secret-123456")).access_token)
    # REFRESH with nothing to refresh, after Graph rejected the given access token
    nothing = auth.token_provider(props(initiate_oauth="REFRESH", oauth_access_token=tokens[0],
                                        oauth_settings_location="memory://secrets-empty"))
    failing(lambda: nothing.access_token(force_refresh=True))
    show(nothing)
    emu.revoke_refresh_tokens(emu.users[1])
    refresh_props = props(initiate_oauth="REFRESH", oauth_refresh_token=row[1],
                          oauth_settings_location="memory://secrets-test")
    failing(lambda: auth.token_provider(refresh_props).access_token(force_refresh=True))
    show(refresh_props)
    static = auth.token_provider(props(oauth_access_token=tokens[0]))
    failing(lambda: static.access_token(force_refresh=True))
    show(static)

    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    for record in caplog.records:
        texts.append(record.getMessage())
    secrets.update(t for t in tokens if t)
    # authorization codes too (msal's own debug log would show them: o365sql masks them)
    secrets.update(c for c in codes if c)
    assert len([t for t in tokens if t]) >= 11
    haystack = "\n".join(texts)
    leaks = [s[:8] + "…" for s in secrets if s and s in haystack]
    assert leaks == []


def test_redactor_masks_known_values_and_jwts():
    redact = Redactor(["s3cret-value"])
    text = redact("secret s3cret-value and token eyJhbGciOi.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end")
    assert "s3cret-value" not in text and "eyJ" not in text and text.endswith("end")


def _pfx(emu: Any, tmp_path: Path, password: bytes) -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key(Path(emu.app.key_path).read_bytes(), None)
    cert = x509.load_pem_x509_certificate(Path(emu.app.cert_path).read_bytes())
    path = tmp_path / "secret-app.pfx"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"app", key, cert, None, serialization.BestAvailableEncryption(password)))  # type: ignore[arg-type]
    return path
