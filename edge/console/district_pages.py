"""区老干部局的页面: the district office's dashboard, a unit's figures, the escalated list and the report.

Figures come from care over the bus: GetUnitScores for the work-quality metrics (the same answer
`wanqing report units` prints), and ListTasks per unit for what the tasks did in the period (opened, done, done
on time) and where they stand now (overdue, escalated). Only the district office opens these pages; anyone else
gets the 403 page (the services would refuse them anyway).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from contracts.base import LOCAL_TZ, Refused
from contracts.errors import ErrorCode
from edge.console.charts import bar_chart, line_chart
from edge.console.names import names_of
from edge.console.sessions import ConsoleSession
from edge.console.web import TEMPLATES, RefusedError, console, current, data, render
from wanqing.report import COLUMNS, LEGEND, total_label, write_xlsx

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(current)]
PURPOSE = "区老干部局督导单位关怀工作"
PERIOD = re.compile(r"^\d{4}(Q[1-4]|H[12]|-\d{2})?$")
TASK_LIMIT = 2000
OFFICE_ONLY = "只有区老干部局可以查看此页面"


def office_only(session: ConsoleSession, what: str = OFFICE_ONLY) -> None:
    """The district office's pages: anyone else is shown the 403 page, in Chinese."""
    if not session.actor.oversees_all:
        raise RefusedError(Refused(code=ErrorCode.FORBIDDEN, message=what,
                                   developer_message=f"{session.actor.user} is not the district office"))


async def office(session: Annotated[ConsoleSession, Depends(current)]) -> ConsoleSession:
    office_only(session)
    return session


Office = Annotated[ConsoleSession, Depends(office)]


QUARTER_ZH = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}


def period_zh(period: str) -> str:
    """2027Q1 -> 2027年第一季度, 2027H2 -> 2027年下半年, 2027-03 -> 2027年3月, 2027 -> 2027年."""
    text = str(period)
    if not PERIOD.fullmatch(text):
        return text
    year, rest = text[:4], text[4:]
    if rest.startswith("Q"):
        return f"{year}年{QUARTER_ZH[rest[1]]}"
    if rest.startswith("H"):
        return f"{year}年{'上' if rest == 'H1' else '下'}半年"
    if rest.startswith("-"):
        return f"{year}年{int(rest[1:])}月"
    return f"{year}年"


TEMPLATES.env.filters["period_zh"] = period_zh


def current_quarter() -> str:
    today = datetime.now(LOCAL_TZ).date()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


async def units_of_district(request: Request, session: ConsoleSession) -> dict[str, str]:
    """Unit code -> name of the units scored (the district itself is not one of them)."""
    found = data(await console(request).bus.query(session.credentials, "profiles", "ListUnits", {}))
    return {str(u["code"]): str(u["name"]) for u in found if u.get("kind") != "district"}


async def unit_tasks(request: Request, session: ConsoleSession, units: Iterable[str]) -> dict[str, list[Any]]:
    """Every task of each unit (ListTasks, view all), asked side by side."""
    bus = console(request).bus
    codes = list(units)
    replies = await asyncio.gather(*(bus.query(session.credentials, "care", "ListTasks",
                                               {"unit": u, "view": "all", "limit": TASK_LIMIT}) for u in codes))
    out: dict[str, list[Any]] = {}
    for code, reply in zip(codes, replies, strict=True):
        out[code] = list(data(reply)["items"])
    return out


def _local_day(value: Any) -> date | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value)).astimezone(LOCAL_TZ).date()


@dataclass
class Figures:
    """What one unit's tasks did in a period [start, end) and where its open tasks stand now."""

    opened: int = 0
    done: int = 0
    on_time: int = 0
    overdue: int = 0
    escalated: int = 0

    @property
    def on_time_pct(self) -> float | None:
        return round(self.on_time * 100 / self.done, 1) if self.done else None


@dataclass
class Row:
    unit: str
    name: str
    figures: Figures


def figures(tasks: Iterable[dict[str, Any]], start: date, end: date) -> Figures:
    f = Figures()
    for t in tasks:
        opened, done = _local_day(t.get("opened_at")), _local_day(t.get("done_at"))
        if opened is not None and start <= opened < end:
            f.opened += 1
        if t.get("status") == "done" and done is not None and start <= done < end:
            f.done += 1
            f.on_time += 1 if t.get("on_time") else 0
        if t.get("status") == "open":
            f.overdue += 1 if t.get("overdue") else 0
            f.escalated += 1 if t.get("escalation") else 0
    return f


def done_per_week(tasks: Iterable[dict[str, Any]], start: date, end: date) -> list[tuple[str, int]]:
    """Tasks done in each week (Monday to Sunday, Beijing time) of the period, up to today."""
    last = min(end - timedelta(days=1), datetime.now(LOCAL_TZ).date())
    monday = start - timedelta(days=start.weekday())
    weeks: dict[date, int] = {}
    while monday <= last:
        weeks[monday] = 0
        monday += timedelta(days=7)
    for t in tasks:
        done = _local_day(t.get("done_at"))
        if t.get("status") == "done" and done is not None and start <= done < end:
            week = done - timedelta(days=done.weekday())
            if week in weeks:
                weeks[week] += 1
    return [(f"{w.month}/{w.day}", n) for w, n in weeks.items()]


