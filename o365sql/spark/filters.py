"""Spark's pushed filters as o365sql WHERE conjuncts (with parameters).

Stage: pure. Spark 4.1+ hands a Python data source the conjuncts of a DataFrame filter it could
push (``pyspark.sql.datasource.Filter``: ``EqualTo``, ``GreaterThan`` ..., ``In``, ``IsNull``,
``Not``, ``StringStartsWith`` ...; each names a column by a path and carries a Python value).
Each one on a column the result shows unchanged becomes a SQL conjunct the driver's planner
plans like any WHERE clause, so Graph receives what ``o365sql.connect`` would send for the
same SQL (``$filter`` where Graph is exact, local re-checks where it is not).

The source still hands every filter back to Spark to evaluate: o365sql's answer for a conjunct
is never narrower than Spark's (its ``LIKE`` ignores case where Spark's ``StartsWith`` does
not), so Spark's re-check makes the DataFrame exactly Spark's answer while Graph sends only the
narrowed rows. Filters o365sql does not take (a null-safe equality, a pattern holding a LIKE
wildcard) are simply left to Spark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from .statement import ResultColumn, column

_COMPARISONS: dict[str, type[exp.Expr]] = {
    "EqualTo": exp.EQ, "GreaterThan": exp.GT, "GreaterThanOrEqual": exp.GTE,
    "LessThan": exp.LT, "LessThanOrEqual": exp.LTE,
}
_PATTERNS = {"StringStartsWith": "{}%", "StringEndsWith": "%{}", "StringContains": "%{}%"}


@dataclass(frozen=True)
class PushedFilter:
    """One translated filter: its SQL (named parameters) and their values."""

    sql: str
    values: tuple[tuple[str, Any], ...]

    def conjunct(self) -> exp.Expr:
        from ..planning.dialect import DIALECT

        return exp.maybe_parse(self.sql, dialect=DIALECT)


def translate(filters: Sequence[Any], columns: Sequence[ResultColumn]) -> list[PushedFilter]:
    """The filters o365sql can take, translated (the others are skipped)."""
    by_name = {c.name.lower(): c.source for c in columns if c.source is not None}
    found: list[PushedFilter] = []
    for spark_filter in filters:
        values: dict[str, Any] = {}
        node = _node(spark_filter, by_name, values, f"o365sql_f{len(found)}")
        if node is not None:
            from ..planning.dialect import DIALECT

            found.append(PushedFilter(node.sql(dialect=DIALECT), tuple(values.items())))
    return found


def _node(spark_filter: Any, by_name: Mapping[str, str], values: dict[str, Any],
          prefix: str) -> exp.Expr | None:
    kind = type(spark_filter).__name__
    if kind == "Not":
        inner = _node(spark_filter.child, by_name, values, prefix)
        return None if inner is None else exp.Not(this=exp.Paren(this=inner))
    path = getattr(spark_filter, "attribute", None)
    if not isinstance(path, tuple) or len(path) != 1:
        return None  # a nested field: the result has none
    name = by_name.get(str(path[0]).lower())
    if name is None:
        return None
    target = column(name)
    if kind == "IsNull":
        return exp.Is(this=target, expression=exp.Null())
    if kind == "IsNotNull":
        return exp.Not(this=exp.Is(this=target, expression=exp.Null()))
    value = getattr(spark_filter, "value", None)
    if kind in _COMPARISONS:
        if not _usable(value):
            return None
        return _COMPARISONS[kind](this=target, expression=_bind(values, prefix, value))
    if kind == "In":
        items = tuple(value or ())
        if not items or not all(_usable(v) for v in items):
            return None
        return exp.In(this=target, expressions=[_bind(values, f"{prefix}_{i}", v)
                                                for i, v in enumerate(items)])
    if kind in _PATTERNS and isinstance(value, str) and value and \
            not any(ch in value for ch in "%_\\"):
        return exp.Like(this=target,
                        expression=_bind(values, prefix, _PATTERNS[kind].format(value)))
    return None


def _usable(value: Any) -> bool:
    """A scalar the driver binds as a parameter (not None, not an array or struct)."""
    return value is not None and not isinstance(value, (list, tuple, dict, set))


def _bind(values: dict[str, Any], name: str, value: Any) -> exp.Placeholder:
    values[name] = value
    return exp.Placeholder(this=name)
