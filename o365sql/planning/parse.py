"""Parse stage: SQL text to a classified statement (sqlglot AST, EXPLAIN flag, or EXEC call).

Hands a :class:`Statement` to binding (``bind.py``) and resolution (``resolve.py``). Parsing is
pure and cached per statement text, so ``execute`` in a loop with new parameters re-parses nothing.

Dialect: SQLite's grammar as sqlglot reads it (``read="sqlite"``): ``[bracketed]``, ``"double"``
and back-quoted identifiers, ``LIMIT``/``OFFSET``, ``NULLS FIRST/LAST``; plus CData's
``SELECT TOP n``, read as ``LIMIT n``. Parameters may be written
``:name`` (paramstyle "named", the declared one), ``@name`` (CData's style) or ``?`` (qmark); the
three are normalised here to named placeholders, ``?`` becoming ``:_qmark_<n>`` in text order.

Errors point into the statement as written (line, column, the line and a caret), whatever was
stripped or rewritten before sqlglot saw it. Two checks come first because sqlglot is lenient
about them: the first word must start a statement o365sql knows (``SELEC`` is a syntax error
suggesting SELECT; ``SHOW TABLES`` is refused naming ``sys_tables``), and no comma may end a
list (``SELECT a, FROM t``). sqlglot's own log warnings are silenced for our calls.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import Lock
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot
from sqlglot import Token, TokenType, exp  # the package re-exports Token/TokenType explicitly
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError

from ..exceptions import NotSupportedError, ProgrammingError
from .depth import (
    MAX_NESTING,
    MAX_TREE_NESTING,
    balance,
    deep_recursion,
    nesting,
    simplify,
    tree_nesting,
)
from .dialect import DIALECT

if TYPE_CHECKING:
    from .exec_statement import ExecArgument


@functools.cache
def _read_dialect() -> type[SQLite]:
    """SQLite's grammar plus ``SELECT TOP n`` (CData's SQL accepts it, cdata-data-model.md
    §6.1), which sqlglot's generic parser reads as LIMIT once the tokenizer knows the word.

    Built on first use: deriving a sqlglot dialect rebuilds its tokenizer's tables (~4 ms, a
    large part of a process's first query), and only a statement containing the letters ``top``
    can differ in how the two dialects read it (see ``_parse_uncached``)."""

    class _ReadDialect(SQLite):
        class Tokenizer(SQLite.Tokenizer):
            KEYWORDS: ClassVar[dict[str, TokenType]] = {**SQLite.Tokenizer.KEYWORDS,
                                                         "TOP": TokenType.TOP}

    return _ReadDialect

#: Prefix of the names given to ``?`` placeholders, numbered from 1 in text order.
QMARK_PREFIX = "_qmark_"

_CACHE_SIZE = 256

_EXPLAIN = re.compile(r"^\s*EXPLAIN\b", re.IGNORECASE)
_EXEC = re.compile(r"^\s*EXEC(?:UTE)?\b", re.IGNORECASE)
_REPLICATE = re.compile(r"^\s*REPLICATE\b", re.IGNORECASE)
_LEADING_WORD = re.compile(r"^\s*([A-Za-z]+)")

# Statement kinds o365sql refuses by name.
_REFUSED_KINDS: dict[type, str] = {
    exp.Merge: "MERGE",
    exp.Create: "CREATE",
    exp.Drop: "DROP",
    exp.Alter: "ALTER",
    exp.TruncateTable: "TRUNCATE",
}


@dataclass(frozen=True)
class Statement:
    """A parsed statement, before parameters are bound.

    Attributes:
        kind: ``"select"`` (SELECT, set operations, VALUES-free queries), ``"exec"``,
            ``"write"`` (INSERT, UPDATE, DELETE; the tree in ``write``) or ``"replicate"``
            (``extra["replicate"]`` holds its ``ReplicateSpec``).
        explain: the statement was prefixed with ``EXPLAIN``.
        tree: the sqlglot query (kind ``select``); treat as read-only, ``bind`` copies it.
        procedure: the procedure name (kind ``exec``).
        arguments: the EXEC arguments in written order (kind ``exec``).
        param_names: named parameters in first-use order (``?`` ones are ``_qmark_1``...).
        qmark: the statement used ``?`` placeholders (parameters must be a sequence).
        sql: the statement text as given.
        write: the sqlglot INSERT/UPDATE/DELETE (kind ``write``); read-only like ``tree``.
    """

    kind: str
    sql: str
    explain: bool = False
    tree: exp.Query | None = None
    procedure: str | None = None
    arguments: tuple[ExecArgument, ...] = ()
    param_names: tuple[str, ...] = ()
    qmark: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    write: exp.Insert | exp.Update | exp.Delete | None = None


class _LRU:
    """A small thread-safe LRU cache (statement text -> Statement)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, Statement] = OrderedDict()
        self._lock = Lock()

    def get(self, key: str) -> Statement | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: Statement) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


