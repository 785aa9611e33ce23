"""Application access policies: an app scoped away from a mailbox gets Exchange's 403.

Real HTTPS to the emulator with tokens from its token endpoint (client credentials through
msal). https://learn.microsoft.com/graph/auth-limit-mailbox-access: "RestrictAccess" opens only
the mailboxes in scope, "DenyAccess" all but those; the policy binds app-only access, not
delegated access; the directory (``/users``) is not an Exchange resource and stays readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from o365sql.emulator import Emulator

DEFAULT_SCOPE = ["https://graph.microsoft.com/.default"]


@pytest.fixture
def scoped(emu: Emulator) -> Iterator[Emulator]:
    yield emu
    emu.unscope_app()


def _app_token(make_cca: Any) -> str:
    answer = make_cca().acquire_token_for_client(scopes=DEFAULT_SCOPE)
    return str(answer["access_token"])


def _get(http: Any, emu: Emulator, token: str, path: str) -> Any:
    return http.get(emu.graph_url + path, headers={"Authorization": f"Bearer {token}"})


def test_restrict_access_opens_only_the_mailboxes_in_scope(scoped: Emulator, http: Any,
                                                           make_cca: Any) -> None:
    inside, outside = scoped.users[0], scoped.users[1]
    scoped.scope_app([inside])
    token = _app_token(make_cca)
    assert _get(http, scoped, token, f"/users/{inside}/messages?$top=1").status_code == 200
    for path in (f"/users/{outside}/messages?$top=1", f"/users/{outside}/events?$top=1",
                 f"/users/{outside}/contacts?$top=1", f"/users/{outside}/mailFolders"):
        answer = _get(http, scoped, token, path)
        assert answer.status_code == 403, path
        error = answer.json()["error"]
        assert error["code"] == "ErrorAccessDenied"
        assert "AccessPolicy" in error["message"]
        assert answer.headers.get("request-id")
    # The directory is no Exchange resource: the policy does not close it.
    assert _get(http, scoped, token, "/users?$top=5").status_code == 200


def test_deny_access_closes_only_the_mailboxes_named(scoped: Emulator, http: Any,
                                                     make_cca: Any) -> None:
    denied, other = scoped.users[2], scoped.users[3]
    scoped.scope_app([denied], access_right="DenyAccess")
    token = _app_token(make_cca)
    assert _get(http, scoped, token, f"/users/{denied}/messages?$top=1").status_code == 403
    assert _get(http, scoped, token, f"/users/{other}/messages?$top=1").status_code == 200
    scoped.unscope_app()
    assert _get(http, scoped, token, f"/users/{denied}/messages?$top=1").status_code == 200


def test_policy_binds_app_only_tokens_not_delegated_ones(scoped: Emulator, http: Any) -> None:
    user = scoped.users[0]
    scoped.scope_app([scoped.users[1]])
    delegated = scoped.mint_token(user=user, scopes=["Mail.Read"])
    assert _get(http, scoped, delegated, "/me/messages?$top=1").status_code == 200


def test_policy_names_only_known_mailboxes_and_rights(scoped: Emulator) -> None:
    with pytest.raises(ValueError):
        scoped.scope_app(["nobody@nowhere.example"])
    with pytest.raises(ValueError):
        scoped.scope_app([scoped.users[0]], access_right="Maybe")
