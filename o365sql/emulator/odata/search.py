"""``$search``: a KQL subset for messages and ``"property:value"`` clauses for directory objects.

Stage: emulator, OData query engine (search). ``compile_search`` turns a decoded ``$search`` value
into a predicate over item dicts for ``odata.query``.

Messages (graph-semantics §4.1, https://learn.microsoft.com/graph/search-query-parameter): the
value is KQL, usually wrapped in double quotes. Supported here: bare words (matched as word
prefixes, case-insensitively, in subject, body and sender: the default properties), "quoted
phrases", a trailing ``*``, property restrictions ``from: to: cc: bcc: participants:
recipients: subject: body: hasattachment(s): importance: kind: received: sent:`` with ``:``,
``=``, ``>``, ``>=``, ``<``, ``<=`` and ``a..b`` ranges on dates (``2024-01-31`` or
``01/31/2024``), and the upper-case operators ``AND`` ``OR`` ``NOT`` with parentheses; adjacent
terms are AND-ed. Anything else in ``name:value`` form matches nothing (Exchange ignores unknown
properties as free text; inferred).

Directory objects (§4.2): ``"displayName:wa" OR "description:prod"``, clauses quoted with ``\\"``
and ``\\\\`` escapes, AND/OR (upper case) and parentheses outside the quotes. ``displayName`` and
``description`` are tokenized (spaces, lower→upper case changes, symbols, digits) and each query
token must start a value token; other string properties fall back to ``startswith``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import errors as err
from .rules import ResourceRules
from .schema import PropertyIndex
from .values import instant_key

Predicate = Callable[[Any], bool]

_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")
_KQL_TOKEN = re.compile(
    r'\s*(?:(?P<paren>[()])|(?P<phrase>"(?:[^"\\]|\\.)*"?)|'
    r'(?P<term>[^\s()"]+(?:"(?:[^"\\]|\\.)*"?)?))'
)
_RESTRICTION = re.compile(r"^(?P<prop>[A-Za-z]+)(?P<op>>=|<=|:|=|>|<)(?P<value>.*)$", re.DOTALL)


def compile_search(value: str, rules: ResourceRules) -> Predicate:
    if rules.search == "kql":
        return _Kql(value).parse()
    if rules.search == "directory":
        return _DirectorySearch(value, rules).parse()
    raise err.search_not_supported()


# -- messages: KQL --------------------------------------------------------------------------
def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return text.replace('\\"', '"').replace("\\\\", "\\")


def _address_text(recipient: Any) -> str:
    if not isinstance(recipient, dict):
        return ""
    email = recipient.get("emailAddress") or {}
    return f"{email.get('name') or ''} {email.get('address') or ''}"


def _recipients(item: Any, *names: str) -> str:
    return " ".join(_address_text(r) for n in names for r in (item.get(n) or ()))


def _body(item: Any) -> str:
    body = item.get("body") or {}
    content = body.get("content") or ""
    return _TAG.sub(" ", content) if body.get("contentType") == "html" else content


_FIELDS: dict[str, Callable[[Any], str]] = {
    "subject": lambda i: i.get("subject") or "",
    "body": _body,
    "from": lambda i: _address_text(i.get("from")) + " " + _address_text(i.get("sender")),
    "to": lambda i: _recipients(i, "toRecipients"),
    "cc": lambda i: _recipients(i, "ccRecipients"),
    "bcc": lambda i: _recipients(i, "bccRecipients"),
    "recipients": lambda i: _recipients(i, "toRecipients", "ccRecipients", "bccRecipients"),
    "participants": lambda i: _address_text(i.get("from")) + " " + _recipients(
        i, "toRecipients", "ccRecipients", "bccRecipients"),
}
_DEFAULT_FIELDS = ("subject", "body", "from")


def _text_matcher(term: str, phrase: bool) -> Callable[[str], bool]:
    """Word-prefix match for one word; consecutive words for phrases and addresses."""
    words = _WORD.findall(term.rstrip("*").casefold())
    if not words:
        return lambda text: False
    if len(words) == 1 and not phrase:
        pattern = re.compile(r"\b" + re.escape(words[0]), re.IGNORECASE)
    else:
        pattern = re.compile(r"\b" + r"[^\w\n]+".join(re.escape(w) for w in words), re.IGNORECASE)
    return lambda text: pattern.search(text) is not None


def _kql_date(text: str) -> str | None:
    """``2024-01-31`` or ``01/31/2024`` → ``2024-01-31`` (KQL dates are UTC, §4.1)."""
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if m:
        return f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}"
    return text[:10] if re.match(r"\d{4}-\d{2}-\d{2}", text) else None


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda item: first(item) and second(item)


class _Kql:
    def __init__(self, value: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        text = _unquote(value.strip())
        pos = 0
        while pos < len(text):
            m = _KQL_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                break
            pos = m.end()
            if m.group("paren"):
                self.tokens.append(("paren", m.group("paren")))
            elif m.group("phrase"):
                self.tokens.append(("phrase", m.group("phrase").strip('"')))
            elif m.group("term"):
                self.tokens.append(("term", m.group("term")))
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda item: True
        pred = self.or_()
        while self.peek() is not None:  # a stray ")" — skip it, Exchange is lenient (inferred)
            self.i += 1
            if self.peek() is not None:
                pred = _both(pred, self.or_())
        return pred

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.peek() == ("term", "OR"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.unary()]
        while True:
            tok = self.peek()
            if tok is None or tok == ("paren", ")") or tok == ("term", "OR"):
                break
            if tok == ("term", "AND"):
                self.i += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def unary(self) -> Predicate:
        tok = self.peek()
        if tok == ("term", "NOT"):
            self.i += 1
            inner = self.unary()
            return lambda item: not inner(item)
        if tok == ("paren", "("):
            self.i += 1
            inner = self.or_() if self.peek() not in (None, ("paren", ")")) else (lambda i: True)
            if self.peek() == ("paren", ")"):
                self.i += 1
            return inner
        if tok is None:
            return lambda item: True
        self.i += 1
        kind, text = tok
        if kind == "phrase":
            return self.free_text(text, phrase=True)
        if kind == "paren":  # ")" where a term was expected
            return lambda item: True
        return self.term(text)

    def free_text(self, text: str, *, phrase: bool) -> Predicate:
        match = _text_matcher(text, phrase)
        subject, body, sender = (_FIELDS[f] for f in _DEFAULT_FIELDS)
        # one search over the three default properties; "\n" keeps phrases from spanning them
        return lambda item: match(f"{subject(item)}\n{body(item)}\n{sender(item)}")

    def term(self, text: str) -> Predicate:
        m = _RESTRICTION.match(text)
        if not m:
            return self.free_text(text, phrase=False)
        prop, op, value = m.group("prop").lower(), m.group("op"), _unquote(m.group("value"))
        if prop in _FIELDS and op in (":", "="):
            match = _text_matcher(value, value.count(" ") > 0 or not value.isalnum())
            getter = _FIELDS[prop]
            return lambda item: match(getter(item))
        if prop in ("hasattachment", "hasattachments"):
            wanted = value.lower() in ("true", "yes", "1")
            return lambda item: bool(item.get("hasAttachments")) == wanted
        if prop == "importance":
            level = {"medium": "normal"}.get(value.lower(), value.lower())
            return lambda item: str(item.get("importance") or "").lower() == level
        if prop == "kind":
            return lambda item: value.lower() == "email"
        if prop in ("received", "sent"):
            return self.date_restriction(f"{prop}DateTime", op, value)
        return lambda item: False

    def date_restriction(self, field: str, op: str, value: str) -> Predicate:
        if ".." in value:
            low, _, high = value.partition("..")
            lo, hi = _kql_date(low), _kql_date(high)
            if lo is None or hi is None:
                return lambda item: False
            return lambda item: lo <= (instant_key(item.get(field)) or "")[:10] <= hi
        day = _kql_date(value)
        if day is None:
            return lambda item: False
        compare: dict[str, Callable[[str], bool]] = {
            ":": lambda d: d == day, "=": lambda d: d == day, ">": lambda d: d > day,
            ">=": lambda d: d >= day, "<": lambda d: d < day, "<=": lambda d: d <= day,
        }
        test = compare[op]

        def restriction(item: Any) -> bool:
            key = instant_key(item.get(field))
            return key is not None and test(key[:10])

        return restriction


# -- directory objects ----------------------------------------------------------------------
_RUNS = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")
_CASE_CHANGE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def directory_tokens(text: str) -> list[str]:
    """Tokens of a value as the directory's $search sees them (§4.2)."""
    tokens: list[str] = []
    for chunk in text.split():
        parts = [piece for run in _RUNS.findall(chunk) for piece in _CASE_CHANGE.split(run)]
        tokens.extend(p.casefold() for p in parts)
        if any(not p.isalnum() for p in parts):
            joined = "".join(p for p in parts if p.isalnum())
            if joined:
                tokens.append(joined.casefold())
    return tokens