_cache = _LRU(_CACHE_SIZE)


def parse_statement(sql: str) -> Statement:
    """Parse one SQL statement (cached by its text).

    Raises:
        ProgrammingError: syntax errors (with line, column and a caret excerpt), mixed
            parameter styles, empty statements.
        NotSupportedError: DDL and writes, naming the statement kind.

    Example:
        >>> parse_statement("SELECT Subject FROM Messages WHERE Id = ?").param_names
        ('_qmark_1',)
    """
    if not isinstance(sql, str):
        raise ProgrammingError(f"the statement must be a str, not {type(sql).__name__}")
    cached = _cache.get(sql)
    if cached is None:
        try:
            sql.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ProgrammingError(
                f"the statement is not valid Unicode text: a lone surrogate "
                f"U+{ord(sql[exc.start]):04X} at character {exc.start + 1}") from None
    if cached is not None:
        return cached
    statement = _parse_uncached(sql)
    _cache.put(sql, statement)
    return statement


def _parse_uncached(sql: str) -> Statement:
    text = sql.strip().rstrip(";").rstrip()
    if not text:
        raise ProgrammingError("empty SQL statement")
    # Where ``text`` starts in ``sql``: error positions are reported against what was written.
    offset = len(sql) - len(sql.lstrip())
    explain = False
    match = _EXPLAIN.match(text)
    if match:
        explain = True
        text = text[match.end():]
        offset += match.end()
    # EXEC and REPLICATE are parsed by their own modules, loaded when such a statement comes.
    if _REPLICATE.match(text):
        from .replicate_statement import parse_replicate

        if explain:
            raise NotSupportedError("EXPLAIN applies to SELECT statements, not REPLICATE")
        return Statement(kind="replicate", sql=sql, extra={"replicate": parse_replicate(text)})
    if _EXEC.match(text):
        from .exec_statement import parse_exec

        name, arguments, names, qmark = parse_exec(text, normalise_placeholders)
        if explain:
            raise NotSupportedError("EXPLAIN applies to SELECT statements, not EXEC")
        return Statement(kind="exec", sql=sql, procedure=name, arguments=arguments,
                         param_names=names, qmark=qmark)
    where = _Where(sql, offset)
    rewritten, names, qmark, tokens, edits = _normalise(text, where)
    where = _Where(sql, offset, edits)
    _check_statement_word(tokens, where, explain=explain)
    _check_trailing_commas(tokens, where)
    _check_empty_select(tokens, _Where(sql, offset))
    _check_empty_group_by(tokens, _Where(sql, offset))
    _, at = nesting(tokens)
    if at is not None:
        raise located_error(
            _Where(sql, offset), at.start, len(at.text),
            f"expressions nest more than {MAX_NESTING} levels deep here (parentheses, CASE, "
            f"NOT); the limit is {MAX_NESTING}: write long conditions as flat AND/OR chains "
            "or IN lists, which have no limit")
    try:
        with quiet_sqlglot(), deep_recursion():
            # The one word _read_dialect adds is TOP: a statement without those letters is
            # tokenized, hence parsed, alike by both (the placeholder rewriting adds none).
            trees = sqlglot.parse(rewritten, read=_read_dialect() if "top" in rewritten.lower()
                                  else SQLite)
    except (ParseError, TokenError) as exc:
        # Report against the text the user wrote, not the placeholder-rewritten one.
        raise _syntax_error(rewritten, exc, where) from None
    found = [t for t in trees if t is not None]
    if len(found) != 1:
        raise ProgrammingError(
            f"expected one SQL statement, found {len(found)}; execute them one at a time")
    tree = balance(simplify(found[0]))
    if tree_nesting(tree) > MAX_TREE_NESTING:
        raise ProgrammingError(
            f"the statement nests expressions {tree_nesting(tree)} levels deep (parentheses, "
            f"NOT, CASE, subqueries); the limit is {MAX_TREE_NESTING}: write long conditions "
            "as flat AND/OR chains or IN lists, which have no limit")
    _refuse_unsupported(tree, text)
    _fetch_as_limit(tree)
    _check_keyword_aliases(tree, where)
    if isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
        if explain:
            raise NotSupportedError(
                f"EXPLAIN applies to SELECT statements, not {_kind_name(tree, text)}")
        return Statement(kind="write", sql=sql, write=tree, param_names=names, qmark=qmark)
    if not isinstance(tree, exp.Query):
        raise NotSupportedError(f"{_kind_name(tree, text)} statements are not supported; "
                                "o365sql runs SELECT, EXPLAIN SELECT and EXEC")
    _label_projections(tree, tokens, text)
    return Statement(kind="select", sql=sql, explain=explain, tree=tree, param_names=names,
                     qmark=qmark)


