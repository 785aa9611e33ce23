"""What one Spark task does: read its slices through the driver and hand Spark the rows.

Stage: executor side. Each slice is one SELECT (``statement.py``) run by the driver on a
connection of the task's own (``signin.py``): pushdown, paging, retries of throttled requests
(honouring ``Retry-After``) and the exact local re-checks are the driver's. The whole mailboxes
of a partition (small ones, grouped) are read by one statement, ``UserId IN (...)``, which the
driver fans out through ``$batch`` (20 requests a POST, one request per mailbox at a time); the
time slices of a split mailbox are read one after the other, one request in flight: far under
Outlook's four per mailbox even when a few tasks read slices of the same mailbox at once.

Mailbox errors: a slice whose mailbox answers 403 (the app is scoped away from it by an
application access policy or RBAC for Applications) or 404 (no mailbox: unlicensed, inactive,
on-premises) fails the task under ``onMailboxError=fail``; under ``skip`` the mailbox gives no
rows and is reported: logged at WARNING on the executor and, with ``mailboxErrorsPath``, written
as one JSON line per mailbox to ``<path>/part-<partition>.jsonl`` (a side table:
``spark.read.json(path)``). The file is named by the partition and replaced atomically, so a
task Spark retries reports each mailbox once. An error after a mailbox gave rows is never
skipped: that would leave a silently partial mailbox. Under ``skip`` a group's rows are held
until the whole group is read (at most about ``rowsPerPartition`` rows); when one of its
mailboxes fails, the group is read again mailbox by mailbox, so the failure is pinned on it.

Retries: Spark discards the output of a failed task attempt and runs the partition again from
the start; a slice is a pure function of the plan, so the retry yields the same rows once.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..exceptions import Error
from ..properties import Properties
from .filters import PushedFilter
from .partitioning import Slice, parse_iso
from .schema import value_converter
from .signin import open_connection
from .statement import ReadStatement, group_parameters, parameters

log = logging.getLogger("o365sql.spark")

#: Rows fetched from the cursor at a time.
BATCH = 1000


@dataclass(frozen=True)
class TaskPlan:
    """What every task of one read shares (pickled into the reader, never printed: it holds
    the connection properties, whose ``repr`` masks the secrets anyway)."""

    statement: ReadStatement
    pushed: tuple[PushedFilter, ...]
    properties: Properties
    skip_errors: bool
    errors_path: str | None
    rate: float | None


@dataclass(frozen=True)
class MailboxError:
    """A skipped mailbox: the mailbox, the HTTP status, Graph's code, message and request-id."""

    mailbox: str
    status: int | None
    code: str | None
    message: str
    request_id: str | None

    def as_json(self) -> str:
        return json.dumps({"mailbox": self.mailbox, "status": self.status, "code": self.code,
                           "message": self.message, "request_id": self.request_id})


def is_mailbox_error(exc: Error) -> bool:
    """403 (scoped away) or 404 (no such mailbox) for a mailbox's collection."""
    return exc.status in (403, 404)


def read_slices(plan: TaskPlan, partition: int, slices: tuple[Slice, ...]
                ) -> Iterator[tuple[Any, ...]]:
    """The rows of every slice (see the module docstring)."""
    skipped: list[MailboxError] = []
    _clear_report(plan, partition)
    whole = [s.mailbox for s in slices if s.mailbox is not None and s.low is None
             and s.high is None]
    with open_connection(plan.properties, plan.rate) as connection:
        rest = slices
        if len(whole) > 1:
            group = _read_group(plan, connection, whole)
            if group is not None:
                yield from group
                rest = tuple(s for s in slices if s.mailbox not in whole or s.low or s.high)
        yield from _read_each(plan, connection, rest, skipped)
    _write_report(plan, partition, skipped)


def _read_group(plan: TaskPlan, connection: Any, mailboxes: list[str]
                ) -> list[tuple[Any, ...]] | Iterator[tuple[Any, ...]] | None:
    """Rows of whole mailboxes through one ``UserId IN (...)`` statement; None when one of
    them failed under ``skip`` (the caller reads them one by one)."""
    statement = plan.statement
    sql = statement.slice_sql([statement.group_conjunct(len(mailboxes))]
                              + [f.conjunct() for f in plan.pushed])
    values = {**{n: v for f in plan.pushed for n, v in f.values},
              **group_parameters(mailboxes)}
    rows = _rows(plan, connection, sql, values)
    if not plan.skip_errors:
        return rows
    try:
        return list(rows)
    except Error as exc:
        if is_mailbox_error(exc):
            return None
        raise


def _rows(plan: TaskPlan, connection: Any, sql: str, values: dict[str, Any]
          ) -> Iterator[tuple[Any, ...]]:
    convert = [value_converter(c.spark_type) for c in plan.statement.columns]
    cursor = connection.cursor()
    try:
        cursor.execute(sql, values)
        while True:
            rows = cursor.fetchmany(BATCH)
            if not rows:
                break
            for row in rows:
                yield tuple(f(v) for f, v in zip(convert, row))
    finally:
        cursor.close()


def _read_each(plan: TaskPlan, connection: Any, slices: tuple[Slice, ...],
               skipped: list[MailboxError]) -> Iterator[tuple[Any, ...]]:
    """Slice by slice; under ``skip`` a mailbox that fails before giving rows is reported."""
    sql_for: dict[tuple[bool, bool], str] = {}
    pushed = {name: value for f in plan.pushed for name, value in f.values}
    for piece in slices:
        key = (piece.low is not None, piece.high is not None)
        if key not in sql_for:
            extra = plan.statement.mailbox_conjuncts(low=key[0], high=key[1])
            sql_for[key] = plan.statement.slice_sql(
                extra + [f.conjunct() for f in plan.pushed])
        values = {**pushed, **parameters(
            piece.mailbox, parse_iso(piece.low) if piece.low else None,
            parse_iso(piece.high) if piece.high else None)}
        given = 0
        try:
            for row in _rows(plan, connection, sql_for[key], values):
                yield row
                given += 1
        except Error as exc:
            if not (plan.skip_errors and given == 0 and piece.mailbox is not None
                    and is_mailbox_error(exc)):
                raise
            failure = MailboxError(piece.mailbox, exc.status, exc.code, exc.message,
                                   exc.request_id)
            log.warning("o365sql: skipped mailbox %s: %s %s (request-id %s)",
                        failure.mailbox, failure.status, failure.code, failure.request_id)
            if not any(s.mailbox == failure.mailbox for s in skipped):
                skipped.append(failure)


def _report_file(plan: TaskPlan, partition: int) -> str | None:
    if plan.errors_path is None:
        return None
    return os.path.join(plan.errors_path, f"part-{partition:05d}.jsonl")


def _clear_report(plan: TaskPlan, partition: int) -> None:
    path = _report_file(plan, partition)
    if path is not None and os.path.exists(path):
        os.remove(path)


def _write_report(plan: TaskPlan, partition: int, skipped: list[MailboxError]) -> None:
    path = _report_file(plan, partition)
    if path is None or not skipped:
        return
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".part-", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("".join(s.as_json() + "\n" for s in skipped))
    os.replace(temporary, path)
