# Type-checker view of ``o365sql.procedures``; nothing imports this file at run time.
#
# setup.cfg installs the top-level ``procedures/`` directory as the package ``o365sql.procedures``
# (``package_dir``). Python finds it through the installed package, but mypy reads the source
# tree and knows no such mapping (python/mypy#10564), so ``o365sql.procedures`` would be missing.
# pyproject.toml puts this directory on mypy's ``mypy_path``: the name resolves here, and this
# stub hands on everything the real package exports, so the types checked are those written in
# ``procedures/__init__.py`` (``__all__`` decides what is re-exported; add nothing by hand here).
from procedures import *
