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

A second generated test covers the correlated and joined forms of "each user's n newest"
(LATERAL cross / ON true / LEFT / comma, a scalar subquery, ``Id IN`` a correlated LIMIT
subquery, Users joined with a ranked derived table or CTE, with an OFFSET, conditions pushed
or local, ascending, descending or an order Graph cannot give): each answer equals pushdown off
and the answer computed in Python from every message read whole, and a pushed one reads one
page per mailbox (``Graph stats``), no more.
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
#: Every generated family here: fixed examples under CI, new ones elsewhere; slow is expected.
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


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

    @SETTINGS
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


# --------------------------------------------------------------------------- correlated forms

class Mailboxes:
    """Every user's mail and messages, read once whole (pushdown off): the data the Python
    answers of the correlated forms are computed from."""

    def __init__(self, world: World) -> None:
        self.mail = dict(World.rows(world.off, "SELECT Id, Mail FROM Users"))
        self.messages = World.rows(world.off, (
            "SELECT UserId, ReceivedDateTime, IsRead, Importance, HasAttachments, Subject "
            "FROM Messages WHERE UserId IN (SELECT Id FROM Users)"))

    def newest(self, keep: str, descending: bool, n: int, offset: int, form: str
               ) -> list[tuple[Any, ...]]:
        """(Mail, ReceivedDateTime) of each user's messages meeting ``keep``, ordered by
        received time, rows offset+1 .. offset+n; the scalar form gives one row per user
        (None when it has no such row), LEFT LATERAL a (Mail, None) row for a user with none."""
        test = _KEEP[keep]
        found: list[tuple[Any, ...]] = []
        for user, mail in self.mail.items():
            times = sorted((r[1] for r in self.messages if r[0] == user and test(r)),
                           reverse=descending)[offset:offset + n]
            if form == "scalar":
                found.append((mail, times[0] if times else None))
            elif not times and form == "lateral_left":
                found.append((mail, None))
            else:
                found += [(mail, when) for when in times]
        return sorted(found, key=repr)


_KEEP: dict[str, Any] = {
    "": lambda r: True,
    "IsRead = false": lambda r: not r[2],
    "Importance = 'normal'": lambda r: r[3] == "normal",
    "HasAttachments = true": lambda r: bool(r[4]),
    "Subject LIKE '%e%'": lambda r: "e" in (r[5] or "").lower(),
}

#: Conditions Graph evaluates exactly on messages (the LIKE is a loose contains(), the enum's
#: text compare stays local): a ranked table filtered by these is pushed.
_EXACT = ("", "IsRead = false", "HasAttachments = true")

CORRELATED_FORMS = ["lateral_cross", "lateral_on_true", "lateral_left", "lateral_comma",
                    "scalar", "in_ids", "derived_where", "derived_on", "cte"]


