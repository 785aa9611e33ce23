"""Differential test for top-N per mailbox (issue 12): bounded rankings give the same rows with
pushdown on (``$orderby`` + ``$top=N`` per mailbox, no page past N rows) and off (every mailbox
read whole, ranked in SQLite), with an application's token over every mailbox.

Generated with hypothesis: the ranking (ROW_NUMBER, RANK, DENSE_RANK), its partition (the
mailbox, none, or a column inside a mailbox), its order (ascending or descending received
time, or a column Graph cannot sort), the form (a derived table filtered by the rank, with
``<=``, ``<``, ``=``, ``BETWEEN`` or the bound first; or ``QUALIFY``), the mailboxes (a subquery
over Users, an IN list, one mailbox) and extra WHERE conditions (pushed exactly or re-checked
locally). ROW_NUMBER may break ties either way, so its rows are compared by what ties cannot
change (mailbox, order value, rank); RANK and DENSE_RANK rows whole. The test counts the
compared queries and those actually pushed down, and fails below a floor for each.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import o365sql
from o365sql.emulator import Emulator

EXAMPLES = max(40, int(os.environ.get("O365SQL_DIFFERENTIAL_EXAMPLES", "1000")) // 10)
DERANDOMIZE = bool(os.environ.get("CI"))


class World:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # An application's token: every mailbox is read through /users/{id}, none via /me.
        props = {"GraphURL": emulator.graph_url, "SSLServerCert": emulator.ca_path,
                 "OAuthAccessToken": emulator.mint_token()}
        self.on = o365sql.connect(**props)
        self.off = o365sql.connect(Pushdown=False, **props)
        self.users = [r[0] for r in self.rows(self.off, "SELECT Id FROM Users WHERE "
                                                        "AccountEnabled = true ORDER BY Id")]

    @staticmethod
    def rows(connection: Any, sql: str) -> list[tuple[Any, ...]]:
        cur = connection.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Emulator(seed=21, users=4, messages_per_user=35) as emulator:
        w = World(emulator)
        yield w
        w.on.close()
        w.off.close()


@st.composite
def top_n_queries(draw: st.DrawFn, world: World) -> tuple[str, str]:
    function = draw(st.sampled_from(["ROW_NUMBER"] * 3 + ["RANK"] * 2 + ["DENSE_RANK"]))
    partition = draw(st.sampled_from(["UserId"] * 6 + ["", "Importance"]))
    order = draw(st.sampled_from(["ReceivedDateTime DESC"] * 3 + [
        "ReceivedDateTime", "ReceivedDateTime ASC", "Subject"]))
    key = order.split()[0]
    over = (f"PARTITION BY {partition} " if partition else "") + f"ORDER BY {order}"
    n = draw(st.integers(0, 12))
    mailboxes = draw(st.sampled_from(["subquery", "list", "one"]))
    if mailboxes == "subquery":
        where = ["UserId IN (SELECT Id FROM Users WHERE AccountEnabled = true)"]
    elif mailboxes == "list":
        picked = draw(st.lists(st.sampled_from(world.users), min_size=1, max_size=3,
                               unique=True))
        where = ["UserId IN (" + ", ".join(f"'{u}'" for u in picked) + ")"]
    else:
        where = [f"UserId = '{draw(st.sampled_from(world.users))}'"]
    extra = draw(st.sampled_from(["", "", "", "IsRead = false", "Importance = 'normal'",
                                  "Subject LIKE '%e%'", "ReceivedDateTime >= '2026-06-01'",
                                  "HasAttachments = true"]))
    if extra:
        where.append(extra)
    form = draw(st.sampled_from(["derived", "derived", "qualify"]))
    ranked = f"{function}() OVER ({over})"
    if form == "qualify":
        sql = (f"SELECT UserId, {key} AS k, Id, {ranked} AS rk FROM Messages WHERE "
               f"{' AND '.join(where)} QUALIFY {ranked} <= {n}")
    else:
        bound = draw(st.sampled_from([f"rk <= {n}", f"rk < {n}", f"rk = {n}",
                                      f"{n} >= rk", f"rk BETWEEN 1 AND {n}"]))
        sql = (f"SELECT * FROM (SELECT UserId, {key} AS k, Id, {ranked} AS rk FROM Messages "
               f"WHERE {' AND '.join(where)}) t WHERE {bound}")
    return sql, function


def _explained(world: World, sql: str) -> bool:
    return any(kind == "top-n" for _, kind, _ in World.rows(world.on, "EXPLAIN " + sql))


def test_top_n_on_equals_off(world: World) -> None:
    compared = pushed = 0

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def on_equals_off(data: st.DataObject) -> None:
        nonlocal compared, pushed
        sql, function = data.draw(top_n_queries(world))
        top_n = _explained(world, sql)
        event("pushed" if top_n else "local")
        on = World.rows(world.on, sql)
        off = World.rows(world.off, sql)
        if function == "ROW_NUMBER":
            # Ties may be broken either way: compare what they cannot change.
            on = [(r[0], r[1], r[3]) for r in on]
            off = [(r[0], r[1], r[3]) for r in off]
        assert sorted(on, key=repr) == sorted(off, key=repr), sql
        compared += 1
        pushed += top_n

    on_equals_off()
    assert compared >= EXAMPLES, f"only {compared} of {EXAMPLES} queries were compared"
    assert pushed >= EXAMPLES // 8, f"only {pushed} of {compared} queries were pushed down"