async def _scores(request: Request, session: ConsoleSession, period: str, unit: str | None = None) -> Any:
    body: dict[str, Any] = {"period": period}
    if unit is not None:
        body["unit"] = unit
    return data(await console(request).bus.query(session.credentials, "care", "GetUnitScores", body))


def _period(period: str) -> tuple[str, str]:
    """The period asked for (or the current quarter) and a message when what was typed is not a period."""
    asked = period.strip()
    if not asked:
        return current_quarter(), ""
    if PERIOD.fullmatch(asked):
        return asked, ""
    return current_quarter(), f"“{asked}”不是考评期间，请按 2027、2027Q1、2027H1 或 2027-03 填写；下面是本季度的情况。"


@router.get("/district", response_class=HTMLResponse)
async def dashboard(request: Request, session: Office, period: str = "") -> HTMLResponse:
    chosen, message = _period(period)
    units, scores = await asyncio.gather(units_of_district(request, session), _scores(request, session, chosen))
    start, end = date.fromisoformat(scores["start"]), date.fromisoformat(scores["end"])
    tasks = await unit_tasks(request, session, units)
    rows = [Row(u, name, figures(tasks[u], start, end)) for u, name in units.items()]
    every = [t for items in tasks.values() for t in items]
    bars = bar_chart([(r.name, r.figures.on_time_pct) for r in rows],
                     title=f"{chosen} 各单位按时办结率（%）")
    trend = line_chart(done_per_week(every, start, end), title=f"{chosen} 全区每周办结任务数")
    by_unit = {s["unit"]: s for s in scores["units"]}
    return render(request, "district.html", period=chosen, message=message, scores=scores, rows=rows,
                  by_unit=by_unit, bars=bars, trend=trend, periods=_nearby_periods(chosen))


def _nearby_periods(period: str) -> list[str]:
    """A few periods to pick from (this quarter and the three before it, this year): few choices per screen."""
    year, quarter = int(current_quarter()[:4]), int(current_quarter()[-1])
    out = []
    for _ in range(4):
        out.append(f"{year}Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    out.append(current_quarter()[:4])
    return out if period in out else [period, *out]


@router.get("/district/units/{unit}", response_class=HTMLResponse)
async def unit_page(request: Request, unit: str, session: Office, period: str = "") -> HTMLResponse:
    chosen, message = _period(period)
    units = await units_of_district(request, session)
    if unit not in units:
        raise RefusedError(Refused(code=ErrorCode.NOT_FOUND, message=f"没有找到单位 {unit}"))
    scores = await _scores(request, session, chosen, unit)
    start, end = date.fromisoformat(scores["start"]), date.fromisoformat(scores["end"])
    tasks = (await unit_tasks(request, session, [unit]))[unit]
    open_tasks = [t for t in tasks if t.get("status") == "open"]
    escalated = [t for t in open_tasks if t.get("escalation")]
    overdue = [t for t in open_tasks if t.get("overdue") and not t.get("escalation")]
    rest = [t for t in open_tasks if not t.get("overdue") and not t.get("escalation")]
    names = await names_of(console(request).bus, session.credentials, (t["retiree_id"] for t in open_tasks),
                           PURPOSE)
    score = scores["units"][0] if scores["units"] else {}
    return render(request, "district_unit.html", unit=unit, name=units[unit], period=chosen, message=message,
                  scores=scores, score=score, figures=figures(tasks, start, end), escalated=escalated,
                  overdue=overdue, rest=rest, names=names)


@router.get("/district/escalated", response_class=HTMLResponse)
async def escalated_page(request: Request, session: Office) -> HTMLResponse:
    units = await units_of_district(request, session)
    tasks = await unit_tasks(request, session, units)
    items = sorted((t for ts in tasks.values() for t in ts if t.get("status") == "open" and t.get("escalation")),
                   key=lambda t: str(t.get("due_at")))
    names = await names_of(console(request).bus, session.credentials, (t["retiree_id"] for t in items), PURPOSE)
    return render(request, "district_escalated.html", items=items, names=names, units=units)


@router.get("/district/report", response_class=HTMLResponse)
async def report_page(request: Request, session: Office, period: str = "") -> HTMLResponse:
    chosen, message = _period(period)
    scores = await _scores(request, session, chosen)
    return render(request, "district_report.html", period=chosen, message=message, report=scores,
                  columns=COLUMNS, total=total_label(scores), legend=LEGEND, periods=_nearby_periods(chosen))


@router.get("/district/report.xlsx", response_model=None)
async def report_xlsx(request: Request, session: Office, period: str = "") -> Response:
    chosen, _ = _period(period)
    scores = await _scores(request, session, chosen)
    with tempfile.TemporaryDirectory() as folder:
        content = write_xlsx(scores, Path(folder) / "report.xlsx").read_bytes()
    filename = quote(f"工作质量考评-{chosen}.xlsx")
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=report-{chosen}.xlsx; "
                                                    f"filename*=UTF-8''{filename}"})
