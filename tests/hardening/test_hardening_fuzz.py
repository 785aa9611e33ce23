"""Fuzzer (issue 10, points 4 and 7): SQL text, parameters, identifiers and connection
strings drawn by hypothesis. Every outcome must be rows or an ``o365sql.Error``, and no
parameter value may change the structure of what the emulator receives: the same requests,
paths, query options and ``$filter`` shape as a harmless value gives. Fixed seed under CI,
exploring elsewhere; each test counts what it ran and fails below its floor.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from hardening_support import generated, segments
from hypothesis import event, given
from hypothesis import strategies as st

import o365sql
from o365sql.emulator import Emulator

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
HOSTILE = st.sampled_from([
    "' or 1 eq 1 or '", "') or (true", "x' and subject eq 'y", "&$top=1", "#", "%27", "%",
    "\x00", "\n", "?$filter=", "''", "'", "\\'", "$select=id", "a/../b", "..", "é€😀",
])
VALUES = st.one_of(HOSTILE, TEXT)

TABLES = ["Messages", "Users", "MailFolders", "Contacts", "Events", "Groups"]
FRAGMENTS = ["SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "(", ")", "=", "<>", "IN", "LIKE",
             "LIMIT", "OFFSET", "ORDER BY", "GROUP BY", "COUNT(*)", "Subject", "Id", "UserId",
             "IsRead", "'a'", "?", ":p", "NULL", "1", "-1", "9223372036854775808", ",", "*",
             "CASE WHEN", "THEN", "ELSE", "END", "EXISTS", "SELECT Id FROM Messages", ";",
             "'", '"', "[", "]", "--", "/*", "EXPLAIN", "EXEC", "UNION", "JOIN", "ON", "AS"]


def _run(connection: Any, sql: str, params: Any = None) -> str:
    """'rows' or 'error'; any other exception fails the test."""
    cur = connection.cursor()
    try:
        cur.execute(sql, params)
        if cur.description is not None:
            cur.fetchall()
    except o365sql.Error:
        return "error"
    return "rows"


@st.composite
def statements(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["fragments", "mutated", "text", "literal"]))
    if kind == "literal":  # valid SQL around a hostile string literal (quotes doubled)
        table = draw(st.sampled_from(TABLES))
        value = draw(VALUES).replace("'", "''")
        return f"SELECT Id FROM {table} WHERE Id = '{value}' OR Id LIKE '%{value}%' LIMIT 5"
    if kind == "fragments":
        return " ".join(draw(st.lists(st.sampled_from(FRAGMENTS), max_size=25)))
    if kind == "mutated":
        table = draw(st.sampled_from(TABLES))
        base = f"SELECT Id FROM {table} WHERE Id = 'a' OR (Id <> 'b' AND NOT Id IN ('c')) LIMIT 5"
        cut = draw(st.integers(0, len(base)))
        return base[:cut] + draw(st.text(max_size=6)) + base[cut + draw(st.integers(0, 8)):]
    return draw(TEXT)


def test_fuzz_sql_text(on: Any) -> None:
    outcomes = {"rows": 0, "error": 0}

    @generated(150)
    @given(sql=statements())
    def one(sql: str) -> None:
        outcome = _run(on, sql)
        outcomes[outcome] += 1
        event(outcome)

    one()
    assert sum(outcomes.values()) >= 150, outcomes
    assert outcomes["rows"] >= 5 and outcomes["error"] >= 50, outcomes


_LITERAL = re.compile(r"'(?:[^']|'')*'")

#: Statements with text parameters, each bound to pushed conditions.
TEMPLATES = [
    "SELECT Id FROM Messages WHERE Subject = ?",
    "SELECT Id FROM Messages WHERE Subject = ? AND IsRead = false",
    "SELECT Id FROM Messages WHERE Subject IN (?, 'b') OR Subject = ?",
    "SELECT Id FROM Users WHERE DisplayName = ?",
    "SELECT Id FROM Users WHERE UserPrincipalName = ? OR Mail = ?",
    "SELECT Id FROM MailFolders WHERE DisplayName = ?",
]


def _shape(emu: Emulator) -> list[tuple[Any, ...]]:
    """Each Graph request as method, path segments, option names and the $filter with its
    string literals blanked."""
    shapes = []
    for entry in emu.log:
        if entry.kind not in ("graph", "batch"):
            continue
        options = parse_qsl(entry.query, keep_blank_values=True)
        names = tuple(name for name, _ in options)
        filters = tuple(_LITERAL.sub("'S'", value) for name, value in options if name == "$filter")
        shapes.append((entry.method, tuple(segments(entry.raw_path)), names, filters))
    return shapes


def _within(sent: tuple[Any, ...], expected: tuple[Any, ...]) -> bool:
    """``sent`` is ``expected``, or the same request with less pushed down: a value the
    driver keeps local (one holding NUL, say) may drop options or conjuncts of ``$filter``,
    never add or change one."""
    method, path, names, filters = sent
    if (method, path) != expected[:2] or not set(names) <= set(expected[2]):
        return False
    wanted = {part for f in expected[3] for part in f.split(" and ")}
    return all(part in wanted for f in filters for part in f.split(" and "))


def test_fuzz_parameters_keep_the_request_shape(emulator: Emulator, on: Any) -> None:
    reference = {}
    for sql in TEMPLATES:
        emulator.clear_log()
        assert _run(on, sql, ["harmless"] * sql.count("?")) == "rows"
        reference[sql] = _shape(emulator)
        assert reference[sql], sql
    compared = 0

    @generated(120)
    @given(sql=st.sampled_from(TEMPLATES), value=VALUES)
    def one(sql: str, value: str) -> None:
        nonlocal compared
        emulator.clear_log()
        _run(on, sql, [value] * sql.count("?"))
        got = _shape(emulator)
        assert len(got) == len(reference[sql]), (sql, value, got)
        for sent, expected in zip(got, reference[sql]):
            assert _within(sent, expected), (sql, value, sent, expected)
        event("same shape" if got == reference[sql] else "less pushed")
        compared += 1

    one()
    assert compared >= 120


IDENTIFIERS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"\x00'),
                      min_size=1, max_size=30)


def test_fuzz_identifiers(on: Any) -> None:
    outcomes = {"rows": 0, "error": 0}

    @generated(60)
    @given(name=IDENTIFIERS, where=st.sampled_from(["column", "alias", "table"]))
    def one(name: str, where: str) -> None:
        if where == "alias":
            cur = on.cursor()
            cur.execute(f'SELECT Subject AS "{name}" FROM Messages LIMIT 1')
            cur.fetchall()
            assert cur.description[0][0] == name
            outcomes["rows"] += 1
            return
        sql = (f'SELECT "{name}" FROM Messages LIMIT 1' if where == "column"
               else f'SELECT * FROM "{name}"')
        outcomes[_run(on, sql)] += 1

    one()
    assert sum(outcomes.values()) >= 60, outcomes


PROPERTY_NAMES = ["AuthScheme", "AzureTenant", "InitiateOAuth", "OAuthClientId", "Timeout",
                  "PageSize", "MaxRows", "Pushdown", "MaxConcurrency", "GraphURL",
                  "AuthorityURL", "OAuthSettingsLocation", "Scope", "Unknown", ""]


@st.composite
def connection_strings(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from(PROPERTY_NAMES), st.one_of(HOSTILE, TEXT)),
                          max_size=5))
    text = ";".join(f"{k}={v}" for k, v in pairs)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(['"', "'", "=", ";", "{", "}"])) + text[cut:]
    return text


def test_fuzz_connection_strings() -> None:
    outcomes = {"connected": 0, "error": 0}

    @generated(200)
    @given(dsn=connection_strings())
    def one(dsn: str) -> None:
        try:
            connection = o365sql.connect(dsn)
        except o365sql.Error:
            outcomes["error"] += 1
            return
        connection.close()
        outcomes["connected"] += 1

    one()
    assert sum(outcomes.values()) >= 200 and outcomes["error"] >= 20, outcomes
