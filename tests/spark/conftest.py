"""Fixtures for the Spark data source tests: one emulated tenant of 61 small mailboxes, one
local Spark (``local[2,3]``: two cores, a failed task tried up to three times) for the whole
session (Spark takes seconds to start), the source registered, and the driver as the oracle.

Spark's Python workers are started with this interpreter (``PYSPARK_PYTHON``), so they import
the o365sql under test. The JRE comes from ``tests/install_tools.sh``.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pyspark = pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")

import o365sql
from o365sql.emulator import Emulator

USERS = 60  # plus the shared mailbox the emulator adds


@pytest.fixture(scope="session")
def tenant() -> Iterator[Emulator]:
    with Emulator(seed=14, users=USERS, messages_per_user=9, events_per_user=1,
                  contacts_per_user=1, groups=2) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2,3]").appName("o365sql-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.python.filterPushdown.enabled", "true")
               .config("spark.sql.shuffle.partitions", "4")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    import o365sql.spark

    session.dataSource.register(o365sql.spark.DataSource)
    yield session
    session.stop()


def source_options(emu: Emulator, **extra: str) -> dict[str, str]:
    """The options of an app-only read of the emulated tenant (secret included)."""
    options = {
        "AuthScheme": "AzureServicePrincipal", "AzureTenant": emu.tenant_id,
        "OAuthClientId": emu.app.client_id, "OAuthClientSecret": str(emu.app.client_secret),
        "GraphURL": emu.graph_url, "AuthorityURL": emu.base_url, "SSLServerCert": emu.ca_path,
    }
    options.update(extra)
    return options


@pytest.fixture
def read(spark: Any, tenant: Emulator) -> Any:
    """``read(table=..., **options)`` -> a DataFrame over the emulated tenant."""
    def build(**extra: str) -> Any:
        return spark.read.format("o365sql").options(**source_options(tenant, **extra)).load()

    return build


@pytest.fixture(scope="session")
def driver(tenant: Emulator) -> Iterator[o365sql.Connection]:
    """The oracle: the driver in this process, app-only, over the same tenant."""
    options = source_options(tenant)
    with o365sql.connect(**options) as connection:
        yield connection


def comparable(row: Any) -> tuple[Any, ...]:
    """A row with instants as epoch seconds: Spark hands TIMESTAMP values back naive (in the
    local zone), the driver aware."""
    return tuple(v.timestamp() if isinstance(v, dt.datetime) else v for v in row)


def graph_requests(emu: Emulator) -> list[Any]:
    return [e for e in emu.log if e.kind == "graph"]


def message_reads(emu: Emulator) -> list[str]:
    """The query strings (decoded) of every read of a mailbox's messages, whether sent alone
    or inside a ``$batch`` POST (how a task reads its group of mailboxes)."""
    from urllib.parse import unquote

    found = [e.query for e in emu.log if e.kind == "graph" and e.path.endswith("/messages")]
    found += [i["url"].partition("?")[2] for e in emu.log if e.path.endswith("/$batch")
              for i in e.inner if i["url"].split("?")[0].endswith("/messages")]
    return [unquote(q) for q in found]
