"""Text known only when the query runs, compared with a typed expression (issue 9 points 2 and
4): a scalar subquery, a CTE's or derived table's text column, a JSON value. It is read as the
other side's type row by row (``planning/typed_text.py`` ``TEXT_AS``), so datetimes compare as
instants and booleans as booleans; text that is no such value is a DataError naming the
column, never a silent text comparison."""

from __future__ import annotations

from typing import Any

import pytest
from execution_support import rows

from o365sql import DataError

TENANT = {"seed": 3, "users": 2, "messages_per_user": 40, "events_per_user": 4}
SHAPES = (
    "SELECT Id FROM Messages WHERE ReceivedDateTime >= (SELECT '{t}')",
    ("WITH b AS (SELECT '{t}' AS t) SELECT m.Id FROM Messages m, b "
     "WHERE m.ReceivedDateTime >= b.t"),
    "SELECT m.Id FROM Messages m JOIN (SELECT '{t}' AS t) b ON m.ReceivedDateTime = b.t",
    # JSON values: their type is known only at run time (any SQLite value).
    "SELECT m.Id FROM Messages m, json_each('[\"{t}\"]') j WHERE m.ReceivedDateTime >= j.value",
    "SELECT m.Id FROM Messages m JOIN json_each('[\"{t}\"]') j ON m.ReceivedDateTime >= j.value",
    "SELECT Id FROM Messages WHERE ReceivedDateTime >= json_extract('{{\"a\": \"{t}\"}}', '$.a')",
)


def test_runtime_text_is_read_as_the_compared_type(on: Any, off: Any) -> None:
    dump = rows(on, "SELECT Id, ReceivedDateTime, IsRead FROM Messages")
    assert len(dump) >= 20 and {r[2] for r in dump} == {True, False}
    compared = 0
    for _, moment, _ in dump[:8]:
        for spelling in (moment.isoformat().replace("+00:00", "Z"),
                         moment.astimezone().isoformat(), moment.strftime("%Y-%m-%dT%H:%M:%S")):
            for sql in SHAPES:
                expected = sorted(r[0] for r in dump if (
                    r[1] == moment if " = " in sql else r[1] >= moment))
                for connection in (on, off):
                    got = sorted(r[0] for r in rows(connection, sql.format(t=spelling)))
                    assert got == expected, (sql, spelling)
                    compared += 1
    for word, value in (("false", False), ("yes", True)):
        got = sorted(r[0] for r in rows(
            on, f"SELECT m.Id FROM Messages m JOIN (SELECT '{word}' AS f) x ON m.IsRead = x.f"))
        assert got == sorted(r[0] for r in dump if r[2] is value)
        compared += 1
    assert compared >= 100


@pytest.mark.parametrize("sql", [
    "SELECT Id FROM Messages WHERE ReceivedDateTime > (SELECT 'last tuesday')",
    "SELECT Id FROM Messages WHERE IsRead = (SELECT 'maybe')",
    "SELECT Id FROM Messages WHERE ReceivedDateTime > Subject",
])
def test_runtime_text_that_is_no_value_is_a_data_error_naming_the_column(
        on: Any, sql: str) -> None:
    with pytest.raises(DataError) as raised:
        rows(on, sql)
    assert "Messages." in str(raised.value) and "sqlite" not in str(raised.value).lower()
