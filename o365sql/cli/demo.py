"""Command line, offline demo: ``o365sql demo`` and the ``--emulator`` option.

Stage: entry point. It starts the built-in emulator (``o365sql.emulator.Emulator``) in this
process, signs its first demo user in through the driver's real desktop sign-in (msal's
authorization code flow with PKCE via ``o365sql.auth``; the emulator's scripted browser
plays the person clicking through the sign-in pages), and hands the CLI connection
properties that reuse those tokens (``InitiateOAuth=REFRESH`` on a ``memory://`` token store).
``run_demo`` then prints a few real queries' results, or opens the shell.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from o365sql.cli.context import CliContext

#: Unread Inbox messages of the last hours the demo tenant adds per mailbox: "today's mail".
DEMO_RECENT_MAIL = 3

__all__ = ["DEMO_QUERIES", "emulator_properties", "run_demo", "sign_in_demo_user"]


def sign_in_demo_user(emu: Any, user: str | None = None) -> dict[str, str]:
    """Sign ``user`` (default: the first demo user) in to ``emu`` through o365sql's own
    browser sign-in; return connection properties that use the stored tokens.

    The tokens stay in a ``memory://`` store of this process, so nothing is written to disk.
    """
    from o365sql import auth
    from o365sql.emulator.identity.browser import SignInBrowser
    from o365sql.properties import parse_properties

    person = user or emu.users[0]
    props = {
        "AuthScheme": "AzureAD",
        "OAuthClientId": emu.public_app.client_id,
        "AzureTenant": emu.tenant_id,
        "AuthorityURL": emu.base_url,
        "GraphURL": emu.graph_url,
        "SSLServerCert": emu.ca_path,
        "OAuthSettingsLocation": f"memory://o365sql-demo-{emu.port}",
        "CallbackURL": "http://127.0.0.1:0",
    }
    browser = SignInBrowser(emu.ca_path)

    def person_at_browser(url: str) -> bool:
        # What a person does in a real browser: pick the account, accept consent; the page
        # then posts the code back to the driver's loopback listener.
        browser.deliver(browser.sign_in(url, person))
        return True

    try:
        signing_in = parse_properties(None, {**props, "InitiateOAuth": "GETANDREFRESH"})
        provider = auth.token_provider(signing_in, browser=person_at_browser)
        provider.access_token()
    finally:
        browser.session.close()
    return {**props, "InitiateOAuth": "REFRESH"}


@contextlib.contextmanager
def emulator_properties(stderr: IO[str], **options: Any) -> Iterator[dict[str, str]]:
    """Run an emulator for the duration of the block; yield properties of a signed-in user."""
    from o365sql.emulator import Emulator

    with Emulator(**{"recent_per_user": DEMO_RECENT_MAIL, **options}) as emu:
        props = sign_in_demo_user(emu)
        stderr.write(f"o365sql: emulator at {emu.base_url}, signed in as {emu.users[0]}\n")
        yield props


#: (title, SQL) of the demo; ``:start``/``:end`` are the demo tenant's next seven days.
DEMO_QUERIES: tuple[tuple[str, str], ...] = (
    ("Latest mail in the inbox",
     ("SELECT ReceivedDateTime, From_EmailAddress_Name AS Sender, Subject, IsRead "
      "FROM Messages WHERE ParentFolderId = 'Inbox' ORDER BY ReceivedDateTime DESC LIMIT 5")),
    ("Next week's calendar",
     ("SELECT Start_DateTime, Subject, Location_DisplayName AS Location "
      "FROM CalendarView WHERE StartDateTime = :start AND EndDateTime = :end "
      "ORDER BY Start_DateTime LIMIT 8")),
    ("Contacts",
     "SELECT DisplayName, CompanyName, JobTitle FROM Contacts ORDER BY DisplayName LIMIT 5"),
    ("Who writes the most (GROUP BY, computed locally in SQLite)",
     ("SELECT From_EmailAddress_Address AS Sender, COUNT(*) AS Messages "
      "FROM Messages GROUP BY From_EmailAddress_Address ORDER BY Messages DESC, Sender LIMIT 5")),
)


def run_demo(ctx: CliContext) -> int:
    """``o365sql demo``: queries against a fresh emulator (``--shell``: the shell instead)."""
    from o365sql.emulator import Emulator

    ctx.stderr.write("o365sql: starting the built-in emulator (an offline Office 365 tenant)\n")
    with Emulator(recent_per_user=DEMO_RECENT_MAIL) as emu:
        from o365sql.cli.context import collect_properties

        # $O365SQL_CONNECT describes the user's real tenant: not this one. Explicit -p wins.
        ctx.given = {**sign_in_demo_user(emu), **collect_properties(ctx.args, {})}
        ctx.stderr.write(f"o365sql: emulator at {emu.base_url}; signed in as {emu.users[0]} "
                         "through the desktop sign-in flow\n")
        try:
            if getattr(ctx.args, "shell", False):
                from o365sql.cli.shell import Shell

                return Shell(ctx).run()
            today = emu.tenant.anchor.replace(hour=0, minute=0, second=0, microsecond=0)
            params = {"start": today, "end": today + datetime.timedelta(days=7)}
            for title, sql in DEMO_QUERIES:
                ctx.stdout.write(f"\n-- {title}\n{sql};\n")
                ctx.run_statement(sql, params if ":start" in sql else None)
            ctx.stdout.write(
                f"\n(The demo tenant's today is {today:%Y-%m-%d}. Explore it with "
                "'o365sql demo --shell'.)\n")
        finally:
            ctx.close()
    return 0
