"""`wanqing demo`: start the platform on its own data, load the demo district and live through a quarter.

The supervisor of `wanqing up` runs in the main thread (it owns the signals and stops everything at the end);
the simulation runs in its after-ready thread and talks to the services only through commands and queries.
It reads the database for two things only: whether the services' timers have caught up with the simulated
clock (so a day is finished before the next begins), and counts for the progress lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import threading
import time
import urllib.request
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from backbone import logs
from backbone.clock import set_platform_time
from backbone.settings import Settings
from contracts.base import LOCAL_TZ
from contracts.care import TASK_KIND_ZH, TaskKind, hardship_case_id
from wanqing import state
from wanqing.access import operator_access
from wanqing.catalog import SERVICES
from wanqing.demo import scenario
from wanqing.demo.agencies import enable_demo_agencies, show_what_agencies_received
from wanqing.demo.bus import Bus, RefusedError, gather_all
from wanqing.demo.district import District, Retiree, generate
from wanqing.demo.load import close_historical_bereavements, load_district
from wanqing.demo.scenario import Action, NewRetirement, Quarter, completion_day
from wanqing.report import table_lines, write_xlsx

MARKER = ".wanqing-demo"
DAY_START = 9  # the office's morning: the simulated clock stands at 09:00 each day
TIMER_SCHEMAS = ("care", "ceremony")
WEEK = 7


@dataclass
class DemoOptions:
    data_dir: Path
    units: int = 30
    retirees: int = 3000
    days: int = 92
    seed: int = 2027
    start: date = date(2027, 10, 1)
    district: str = "DISTRICT"
    concurrency: int = 16


class StoppedError(RuntimeError):
    """Ctrl-C: the platform is stopping."""


def prepare_data_dir(path: Path) -> None:
    """Wipe a previous demo's data; refuse to wipe a folder that is not one."""
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        msg = f"{path} exists and is not a demo data folder (no {MARKER} file): give another --data-dir"
        raise RuntimeError(msg)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("data of `wanqing demo`, wiped at its next start\n", encoding="utf-8")


def _at(day: date, hour: int = DAY_START) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


def _zh(day: date) -> str:
    return f"{day.month}月{day.day:02d}日"


@dataclass
class Stats:
    completed: Counter[str] = field(default_factory=Counter)
    late: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    ceremonies: int = 0
    certificates: list[str] = field(default_factory=list)


