"""Golden SQL -> Graph request files (tests/fixtures/odata/*.sql), in sqlglot's fixture style.

Each blank-line block: line 1 the SQL; line 2 the first Graph request (``GraphRequest.line()``),
``LOCAL`` for catalog-only queries, or ``ERROR <Class>: <message>``; then optional lines:
``# also: <request>`` (further requests, fan-out and other scans, in order; a fan-out's
templates show their run-time slots as ``{Slot}``), ``# header: K: V`` (headers of the first
request, all of them), ``# mode: direct|stream|full|count``, ``# residual: <step>`` (the local
work, all of it, in order) and ``# sign-in: app-only`` (plan as for ``AuthScheme=
AzureServicePrincipal``: no ``/me``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from o365sql import exceptions
from o365sql.catalog import load_catalog
from o365sql.execution.explain import template_line
from o365sql.odata.query import render
from o365sql.planning import plan_query, prepare

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "odata"


def _cases() -> list[tuple[str, list[str]]]:
    cases = []
    for path in sorted(FIXTURES.glob("*.sql")):
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            lines = [line for line in block.strip().splitlines() if line.strip()]
            if lines:
                cases.append((f"{path.stem}: {lines[0]}", lines))
    return cases


CASES = _cases()


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 30


def _mode(plan) -> str:  # type: ignore[no-untyped-def]
    if plan.scans and plan.scans[0].count:
        return "count"
    if plan.streaming:
        return "direct" if plan.direct_columns else "stream"
    return "full"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_golden(case: tuple[str, list[str]]) -> None:
    _, lines = case
    sql, expected = lines[0], lines[1]
    catalog = load_catalog()
    app_only = "# sign-in: app-only" in lines[2:]
    if expected.startswith("ERROR "):
        kind, _, message = expected[len("ERROR "):].partition(": ")
        with pytest.raises(getattr(exceptions, kind)) as info:
            plan_query(prepare(sql), None, catalog, app_only=app_only)
        assert message in str(info.value)
        return
    plan = plan_query(prepare(sql), None, catalog, app_only=app_only)
    requests = []
    for scan in plan.scans:
        requests.extend(render(q) for q in scan.queries)
        if scan.template_query is not None and scan.dependency is not None:
            requests.extend(template_line(t, *scan.dependency.slots)
                            for t in scan.templates or (scan.template_query,))
    first = requests[0].line() if requests else "LOCAL"
    assert first == expected
    extra = [line.split(": ", 1)[1] for line in lines[2:] if line.startswith("# also:")]
    assert [r.line() for r in requests[1:]] == extra
    headers = [line.split(": ", 1)[1] for line in lines[2:] if line.startswith("# header:")]
    actual_headers = [f"{k}: {v}" for k, v in (requests[0].headers if requests else ())]
    assert actual_headers == headers
    modes = [line.split(": ", 1)[1] for line in lines[2:] if line.startswith("# mode:")]
    if modes:
        assert _mode(plan) == modes[0]
    residual = [line.split(": ", 1)[1] for line in lines[2:] if line.startswith("# residual:")]
    assert plan.steps == residual
