"""Stuart Bishop's PEP 249 compliance suite (PyPI ``dbapi-compliance`` 1.15.0, module
``dbapi20``), run against o365sql connected to the emulator.

Every one of its 36 tests runs. 19 apply as they are. The others are overridden here, each
saying why (style-and-conventions §2.7):

* o365sql cannot create tables or insert rows (Graph has no DDL; writes are not supported
  yet), so the suite's ``executeDDL1/2`` run the DDL and assert that it is refused with
  ``NotSupportedError``, which leaves the cursor without a result set exactly as a DDL
  statement would. The twelve tests built on ``CREATE TABLE booze`` + ``INSERT`` are
  rewritten over seeded data instead, keeping their assertions: the "booze" table is
  ``SELECT DisplayName FROM Users`` and its samples are the emulator tenant's display names.
* ``close()`` twice is allowed (as in sqlite3 and psycopg), so ``test_non_idempotent_close``
  checks that instead.
* ``nextset`` is not implemented (no procedure returns several result sets) and
  ``setoutputsize`` is a no-op; the suite requires drivers to override both tests.
* ``test_callproc`` uses a real read-only procedure (``GetOAuthAuthorizationURL``) instead
  of ``lower``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dbapi20
import pytest

import o365sql
from o365sql.emulator import Emulator

BOOZE = "SELECT DisplayName FROM Users"
NOTHING = "SELECT DisplayName FROM Users WHERE DisplayName = 'Nobody of that name'"


@pytest.fixture(scope="module")
def dbapi_emulator() -> Iterator[Emulator]:
    with Emulator(seed=1) as emulator:
        yield emulator


class TestO365sqlDBAPI20(dbapi20.DatabaseAPI20Test):
    driver = o365sql
    connect_args = ()
    table_prefix = "dbapi20test_"
    lower_func = None  # test_callproc is overridden with a real procedure

    @pytest.fixture(autouse=True)
    def _use_emulator(self, dbapi_emulator: Emulator) -> None:
        emu = dbapi_emulator
        self.emu = emu
        self.connect_kw_args = {
            "OAuthAccessToken": emu.mint_token(user=emu.users[0]),
            "GraphURL": emu.graph_url,
            "SSLServerCert": emu.ca_path,
            "OAuthClientId": emu.app.client_id,
            "AuthorityURL": emu.base_url,
            "AzureTenant": emu.tenant_id,
        }
        # The suite's "booze" table: the tenant's people, read from the emulator's own data.
        self.samples = sorted(u["displayName"] for u in emu.tenant.users)

    # -- the suite's DDL hooks: DDL is refused, which leaves no result set ----------------------

    def executeDDL1(self, cursor: Any) -> None:
        self.assertRaises(o365sql.NotSupportedError, cursor.execute, self.ddl1)

    def executeDDL2(self, cursor: Any) -> None:
        self.assertRaises(o365sql.NotSupportedError, cursor.execute, self.ddl2)

    def _paraminsert(self, cur: Any) -> None:
        """Read-only stand-in: a named parameter next to placeholder look-alikes in a literal."""
        self.executeDDL2(cur)
        cur.execute(
            "SELECT DisplayName FROM Users WHERE DisplayName = :name "
            "OR DisplayName = 'thi%s :may ca%(u)se? troub:1e'",
            {"name": self.samples[0]},
        )
        rows = cur.fetchall()
        self.assertEqual(rows, [(self.samples[0],)])
        self.assertEqual(cur.rowcount, 1)

    # -- B: policy ------------------------------------------------------------------------------

    def test_non_idempotent_close(self) -> None:
        """close() twice is allowed (sqlite3, psycopg); the connection stays closed."""
        con = self._connect()
        cur = con.cursor()
        con.close()
        con.close()
        self.assertTrue(con.closed)
        self.assertRaises(o365sql.InterfaceError, cur.execute, BOOZE)
        self.assertRaises(o365sql.InterfaceError, con.cursor)

    # -- C: the suite requires these to be overridden -------------------------------------------

    def test_nextset(self) -> None:
        """No procedure returns several result sets, so nextset is left out (PEP 249: optional)."""
        con = self._connect()
        try:
            self.assertFalse(hasattr(con.cursor(), "nextset"))
        finally:
            con.close()

    def test_setoutputsize(self) -> None:
        """setoutputsize is a no-op: large values (bodies) are fetched whole."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.setoutputsize(10, 0)
            cur.execute(BOOZE)
            self.assertEqual(sorted(r[0] for r in cur.fetchall()), self.samples)
        finally:
            con.close()

    # -- D: a real procedure instead of lower() -------------------------------------------------

    def test_callproc(self) -> None:
        con = self._connect()
        try:
            cur = con.cursor()
            args = ("https://app.example/cb", None, "state-FOO")
            r = cur.callproc("GetOAuthAuthorizationURL", args)
            self.assertEqual(list(r), list(args))
            self.assertIsNot(r, args)
            rows = cur.fetchall()
            self.assertEqual(len(rows), 1, "callproc produced no result set")
            self.assertEqual(len(rows[0]), 1)
            self.assertIn("state=state-FOO", rows[0][0])
            self.assertTrue(rows[0][0].startswith(self.emu.authority))
            self.assertEqual(cur.description[0][1], o365sql.STRING)
        finally:
            con.close()

    # -- E: over seeded data instead of CREATE TABLE + INSERT -----------------------------------

    def test_cursor_isolation(self) -> None:
        """Two cursors of one connection keep independent result sets."""
        con = self._connect()
        try:
            cur1, cur2 = con.cursor(), con.cursor()
            cur1.execute(BOOZE)
            cur2.execute(NOTHING)
            first = cur1.fetchone()
            self.assertEqual(cur2.fetchall(), [])
            rest = cur1.fetchall()
            self.assertEqual(sorted([first[0]] + [r[0] for r in rest]), self.samples)
        finally:
            con.close()

    def test_description(self) -> None:
        con = self._connect()
        try:
            cur = con.cursor()
            self.executeDDL1(cur)
            self.assertEqual(cur.description, None)
            cur.execute(BOOZE)
            self.assertEqual(len(cur.description), 1)
            self.assertEqual(len(cur.description[0]), 7)
            self.assertEqual(cur.description[0][0], "DisplayName")
            self.assertEqual(cur.description[0][1], o365sql.STRING)
            self.executeDDL1(cur)
            self.assertIn(cur.rowcount, (-1, 0))
            self.assertEqual(cur.description, None)
        finally:
            con.close()

    def test_rowcount(self) -> None:
        con = self._connect()
        try:
            cur = con.cursor()
            self.executeDDL1(cur)
            self.assertIn(cur.rowcount, (-1, 0))
            cur.execute(BOOZE)
            self.assertIn(cur.rowcount, (-1, len(self.samples)))
            cur.fetchall()
            self.assertEqual(cur.rowcount, len(self.samples))
            self.executeDDL2(cur)
            self.assertIn(cur.rowcount, (-1, 0))
        finally:
            con.close()

    def test_executemany(self) -> None:
        """executemany of a write to a table the catalog lacks, or of a SELECT, is an error
        (writes themselves: tests/writes/)."""
        con = self._connect()
        try:
            cur = con.cursor()
            margs = [{"beer": "Cooper's"}, {"beer": "Boag's"}]
            self.assertRaises(
                o365sql.ProgrammingError,
                cur.executemany,
                f"insert into {self.table_prefix}booze values (:beer)",
                margs,
            )
            self.assertRaises(
                o365sql.ProgrammingError,
                cur.executemany,
                "SELECT DisplayName FROM Users WHERE DisplayName = :beer",
                margs,
            )
            cur.executemany("SELECT DisplayName FROM Users WHERE DisplayName = :beer", [])
            self.assertEqual(cur.rowcount, 0)
        finally:
            con.close()

    def test_fetchone(self) -> None:
        con = self._connect()
        try:
            cur = con.cursor()
            self.assertRaises(o365sql.Error, cur.fetchone)
            self.executeDDL1(cur)
            self.assertRaises(o365sql.Error, cur.fetchone)
            cur.execute(NOTHING)
            self.assertEqual(cur.fetchone(), None)
            self.assertIn(cur.rowcount, (-1, 0))
            self.executeDDL1(cur)
            self.assertRaises(o365sql.Error, cur.fetchone)
            cur.execute(
                "SELECT DisplayName FROM Users WHERE DisplayName = :n", {"n": self.samples[-1]}
            )
            r = cur.fetchone()
            self.assertEqual(len(r), 1)
            self.assertEqual(r[0], self.samples[-1])
            self.assertEqual(cur.fetchone(), None)
            self.assertIn(cur.rowcount, (-1, 1))
        finally:
            con.close()

    def test_fetchmany(self) -> None:
        n = len(self.samples)
        con = self._connect()
        try:
            cur = con.cursor()
            self.assertRaises(o365sql.Error, cur.fetchmany, 4)
            cur.execute(BOOZE)
            self.assertEqual(len(cur.fetchmany()), 1)  # arraysize defaults to 1
            cur.arraysize = 10
            self.assertEqual(len(cur.fetchmany(3)), 3)
            self.assertEqual(len(cur.fetchmany(n)), n - 4)
            self.assertEqual(len(cur.fetchmany(4)), 0)
            self.assertIn(cur.rowcount, (-1, n))
            cur.arraysize = 4
            cur.execute(BOOZE)
            self.assertEqual(len(cur.fetchmany()), 4)
            self.assertEqual(len(cur.fetchmany()), n - 4)
            self.assertEqual(len(cur.fetchmany()), 0)
            self.assertIn(cur.rowcount, (-1, n))
            cur.arraysize = n
            cur.execute(BOOZE)
            rows = cur.fetchmany()
            self.assertEqual(sorted(r[0] for r in rows), self.samples)
            self.assertEqual(cur.fetchmany(), [])
            self.assertIn(cur.rowcount, (-1, n))
            self.executeDDL2(cur)
            cur.execute(NOTHING)
            self.assertEqual(len(cur.fetchmany()), 0)
            self.assertIn(cur.rowcount, (-1, 0))
        finally:
            con.close()

    def test_fetchall(self) -> None:
        con = self._connect()
        try:
            cur = con.cursor()
            self.assertRaises(o365sql.Error, cur.fetchall)
            self.executeDDL1(cur)
            self.assertRaises(o365sql.Error, cur.fetchall)
            cur.execute(BOOZE)
            rows = cur.fetchall()
            self.assertIn(cur.rowcount, (-1, len(self.samples)))
            self.assertEqual(sorted(r[0] for r in rows), self.samples)
            self.assertEqual(cur.fetchall(), [])
            self.executeDDL2(cur)
            cur.execute(NOTHING)
            self.assertEqual(cur.fetchall(), [])
            self.assertIn(cur.rowcount, (-1, 0))
        finally:
            con.close()

    def test_mixedfetch(self) -> None:
        con = self._connect()
        try:
            cur = con.cursor()
            cur.execute(BOOZE)
            rows1 = cur.fetchone()
            rows23 = cur.fetchmany(2)
            rows4 = cur.fetchone()
            rest = cur.fetchall()
            self.assertIn(cur.rowcount, (-1, len(self.samples)))
            self.assertEqual(len(rows23), 2)
            self.assertEqual(len(rest), len(self.samples) - 4)
            got = [rows1[0], rows23[0][0], rows23[1][0], rows4[0]] + [r[0] for r in rest]
            self.assertEqual(sorted(got), self.samples)
        finally:
            con.close()

    def test_None(self) -> None:
        """A Graph null comes back as None (a person without a mobile phone)."""
        user = next(u for u in self.emu.tenant.users if u.get("mobilePhone") is None)
        con = self._connect()
        try:
            cur = con.cursor()
            cur.execute("SELECT MobilePhone FROM Users WHERE Id = :id", {"id": user["id"]})
            self.assertEqual(cur.fetchall(), [(None,)])
        finally:
            con.close()
