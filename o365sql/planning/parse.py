"""Parse stage: SQL text to a classified statement (sqlglot AST, EXPLAIN flag, or EXEC call).

Hands a :class:`Statement` to binding (``bind.py``) and resolution (``resolve.py``). Parsing is
pure and cached per statement text, so ``execute`` in a loop with new parameters re-parses nothing.

Dialect: SQLite's grammar as sqlglot reads it (``read="sqlite"``): ``[bracketed]``, ``"double"``
and back-quoted identifiers, ``LIMIT``/``OFFSET``, ``NULLS FIRST/LAST``; plus CData's
``SELECT TOP n``, read as ``LIMIT n``. Parameters may be written
``:name`` (paramstyle "named", the declared one), ``@name`` (CData's style) or ``?`` (qmark); the
three are normalised here to named placeholders, ``?`` becoming ``:_qmark_<n>`` in text order.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from ..exceptions import NotSupportedError, ProgrammingError

#: The sqlglot dialect the residual SQL is written in (and statements are read with, plus TOP).
DIALECT = "sqlite"


class _ReadDialect(SQLite):
    """SQLite's grammar plus ``SELECT TOP n`` (CData's SQL accepts it, cdata-data-model.md
    §6.1), which sqlglot's generic parser reads as LIMIT once the tokenizer knows the word."""

    class Tokenizer(SQLite.Tokenizer):
        KEYWORDS: ClassVar[dict[str, TokenType]] = {**SQLite.Tokenizer.KEYWORDS,
                                                     "TOP": TokenType.TOP}

#: Prefix of the names given to ``?`` placeholders, numbered from 1 in text order.
QMARK_PREFIX = "_qmark_"

_CACHE_SIZE = 256

_EXPLAIN = re.compile(r"^\s*EXPLAIN\b", re.IGNORECASE)
_EXEC = re.compile(r"^\s*EXEC(?:UTE)?\b", re.IGNORECASE)
_LEADING_WORD = re.compile(r"^\s*([A-Za-z]+)")

# Statement kinds o365sql refuses by name (writes come in a later issue).
_REFUSED_KINDS: dict[type, str] = {
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
    exp.Merge: "MERGE",
    exp.Create: "CREATE",
    exp.Drop: "DROP",
    exp.Alter: "ALTER",
    exp.TruncateTable: "TRUNCATE",
}


@dataclass(frozen=True)
class ExecArgument:
    """One ``@Name = value`` of an EXEC statement; ``value`` is an unbound sqlglot expression."""

    name: str
    value: exp.Expr