#: Label of an unaliased computed projection: its text as written (SQLite's rule), kept in the
#: node's ``meta`` so that ``string_agg(x, ',')`` is not labelled as sqlglot re-renders it.
LABEL = "o365sql_label"

_PROJECTION_END = {TokenType.FROM, TokenType.WHERE, TokenType.GROUP_BY, TokenType.ORDER_BY,
                   TokenType.LIMIT, TokenType.HAVING, TokenType.UNION, TokenType.EXCEPT,
                   TokenType.INTERSECT, TokenType.WINDOW, TokenType.SEMICOLON}
_OPENERS = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE}
_CLOSERS_T = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE}


def _label_projections(tree: exp.Query, tokens: list[Token], text: str) -> None:
    """Give each projection of the outermost SELECT its text as written (``meta[LABEL]``).

    The projection list is the run of tokens after the first SELECT outside parentheses (past
    DISTINCT/ALL/TOP n) up to FROM (or another clause), split at commas outside parentheses. When
    the pieces do not match the parsed projections one to one, nothing is labelled (sqlglot's
    rendering is the fallback)."""
    select: exp.Expr = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    depth, start = 0, -1
    for index, token in enumerate(tokens):
        if token.token_type in _OPENERS:
            depth += 1
        elif token.token_type in _CLOSERS_T:
            depth -= 1
        elif depth == 0 and token.token_type == TokenType.SELECT:
            start = index + 1
            break
    if start < 0:
        return
    while start < len(tokens) and tokens[start].token_type in (TokenType.DISTINCT, TokenType.ALL):
        start += 1
    if start < len(tokens) and tokens[start].token_type == TokenType.TOP:
        start += 2
    pieces: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[start:]:
        if depth == 0 and token.token_type in _PROJECTION_END:
            break
        if token.token_type in _OPENERS:
            depth += 1
        elif token.token_type in _CLOSERS_T:
            depth -= 1
        if depth == 0 and token.token_type == TokenType.COMMA:
            pieces.append([])
        else:
            pieces[-1].append(token)
    if len(pieces) != len(select.expressions) or not all(pieces):
        return
    for projection, piece in zip(select.expressions, pieces):
        if not isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            projection.meta[LABEL] = " ".join(text[piece[0].start:piece[-1].end + 1].split())


