"""The token store cleans up after itself (issue 10, point 6).

A writer killed between creating its temporary file and renaming it over the store leaves a
file holding tokens beside the store. Real processes are killed mid-loop here; the next
writer must leave no temporary file behind, and nothing beside the store may be readable by
others.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from o365sql.auth.store import FileTokenStore, remove_stale_temps

WRITER = """
import sys
from o365sql.auth.store import FileTokenStore
store = FileTokenStore(sys.argv[1])
n = 0
print("ready", flush=True)
while True:
    n += 1
    with store.transaction() as state:
        state.set_record({"refresh_token": "secret-%d-" % n + "x" * 20000})
"""


def _leftovers(path: Path) -> list[str]:
    return sorted(n for n in os.listdir(path.parent) if n.startswith(f".{path.name}."))


def test_killed_writers_leave_no_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    kills = 0
    left_behind = 0
    for round_ in range(12):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.02 + 0.013 * round_)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        kills += 1
        left_behind = max(left_behind, len(_leftovers(path)))
        for name in _leftovers(path):  # whatever a killed writer left is private
            assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600
    with FileTokenStore(str(path)).transaction() as state:
        state.set_record({"refresh_token": "final"})
    assert kills == 12
    assert _leftovers(path) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "final" in path.read_text()


def test_stale_temp_files_are_removed_under_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    for name in (".tokens.json.abc123", ".tokens.json.zz9"):
        (tmp_path / name).write_text('{"refresh_token": "leaked"}')
    (tmp_path / ".other.json.abc").write_text("not ours")
    os.symlink("/etc/hostname", tmp_path / ".tokens.json.link")
    with FileTokenStore(str(path)).transaction() as state:
        assert not state.record  # the leftovers are never read as the store
    assert _leftovers(path) == [".tokens.json.link"]  # a symlink is never followed or removed
    assert (tmp_path / ".other.json.abc").exists()
    assert remove_stale_temps(path) == 0
