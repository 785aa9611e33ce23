"""The directories the token store makes are private: every level it creates (the missing
parents of OAuthSettingsLocation, the pending-sign-ins directory, the per-user temp directory)
is 0700 whatever the umask, and a directory that already exists is never given more access
than it had (the settings file's existing parent is not touched at all)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from signin_browser import run_python

from o365sql import procedures
from o365sql.auth.store import FileTokenStore, private_dir

CALLBACK = "https://app.example/cb"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def context(p: Any) -> Any:
    import types

    return types.SimpleNamespace(properties=p, graph=None, connection=None)


def test_missing_parents_made_by_a_pending_sign_in_are_0700(props, tmp_path):
    # GetOAuthAuthorizationURL (with State) is often the first thing a web app runs: it makes
    # the pending-sign-ins directory, and with it OAuthSettingsLocation's missing parents.
    location = tmp_path / "app" / "state" / "tokens.json"
    p = props(oauth_settings_location=str(location))
    before = mode(tmp_path)
    procedures.get("GetOAuthAuthorizationURL").run(
        context(p), {"CallbackUrl": CALLBACK, "State": "dirs"})
    for made in (tmp_path / "app", tmp_path / "app" / "state",
                 tmp_path / "app" / "state" / "tokens.json.pending"):
        assert mode(made) == 0o700, made
    assert mode(tmp_path) == before  # the existing ancestor is untouched


def test_missing_parents_made_by_a_transaction_are_0700(tmp_path):
    location = tmp_path / "a" / "b" / "tokens.json"
    with FileTokenStore(str(location)).transaction() as state:
        state.set_record({"n": 1})
    assert [mode(d) for d in (tmp_path / "a", tmp_path / "a" / "b")] == [0o700, 0o700]
    assert mode(location) == 0o600


_UNDER_UMASK = """
    import json, os, stat, sys
    os.umask(0o277)  # mkdir's mode alone would give 0500
    from pathlib import Path
    from o365sql.auth.store import FileTokenStore, MemoryTokenStore
    from o365sql.auth.tls_session import ca_bundle_path
    root = Path({root!r})
    store = FileTokenStore(str(root / "x" / "y" / "tokens.json"))
    with store.transaction() as state:
        state.set_record({{"n": 1}})
    store.pending_dir()
    MemoryTokenStore("umask-test").pending_dir()  # under $TMPDIR/o365sql-<uid>/
    ca = ca_bundle_path("-----BEGIN CERTIFICATE-----\\nnot really\\n-----END CERTIFICATE-----\\n")
    paths = [root / "x", root / "x" / "y", root / "x" / "y" / "tokens.json.pending",
             root / "tmp" / f"o365sql-{{os.getuid()}}",
             root / "tmp" / f"o365sql-{{os.getuid()}}" / "pending", Path(ca).parent]
    print(json.dumps([[str(p), oct(stat.S_IMODE(os.stat(p).st_mode))] for p in paths]))
"""


def test_directories_are_0700_whatever_the_umask(tmp_path):
    (tmp_path / "tmp").mkdir()
    modes = run_python(_UNDER_UMASK.format(root=str(tmp_path)),
                       env_extra={"TMPDIR": str(tmp_path / "tmp")})
    assert [m for _, m in modes] == ["0o700"] * 6, modes
    assert modes[-1][0] == modes[3][0]  # the CA file went to the same private directory


def test_an_existing_parent_is_left_as_it_is(tmp_path):
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(parent, 0o751)
    store = FileTokenStore(str(parent / "tokens.json"))
    with store.transaction() as state:
        state.set_record({"n": 1})
    store.pending_dir()
    assert mode(parent) == 0o751
    assert mode(parent / "tokens.json.pending") == 0o700


def test_existing_private_directories_are_only_ever_narrowed(tmp_path):
    open_to_group = tmp_path / "group"
    open_to_group.mkdir()
    os.chmod(open_to_group, 0o770)
    private_dir(open_to_group)
    assert mode(open_to_group) == 0o700  # others' access taken away
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    os.chmod(read_only, 0o500)
    private_dir(read_only)
    assert mode(read_only) == 0o500  # not loosened to 0700
    read_only_shared = tmp_path / "read-only-shared"
    read_only_shared.mkdir()
    os.chmod(read_only_shared, 0o555)
    private_dir(read_only_shared)
    assert mode(read_only_shared) == 0o500  # narrowed, and still nothing added
