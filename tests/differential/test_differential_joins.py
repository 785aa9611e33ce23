"""Differential test for joins parent -> child whose child endpoint needs the parent's id and
mailbox (MessageAttachments, EventAttachments, EventInstances, GroupMembers, messages of a
folder): pushdown on and off give the same rows, and both equal the rows read one address at
a time (``WHERE UserId = 'x' AND MessageId = 'y'``), on an app-only connection that reads
every mailbox (a fan-out that fell back to ``/me`` fails there).

Queries are generated with hypothesis: a join shape (the child's UserId bound to the
parent's, to Users' Id through a chain, or by WHERE), a mailbox choice for the parent (one
user, a list, a subquery over Users, a join with Users), and predicates on parent and child
columns drawn from the data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import o365sql
from o365sql.emulator import Emulator

EXAMPLES = max(20, int(os.environ.get("O365SQL_DIFFERENTIAL_EXAMPLES", "1000")) // 10)
DERANDOMIZE = bool(os.environ.get("CI"))  # CI: the same joins every run, so failures reproduce
WINDOW = "c.StartDateTime >= '2020-01-01' AND c.EndDateTime <= '2030-01-01'"

# parent table, child table, parent key -> child slot, extra child WHERE, child columns
CHILDREN: list[tuple[str, str, str, str, list[str]]] = [
    ("Messages", "MessageAttachments", "MessageId", "", ["Name", "Size", "ContentType",
                                                         "IsInline"]),
    ("Events", "EventAttachments", "EventId", "", ["Name", "Size", "ContentType"]),
    ("Events", "EventInstances", "EventId", WINDOW, ["Subject", "Start_DateTime", "Type"]),
    ("MailFolders", "Messages", "ParentFolderId", "", ["Subject", "IsRead", "Importance"]),
]
PARENT_COLUMNS = {"Messages": ["Subject", "HasAttachments", "IsRead"],
                  "Events": ["Subject", "HasAttachments", "Type"],
                  "MailFolders": ["DisplayName", "TotalItemCount"]}


class World:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        common = {"AuthScheme": "AzureServicePrincipal",
                  "OAuthClientId": emulator.app.client_id,
                  "OAuthClientSecret": emulator.app.client_secret,
                  "AzureTenant": emulator.tenant_id, "AuthorityURL": emulator.base_url,
                  "GraphURL": emulator.graph_url, "SSLServerCert": emulator.ca_path}
        self.on = o365sql.connect(**common)
        self.off = o365sql.connect(Pushdown=False, **common)
        self.users = self.rows(self.off, "SELECT Id, UserPrincipalName, DisplayName FROM Users "
                                         "WHERE AccountEnabled = true")
        self.values: dict[tuple[str, str], list[Any]] = {}
        upn = self.users[0][1]
        for parent, child, _, extra, columns in CHILDREN:
            for table, names, alias, where in ((parent, PARENT_COLUMNS[parent], "p", ""),
                                               (child, columns, "c", extra)):
                if table == child and child != "Messages":
                    continue  # child values are drawn from the rows the reference reads
                sql = (f"SELECT {', '.join(names)} FROM {table} {alias} WHERE "
                       f"{alias}.UserId = :u" + (f" AND {where}" if where else ""))
                for i, row in enumerate(zip(*self.rows(self.off, sql, {"u": upn})) or []):
                    self.values[(table, names[i])] = [v for v in row if v is not None][:20]

    @staticmethod
    def rows(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        cur = connection.cursor()
        cur.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()]

    def close(self) -> None:
        self.on.close()
        self.off.close()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Emulator(seed=4, users=3, messages_per_user=15, events_per_user=8) as emulator:
        w = World(emulator)
        try:
            yield w
        finally:
            w.close()


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@st.composite
def _predicate(draw: st.DrawFn, world: World, table: str, alias: str,
               names: list[str]) -> str:
    name = draw(st.sampled_from(names))
    seen = world.values.get((table, name)) or []
    if not seen:
        return f"{alias}.{name} IS NULL"
    value = draw(st.sampled_from(seen))
    if isinstance(value, bool):
        return draw(st.sampled_from([f"{alias}.{name} = {_literal(value)}",
                                     f"NOT {alias}.{name}"]))
    if isinstance(value, str) and draw(st.booleans()):
        return f"{alias}.{name} LIKE {_literal(value[:3] + '%')}"
    op = draw(st.sampled_from(["=", "<>", ">="]))
    return f"{alias}.{name} {op} {_literal(value)}"


@st.composite
def join_queries(draw: st.DrawFn, world: World) -> tuple[str, dict[str, Any], str]:
    parent, child, slot, extra, columns = draw(st.sampled_from(CHILDREN))
    users = draw(st.permutations(world.users))[:draw(st.integers(1, 3))]
    params: dict[str, Any] = {}
    where: list[str] = [extra] if extra else []
    key = "Id"
    mailbox = draw(st.sampled_from(["value", "list", "subquery", "users", "users-chain",
                                    "where"]))
    source = f"{parent} p"
    on = [f"c.{slot} = p.{key}"]
    if mailbox == "value":
        params["u"] = draw(st.sampled_from([users[0][0], users[0][1]]))
        where.append("p.UserId = :u")
        on.append("c.UserId = p.UserId")
    elif mailbox == "list":
        where.append("p.UserId IN (" + ", ".join(_literal(u[1]) for u in users) + ")")
        on.append("c.UserId = p.UserId")
    elif mailbox == "subquery":
        where.append("p.UserId IN (SELECT Id FROM Users WHERE DisplayName LIKE "
                     f"{_literal(users[0][2][:1] + '%')})")
        on.append("c.UserId = p.UserId")
    elif mailbox == "where":
        params["u"] = users[0][1]
        where.append("p.UserId = :u")
        where.append("c.UserId = p.UserId")
    else:
        # Through Users: the child's mailbox equals the user's id, directly or by chain.
        source = f"Users u JOIN {parent} p ON p.UserId = u.Id"
        where.append("u.UserPrincipalName IN (" + ", ".join(_literal(u[1]) for u in users) + ")")
        on.append("c.UserId = u.Id" if mailbox == "users-chain" else "c.UserId = p.UserId")
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            where.append(draw(_predicate(world, parent, "p", PARENT_COLUMNS[parent])))
        else:
            where.append(draw(_predicate(world, child, "c", columns)))
    picked = draw(st.permutations(columns))[:draw(st.integers(1, 2))]
    select = ", ".join(["p.Id", "c.UserId"] + [f"c.{n}" for n in picked])
    kind = draw(st.sampled_from(["JOIN", "JOIN", "LEFT JOIN"]))
    if kind == "LEFT JOIN":
        on += [w for w in where if w.startswith("c.") and w not in on]
        where = [w for w in where if not w.startswith("c.")] + ([extra] if extra else [])
        where = list(dict.fromkeys(where))
        # A LEFT JOIN's child window stays in its ON clause (the child's address).
        if extra:
            where.remove(extra)
            on.append(extra)
    sql = (f"SELECT {select} FROM {source} {kind} {child} c ON {' AND '.join(on)}"
           + (f" WHERE {' AND '.join(where)}" if where else ""))
    return sql, params, f"{kind} {child} (mailbox: {mailbox})"


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_join_to_child_on_equals_off(world: World, data: st.DataObject) -> None:
    sql, params, label = data.draw(join_queries(world))
    event(label)
    world.emulator.clear_log()
    on = sorted(World.rows(world.on, sql, params or None), key=repr)
    paths = [e.path for e in world.emulator.log if e.kind in ("graph", "batch")]
    assert not any(p.startswith("/v1.0/me/") for p in paths), (sql, paths)
    off = sorted(World.rows(world.off, sql, params or None), key=repr)
    assert on == off, (sql, params)
    event("rows" if on else "no rows")


@pytest.mark.parametrize("parent,child,slot,extra,columns", CHILDREN)
def test_join_equals_rows_read_one_address_at_a_time(world: World, parent: str, child: str,
                                                     slot: str, extra: str,
                                                     columns: list[str]) -> None:
    """The join's rows are exactly the child's rows read per (mailbox, parent) address."""
    names = ", ".join(f"c.{n}" for n in columns)
    expected = []
    for user_id, _, _ in world.users:
        for (parent_id,) in World.rows(world.off, f"SELECT Id FROM {parent} WHERE UserId = :u",
                                       {"u": user_id}):
            rows = World.rows(world.off, f"SELECT {names} FROM {child} c WHERE c.UserId = :u "
                              f"AND c.{slot} = :p" + (f" AND {extra}" if extra else ""),
                              {"u": user_id, "p": parent_id})
            expected += [(user_id, parent_id) + row for row in rows]
    assert expected, f"the seeded tenant has no {child} rows"
    sql = (f"SELECT u.Id, p.Id, {names} FROM Users u JOIN {parent} p ON p.UserId = u.Id "
           f"JOIN {child} c ON c.{slot} = p.Id AND c.UserId = u.Id WHERE u.AccountEnabled = true"
           + (f" AND {extra}" if extra else ""))
    for connection in (world.on, world.off):
        assert sorted(World.rows(connection, sql), key=repr) == sorted(expected, key=repr)
