"""Command line ``o365sql``: where a person at a terminal meets the driver.

Stage: entry point, on top of the PEP 249 surface. It turns arguments into connection
properties (``--connect``, ``-p Key=Value``, ``O365SQL_CONNECT``), opens an ``o365sql``
connection (``context``), runs one statement or the interactive shell (``shell``), and hands
result sets to ``output``. Sign-in commands live in ``signin``, the offline demo in ``demo``. Every failure is one line on stderr, ``o365sql: error: <message>``, with exit
code 1 (a traceback only with ``--debug``); a syntax error adds the statement's line and a
caret under the fault. A progress line (stderr, terminals only) counts the statement's Graph
pages and is erased before any row is written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO

import o365sql
from o365sql.cli.context import (
    ENV_CONNECT,
    HOW_TO_CONNECT,
    CliContext,
    CliError,
    collect_properties,
)
from o365sql.cli.output import FORMATS, error_text

__all__ = ["ENV_CONNECT", "CliContext", "build_parser", "collect_properties", "main"]

# ---------------------------------------------------------------------------------- parser
def _common_options() -> argparse.ArgumentParser:
    """Options accepted before and after the subcommand (defaults suppressed so a value given
    before the subcommand is not overwritten by the subcommand's default)."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("-c", "--connect", metavar="DSN", default=argparse.SUPPRESS,
                       help="connection string 'Key=Value;...' (CData property names)")
    group.add_argument("-p", "--property", dest="prop", metavar="KEY=VALUE", action="append",
                       default=argparse.SUPPRESS,
                       help="one connection property; repeatable; wins over --connect and "
                       f"${ENV_CONNECT}")
    group.add_argument("--emulator", action="store_true", default=argparse.SUPPRESS,
                       help="start the built-in emulator and connect to it as its first user")
    replica = common.add_argument_group("replica (fast repeat queries)")
    replica.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                         help="answer from the replica alone, no network (Offline=true)")
    replica.add_argument("--auto-cache", action="store_true", default=argparse.SUPPRESS,
                         help="answer replicated tables from the replica, refreshing it with "
                         "delta when older than CacheTolerance (AutoCache=true)")
    replica.add_argument("--cache", metavar="FILE", default=argparse.SUPPRESS,
                         help="the replica's SQLite file (CacheLocation; default "
                         "~/.o365sql/replica.db)")
    output = common.add_argument_group("output")
    output.add_argument("-f", "--format", choices=FORMATS, default=argparse.SUPPRESS,
                        help="table (default), vertical (one line per column, psql's \\x), "
                        "markdown, csv, json (an array) or jsonl (one object a line)")
    output.add_argument("--null", dest="null_text", metavar="TEXT", default=argparse.SUPPRESS,
                        help="how NULL is written: default NULL in table, vertical and markdown, "
                        "nothing in csv (as psql --csv); e.g. --null '\\N' tells NULL from an "
                        "empty string in csv")
    output.add_argument("--max-width", type=int, metavar="N", default=argparse.SUPPRESS,
                        help="cut table cells to N characters (default 40; 0: no limit)")
    output.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="o365sql", parents=[common],
        description="SQL over Microsoft Graph (Office 365): mail, calendars, contacts, "
        "users and groups as tables.",
        epilog=f"Connection properties come from ${ENV_CONNECT}, --connect and -p (in that "
        "order; later wins). Try it offline: o365sql demo")
    parser.add_argument("--version", action="version", version=f"o365sql {o365sql.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    q = add("query", "run one SQL statement and print its rows")
    q.add_argument("sql", help="the statement ('-' reads it from stdin)")
    q.add_argument("-P", "--param", metavar="NAME=VALUE", action="append", default=[],
                   help="a value for a :NAME placeholder (as text); repeatable")
    add("shell", "interactive SQL shell (statements end with ';', .help for commands)")
    add("tables", "list tables and views")
    d = add("describe", "columns of a table: type, filters Graph evaluates, sort, flags")
    d.add_argument("table")
    e = add("explain", "show the Graph requests a query would send (EXPLAIN)")
    e.add_argument("sql")
    r = add("replicate", "copy tables into the local replica, or refresh it with Graph delta "
                         "queries (REPLICATE)")
    r.add_argument("tables", nargs="*", metavar="TABLE",
                   help="Messages, MailFolders, Contacts, ContactFolders, CalendarView, Events, "
                   "Users, Groups, GroupMembers (none: all of them)")
    r.add_argument("--where", metavar="CONDITION",
                   help="the mailboxes: \"UserId = 'x'\", \"UserId IN (SELECT Id FROM Users)\"; "
                   "for CalendarView also the window: \"StartDateTime >= '2026-10-01' AND "
                   "EndDateTime <= '2027-01-01'\"")
    r.add_argument("--include", metavar="COLUMNS",
                   help="heavy columns the replica keeps too, comma-separated: "
                   "\"Body_Content,UniqueBody_Content\" (INCLUDE COLUMNS)")
    add("procedures", "list stored procedures and their parameters")
    login = add("login", "sign in and keep the tokens in OAuthSettingsLocation")
    flow = login.add_mutually_exclusive_group()
    flow.add_argument("--device-code", dest="flow", action="store_const", const="device-code",
                      help="device code: enter a code on another device (no local browser)")
    flow.add_argument("--browser", dest="flow", action="store_const", const="browser",
                      help="open a browser on this machine (the default)")
    flow.add_argument("--client-secret", dest="flow", action="store_const", const="secret",
                      help="app-only, with OAuthClientSecret (asked for when not given)")
    flow.add_argument("--certificate", dest="certificate", metavar="PEM", nargs="?", const="",
                      help="app-only, with a certificate (OAuthJWTCert, or this PEM file)")
    add("logout", "remove the tokens kept in OAuthSettingsLocation")
    emu = add("emulator", "run the offline Graph + sign-in emulator (python -m o365sql.emulator)")
    emu.add_argument("emulator_args", nargs=argparse.REMAINDER,
                     help="--port N, --seed N, --users N, --messages-per-user N, --state-dir D")
    demo = add("demo", "start the built-in emulator, run a few queries, and exit")
    demo.add_argument("--shell", action="store_true", help="open the shell instead")
    return parser


# ---------------------------------------------------------------------------------- commands
def _cmd_query(ctx: CliContext) -> int:
    sql = ctx.args.sql
    if sql == "-":
        sql = sys.stdin.read()
    params: dict[str, str] = {}
    for item in ctx.args.param:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"-P expects NAME=VALUE, got {item!r}")
        params[name.strip().lstrip(":")] = value
    ctx.run_statement(sql.strip().rstrip(";"), params)
    return 0


