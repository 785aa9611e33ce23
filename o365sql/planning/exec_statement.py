"""Parse stage, EXEC branch: ``EXEC[UTE] name [@]Param = value, ...`` to a procedure call.

sqlglot has no grammar for T-SQL style ``EXEC`` with named arguments (CData's form, see
https://cdn.cdata.com/help/CXM/ (SQL reference, EXECUTE)), so the argument list is split with
sqlglot's tokenizer and each value is parsed as an expression. Hands the procedure name and
the unbound argument expressions back to ``parse.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import Token, TokenType, exp  # the package re-exports Token/TokenType explicitly
from sqlglot.errors import ParseError, TokenError

from ..exceptions import ProgrammingError
from .dialect import DIALECT

#: ``parse.normalise_placeholders``: text to (rewritten text, parameter names, uses '?').
Normaliser = Callable[[str], tuple[str, tuple[str, ...], bool]]



@dataclass(frozen=True)
class ExecArgument:
    """One ``@Name = value`` of an EXEC statement; ``value`` is an unbound sqlglot expression."""

    name: str
    value: exp.Expr


_HEAD = re.compile(r"^\s*EXEC(?:UTE)?\s+", re.IGNORECASE)
_NAME = re.compile(r"^(\[[^\]]+\]|\"[^\"]+\"|`[^`]+`|[A-Za-z_][\w.]*)\s*")


def parse_exec(text: str, normalise_placeholders: Normaliser
               ) -> tuple[str, tuple[ExecArgument, ...], tuple[str, ...], bool]:
    """Split an EXEC statement into (procedure name, arguments, parameter names, uses '?').

    ``normalise_placeholders`` is ``parse.normalise_placeholders``, passed in so that this
    module imports nothing from ``parse``.

    Example:
        >>> from o365sql.planning.parse import normalise_placeholders
        >>> name, args, names, qmark = parse_exec("EXEC GetOAuthAuthorizationURL @State = ?",
        ...                                       normalise_placeholders)
        >>> name, [a.name for a in args], names, qmark
        ('GetOAuthAuthorizationURL', ['State'], ('_qmark_1',), True)
    """
    head = _HEAD.match(text)
    if head is None:
        raise ProgrammingError("EXEC needs a procedure name: EXEC name @Param = value, ...")
    rest = text[head.end():]
    name_match = _NAME.match(rest)
    if name_match is None:
        raise ProgrammingError(f"EXEC needs a procedure name, found {rest[:30]!r}")
    name = name_match.group(1).strip("[]\"`")
    args_text = rest[name_match.end():].strip()
    if args_text.startswith("(") and args_text.endswith(")"):
        args_text = args_text[1:-1].strip()
    if not args_text:
        return name, (), (), False
    normalised, names, qmark = _normalise_args(args_text, normalise_placeholders)
    arguments: list[ExecArgument] = []
    seen: set[str] = set()
    for piece in _split_top_level(normalised):
        match = re.match(r"^\s*@?([A-Za-z_]\w*)\s*=(?!=)\s*(.*)$", piece, re.DOTALL)
        if match is None:
            raise ProgrammingError(
                f"EXEC {name}: expected '@Param = value', found {piece.strip()[:40]!r}")
        param, value_text = match.group(1), match.group(2).strip()
        if param.lower() in seen:
            raise ProgrammingError(f"EXEC {name}: parameter @{param} given twice")
        seen.add(param.lower())
        if not value_text:
            raise ProgrammingError(f"EXEC {name}: parameter @{param} has no value")
        try:
            value = sqlglot.parse_one(f"SELECT {value_text}", read=DIALECT)
        except (ParseError, TokenError):
            raise ProgrammingError(
                f"EXEC {name}: cannot read the value of @{param}: {value_text[:40]!r}") from None
        if not isinstance(value, exp.Select) or len(value.expressions) != 1:
            raise ProgrammingError(f"EXEC {name}: the value of @{param} must be one expression")
        arguments.append(ExecArgument(name=param, value=value.expressions[0]))
    return name, tuple(arguments), names, qmark


def _normalise_args(text: str, normalise: Normaliser) -> tuple[str, tuple[str, ...], bool]:
    """Rewrite placeholders in the values only: ``@Name =`` heads stay as they are."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("sqlite").tokenize(text)
    except TokenError as exc:
        raise ProgrammingError(f"EXEC: cannot read the arguments: {exc}") from None
    # The '@Name' before '=' is a parameter *name*; protect it by blanking the '@' so the
    # placeholder normaliser only sees values.
    protected = list(text)
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.PARAMETER and _is_head(tokens, index):
            protected[token.start] = " "
    return normalise("".join(protected))


def _is_head(tokens: list[Token], index: int) -> bool:
    """True when tokens[index] is '@' of '@Name =' at the start of an argument."""
    before_ok = index == 0 or tokens[index - 1].token_type == TokenType.COMMA
    after = tokens[index + 2] if index + 2 < len(tokens) else None
    return before_ok and after is not None and after.token_type == TokenType.EQ


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    pieces: list[str] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
            continue
        if char in ("'", '"'):
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return [p for p in pieces if p.strip()]
