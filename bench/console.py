"""`wanqing bench console`: the staff console's two busiest pages with many staff at once — 今日工作 (GET /) and
查找人员 (GET /retirees?q=…) — in a district of 3,000 retirees in 25 units, 50 sessions logged in at once.

Setup (not measured): profiles, identity, care and notify as their own processes and the console
(`python -m edge.console`) on a throwaway platform (bench/platform.py); the district seeded through the bus as the
operator: the units, two clerks each (the first is the unit's care contact), the retirees imported by roster
batches (Chinese names), the clerks' passwords, and a 中秋 campaign due in 7 days (Beijing date), so every care
contact has ~120 festival visits under 今日工作's upcoming view. The sessions log in over HTTP, as a browser does
(the CSRF token of the login form, the cookies sent by hand: they are Secure); half are care contacts. Each
session has its own HTTP client and keep-alive connection, as each clerk's browser has.

Measured: every session at once does `--rounds` × (GET /, then GET /retirees?q=<2 characters of a name of its
unit>), after one unmeasured warm-up round, each clerk reading a page `--think-ms` on average (1000 ms, ±50 %:
a clerk faster than any real one) before the next click; `--think-ms 0` makes it a closed loop with a page always
in flight for every session (a saturation test); p50/p95 of each page over all sessions. Then, in the same
run, the raw time of what those pages ask of the services, straight over NATS with the same concurrency, as the
same staff (credentials minted by the operator) — exactly the queries of edge/console/work_pages.py and
retiree_pages.py: for 今日工作 care ListTasks ×3 at once (overdue, today, upcoming), then profiles GetRetireeCards for
the tasks' people; for 查找人员 profiles SearchRetirees. `*_ratio` = console p95 / raw p95: what HTTP, the session,
the renewal of credentials and rendering add on top of the services.

Prints a table; last, one JSON line with every figure. Target: p95 ≤ 300 ms for both pages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import nats
import psutil
from nats.aio.client import Client

from backbone.relay import STREAM as STREAM_NAME
from bench.importing import GIVEN, SURNAMES
from bench.platform import Platform, RssSampler, platform, wait_ready
from contracts import subjects
from contracts.base import Actor, Role, local_date
from contracts.id_number import make_id_number
from wanqing.access import Access
from wanqing.nats_auth import CONSOLE

SERVICES = ("profiles", "identity", "care", "notify")
PASSWORD = "bench2027pass"  # noqa: S105 - the benchmark district's password
TARGET_MS = 300.0
TASK_PURPOSE = "办理关怀任务"  # edge/console/work_pages.py
SEARCH_PURPOSE = "查找人员"  # edge/console/retiree_pages.py
HOME_VIEWS = ("overdue", "today", "upcoming")
MAX_CARDS = 200  # edge/console/names.py
ROSTER_BATCH = 500
CSRF = re.compile(r'name="csrf" value="([0-9a-f]*)"')
NOT_FOUND_ZH = "没有找到与"  # the search page's "nothing matched"
MESSAGE = re.compile(r'<p class="message"[^>]*>([^<]*)</p>')  # what a page says instead (a refusal, nothing found)


@dataclass
class Clerk:
    user: str
    unit: str
    care_contact: bool


@dataclass
class Session:
    clerk: Clerk
    queries: list[str]  # 2-character parts of names of the clerk's unit, one per round
    cookie: str = ""
    http: httpx.AsyncClient | None = None  # its own client and keep-alive connection, as a browser has


@dataclass
class District:
    units: list[str]
    clerks: list[Clerk]
    names: dict[str, list[str]]  # unit -> the names of its retirees
    campaign_id: str = ""


@dataclass
class Timings:
    home: list[float] = field(default_factory=list)
    search: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: int = 0  # requests sent again on a fresh connection (the server had just closed an idle one)
    seconds: float = 0.0


# --- the district ---------------------------------------------------------------------------------------------


def make_district(retirees: int, units: int) -> tuple[District, dict[str, list[dict[str, Any]]]]:
    """Units U0001…, two clerks each, and the roster rows of each unit (as wanqing/importer.py's to_row)."""
    codes = [f"U{u + 1:04d}" for u in range(units)]
    clerks = [Clerk(f"clerk{n}-{code}", code, n == 1) for code in codes for n in (1, 2)]
    rows: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    names: dict[str, list[str]] = {code: [] for code in codes}
    for i in range(retirees):
        code = codes[i % units]
        born = date(1935 + i % 30, 1 + i % 12, 1 + i % 28)
        seq = 1 + (i // 360) % 998  # (region, birth date, sequence) unique, as bench/importing.py's roster
        region = f"{110101 + (i // 360_000) % 80}"
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 3) % len(GIVEN)]
        party = i % 3 == 0
        row: dict[str, Any] = {
            "row": len(rows[code]) + 1, "retiree_id": str(uuid.uuid4()), "name": name,
            "id_number": make_id_number(region, born, seq),
            "retirement_date": date(born.year + 60, born.month, 1).isoformat(),
            "phone": f"139{i:08d}", "address": f"幸福路{i % 500}号{i % 30}单元",
        }
        if party:
            row |= {"party_member": True, "party_joined_on": date(born.year + 25, 7, 1).isoformat()}
        rows[code].append(row)
        names[code].append(name)
    return District(codes, clerks, names), rows