def normalise_placeholders(text: str) -> tuple[str, tuple[str, ...], bool]:
    """Rewrite ``?`` to ``:_qmark_<n>`` and ``@name`` to ``:name`` using sqlglot's tokenizer.

    Placeholder look-alikes in strings and comments are left alone because only tokens are
    rewritten. Returns the new text, the parameter names in first-use order, and whether the
    statement used ``?``.

    Raises:
        ProgrammingError: ``?`` mixed with named parameters; an unterminated quote or comment
            (with its line and column).
    """
    rewritten, names, qmark, _tokens, _edits = _normalise(text, _Where(text, 0))
    return rewritten, names, qmark


def _normalise(text: str, where: _Where
               ) -> tuple[str, tuple[str, ...], bool, list[Token], tuple[_Edit, ...]]:
    """``normalise_placeholders`` plus the tokens of ``text`` and the edits made to it."""
    try:
        with quiet_sqlglot():
            tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
    except TokenError as exc:
        raise _token_error(text, exc, where) from None
    edits: list[_Edit] = []
    names: list[str] = []
    qmarks = 0
    named = False
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            qmarks += 1
            name = f"{QMARK_PREFIX}{qmarks}"
            edits.append((token.start, token.end + 1, f":{name}"))
            names.append(name)
        elif token.token_type in (TokenType.COLON, TokenType.PARAMETER) and index + 1 < len(tokens):
            nxt = tokens[index + 1]
            if _adjacent(token, nxt) and nxt.token_type in _name_tokens() and _placeholder_context(
                    tokens, index):
                named = True
                if token.token_type == TokenType.PARAMETER:
                    edits.append((token.start, token.end + 1, ":"))
                if nxt.text not in names:
                    names.append(nxt.text)
    if qmarks and named:
        raise ProgrammingError("mix of '?' and named parameters in one statement; use one style")
    if not edits:
        return text, tuple(names), bool(qmarks), tokens, ()
    pieces: list[str] = []
    last = 0
    for start, end, replacement in edits:
        pieces.append(text[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(text[last:])
    return "".join(pieces), tuple(names), bool(qmarks), tokens, tuple(edits)


@functools.cache
def _name_tokens() -> frozenset[TokenType]:
    """Tokens that may name a parameter after ``:`` or ``@``: words, keywords included (built
    when a statement has such a parameter: it walks sqlglot's ~700 token types)."""
    return frozenset({TokenType.VAR, TokenType.IDENTIFIER, TokenType.NUMBER} | {
        t for t in TokenType if t.name.isupper() and t.name.isalpha()})


def _adjacent(first: Token, second: Token) -> bool:
    return second.start == first.end + 1


def _placeholder_context(tokens: list[Token], index: int) -> bool:
    """A ``:`` starts a parameter unless it follows a token it could bind to (``a::int``)."""
    if index == 0:
        return True
    previous = tokens[index - 1]
    return not (previous.token_type == TokenType.COLON and previous.end + 1 == tokens[index].start)


def _refuse_unsupported(tree: exp.Expr, text: str) -> None:
    for kind, name in _REFUSED_KINDS.items():
        if isinstance(tree, kind):
            raise NotSupportedError(
                f"{name} statements are not supported: use INSERT, UPDATE and DELETE"
                if name == "MERGE"
                else f"{name} statements are not supported: the tables are defined by the catalog")
    if isinstance(tree, exp.Command):
        raise NotSupportedError(f"{_kind_name(tree, text)} statements are not supported")


def _fetch_as_limit(tree: exp.Expr) -> None:
    """SQL's ``[OFFSET n ROWS] FETCH {FIRST|NEXT} [m] {ROW|ROWS} ONLY`` is ``LIMIT m [OFFSET n]``
    (``m`` defaults to 1), in any query of the statement; the forms that are not a row count
    are refused by name rather than read as one."""
    for node in list(tree.find_all(exp.Fetch)):
        options = node.args.get("limit_options")
        if options is not None and options.args.get("percent"):
            raise NotSupportedError("FETCH FIRST ... PERCENT is not supported: use LIMIT with a "
                                    "row count")
        if options is not None and options.args.get("with_ties"):
            raise NotSupportedError("FETCH FIRST ... WITH TIES is not supported: use RANK() "
                                    "OVER (ORDER BY ...) <= n in a derived table")
        count = node.args.get("count")
        node.replace(exp.Limit(expression=count if count is not None else exp.Literal.number(1)))


def _kind_name(tree: exp.Expr, text: str) -> str:
    match = _LEADING_WORD.match(text)
    return match.group(1).upper() if match else type(tree).__name__.upper()


# -- statement-level checks sqlglot is lenient about -------------------------------------------

# Statements handed on to sqlglot: queries, and the writes/DDL refused by name afterwards.
_QUERY_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN, TokenType.VALUES}
_ROUTED_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER",
                           "TRUNCATE", "REPLACE", "UPSERT"})
