"""The daily calendar sweep: at 00:10 district time, open the calendar obligations of every day since the last
sweep (catching up after a clock jump), and let a new contact period replace the overlapping one of an old
cadence.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.db import Connection
from backbone.recording import CommandContext, Recorder
from contracts.base import LOCAL_TZ, local_date
from contracts.care import TaskKind
from services.care import calendar, care_task
from services.care.obligations import TaskSpec
from services.care.policy_book import PolicyBook
from services.care.tasks import Tasks

SWEEP_TIMER_KIND = "daily_sweep"
SWEEP_TIMER = "sweep:daily"
SWEEP_AT = time(0, 10)  # local time of the daily calendar sweep
CATCH_UP_DAYS = 400


class Sweep(BaseModel):
    model_config = ConfigDict(frozen=True)
    day: date | None = None  # the first day the sweep covers


async def schedule_sweep(conn: Connection, day: date) -> None:
    """The next sweep covers `day` onwards; it fires at 00:10 of that day, district time."""
    await timers.schedule(conn, "care", SWEEP_TIMER, SWEEP_TIMER_KIND, datetime.combine(day, SWEEP_AT, LOCAL_TZ),
                          Sweep(day=day))


async def ensure_sweep(conn: Connection, now: datetime) -> None:
    armed = await conn.fetchval("SELECT 1 FROM care.timers WHERE timer_id = $1 AND fired_at IS NULL", SWEEP_TIMER)
    if not armed:
        await schedule_sweep(conn, local_date(now))


class CalendarSweep:
    def __init__(self, recorder: Recorder, tasks: Tasks, policies: PolicyBook) -> None:
        self._recorder = recorder
        self._tasks = tasks
        self._policies = policies

    async def on_sweep(self, conn: Connection, _timer: str, payload: Sweep, now: datetime) -> None:
        today = local_date(now)
        start = max(payload.day or today, today - timedelta(days=CATCH_UP_DAYS))
        if start <= today:
            rows = await conn.fetch(
                "SELECT retiree_id, unit, birth_date, risk_tier, living_alone, hospitalized_since IS NOT NULL AS h, "
                "party_joined_on, talent_reviewed_on FROM care.retiree_facts WHERE status = 'retired' AND NOT erased")
            people = [calendar.Person(r["retiree_id"], r["unit"], r["birth_date"], r["risk_tier"], r["living_alone"],
                                      r["h"], r["party_joined_on"], r["talent_reviewed_on"]) for r in rows]
            specs = calendar.for_range(people, start, today, self._policies.current)
            ctx = self._recorder.system(conn, now, correlation_id=UUID(int=today.toordinal()))
            opened = set(await self._tasks.open(ctx, specs))
            await self._supersede_contacts(ctx, [s for s in specs if s.task_id in opened])
        await schedule_sweep(conn, today + timedelta(days=1))

    async def _supersede_contacts(self, ctx: CommandContext, opened: list[TaskSpec]) -> None:
        """Cancel the open contact tasks of an old cadence that a newly opened period replaces."""
        contacts = [s for s in opened if s.kind is TaskKind.REGULAR_CONTACT]
        if not contacts:
            return
        rows = await ctx.conn.fetch(
            "SELECT task_id, retiree_id, period FROM care.tasks WHERE retiree_id = ANY($1::uuid[]) "
            "AND kind = 'regular_contact' AND status = 'open' AND NOT (task_id = ANY($2::uuid[]))",
            list({s.retiree_id for s in contacts}), [s.task_id for s in contacts])
        new_period = {s.retiree_id: s.period for s in contacts}
        by_task = {r["task_id"]: r["retiree_id"] for r in rows}
        for task_id in calendar.superseded_contacts(contacts, [(r["task_id"], r["retiree_id"], r["period"])
                                                               for r in rows]):
            await self._tasks.decide_about(ctx, task_id, partial(
                care_task.cancel_if_open, reason=calendar.superseded_reason(new_period[by_task[task_id]] or "")))
