"""Command line, sign-in: ``o365sql login`` and ``o365sql logout``.

Stage: entry point over the sign-in stage (``o365sql.auth``). ``login`` picks a flow from its
option, builds the token provider the driver itself would use for those properties, signs in,
and leaves the tokens in ``OAuthSettingsLocation`` (the CLI's default is a 0600 file in
``~/.config/o365sql``), where later commands find them with ``InitiateOAuth=REFRESH``.
``logout`` empties that store. Nothing printed here ever contains a token or secret.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from o365sql.exceptions import ProgrammingError
from o365sql.properties import parse_properties

if TYPE_CHECKING:
    from o365sql.cli.context import CliContext

__all__ = ["login", "login_properties", "logout"]

_FLOW_SCHEMES = {
    "browser": "AzureAD",
    "device-code": "AzureAD",
    "secret": "AzureServicePrincipal",
    "certificate": "AzureServicePrincipalCert",
}


def _flow(ctx: CliContext) -> str:
    if getattr(ctx.args, "certificate", None) is not None:
        return "certificate"
    return getattr(ctx.args, "flow", None) or "browser"


def login_properties(given: Mapping[str, str], flow: str, certificate: str | None,
                     environ: Mapping[str, str]) -> Any:
    """The properties a ``login`` flow signs in with (``OAuthGrantType`` picks the device-code
    flow in ``o365sql.auth``)."""
    from o365sql.cli.context import cli_defaults

    values = dict(cli_defaults(dict(given), environ))
    overrides = {"AuthScheme": _FLOW_SCHEMES[flow]}
    if flow in ("browser", "device-code"):
        overrides["InitiateOAuth"] = "GETANDREFRESH"
    if flow == "certificate" and certificate:
        overrides["OAuthJWTCert"] = certificate
    if flow == "device-code":
        overrides["OAuthGrantType"] = "DEVICE_CODE"
    keys = {k.lower().replace("_", ""): k for k in values}
    for name, value in overrides.items():
        values.pop(keys.get(name.lower(), name), None)
        values[name] = value
    return parse_properties(None, values)


def login(ctx: CliContext) -> int:
    from o365sql import auth

    flow = _flow(ctx)
    given = dict(ctx.given)
    if flow == "secret" and not any(k.lower().replace("_", "") == "oauthclientsecret"
                                    for k in given):
        if not sys.stdin.isatty():
            raise ProgrammingError("login --client-secret needs OAuthClientSecret (give it with "
                                   "-p, --connect or O365SQL_CONNECT)")
        given["OAuthClientSecret"] = getpass.getpass("OAuthClientSecret: ")
    props = login_properties(given, flow, ctx.args.certificate or None, ctx.environ)

    def show_device_code(info: Mapping[str, Any]) -> None:
        ctx.stderr.write(f"o365sql: {info.get('message')}\n")
        ctx.stderr.flush()

    provider = auth.token_provider(props, device_code_prompt=show_device_code)
    if flow in ("browser", "device-code"):
        # Always a fresh sign-in, whatever the store holds: that is what "login" asks for.
        token = provider.sign_in()  # type: ignore[attr-defined]
        who = token.username or "the signed-in user"
    else:
        # force_refresh: prove the credential now; a token cached for the same client id
        # would otherwise be handed out without the secret or certificate being checked.
        provider.access_token(force_refresh=True)
        who = f"application {props.oauth_client_id}"
    where = props.oauth_settings_location
    ctx.stderr.write(f"o365sql: signed in as {who}; tokens kept in {where}\n")
    return 0


def logout(ctx: CliContext) -> int:
    from o365sql.auth import AuthSettings, open_token_store
    from o365sql.cli.context import cli_defaults

    props = parse_properties(None, cli_defaults(dict(ctx.given), ctx.environ))
    # app-only needs a tenant to name the store; any will do to find and clear it
    settings = AuthSettings.from_properties(props.replace(azure_tenant=props.azure_tenant or "common"))
    store = open_token_store(settings)
    with store.transaction() as state:
        who = state.record.get("username")
        had_tokens = not state.empty
        state.clear()
    if had_tokens:
        ctx.stderr.write(f"o365sql: signed out{f' {who}' if who else ''}; removed the tokens "
                         f"in {store.location}\n")
    else:
        ctx.stderr.write(f"o365sql: no tokens were kept in {store.location}\n")
    return 0
