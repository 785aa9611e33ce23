"""Settings shared by every test directory (each area keeps its own fixtures in its conftest)."""

from __future__ import annotations

import warnings

# When a hypothesis test fails, its pytest plugin imports libcst to print a patch, and that import
# raises a DeprecationWarning which filterwarnings=error turns into an INTERNALERROR hiding the
# failure. Importing it once here, with that warning silenced, keeps failures readable.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:
        pass
