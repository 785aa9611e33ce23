"""``GraphRequest.pushed_down`` names exactly the query options a request carries only because
pushdown is on: over every golden statement, each named option is one the ``Pushdown=false`` plan
does not send, and every ``$filter``/``$orderby``/``/$count`` of the pushdown plan is named (the
Graph client's advice on a rejected query relies on it, ``graph/errors.py``)."""

from __future__ import annotations

import pytest
from test_golden_odata import CASES

from o365sql.catalog import load_catalog
from o365sql.graph.errors import request_options
from o365sql.graph.request import GraphRequest
from o365sql.odata.query import render
from o365sql.planning import plan_query, prepare

CATALOG = load_catalog()
PLANNED = [c for c in CASES if not c[1][1].startswith("ERROR ")]


def _requests(sql: str, pushdown: bool) -> list[GraphRequest]:
    plan = plan_query(prepare(sql), None, CATALOG, pushdown=pushdown)
    requests = []
    for scan in plan.scans:
        requests.extend(render(q) for q in scan.queries)
        if scan.template_query is not None:
            requests.append(render(scan.template_query.with_address(
                **{s: "x" for s in _slots(scan.template_query.template)})))
    return requests


def _slots(template: str) -> list[str]:
    return [part.split("}")[0] for part in template.split("{")[1:]]


def _sent(request: GraphRequest) -> set[str]:
    return set(request_options(request.line()))


def test_enough_statements() -> None:
    assert len(PLANNED) >= 30


@pytest.mark.parametrize("case", PLANNED, ids=[c[0] for c in PLANNED])
def test_pushed_marks_are_what_pushdown_false_leaves_out(case: tuple[str, list[str]]) -> None:
    sql = case[1][0]
    on, off = _requests(sql, True), _requests(sql, False)
    assert all(r.pushed_down == () for r in off)
    assert not any(_sent(r) & {"$filter", "$orderby", "/$count"} for r in off)
    sent_off = set().union(*(_sent(r) for r in off)) if off else set()
    for request in on:
        sent = _sent(request)
        assert set(request.pushed_down) <= sent
        assert sent & {"$filter", "$orderby", "/$count"} <= set(request.pushed_down)
        # $count=true goes without pushdown too for a $search: it is not named then.
        assert not set(request.pushed_down) & sent_off
