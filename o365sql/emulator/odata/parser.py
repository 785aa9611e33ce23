"""``$filter`` text → syntax tree, with OData's operator precedence.

Stage: emulator, OData query engine (parsing). Takes ``odata.lexer`` tokens and hands an AST
(the frozen dataclasses below) to ``odata.filter``, which binds it to a resource's rules.

Grammar (OData v4 URL conventions §5.1.1, as Graph uses it; graph-semantics §2.1):
``or`` < ``and`` < comparison (``eq ne gt ge lt le has in``) < ``not`` < primary, where primary
is a literal, a parenthesised expression, a function call, a property path
(``from/emailAddress/address``, ``r/emailAddress/address`` inside a lambda, ``coll/$count``) or a
lambda ``coll/any(x: expr)`` / ``coll/all(x: expr)``. Keywords and function names are
case-insensitive (Graph's docs write ``NOT(...)``, ``startsWith``, ``endsWith``). As in OData's
precedence table, ``not`` is unary and binds tighter than ``eq``: ``not a eq b`` is
``(not a) eq b`` (a type error), so negations are written ``not (a eq b)`` or ``not coll/any(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .lexer import FilterSyntaxError, Token, syntax_error, tokenize


@dataclass(frozen=True)
class Literal:
    """``kind``: string, int, decimal, datetime, date, guid, bool, null."""

    kind: str
    value: object
    pos: int


@dataclass(frozen=True)
class Path:
    """A property path; ``segments[0]`` may be a lambda range variable."""

    segments: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str  # eq ne gt ge lt le has
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class In:
    left: Node
    values: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int


@dataclass(frozen=True)
class Call:
    name: str  # lower-cased
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Lambda:
    kind: str  # any | all
    collection: Path
    variable: str | None
    body: Node | None
    pos: int


Node = Literal | Path | Compare | In | BoolOp | Not | Call | Lambda

_COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "has"})
_LITERAL_WORDS = {"true": ("bool", True), "false": ("bool", False), "null": ("null", None)}


def parse_filter(text: str) -> Node:
    """Parse a decoded ``$filter`` value; raises FilterSyntaxError."""
    if not text.strip():
        raise syntax_error(len(text), text)
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- token helpers ---------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def word(self) -> str | None:
        tok = self.peek()
        return str(tok.value).lower() if tok.kind == "ident" else None

    def expect(self, kind: str) -> Token:
        tok = self.next()
        if tok.kind != kind:
            raise syntax_error(tok.pos, self.text)
        return tok

    def error(self) -> FilterSyntaxError:
        return syntax_error(self.peek().pos, self.text)

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek().kind != "eof":
            raise self.error()
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.word() == "or":
            pos = self.next().pos
            node = BoolOp("or", node, self.and_expr(), pos)
        return node

    def and_expr(self) -> Node:
        node = self.comparison()
        while self.word() == "and":
            pos = self.next().pos
            node = BoolOp("and", node, self.comparison(), pos)
        return node

    def unary(self) -> Node:
        if self.word() == "not":
            pos = self.next().pos
            return Not(self.unary(), pos)
        return self.primary()

    def comparison(self) -> Node:
        left = self.unary()
        word = self.word()
        if word in _COMPARISONS:
            pos = self.next().pos
            return Compare(word, left, self.unary(), pos)
        if word == "in":
            pos = self.next().pos
            self.expect("(")
            values = [self.primary()]
            while self.peek().kind == ",":
                self.next()
                values.append(self.primary())
            self.expect(")")
            return In(left, tuple(values), pos)
        return left

    def primary(self) -> Node:
        tok = self.peek()
        if tok.kind == "(":
            self.next()
            self.depth += 1
            if self.depth > 100:  # a pathological nesting must not exhaust the stack
                raise self.error()
            node = self.or_expr()
            self.depth -= 1
            self.expect(")")
            return node
        if tok.kind in ("string", "int", "decimal", "datetime", "date", "guid"):
            self.next()
            return Literal(tok.kind, tok.value, tok.pos)
        if tok.kind != "ident":
            raise self.error()
        word = str(tok.value)
        lowered = word.lower()
        if lowered in _LITERAL_WORDS:
            self.next()
            kind, value = _LITERAL_WORDS[lowered]
            return Literal(kind, value, tok.pos)
        self.next()
        if self.peek().kind == "(":
            return self.call(lowered, tok.pos)
        return self.path(word, tok.pos)

    def call(self, name: str, pos: int) -> Node:
        self.expect("(")
        args: list[Node] = []
        if self.peek().kind != ")":
            args.append(self.or_expr())
            while self.peek().kind == ",":
                self.next()
                args.append(self.or_expr())
        self.expect(")")
        return Call(name, tuple(args), pos)

    def path(self, first: str, pos: int) -> Node:
        segments = [first]
        while self.peek().kind == "/":
            self.next()
            tok = self.expect("ident")
            seg = str(tok.value)
            if seg.lower() in ("any", "all") and self.peek().kind == "(":
                return self.lambda_(seg.lower(), Path(tuple(segments), pos), tok.pos)
            segments.append(seg)
        return Path(tuple(segments), pos)

    def lambda_(self, kind: str, collection: Path, pos: int) -> Node:
        self.expect("(")
        if self.peek().kind == ")":  # coll/any() — true when the collection is not empty
            self.next()
            return Lambda(kind, collection, None, None, pos)
        var = self.expect("ident")
        self.expect(":")
        body = self.or_expr()
        self.expect(")")
        return Lambda(kind, collection, str(var.value), body, pos)


def iter_nodes(node: Node) -> Iterator[Node]:
    """Every node of a tree, in source order (for capability checks)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children: list[Node] = []
        if isinstance(current, (Compare, BoolOp)):
            children = [current.left, current.right]
        elif isinstance(current, In):
            children = [current.left, *current.values]
        elif isinstance(current, Not):
            children = [current.operand]
        elif isinstance(current, Call):
            children = list(current.args)
        elif isinstance(current, Lambda):
            children = [current.collection] + ([current.body] if current.body else [])
        stack.extend(reversed(children))
