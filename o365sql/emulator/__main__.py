"""Command line: ``python -m o365sql.emulator [--port N] [--seed N] [--users N]
[--messages-per-user N] [--anchor WHEN] [--state-dir D]``.

Stage: entry point. Starts an ``Emulator``, prints one JSON line with what a client needs
(base_url, graph_url, authority, tenant_id, ca_path, client_id, client_secret, redirect_uris,
...) and serves until Ctrl-C or SIGTERM. ``main(argv)`` is reusable by o365sql's own CLI.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m o365sql.emulator",
        description="Offline emulator of Microsoft Graph v1.0 and the Microsoft identity platform.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the demo tenant (default 1)")
    parser.add_argument("--users", type=int, default=None, help="number of demo users")
    parser.add_argument("--messages-per-user", type=int, default=None, help="messages per mailbox")
    parser.add_argument("--anchor", default=None, metavar="WHEN",
                        help="ISO 8601 date-time the seeded data is laid out around: mail over the "
                             "18 months up to it, meetings nine months either side (default: now, "
                             "or $O365SQL_EMULATOR_ANCHOR)")
    parser.add_argument("--state-dir", default=None, help="directory to write ca.pem into")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .tenant.tenant import resolve_anchor

    try:
        anchor = resolve_anchor(args.anchor)
    except ValueError as exc:
        parser.error(str(exc))
    options: dict[str, Any] = {}
    if args.users is not None:
        options["users"] = args.users
    if args.messages_per_user is not None:
        options["messages_per_user"] = args.messages_per_user

    from .runtime import Emulator
    from .server.allocator import keep_freed_memory

    keep_freed_memory()  # this process serves the emulator only (allocator.py says why)
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with Emulator(seed=args.seed, port=args.port, host=args.host, state_dir=args.state_dir,
                      anchor=anchor, **options) as emu:
            print(json.dumps(emu.info()), flush=True)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
