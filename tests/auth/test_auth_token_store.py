"""The token store of OAuthSettingsLocation: 0600 files written atomically, a file lock that
keeps concurrent writers in several processes from losing updates, memory:// stores, and
clear errors for files that are not token stores."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from o365sql.auth.store import FileTokenStore, MemoryTokenStore, open_store
from o365sql.exceptions import ProgrammingError

_WRITER = """
    import sys, time
    from o365sql.auth.store import FileTokenStore
    store = FileTokenStore(sys.argv[1])
    for _ in range(int(sys.argv[2])):
        with store.transaction() as state:
            record = dict(state.record)
            count = record.get("count", 0)
            time.sleep(0.002)  # widen the read-modify-write window
            record["count"] = count + 1
            record.setdefault("writers", []).append(sys.argv[3])
            state.set_record(record)
"""


def test_concurrent_writers_in_several_processes_lose_nothing(tmp_path):
    path = tmp_path / "state" / "tokens.json"
    writers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(_WRITER), str(path),
                                 "25", f"w{i}"]) for i in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    data = json.loads(path.read_text())
    assert data["last_tokens"]["count"] == 100
    assert sorted(set(data["last_tokens"]["writers"])) == ["w0", "w1", "w2", "w3"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    # no temporary files left behind by the atomic replaces
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_file_stays_private_after_rewrites(tmp_path):
    path = tmp_path / "tokens.json"
    store = FileTokenStore(str(path))
    for n in range(3):
        with store.transaction() as state:
            state.set_record({"n": n})
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with store.transaction() as state:
        assert state.record == {"n": 2}


def test_failed_transaction_writes_nothing(tmp_path):
    store = FileTokenStore(str(tmp_path / "tokens.json"))
    with store.transaction() as state:
        state.set_record({"n": 1})
    with pytest.raises(RuntimeError), store.transaction() as state:
        state.set_record({"n": 2})
        raise RuntimeError("msal blew up")
    with store.transaction() as state:
        assert state.record == {"n": 1}


def test_memory_stores_share_by_id():
    a, b, c = open_store("memory://app-a", "x"), open_store("memory://app-a", "x"), \
        open_store("memory://app-c", "x")
    assert isinstance(a, MemoryTokenStore)
    with a.transaction() as state:
        state.set_record({"who": "a"})
    with b.transaction() as state:
        assert state.record == {"who": "a"}
    with c.transaction() as state:
        assert state.record == {}
    with pytest.raises(ProgrammingError, match="memory://"):
        open_store("memory://", "x")


def test_unset_location_is_private_to_the_default_id():
    with open_store(None, "default-1").transaction() as state:
        state.set_record({"k": 1})
    with open_store(None, "default-2").transaction() as state:
        assert state.record == {}


def test_a_file_that_is_not_a_token_store_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my shopping list")
    with pytest.raises(ProgrammingError, match="not an o365sql token store"), \
            FileTokenStore(str(path)).transaction():
        pass
    assert path.read_text() == "my shopping list"


def test_a_bare_msal_cache_file_is_read(tmp_path):
    path = tmp_path / "msal-cache.json"
    path.write_text(json.dumps({"AccessToken": {}, "RefreshToken": {}, "Account": {}}))
    with FileTokenStore(str(path)).transaction() as state:
        assert json.loads(state.msal_cache)["Account"] == {}


def test_app_tokens_are_kept_per_credential_and_cleared_with_the_rest(tmp_path):
    path = tmp_path / "tokens.json"
    store = FileTokenStore(str(path))
    app_cache = json.dumps({"AccessToken": {"k": {"secret": "app-token"}}})
    with store.transaction() as state:
        state.msal_cache = json.dumps({"Account": {}})
        state.partitions["secret-abc"] = app_cache
        state.set_record({"username": "a@example"})
    data = json.loads(path.read_text())
    assert data["app_tokens"] == {"secret-abc": json.loads(app_cache)}
    with store.transaction() as state:
        assert state.partitions == {"secret-abc": app_cache} and not state.empty
        state.clear()
    with store.transaction() as state:
        assert state.empty and state.partitions == {} and state.record == {}
    assert "app_tokens" not in json.loads(path.read_text())


def test_memory_store_keeps_partitions_and_drops_them_on_failure():
    store = open_store("memory://partitions-1", "x")
    with store.transaction() as state:
        state.partitions["cert-1"] = '{"AccessToken": {}}'
        state.dirty = True
    with pytest.raises(RuntimeError), store.transaction() as state:
        state.partitions["cert-2"] = '{"AccessToken": {}}'
        state.dirty = True
        raise RuntimeError("msal blew up")
    with open_store("memory://partitions-1", "x").transaction() as state:
        assert sorted(state.partitions) == ["cert-1"]
