"""Spark data source options: the source's own options apart from the connection properties.

Stage: pure parsing (no I/O, no Spark). Spark hands a data source its ``.option(k, v)`` pairs
as one case-insensitive string map; the names below are the source's own, every other name is
a connection property (``AuthScheme``, ``AzureTenant``, ``OAuthClientId``,
``OAuthClientSecret`` ...) checked by ``o365sql.properties.parse_properties`` exactly as
``o365sql.connect`` checks it. Errors name the option and never show a value (a value may be
a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ProgrammingError
from ..properties import Properties, parse_properties

#: The AuthScheme values a task can sign in with unattended (client credentials).
APP_ONLY = ("azureserviceprincipal", "azureserviceprincipalcert")

DEFAULT_ROWS_PER_PARTITION = 10_000


@dataclass(frozen=True)
class SourceOptions:
    """The options of one ``spark.read.format("o365sql")`` (see the README's Spark section).

    Attributes:
        table: the table to read (``option("table", "Messages")``), or None with ``query``.
        query: one SELECT over one table, or None with ``table``.
        mailboxes: the mailboxes to read (``option("mailboxes", "a@x,b@x")``), or None.
        mailbox_query: SQL whose first column lists the mailboxes, or None (default: every
            user with a mail address, ``DEFAULT_MAILBOX_QUERY``).
        on_mailbox_error: ``fail`` (default) or ``skip``.
        errors_path: where tasks report skipped mailboxes (a directory), or None.
        rows_per_partition: the rows one task should read: smaller mailboxes are grouped up
            to it, larger ones split into time ranges of about that size.
        split_column: the time column a large mailbox is split on (default: the table's
            ``ReceivedDateTime`` when it has one; ``none`` never splits).
        size_mailboxes: count each mailbox first (one ``/$count`` request per mailbox) so
            partitions can be grouped and split; False gives one partition per mailbox.
        push_filters: take the filters Spark pushes (Spark 4.1+ with
            ``spark.sql.python.filterPushdown.enabled``). Off by default: Spark 4.1 to 4.3
            keep the first planned read of a DataFrame (``PythonDataSourceV2.readInfo``) and
            reuse it for later queries on the same DataFrame that push no filters, which would
            then miss the rows the first query's filters left out. Use it with one query per
            DataFrame; the ``query`` option is the safe way to narrow what Graph sends.
        requests_per_second: the app-wide request budget all tasks share, or None.
        task_slots: how many tasks run at once (cluster cores); the budget is divided by it
            (default: the number of partitions, which can never be exceeded).
        properties: the connection properties, parsed and checked.
    """

    table: str | None
    query: str | None
    mailboxes: tuple[str, ...] | None
    mailbox_query: str | None
    on_mailbox_error: str
    errors_path: str | None
    rows_per_partition: int
    split_column: str | None
    size_mailboxes: bool
    push_filters: bool
    requests_per_second: float | None
    task_slots: int | None
    properties: Properties = field(repr=False)

    @property
    def app_only(self) -> bool:
        return self.properties.auth_scheme.lower() in APP_ONLY


DEFAULT_MAILBOX_QUERY = "SELECT Id FROM Users WHERE Mail IS NOT NULL"

_NAMES = ("table", "query", "path", "mailboxes", "mailboxquery", "onmailboxerror",
          "mailboxerrorspath", "rowsperpartition", "splitcolumn", "sizemailboxes",
          "requestspersecond", "taskslots", "pushfilters")


def parse_options(options: Mapping[str, Any]) -> SourceOptions:
    """Split and check Spark's options.

    Raises:
        ProgrammingError: a missing or contradictory option, a bad value (naming the option),
            an unknown connection property, or a sign-in a task cannot do unattended.
    """
    own: dict[str, str] = {}
    props: dict[str, Any] = {}
    for key, value in options.items():
        name = str(key).lower()
        if name in _NAMES:
            own[name] = "" if value is None else str(value)
        else:
            props[str(key)] = value
    table = own.get("table") or own.get("path") or None
    query = own.get("query") or None
    if (table is None) == (query is None):
        raise ProgrammingError("o365sql data source: give exactly one of the options 'table' "
                               "(a table name) or 'query' (a SELECT over one table)")
    properties = parse_properties(None, props)
    mode = own.get("onmailboxerror", "fail").strip().lower() or "fail"
    if mode not in ("fail", "skip"):
        raise ProgrammingError("o365sql data source: option onMailboxError must be 'fail' "
                               "or 'skip'")
    mailboxes = None
    if own.get("mailboxes", "").strip():
        mailboxes = tuple(dict.fromkeys(
            m.strip() for m in own["mailboxes"].replace(";", ",").split(",") if m.strip()))
    mailbox_query = own.get("mailboxquery", "").strip() or None
    if mailboxes is not None and mailbox_query is not None:
        raise ProgrammingError("o365sql data source: give the option 'mailboxes' or "
                               "'mailboxQuery', not both")
    split = own.get("splitcolumn", "").strip() or None
    result = SourceOptions(
        table=table, query=query, mailboxes=mailboxes, mailbox_query=mailbox_query,
        on_mailbox_error=mode, errors_path=own.get("mailboxerrorspath", "").strip() or None,
        rows_per_partition=_number(own, "rowsperpartition", "rowsPerPartition", int,
                                   DEFAULT_ROWS_PER_PARTITION),
        split_column=split,
        size_mailboxes=_flag(own, "sizemailboxes", "sizeMailboxes", True),
        push_filters=_flag(own, "pushfilters", "pushFilters", False),
        requests_per_second=_number(own, "requestspersecond", "requestsPerSecond", float, None),
        task_slots=_number(own, "taskslots", "taskSlots", int, None),
        properties=properties,
    )
    if not result.app_only and not properties.oauth_access_token:
        raise ProgrammingError(
            "o365sql data source: tasks sign in unattended: set AuthScheme="
            "AzureServicePrincipal (OAuthClientSecret) or AzureServicePrincipalCert "
            "(OAuthJWTCert) with AzureTenant and OAuthClientId")
    return result


def _number(own: Mapping[str, str], key: str, name: str, kind: type[Any], default: Any) -> Any:
    text = own.get(key, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ProgrammingError(f"o365sql data source: option {name} must be a positive "
                               f"number, not {text!r}") from None
    if value <= 0:
        raise ProgrammingError(f"o365sql data source: option {name} must be positive, "
                               f"not {text!r}")
    return value


def _flag(own: Mapping[str, str], key: str, name: str, default: bool) -> bool:
    text = own.get(key, "").strip().lower()
    if not text:
        return default
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ProgrammingError(f"o365sql data source: option {name} must be true or false, "
                           f"not {text!r}")