class Simulation:
    def __init__(self, bus: Bus, pool: asyncpg.Pool, d: District, q: Quarter, opts: DemoOptions,  # noqa: PLR0913
                 say: Callable[[str], None], stopping: threading.Event) -> None:
        self.bus, self.pool, self.d, self.q, self.opts = bus, pool, d, q, opts
        self.say, self.stopping = say, stopping
        self.stats = Stats()
        self.today = opts.start
        self.now = _at(opts.start)
        self.cases: dict[str, str] = {}  # retiree -> assistance case
        self.unit_names = {u.code: u.name for u in d.units}

    # ------------------------------------------------------------------------------------------- time

    async def set_clock(self, when: datetime) -> None:
        async with self.pool.acquire() as conn:
            await set_platform_time(conn, when)
        self.now = when
        self.today = when.astimezone(LOCAL_TZ).date()

    async def timers_caught_up(self, seconds: float = 60) -> None:
        """Until no due timer of care or ceremony is left unfired (the services' tickers did the day's work)."""
        sql = " + ".join(f"(SELECT count(*) FROM {s}.timers WHERE fired_at IS NULL AND due_at <= $1)"
                         for s in TIMER_SCHEMAS)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not await self.pool.fetchval(f"SELECT {sql}", self.now):
                return
            await asyncio.sleep(0.05)

    async def consumers_caught_up(self, health: dict[str, str], seconds: float = 90) -> None:
        """Until care and ceremony have applied every event on the bus (their /health consumer lag is 0)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            lags = await asyncio.to_thread(_lags, [health[s] for s in ("care", "ceremony") if s in health])
            if all(v == 0 for v in lags):
                return
            await asyncio.sleep(0.2)

    # --------------------------------------------------------------------------------------- helpers

    def clerk(self, unit: str) -> dict[str, str]:
        return self.d.staff_of(unit, "unit_staff").actor

    def head(self, unit: str) -> dict[str, str]:
        return self.d.staff_of(unit, "unit_head").actor

    def who(self, unit: str) -> str:
        return f"{unit} {self.unit_names.get(unit, unit)}"

    async def profiles(self, command: str, r: Retiree | NewRetirement, **body: Any) -> dict[str, Any]:
        return await self.bus.send("profiles", command, {"retiree_id": str(r.retiree_id), **body}, self.clerk(r.unit))

    async def ceremony(self, command: str, r: NewRetirement, actor: dict[str, str] | None = None,
                       **body: Any) -> dict[str, Any]:
        return await self.bus.send("ceremony", command, {"retiree_id": r.retiree_id, **body},
                                   actor or self.clerk(r.unit))

    # ------------------------------------------------------------------------------------ the scripted day

    async def act(self, a: Action) -> None:  # noqa: C901, PLR0912, PLR0915 - one case per kind of action
        x = a.args
        today = self.today.isoformat()
        match a.kind:
            case "set_mode":
                await self.bus.send("ceremony", "SetCeremonyMode", {"unit": x["unit"], "mode": "half_year_batch"},
                                    self.head(x["unit"]))
                self.say(f"  {self.who(x['unit'])}：荣誉退休仪式改为每半年集中举办 (half-yearly batch ceremonies)")
            case "register_planned":
                r: NewRetirement = x["r"]
                await self.bus.send("profiles", "RegisterRetiree", {
                    "retiree_id": r.retiree_id, "name": r.name, "id_number": r.id_number, "unit": r.unit,
                    "category": "cadre", "phone": "139" + r.id_number[-8:-1] + "0"}, self.clerk(r.unit))
                await self.profiles("PlanRetirement", r, planned_date=x["planned_date"].isoformat())
            case "approve":
                r = x["r"]
                await self.profiles("ApproveRetirement", r, unit=r.unit, document_number=x["doc"], approved_on=today,
                                    retirement_date=today, category="cadre")
                self.say(f"  {_zh(self.today)} {self.who(r.unit)}：{r.name} 退休审批（{x['doc']}）"
                         f"(retirement approved)")
            case "consent":
                await self.ceremony("GiveConsent", x["r"])
            case "decline":
                r = x["r"]
                await self.ceremony("DeclineConsent", r, reason="本人希望低调，不举办仪式")
                self.say(f"  {_zh(self.today)} {self.who(r.unit)}：{r.name} 本人不愿举办仪式，意愿已记录 "
                         f"(consent declined, respected)")
            case "schedule":
                await self.ceremony("ScheduleCeremony", x["r"], held_on=x["held_on"].isoformat(),
                                    venue="单位三楼会议室")
            case "hold":
                await self.hold(x["r"])
            case "schedule_batch":
                await self.bus.send("ceremony", "ScheduleBatchCeremony", {
                    "unit": x["unit"], "year": self.q.start.year, "half": 1 if x["held_on"].month <= 6 else 2,  # noqa: PLR2004
                    "held_on": x["held_on"].isoformat(), "venue": "单位礼堂"}, self.clerk(x["unit"]))
            case "hold_batch":
                members = [r for r in self.q.retirements if r.unit == x["unit"] and not r.decline]
                for r in members:
                    await self.hold(r, batch=True)
            case "handover":
                await self.ceremony("CompleteHandoverStep", x["r"], step=x["step"])
            case "handover_ack":
                await self.ceremony("CompleteHandoverStep", x["r"], self.bus.office, step="handed_over",
                                    note="区老干部局已接收档案")
            case "hospitalize":
                r = x["r"]
                await self.profiles("RecordHospitalization", r, hospital=x["hospital"], admitted_on=today,
                                    severity=x["severity"])
            case "discharge":
                await self.profiles("RecordDischarge", x["r"], discharged_on=today)
            case "emergency":
                r = x["r"]
                await self.profiles("ReportFamilyEmergency", r, kind=x["kind"], description=x["description"],
                                    happened_on=(self.today - timedelta(days=1)).isoformat())
                self.say(f"  {_zh(self.today)} {self.who(r.unit)}：{r.name} 家庭重大变故（{x['description']}）")
            case "death":
                dead = x["r"]
                if x["survivor"]:
                    await self.profiles("RecordSurvivor", dead, survivor_name=dead.name[0] + "秀兰"
                                        if dead.sex == "male" else dead.name[0] + "建国", relation="配偶")
                await self.profiles("RecordDeath", dead, died_on=(self.today - timedelta(days=1)).isoformat())
                self.say(f"  {_zh(self.today)} {self.who(dead.unit)}：{dead.name} 去世，待办关怀自动撤销，安排丧事慰问 "
                         f"(death: open care cancelled, bereavement visit owed)")
            case "hardship":
                r = x["r"]
                reply = await self.profiles("ReportHardship", r, description=x["description"],
                                            amount_requested=x["amount"])
                self.cases[str(r.retiree_id)] = str(hardship_case_id(uuid.UUID(reply["event_ids"][0])))
                self.say(f"  {_zh(self.today)} {self.who(r.unit)}：{r.name} 困难帮扶申请 {x['amount']} 元 "
                         f"(hardship reported → assistance case)")
            case "assess":
                r = x["r"]
                await self.bus.send("care", "AssessAssistance", {
                    "case_id": self.cases[str(r.retiree_id)], "finding": "经入户核实，情况属实",
                    "recommended_amount": x["amount"]}, self.clerk(r.unit))
            case "approve_assistance":
                r = x["r"]
                case = await self.bus.query("care", "GetAssistanceCase", {"case_id": self.cases[str(r.retiree_id)]})
                await self.bus.send("care", "ApproveAssistance", {"case_id": case["case_id"],
                                                                  "amount": case["recommended"]})
                self.say(f"  {_zh(self.today)} 区老干部局批准 {r.name} 困难帮扶 {case['recommended']} 元 "
                         f"(assistance approved by the district office)")
            case "pay":
                r = x["r"]
                case = await self.bus.query("care", "GetAssistanceCase", {"case_id": self.cases[str(r.retiree_id)]})
                await self.bus.send("care", "PayAssistance", {
                    "case_id": case["case_id"], "paid_on": today, "amount": case["approved_amount"],
                    "voucher": f"帮扶〔{self.today.year}〕{self.today:%m%d}号"}, self.clerk(r.unit))
                self.say(f"  {_zh(self.today)} {r.name} 帮扶金 {case['approved_amount']} 元已发放 (assistance paid)")
            case "double_ninth":
                reply = await self.bus.send("care", "LaunchCampaign", {
                    "campaign_id": str(uuid.uuid4()), "festival": "double_ninth",
                    "title": f"{x['year']}年重阳节走访慰问", "year": x["year"], "due_on": x["due_on"].isoformat(),
                    "scope": {"age_bands": scenario.DOUBLE_NINTH_BANDS}})
                summary = reply.get("summary") or {}
                self.say(f"  {_zh(self.today)} 区老干部局发起重阳节走访慰问：{summary.get('units')} 个单位、"
                         f"{summary.get('tasks')} 人（70/75/80/85/90岁以上）(Double Ninth campaign launched)")
            case _:
                raise ValueError(a.kind)

    async def hold(self, r: NewRetirement, *, batch: bool = False) -> None:
        head = self.d.staff_of(r.unit, "unit_head")
        steps: list[tuple[str, dict[str, Any]]] = [
            ("AnnounceDecision", {"document_number": f"退休决定-{r.name}"}),
            ("GiveThankYouLetter", {"signed_by": head.name}),
            ("IssueCertificate", {}),
            ("GivePlaque", {"inscription": "光荣退休"}),
            ("GiveSouvenir", {"souvenir": "纪念相册"}),
            ("RecordFarewellRemarks", {"text": "感谢组织多年培养，退休不褪色，余热映晚晴。"}),
            ("RecordExtraItem", {"item": "合影留念"}),
        ]
        for command, body in steps:
            reply = await self.ceremony(command, r, **body)
            if command == "IssueCertificate":
                self.stats.certificates.append(str(reply["event_ids"][0]))
        await self.ceremony("HoldCeremony", r, held_on=self.today.isoformat())
        self.stats.ceremonies += 1
        kind = "集中" if batch else ""
        self.say(f"  {_zh(self.today)} {self.who(r.unit)}：{r.name} {kind}荣誉退休仪式（6+X，颁发退休证）"
                 f"(honorary retirement ceremony held)")

    async def run_actions(self, day: int) -> None:
        """A day's actions in order; one refused because the platform has not seen yesterday yet is retried
        the next day (twice at most).
        """
        for a in self.q.actions.get(day, []):
            try:
                await self.act(a)
            except RefusedError as exc:
                retries = a.args.get("_retries", 0)
                if exc.reply.get("code") in ("not_found", "unavailable") and retries < 2 and day + 1 < self.q.days:  # noqa: PLR2004
                    self.q.actions.setdefault(day + 1, []).append(Action(a.kind, {**a.args, "_retries": retries + 1}))
                else:
                    self.stats.refused[a.kind] += 1
                    self.say(f"  ! {a.kind}: {exc}")

    # ----------------------------------------------------------------------------- staff work their lists

    async def work_tasks(self) -> int:
        done = 0

        async def unit_tasks(unit: str) -> list[dict[str, Any]]:
            data = await self.bus.query("care", "ListTasks", {"unit": unit, "view": "open", "limit": 2000},
                                        self.clerk(unit))
            return [t for t in data["items"] if (when := completion_day(t)) is not None and when <= self.today]

        lists = await gather_all([u.code for u in self.d.member_units], unit_tasks)

        async def complete(t: dict[str, Any]) -> None:
            nonlocal done
            unit, kind = t["unit"], t["kind"]
            by = [self.d.staff_of(unit, "unit_head").user] if kind.startswith("talk_") else \
                [t["assignee"] or self.clerk(unit)["user"]]
            form = scenario.FORMS.get(kind, "phone" if kind == "regular_contact" else "home")
            body: dict[str, Any] = {"task_id": t["task_id"], "done_at": self.now.isoformat(), "done_by": by,
                                    "form": form}
            if kind in scenario.GIFTS:
                body["gifts"], body["amount"] = scenario.GIFTS[kind]
            reply = await self.bus.send("care", "CompleteTask", body, self.clerk(unit), check=False)
            if reply.get("ok"):
                done += 1
                self.stats.completed[kind] += 1
                if self.now > datetime.fromisoformat(t["due_at"]):
                    self.stats.late += 1

        await gather_all([t for ts in lists for t in ts], complete)
        return done

    async def board(self) -> dict[str, int]:
        row = await self.pool.fetchrow(
            "SELECT count(*) AS opened, count(*) FILTER (WHERE status = 'done') AS done, "
            "count(*) FILTER (WHERE status = 'done' AND on_time) AS on_time, "
            "count(*) FILTER (WHERE status = 'open') AS open, "
            "count(*) FILTER (WHERE status = 'open' AND overdue) AS overdue, "
            "count(*) FILTER (WHERE escalation IS NOT NULL) AS escalated, "
            "count(*) FILTER (WHERE status = 'cancelled') AS cancelled FROM care.tasks")
        assert row is not None  # an aggregate always returns its one row
        return dict(row)


def _lags(urls: list[str]) -> list[int | None]:
    out: list[int | None] = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - our own health endpoint
                lags = json.loads(r.read()).get("consumer_lag") or {}
            out.append(sum(v for v in lags.values() if v is not None) if all(v is not None for v in lags.values())
                       else None)
        except OSError:
            out.append(None)
    return out


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


async def simulate(nats_url: str, database_url: str, opts: DemoOptions, say: Callable[[str], None],  # noqa: PLR0913
                   stopping: threading.Event, t0: float) -> int:
    health = state.running_state(opts.data_dir.resolve())
    health_urls = health.services if health else {}
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    bus = await Bus.connect(operator_access(opts.data_dir.resolve(), opts.district, nats_url), opts.district,
                            opts.concurrency)
    try:
        d = generate(opts.seed, units=opts.units, retirees=opts.retirees, district=opts.district,
                     today=opts.start - timedelta(days=1))
        q = scenario.plan(d, opts.start, opts.days, opts.seed)
        sim = Simulation(bus, pool, d, q, opts, say, stopping)
        eve = opts.start - timedelta(days=1)
        await sim.set_clock(_at(eve))
        await sim.timers_caught_up()  # the daily sweep catches up over an empty archive: nothing is owed yet
        say(f"[{time.monotonic() - t0:5.1f}s] 平台时钟设为 {eve} 09:00（北京时间）；载入演示区 "
            f"(clock frozen; loading the demo district, seed {opts.seed})")
        loaded = await load_district(bus, d, say)
        closed = await close_historical_bereavements(bus, d)
        if not closed.complete:
            say(closed.warning_zh)
        await sim.consumers_caught_up(health_urls)
        say(f"[{time.monotonic() - t0:5.1f}s] 演示区载入完成：{loaded.units} 个单位，{loaded.staff} 名工作人员，"
            f"{loaded.retirees} 名退休人员（历史去世 {closed.closed} 人的丧事慰问已办结）"
            f"(district loaded in {loaded.seconds:.0f}s)")
        end = opts.start + timedelta(days=opts.days - 1)
        say(f"[{time.monotonic() - t0:5.1f}s] 模拟 {opts.start} 至 {end}，共 {opts.days} 天 (simulating day by day)")
        for day in range(opts.days):
            if stopping.is_set():
                raise StoppedError
            await sim.set_clock(_at(opts.start + timedelta(days=day)))
            await sim.timers_caught_up()
            await sim.run_actions(day)
            await sim.work_tasks()
            if (day + 1) % WEEK == 0 or day == opts.days - 1:
                b = await sim.board()
                say(f"[{time.monotonic() - t0:5.1f}s] 截至 {_zh(sim.today)}：关怀任务 {b['opened']} 件，"
                    f"已办 {b['done']}（按时 {b['on_time']}），在办 {b['open']}，逾期 {b['overdue']}，"
                    f"已督办升级 {b['escalated']}，撤销 {b['cancelled']}"
                    " (care tasks: opened, done, on time, open, overdue, escalated, cancelled)")
        await sim.consumers_caught_up(health_urls, seconds=30)
        await sim.timers_caught_up()
        code = await finish(sim, opts, say, t0)
        await show_what_agencies_received(nats_url, opts.data_dir.resolve(), say)
        return code
    finally:
        await bus.close()
        await pool.close()


async def finish(sim: Simulation, opts: DemoOptions, say: Callable[[str], None], t0: float) -> int:
    period = quarter_of(opts.start)
    report = await sim.bus.query("care", "GetUnitScores", {"period": period})
    say("")
    for line in table_lines(report):
        say(line)
    xlsx = write_xlsx(report, opts.data_dir / f"考评-{period}.xlsx")
    say(f"已写入 {xlsx} (the report as Excel)")
    rates = await sim.bus.query("ceremony", "OnTimeRates", {})
    due = sum(int(u["ceremonies_due"]) for u in rates)
    on_time = sum(int(u["ceremonies_on_time"]) for u in rates)
    handovers = sum(int(u["handovers_due"]) for u in rates)
    handovers_on_time = sum(int(u["handovers_on_time"]) for u in rates)
    docs = opts.data_dir / "documents" / "ceremony"
    pdfs = sorted(docs.rglob("退休证-*.pdf")) if docs.exists() else []
    say(f"荣誉退休仪式 {sim.stats.ceremonies} 场，应办 {due} 场中按时 {on_time} 场；交接 {handovers} 件中按时 "
        f"{handovers_on_time} 件 (ceremonies and handovers on time)")
    say(f"退休证 {len(pdfs)} 本，PDF 在 {docs} (retirement certificates)")
    for pdf in pdfs[:3]:
        say(f"  {pdf}")
    late = sim.stats.late
    say(f"工作人员共办结关怀任务 {sum(sim.stats.completed.values())} 件，其中逾期办结 {late} 件；"
        f"发出命令 {sim.bus.sent} 条；用时 {time.monotonic() - t0:.0f} 秒 (tasks completed, commands sent, wall time)")
    kinds = "，".join(f"{TASK_KIND_ZH[TaskKind(k)]} {n}" for k, n in sim.stats.completed.most_common())
    say(f"  按类别 (by kind)：{kinds}")
    if sim.stats.refused:
        say(f"被拒绝的操作 (refused actions): {dict(sim.stats.refused)}")
    return 0 if pdfs and report.get("units") else 1


def run_demo(opts: DemoOptions, say: Callable[[str], None] = print) -> int:
    prepare_data_dir(opts.data_dir)
    enable_demo_agencies(opts.data_dir.resolve())
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # platformdirs, harmless here
    for name in ("WANQING_NATS_URL", "WANQING_DATABASE_URL"):
        os.environ.pop(name, None)  # the demo runs on its own embedded servers, never on a configured platform
    os.environ.update({"WANQING_DATA_DIR": str(opts.data_dir.resolve()), "WANQING_LOG_LEVEL": "warning",
                       "WANQING_TICKER_INTERVAL_S": "0.1", "WANQING_LOAD_DEMO": "false",
                       "WANQING_LOG_FORMAT": "json", "WANQING_DISTRICT": opts.district,
                       "WANQING_CONSOLE_PORT": "0"})  # its console on a free port: `wanqing up` may hold 8800
    from wanqing.supervisor import Supervisor  # noqa: PLC0415 - the process machinery

    settings = Settings()
    logs.configure("console", "warning", service="demo")
    outcome: dict[str, int] = {}
    finished = threading.Event()
    logging.getLogger("asyncpg").setLevel(logging.CRITICAL)  # its pool complains while the servers stop
    t0 = time.monotonic()

    def on_ready(nats_url: str, database_url: str) -> None:
        say(f"[{time.monotonic() - t0:5.1f}s] 平台已启动（NATS、PostgreSQL 与 {len(SERVICES)} 个服务，"
            f"数据在 {opts.data_dir}）(platform up)")
        try:
            outcome["code"] = asyncio.run(simulate(nats_url, database_url, opts, say, supervisor.stopping,
                                                       t0))
        except StoppedError:
            outcome["code"] = 130
        except Exception as exc:  # noqa: BLE001 - reported, then the platform stops
            if supervisor.stopping.is_set():  # Ctrl-C: the servers went away under the simulation
                say("演示已中断 (interrupted)")
                outcome["code"] = 130
                return
            import traceback  # noqa: PLC0415

            traceback.print_exc()
            say(f"演示失败 (demo failed): {exc}")
            outcome["code"] = 1
        finally:
            supervisor.stopping.set()
            finished.set()

    supervisor = Supervisor(settings, on_ready=on_ready, service_output=opts.data_dir / "services.log",
                            show_banner=False)
    say(f"晚晴 Wanqing 演示：{opts.units} 个单位、{opts.retirees} 名退休人员、{opts.days} 天 "
        f"(demo: units, retirees, days; seed {opts.seed})")
    supervisor.run()
    interrupted = not finished.is_set()
    finished.wait(10)
    if interrupted and "code" not in outcome:
        say("演示已中断 (interrupted)")
        outcome["code"] = 130
    say(f"平台已停止 (platform stopped); 总用时 {time.monotonic() - t0:.0f} 秒")
    return outcome.get("code", 1)
