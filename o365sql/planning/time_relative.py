"""Plan stage, first step after binding: time-relative expressions become the instants they
name, once per statement.

``datetime('now', '-30 days')``, ``date('now')``, ``julianday('now')``, ``strftime(f, 'now')``,
``CURRENT_TIMESTAMP``, ``CURRENT_DATE``, ``CURRENT_TIME`` and ANSI interval arithmetic
(``CURRENT_TIMESTAMP - INTERVAL '30' DAY``, which SQLite's grammar lacks: it becomes
``datetime(x, '-30 days')``) all read one clock reading taken when the statement is planned,
so every row and every request of the statement sees the same "now". Where such an expression
is constant (no column, parameter or subquery in it) and compared with something, it is
evaluated here, by SQLite's own date functions, into a literal: pushdown then sends it to
Graph (``receivedDateTime ge 2026-11-07T01:25:21Z``), so "mail of the last 30 days" reads 30
days of mail, and EXPLAIN shows the literal used. Hands the tree to ``typed_text.py``.
"""

from __future__ import annotations

import datetime as _dt
import re

from sqlglot import exp

from ..exceptions import NotSupportedError
from .dialect import DIALECT

#: SQLite's date and time functions (https://sqlite.org/lang_datefunc.html) as sqlglot reads
#: them: anonymous calls by name, the others by class.
_DATE_FUNCTIONS = frozenset({"DATETIME", "DATE", "TIME", "JULIANDAY", "UNIXEPOCH", "STRFTIME",
                             "TIMEDIFF"})
_DATE_CLASSES = (exp.Date, exp.TsOrDsToTimestamp, exp.TsOrDsToDate, exp.TimeToStr)
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
                exp.NullSafeNEQ)
_UNITS = {"SECOND": ("seconds", 1), "MINUTE": ("minutes", 1), "HOUR": ("hours", 1),
          "DAY": ("days", 1), "WEEK": ("days", 7), "MONTH": ("months", 1),
          "YEAR": ("years", 1)}
_INTERVAL_TEXT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([A-Za-z]+?)s?\s*$")


def now_text(now: _dt.datetime) -> str:
    """The clock reading as SQLite's date functions read ``'now'``: UTC with milliseconds."""
    moment = now.astimezone(_dt.UTC)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}")


def fix_time(tree: exp.Expr, now: _dt.datetime) -> exp.Expr:
    """Replace, in place, every reading of the clock by ``now`` and interval arithmetic by
    SQLite's modifiers, then fold constant compared expressions into literals. Returns the
    (maybe new) root."""
    reading = now_text(now)
    for node in list(tree.walk()):
        replacement = _clock(node, reading)
        if replacement is not None:
            if node is tree:
                tree = replacement
            else:
                node.replace(replacement)
    for node in list(tree.find_all(exp.Add, exp.Sub)):
        replacement = _interval(node)
        if replacement is not None:
            if node is tree:
                tree = replacement
            else:
                node.replace(replacement)
    _fold(tree)
    return tree


def _clock(node: exp.Expr, reading: str) -> exp.Expr | None:
    if isinstance(node, exp.CurrentTimestamp):
        return exp.Anonymous(this="DATETIME", expressions=[exp.Literal.string(reading)])
    if isinstance(node, exp.CurrentDate):
        return exp.Anonymous(this="DATE", expressions=[exp.Literal.string(reading)])
    if isinstance(node, exp.CurrentTime):
        return exp.Anonymous(this="TIME", expressions=[exp.Literal.string(reading)])
    if isinstance(node, exp.Literal) and node.is_string and node.this.strip().lower() == "now" \
            and _is_date_function(node.parent):
        return exp.Literal.string(reading)
    return None


def _is_date_function(node: exp.Expr | None) -> bool:
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper() in _DATE_FUNCTIONS
    return isinstance(node, _DATE_CLASSES)


def _interval(node: exp.Expr) -> exp.Expr | None:
    """``x ± INTERVAL 'n' UNIT`` (or ``INTERVAL 'n unit'``) as ``datetime(x, '±n units')``
    (``date(...)`` when x is a date)."""
    left, right = node.this, node.expression
    if isinstance(left, exp.Interval) and isinstance(node, exp.Add):
        left, right = right, left
    if not isinstance(right, exp.Interval):
        return None
    amount_text = right.this.name if isinstance(right.this, exp.Expr) else str(right.this)
    unit = right.args.get("unit")
    unit_text = unit.name if isinstance(unit, exp.Expr) else ""
    if not unit_text:
        match = _INTERVAL_TEXT.match(amount_text)
        if match is None:
            raise NotSupportedError(f"cannot read the interval {right.sql()}; write "
                                    "INTERVAL '30' DAY or INTERVAL '30 days'")
        amount_text, unit_text = match.group(1), match.group(2)
    unit_name = unit_text.upper().rstrip("S") if unit_text.upper() != "S" else "SECOND"
    if unit_name not in _UNITS:
        raise NotSupportedError(f"the interval unit {unit_text!r} is not supported; use "
                                f"{', '.join(_UNITS)}")
    modifier, factor = _UNITS[unit_name]
    try:
        amount = float(amount_text) * factor
    except ValueError:
        raise NotSupportedError(f"cannot read the interval {right.sql()}") from None
    if isinstance(node, exp.Sub):
        amount = -amount
    number = int(amount) if amount.is_integer() else amount
    function = "DATE" if _is_date(left) and modifier not in ("seconds", "minutes", "hours") \
        else "DATETIME"
    return exp.Anonymous(this=function, expressions=[
        left, exp.Literal.string(f"{number:+} {modifier}")])


def _is_date(node: exp.Expr) -> bool:
    return isinstance(node, (exp.CurrentDate, exp.Date)) or (
        isinstance(node, exp.Anonymous) and str(node.this).upper() == "DATE")


def _fold(tree: exp.Expr) -> None:
    """Evaluate constant date expressions that are compared with something."""
    operands: list[exp.Expr] = []
    for node in tree.walk():
        if isinstance(node, _COMPARISONS):
            operands += [node.this, node.expression]
        elif isinstance(node, exp.In):
            operands += list(node.expressions)
        elif isinstance(node, exp.Between):
            operands += [node.args["low"], node.args["high"]]
    if not any(_foldable(o) for o in operands):
        return
    import sqlite3  # here: a statement without time-relative expressions needs no SQLite

    db = sqlite3.connect(":memory:")
    try:
        for operand in operands:
            if _foldable(operand):
                try:
                    (value,) = db.execute(f"SELECT {operand.sql(dialect=DIALECT)}").fetchone()
                except sqlite3.Error:
                    continue  # left to the local engine, which reports it
                operand.replace(_literal(value))
    finally:
        db.close()


def _foldable(node: exp.Expr) -> bool:
    if node.find(exp.Column, exp.Placeholder, exp.Subquery, exp.Select, exp.AggFunc,
                 exp.Window, exp.Star):
        return False
    return any(_is_date_function(n) for n in node.walk())


def _literal(value: object) -> exp.Expr:
    if value is None:
        return exp.null()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    return exp.Literal.string(str(value))
