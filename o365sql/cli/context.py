"""What every CLI command works with: connection properties gathered from the environment,
``--connect`` and ``-p``, the CLI's defaults, and a lazily opened connection that runs a statement
and prints its rows.

Stage: entry point support. ``main`` (argument parsing and dispatch), ``shell``, ``demo`` and
``signin`` import this module; it imports none of them, so no command imports the entry point
back.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import o365sql
from o365sql.cli.output import Progress, write_result
from o365sql.properties import split_connection_string

__all__ = ["ENV_CONNECT", "HOW_TO_CONNECT", "CliContext", "CliError", "cli_defaults",
           "collect_properties", "default_settings_location"]

#: Environment variable holding a connection string (lowest precedence).
ENV_CONNECT = "O365SQL_CONNECT"
#: What bare ``o365sql`` says when no connection property was given.
HOW_TO_CONNECT = f"""\
o365sql: not connected: no connection properties were given. Connect with
  o365sql -c "AzureTenant=contoso.onmicrosoft.com;OAuthClientId=<app id>" login
  o365sql -c "AzureTenant=contoso.onmicrosoft.com;OAuthClientId=<app id>" shell
or put the connection string in ${ENV_CONNECT} (then plain 'o365sql' opens the shell).
No tenant at hand? Try the built-in offline one: o365sql demo (or o365sql demo --shell).
"""
#: Rows pulled from the cursor at a time when printing.
_FETCH = 500


class CliError(Exception):
    """A mistake in how the command was called (not a driver error)."""


def default_settings_location(environ: Mapping[str, str]) -> str:
    """Where the CLI keeps tokens when ``OAuthSettingsLocation`` is not given.

    The driver's own default is process memory; a command line needs a file so that
    ``o365sql login`` helps the next command (CData keeps an OAuthSettings file per user too).
    """
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "o365sql", "oauth-settings.json")


def collect_properties(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, str]:
    """Connection properties from ``O365SQL_CONNECT``, then ``--connect``, then each ``-p``
    (later ones win, whatever the spelling of the name), plus the CLI's defaults.

    Example:
        >>> ns = argparse.Namespace(connect="AzureTenant=a;Timeout=5", prop=["timeout=9"])
        >>> props = collect_properties(ns, {"O365SQL_CONNECT": "AzureTenant=b;Pagesize=50"})
        >>> props["AzureTenant"], props["Pagesize"], props["timeout"]
        ('a', '50', '9')
    """
    merged: dict[str, tuple[str, str]] = {}  # normalised name -> (name as written, value)

    def add(name: str, value: str) -> None:
        merged[name.strip().lower().replace("_", "")] = (name.strip(), value)

    for source in (environ.get(ENV_CONNECT), getattr(args, "connect", None)):
        if source:
            for name, value in split_connection_string(source):
                add(name, value)
    for item in getattr(args, "prop", None) or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"-p expects Key=Value, got {item!r}")
        add(name, value)
    # --offline / --auto-cache / --cache: the replica's properties, spelled as flags.
    if getattr(args, "offline", False):
        add("Offline", "true")
    if getattr(args, "auto_cache", False):
        add("AutoCache", "true")
    if getattr(args, "cache", None):
        add("CacheLocation", str(args.cache))
    return {name: value for name, value in merged.values()}


def cli_defaults(props: dict[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The CLI's defaults on top of the driver's: a token file and a replica beside it, and
    ``InitiateOAuth=REFRESH``
    for a delegated sign-in without a given access token (so the tokens of ``o365sql login``
    are used, and a command never opens a browser by surprise)."""
    keys = {k.lower().replace("_", ""): k for k in props}
    out = dict(props)
    if "oauthsettingslocation" not in keys:
        out["OAuthSettingsLocation"] = default_settings_location(environ)
    if "cachelocation" not in keys:  # the replica beside the token file (REPLICATE, --offline)
        out["CacheLocation"] = os.path.join(os.path.dirname(default_settings_location(environ)),
                                            "replica.db")
    scheme = props.get(keys.get("authscheme", ""), "AzureAD").lower()
    if ("initiateoauth" not in keys and "oauthaccesstoken" not in keys
            and scheme == "azuread" and "oauthclientid" in keys):
        out["InitiateOAuth"] = "REFRESH"
    return out


class CliContext:
    """What a command needs: parsed arguments, streams, and a lazily opened connection."""

    def __init__(self, args: argparse.Namespace, stdout: IO[str], stderr: IO[str],
                 environ: Mapping[str, str], props: dict[str, str] | None = None) -> None:
        self.args = args
        self.stdout = stdout
        self.stderr = stderr
        self.environ = environ
        self.fmt: str = getattr(args, "format", None) or "table"
        self.max_width: int | None = getattr(args, "max_width", None)
        if self.max_width is None:
            self.max_width = 40
        self.null_text: str | None = getattr(args, "null_text", None)
        # Set by the shell: a table wider than this is shown vertically (its \\x auto).
        self.fit_width: int | None = None
        self.given = props if props is not None else collect_properties(args, environ)
        # Seconds a scan runs before the progress line appears (tests set 0).
        self.progress_delay = float(environ.get("O365SQL_PROGRESS_DELAY") or 0.5)
        self._connection: o365sql.Connection | None = None

    @property
    def connection(self) -> o365sql.Connection:
        if self._connection is None:
            props: dict[str, Any] = cli_defaults(self.given, self.environ)
            self._connection = o365sql.connect(**props)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def run_statement(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Execute one statement and print its rows (or its row count on stderr).

        The progress line (stderr, terminals only) runs from before ``execute``: a sorted or
        grouped result fetches every page before its first row. It counts this statement's
        Graph pages and is erased before anything is written to stdout.
        """
        connection = self.connection
        cur = connection.cursor()
        stats = getattr(connection.graph, "stats", None)
        base = stats.pages if stats is not None else 0
        progress = Progress(self.stderr,
                            (lambda: stats.pages - base) if stats is not None else None,
                            delay=self.progress_delay)
        try:
            with progress:
                cur.execute(sql, params or None)
                if cur.description is None:
                    progress.finish()
                    if cur.rowcount >= 0:
                        self.stderr.write(f"{cur.rowcount} rows affected\n")
                    return
                rows = progress.track(_fetch_all(cur))
                write_result(progress.guard(self.stdout), cur.description, rows, self.fmt,
                             max_width=self.max_width, null_text=self.null_text,
                             fit_width=self.fit_width)
        finally:
            cur.close()

    def run_explain(self, sql: str) -> None:
        """``EXPLAIN`` a query; its Graph request lines are shown whole unless --max-width."""
        saved = self.max_width
        if getattr(self.args, "max_width", None) is None:
            self.max_width = None
        try:
            self.run_statement("EXPLAIN " + sql.strip().rstrip(";"))
        finally:
            self.max_width = saved

    def print_rows(self, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        description = [(n, None, None, None, None, None, None) for n in names]
        write_result(self.stdout, description, rows, self.fmt, max_width=self.max_width,
                     null_text=self.null_text, fit_width=self.fit_width)


def _fetch_all(cur: o365sql.Cursor) -> Iterator[tuple[Any, ...]]:
    while True:
        batch = cur.fetchmany(_FETCH)
        yield from batch
        if len(batch) < _FETCH:
            return
