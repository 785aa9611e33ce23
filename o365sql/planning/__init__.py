"""Planning stage: SQL text (+ parameters) to a plan the execution stage runs.

``prepare`` parses (cached per text); ``plan_query`` binds parameters into a private copy of the
cached, resolved query and plans pushdown versus residual work; ``plan_procedure`` binds an EXEC.
Nothing here does I/O.
"""

from __future__ import annotations

import datetime as _dt
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from threading import Lock
from typing import Any

from ..catalog import Catalog
from ..exceptions import ProgrammingError
from .bind import bind_in_place, fold_booleans, parameter_values
from .depth import deep_recursion
from .parse import Statement, parse_statement
from .plan import ProcedurePlan, QueryPlan
from .plan_cache import PlanCache
from .planner import build_plan
from .resolve import Resolved, resolve

__all__ = ["ProcedurePlan", "QueryPlan", "Statement", "plan_procedure", "plan_query", "prepare"]

Params = Sequence[Any] | Mapping[str, Any] | None

_RESOLVED_CACHE_SIZE = 256
_resolved: OrderedDict[tuple[int, str], tuple[Catalog, Resolved]] = OrderedDict()
_lock = Lock()


def prepare(sql: str) -> Statement:
    """Parse (cached) one statement."""
    return parse_statement(sql)


def _resolved_for(statement: Statement, catalog: Catalog) -> Resolved:
    key = (id(catalog), statement.sql)
    with _lock:
        hit = _resolved.get(key)
        if hit is not None and hit[0] is catalog:
            _resolved.move_to_end(key)
            return hit[1]
    assert statement.tree is not None
    result = resolve(statement.tree, catalog)
    with _lock:
        _resolved[key] = (catalog, result)
        _resolved.move_to_end(key)
        while len(_resolved) > _RESOLVED_CACHE_SIZE:
            _resolved.popitem(last=False)
    return result


#: Plans of statements executed before (``plan_cache.py``); shared by every connection (the
#: key holds the catalog and the settings that shape a plan).
PLANS = PlanCache()


def plan_query(statement: Statement, params: Params, catalog: Catalog, *, pushdown: bool = True,
               pagesize: int | None = None, max_rows: int | None = None,
               app_only: bool = False) -> QueryPlan:
    """Bind ``params`` and plan a SELECT statement (``max_rows``: the MaxRows property;
    ``app_only``: the connection signs in as an application, so nothing may read ``/me``).
    A statement seen before with values of the same classes re-uses its plan with the new
    values put in (``plan_cache.py``)."""
    if statement.kind != "select":
        raise ProgrammingError("plan_query needs a SELECT statement")
    values = parameter_values(statement, params)
    def build() -> QueryPlan:
        return _plan_uncached(statement, values, catalog, pushdown=pushdown, pagesize=pagesize,
                              max_rows=max_rows, app_only=app_only)

    counted, clock = _facts(statement)
    if clock:
        return build()  # "now" is read when the statement is planned (time_relative.py)
    settings = (pushdown, pagesize, max_rows, app_only, statement.explain)
    plan: QueryPlan = PLANS.plan(statement.sql, settings, values, catalog, counted, build)
    return plan


def _facts(statement: Statement) -> tuple[frozenset[str], bool]:
    """What the plan cache must know of a statement: the parameters bound to LIMIT/OFFSET/
    FETCH (their values shape the plan: ``$top``), and whether it reads the clock (``'now'``,
    ``CURRENT_TIMESTAMP`` ...: each execution is planned, at its own "now")."""
    cached = _statement_facts.get(statement.sql)
    if cached is not None:
        return cached
    from sqlglot import exp

    names: set[str] = set()
    clock = False
    if statement.tree is not None:
        for node in statement.tree.find_all(exp.Placeholder):
            if isinstance(node.parent, (exp.Limit, exp.Offset, exp.Fetch)):
                names.add(node.name)
        clock = any(
            isinstance(node, (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime,
                              exp.CurrentDatetime)) or
            (isinstance(node, exp.Literal) and node.is_string and
             node.this.strip().lower() == "now")
            for node in statement.tree.walk())
    result = (frozenset(names), clock)
    if len(_statement_facts) > _RESOLVED_CACHE_SIZE:
        _statement_facts.clear()
    _statement_facts[statement.sql] = result
    return result


_statement_facts: dict[str, tuple[frozenset[str], bool]] = {}


def _plan_uncached(statement: Statement, values: dict[str, Any], catalog: Catalog, *,
                   pushdown: bool, pagesize: int | None, max_rows: int | None,
                   app_only: bool) -> QueryPlan:
    with deep_recursion():  # statements nest up to MAX_NESTING levels (depth.py)
        resolved = _resolved_for(statement, catalog).copy()
        typed = _parameter_projections(resolved.tree, values)
        bind_in_place(resolved.tree, values)
        fold_booleans(resolved.tree)
        plan = build_plan(resolved, pushdown=pushdown, pagesize=pagesize, max_rows=max_rows,
                          app_only=app_only)
    for index, sql_type in typed.items():
        if index < len(plan.output):
            plan.output[index] = replace(plan.output[index], sql_type=sql_type, convert=sql_type)
    return plan


_TEMPORAL = ((_dt.datetime, "DATETIME"), (_dt.date, "DATE"), (_dt.time, "TIME"))


def _parameter_projections(tree: Any, values: dict[str, Any]) -> dict[int, str]:
    """Result columns that are a bare datetime/date/time parameter (``SELECT :d``): bound as
    text for SQLite, they must come back as the Python type that went in."""
    from sqlglot import exp

    typed: dict[int, str] = {}
    for index, projection in enumerate(getattr(tree, "selects", [])):
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(node, exp.Placeholder) and node.name in values:
            value = values[node.name]
            for kind, sql_type in _TEMPORAL:
                if isinstance(value, kind):
                    typed[index] = sql_type
                    break
    return typed


def plan_procedure(statement: Statement, params: Params) -> ProcedurePlan:
    """Bind the arguments of an EXEC statement to Python values."""
    from sqlglot import exp

    from .pushdown import literal_value

    values = parameter_values(statement, params)
    arguments: dict[str, Any] = {}
    for argument in statement.arguments:
        node = argument.value
        if isinstance(node, exp.Placeholder):
            arguments[argument.name] = values[node.name]
            continue
        ok, value = literal_value(node)
        if not ok:
            raise ProgrammingError(
                f"EXEC {statement.procedure}: @{argument.name} must be a literal or a parameter, "
                f"not {node.sql()}")
        arguments[argument.name] = value
    assert statement.procedure is not None
    return ProcedurePlan(name=statement.procedure, arguments=arguments)

