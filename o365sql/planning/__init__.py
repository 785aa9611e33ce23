"""Planning stage: SQL text (+ parameters) to a plan the execution stage runs.

``prepare`` parses (cached per text); ``plan_query`` binds parameters into a private copy of the
cached, resolved query and plans pushdown versus residual work; ``plan_procedure`` binds an EXEC.
Nothing here does I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from threading import Lock
from typing import Any

from ..catalog import Catalog
from ..exceptions import ProgrammingError
from .bind import bind_in_place, parameter_values
from .parse import Statement, parse_statement
from .plan import ProcedurePlan, QueryPlan
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


def plan_query(statement: Statement, params: Params, catalog: Catalog, *, pushdown: bool = True,
               pagesize: int | None = None) -> QueryPlan:
    """Bind ``params`` and plan a SELECT statement."""
    if statement.kind != "select":
        raise ProgrammingError("plan_query needs a SELECT statement")
    values = parameter_values(statement, params)
    resolved = _resolved_for(statement, catalog).copy()
    bind_in_place(resolved.tree, values)
    return build_plan(resolved, pushdown=pushdown, pagesize=pagesize)


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

