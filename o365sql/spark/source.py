"""The Spark Python data source ``o365sql`` (``pyspark.sql.datasource``, Spark 4.1+).

Stage: the Spark surface; everything it does is the driver's (``o365sql.connect``, the
catalog, the planner). Spark calls, in order and in separate Python workers:

* ``DataSource.schema()`` on Spark's driver: the result columns of the ``table``/``query``
  option as the driver's planner types them (``statement.py``, ``schema.py``);
* ``DataSource.reader(schema)`` and, with the option ``pushFilters=true`` and
  ``spark.sql.python.filterPushdown.enabled`` on, ``reader.pushFilters(filters)``: Spark's
  filters become WHERE conjuncts (``filters.py``; why it is off by default: ``options.py``);
* ``reader.partitions()`` on Spark's driver: mailboxes listed and sized, partitions planned
  (``discovery.py``, ``partitioning.py``);
* ``reader.read(partition)`` in each task on the executors (``task.py``).

Secrets: the options (connection properties included) travel inside the pickled data source
and reader, which Spark neither prints nor shows in its UI; the partitions carry mailboxes and
time ranges only, and every object here that holds properties masks secrets in its ``repr``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from ..catalog import load_catalog
from . import budget
from .discovery import plan_partitions
from .filters import translate
from .options import SourceOptions, parse_options
from .partitioning import Slice
from .statement import ReadStatement, read_statement
from .task import TaskPlan, read_slices

#: The module of Spark's worker that calls ``pushFilters`` (only when pushdown is enabled).
_PUSHDOWN_WORKER = "pyspark.sql.worker.data_source_pushdown_filters"


class MailboxPartition(InputPartition):
    """One task's work: its number, the number of partitions of the read (which bounds how
    many tasks run at once), and its slices (mailboxes or time ranges of one). Spark pickles
    the reader before it asks for partitions, so what the plan learned travels here."""

    def __init__(self, index: int, of: int, slices: tuple[Slice, ...]) -> None:
        super().__init__(index)
        self.index = index
        self.of = of
        self.slices = slices


class O365DataSource(DataSource):
    """``spark.read.format("o365sql")``: Office 365 through o365sql, one task per mailbox
    (or group of small mailboxes, or time range of a large one)."""

    @classmethod
    def name(cls) -> str:
        return "o365sql"

    def schema(self) -> str:
        options = parse_options(self.options)
        return _statement(options, None).ddl()

    def reader(self, schema: StructType) -> DataSourceReader:
        options = parse_options(self.options)
        statement = _statement(options, schema)
        if options.push_filters and _called_for_pushdown():
            return FilteringReader(options, statement)
        return MailboxReader(options, statement)

    def __repr__(self) -> str:
        return "<o365sql Spark data source>"


class MailboxReader(DataSourceReader):
    """Plans partitions by mailbox and reads them through the driver."""

    def __init__(self, options: SourceOptions, statement: ReadStatement) -> None:
        self.options = options
        self.statement = statement
        self.pushed: tuple[Any, ...] = ()

    def partitions(self) -> Sequence[InputPartition]:
        planned = plan_partitions(self.options, self.statement, self.pushed)
        return [MailboxPartition(i, len(planned), slices) for i, slices in enumerate(planned)]

    def read(self, partition: InputPartition) -> Iterator[tuple[Any, ...]]:
        assert isinstance(partition, MailboxPartition)
        options = self.options
        plan = TaskPlan(
            statement=self.statement, pushed=tuple(self.pushed),
            properties=options.properties, skip_errors=options.on_mailbox_error == "skip",
            errors_path=options.errors_path,
            rate=budget.task_rate(options.requests_per_second, options.task_slots,
                                  partition.of))
        return read_slices(plan, partition.index, partition.slices)

    def __repr__(self) -> str:
        return f"<o365sql Spark reader of {self.statement.table}>"


class FilteringReader(MailboxReader):
    """The reader Spark hands its filters to (filter pushdown enabled)."""

    def pushFilters(self, filters: list[Any]) -> Iterable[Any]:
        self.pushed = tuple(translate(filters, self.statement.columns))
        # Every filter goes back to Spark too: see filters.py for why that keeps answers exact.
        return filters


def _statement(options: SourceOptions, schema: StructType | None) -> ReadStatement:
    catalog = load_catalog(options.properties.location)
    statement = read_statement(catalog, table=options.table, query=options.query,
                               split_option=options.split_column)
    if schema is None or options.table is None:
        return statement
    wanted = [field.name for field in schema.fields]
    if [c.name.lower() for c in statement.columns] == [w.lower() for w in wanted]:
        return statement
    # A schema the user gave Spark: read just its columns (Spark's only column pruning).
    return read_statement(catalog, table=options.table, query=None,
                          split_option=options.split_column, wanted=wanted)


def _called_for_pushdown() -> bool:
    """True when Spark's filter pushdown worker asks for the reader.

    Spark raises DATA_SOURCE_PUSHDOWN_DISABLED when a reader defines ``pushFilters`` while
    ``spark.sql.python.filterPushdown.enabled`` is off (its default), and only its pushdown
    worker (``_PUSHDOWN_WORKER``) runs when it is on; the reader cannot see the setting, so it
    looks at who called it. Should Spark move that worker, the reader simply takes no filters
    (Spark then applies them all, and answers stay the same).
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == _PUSHDOWN_WORKER:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False
