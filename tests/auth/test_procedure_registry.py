"""The stored-procedure registry: case-insensitive lookup with suggestions, argument checking
(names case-insensitive with or without @, unknown/duplicate/missing parameters, positional
values), and the OAuth procedures' signatures as CData documents them."""

from __future__ import annotations

import pytest
from o365sql.procedures import Parameter, Procedure, ResultColumn

from o365sql import procedures
from o365sql.exceptions import ProgrammingError


def _echo(context, args):
    return [tuple(sorted(args.items()))]


ECHO = Procedure("EchoTest", "returns its arguments",
                 [Parameter("Needed", required=True), Parameter("Optional", default="d")],
                 [ResultColumn("Args")], _echo)


def test_lookup_is_case_insensitive_and_suggests():
    assert procedures.get("getoauthaccesstoken").name == "GetOAuthAccessToken"
    assert procedures.get(" [GETOAUTHAUTHORIZATIONURL] ").name == "GetOAuthAuthorizationURL"
    with pytest.raises(ProgrammingError, match="did you mean GetOAuthAccessToken"):
        procedures.get("GetOAuthAccesToken")
    with pytest.raises(ProgrammingError, match="unknown stored procedure 'Nothing'"):
        procedures.get("Nothing")


def test_oauth_signatures():
    want = {
        "GetOAuthAuthorizationURL": (["CallbackUrl", "Scope", "State", "Prompt", "ResponseMode"],
                                     ["URL"]),
        "GetOAuthAccessToken": (["AuthMode", "Verifier", "CallbackUrl", "State", "Scope",
                                 "Prompt"],
                                ["OAuthAccessToken", "OAuthRefreshToken", "ExpiresIn"]),
        "RefreshOAuthAccessToken": (["OAuthRefreshToken"],
                                    ["OAuthAccessToken", "OAuthRefreshToken", "ExpiresIn"]),
        "GetAdminConsentURL": (["CallbackUrl", "State"], ["URL"]),
    }
    names = [p.name for p in procedures.all_procedures()]
    assert set(want) <= set(names) and names == sorted(names, key=str.lower)
    for name, (params, columns) in want.items():
        proc = procedures.get(name)
        assert [p.name for p in proc.parameters] == params
        assert list(proc.column_names) == columns
        assert proc.description


def test_arguments_by_name_any_case_with_or_without_at():
    assert ECHO.bind({"@needed": 1}) == {"Needed": 1, "Optional": "d"}
    assert ECHO.bind({"NEEDED": 1, "optional": None}) == {"Needed": 1, "Optional": "d"}
    assert ECHO.run(None, {"Needed": 2, "@Optional": 3}) == [(("Needed", 2), ("Optional", 3))]


def test_positional_arguments_follow_the_parameter_order():
    assert ECHO.bind([5, 6]) == {"Needed": 5, "Optional": 6}
    with pytest.raises(ProgrammingError, match="at most 2"):
        ECHO.bind([1, 2, 3])


def test_unknown_parameter_names_procedure_parameter_and_suggestion():
    with pytest.raises(ProgrammingError) as info:
        procedures.get("GetOAuthAccessToken").bind({"@Verifyer": "x"})
    message = str(info.value)
    assert "GetOAuthAccessToken" in message and "@Verifyer" in message
    assert "did you mean @Verifier" in message


def test_missing_and_duplicate_parameters():
    with pytest.raises(ProgrammingError, match="EchoTest needs parameter @Needed"):
        ECHO.bind({})
    with pytest.raises(ProgrammingError, match="given twice"):
        ECHO.bind({"needed": 1, "@NEEDED": 2})


def test_registering_the_same_name_twice_is_refused():
    procedures.register(ECHO)
    try:
        assert procedures.get("echotest") is ECHO
        with pytest.raises(ValueError):
            procedures.register(Procedure("ECHOTEST", "", [], [], _echo))
    finally:
        procedures._REGISTRY.pop("echotest", None)
