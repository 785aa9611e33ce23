"""Pure parts of the Spark source: partition planning, options, filters, the request budget.

No Spark session and no emulator: these run in milliseconds.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from o365sql.catalog import load_catalog
from o365sql.exceptions import NotSupportedError, ProgrammingError
from o365sql.spark.budget import task_rate
from o365sql.spark.filters import translate
from o365sql.spark.options import parse_options
from o365sql.spark.partitioning import MIN_WEIGHT, MailboxSize, parse_iso, plan, time_slices
from o365sql.spark.statement import read_statement

START = datetime(2025, 1, 1, tzinfo=UTC)
APP = {"AuthScheme": "AzureServicePrincipal", "AzureTenant": "t", "OAuthClientId": "c",
       "OAuthClientSecret": "s3cr3t-value"}


def _covering(slices: list, values: list[datetime]) -> list[int]:
    """How many slices each value falls in (half-open ranges)."""
    counts = []
    for value in values:
        n = 0
        for piece in slices:
            low = parse_iso(piece.low) if piece.low else None
            high = parse_iso(piece.high) if piece.high else None
            if (low is None or value >= low) and (high is None or value < high):
                n += 1
        counts.append(n)
    return counts


def test_time_slices_cover_every_instant_exactly_once() -> None:
    rng = random.Random(14)
    checked = 0
    for _ in range(200):
        first = START + timedelta(seconds=rng.randrange(10**7))
        last = first + timedelta(seconds=rng.randrange(1, 10**8), microseconds=rng.randrange(10**6))
        pieces = rng.randrange(2, 40)
        slices = time_slices(MailboxSize("m", 10, first, last), pieces)
        assert slices[0].low is None and slices[-1].high is None
        assert all(a.high == b.low for a, b in itertools.pairwise(slices))
        probes = [first, last, *(first + (last - first) * rng.random() for _ in range(30))]
        probes += [parse_iso(s.low) for s in slices if s.low]  # every boundary itself
        assert _covering(slices, probes) == [1] * len(probes)
        checked += len(probes)
    assert checked > 6000


def test_plan_groups_small_mailboxes_and_splits_large_ones() -> None:
    rng = random.Random(3)
    sizes = [MailboxSize(f"m{i}", rng.randrange(0, 300)) for i in range(500)]
    sizes.append(MailboxSize("big", 5_000, START, START + timedelta(days=365)))
    sizes.append(MailboxSize("unknown"))
    parts = plan(sizes, 1_000)
    seen = [s.mailbox for part in parts for s in part]
    assert sorted(set(seen)) == sorted(s.mailbox for s in sizes)
    assert seen.count("big") == 5 and seen.count("unknown") == 1
    assert all(len(part) == 1 for part in parts if part[0].mailbox in ("big", "unknown"))
    weight = {s.mailbox: max(s.rows or 0, MIN_WEIGHT) for s in sizes}
    groups = [part for part in parts if part[0].mailbox not in ("big", "unknown")]
    loads = [sum(weight[s.mailbox] for s in part) for part in groups]
    assert max(loads) <= 1_000
    # Even: every group but the lightest is at least half full.
    assert sorted(loads)[1] >= 500
    # The big mailbox's slices come first, so Spark starts them early, one after the other.
    assert [part[0].mailbox for part in parts[:5]] == ["big"] * 5


def test_options_are_checked_without_showing_values() -> None:
    options = parse_options({**APP, "table": "Messages", "MAILBOXES": "a@x, b@x,a@x",
                             "onMailboxError": "SKIP", "rowsPerPartition": "50"})
    assert options.mailboxes == ("a@x", "b@x") and options.on_mailbox_error == "skip"
    assert "s3cr3t-value" not in repr(options)
    bad = [({**APP}, "exactly one"), ({**APP, "table": "Messages", "query": "SELECT 1"},
                                      "exactly one"),
           ({**APP, "table": "Messages", "onMailboxError": "ignore"}, "onMailboxError"),
           ({**APP, "table": "Messages", "rowsPerPartition": "-3"}, "rowsPerPartition"),
           ({"table": "Messages"}, "unattended"),
           ({**APP, "table": "Messages", "OAuthClientSecrt": "x"}, "OAuthClientSecrt")]
    for given, fragment in bad:
        with pytest.raises(ProgrammingError, match=fragment) as caught:
            parse_options(given)
        assert "s3cr3t-value" not in str(caught.value)


def test_query_option_must_distribute_over_mailboxes() -> None:
    catalog = load_catalog()
    ok = read_statement(catalog, table=None, split_option=None,
                        query="SELECT Subject AS s, UPPER(Subject) AS u FROM Messages")
    assert [c.source for c in ok.columns] == ["Subject", None]
    for query in ("SELECT COUNT(*) FROM Messages", "SELECT DISTINCT Subject FROM Messages",
                  "SELECT m.Subject FROM Messages m JOIN Users u ON m.UserId = u.Id",
                  "SELECT Subject FROM Messages WHERE UserId IN ('a', 'b')"):
        with pytest.raises(NotSupportedError):
            read_statement(catalog, table=None, query=query, split_option=None)
    with pytest.raises(ProgrammingError, match="splitColumn"):
        read_statement(catalog, table="Messages", query=None, split_option="Subject")


def test_spark_filters_become_parameterised_conjuncts() -> None:
    from pyspark.sql.datasource import (
        EqualNullSafe,
        EqualTo,
        GreaterThanOrEqual,
        In,
        Not,
        StringStartsWith,
    )

    columns = read_statement(load_catalog(), table=None, split_option=None,
                             query="SELECT Subject, IsRead, ReceivedDateTime AS r, "
                                   "UPPER(Subject) AS shout FROM Messages").columns
    pushed = translate([EqualTo(("Subject",), "x' OR 1=1 --"), Not(EqualTo(("IsRead",), True)),
                        GreaterThanOrEqual(("r",), START), In(("subject",), ("a", "b")),
                        StringStartsWith(("Subject",), "50%"), EqualTo(("shout",), "X"),
                        EqualNullSafe(("Subject",), "y")], columns)
    texts = [p.sql for p in pushed]
    assert texts == ['"Subject" = :o365sql_f0', 'NOT ("IsRead" = :o365sql_f1)',
                     '"ReceivedDateTime" >= :o365sql_f2',
                     '"Subject" IN (:o365sql_f3_0, :o365sql_f3_1)']
    assert dict(pushed[0].values) == {"o365sql_f0": "x' OR 1=1 --"}


def test_budget_is_shared_by_the_tasks_that_run_at_once() -> None:
    assert task_rate(None, 8, 100) is None
    assert task_rate(100.0, 8, 100) == 12.5
    assert task_rate(100.0, None, 20) == 5.0  # at most one task per partition runs at once
    assert task_rate(100.0, 50, 4) == 25.0
