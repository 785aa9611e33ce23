"""Error messages of the parse and resolve stages (issue 3 point 9): a syntax error shows where
it is; an unknown table, alias or column names what is at fault and suggests the nearest name.
Pure functions: no Graph, no emulator."""

from __future__ import annotations

import logging
import re

import pytest

from o365sql.catalog import load_catalog
from o365sql.exceptions import NotSupportedError, ProgrammingError
from o365sql.planning.parse import parse_statement
from o365sql.planning.resolve import resolve


def resolve_error(sql: str) -> str:
    catalog = load_catalog()
    statement = parse_statement(sql)
    assert statement.tree is not None
    with pytest.raises(ProgrammingError) as info:
        resolve(statement.tree, catalog)
    return str(info.value)


def syntax_error(sql: str) -> str:
    with pytest.raises(ProgrammingError) as info:
        parse_statement(sql)
    return str(info.value)


def caret_column(message: str) -> int:
    """The 1-based column the caret line points at (the echo and caret are indented by 2)."""
    caret_line = message.splitlines()[-1]
    return len(caret_line) - len(caret_line.lstrip(" ")) - 2 + 1


# -- unknown qualifiers and columns ---------------------------------------------------------

def test_unknown_qualifier_is_named_with_the_known_aliases() -> None:
    text = resolve_error("SELECT x.Subject FROM Messages m")
    assert "unknown table or alias 'x'" in text
    assert "m (Messages)" in text
    assert "unknown column" not in text


def test_unknown_qualifier_lists_every_table_in_reach() -> None:
    text = resolve_error("SELECT mm.Subject FROM Messages m JOIN Users u ON u.Id = m.Id")
    assert "'mm'" in text and "m (Messages)" in text and "u (Users)" in text
    assert "did you mean m.Subject?" in text


def test_table_name_hidden_by_its_alias_says_to_use_the_alias() -> None:
    text = resolve_error("SELECT Messages.Subject FROM Messages m")
    assert "write m.Subject" in text


def test_unknown_qualifier_in_a_correlated_subquery() -> None:
    text = resolve_error("SELECT m.Subject FROM Messages m "
                         "WHERE EXISTS (SELECT 1 FROM Events e WHERE q.Id = m.Id)")
    assert "'q'" in text and "e (Events)" in text and "m (Messages)" in text


def test_misspelled_qualified_column_names_the_table_and_suggests() -> None:
    text = resolve_error("SELECT m.Subjet FROM Messages m")
    assert text.startswith("unknown column 'Subjet' in Messages (alias m)")
    assert "did you mean m.Subject?" in text


def test_qualified_column_without_a_near_name_points_to_sys_tablecolumns() -> None:
    text = resolve_error("SELECT Messages.Qqqqqq FROM Messages")
    assert "unknown column 'Qqqqqq' in Messages;" in text and "sys_tablecolumns" in text


def test_unknown_column_of_a_subquery_lists_its_columns() -> None:
    text = resolve_error("WITH c AS (SELECT Subject FROM Messages) SELECT c.Sender FROM c")
    assert "unknown column 'Sender' in c (a WITH query)" in text and "Subject" in text
    text = resolve_error("SELECT a.Subjec FROM (SELECT Subject FROM Messages) a")
    assert "did you mean a.Subject?" in text


def test_unqualified_unknown_column_keeps_the_users_spelling() -> None:
    text = resolve_error("SELECT SubJet FROM Messages")
    assert "unknown column 'SubJet' in Messages; did you mean Messages.Subject?" in text


def test_star_of_an_unknown_qualifier_lists_the_tables() -> None:
    text = resolve_error("SELECT x.* FROM Messages m")
    assert "x.*" in text and "m (Messages)" in text


def test_valid_qualifiers_still_resolve() -> None:
    resolved = resolve(parse_statement(
        "SELECT m.Subject, MESSAGES2.Id FROM Messages m JOIN Messages messages2 "
        "ON messages2.Id = M.Id").tree, load_catalog())  # type: ignore[arg-type]
    assert resolved.output_names == ["Subject", "Id"]


# -- syntax errors ---------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "suggestion"), [
    ("SELEC Subject FROM Messages", "SELECT"),
    ("selct Subject FROM Messages", "SELECT"),
    ("EXPLIAN SELECT Subject FROM Messages", "EXPLAIN"),
    ("EXECT GetOAuthAuthorizationURL", "EXEC"),
])
def test_misspelled_first_keyword_is_a_syntax_error_at_column_1(sql: str, suggestion: str
                                                                ) -> None:
    text = syntax_error(sql)
    assert "line 1, column 1:" in text
    assert f"did you mean {suggestion}?" in text
    assert caret_column(text) == 1
    assert sql in text  # the whole line is echoed


def test_statement_not_starting_with_a_keyword_says_how_one_starts() -> None:
    text = syntax_error("FROM Messages SELECT Subject")
    assert "line 1, column 1" in text and "SELECT" in text and "EXEC" in text


def test_misspelled_keyword_after_explain_and_after_a_comment_is_located() -> None:
    text = syntax_error("EXPLAIN SELEC x")
    assert "line 1, column 9" in text and "did you mean SELECT?" in text
    text = syntax_error("-- my query\nSELEC x")
    assert "line 2, column 1" in text and caret_column(text) == 1


