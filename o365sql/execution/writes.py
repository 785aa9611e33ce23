"""Execution stage for writes: run a :class:`~o365sql.planning.writes.WritePlan`.

INSERT posts each row to the collection endpoint its address columns choose (``UserId``,
``ParentFolderId``, ``CalendarId``...; none: the signed-in user's default folder), the body
built by ``write_body.graph_body`` along the columns' read paths. UPDATE and DELETE first run
the plan's SELECT through the ordinary read path (so any WHERE works), then PATCH or DELETE
each row it yields at the table's item endpoint. All of a statement's writes, and all of an
``executemany``'s, go out together through ``graph.writes.send_writes`` ($batch).

``rowcount`` is the number of items Graph created, changed or deleted. ``INSERT ... RETURNING``
returns columns of the created items read from Graph's answers with the read-side converter;
``lastrowid`` is the id of the last created item (a string: Graph ids are not integers).

A failed row does not stop the others: every write is sent, then the first failure is raised
with a summary of how many were done, and ``error.extra["outcomes"]`` lists every row's
outcome. A create whose outcome is unknown (the answer was lost after it was sent) is never
sent again blindly: an event also carries a ``transactionId`` (Graph's own guard against
repeated creates), and every create of a message, contact or event carries a client marker
(a single-value extended property) by which it is looked up: found, it is done; not found, it
is sent again.
When neither settles it (folders and calendars take no marker), the error says the item may or
may not exist and how to look for it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..catalog import Column, Table
from ..conversion import graph_value
from ..exceptions import Error, OperationalError, ProgrammingError
from ..graph.request import GraphRequest
from ..graph.writes import WriteOutcome, send_writes, with_marker
from ..odata.query import render_path
from ..planning.addressing import choose_endpoint, is_default
from ..planning.writes import WritePlan, is_address, plan_write
from ..write_body import graph_body

if TYPE_CHECKING:
    from ..planning.parse import Statement

#: Runs a SELECT through the read path: ``read(sql, named parameters, context)`` -> rows.
Reader = Callable[[str, dict[str, Any], Any], Iterable[tuple[Any, ...]]]

__all__ = ["WriteResult", "run_writes"]

Params = Sequence[Any] | Mapping[str, Any] | None


@dataclass
class WriteResult:
    """What the writes of one ``execute``/``executemany`` did."""

    rowcount: int
    returning: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    lastrowid: str | None


@dataclass
class _Write:
    request: GraphRequest
    describe: str  # "row 3" / "Id AAMk..." for error messages
    marker: str | None = None  # the client marker a create puts on its item


#: Entities whose creates carry o365sql's client marker (a single-value extended property),
#: so a create whose answer was lost is looked up instead of sent again blindly. Folders and
#: calendars take no extended properties in a create body (mailfolder/calendar resources).
MARKED_ENTITIES = frozenset({"microsoft.graph.message", "microsoft.graph.contact",
                             "microsoft.graph.event"})


def run_writes(statement: Statement, param_sets: Sequence[Params], context: Any, *,
               read: Reader, app_only: bool) -> WriteResult:
    """Plan and send the writes of ``statement`` once per parameter set (``context``: the
    execution ``Context``; ``read`` runs the SELECT of an UPDATE/DELETE or INSERT ... SELECT;
    ``app_only``: the connection signs in as an application, so nothing may use ``/me``)."""
    writes: list[_Write] = []
    plans: list[WritePlan] = []
    for number, params in enumerate(param_sets, 1):
        plan = plan_write(statement, params, context.catalog)
        plans.append(plan)
        for write in _requests(plan, context, read, app_only):
            if len(param_sets) > 1:
                write.describe = f"parameter set {number}, {write.describe}"
            writes.append(write)
    table = plans[0].table if plans else None
    outcomes = send_writes(context.graph, [w.request for w in writes],
                           [w.marker for w in writes])
    done = [o for o in outcomes if o.ok]
    failures = [(w, o) for w, o in zip(writes, outcomes) if not o.ok and not o.missing]
    if failures:
        raise _failure(table, writes, outcomes, failures, len(done))
    returning = plans[0].returning if plans else ()
    created = [o.body for o in outcomes if isinstance(o.body, dict)]
    rows = [tuple(graph_value(item, c, table.name) for c in returning)
            for item in created] if table is not None and returning else []
    lastrowid = None
    if plans and plans[0].kind == "insert" and created:
        last = created[-1].get("id")
        lastrowid = last if isinstance(last, str) else None
    return WriteResult(len(done), returning, rows, lastrowid)


def _requests(plan: WritePlan, context: Any, read: Reader, app_only: bool
              ) -> Iterator[_Write]:
    table = plan.table
    if plan.kind == "insert":
        source = plan.rows if plan.source_sql is None else _read(plan, context, read)
        for number, row in enumerate(source, 1):
            request = _create(table, plan.columns, row, app_only)
            marker = None
            if table.entity in MARKED_ENTITIES:
                marker = str(uuid.uuid4())
                request = dataclasses.replace(request, body=with_marker(request.body, marker))
            yield _Write(request, f"row {number}", marker)
        return
    key_at = 0
    for row in _read(plan, context, read):
        item_id = row[key_at]
        address = dict(zip((c.name for c in plan.address_columns), row[1:]))
        path = _item_path(table, item_id, address, app_only)
        if plan.kind == "delete":
            yield _Write(GraphRequest("DELETE", path), f"Id {item_id}")
            continue
        values = row[1 + len(plan.address_columns):]
        body = graph_body(zip(plan.columns, values), table.name)
        yield _Write(GraphRequest("PATCH", path, body=body), f"Id {item_id}")


def _read(plan: WritePlan, context: Any, read: Reader) -> list[tuple[Any, ...]]:
    """The rows of the plan's SELECT, through the ordinary read path."""
    assert plan.source_sql is not None
    properties = context.properties
    if getattr(properties, "max_rows", None) and dataclasses.is_dataclass(properties):
        # MaxRows bounds what a query shows, never which rows a write changes.
        properties = dataclasses.replace(properties, max_rows=0)  # type: ignore[type-var]
    return list(read(plan.source_sql, plan.source_params,
                     dataclasses.replace(context, properties=properties)))