_TOKENIZED = frozenset({"displayName", "description"})


class _DirectorySearch:
    def __init__(self, value: str, rules: ResourceRules) -> None:
        self.rules = rules
        self.index = PropertyIndex(rules.entity)
        self.tokens: list[str] = []
        pos, text = 0, value
        while pos < len(text):
            ch = text[pos]
            if ch.isspace():
                pos += 1
            elif ch in "()":
                self.tokens.append(ch)
                pos += 1
            elif ch == '"':
                end = pos + 1
                while end < len(text) and text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                if end >= len(text):
                    raise err.unsupported_query()
                self.tokens.append(text[pos:end + 1])
                pos = end + 1
            else:
                m = re.compile(r"[^\s()\"]+").match(text, pos)
                assert m is not None
                self.tokens.append(m.group())
                pos = m.end()
        self.i = 0

    def parse(self) -> Predicate:
        if not self.tokens:
            raise err.unsupported_query()
        pred = self.or_()
        if self.i != len(self.tokens):
            raise err.unsupported_query()
        return pred

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.i < len(self.tokens) and self.tokens[self.i] == "OR":
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.clause()]
        while self.i < len(self.tokens) and self.tokens[self.i] == "AND":
            self.i += 1
            parts.append(self.clause())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def clause(self) -> Predicate:
        if self.i >= len(self.tokens):
            raise err.unsupported_query()
        tok = self.tokens[self.i]
        self.i += 1
        if tok == "(":
            inner = self.or_()
            if self.i >= len(self.tokens) or self.tokens[self.i] != ")":
                raise err.unsupported_query()
            self.i += 1
            return inner
        if not tok.startswith('"'):
            raise err.unsupported_query()
        body = _unquote(tok)
        prop, sep, value = body.partition(":")
        if not sep:  # "property name mandatory in each clause" (§4.2)
            raise err.unsupported_query()
        found = self.index.top(prop.strip())
        if found is None:
            raise err.unknown_property(self.rules, prop.strip())
        name, ptype = found
        if ptype.kind != "primitive" or ptype.name != "String":
            raise err.unsupported_query()
        if name in _TOKENIZED:
            wanted = directory_tokens(value)

            def tokenized(item: Any) -> bool:
                text = item.get(name)
                if not isinstance(text, str):
                    return False
                have = directory_tokens(text)
                return all(any(h.startswith(w) for h in have) for w in wanted)

            return tokenized
        prefix = value.casefold()
        if ptype.collection:
            return lambda item: any(isinstance(v, str) and v.casefold().startswith(prefix)
                                    for v in (item.get(name) or ()))
        return lambda item: isinstance(item.get(name), str) and \
            item[name].casefold().startswith(prefix)