_CATALOG_HINT = ("to list the tables use SELECT * FROM sys_tables; for a table's columns "
                 "SELECT * FROM sys_tablecolumns WHERE TableName = 'Messages'")
# Other statements of SQL dialects, refused by name (with what to use instead where there is
# an equivalent) rather than reported as a misspelling.
_OTHER_STATEMENTS: dict[str, str] = {
    "SHOW": _CATALOG_HINT, "DESCRIBE": _CATALOG_HINT, "DESC": _CATALOG_HINT,
    "PRAGMA": _CATALOG_HINT,
    "CALL": "call stored procedures with EXEC name @Param = value",
    **{word: "o365sql has no transactions: each statement reads Graph as it is"
       for word in ("BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END")},
    **{word: "o365sql runs SELECT, EXPLAIN SELECT and EXEC" for word in (
        "USE", "SET", "GRANT", "REVOKE", "ANALYZE", "VACUUM", "ATTACH", "DETACH", "REINDEX",
        "COPY", "COMMENT", "DECLARE", "LOCK", "UNLOCK", "PREPARE", "DEALLOCATE", "REFRESH",
        "CACHE", "UNCACHE", "LOAD", "EXPORT", "IMPORT", "OPTIMIZE", "KILL", "FLUSH", "HELP",
        "LIST", "GET", "PUT", "REMOVE", "SUMMARIZE", "INSTALL")},
}
_STATEMENT_WORDS = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "EXPLAIN", "EXEC",
                    "EXECUTE")
# A comma directly before one of these leaves an empty list item (``SELECT a, FROM t``), which
# sqlglot drops without a word; SQL engines reject it.
_AFTER_LIST_END = {TokenType.FROM, TokenType.R_PAREN, TokenType.WHERE, TokenType.GROUP_BY,
                   TokenType.ORDER_BY, TokenType.HAVING, TokenType.LIMIT, TokenType.OFFSET,
                   TokenType.UNION, TokenType.EXCEPT, TokenType.INTERSECT, TokenType.SEMICOLON,
                   TokenType.COMMA}


def _check_empty_select(tokens: list[Token], where: _Where) -> None:
    """``SELECT FROM t`` (or a bare ``SELECT``) names no column: a syntax error at SELECT.
    ``where`` maps positions of ``tokens`` (the text before placeholders were rewritten)."""
    for index, token in enumerate(tokens):
        if token.token_type != TokenType.SELECT:
            continue
        nxt = index + 1
        while nxt < len(tokens) and tokens[nxt].token_type in (TokenType.DISTINCT, TokenType.ALL):
            nxt += 1
        if nxt == len(tokens) or tokens[nxt].token_type in _AFTER_LIST_END:
            raise located_error(where, token.start, token.end - token.start + 1,
                                "expected a column list after SELECT (e.g. SELECT * or "
                                "SELECT Subject, ReceivedDateTime)")


