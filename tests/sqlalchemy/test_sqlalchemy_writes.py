"""Bulk writes through SQLAlchemy and pandas: ``df.to_sql('Contacts', engine,
if_exists='append', index=False)`` inserts every row through ``executemany``, which sends the
writes 20 to a ``$batch`` request; the rows are read back through SQL."""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import sqlalchemy as sa

import o365sql


def test_dataframe_to_sql_appends_contacts_in_few_requests(emu: Any, engine: sa.Engine,
                                                           raw: o365sql.Connection) -> None:
    surname = "t" + uuid.uuid4().hex[:10]
    frame = pd.DataFrame({
        "GivenName": [f"Person {n}" for n in range(50)],
        "Surname": [surname] * 50,
        "CompanyName": ["Contoso" if n % 2 else "Fabrikam" for n in range(50)],
        # In the form Contacts.EmailAddresses reads (Graph's order: name, then address).
        "EmailAddresses": [f'[{{"name":"Person {n}","address":"p{n}@example.com"}}]'
                           for n in range(50)],
    })
    emu.clear_log()
    written = frame.to_sql("Contacts", engine, if_exists="append", index=False)
    assert written == 50
    writes = [e for e in emu.log if e.method != "GET"]
    # 50 rows: three $batch POSTs (20 + 20 + 10, sent side by side), no request per row.
    assert sorted((e.method, e.path.rsplit("/", 1)[-1], len(e.inner)) for e in writes) == [
        ("POST", "$batch", 10), ("POST", "$batch", 20), ("POST", "$batch", 20)]
    cur = raw.cursor()
    cur.execute("SELECT GivenName, CompanyName, EmailAddresses FROM Contacts WHERE Surname = ? "
                "ORDER BY GivenName", [surname])
    back = pd.DataFrame(cur.fetchall(), columns=["GivenName", "CompanyName", "EmailAddresses"])
    expected = frame.drop(columns="Surname").sort_values("GivenName").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected)


def test_core_insert_update_delete(engine: sa.Engine, raw: o365sql.Connection) -> None:
    surname = "t" + uuid.uuid4().hex[:10]
    contacts = sa.table("Contacts", sa.column("Id"), sa.column("GivenName"),
                        sa.column("Surname"), sa.column("JobTitle"))
    with engine.connect() as conn:
        result = conn.execute(sa.insert(contacts), [
            {"GivenName": "Ann", "Surname": surname}, {"GivenName": "Bo", "Surname": surname}])
        assert result.rowcount == 2
        result = conn.execute(sa.update(contacts).where(contacts.c.Surname == surname)
                              .values(JobTitle="Chef"))
        assert result.rowcount == 2
        cur = raw.cursor()
        cur.execute("SELECT GivenName, JobTitle FROM Contacts WHERE Surname = ? "
                    "ORDER BY GivenName", [surname])
        assert cur.fetchall() == [("Ann", "Chef"), ("Bo", "Chef")]
        result = conn.execute(sa.delete(contacts).where(contacts.c.GivenName == "Ann")
                              .where(contacts.c.Surname == surname))
        assert result.rowcount == 1
    cur.execute("SELECT GivenName FROM Contacts WHERE Surname = ?", [surname])
    assert cur.fetchall() == [("Bo",)]


def test_core_insert_returning_gives_the_new_ids(engine: sa.Engine,
                                                 raw: o365sql.Connection) -> None:
    surname = "t" + uuid.uuid4().hex[:10]
    contacts = sa.table("Contacts", sa.column("Id"), sa.column("GivenName"),
                        sa.column("Surname"))
    with engine.connect() as conn:
        new_id = conn.execute(sa.insert(contacts).values(GivenName="Cy", Surname=surname)
                              .returning(contacts.c.Id)).scalar_one()
    cur = raw.cursor()
    cur.execute("SELECT Id, GivenName FROM Contacts WHERE Surname = ?", [surname])
    assert cur.fetchall() == [(new_id, "Cy")]