@dataclass
class Operator:
    """The bench's one NATS connection as the operator: commands as the district office, queries as anyone."""

    nc: Client
    access: Access

    async def send(self, subject: str, body: dict[str, Any], actor: Actor | None = None,
                   wait_s: float = 60) -> dict[str, Any]:
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = await self.access.credentials.headers(self.nc, actor)
        reply: dict[str, Any] = json.loads((await self.nc.request(subject, payload, timeout=wait_s,
                                                                   headers=headers)).data)
        return reply

    async def command(self, service: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.send(subjects.command(service, name), {"command_id": str(uuid.uuid4()), **body})

    async def ok(self, service: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = await self.command(service, name, body)
        if not reply.get("ok"):
            raise SystemExit(f"{service} {name} refused: {reply}")
        return reply


async def _until(what: str, probe: Callable[[], Awaitable[bool]], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not await probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"not within {seconds:g} s: {what}")
        await asyncio.sleep(0.2)


async def seed(access: Access, db_url: str, district: District, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Through the bus as the operator, as the district office would; then waits until care and identity know."""
    nc = await nats.connect(access.nats_url, **access.nats)
    ops = Operator(nc, access)
    db = await asyncpg.connect(db_url)
    try:
        for n, code in enumerate(district.units, start=1):
            await ops.ok("profiles", "RegisterUnit", {"code": code, "name": f"区直机关第{n}单位",
                                                               "kind": "bureau"})
        for clerk in district.clerks:
            await ops.ok("profiles", "RegisterStaff", {
                "user": clerk.user, "name": "工作人员", "role": Role.UNIT_STAFF.value, "unit": clerk.unit,
                "email": "x@example.cn"})
            if clerk.care_contact:
                await ops.ok("profiles", "SetCareContact", {"unit": clerk.unit, "user": clerk.user})
        for code, unit_rows in rows.items():
            for i in range(0, len(unit_rows), ROSTER_BATCH):
                reply = await ops.ok("profiles", "ImportRoster", {
                    "unit": code, "source": f"{code}退休人员花名册.xlsx", "rows": unit_rows[i:i + ROSTER_BATCH]})
                if reply["summary"]["imported"] != len(unit_rows[i:i + ROSTER_BATCH]):
                    raise SystemExit(f"roster of {code} not imported whole: {reply['summary']}")
        for clerk in district.clerks:
            await _set_password(ops, clerk.user)
        total = sum(len(r) for r in rows.values())

        async def care_knows() -> bool:
            facts = await db.fetchval("SELECT count(*) FROM care.retiree_facts")
            contacts = await db.fetchval("SELECT count(*) FROM care.unit_contacts WHERE care_contact IS NOT NULL")
            return bool(facts >= total and contacts >= len(district.units))

        await _until("care knows every retiree and care contact", care_knows)
        await _until("profiles' search index holds every retiree", lambda: _indexed(db, total))
        district.campaign_id = str(uuid.uuid4())
        due_on = local_date(datetime.now(UTC)) + timedelta(days=7)
        await ops.ok("care", "LaunchCampaign", {
            "campaign_id": district.campaign_id, "festival": "mid_autumn", "title": f"{due_on.year}年中秋走访慰问",
            "year": due_on.year, "due_on": due_on.isoformat()})

        async def tasks_assigned() -> bool:
            count = await db.fetchval("SELECT count(*) FROM care.tasks WHERE campaign_id = $1 AND assignee IS NOT "
                                      "NULL", uuid.UUID(district.campaign_id))
            return bool(count >= total)

        await _until("care.tasks holds the campaign's tasks, assigned", tasks_assigned)
        await _settled(nc)
    finally:
        await db.close()
        await nc.close()


async def _indexed(db: asyncpg.Connection, total: int) -> bool:
    count = await db.fetchval("SELECT count(DISTINCT retiree_id) FROM profiles.search_index WHERE kind = 'name'")
    return bool(count >= total)


async def _set_password(ops: Operator, user: str) -> None:
    """Identity learns of staff from profiles' events: retried while it does not know the user yet."""
    deadline = time.monotonic() + 120
    while True:
        reply = await ops.command("identity", "SetPassword", {"user": user, "password": PASSWORD, "temporary": False})
        if reply.get("ok"):
            return
        if reply.get("code") != "not_found" or time.monotonic() > deadline:
            raise SystemExit(f"identity SetPassword {user} refused: {reply}")
        await asyncio.sleep(0.2)


async def _settled(nc: Client, quiet_s: float = 1.0, seconds: float = 300) -> None:
    """Until every consumer of the event stream has caught up (notify, identity…), so the setup's work is over
    before anything is measured.
    """
    js = nc.jetstream()
    deadline = time.monotonic() + seconds
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        busy = any(c.num_pending or c.num_ack_pending for c in await js.consumers_info(STREAM_NAME))
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_s:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"the event stream's consumers did not catch up within {seconds:g} s")


def sessions_of(district: District, sessions: int, rounds: int) -> list[Session]:
    """Care contacts and second clerks alternately (users reused past two per unit); each with its unit's names."""
    out = []
    for i in range(sessions):
        clerk = district.clerks[i % len(district.clerks)]
        names = district.names[clerk.unit]
        # a 2-character part of a name: the given name, or the surname and the first given character
        queries = [names[(i + r * 7) % len(names)][r % 2:r % 2 + 2] for r in range(rounds + 1)]
        out.append(Session(clerk, queries))
    return out


# --- the console over HTTP ------------------------------------------------------------------------------------


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """The response's cookies, read by hand: they are Secure, so no Python cookie jar keeps them over http."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


async def login(http: httpx.AsyncClient, session: Session) -> None:
    page = await http.get("/login")
    pre = _set_cookies(page).get("wanqing_login", "")
    token = CSRF.search(page.text)
    if page.status_code != httpx.codes.OK or not pre or token is None:
        raise SystemExit(f"GET /login: {page.status_code}, no login cookie or CSRF token")
    reply = await http.post("/login", data={"csrf": token.group(1), "user": session.clerk.user, "password": PASSWORD,
                                            "next": "/"}, headers={"Cookie": f"wanqing_login={pre}"})
    cookie = _set_cookies(reply).get("wanqing_session")
    if reply.status_code != httpx.codes.SEE_OTHER or not cookie:
        raise SystemExit(f"login of {session.clerk.user}: {reply.status_code} {reply.text[:300]}")
    session.cookie = f"wanqing_session={cookie}"


@dataclass
class WebRun:
    """What the sessions' browser-less clients measure."""

    district: District
    timings: Timings = field(default_factory=Timings)

    async def page(self, session: Session, path: str, q: str | None, into: list[float] | None) -> str:
        assert session.http is not None
        params, headers = ({"q": q} if q is not None else None), {"Cookie": session.cookie}
        t0 = time.perf_counter()
        try:
            response = await session.http.get(path, params=params, headers=headers)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A keep-alive connection the server closed (idle limit) as the request left: a browser sends a GET
            # again on a new connection, and so does this, within the page's time.
            self.timings.retries += 1
            response = await session.http.get(path, params=params, headers=headers)
        elapsed = time.perf_counter() - t0
        if response.status_code != httpx.codes.OK:
            self.timings.errors.append(f"GET {path} {q or ''} as {session.clerk.user}: {response.status_code}")
        elif into is not None:
            into.append(elapsed * 1000)
        return response.text

    async def round(self, session: Session, r: int, *, warm_up: bool, think_s: float = 0.0) -> None:
        """今日工作, then a search, as a clerk opens them (reading each page for about `think_s`)."""
        t = self.timings
        home = await self.page(session, "/", None, None if warm_up else t.home)
        await think(think_s)
        q = session.queries[r]
        found = await self.page(session, "/retirees", q, None if warm_up else t.search)
        await think(think_s)
        if warm_up:  # what the pages show, once: a fast page that shows nothing would measure nothing
            names = self.district.names[session.clerk.unit]
            if session.clerk.care_contact and not any(n in home for n in names):
                t.errors.append(f"今日工作 of {session.clerk.user} shows none of its unit's people")
            if NOT_FOUND_ZH in found or not any(q in n and n in found for n in names):
                said = MESSAGE.search(found)
                t.errors.append(f"查找人员 {q!r} as {session.clerk.user} found nobody"
                                f"{f' (the page says: {said.group(1).strip()})' if said else ''}")


async def measure_console(url: str, sessions: list[Session], district: District, rounds: int,  # noqa: PLR0913
                          cpu: CpuMeter | None = None, think_s: float = 0.0) -> Timings:
    async with contextlib.AsyncExitStack() as stack:
        logins = asyncio.Semaphore(10)

        async def log_in(s: Session) -> None:
            s.http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60,
                                                                       follow_redirects=False))
            async with logins:
                await login(s.http, s)

        await asyncio.gather(*(log_in(s) for s in sessions))
        web = WebRun(district)
        await asyncio.gather(*(web.round(s, rounds, warm_up=True) for s in sessions))
        if web.timings.errors:
            raise SystemExit("the console's pages are not what they should be: " + "; ".join(web.timings.errors[:5]))

        async def run(s: Session) -> None:
            for r in range(rounds):
                await web.round(s, r, warm_up=False, think_s=think_s)

        if cpu:
            cpu.start()
        t0 = time.perf_counter()
        await asyncio.gather(*(run(s) for s in sessions))
        web.timings.seconds = time.perf_counter() - t0
        if cpu:
            cpu.stop()
    return web.timings


