"""Settings shared by every test directory (each area keeps its own fixtures in its conftest)."""

from __future__ import annotations

import os
import tempfile
import warnings

# Every emulator the suite starts, in this process or a subprocess (the CLI, the web apps), lays
# its seeded data out around one fixed anchor, so that tests may name seeded dates. The emulator's
# own default is "now"; tests/emulator/test_emulator_anchor.py checks that default explicitly.
SUITE_ANCHOR = "2026-11-01T00:00:00Z"
os.environ["O365SQL_EMULATOR_ANCHOR"] = SUITE_ANCHOR

# Nothing the suite runs reads or writes the real home: defaults such as the replica's
# ~/.o365sql/replica.db or the CLI's token file would otherwise carry state from one run (or one
# tenant) to the next. Subprocesses (the CLI, the web apps, chromium) inherit this HOME.
os.environ["HOME"] = tempfile.mkdtemp(prefix="o365sql-test-home-")

# When a hypothesis test fails, its pytest plugin imports libcst to print a patch, and that import
# raises a DeprecationWarning which filterwarnings=error turns into an INTERNALERROR hiding the
# failure. Importing it once here, with that warning silenced, keeps failures readable.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:
        pass
