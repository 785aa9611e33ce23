"""Cursor and connection semantics, with the execution stage replaced by a canned ``Result``.

These pin what the cursor itself does (lazy fetching, rowcount, errors, closing the
row iterator); the end-to-end path through the real execution stage and the emulator is in
``test_dbapi_end_to_end.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import o365sql
from o365sql import execution
from o365sql.catalog import Catalog

DESCRIPTION = (
    ("Subject", "VARCHAR", None, None, None, None, True),
    ("Size", "INTEGER", None, None, None, None, True),
)


@dataclass
class FakeResult:
    description: Any
    rows: Iterator[tuple[Any, ...]]
    rowcount: int = -1
    lastrowid: str | None = None


@dataclass
class Source:
    """A row generator that records how far it was pulled and whether it was closed."""

    n: int
    pulled: int = 0
    closed: bool = False
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        try:
            for i in range(self.n):
                self.pulled += 1
                yield (f"subject {i}", i)
        finally:
            self.closed = True


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> Source:
    src = Source(10)

    @dataclass
    class Context:
        catalog: Any
        graph: Any
        properties: Any
        connection: Any

    def run(sql: str, params: Any, context: Any) -> FakeResult:
        src.calls.append((sql, params))
        if sql.startswith("SELECT"):
            return FakeResult(DESCRIPTION, src.rows())
        return FakeResult(None, iter(()), 3)

    def run_many(sql: str, param_sets: Any, context: Any) -> FakeResult:
        # The real one sends every set's writes together; the cursor only sees the total.
        return FakeResult(None, iter(()), sum(run(sql, p, context).rowcount for p in param_sets))

    monkeypatch.setattr(execution, "Context", Context, raising=False)
    monkeypatch.setattr(execution, "run", run, raising=False)
    monkeypatch.setattr(execution, "run_many", run_many, raising=False)
    return src


def connect(**props: Any) -> o365sql.Connection:
    return o365sql.connect("OAuthAccessToken=t;InitiateOAuth=OFF", catalog=Catalog(), **props)


def test_fetch_before_execute_and_after_rowless_statement(source: Source) -> None:
    cur = connect().cursor()
    for fetch in (cur.fetchone, cur.fetchall, lambda: cur.fetchmany(2)):
        with pytest.raises(o365sql.ProgrammingError, match="no statement"):
            fetch()
    assert cur.execute("DELETE FROM x") is cur
    assert cur.description is None and cur.rowcount == 3
    with pytest.raises(o365sql.ProgrammingError, match="did not return rows"):
        cur.fetchone()


def test_rows_are_pulled_lazily(source: Source) -> None:
    cur = connect().cursor()
    cur.execute("SELECT Subject, Size FROM Messages", {"x": 1})
    assert source.calls == [("SELECT Subject, Size FROM Messages", {"x": 1})]
    assert source.pulled == 0
    assert cur.description == DESCRIPTION
    assert cur.description[0][1] == o365sql.STRING and cur.description[1][1] == o365sql.NUMBER
    assert cur.rowcount == -1 and cur.rownumber == 0
    assert cur.fetchone() == ("subject 0", 0)
    assert source.pulled == 1
    cur.arraysize = 3
    assert len(cur.fetchmany()) == 3 and source.pulled == 4
    assert cur.fetchmany(2) == [("subject 4", 4), ("subject 5", 5)]
    assert cur.rownumber == 6
    assert cur.fetchall() == [(f"subject {i}", i) for i in range(6, 10)]
    assert cur.rowcount == 10 and source.closed
    assert cur.fetchone() is None and cur.fetchmany(5) == [] and cur.fetchall() == []


def test_iteration(source: Source) -> None:
    cur = connect().cursor()
    assert [row[1] for row in cur.execute("SELECT *")] == list(range(10))


def test_new_execute_and_close_stop_the_previous_stream(source: Source) -> None:
    cur = connect().cursor()
    cur.execute("SELECT *")
    cur.fetchone()
    cur.execute("UPDATE x")
    assert source.closed and source.pulled == 1
    cur.execute("SELECT *")  # the fixture's source is reused; reset its flag
    source.closed = False
    cur.fetchone()
    cur.close()
    assert source.closed


def test_executemany_sums_rowcounts_and_refuses_selects(source: Source) -> None:
    cur = connect().cursor()
    cur.executemany("UPDATE x SET a = :a", [{"a": 1}, {"a": 2}])
    assert cur.rowcount == 6
    with pytest.raises(o365sql.ProgrammingError, match="returns rows"):
        cur.executemany("SELECT *", [{}])


def test_bad_arguments(source: Source) -> None:
    cur = connect().cursor()
    with pytest.raises(o365sql.ProgrammingError):
        cur.execute(b"SELECT 1")  # type: ignore[arg-type]
    with pytest.raises(o365sql.ProgrammingError):
        cur.execute("SELECT 1", "abc")  # type: ignore[arg-type]
    cur.execute("SELECT *")
    with pytest.raises(o365sql.ProgrammingError):
        cur.fetchmany(-1)


def test_closed_objects_raise_interface_error(source: Source) -> None:
    con = connect()
    cur = con.cursor()
    cur.execute("SELECT *")
    cur.fetchone()
    con.close()
    assert source.closed  # closing the connection closed the cursor and its stream
    for op in (
        lambda: cur.execute("SELECT *"),
        cur.fetchone,
        con.cursor,
        con.commit,
        con.rollback,
        lambda: con.graph,
    ):
        with pytest.raises(o365sql.InterfaceError):
            op()
    con.close()  # idempotent
    cur.close()
    other = connect().cursor()
    other.close()
    with pytest.raises(o365sql.InterfaceError):
        other.fetchall()


def test_connection_context_manager_and_transactions(source: Source) -> None:
    with connect() as con:
        con.commit()
        with pytest.raises(o365sql.NotSupportedError, match="no transactions"):
            con.rollback()
        assert con.autocommit is True
        with con.cursor() as cur:
            cur.execute("SELECT *")
        assert cur.closed
        assert con.execute("SELECT *").fetchone() == ("subject 0", 0)
    assert con.closed


def test_noops_and_extensions(source: Source) -> None:
    con = connect()
    cur = con.cursor()
    cur.setinputsizes((25,))
    cur.setoutputsize(1000)
    cur.setoutputsize(1000, 0)
    assert cur.lastrowid is None and cur.connection is con and cur.arraysize == 1
    assert cur.rownumber is None
    assert not hasattr(cur, "nextset")
    assert con.ProgrammingError is o365sql.ProgrammingError


def test_connect_is_offline_and_the_graph_client_follows_properties(source: Source) -> None:
    con = o365sql.connect(GraphURL="https://127.0.0.1:1/v1.0", MaxConcurrency=2, Timeout=7)
    client = con.graph  # no token provider is built, nothing is sent
    assert client.base_url == "https://127.0.0.1:1/v1.0"
    assert client.max_concurrency == 2 and client.timeout == 7.0 and client.verify is True
    bad = o365sql.connect(SSLServerCert="/nonexistent/ca.pem")
    with pytest.raises(o365sql.ProgrammingError, match="SSLServerCert"):
        _ = bad.graph