def _check_empty_group_by(tokens: list[Token], where: _Where) -> None:
    """``GROUP BY`` followed by nothing or by the next clause is a syntax error at GROUP BY
    (sqlglot accepts an empty list there, and SQLite's "incomplete input" names nothing)."""
    for index, token in enumerate(tokens):
        if token.token_type != TokenType.GROUP_BY:
            continue
        nxt = index + 1
        if nxt == len(tokens) or tokens[nxt].token_type in _AFTER_LIST_END:
            raise located_error(where, token.start, token.end - token.start + 1,
                                "expected an expression after 'GROUP BY'")


# Words that start or continue a clause: unquoted, they cannot name an alias (SQLite refuses
# ``SELECT * FROM Users ORDER``; sqlglot would read ORDER as the table's alias).
_CLAUSE_WORDS = frozenset({
    "ORDER", "GROUP", "BY", "WHERE", "HAVING", "LIMIT", "OFFSET", "UNION", "EXCEPT",
    "INTERSECT", "JOIN", "ON", "USING", "SELECT", "FROM", "ASC", "DESC", "AND", "OR", "NOT",
    "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "WINDOW", "AS", "WHEN",
    "THEN", "ELSE", "END", "IN", "IS", "LIKE", "BETWEEN", "DISTINCT"})


def _check_keyword_aliases(tree: exp.Expr, where: _Where) -> None:
    """Refuse an unquoted clause word taken as an alias: a truncated statement."""
    for node in tree.find_all(exp.TableAlias, exp.Alias):
        ident = node.this if isinstance(node, exp.TableAlias) else node.args.get("alias")
        if not isinstance(ident, exp.Identifier) or ident.quoted:
            continue
        word = ident.name.upper()
        if word not in _CLAUSE_WORDS:
            continue
        start = int(ident.meta.get("start", 0))
        width = int(ident.meta.get("end", start + len(word) - 1)) - start + 1
        if word in ("ORDER", "GROUP"):
            detail = f"expected BY after {word} ({word} BY <columns>)"
        else:
            detail = f"unexpected {ident.name!r}; the statement looks cut short"
        raise located_error(where, start, width, detail)


def _check_statement_word(tokens: list[Token], where: _Where, *, explain: bool) -> None:
    """Refuse a statement that does not start like one o365sql runs.

    A known statement of other SQL dialects (``SHOW TABLES``) is NotSupportedError saying what
    to use instead; an unknown first word (``SELEC``) is a syntax error at that word with the
    nearest statement keyword.
    """
    if not tokens:
        raise ProgrammingError("empty SQL statement (only comments)")
    first = tokens[0]
    if first.token_type in _QUERY_STARTS:
        return
    word = first.text.upper()
    if word in _ROUTED_WORDS:
        return  # refused by name once parsed (EXPLAIN INSERT too)
    if word in _OTHER_STATEMENTS and explain:
        raise NotSupportedError(f"EXPLAIN applies to SELECT statements, not {word}")
    if word in _OTHER_STATEMENTS:
        raise NotSupportedError(f"{word} statements are not supported; {_OTHER_STATEMENTS[word]}")
    allowed = ("SELECT", "WITH") if explain else _STATEMENT_WORDS
    hint = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    if hint:
        advice = f"did you mean {hint[0]}?"
    else:
        advice = ("a statement starts with " + ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
                  + (" after EXPLAIN" if explain else ""))
    shown = first.text if first.token_type != TokenType.STRING else f"'{first.text}'"
    raise located_error(where, first.start, first.end - first.start + 1,
                        f"unknown statement {shown!r}; {advice}")


def _check_trailing_commas(tokens: list[Token], where: _Where) -> None:
    """A comma followed by ``FROM``, ``)``, another comma or the end is a syntax error."""
    for index, token in enumerate(tokens):
        if token.token_type != TokenType.COMMA:
            continue
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        if nxt is None:
            raise located_error(where, token.start, 1,
                                "trailing comma at the end of the statement")
        if nxt.token_type in _AFTER_LIST_END:
            raise located_error(where, token.start, 1,
                                f"trailing comma before {nxt.text.upper()!r}: "
                                "a comma must be followed by another item")