# --- the same queries straight over NATS ----------------------------------------------------------------------


@dataclass
class RawRun:
    """The pages' queries as the clerk (a credential the operator mints for the clerk's actor)."""

    ops: Operator
    timings: Timings = field(default_factory=Timings)

    async def query(self, actor: Actor, service: str, name: str, body: dict[str, Any]) -> Any:
        reply = await self.ops.send(subjects.query(service, name), body, actor, wait_s=15)
        if not reply.get("ok"):
            self.timings.errors.append(f"{service} {name} as {actor.user}: {reply.get('code')} {reply.get('message')}")
            return None
        return reply["data"]

    async def home(self, actor: Actor) -> None:
        """What GET / asks (edge/console/work_pages.py home, names.py names_of), the same way: the three lists
        side by side, then the names.
        """
        items: list[dict[str, Any]] = []
        lists = await asyncio.gather(*(self.query(actor, "care", "ListTasks",
                                                  {"assignee": actor.user, "view": view, "limit": 100})
                                       for view in HOME_VIEWS))
        for found in lists:
            items += found["items"] if found else []
        ids = list(dict.fromkeys(str(t["retiree_id"]) for t in items))[:MAX_CARDS]
        if ids:
            await self.query(actor, "profiles", "GetRetireeCards", {"retiree_ids": ids, "purpose": TASK_PURPOSE})

    async def search(self, actor: Actor, q: str) -> None:
        """What GET /retirees?q= asks (edge/console/retiree_pages.py search)."""
        await self.query(actor, "profiles", "SearchRetirees", {"text": q, "purpose": SEARCH_PURPOSE, "limit": 50})

    async def session(self, s: Session, rounds_of: Sequence[int], *, warm_up: bool, think_s: float = 0.0) -> None:
        actor = Actor(user=s.clerk.user, role=Role.UNIT_STAFF, unit=s.clerk.unit)
        for r in rounds_of:
            t0 = time.perf_counter()
            await self.home(actor)
            t1 = time.perf_counter()
            if not warm_up:
                self.timings.home.append((t1 - t0) * 1000)
                await think(think_s)
            t1 = time.perf_counter()
            await self.search(actor, s.queries[r])
            t2 = time.perf_counter()
            if not warm_up:
                self.timings.search.append((t2 - t1) * 1000)
                await think(think_s)


