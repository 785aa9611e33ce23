"""Tokens of a ``$filter`` expression, as Graph's OData URI parser reads them.

Stage: emulator, OData query engine (lexing). Hands a list of ``Token`` to ``odata.parser``.

Literal forms follow graph-semantics §2.2 (https://learn.microsoft.com/graph/filter-query-parameter
and https://learn.microsoft.com/graph/query-parameters): strings in single quotes with ``''`` for
a quote; DateTimeOffset, Date and GUID unquoted; ``true``/``false``/``null`` keywords; integers
and decimals unquoted. Errors carry the ODL wording "Syntax error at position N in '...'."; the
position is the 0-based offset of the offending character.

Date and DateTimeOffset literals are checked here, as OData's URI parser (ODL) does while
lexing: a token shaped like a date-time that is not one (month 13, 30 February, hour 25, no
zone) is refused with ODL's "The DateTimeOffset text '...' should be in format ..." sentence,
a bad bare date with the matching Date sentence, instead of comparing as text and matching
nothing. graph-semantics §2.2/§8.3 do not record Graph's answer; the callers wrap the sentence
in the resource's parse-error shape (``odata_errors.filter_syntax``). A malformed GUID does not
lex as a GUID and ends in a syntax error, as in ODL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime


class FilterSyntaxError(Exception):
    """A malformed ``$filter``; ``detail`` is the parser's sentence, without a code."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Token:
    """``kind`` is one of: ident, string, int, decimal, datetime, date, guid, ``(``, ``)``,
    ``,``, ``/``, ``:``, eof. ``value`` is the decoded literal (str for string/ident/dates/guid,
    int or str for numbers)."""

    kind: str
    value: object
    pos: int


_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)
# Anything a reader would take for a date-time: checked against _DATETIME and the calendar.
_DATETIME_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]*(?:[Zz]|[+-][0-9:]*)?", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:.-])", re.ASCII)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                   r"(?![\w-])", re.ASCII)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w.])", re.ASCII)
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_]*", re.ASCII)
_PUNCT = frozenset("(),/:")
_SPACE = frozenset(" \t\r\n")


def syntax_error(pos: int, text: str) -> FilterSyntaxError:
    return FilterSyntaxError(f"Syntax error at position {pos} in '{text}'.")


def tokenize(text: str) -> list[Token]:
    """Split a decoded ``$filter`` value into tokens; raises FilterSyntaxError."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
            continue
        if ch in _PUNCT:
            tokens.append(Token(ch, ch, i))
            i += 1
            continue
        if ch == "'":
            i = _string(text, i, tokens)
            continue
        if ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit()):
            m = _DATETIME_LIKE.match(text, i)
            if m:
                tokens.append(Token("datetime", _checked_datetime(m.group()), i))
                i = m.end()
                continue
            m = _DATE.match(text, i)
            if m:
                tokens.append(Token("date", _checked_date(m.group()), i))
                i = m.end()
                continue
        if ch.isalnum():  # a GUID may start with a digit or a letter a-f
            m = _GUID.match(text, i)
            if m:
                tokens.append(Token("guid", m.group().lower(), i))
                i = m.end()
                continue
        if ch.isdigit() or ch == "-":
            m = _NUMBER.match(text, i)
            if not m:
                raise syntax_error(i, text)
            literal = m.group()
            if m.group(1) or m.group(2):
                tokens.append(Token("decimal", literal, i))
            else:
                tokens.append(Token("int", int(literal), i))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m:
            tokens.append(Token("ident", m.group(), i))
            i = m.end()
            continue
        raise syntax_error(i, text)
    tokens.append(Token("eof", None, n))
    return tokens


def _checked_datetime(literal: str) -> str:
    """``literal`` if it is a valid DateTimeOffset (``Z`` or an offset required, §2.2); else
    ODL's sentence (UriUtils_DateTimeOffsetInvalidFormat)."""
    if _DATETIME.fullmatch(literal):
        try:
            datetime.fromisoformat(literal)
            return literal
        except ValueError:
            pass
    raise FilterSyntaxError(f"The DateTimeOffset text '{literal}' should be in format "
                            "'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is "
                            "within valid range.")


def _checked_date(literal: str) -> str:
    """``literal`` if it is a calendar date; else ODL's Date sentence (inferred wording, made
    like the DateTimeOffset one)."""
    try:
        date.fromisoformat(literal)
        return literal
    except ValueError:
        raise FilterSyntaxError(f"The Date text '{literal}' should be in format 'yyyy-mm-dd' and "
                                "each field value is within valid range.") from None


def _string(text: str, start: int, tokens: list[Token]) -> int:
    """Read a quoted string starting at ``start``; ``''`` is one quote (graph-semantics §2.2)."""
    parts: list[str] = []
    i = start + 1
    n = len(text)
    while True:
        j = text.find("'", i)
        if j < 0:
            raise FilterSyntaxError(
                f"There is an unterminated string literal at position {n} in '{text}'."
            )
        parts.append(text[i:j])
        if j + 1 < n and text[j + 1] == "'":
            parts.append("'")
            i = j + 2
            continue
        tokens.append(Token("string", "".join(parts), start))
        return j + 1


def quote(value: str) -> str:
    """The ``$filter`` literal for a string (used by tests for round trips)."""
    return "'" + value.replace("'", "''") + "'"
