"""The ``o365sql`` command line and shell, on top of the PEP 249 surface.

Parts: ``main`` (argument parsing and dispatch; the console script is ``o365sql.cli:main``),
``context`` (connection properties and a lazily opened connection every command shares),
``shell`` (the interactive shell), ``output`` (table, CSV, JSON renderers and the progress
line), ``signin`` (login/logout), ``demo`` (the offline demo on the built-in emulator) and
``catalog`` (listings of tables, columns and procedures). ``main`` imports the others; none of
them imports ``main``.
"""

from o365sql.cli.main import main

__all__ = ["main"]
