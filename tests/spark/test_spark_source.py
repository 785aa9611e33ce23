"""The ``o365sql`` Spark data source against the emulator, with a real local Spark.

Every answer is compared with the driver's own answer for the same SQL over all mailboxes;
request counts come from the emulator's log.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from o365sql.emulator import Emulator
from o365sql.graph.batch import batch_size
from o365sql.graph.client import DEFAULT_CONCURRENCY
from o365sql.spark.discovery import plan_partitions
from o365sql.spark.options import parse_options
from o365sql.spark.source import _statement

from .conftest import USERS, comparable, graph_requests, message_reads, source_options

ALL = "(SELECT Id FROM Users WHERE Mail IS NOT NULL)"
COLUMNS = "UserId, Id, Subject, ReceivedDateTime, IsRead, Importance"


def _driver_rows(driver: Any, sql: str, params: dict[str, Any] | None = None
                 ) -> list[tuple[Any, ...]]:
    return sorted(comparable(r) for r in driver.execute(sql, params).fetchall())


def _among(mailboxes: list[str]) -> tuple[str, dict[str, str]]:
    """``(:m0, :m1, ...)`` and its parameters (names may hold quotes: O'Brien)."""
    params = {f"m{i}": m for i, m in enumerate(mailboxes)}
    return "(" + ", ".join(f":{name}" for name in params) + ")", params


def _spark_rows(df: Any) -> list[tuple[Any, ...]]:
    return sorted(comparable(r) for r in df.collect())


def _plan(emu: Emulator, **extra: str) -> Any:
    options = parse_options(source_options(emu, **extra))
    return plan_partitions(options, _statement(options, None), ())


def test_dataframe_equals_the_drivers_answer_over_every_mailbox(read: Any, driver: Any,
                                                                tenant: Emulator) -> None:
    df = read(table="Messages", rowsPerPartition="100").select(*COLUMNS.split(", "))
    expected = _driver_rows(driver, f"SELECT {COLUMNS} FROM Messages WHERE UserId IN {ALL}")
    got = _spark_rows(df)
    assert len({r[0] for r in expected}) >= 50
    assert len(got) == len(expected) > 50 * 9
    assert got == expected


def test_partitions_and_requests_follow_the_plan(read: Any, tenant: Emulator) -> None:
    tenant.clear_log()
    planned = _plan(tenant, table="Messages", rowsPerPartition="100")
    mailboxes = [s.mailbox for part in planned for s in part]
    sizing = graph_requests(tenant)
    # One user listing, one /$count per mailbox; none of these mailboxes needs splitting.
    assert len(mailboxes) == len(set(mailboxes)) == USERS + 1
    assert sum(e.path.endswith("/messages/$count") for e in sizing) == len(mailboxes)
    assert sum(e.path == "/v1.0/users" for e in sizing) == 1
    assert len(sizing) == len(mailboxes) + 1
    # Small mailboxes (about 10 rows) are grouped about 100 rows a task.
    assert len(planned) <= len(mailboxes) / 4
    assert sum(len(part) < 2 for part in planned) <= 1

    df = read(table="Messages", rowsPerPartition="100")
    assert df.rdd.getNumPartitions() == len(planned)
    tenant.clear_log()
    df.select("Id").collect()
    log = tenant.log
    # A task's mailboxes go in one statement, UserId IN (...), fanned out through $batch:
    # one request per mailbox, the first dispatch spreading them over the POSTs it may send
    # (graph.batch.batch_size); a task of one mailbox sends a plain GET.
    batches = [e for e in log if e.path.endswith("/$batch")]
    urls = [i["url"].split("?")[0] for e in batches for i in e.inner]
    urls += [e.path.removeprefix("/v1.0") for e in log if e.path.endswith("/messages")]
    assert sorted(urls) == sorted(f"/users/{m}/messages" for m in mailboxes)
    posts = {len(p): -(-len(p) // batch_size(len(p), DEFAULT_CONCURRENCY)) for p in planned}
    assert len(batches) == sum(posts[len(part)] for part in planned if len(part) > 1)


def test_large_mailboxes_split_into_disjoint_time_ranges(read: Any, driver: Any,
                                                         tenant: Emulator) -> None:
    chosen = tenant.users[:3]
    extra = {"table": "Messages", "mailboxes": ",".join(chosen), "rowsPerPartition": "4"}
    tenant.clear_log()
    planned = _plan(tenant, **extra)
    sizing = graph_requests(tenant)
    # 3 counts, then the first and last ReceivedDateTime of each (they are all over 4 rows).
    assert sum(e.path.endswith("/$count") for e in sizing) == 3
    edges = [e for e in sizing if "$orderby=receivedDateTime" in e.query]
    assert len(edges) == 6 and all("$top=1" in e.query for e in edges)
    assert all(len(part) == 1 for part in planned) and len(planned) >= 3 * 2
    for mailbox in chosen:
        ranges = [p[0] for p in planned if p[0].mailbox == mailbox]
        assert ranges[0].low is None and ranges[-1].high is None
        assert all(a.high == b.low for a, b in itertools.pairwise(ranges))
    df = read(**extra).select(*COLUMNS.split(", "))
    assert df.rdd.getNumPartitions() == len(planned)
    tenant.clear_log()
    got = _spark_rows(df)
    reads = [e for e in graph_requests(tenant) if e.path.endswith("/messages")]
    assert len(reads) == len(planned)
    assert all("receivedDateTime" in e.query for e in reads)
    among, params = _among(chosen)
    expected = _driver_rows(driver, f"SELECT {COLUMNS} FROM Messages WHERE UserId IN {among}",
                            params)
    assert got == expected
    assert len({r[1] for r in got}) == len(got)  # no message read twice


def test_spark_sql_joins_users_and_aggregates(spark: Any, read: Any, driver: Any) -> None:
    read(table="Messages").createOrReplaceTempView("messages")
    users = read(table="Users")
    assert users.rdd.getNumPartitions() == 1  # not per mailbox: one task reads the directory
    users.createOrReplaceTempView("users")
    got = sorted(tuple(r) for r in spark.sql(
        "SELECT u.Mail, COUNT(*) AS n, SUM(CASE WHEN m.IsRead THEN 0 ELSE 1 END) AS unread "
        "FROM messages m JOIN users u ON m.UserId = u.Id GROUP BY u.Mail").collect())
    expected = sorted(tuple(r) for r in driver.execute(
        "SELECT u.Mail, COUNT(*), SUM(CASE WHEN m.IsRead THEN 0 ELSE 1 END) FROM Users u "
        "JOIN Messages m ON m.UserId = u.Id WHERE u.Mail IS NOT NULL GROUP BY u.Mail"
    ).fetchall())
    assert len(got) >= 50 and got == expected


def test_query_option_is_planned_by_the_driver(read: Any, driver: Any, tenant: Emulator) -> None:
    query = ("SELECT UserId, Subject, Importance, UPPER(Subject) AS Shout FROM Messages "
             "WHERE Importance = 'high'")
    df = read(query=query)
    assert [f.name for f in df.schema.fields] == ["UserId", "Subject", "Importance", "Shout"]
    tenant.clear_log()
    got = _spark_rows(df)
    reads = message_reads(tenant)
    assert len(reads) == USERS + 1 and all("importance eq 'high'" in q for q in reads)
    expected = _driver_rows(driver, query + f" AND UserId IN {ALL}")
    assert got and [r[1:] for r in got] == [r[1:] for r in expected] and got == expected


def test_query_option_refuses_what_does_not_distribute(read: Any) -> None:
    from pyspark.errors import AnalysisException

    for query in ("SELECT UserId, COUNT(*) FROM Messages GROUP BY UserId",
                  "SELECT Subject FROM Messages ORDER BY ReceivedDateTime LIMIT 5",
                  "SELECT Subject FROM Messages WHERE UserId = 'x'"):
        with pytest.raises(AnalysisException, match="option query cannot"):
            read(query=query).schema  # noqa: B018 - the schema is what Spark asks first


@pytest.fixture
def scoped(tenant: Emulator) -> Any:
    denied = tenant.users[5:7]
    tenant.scope_app(denied, access_right="DenyAccess")
    yield denied
    tenant.unscope_app()


def test_scoped_out_mailboxes_are_skipped_and_reported(read: Any, driver: Any, tenant: Emulator,
                                                       scoped: list[str], tmp_path: Path) -> None:
    report = tmp_path / "errors"
    df = read(table="Messages", onMailboxError="skip", mailboxErrorsPath=str(report),
              rowsPerPartition="100").select(*COLUMNS.split(", "))
    got = _spark_rows(df)
    ids = {tenant.tenant.user(u)["id"] for u in scoped}  # type: ignore[index]
    assert ids.isdisjoint(r[0] for r in got)
    readable = [str(u[0]) for u in driver.execute("SELECT Id FROM Users WHERE Mail IS NOT NULL")
                if u[0] not in ids]
    among, params = _among(readable)
    assert got == _driver_rows(driver, f"SELECT {COLUMNS} FROM Messages WHERE UserId IN "
                                       f"{among}", params)
    lines = [json.loads(line) for f in sorted(report.glob("part-*.jsonl"))
             for line in f.read_text().splitlines()]
    assert sorted(r["mailbox"] for r in lines) == sorted(ids)
    assert {(r["status"], r["code"]) for r in lines} == {(403, "ErrorAccessDenied")}
    assert all(r["request_id"] for r in lines)
    # Read again: each part file is replaced, so the report still names each mailbox once.
    df.count()
    again = [f.read_text() for f in report.glob("part-*.jsonl")]
    assert sum(len(text.splitlines()) for text in again) == 2


def test_scoped_out_mailbox_fails_the_read_by_default(read: Any, scoped: list[str]) -> None:
    with pytest.raises(Exception, match="ErrorAccessDenied"):
        read(table="Messages", rowsPerPartition="100").select("Id").collect()


def test_a_retried_task_yields_no_duplicates(read: Any, driver: Any, tenant: Emulator) -> None:
    planned = _plan(tenant, table="Messages", rowsPerPartition="100")
    # A mailbox of a grouped task fails once (500, which the driver does not retry), so the
    # task fails and Spark runs it again; a few 429s are retried by the driver inside tasks.
    victim = next(part[1].mailbox for part in planned if len(part) > 1)
    df = read(table="Messages", rowsPerPartition="100").select("Id", "UserId")
    assert df.rdd.getNumPartitions() == len(planned)  # planned (and /$count sent) now
    rule = tenant.faults.add(kind="status", status=500, path=f"/users/{victim}/messages",
                             count=1)
    throttle = tenant.faults.add(kind="status", status=429, retry_after=0.05,
                                 path="/messages", count=3)
    try:
        got = _spark_rows(df)
    finally:
        tenant.faults.clear()
    assert rule.fired == 1 and throttle.fired == 3
    expected = _driver_rows(driver, f"SELECT Id, UserId FROM Messages WHERE UserId IN {ALL}")
    assert got == expected
    assert len({r[0] for r in got}) == len(got)


def test_secrets_never_reach_plans_partitions_or_reprs(read: Any, tenant: Emulator) -> None:
    secret = str(tenant.app.client_secret)
    df = read(table="Messages", rowsPerPartition="100").filter("IsRead = false")
    texts = [df._jdf.queryExecution().toString(), df.schema.json(), repr(df)]
    texts.append(df._sc._jvm.PythonSQLUtils.explainString(df._jdf.queryExecution(), "formatted")
                 if hasattr(df._sc._jvm, "PythonSQLUtils") else "")
    options = parse_options(source_options(tenant, table="Messages"))
    planned = _plan(tenant, table="Messages", rowsPerPartition="100")
    from o365sql.spark.source import MailboxPartition, MailboxReader, O365DataSource

    texts += [repr(MailboxPartition(i, len(planned), p)) for i, p in enumerate(planned)]
    texts += [repr(options), repr(MailboxReader(options, _statement(options, None))),
              repr(O365DataSource(source_options(tenant, table="Messages")))]
    assert all(secret not in text for text in texts)
    assert "RelationV2" in texts[0]  # the plan was printed, and holds no secret


def test_pushed_filters_reach_graph_and_reused_dataframes_stay_exact(
        read: Any, driver: Any, tenant: Emulator) -> None:
    since = "2026-10-01"
    where = f"ReceivedDateTime >= '{since}' AND IsRead = false"
    expected = _driver_rows(driver, f"SELECT {COLUMNS} FROM Messages WHERE {where} "
                                    f"AND UserId IN {ALL}")
    pushing = read(table="Messages", pushFilters="true").select(*COLUMNS.split(", "))
    tenant.clear_log()
    assert _spark_rows(pushing.filter(where)) == expected and expected
    reads = message_reads(tenant)
    assert len(reads) == USERS + 1 and all("receivedDateTime ge 2026-10-01T00:00:00Z" in q for q in reads)
    # Off by default: Spark reuses a DataFrame's first planned read for later queries
    # (options.py), so the same DataFrame filtered, then not, must still see every row.
    plain = read(table="Messages").select(*COLUMNS.split(", "))
    assert _spark_rows(plain.filter(where)) == expected
    everything = _driver_rows(driver, f"SELECT {COLUMNS} FROM Messages WHERE UserId IN {ALL}")
    assert plain.count() == len(everything) > len(expected)


def test_a_mailbox_that_is_gone_is_skipped_with_its_404(spark: Any, tmp_path: Path) -> None:
    with Emulator(seed=5, users=3, messages_per_user=6, events_per_user=0,
                  contacts_per_user=0, groups=1) as small:
        gone = small.users[1]
        small.tenant.remove_mailbox(gone)  # unlicensed, inactive or moved on-premises
        report = tmp_path / "gone"
        df = (spark.read.format("o365sql").options(**source_options(small))
              .option("table", "Messages").option("mailboxes", ",".join(small.users))
              .option("onMailboxError", "skip").option("mailboxErrorsPath", str(report))
              .load().select("UserId", "Id"))
        got = sorted(tuple(r) for r in df.collect())
        assert {r[0] for r in got} == {small.users[0], small.users[2]}
        assert len(got) >= 2 * 6
        lines = [json.loads(line) for f in report.glob("part-*.jsonl")
                 for line in f.read_text().splitlines()]
        assert [(r["mailbox"], r["status"]) for r in lines] == [(gone, 404)]
