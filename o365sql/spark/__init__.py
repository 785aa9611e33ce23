"""o365sql as an Apache Spark data source: a tenant's mailboxes read by many tasks at once.

``spark.dataSource.register(o365sql.spark.DataSource)``, then
``spark.read.format("o365sql").option("table", "Messages")...load()`` (needs the ``spark``
extra: pyspark 4.1+ and pyarrow). Spark calls the driver here, never the other way round: the
schema comes from o365sql's catalog and planner, partitions are planned by mailbox on Spark's
driver, and each task runs ``o365sql`` itself on its mailboxes. Nothing outside this package
imports Spark.

Modules, in the order a read uses them: ``options`` (the source's options apart from the
connection properties), ``statement`` (the SELECT and its result columns), ``schema`` (Spark
types), ``filters`` (Spark's pushed filters as WHERE conjuncts), ``discovery`` and
``partitioning`` (mailboxes, sizes, partitions), ``signin`` and ``budget`` (each task's
connection and its share of the request budget), ``task`` (reading one partition), ``source``
(the pyspark classes).
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("o365sql.spark needs pyspark 4.1+ and pyarrow: "
                      "pip install 'o365sql[spark]'") from exc

from .source import MailboxPartition, O365DataSource

#: The class to register: ``spark.dataSource.register(o365sql.spark.DataSource)``.
DataSource = O365DataSource

__all__ = ["DataSource", "MailboxPartition", "O365DataSource"]
