"""``python -m o365sql``: the command line (``o365sql.cli.main``), as the ``o365sql`` script."""

from __future__ import annotations

import sys

from o365sql.cli import main

if __name__ == "__main__":
    sys.exit(main())
