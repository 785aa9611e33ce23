"""The parse stage reads a statement with plain SQLite unless it holds the letters ``top``, and
derives the dialect that knows ``SELECT TOP n`` only then (issue 12 point 3: deriving it costs a
first query ~4 ms). Both must read every statement without those letters alike: the trees, the
token positions kept in their ``meta`` (error carets and labels use them) and the errors."""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot.dialects.sqlite import SQLite

from o365sql.exceptions import Error
from o365sql.planning.parse import _read_dialect, normalise_placeholders, parse_statement

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Statements that lean on the tokenizer: quoting styles, placeholders, comments, keywords used
# as names, functions, windows, set operations and malformed text.
EXTRA = [
    'SELECT [Subject], "From_EmailAddress_Address", `IsRead` FROM Messages',
    "SELECT Subject FROM Messages WHERE Subject = :p AND IsRead = @q",
    "SELECT Subject FROM Messages WHERE Id IN (?, ?, ?) -- a comment\n LIMIT 3",
    "/* block */ SELECT COUNT(*) AS n, MAX(ReceivedDateTime) FROM Messages GROUP BY IsRead",
    "SELECT Subject FROM Messages UNION ALL SELECT DisplayName FROM Users ORDER BY 1",
    ("SELECT ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY ReceivedDateTime DESC) AS r "
     "FROM Messages"),
    "SELECT CASE WHEN IsRead THEN 'a' ELSE 'b' END, x'00ff', 1e5, -2.5 FROM Messages",
    "SELECT Subject FROM Messages WHERE Subject LIKE '%st%' ESCAPE '\\' LIMIT 2 OFFSET 1",
    "SELECT Subject FROM Messages WHERE ReceivedDateTime > datetime('now', '-30 days')",
    "SELECT 'unterminated FROM Messages",
    "SELECT (Subject FROM Messages",
    "SELECT Subject FROM Messages WHERE",
]


def _statements() -> list[str]:
    found = []
    for path in sorted((FIXTURES / "odata").glob("*.sql")):
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            lines = [line for line in block.strip().splitlines() if line.strip()]
            if lines:
                found.append(lines[0])
    return found + EXTRA


def _reading(text: str, dialect: type[SQLite]) -> object:
    try:
        trees = sqlglot.parse(text, read=dialect)
    except Exception as exc:  # noqa: BLE001 - the error is the reading to compare
        return (type(exc).__name__, str(exc))
    return [(tree, tree.sql(dialect="sqlite"), [(type(n).__name__, n.meta) for n in tree.walk()])
            if tree is not None else None for tree in trees]


def test_statements_without_top_read_alike_by_both_dialects() -> None:
    compared = 0
    for sql in _statements():
        try:
            text = normalise_placeholders(sql)[0]
        except Error:
            text = sql  # refused before sqlglot sees it (a mix of styles): compare it raw
        if "top" in text.lower():
            continue
        assert _reading(text, SQLite) == _reading(text, _read_dialect()), sql
        compared += 1
    assert compared >= 140, compared


def test_top_is_read_as_a_limit_wherever_it_is_written() -> None:
    for sql in ("SELECT TOP 3 Subject FROM Messages", "select top 3 Subject from Messages",
                "SELECT DISTINCT TOP 3 Subject FROM Messages"):
        tree = parse_statement(sql).tree
        assert tree is not None and tree.args["limit"].expression.name == "3", sql
    # The letters anywhere else choose the TOP dialect too, which reads them as before.
    tree = parse_statement("SELECT Subject FROM Messages WHERE Subject = 'stop'").tree
    assert tree is not None and tree.sql(dialect="sqlite").endswith("= 'stop'")
