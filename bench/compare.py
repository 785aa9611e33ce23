"""o365sql against the alternatives, side by side on the emulator (issue 12): one entry point.

Not part of the test suite; timings are printed, never asserted. For each workload and each
latency (none, 50 ms per request, injected by the emulator's fault rules), the same work is
done by

* **floor**: a bare ``requests`` + ``json`` loop over the same pages (for the fan-out, the
  fastest of three hand-written clients at o365sql's concurrency, within Graph's limits:
  ``$batch`` bodies spread over the POSTs in flight, bodies of 20, plain GETs; see
  ``FloorFanOut``; and the one-by-one loop);
* **python-o365** (PyPI ``O365``) and **msgraph-sdk** (raw JSON through the SDK's adapter, and
  its typed models, the latter on at most ``--typed-rows`` rows: they cost ~7 ms a message);
* **o365sql**;

and each one's median of ``--runs`` runs, its ratio to the floor and to o365sql, the HTTP
requests the emulator served (its counters), the client's peak traced memory (one extra run
under ``tracemalloc``), and the CPU seconds the client and the emulator process spent are
printed. The peers are installed by this script into ``bench/.peers`` (``pip install
--target``; not the test extra). The emulator runs in its own process (``python -m
o365sql.emulator``), so it does not share the client's GIL.

Two o365sql-only measures follow: the client overhead of a repeated parameterised execute
(cProfile: time in o365sql minus time inside ``requests``), and the first query of a fresh
process after ``import o365sql``.

    python bench/compare.py --quick      # minutes on the 2-core machine
    python bench/compare.py              # the issue's sizes (100,000 messages, 201 mailboxes)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import requests

import o365sql
from o365sql.graph.client import DEFAULT_CONCURRENCY

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_path

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, ".peers")
COLUMNS = "Id, Subject, ReceivedDateTime, IsRead, From_EmailAddress_Address"
SELECT = "id,subject,receivedDateTime,isRead,from"
TOP50_FILTER = "receivedDateTime ge 2000-01-01T00:00:00Z and isRead eq false"


# --------------------------------------------------------------------------- set-up

def install_peers() -> None:
    """python-o365 and msgraph-sdk into ``bench/.peers`` (once), importable after ours."""
    marker = os.path.join(PEERS, ".installed")
    if not os.path.exists(marker):
        print("installing python-o365 and msgraph-sdk into bench/.peers ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", PEERS,
                        "O365", "msgraph-sdk"], check=True)
        with open(marker, "w") as handle:
            handle.write("O365 msgraph-sdk\n")
    if PEERS not in sys.path:
        sys.path.append(PEERS)  # after the project's own packages: ours win on overlap


class Emulator(read_path.Emulator):
    """The read-path bench's emulator process, plus an application's credentials and token,
    injected latency and the process's CPU time."""

    def __init__(self, users: int, messages: int) -> None:
        super().__init__(messages, users)
        # python-o365's requests session has no verify option: REQUESTS_CA_BUNDLE (which every
        # requests call honours; this process talks to the emulator only).
        os.environ["REQUESTS_CA_BUNDLE"] = self.ca
        self.base = self.info["graph_url"]
        self.app_id = self.info["client_id"]
        self.app_secret = self.info["client_secret"]
        self.app_token = self._post("/_emulator/token", {
            "roles": ["Mail.Read", "User.Read.All"], "client_id": self.app_id})["access_token"]

    def latency(self, seconds: float) -> None:
        requests.delete(self.info["base_url"] + "/_emulator/faults", verify=self.ca, timeout=60)
        if seconds:
            self._post("/_emulator/faults", {"kind": "latency", "delay": seconds})

    def counters(self) -> dict[str, Any]:
        """The emulator's counters (``GET /_emulator/counters``), concurrency peaks included."""
        answer = requests.get(self.info["base_url"] + "/_emulator/counters", verify=self.ca,
                              timeout=60)
        return dict(answer.json())

    def cpu(self) -> float:
        """CPU seconds the emulator process has used (``/proc/<pid>/stat``)."""
        with open(f"/proc/{self.process.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def connect(self, app: bool = False, **props: Any) -> Any:
        if not app:
            return super().connect(**props)
        return o365sql.connect(
            AuthScheme="AzureServicePrincipal", OAuthClientId=self.app_id,
            OAuthClientSecret=self.app_secret, GraphURL=self.base,
            AuthorityURL=self.info["base_url"], AzureTenant=self.info["tenant_id"],
            SSLServerCert=self.ca, **props)


# --------------------------------------------------------------------------- clients

def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def floor_pages(emu: Emulator, path: str, params: dict[str, Any] | str,
                limit: int | None = None,
                token: str | None = None) -> int:
    """GET a collection page by page (reference/baselines-and-browser.md §2(a))."""
    session = _session(token or emu.token)
    url: str | None = emu.base + path
    sent: dict[str, Any] | str | None = params
    rows = 0
    while url:
        data = session.get(url, params=sent, verify=emu.ca, timeout=120).json()
        rows += len(data["value"])
        if limit is not None and rows >= limit:
            break
        url, sent = data.get("@odata.nextLink"), None
    session.close()
    return min(rows, limit) if limit is not None else rows


class FloorFanOut:
    """The best hand-written fan-out within Graph's limits (graph-semantics.md §6, §8.1): one
    item per mailbox (Outlook allows 4 concurrent per mailbox, so ≤ 4 per body holds), up to
    ``concurrency`` requests in flight over a kept-alive pool of that many connections (the
    app-wide limit, 130,000 requests per 10 s, is far off), in one of three shapes:

    * ``batch20``: ``$batch`` bodies of 20 mailboxes (fewest requests);
    * ``spread``: the mailboxes spread evenly over ``concurrency`` bodies, in multiples of 4
      (Graph runs 4 items of a body at a time, so a body of 20 takes five rounds);
    * ``gets``: one plain GET per mailbox.

    Like o365sql's statement (``UserId IN (SELECT Id FROM Users)``) it first lists the
    mailboxes (``GET /users?$select=id&$top=999``, following nextLinks): the same work. The
    report's floor is the fastest shape, at the same concurrency as o365sql's."""

    def __init__(self, emu: Emulator, concurrency: int) -> None:
        self.emu = emu
        self.concurrency = concurrency
        self.session = _session(emu.app_token)
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=concurrency)
        self.session.mount("https://", adapter)
        self.pool = ThreadPoolExecutor(concurrency)

    def close(self) -> None:
        self.pool.shutdown()
        self.session.close()

    def _url(self, user: str, n: int) -> str:
        return (f"/users/{user}/messages?$select={SELECT}&$orderby=receivedDateTime%20desc"
                f"&$top={n}")

    def _post(self, chunk: list[str], n: int) -> int:
        body = {"requests": [{"id": str(i), "method": "GET", "url": self._url(u, n)}
                             for i, u in enumerate(chunk)]}
        answer = self.session.post(self.emu.base + "/$batch", json=body, verify=self.emu.ca,
                                   timeout=120)
        return sum(len(r["body"]["value"]) for r in answer.json()["responses"])

    def _get(self, user: str, n: int) -> int:
        answer = self.session.get(self.emu.base + self._url(user, n), verify=self.emu.ca,
                                  timeout=120)
        return len(answer.json()["value"])

    def users(self) -> list[str]:
        url: str | None = self.emu.base + "/users?$select=id&$top=999"
        ids: list[str] = []
        while url:
            page = self.session.get(url, verify=self.emu.ca, timeout=120).json()
            ids += [u["id"] for u in page["value"]]
            url = page.get("@odata.nextLink")
        return ids

    def run(self, shape: str, n: int) -> int:
        users = self.users()
        if shape == "gets":
            return sum(self.pool.map(lambda u: self._get(u, n), users))
        if shape == "batch20":
            size = 20
        else:  # spread: fewest rounds of 4 over the POSTs that may be in flight
            per_post = -(-len(users) // self.concurrency)
            size = min(20, max(4, -(-per_post // 4) * 4))
        chunks = [users[i:i + size] for i in range(0, len(users), size)]
        return sum(self.pool.map(lambda c: self._post(c, n), chunks))


def floor_one_by_one_top(emu: Emulator, users: list[str], n: int) -> int:
    session = _session(emu.app_token)
    rows = 0
    for user in users:
        rows += len(session.get(
            f"{emu.base}/users/{user}/messages?$select={SELECT}"
            f"&$orderby=receivedDateTime%20desc&$top={n}", verify=emu.ca,
            timeout=120).json()["value"])
    session.close()
    return rows


def o365sql_rows(connection: Any, sql: str, params: Any = None) -> int:
    cur = connection.cursor()
    cur.execute(sql, params)
    rows = 0
    while batch := cur.fetchmany(500):
        rows += len(batch)
    return rows


class PythonO365:
    """python-o365 pointed at the emulator (reference/baselines-and-browser.md §2(b))."""

    def __init__(self, emu: Emulator, token: str) -> None:
        from O365 import Account
        from O365.connection import MSGraphProtocol
        from O365.utils import BaseTokenBackend

        class Protocol(MSGraphProtocol):  # type: ignore[misc]
            def __init__(self, base_url: str, **kw: Any) -> None:
                self._protocol_url = base_url.rsplit("/v1.0", 1)[0] + "/"
                super().__init__(**kw)

        class StaticToken(BaseTokenBackend):  # type: ignore[misc]
            def __init__(self, secret: str) -> None:
                super().__init__()
                self._secret = secret

            def load_token(self) -> bool:
                return True

            def save_token(self, force: bool = False) -> bool:
                return True

            def get_access_token(self, *, username: str | None = None) -> dict[str, str]:
                return {"secret": self._secret, "expires_on": str(int(time.time()) + 3600)}

        self.account = Account(("emulator", "unused"), protocol=Protocol(emu.base),
                               token_backend=StaticToken(token), requests_delay=0)

    def mailbox(self, resource: str | None = None) -> Any:
        if resource:
            return self.account.mailbox(resource=f"users/{resource}")
        return self.account.mailbox()

    def scan(self, limit: int | None) -> int:
        mailbox = self.mailbox()
        query = mailbox.new_query().select("subject", "receivedDateTime", "isRead", "from")
        rows = 0
        for message in mailbox.get_messages(limit=limit, batch=1000, query=query):
            _ = (message.object_id, message.subject, message.received, message.is_read,
                 message.sender.address if message.sender else None)
            rows += 1
        return rows

    def top50(self) -> int:
        mailbox = self.mailbox()
        q = mailbox.new_query()
        query = (q.select("subject", "receivedDateTime")
                 & q.greater_equal("receivedDateTime", _dt2000()) & q.equals("isRead", False)
                 & q.orderby(("receivedDateTime", False)))
        return sum(1 for _ in mailbox.get_messages(limit=50, batch=50, query=query))

    def folder_count(self) -> int:
        return int(self.mailbox().get_folder(folder_id="inbox").total_items_count)

    def lookup(self, ids: list[str]) -> int:
        mailbox = self.mailbox()
        return sum(1 for i in ids if mailbox.get_message(object_id=i) is not None)

    def fan_out(self, users: list[str], n: int) -> int:
        rows = 0
        for user in users:
            mailbox = self.mailbox(user)
            q = mailbox.new_query()
            query = q.select("subject", "receivedDateTime") & q.orderby(
                ("receivedDateTime", False))
            rows += sum(1 for _ in mailbox.get_messages(limit=n, batch=n, query=query))
        return rows


def _dt2000() -> Any:
    import datetime as dt

    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class MsGraph:
    """msgraph-sdk pointed at the emulator (reference/baselines-and-browser.md §2(c))."""

    def __init__(self, emu: Emulator, token: str) -> None:
        self.user = emu.info["users"][0]
        import httpx
        from kiota_abstractions.authentication import (
            AccessTokenProvider,
            AllowedHostsValidator,
            BaseBearerTokenAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

        class Static(AccessTokenProvider):  # type: ignore[misc]
            async def get_authorization_token(self, uri: str,
                                              additional_authentication_context: Any = None
                                              ) -> str:
                return token

            def get_allowed_hosts_validator(self) -> Any:
                return AllowedHostsValidator([])

        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=emu.ca, timeout=120))
        self.adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(Static()),
                                           client=http)
        self.adapter.base_url = emu.base
        self.client = GraphServiceClient(request_adapter=self.adapter)
        self.loop = asyncio.new_event_loop()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _raw(self, url: str, limit: int | None = None) -> int:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        rows = 0
        next_url: str | None = url
        while next_url:
            info = RequestInformation(Method.GET)
            info.url = next_url
            data = json.loads(await self.adapter.send_primitive_async(info, "bytes", None))
            rows += len(data.get("value", [data]))
            if limit is not None and rows >= limit:
                return limit
            next_url = data.get("@odata.nextLink")
        return rows

    def raw(self, path: str, limit: int | None = None) -> int:
        return int(self.run(self._raw(self.adapter.base_url + path, limit)))

    def raw_each(self, paths: list[str], limit: int | None = None) -> int:
        async def go() -> int:
            total = 0
            for path in paths:
                total += await self._raw(self.adapter.base_url + path, limit)
            return total
        return int(self.run(go()))

    def typed(self, limit: int) -> int:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.messages.messages_request_builder import (
            MessagesRequestBuilder,
        )

        async def go() -> int:
            params = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
                select=["subject", "receivedDateTime", "isRead", "from"], top=min(limit, 1000))
            # /users/{upn}: the SDK's /me rewrite (UrlReplaceHandler) is not in this pipeline
            messages = self.client.users.by_user_id(self.user).messages
            page = await messages.get(
                request_configuration=RequestConfiguration(query_parameters=params))
            rows = 0
            while page is not None:
                for message in page.value or []:
                    _ = (message.id, message.subject, message.received_date_time,
                         message.is_read)
                    rows += 1
                if rows >= limit or not page.odata_next_link:
                    break
                page = await messages.with_url(page.odata_next_link).get()
            return min(rows, limit)
        return int(self.run(go()))


# --------------------------------------------------------------------------- measuring

@dataclass
class Measure:
    client: str
    seconds: list[float] = field(default_factory=list)
    requests: int = 0
    rows: int = 0
    peak: int = 0
    client_cpu: float = 0.0
    emulator_cpu: float = 0.0
    note: str = ""
    concurrency: str = ""  # the emulator's peaks: per mailbox / all mailboxes / 429s

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def measure(emu: Emulator, name: str, work: Callable[[], int], runs: int,
            memory: bool) -> Measure:
    result = Measure(name)
    try:
        work()  # warm-up: imports, pools, caches, the emulator's query cache
        for _ in range(runs):
            emu.clear()
            # Every client's run starts from a collected heap whose objects are frozen (out of
            # the collector's reach): otherwise a client measured after the peers (their
            # modules, caches and typed models stay alive in this process) pays for walking
            # them in each full collection, and one measured first does not.
            gc.collect()
            gc.freeze()
            cpu, emulator_cpu = time.process_time(), emu.cpu()
            started = time.perf_counter()
            try:
                result.rows = work()
            finally:
                gc.unfreeze()
            result.seconds.append(time.perf_counter() - started)
            result.client_cpu += (time.process_time() - cpu) / runs
            result.emulator_cpu += (emu.cpu() - emulator_cpu) / runs
            result.requests = emu.requests_served()
            peaks = emu.counters().get("mailbox_concurrency", {})
            result.concurrency = (f"{peaks.get('peak', '?')} / {peaks.get('all_mailboxes', '?')}"
                                  f" / {peaks.get('refused', '?')}")
        if memory:
            gc.collect()
            tracemalloc.start()
            work()
            result.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    except Exception as exc:  # noqa: BLE001 - a peer that cannot do the work is reported
        result.note = f"{type(exc).__name__}: {str(exc)[:120]}"
    return result


def measure_all(emu: Emulator, cells: list[tuple[str, Callable[[], int], int, bool]]
                ) -> list[Measure]:
    """``measure`` of each ``(name, work, runs, memory)`` cell, listed in the order given but
    run floor first, then o365sql, then the peers: the two clients the goals compare then run
    in the same conditions, before the peers have filled this process with their modules,
    caches and objects (python-o365's 100,000-message scan alone allocates for ~20 s; one
    earlier sitting measured that heap costing a client measured after it up to ~10 %)."""
    def rank(index: int) -> int:
        name = cells[index][0]
        return 0 if name.startswith("floor") else 1 if name.startswith("o365sql") else 2

    done = {index: measure(emu, *cells[index]) for index in sorted(range(len(cells)), key=rank)}
    return [done[index] for index in range(len(cells))]


def report(title: str, measures: list[Measure]) -> None:
    # The floor is the fastest of the hand-written clients (the fan-out measures several).
    floors = [m for m in measures if m.client.startswith("floor") and m.seconds]
    floor = min(floors, key=lambda m: m.median) if floors else None
    ours = next((m for m in measures if m.client == "o365sql" and m.seconds), None)
    print(f"\n### {title}\n")
    print("| client | median s | × floor | × o365sql | requests | rows | peak MiB | "
          "client CPU s | emulator CPU s | emulator peak per mailbox / at once / 429s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in measures:
        if not m.seconds:
            print(f"| {m.client} | — | | | | | | | | {m.note}")
            continue
        to_floor = f"{m.median / floor.median:.2f}" if floor else ""
        to_ours = f"{m.median / ours.median:.2f}" if ours else ""
        peak = f"{m.peak / 2**20:.1f}" if m.peak else ""
        print(f"| {m.client} | {m.median:.3f} | {to_floor} | {to_ours} | {m.requests} | "
              f"{m.rows} | {peak} | {m.client_cpu:.3f} | {m.emulator_cpu:.3f} | "
              f"{m.concurrency} |")
    sys.stdout.flush()


# --------------------------------------------------------------------------- workloads

def single_mailbox(args: argparse.Namespace, latency: float) -> None:
    emu = Emulator(1, args.messages)
    try:
        emu.latency(latency)
        tag = f"{'no added latency' if not latency else f'{latency * 1000:.0f} ms per request'}"
        o365 = PythonO365(emu, emu.token)
        graph = MsGraph(emu, emu.token)
        ours = emu.connect()
        scan_path = "/me/messages"
        scan_params = {"$select": SELECT, "$top": 1000}
        url = f"/me/messages?$select={SELECT}&$top=1000"
        runs = args.runs
        for title, cap in ((f"scan of {args.messages:,} messages, five columns", None),
                           ("first 2,000 rows", 2000)):
            typed = min(cap or args.messages, args.typed_rows)
            sql = f"SELECT {COLUMNS} FROM Messages" + (f" LIMIT {cap}" if cap else "")
            report(f"{title} ({tag})", measure_all(emu, [
                ("floor (requests)",
                    lambda n=cap: floor_pages(emu, scan_path, scan_params, n), runs, True),
                ("python-o365", lambda n=cap: o365.scan(n), args.peer_runs, True),
                ("msgraph-sdk raw", lambda n=cap: graph.raw(url, n), runs, True),
                (f"msgraph-sdk typed ({typed:,} rows)",
                    lambda n=typed: graph.typed(n), 1, False),
                ("o365sql", lambda q=sql: o365sql_rows(ours, q), runs, True),
            ]))
        # A space in $orderby must be %20: Outlook reads "+" literally there ("OrderBy not
        # supported", emulator/odata/options.py), so the query is passed pre-encoded.
        top50 = {"$select": "subject,receivedDateTime", "$filter": TOP50_FILTER,
                 "$orderby": "receivedDateTime%20desc", "$top": 50}
        top50_query = "&".join(f"{k}={v}" for k, v in top50.items())
        report(f"filtered, ordered top 50 ({tag})", measure_all(emu, [
            ("floor (requests)",
                lambda: floor_pages(emu, "/me/messages", top50_query, 50), runs, False),
            ("python-o365", o365.top50, runs, False),
            ("msgraph-sdk raw", lambda: graph.raw("/me/messages?" + top50_query, 50),
                runs, False),
            ("o365sql", lambda: o365sql_rows(
                ours, "SELECT Subject, ReceivedDateTime FROM Messages WHERE IsRead = false AND "
                "ReceivedDateTime >= '2000-01-01' ORDER BY ReceivedDateTime DESC LIMIT 50"),
                runs, False),
        ]))
        report(f"folder count ({tag})", measure_all(emu, [
            ("floor (requests)", lambda: int(_session(emu.token).get(
                emu.base + "/me/mailFolders/inbox/messages/$count", verify=emu.ca,
                timeout=60).text.lstrip("\ufeff")), runs, False),
            ("python-o365", o365.folder_count, runs, False),
            ("msgraph-sdk raw", lambda: graph.raw(
                "/me/mailFolders/inbox?$select=totalItemCount"), runs, False),
            ("o365sql", lambda: o365sql_rows(
                ours, "SELECT COUNT(*) FROM Messages WHERE ParentFolderId = 'Inbox'"),
                runs, False),
        ]))
        ids = [row[0] for row in _fetch(ours, f"SELECT Id FROM Messages LIMIT {args.repeat}")]
        session = _session(emu.token)

        def floor_lookups() -> int:
            for message_id in ids:
                session.get(f"{emu.base}/me/messages/{requests.utils.quote(message_id, safe='')}",
                            params={"$select": "subject,receivedDateTime"}, verify=emu.ca,
                            timeout=60).json()
            return len(ids)

        def ours_lookups() -> int:
            cur = ours.cursor()
            for message_id in ids:
                cur.execute("SELECT Subject, ReceivedDateTime FROM Messages WHERE Id = ?",
                            (message_id,))
                cur.fetchall()
            return len(ids)

        report(f"repeated parameterised statement ×{len(ids):,} ({tag})", measure_all(emu, [
            ("floor (requests)", floor_lookups, runs, False),
            ("python-o365", lambda: o365.lookup(ids), 1, False),
            ("msgraph-sdk raw", lambda: graph.raw_each(
                [f"/me/messages/{requests.utils.quote(i, safe='')}?$select=subject,"
                 "receivedDateTime" for i in ids]), 1, False),
            ("o365sql", ours_lookups, runs, False),
        ]))
        if not latency:
            overhead(ours, ids, floor_lookups)
        ours.close()
    finally:
        emu.close()


def _fetch(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    cur = connection.cursor()
    cur.execute(sql)
    return [tuple(r) for r in cur.fetchall()]


def overhead(connection: Any, ids: list[str], floor: Callable[[], Any]) -> None:
    """Client time per repeated execute outside the network, two ways.

    Profiled: the loop under cProfile; the transport is the time inside
    ``requests.adapters.HTTPAdapter.send`` (urllib3, TLS, sockets: what any client pays for
    the GET), the client overhead is the rest (o365sql and requests' own per-call work), and
    ``plan_query`` (the plan cache) is shown within it. The same split for the floor loop
    (``Session.get`` + ``.json()``). Profiled figures are inflated by the profiler's cost per
    Python call. Unprofiled: the CPU seconds this process spends per execute (the emulator
    runs in another process), next to the floor's per GET: the difference is o365sql's cost
    beyond a bare requests loop."""
    cur = connection.cursor()
    sql = "SELECT Subject, ReceivedDateTime FROM Messages WHERE Id = ?"

    def ours() -> None:
        for message_id in ids:
            cur.execute(sql, (message_id,))
            cur.fetchall()

    ours()  # warm: the plan cache has its template, the pool its connection
    per = 1000 / len(ids)
    cpu = {}
    for name, loop in (("o365sql", ours), ("floor", floor)):
        spent = []
        for _ in range(3):
            started = time.process_time()
            loop()
            spent.append(time.process_time() - started)
        cpu[name] = statistics.median(spent) * per
    split = {}
    for name, loop in (("o365sql", ours), ("floor", floor)):
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        loop()
        profile.disable()
        elapsed = time.perf_counter() - started
        transport = planning = 0.0
        for (filename, _, function), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
            if function == "send" and filename.endswith(os.path.join("requests", "adapters.py")):
                transport = max(transport, row[3])
            if function == "plan_query" and filename.endswith(
                    os.path.join("planning", "__init__.py")):
                planning = max(planning, row[3])
        split[name] = (elapsed * per, transport * per, (elapsed - transport) * per,
                       planning * per)
    total, transport, outside, planning = split["o365sql"]
    floor_total, floor_transport, floor_outside, _ = split["floor"]
    print(f"\nrepeated execute under cProfile ({len(ids)} executes of {sql!r}, a new id each): "
          f"{total:.3f} ms each, transport (HTTPAdapter.send) {transport:.3f} ms, client "
          f"overhead {outside:.3f} ms each (plan_query, the plan cache, {planning:.3f} ms); "
          f"floor (Session.get + json): {floor_total:.3f} ms, transport {floor_transport:.3f} "
          f"ms, outside it {floor_outside:.3f} ms (profiler-inflated figures)")
    print(f"client CPU per execute, no profiler (median of 3 loops): o365sql "
          f"{cpu['o365sql']:.3f} ms, floor {cpu['floor']:.3f} ms per GET "
          f"(o365sql {cpu['o365sql'] - cpu['floor']:+.3f} ms)")


FAN_OUT_SQL = ("SELECT UserId, Subject, ReceivedDateTime FROM (SELECT UserId, Subject, "
               "ReceivedDateTime, ROW_NUMBER() OVER (PARTITION BY UserId ORDER BY "
               "ReceivedDateTime DESC) AS rn FROM Messages WHERE UserId IN (SELECT Id FROM "
               "Users)) t WHERE rn <= 10")


#: The same top 10 per mailbox as a LATERAL subquery and as Users joined with a ranked
#: derived table (planning/lateral.py, planning/derived_joins.py): one $orderby + $top=10
#: request per mailbox too.
FAN_OUT_LATERAL_SQL = ("SELECT u.Id, t.Subject, t.ReceivedDateTime FROM Users u CROSS JOIN "
                       "LATERAL (SELECT Subject, ReceivedDateTime FROM Messages m WHERE "
                       "m.UserId = u.Id ORDER BY ReceivedDateTime DESC LIMIT 10) t")
FAN_OUT_JOIN_SQL = ("SELECT u.Id, t.Subject, t.ReceivedDateTime FROM Users u JOIN (SELECT "
                    "UserId, Subject, ReceivedDateTime, ROW_NUMBER() OVER (PARTITION BY UserId "
                    "ORDER BY ReceivedDateTime DESC) AS rn FROM Messages) t ON t.UserId = u.Id "
                    "WHERE t.rn <= 10")


def _mailbox_ids(emu: Emulator) -> list[str]:
    session = _session(emu.app_token)
    users = [u["id"] for u in session.get(emu.base + "/users", params={
        "$select": "id", "$top": 999}, verify=emu.ca, timeout=60).json()["value"]]
    session.close()
    return users


def fan_out(args: argparse.Namespace, per_mailbox: int, latency: float) -> None:
    emu = Emulator(args.mailboxes, per_mailbox)
    try:
        emu.latency(latency)
        tag = f"{'no added latency' if not latency else f'{latency * 1000:.0f} ms per request'}"
        users = _mailbox_ids(emu)
        concurrency = args.concurrency or DEFAULT_CONCURRENCY
        ours = emu.connect(app=True, MaxConcurrency=concurrency)
        whole = emu.connect(app=True, Pushdown=False, MaxConcurrency=concurrency)
        o365 = PythonO365(emu, emu.app_token)
        graph = MsGraph(emu, emu.app_token)
        floor = FloorFanOut(emu, concurrency)
        paths = [f"/users/{u}/messages?$select={SELECT}&$orderby=receivedDateTime%20desc&$top=10"
                 for u in users]
        c = concurrency
        report(f"top 10 of each of {len(users)} mailboxes, {per_mailbox:,} messages each "
               f"({tag}; {c} requests in flight for the floor and o365sql)", measure_all(emu, [
                   (f"floor ($batch spread over {c} POSTs)",
                       lambda: floor.run("spread", 10), args.runs, False),
                   (f"floor ($batch of 20, {c} in flight)",
                       lambda: floor.run("batch20", 10), args.runs, False),
                   (f"floor (GETs, {c} in flight)",
                       lambda: floor.run("gets", 10), args.runs, False),
                   ("floor one by one",
                       lambda: floor_one_by_one_top(emu, users, 10), 1, False),
                   ("python-o365 (one by one)",
                       lambda: o365.fan_out(users, 10), 1, False),
                   ("msgraph-sdk raw (one by one)",
                       lambda: graph.raw_each(paths, 10), 1, False),
                   ("o365sql", lambda: o365sql_rows(ours, FAN_OUT_SQL), args.runs,
                       True),
                   ("o365sql, LATERAL (... ORDER BY ... LIMIT 10) form",
                       lambda: o365sql_rows(ours, FAN_OUT_LATERAL_SQL), args.runs, False),
                   ("o365sql, Users JOIN ranked derived table form",
                       lambda: o365sql_rows(ours, FAN_OUT_JOIN_SQL), args.runs, False),
                   ("o365sql, Pushdown=false (reads every mailbox whole)",
                       lambda: o365sql_rows(whole, FAN_OUT_SQL), 1, False),
               ]))
        floor.close()
        ours.close()
        whole.close()
    finally:
        emu.close()


def concurrency_sweep(args: argparse.Namespace, latency: float) -> None:
    """How ``MaxConcurrency``'s default was chosen: the top-10 fan-out (30 messages per
    mailbox) by o365sql and by the spread floor at each overall concurrency."""
    emu = Emulator(args.mailboxes, 30)
    try:
        emu.latency(latency)
        users = _mailbox_ids(emu)
        print(f"\n### MaxConcurrency sweep: top 10 of each of {len(users)} mailboxes "
              f"({latency * 1000:.0f} ms per request)\n")
        print("| requests in flight | floor (spread) s | o365sql s | o365sql × floor | "
              "requests (floor / o365sql) | emulator peak per mailbox / at once / 429s |")
        print("|---|---|---|---|---|---|")
        for c in (4, 8, 16, 32, 64):
            floor = FloorFanOut(emu, c)
            ours = emu.connect(app=True, MaxConcurrency=c)
            f = measure(emu, "floor", lambda f=floor: f.run("spread", 10), args.runs,
                        False)
            o = measure(emu, "o365sql", lambda o=ours: o365sql_rows(o, FAN_OUT_SQL),
                        args.runs, False)
            print(f"| {c} | {f.median:.3f} | {o.median:.3f} | {o.median / f.median:.2f} | "
                  f"{f.requests} / {o.requests} | {o.concurrency} |", flush=True)
            floor.close()
            ours.close()
    finally:
        emu.close()


def first_query(runs: int = 5) -> None:
    """A fresh process: ``import o365sql``, then connect + first execute + fetch on the
    emulator (another process), wall and CPU seconds. The package's bytecode is compiled first
    (``compileall``, as ``pip install`` does; this machine sets PYTHONDONTWRITEBYTECODE, and a
    process that compiles o365sql's sources measures the compiler), and one run is discarded
    (it writes the compiled catalog, as a first use after installing does). For reference,
    what importing requests and sqlglot alone costs a fresh process (the floor of any first
    query that parses SQL and talks HTTPS), and o365sql's own share measured directly: the same
    first query in a process that imported requests and sqlglot before starting the clock
    (what is left is o365sql's modules, the sqlglot and stdlib modules only it loads, and its
    first-use work). Rounds alternate the three kinds of process; medians of ``runs``."""
    emu = Emulator(1, 50)
    folders = [os.path.dirname(os.path.abspath(o365sql.__file__))] + [
        str(resources.files(f"o365sql.{part}")) for part in ("schema", "procedures")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)
    query = (
        "c = o365sql.connect(GraphURL=sys.argv[1], OAuthAccessToken=sys.argv[2], "
        "SSLServerCert=sys.argv[3])\n"
        "cur = c.cursor(); cur.execute('SELECT Subject FROM Messages LIMIT 5'); "
        "cur.fetchall()\n")
    timed = ("t0, c0 = time.perf_counter(), time.process_time()\n"
             "import o365sql\n"
             "t1, c1 = time.perf_counter(), time.process_time()\n" + query +
             "t2, c2 = time.perf_counter(), time.process_time()\n"
             "print(t1 - t0, t2 - t1, c1 - c0, c2 - c1, len(sys.modules))\n")
    code = "import time, sys\n" + timed
    own_code = "import time, sys\nimport requests, sqlglot\n" + timed
    floor_code = ("import time; c = time.process_time(); t = time.perf_counter()\n"
                  "import requests, sqlglot\n"
                  "print(time.perf_counter() - t, time.process_time() - c)\n")
    try:
        def measure(source: str, *args: str) -> list[float]:
            out = subprocess.run([sys.executable, "-c", source, *args], capture_output=True,
                                 text=True, check=True).stdout.split()
            return [float(x) for x in out]

        results: list[list[float]] = []
        owns: list[list[float]] = []
        floors: list[list[float]] = []
        load = os.getloadavg()[0]
        for run in range(runs + 1):
            result = measure(code, emu.base, emu.token, emu.ca)
            own = measure(own_code, emu.base, emu.token, emu.ca)
            floor = measure(floor_code)
            if run:
                results.append(result)
                owns.append(own)
                floors.append(floor)

        def median(rows: list[list[float]], i: int) -> float:
            return statistics.median(r[i] for r in rows)

        total = statistics.median(r[0] + r[1] for r in results)
        print(f"\nfirst query of a process (median of {runs}, load average {load:.2f} at the "
              f"start, {os.getloadavg()[0]:.2f} at the end): import o365sql "
              f"{median(results, 0):.3f} s (CPU {median(results, 2):.3f}), then connect + first "
              f"execute + fetch {median(results, 1):.3f} s (CPU {median(results, 3):.3f}; "
              f"{int(results[0][4])} modules loaded), together {total:.3f} s; importing requests "
              f"and sqlglot alone: {median(floors, 0):.3f} s (CPU {median(floors, 1):.3f}); "
              f"o365sql's own share (requests and sqlglot imported before the clock starts): "
              f"import {median(owns, 0):.3f} s + first query {median(owns, 1):.3f} s = "
              f"{statistics.median(r[0] + r[1] for r in owns):.3f} s (CPU "
              f"{statistics.median(r[2] + r[3] for r in owns):.3f})")
    finally:
        emu.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, minutes in all")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--latency", default="0,0.05", help="seconds per request, comma list")
    parser.add_argument("--only", default="", help="single,fanout,sweep,first (comma list)")
    parser.add_argument("--mailboxes", type=int, default=None,
                        help="fan-out mailboxes (default 21 with --quick, else 201)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="requests in flight for the fan-out's floor and o365sql "
                             f"(default o365sql's MaxConcurrency, {DEFAULT_CONCURRENCY})")
    parser.add_argument("--peer-runs", type=int, default=None,
                        help="runs of python-o365's single-mailbox work (default --runs; a "
                             "100,000-message scan takes it ~40 s a run)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="executions of the repeated statement (default 100 with --quick, "
                             "else 1,000)")
    args = parser.parse_args()
    args.messages = 5_000 if args.quick else 100_000
    args.mailboxes = args.mailboxes or (21 if args.quick else 201)
    args.fan_sizes = (30, 200) if args.quick else (30, 1000)
    args.repeat = args.repeat or (100 if args.quick else 1000)
    args.typed_rows = 300 if args.quick else 2000
    args.runs = args.runs or (3 if args.quick else 5)
    args.peer_runs = args.peer_runs or args.runs
    install_peers()
    load = os.getloadavg()
    print(f"# o365sql compare ({'quick' if args.quick else 'full'}): {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"runs {args.runs} (python-o365's single-mailbox work: {args.peer_runs})")
    only = set(filter(None, args.only.split(",")))
    latencies = [float(x) for x in args.latency.split(",")]
    if not only or "first" in only:
        first_query()
    for latency in latencies:
        if not only or "single" in only:
            single_mailbox(args, latency)
        if not only or "fanout" in only:
            for size in args.fan_sizes:
                fan_out(args, size, latency)
        if "sweep" in only:
            concurrency_sweep(args, latency)
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