@dataclass(frozen=True)
class Statement:
    """A parsed statement, before parameters are bound.

    Attributes:
        kind: ``"select"`` (SELECT, set operations, VALUES-free queries) or ``"exec"``.
        explain: the statement was prefixed with ``EXPLAIN``.
        tree: the sqlglot query (kind ``select``); treat as read-only, ``bind`` copies it.
        procedure: the procedure name (kind ``exec``).
        arguments: the EXEC arguments in written order (kind ``exec``).
        param_names: named parameters in first-use order (``?`` ones are ``_qmark_1``...).
        qmark: the statement used ``?`` placeholders (parameters must be a sequence).
        sql: the statement text as given.
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
    if cached is not None:
        return cached
    statement = _parse_uncached(sql)
    _cache.put(sql, statement)
    return statement


def _parse_uncached(sql: str) -> Statement:
    text = sql.strip().rstrip(";").rstrip()
    if not text:
        raise ProgrammingError("empty SQL statement")
    explain = False
    match = _EXPLAIN.match(text)
    if match:
        explain = True
        text = text[match.end():]
        sql_offset = len(sql) - len(sql.lstrip()) + match.end()
    else:
        sql_offset = 0
    if _EXEC.match(text):
        from .exec_statement import parse_exec  # local import: EXEC is the rare path

        name, arguments, names, qmark = parse_exec(text)
        if explain:
            raise NotSupportedError("EXPLAIN applies to SELECT statements, not EXEC")
        return Statement(kind="exec", sql=sql, procedure=name, arguments=arguments,
                         param_names=names, qmark=qmark)
    rewritten, names, qmark = normalise_placeholders(text)
    try:
        trees = sqlglot.parse(rewritten, read=_ReadDialect)
    except (ParseError, TokenError) as exc:
        # Report against the text the user wrote, not the placeholder-rewritten one.
        raise _syntax_error(text, exc, sql_offset=sql_offset) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise ProgrammingError(
            f"expected one SQL statement, found {len(trees)}; execute them one at a time")
    tree = trees[0]
    _refuse_unsupported(tree, text)
    if not isinstance(tree, exp.Query):
        raise NotSupportedError(f"{_kind_name(tree, text)} statements are not supported; "
                                "o365sql runs SELECT, EXPLAIN SELECT and EXEC")
    return Statement(kind="select", sql=sql, explain=explain, tree=tree, param_names=names,
                     qmark=qmark)


def normalise_placeholders(text: str) -> tuple[str, tuple[str, ...], bool]:
    """Rewrite ``?`` to ``:_qmark_<n>`` and ``@name`` to ``:name`` using sqlglot's tokenizer.

    Placeholder look-alikes in strings and comments are left alone because only tokens are
    rewritten. Returns the new text, the parameter names in first-use order, and whether the
    statement used ``?``.

    Raises:
        ProgrammingError: ``?`` mixed with named parameters.
    """
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
    except TokenError as exc:
        raise _syntax_error(text, exc) from None
    edits: list[tuple[int, int, str]] = []
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
            if _adjacent(token, nxt) and nxt.token_type in _NAME_TOKENS and _placeholder_context(
                    tokens, index):
                named = True
                if token.token_type == TokenType.PARAMETER:
                    edits.append((token.start, token.end + 1, ":"))
                if nxt.text not in names:
                    names.append(nxt.text)
    if qmarks and named:
        raise ProgrammingError("mix of '?' and named parameters in one statement; use one style")
    if not edits:
        return text, tuple(names), bool(qmarks)
    pieces: list[str] = []
    last = 0
    for start, end, replacement in edits:
        pieces.append(text[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(text[last:])
    return "".join(pieces), tuple(names), bool(qmarks)


_NAME_TOKENS = {TokenType.VAR, TokenType.IDENTIFIER, TokenType.NUMBER} | {
    t for t in TokenType if t.name.isupper() and t.name.isalpha()}


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
                f"{name} statements are not supported yet: o365sql is read-only for now "
                "(writes come in a later release)" if name in ("INSERT", "UPDATE", "DELETE", "MERGE")
                else f"{name} statements are not supported: the tables are defined by the catalog")
    if isinstance(tree, exp.Command):
        raise NotSupportedError(f"{_kind_name(tree, text)} statements are not supported")


def _kind_name(tree: exp.Expr, text: str) -> str:
    match = _LEADING_WORD.match(text)
    return match.group(1).upper() if match else type(tree).__name__.upper()


def _syntax_error(text: str, exc: Exception, *, sql_offset: int = 0) -> ProgrammingError:
    """A ProgrammingError that shows where in ``text`` the parser stopped."""
    errors = getattr(exc, "errors", None) or []
    if not errors:
        return ProgrammingError(f"SQL syntax error: {_strip_ansi(str(exc))}")
    first = errors[0]
    line_no = int(first.get("line") or 1)
    col_end = int(first.get("col") or 1)
    highlight = first.get("highlight") or ""
    description = first.get("description") or "syntax error"
    lines = text.splitlines() or [text]
    line_text = lines[min(line_no, len(lines)) - 1]
    start = max(col_end - len(highlight), 0)
    width = max(len(highlight), 1)
    caret = " " * start + "^" * width
    return ProgrammingError(
        f"SQL syntax error at line {line_no}, column {start + 1}: {description}\n"
        f"  {line_text}\n  {caret}")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
