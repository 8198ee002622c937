"""Work-quality scores per unit and period (规范化、精准化): the district's check of every unit's obligations."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

import asyncpg

from backbone.db import Connection
from contracts.base import LOCAL_TZ
from contracts.care import GetUnitScores
from contracts.errors import forbidden, refused

METRICS_ZH = {
    "talks_before_approval_pct": "退休前谈心谈话按时完成率",
    "hospital_visits_on_time_pct": "住院看望及时率",
    "median_hours_to_hospital_visit": "住院看望平均用时中位数（小时）",
    "festival_coverage_pct": "节日慰问覆盖率",
    "contacted_pct": "本期日常联系覆盖率",
    "exams_done_pct": "年度体检完成率",
    "overdue_open_tasks": "逾期未办任务数",
    "assistance_on_time_pct": "困难帮扶按时决定率",
}


def period_bounds(period: str) -> tuple[date, date]:
    """[start, end) of 2027, 2027Q1, 2027H2 or 2027-03."""
    if m := re.fullmatch(r"(\d{4})", period):
        y = int(m[1])
        return date(y, 1, 1), date(y + 1, 1, 1)
    if m := re.fullmatch(r"(\d{4})Q([1-4])", period):
        y, q = int(m[1]), int(m[2])
        return date(y, 3 * q - 2, 1), (date(y, 3 * q + 1, 1) if q < 4 else date(y + 1, 1, 1))  # noqa: PLR2004
    if m := re.fullmatch(r"(\d{4})H([12])", period):
        y, h = int(m[1]), int(m[2])
        return (date(y, 1, 1), date(y, 7, 1)) if h == 1 else (date(y, 7, 1), date(y + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:  # noqa: PLR2004
            raise refused(f"no month {mo}", zh=f"没有 {mo} 月，请填写 01 至 12 月", field="period")
        return date(y, mo, 1), date(y + mo // 12, mo % 12 + 1, 1)
    raise refused(f"unknown period {period!r}: use 2027, 2027Q1, 2027H1 or 2027-03",
                  zh=f"考评期间“{period}”无法识别，请写成 2027（年）、2027Q1（季度）、2027H1（半年）或 2027-03（月）",
                  field="period")


def _pct(part: int | None, whole: int | None) -> float | None:
    return round(100.0 * (part or 0) / whole, 1) if whole else None


# The first day of a contact period label made by calendar.contact_period (2027Q1, 2027-03, 2027M01+2).
PERIOD_START = """(CASE
    WHEN period ~ '^[0-9]{4}Q[1-4]$' THEN make_date(left(period, 4)::int, substr(period, 6, 1)::int * 3 - 2, 1)
    WHEN period ~ '^[0-9]{4}-[0-9]{2}$' THEN make_date(left(period, 4)::int, substr(period, 6, 2)::int, 1)
    WHEN period ~ '^[0-9]{4}M[0-9]{2}[+]' THEN make_date(left(period, 4)::int, substr(period, 6, 2)::int, 1)
    END::timestamp AT TIME ZONE 'Asia/Shanghai')"""

# Every rate counts obligations met by their completion event within their own period or due time; a task of
# another kind, or one done too late (or dated before its period), never fills a rate.
QUERIES: dict[str, str] = {
    # Of the retirements approved in the period, both talks (the two kinds) done on or before the approval date.
    "talks": """
        SELECT f.unit, count(*) AS whole, count(*) FILTER (WHERE (
            SELECT count(DISTINCT t.kind) FROM care.tasks t WHERE t.retiree_id = f.retiree_id AND t.status = 'done'
              AND t.kind IN ('talk_org_with_head', 'talk_head_with_retiree')
              AND (t.done_at AT TIME ZONE 'Asia/Shanghai')::date <= f.approved_on) = 2) AS part
        FROM care.retiree_facts f WHERE f.approved_on >= $1::date AND f.approved_on < $2::date
          AND f.approved_on <= ($3 AT TIME ZONE 'Asia/Shanghai')::date GROUP BY f.unit""",
    "hospital": """
        SELECT unit, count(*) FILTER (WHERE status = 'done' OR due_at < $3) AS whole,
               count(*) FILTER (WHERE on_time) AS part,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - opened_at) / 3600)
                   FILTER (WHERE status = 'done') AS median_hours
        FROM care.tasks WHERE kind = 'hospital_visit' AND status <> 'cancelled'
          AND opened_at >= $1 AND opened_at < $2 GROUP BY unit""",
    # Festival visits of the campaigns due in the period, done by the campaign's due date.
    "festival": """
        SELECT t.unit, count(*) AS whole, count(*) FILTER (WHERE t.status = 'done' AND t.on_time) AS part
        FROM care.tasks t JOIN care.campaigns c ON c.campaign_id = t.campaign_id
        WHERE t.status <> 'cancelled' AND c.due_on >= $1::date AND c.due_on < $2::date GROUP BY t.unit""",
    # The regular-contact obligations whose contact period ends in the period, met within that contact period.
    "contacted": f"""
        SELECT unit, count(*) AS whole,
               count(*) FILTER (WHERE status = 'done' AND done_at <= due_at AND done_at >= period_start) AS part
        FROM (SELECT *, {PERIOD_START} AS period_start FROM care.tasks
              WHERE kind = 'regular_contact' AND status <> 'cancelled' AND NOT for_survivor
                AND due_at >= $1 AND due_at < $2) c GROUP BY unit""",
    # The yearly exams of the years the period touches, done within their year.
    "exams": """
        SELECT unit, count(*) AS whole, count(*) FILTER (WHERE status = 'done' AND on_time
               AND (done_at AT TIME ZONE 'Asia/Shanghai')::date >= make_date(period::int, 1, 1)) AS part
        FROM care.tasks WHERE kind = 'health_exam' AND status <> 'cancelled' AND period = ANY($4::text[])
          AND $1::timestamptz IS NOT NULL AND $2::timestamptz IS NOT NULL AND $3::timestamptz IS NOT NULL
        GROUP BY unit""",
    "overdue": """
        SELECT unit, count(*) AS part FROM care.tasks
        WHERE status = 'open' AND due_at < $3 AND $1::timestamptz IS NOT NULL AND $2::timestamptz IS NOT NULL
        GROUP BY unit""",
    "assistance": """
        SELECT unit, count(*) FILTER (WHERE decided_at IS NOT NULL OR decision_due_at < $3) AS whole,
               count(*) FILTER (WHERE decided_on_time) AS part
        FROM care.assistance_cases WHERE opened_at >= $1 AND opened_at < $2 GROUP BY unit""",
}


async def unit_scores(conn: Connection, q: GetUnitScores, now: datetime) -> dict[str, Any]:
    if q.unit is not None and not q.actor.may_act_for(q.unit):
        raise forbidden(f"{q.actor.user} may not read the scores of {q.unit}", zh=f"无权查看其他单位（{q.unit}）的考评")
    start, end = period_bounds(q.period)
    start_at, end_at = (datetime.combine(d, time(0), LOCAL_TZ) for d in (start, end))
    years = [str(y) for y in range(start.year, (end.year if end.month > 1 or end.day > 1 else end.year - 1) + 1)]
    as_of = min(now, end_at)
    known = await conn.fetch("SELECT unit, name, kind FROM care.unit_contacts")
    units = {r["unit"]: r["name"] for r in known}
    scope = "district" if q.unit is None and q.actor.oversees_all else "unit"
    if q.unit is not None:
        units = {q.unit: units.get(q.unit)}
    elif not q.actor.oversees_all:
        units = {q.actor.unit: units.get(q.actor.unit)}
    results: dict[str, dict[str, asyncpg.Record]] = {}
    for name, sql in QUERIES.items():
        args: list[Any] = [start_at, end_at, as_of, years]
        used = max(int(n) for n in re.findall(r"\$(\d)", sql))
        results[name] = {r["unit"]: r for r in await conn.fetch(sql, *args[:used])}
    district_units = {r["unit"] for r in known if r["kind"] == "district"}
    # The district itself is not a unit being scored: its row is left out unless something was owed there.
    rows = []
    for u in sorted(units):
        row = _unit_row(u, units[u], results)
        if not (u in district_units and scope == "district" and _owes_nothing(row)):
            rows.append(row)
    totals = _totals(results, set(units))
    return {"period": q.period, "start": start.isoformat(), "end": end.isoformat(), "as_of": as_of.isoformat(),
            "scope": scope, "metrics_zh": METRICS_ZH, "units": rows, "district": totals}


def _owes_nothing(row: dict[str, Any]) -> bool:
    return all(v is None for k, v in row.items() if k.endswith(("_pct", "_visit"))) and not row["overdue_open_tasks"]


def _get(results: dict[str, dict[str, asyncpg.Record]], metric: str, unit: str, col: str) -> Any:
    row = results[metric].get(unit)
    return row[col] if row is not None else None


def _unit_row(unit: str, name: str | None, results: dict[str, dict[str, asyncpg.Record]]) -> dict[str, Any]:
    def pct(metric: str) -> float | None:
        return _pct(_get(results, metric, unit, "part"), _get(results, metric, unit, "whole"))

    median = _get(results, "hospital", unit, "median_hours")
    return {
        "unit": unit, "name": name,
        "talks_before_approval_pct": pct("talks"),
        "hospital_visits_on_time_pct": pct("hospital"),
        "median_hours_to_hospital_visit": round(median, 1) if median is not None else None,
        "festival_coverage_pct": pct("festival"),
        "contacted_pct": pct("contacted"),
        "exams_done_pct": pct("exams"),
        "overdue_open_tasks": int(_get(results, "overdue", unit, "part") or 0),
        "assistance_on_time_pct": pct("assistance"),
    }


def _totals(results: dict[str, dict[str, asyncpg.Record]], units: set[str]) -> dict[str, Any]:
    def total(metric: str) -> float | None:
        rows = [r for u, r in results[metric].items() if u in units]
        return _pct(sum(r["part"] or 0 for r in rows), sum(r["whole"] or 0 for r in rows))

    return {
        "talks_before_approval_pct": total("talks"),
        "hospital_visits_on_time_pct": total("hospital"),
        "festival_coverage_pct": total("festival"),
        "contacted_pct": total("contacted"),
        "exams_done_pct": total("exams"),
        "overdue_open_tasks": sum(int(r["part"]) for u, r in results["overdue"].items() if u in units),
        "assistance_on_time_pct": total("assistance"),
    }