def _cmd_replicate(ctx: CliContext) -> int:
    tables = list(ctx.args.tables)
    where = ctx.args.where
    include = ctx.args.include
    for option, value in (("--where", where), ("--include", include)):
        if value and len(tables) != 1:
            raise CliError(f"{option} applies to one table: o365sql replicate Messages {option} ...")
    if not tables:
        sql = "REPLICATE ALL"
    elif len(tables) == 1:
        sql = (f"REPLICATE {tables[0]}" + (f" INCLUDE COLUMNS ({include})" if include else "")
               + (f" WHERE {where}" if where else ""))
    else:
        sql = f"REPLICATE TABLES ({', '.join(tables)})"
    ctx.run_statement(sql, {})
    return 0


def _cmd_tables(ctx: CliContext) -> int:
    from o365sql.cli import catalog as cli_catalog

    ctx.print_rows(*cli_catalog.tables_listing(ctx.connection.catalog))
    return 0


def _cmd_describe(ctx: CliContext) -> int:
    from o365sql.cli import catalog as cli_catalog

    ctx.print_rows(*cli_catalog.describe_table(ctx.connection.catalog, ctx.args.table))
    return 0


def _cmd_procedures(ctx: CliContext) -> int:
    from o365sql.cli import catalog as cli_catalog

    ctx.print_rows(*cli_catalog.procedures_listing())
    return 0


def _cmd_explain(ctx: CliContext) -> int:
    ctx.run_explain(ctx.args.sql)
    return 0


def _cmd_shell(ctx: CliContext) -> int:
    from o365sql.cli.shell import Shell

    return Shell(ctx).run()


def _dispatch(ctx: CliContext) -> int:
    if ctx.args.command is None and not ctx.given and not getattr(ctx.args, "emulator", False):
        ctx.stderr.write(HOW_TO_CONNECT)
        return 2
    command = ctx.args.command or "shell"
    if command == "emulator":
        from o365sql.emulator.__main__ import main as emulator_main

        return emulator_main(ctx.args.emulator_args)
    if command == "demo":
        from o365sql.cli.demo import run_demo

        return run_demo(ctx)
    if command in ("login", "logout"):
        from o365sql.cli import signin as cli_signin

        return cli_signin.login(ctx) if command == "login" else cli_signin.logout(ctx)
    handlers = {"query": _cmd_query, "shell": _cmd_shell, "tables": _cmd_tables,
                "replicate": _cmd_replicate,
                "describe": _cmd_describe, "explain": _cmd_explain,
                "procedures": _cmd_procedures}
    if getattr(ctx.args, "emulator", False):
        from o365sql.cli.demo import emulator_properties

        with emulator_properties(ctx.stderr) as props:
            # $O365SQL_CONNECT names the user's real tenant, not the emulator: -p still wins.
            ctx.given = {**props, **collect_properties(ctx.args, {})}
            try:
                return handlers[command](ctx)
            finally:
                ctx.close()
    return handlers[command](ctx)


def _one_line(exc: BaseException) -> str:
    text = error_text(str(exc))
    if isinstance(exc, (o365sql.Error, CliError)):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None,
         stderr: IO[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 error, 2 bad usage)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    env = environ if environ is not None else os.environ
    parser = build_parser()
    try:
        with contextlib.redirect_stderr(err):  # argparse writes usage errors to sys.stderr
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    debug = bool(getattr(args, "debug", False))
    ctx: CliContext | None = None
    try:
        ctx = CliContext(args, out, err, env)
        return _dispatch(ctx)
    except KeyboardInterrupt:
        err.write("\n")
        return 130
    except BrokenPipeError:
        # The reader went away (| head): stop quietly; keep Python's final flush from failing.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        if debug:
            raise
        hint = "" if isinstance(exc, (o365sql.Error, CliError)) else " (--debug shows where)"
        if (isinstance(exc, o365sql.Error) and ctx is not None and not ctx.given
                and args.command in ("query", "explain")):
            hint = (f" (no connection properties were given: use --connect, -p or "
                    f"${ENV_CONNECT}, or try 'o365sql demo')")
        err.write(f"o365sql: error: {_one_line(exc)}{hint}\n")
        return 1
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":  # pragma: no cover - python -m o365sql.cli
    sys.exit(main())