@pytest.mark.parametrize(("sql", "line", "column", "what"), [
    ("SELECT 'abc FROM Messages", 1, 8, "string literal"),
    ("SELECT Subject FROM Messages\nWHERE Subject = 'it''s open", 2, 17, "string literal"),
    ('SELECT "Subject FROM Messages', 1, 8, "quoted name"),
    ("SELECT [Subject FROM Messages", 1, 8, "bracketed name"),
    ("SELECT Subject FROM Messages /* note", 1, 30, "comment"),
])
def test_unterminated_quote_is_shown_at_its_opening(sql: str, line: int, column: int,
                                                    what: str) -> None:
    text = syntax_error(sql)
    assert f"line {line}, column {column}: {what} opened here is never closed" in text
    assert sql.splitlines()[line - 1] in text  # echoed whole, not truncated
    assert caret_column(text) == column


def test_trailing_comma_in_the_select_list_is_a_syntax_error() -> None:
    text = syntax_error("SELECT Subject, FROM Messages")
    assert "line 1, column 15" in text and "trailing comma" in text and "'FROM'" in text
    assert caret_column(text) == 15


@pytest.mark.parametrize("sql", [
    "SELECT Subject FROM Messages WHERE Id IN ('a', 'b',)",
    "SELECT COUNT(Id,) FROM Messages",
    "SELECT Subject,, Id FROM Messages",
    "SELECT Subject FROM Messages ORDER BY Subject, LIMIT 3",
    "SELECT Subject,",
])
def test_other_trailing_commas_are_syntax_errors(sql: str) -> None:
    assert "trailing comma" in syntax_error(sql)


def test_positions_are_in_the_statement_as_written_despite_placeholders() -> None:
    # '?' is rewritten to ':_qmark_1' internally; the column must not shift.
    sql = "\n  SELECT ?, Subject FROM Messages WHERE Id = ? AND"
    text = syntax_error(sql)
    assert "line 2, column 48" in text
    assert "  SELECT ?, Subject FROM Messages WHERE Id = ? AND" in text
    assert caret_column(text) == 48


def test_sqlglot_wording_is_translated() -> None:
    text = syntax_error("SELECT Subject\nFROM Messages WHERE")
    assert "line 2, column 15: expected an expression after 'WHERE'" in text
    assert "<class" not in text and "Required keyword" not in text


def test_a_long_line_is_echoed_around_the_error() -> None:
    sql = "SELECT " + ", ".join(f"c{i}" for i in range(80)) + " FROM Messages WHERE ("
    text = syntax_error(sql)
    echo, caret = text.splitlines()[-2:]
    assert len(echo) < 110 and echo.rstrip().endswith("WHERE (")
    assert caret.rstrip().endswith("^") and len(caret.rstrip()) == len(echo.rstrip())


# -- statements of other dialects ------------------------------------------------------------

@pytest.mark.parametrize("sql", ["SHOW TABLES", "DESCRIBE Messages", "show columns from Messages"])
def test_show_and_describe_say_what_to_use_instead(sql: str) -> None:
    with pytest.raises(NotSupportedError) as info:
        parse_statement(sql)
    assert "SELECT * FROM sys_tables" in str(info.value)
    assert "sys_tablecolumns" in str(info.value)


def test_no_sqlglot_warning_leaks_from_our_parse_calls(caplog: pytest.LogCaptureFixture,
                                                      capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    for sql in ("SHOW TABLES", "SELECT Subject FROM Messages LIMIT 5", "VALUES (1)"):
        with pytest.raises((NotSupportedError, ProgrammingError)) if sql != (
                "SELECT Subject FROM Messages LIMIT 5") else _no_error():
            parse_statement(sql + " ")  # a fresh text: no cache hit
    assert [r for r in caplog.records if r.name.startswith("sqlglot")] == []
    assert "Falling back" not in capfd.readouterr().err


def test_sqlglot_logging_outside_our_calls_is_untouched(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    logging.getLogger("sqlglot").warning("a warning of the application's own sqlglot use")
    assert any("application's own" in r.getMessage() for r in caplog.records)


class _no_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


def test_messages_carry_no_ansi_escapes() -> None:
    for sql in ("SELEC x", "SELECT 'x", "SELECT a FROM t WHERE (", "SELECT a, FROM t"):
        assert not re.search(r"\x1b\[", syntax_error(sql))


@pytest.mark.parametrize("sql", [
    "SELECT Subject FROM Messages GROUP BY",
    "SELECT Subject FROM Messages GROUP BY LIMIT 3",
    "SELECT Subject FROM Messages GROUP BY HAVING COUNT(*) > 1",
    "SELECT Subject FROM Messages GROUP BY ORDER BY Subject",
    "SELECT s FROM (SELECT Subject AS s FROM Messages GROUP BY) AS x",
])
def test_an_empty_group_by_is_a_syntax_error_at_group_by(sql: str) -> None:
    # sqlglot accepts ``GROUP BY`` with no list; SQLite then fails with "incomplete input".
    text = syntax_error(sql)
    assert "expected an expression after 'GROUP BY'" in text
    assert caret_column(text) == sql.index("GROUP BY") + 1


def test_a_cast_without_a_type_names_the_type_not_sqlglots_token() -> None:
    text = syntax_error("SELECT CAST(Subject AS) FROM Messages")
    assert "expected a type name after AS in CAST" in text
    assert "TYPE" not in text