async def measure_raw(access: Access, sessions: list[Session], rounds: int, cpu: CpuMeter | None = None,
                      think_s: float = 0.0) -> Timings:
    """One connection, as the console has; every session at once, one warm-up round, as measure_console."""
    nc = await nats.connect(access.nats_url, **access.nats)
    raw = RawRun(Operator(nc, access))
    try:
        await asyncio.gather(*(raw.session(s, [rounds], warm_up=True) for s in sessions))
        if cpu:
            cpu.start()
        t0 = time.perf_counter()
        await asyncio.gather(*(raw.session(s, range(rounds), warm_up=False, think_s=think_s) for s in sessions))
        raw.timings.seconds = time.perf_counter() - t0
        if cpu:
            cpu.stop()
    finally:
        await nc.close()
    return raw.timings


# --- where the time goes -------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of each process while a phase is measured (% of one core): which process is the limit."""

    def __init__(self, plat: Platform) -> None:
        self._named = {name: proc.pid for name, proc in plat.processes.items()}
        self._tmp = str(plat.data_dir.parent)  # the embedded Postgres and NATS run from the platform's temp folder
        self._start: dict[str, float] = {}
        self._t0 = 0.0
        self.pct: dict[str, float] = {}

    def _groups(self) -> dict[str, list[psutil.Process]]:
        groups: dict[str, list[psutil.Process]] = {"bench": [psutil.Process()]}
        groups |= {name: [psutil.Process(pid)] for name, pid in self._named.items()}
        for proc in psutil.process_iter(["name", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or ())
            if self._tmp in cmdline and proc.info["name"] in ("postgres", "nats-server"):
                with contextlib.suppress(psutil.Error):
                    groups[proc.info["name"]] = [proc, *proc.children(recursive=True)]
        return groups

    def _seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, procs in self._groups().items():
            total = 0.0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
            out[name] = total
        return out

    def start(self) -> None:
        self._start, self._t0 = self._seconds(), time.perf_counter()

    def stop(self) -> None:
        wall = time.perf_counter() - self._t0
        now = self._seconds()
        self.pct = {name: round(100 * (now[name] - self._start.get(name, 0.0)) / wall, 1) for name in now}


def until_quiet(plat: Platform, below_pct: float = 20.0, seconds: float = 300) -> float:
    """Waits until the platform's processes are idle (together below `below_pct` of one core for 2 s running),
    so work the setup left behind (notify delivering the campaign's notices…) is not measured with the pages.
    Returns the seconds waited.
    """
    t0 = time.perf_counter()
    meter, quiet = CpuMeter(plat), 0
    while time.perf_counter() - t0 < seconds:
        meter.start()
        time.sleep(1)
        meter.stop()
        busy = sum(pct for name, pct in meter.pct.items() if name != "bench")
        quiet = quiet + 1 if busy < below_pct else 0
        if quiet >= 2:  # noqa: PLR2004
            return time.perf_counter() - t0
    print(f"warning: the platform is still busy after {seconds:g} s of setup work ({meter.pct}); measuring anyway")
    return time.perf_counter() - t0


# --- the run --------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def think(seconds: float) -> None:
    """A clerk reads the page before the next click: `seconds` on average, spread ±50 % so the sessions do not
    click in lockstep. 0: no pause at all (every session always has a page in flight: a saturation test).
    """
    if seconds > 0:
        await asyncio.sleep(seconds * (0.5 + random.random()))  # noqa: S311 - pacing, not a secret


def run(retirees: int, units: int, sessions: int, rounds: int, think_s: float = 1.0) -> dict[str, Any]:
    district, rows = make_district(retirees, units)
    t_setup = time.perf_counter()
    with platform(SERVICES, console=True) as plat:
        for service in SERVICES:
            asyncio.run(wait_ready(plat.access, service))
        asyncio.run(seed(plat.access, plat.database_url, district, rows))
        settle_s = until_quiet(plat)
        setup_s = time.perf_counter() - t_setup
        chosen = sessions_of(district, sessions, rounds)
        web_cpu, raw_cpu = CpuMeter(plat), CpuMeter(plat)
        with RssSampler(plat.processes[CONSOLE].pid) as rss:
            web = asyncio.run(measure_console(plat.console_url, chosen, district, rounds, web_cpu, think_s))
        raw = asyncio.run(measure_raw(plat.access, chosen, rounds, raw_cpu, think_s))
    figures: dict[str, Any] = {"retirees": retirees, "units": units, "sessions": sessions, "rounds": rounds,
                               "think_ms": round(think_s * 1000), "pages": len(web.home) + len(web.search)}
    for label, timings in (("", web), ("raw_", raw)):
        for page in ("home", "search"):
            values = getattr(timings, page)
            figures[f"{label}{page}_p50_ms"] = round(percentile(values, 50), 1)
            figures[f"{label}{page}_p95_ms"] = round(percentile(values, 95), 1)
            figures[f"{label}{page}_max_ms"] = round(max(values, default=math.nan), 1)
    for page in ("home", "search"):
        raw_p95 = figures[f"raw_{page}_p95_ms"]
        figures[f"{page}_ratio"] = round(figures[f"{page}_p95_ms"] / raw_p95, 2) if raw_p95 else None
    figures |= {
        "pages_per_s": round(figures["pages"] / web.seconds, 1), "seconds": round(web.seconds, 2),
        "raw_seconds": round(raw.seconds, 2), "errors": len(web.errors), "raw_errors": len(raw.errors),
        "http_retries": web.retries,
        "console_peak_rss_mb": rss.peak_mb, "setup_seconds": round(setup_s, 1),
        "settle_seconds": round(settle_s, 1),
        "care_contact_tasks": retirees // units, "target_p95_ms": TARGET_MS, "cpus": os.cpu_count(),
    }
    figures |= {f"cpu_pct_{name}": pct for name, pct in web_cpu.pct.items()}
    figures |= {f"raw_cpu_pct_{name}": pct for name, pct in raw_cpu.pct.items()}
    figures["pass"] = bool(figures["home_p95_ms"] <= TARGET_MS and figures["search_p95_ms"] <= TARGET_MS
                           and not web.errors)
    for what, errors in (("console", web.errors), ("raw", raw.errors)):
        for line in errors[:5]:
            print(f"{what} error: {line}")
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="wanqing bench console")
    parser.add_argument("--retirees", type=int, default=None, help="retirees of the district (3000; --quick 300)")
    parser.add_argument("--units", type=int, default=None, help="units, two clerks each (25; --quick 5)")
    parser.add_argument("--sessions", type=int, default=None, help="staff logged in at once (50; --quick 10)")
    parser.add_argument("--rounds", type=int, default=None, help="pages / and /retirees per session (20; --quick 3)")
    parser.add_argument("--think-ms", type=float, default=1000.0,
                        help="each clerk reads a page this long on average before the next click (1000; 0 = none)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a small district, a few rounds")
    args = parser.parse_args(argv if argv is not None else [])
    small = args.quick
    retirees = args.retirees if args.retirees is not None else (300 if small else 3000)
    units = args.units if args.units is not None else (5 if small else 25)
    sessions = args.sessions if args.sessions is not None else (10 if small else 50)
    rounds = args.rounds if args.rounds is not None else (3 if small else 20)
    if min(retirees, units, sessions, rounds) < 1 or retirees < units:
        parser.error("every figure must be at least 1, and retirees at least units")
    r = run(retirees, units, sessions, rounds, args.think_ms / 1000)
    print(f"{'metric':<34}{'value':>10}  target")
    size = f"{retirees}/{units}/{sessions}"
    print(f"{'retirees / units / sessions':<34}{size:>10}")
    print(f"{'pages measured':<34}{r['pages']:>10}  ({rounds} rounds × 2 pages × {sessions} sessions)")
    print(f"{'think time between clicks ms':<34}{r['think_ms']:>10}  (0: every session always has a page in flight)")
    for page, title in (("home", "今日工作 GET /"), ("search", "查找人员 GET /retirees?q=")):
        print(f"{title}")
        print(f"{'  console p50 ms':<34}{r[f'{page}_p50_ms']:>10}")
        verdict = "PASS" if r[f"{page}_p95_ms"] <= TARGET_MS else "FAIL"
        print(f"{'  console p95 ms':<34}{r[f'{page}_p95_ms']:>10}  <= {TARGET_MS:g} {verdict}")
        print(f"{'  console max ms':<34}{r[f'{page}_max_ms']:>10}")
        print(f"{'  raw queries p50 ms':<34}{r[f'raw_{page}_p50_ms']:>10}  (the same queries over NATS, same run)")
        print(f"{'  raw queries p95 ms':<34}{r[f'raw_{page}_p95_ms']:>10}")
        print(f"{'  console p95 ÷ raw p95':<34}{r[f'{page}_ratio']!s:>10}")
    print(f"{'console pages/s':<34}{r['pages_per_s']:>10}")
    print(f"{'console peak RSS MB':<34}{r['console_peak_rss_mb']:>10}")
    errors = f"{r['errors']}/{r['raw_errors']}"
    print(f"{'errors (console / raw)':<34}{errors:>10}")
    print(f"{'GETs sent again (closed idle conn)':<34}{r['http_retries']:>10}")
    print(f"CPU while measured, % of one core ({r['cpus']} cores here): console run / raw run")
    for name in sorted(k.removeprefix("cpu_pct_") for k in r if k.startswith("cpu_pct_")):
        both = f"{r[f'cpu_pct_{name}']} / {r.get(f'raw_cpu_pct_{name}', '—')}"
        print(f"{'  ' + name:<34}{both:>14}")
    print("PASS" if r["pass"] else "FAIL")
    print(json.dumps(r, ensure_ascii=False))
    return r


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