@st.composite
def correlated_queries(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A per-user top n in one of the correlated or joined forms, and how to compute it."""
    form = draw(st.sampled_from(CORRELATED_FORMS))
    n = 1 if form == "scalar" else draw(st.integers(0, 6))
    offset = draw(st.sampled_from([0, 0, 0, 1, 2]))
    descending = draw(st.booleans())
    by_subject = draw(st.integers(0, 7)) == 0  # an order Graph cannot give: stays local
    keep = draw(st.sampled_from(["", "", "", *list(_KEEP)[1:]]))
    order = "Subject" if by_subject else "ReceivedDateTime" + (" DESC" if descending else "")
    cut = f"LIMIT {n}" + (f" OFFSET {offset}" if offset else "")
    inner = f" AND m.{keep}" if keep else ""
    body = (f"(SELECT m.ReceivedDateTime FROM Messages m WHERE m.UserId = u.Id{inner} "
            f"ORDER BY m.{order} {cut})")
    head = "SELECT u.Mail, t.ReceivedDateTime FROM Users u"
    if form == "lateral_cross":
        sql = f"{head} CROSS JOIN LATERAL {body} t"
    elif form == "lateral_on_true":
        sql = f"{head} JOIN LATERAL {body} AS t ON true"
    elif form == "lateral_left":
        sql = f"{head} LEFT JOIN LATERAL {body} t ON true"
    elif form == "lateral_comma":
        sql = f"{head}, LATERAL {body} t"
    elif form == "scalar":
        sql = f"SELECT u.Mail, {body} FROM Users u"
    elif form == "in_ids":
        sql = ("SELECT u.Mail, x.ReceivedDateTime FROM Users u JOIN Messages x ON x.UserId = "
               f"u.Id WHERE x.Id IN {body.replace('SELECT m.ReceivedDateTime', 'SELECT m.Id')}")
    else:
        where = f" WHERE {keep}" if keep else ""
        ranked = (f"(SELECT UserId, ReceivedDateTime, ROW_NUMBER() OVER (PARTITION BY UserId "
                  f"ORDER BY {order}) AS rn FROM Messages{where})")
        bound = f"t.rn > {offset} AND t.rn <= {offset + n}"
        if form == "derived_where":
            sql = f"{head} JOIN {ranked} t ON t.UserId = u.Id WHERE {bound}"
        elif form == "derived_on":
            sql = f"{head} JOIN {ranked} t ON t.UserId = u.Id AND {bound}"
        else:
            sql = (f"WITH t AS {ranked} SELECT u.Mail, t.ReceivedDateTime FROM Users u JOIN t "
                   f"ON t.UserId = u.Id WHERE {bound}")
    return sql, {"form": form, "n": n, "offset": offset, "descending": descending,
                 "keep": keep, "by_subject": by_subject}


def test_correlated_top_n_on_equals_off_equals_python(world: World) -> None:
    """Every correlated form answers as with pushdown off and as computed in Python; pushed
    ones (EXPLAIN's top-n) read one page per mailbox, no further."""
    mailboxes = Mailboxes(world)
    compared = pushed = 0
    pushable: list[tuple[str, bool]] = []

    @SETTINGS
    @given(data=st.data())
    def on_equals_off(data: st.DataObject) -> None:
        nonlocal compared, pushed
        sql, facts = data.draw(correlated_queries())
        top_n = _explained(world, sql)
        event(f"{facts['form']}: {'pushed' if top_n else 'local'}")
        before = world.on.graph.stats.snapshot()["pages"]
        on = sorted(World.rows(world.on, sql), key=repr)
        pages = world.on.graph.stats.snapshot()["pages"] - before
        assert on == sorted(World.rows(world.off, sql), key=repr), sql
        if not facts["by_subject"]:
            expected = mailboxes.newest(facts["keep"], facts["descending"], facts["n"],
                                        facts["offset"], facts["form"])
            assert on == expected, sql
        if top_n and facts["form"] != "in_ids":  # (in_ids reads its outer Messages whole)
            # The users' page, then one page of at most offset+n rows per mailbox.
            assert pages <= 1 + len(mailboxes.mail), (sql, pages)
            if facts["n"] + facts["offset"]:
                assert pages == 1 + len(mailboxes.mail), (sql, pages)
        compared += 1
        pushed += top_n
        if not facts["by_subject"] and facts["keep"] in _EXACT:
            # Ordered by the received time, every condition one Graph evaluates exactly: the
            # shape top_n.py pushes, in every form.
            pushable.append((sql, bool(top_n)))

    on_equals_off()
    assert compared >= EXAMPLES, f"only {compared} of {EXAMPLES} queries were compared"
    # Which queries are pushable varies with what hypothesis draws (it favours the boundary
    # values, e.g. the Subject order); each of those must be pushed, and there must be enough.
    assert len(pushable) >= EXAMPLES // 4, f"only {len(pushable)} pushable queries drawn"
    assert all(top for _, top in pushable), [sql for sql, top in pushable if not top][:3]
    assert pushed >= len(pushable), (pushed, len(pushable))