def _create(table: Table, columns: Sequence[Column], row: Sequence[Any], app_only: bool
            ) -> GraphRequest:
    address: dict[str, Any] = {}
    values: list[tuple[Column, Any]] = []
    for column, value in zip(columns, row):
        if is_address(column):
            if value is not None and not is_default(column, value):
                address[column.name] = value
        else:
            values.append((column, value))
    endpoint = choose_endpoint(table, {name.lower() for name in address})
    _check_mailbox(table, endpoint.template, app_only)
    path = render_path(endpoint.template, tuple((k, str(v)) for k, v in address.items()))
    body = graph_body(values, table.name)
    if table.entity == "microsoft.graph.event" and not body.get("transactionId"):
        # "A custom identifier specified by a client app for the server to avoid redundant
        # POST operations in case of client retries to create the same event" (event
        # resource, transactionId); the client marker below is what o365sql looks up.
        body["transactionId"] = str(uuid.uuid4())
    return GraphRequest("POST", path, body=body)


def _item_path(table: Table, item_id: Any, address: dict[str, Any], app_only: bool) -> str:
    if not isinstance(item_id, str) or not item_id:
        raise ProgrammingError(f"{table.name}: a row without {table.key} cannot be changed")
    bound = {k: v for k, v in address.items()
             if v is not None and not is_default(table.column(k), v)}
    wanted = {k.lower() for k in bound} | {table.key.lower()}
    # The item endpoint using exactly the addresses the row carries (a group's event under
    # the group, a mailbox's item under the mailbox).
    endpoint = next((e for e in table.item_endpoints
                     if {r.lower() for r in e.requires} == wanted), None)
    if endpoint is None:
        raise ProgrammingError(f"{table.name}: no Graph endpoint changes an item addressed by "
                               + ", ".join(sorted(wanted)))
    _check_mailbox(table, endpoint.template, app_only)
    values = {**{k: str(v) for k, v in bound.items()}, table.key: item_id}
    return render_path(endpoint.template, tuple(values.items()))


def _check_mailbox(table: Table, template: str, app_only: bool) -> None:
    if app_only and template.startswith("/me/"):
        raise ProgrammingError(
            f"{table.name}: an application signs in as no user, so writes need the mailbox: "
            "give UserId (a user id or userPrincipalName)")


def _failure(table: Table | None, writes: Sequence[_Write], outcomes: Sequence[WriteOutcome],
             failures: Sequence[tuple[_Write, WriteOutcome]], done: int) -> Error:
    first_write, first = failures[0]
    name = table.name if table is not None else "the table"
    error = first.error
    if first.unknown:
        error = OperationalError(
            f"{first_write.request.method} {first_write.request.path} ({first_write.describe}): "
            f"no answer arrived after the write was sent, so it may or may not have happened; "
            f"check with a SELECT on {name} before writing it again"
            + (f" ({first.error.message})" if first.error is not None else ""),
            code=getattr(first.error, "code", None), status=getattr(first.error, "status", None),
            request_id=getattr(first.error, "request_id", None))
    assert error is not None
    if len(writes) == 1:
        return error
    summary = (f"{len(failures)} of {len(writes)} writes to {name} failed ({done} done); "
               f"first, {first_write.describe}: {error.message}")
    return type(error)(summary, code=error.code, status=error.status,
                       request_id=error.request_id, date=error.date,
                       outcomes=list(outcomes))