# -- error positions -------------------------------------------------------------------------

_Edit = tuple[int, int, str]  # (start, end, replacement) of one placeholder rewrite


@dataclass(frozen=True)
class _Where:
    """Maps positions in the text sqlglot saw back to the statement as the user wrote it.

    ``offset`` is where the parsed text starts in ``sql`` (after leading blanks and EXPLAIN);
    ``edits`` are the placeholder rewrites (``?`` became ``:_qmark_1``), in text order.
    """

    sql: str
    offset: int
    edits: tuple[_Edit, ...] = ()

    def original(self, index: int) -> int:
        """The index in ``sql`` of the character at ``index`` of the rewritten text."""
        shift = 0
        for start, end, replacement in self.edits:
            new_start = start + shift
            if index < new_start:
                break
            if index < new_start + len(replacement):
                return self.offset + start
            shift += len(replacement) - (end - start)
        return self.offset + index - shift


#: Longest statement line echoed whole under an error; longer ones are cut around the caret.
_ECHO_WIDTH = 100


def located_error(where: _Where, index: int, width: int, description: str) -> ProgrammingError:
    """``SQL syntax error at line L, column C: description`` with the line and a caret under
    the characters ``[index, index + width)`` of the rewritten text."""
    position = min(max(where.original(index), 0), len(where.sql))
    sql = where.sql
    line_start = sql.rfind("\n", 0, position) + 1
    line_end = sql.find("\n", position)
    line_text = sql[line_start:line_end if line_end >= 0 else len(sql)].rstrip("\r")
    line_no = sql.count("\n", 0, position) + 1
    column = position - line_start  # 0-based
    width = max(1, min(width, len(line_text) - column))
    shown, caret_at = line_text, column
    if len(line_text) > _ECHO_WIDTH:
        begin = max(0, min(column - _ECHO_WIDTH // 2, len(line_text) - _ECHO_WIDTH))
        shown = ("…" if begin else "") + line_text[begin:begin + _ECHO_WIDTH] + (
            "…" if begin + _ECHO_WIDTH < len(line_text) else "")
        caret_at = column - begin + (1 if begin else 0)
        width = min(width, _ECHO_WIDTH - (column - begin))
    shown = shown.replace("\t", " ")  # one column per tab keeps the caret under its character
    return ProgrammingError(
        f"SQL syntax error at line {line_no}, column {column + 1}: {description}\n"
        f"  {shown}\n  {' ' * caret_at}{'^' * max(width, 1)}")


def _syntax_error(text: str, exc: Exception, where: _Where) -> ProgrammingError:
    """A ProgrammingError that shows where the parser stopped (``text``: what it parsed)."""
    if isinstance(exc, TokenError):
        return _token_error(text, exc, where)
    errors = getattr(exc, "errors", None) or []
    if not errors:
        return ProgrammingError(f"SQL syntax error: {_strip_ansi(str(exc))}")
    first = errors[0]
    line_no = int(first.get("line") or 1)
    col_end = int(first.get("col") or 1)  # 1-based column of the highlight's last character
    highlight = first.get("highlight") or ""
    last_line = highlight.rsplit("\n", 1)[-1]
    lines = text.split("\n")
    line_no = min(max(line_no, 1), len(lines))
    index = sum(len(line) + 1 for line in lines[:line_no - 1]) + max(col_end - len(last_line), 0)
    return located_error(where, index, len(last_line),
                         _describe(first.get("description") or "syntax error", highlight))


# Patterns of sqlglot's error texts, as text: ``re`` compiles (and caches) them when a syntax
# error is reported, not on every process's first statement.
_MISSING_ARG = r"Required keyword: '\w+' missing for"
_TOKEN_DUMP = (r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: \d+, "
               r"start: \d+, end: \d+, comments: \[.*?\]>")
_EXPECTED = r"(?s)^Expect(?:ed|ing) (.+?)(?: but got (.+))?$"


def _token_words(match: re.Match[str]) -> str:
    kind, text = match.group(1), match.group(2)
    return "the end of the statement" if kind == "SENTINEL" else repr(text)


def _describe(description: str, highlight: str) -> str:
    """sqlglot's error description in the user's terms: never its token dumps.

    Example:
        >>> _describe("Expected table name but got <Token token_type: TokenType.SENTINEL, "
        ...           "text: SENTINEL, line: 1, col: 1, start: 0, end: 0, comments: []>", "FROM")
        "expected a table name after 'FROM', found the end of the statement"
        >>> _describe("Expecting )", "(a")
        "expected ')'"
    """
    if description.startswith("Invalid expression / Unexpected token"):
        return f"unexpected {highlight!r}" if highlight else "unexpected end of statement"
    missing = re.match(_MISSING_ARG, description)
    if missing:
        return f"expected an expression after {highlight!r}"
    text = re.sub(_TOKEN_DUMP, _token_words, _strip_ansi(description))
    expected = re.match(_EXPECTED, text)
    if expected:
        what, found = expected.group(1), expected.group(2)
        if what.startswith("TYPE after CAST"):
            return "expected a type name after AS in CAST (e.g. CAST(x AS INTEGER))"
        what = f"'{what}'" if len(what) == 1 else ("a " + what if what.islower() else what)
        after = f" after {highlight.split()[-1]!r}" if highlight.strip() and found else ""
        return f"expected {what}{after}" + (f", found {found}" if found else "")
    return text


def _token_error(text: str, exc: TokenError, where: _Where) -> ProgrammingError:
    """The syntax error for text sqlglot could not split into tokens: an unterminated quote,
    quoted name or comment, shown at its opening character."""
    found = _unterminated(text)
    if found is not None:
        index, what = found
        return located_error(where, index, 1, f"{what} opened here is never closed")
    cause = exc.__cause__ or exc.__context__
    detail = f" ({_strip_ansi(str(cause))})" if cause is not None else ""
    return ProgrammingError(f"SQL syntax error: the statement cannot be read{detail}")


_CLOSERS = {"'": ("'", "string literal"), '"': ('"', "quoted name"), "`": ("`", "quoted name"),
            "[": ("]", "bracketed name")}


def _unterminated(text: str) -> tuple[int, str] | None:
    """Index and kind of the first quote or block comment of ``text`` that is never closed."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _CLOSERS:
            close, what = _CLOSERS[char]
            j = i + 1
            while j < n:
                if text[j] == close:
                    if close != "]" and j + 1 < n and text[j + 1] == close:  # doubled quote
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                return i, what
            i = j + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return i, "comment"
            i = end + 2
        else:
            i += 1
    return None


_ANSI = r"\x1b\[[0-9;]*m"


def _strip_ansi(text: str) -> str:
    return re.sub(_ANSI, "", text)


# -- sqlglot's logger ------------------------------------------------------------------------

_quiet = threading.local()


class _QuietFilter(logging.Filter):
    """Drops sqlglot's log records made inside ``quiet_sqlglot`` (in the same thread): its
    warnings (\"Falling back to parsing as a 'Command'\") are about our own parse calls, whose
    outcome we report as exceptions, and must not leak to the application's logging."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_quiet, "depth", 0)


_SQLGLOT_LOGGER = logging.getLogger("sqlglot")
if not any(isinstance(f, _QuietFilter) for f in _SQLGLOT_LOGGER.filters):
    _SQLGLOT_LOGGER.addFilter(_QuietFilter())


@contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's logger for the calls made in this block (this thread only)."""
    _quiet.depth = getattr(_quiet, "depth", 0) + 1
    try:
        yield
    finally:
        _quiet.depth -= 1
