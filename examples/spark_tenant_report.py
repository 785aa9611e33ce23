"""A tenant-wide mail report with Apache Spark and o365sql, against the built-in emulator.

    pip install -e '.[spark]'          # pyspark 4.1+ and pyarrow; Spark needs a Java 17+ runtime
    python examples/spark_tenant_report.py --users 200

Starts the emulator with many users, signs in app-only as its demo app (client credentials),
reads every mailbox's messages in parallel Spark tasks (one per mailbox, small ones grouped),
scopes the app away from two mailboxes to show ``onMailboxError=skip`` and its report, and
prints: messages and unread mail per department, the busiest senders, and mail per month.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from o365sql.emulator import Emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="mailboxes in the tenant")
    parser.add_argument("--messages", type=int, default=30, help="messages per mailbox")
    parser.add_argument("--master", default="local[2]", help="Spark master URL")
    args = parser.parse_args()

    # Spark's Python workers must run this interpreter (the one with o365sql installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import o365sql.spark

    with Emulator(users=args.users, messages_per_user=args.messages, events_per_user=1,
                  contacts_per_user=1) as emu:
        spark = (SparkSession.builder.master(args.master).appName("o365sql tenant report")
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.session.timeZone", "UTC").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        spark.dataSource.register(o365sql.spark.DataSource)

        # An administrator scoped the app away from two mailboxes (an application access
        # policy): those answer 403 and are skipped and reported, the rest is read.
        emu.scope_app(emu.users[3:5], access_right="DenyAccess")
        report_dir = tempfile.mkdtemp(prefix="o365sql-skipped-")
        connection = {
            "AuthScheme": "AzureServicePrincipal", "AzureTenant": emu.tenant_id,
            "OAuthClientId": emu.app.client_id, "OAuthClientSecret": emu.app.client_secret,
            # The emulator's addresses and CA; against Microsoft 365 leave these out.
            "GraphURL": emu.graph_url, "AuthorityURL": emu.base_url, "SSLServerCert": emu.ca_path,
        }

        def source() -> object:
            return spark.read.format("o365sql").options(**connection)

        started = time.perf_counter()
        messages = (source().option("table", "Messages").option("onMailboxError", "skip")
                    .option("mailboxErrorsPath", report_dir).option("rowsPerPartition", "500")
                    .load().select("UserId", "ReceivedDateTime", "IsRead",
                                   "From_EmailAddress_Address"))
        messages.cache().createOrReplaceTempView("messages")
        source().option("table", "Users").load().createOrReplaceTempView("users")
        total = messages.count()
        print(f"read {total} messages from {args.users + 1} mailboxes in "
              f"{messages.rdd.getNumPartitions()} Spark tasks, "
              f"{time.perf_counter() - started:.1f} s\n")

        print("messages and unread mail per department")
        spark.sql("""
            SELECT COALESCE(u.Department, '(none)') AS department, COUNT(*) AS messages,
                   SUM(CASE WHEN m.IsRead THEN 0 ELSE 1 END) AS unread
            FROM messages m JOIN users u ON m.UserId = u.Id
            GROUP BY u.Department ORDER BY messages DESC""").show(truncate=False)

        print("busiest senders")
        spark.sql("""
            SELECT From_EmailAddress_Address AS sender, COUNT(*) AS messages,
                   COUNT(DISTINCT UserId) AS mailboxes
            FROM messages WHERE From_EmailAddress_Address IS NOT NULL  -- drafts have no sender
            GROUP BY From_EmailAddress_Address
            ORDER BY messages DESC, sender LIMIT 10""").show(truncate=False)

        print("mail per month")
        spark.sql("""
            SELECT date_format(ReceivedDateTime, 'yyyy-MM') AS month, COUNT(*) AS messages
            FROM messages GROUP BY 1 ORDER BY 1 DESC LIMIT 12""").show()

        print("skipped mailboxes (onMailboxError=skip, mailboxErrorsPath)")
        spark.read.json(report_dir).select("mailbox", "status", "code").show(truncate=False)
        spark.stop()


if __name__ == "__main__":
    main()
