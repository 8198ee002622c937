"""Care tasks at work: obligations opened as tasks (in bulk), every decision about one task, and the task's one
timer, which walks the ladder (due soon → overdue → each escalation) and is kept in step with each decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import reduce
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.aggregate import load_state
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.recording import CommandContext, Recorder, StreamBatch
from contracts.base import Accepted, Event
from contracts.care import CareTaskCommand, CareTaskOpened, task_stream
from services.care import care_task, unit_contacts
from services.care.care_task import Task
from services.care.obligations import TaskSpec
from services.care.policy import Policy
from services.care.policy_book import PolicyBook

SCHEMA = "care"
STAGE_TIMER = "task_stage"
CHUNK = 2000  # tasks per statement: bounds memory for district-wide campaigns


class Stage(BaseModel):
    """The payload of a task's timer: which rung of the ladder it waits for."""

    model_config = ConfigDict(frozen=True)
    task_id: UUID
    stage: str


def timer_id(task_id: UUID) -> str:
    return f"task:{task_id}"


def _stage_timer(state: Task, policy: Policy, now: datetime) -> tuple[str, str, datetime, dict[str, str]] | None:
    """The task's timer row. The payload is written as Stage's JSON directly: a campaign arms 50,000 of them in
    one statement, and a model per row would cost more than the rest of the row (it is decoded as Stage when
    it fires).
    """
    assert state.task_id is not None
    stage = care_task.next_stage(state, policy, now)
    if stage is None:
        return None
    return timer_id(state.task_id), STAGE_TIMER, stage[1], {"task_id": str(state.task_id), "stage": stage[0]}


class Tasks:
    def __init__(self, recorder: Recorder, policies: PolicyBook) -> None:
        self._recorder = recorder
        self._policies = policies

    # ------------------------------------------------------------------------------------------- opening

    async def open(self, ctx: CommandContext, specs: Sequence[TaskSpec]) -> list[UUID]:
        """Open the tasks not opened yet (a task's id comes from its obligation); returns the ids opened now."""
        opened: list[UUID] = []
        for start in range(0, len(specs), CHUNK):
            opened += await self._open_chunk(ctx, specs[start:start + CHUNK])
        return opened

    async def _open_chunk(self, ctx: CommandContext, specs: Sequence[TaskSpec]) -> list[UUID]:
        unique = {s.task_id: s for s in specs}
        existing = {r["task_id"] for r in await ctx.conn.fetch(
            "SELECT task_id FROM care.tasks WHERE task_id = ANY($1::uuid[])", list(unique))}
        fresh = [s for tid, s in unique.items() if tid not in existing]
        if not fresh:
            return []
        contacts = await unit_contacts.care_contacts(ctx.conn, {s.unit for s in fresh})
        policy = self._policies.current
        batch: list[StreamBatch] = [
            (task_stream(s.task_id), 0, care_task.decide_open(Task(), s, contacts.get(s.unit), policy), s.unit)
            for s in fresh]
        await ctx.record_many(batch)
        return [s.task_id for s in fresh]

    async def arm_first_stage(self, conn: Connection, items: Sequence[tuple[CareTaskOpened, EventMeta]]) -> None:
        """A task just opened waits for its first rung (in one statement for a campaign's chunk)."""
        rows = [_stage_timer(care_task.evolve(Task(), e), self._policies.version(e.policy_version), m.occurred_at)
                for e, m in items]
        await timers.schedule_many(conn, SCHEMA, [r for r in rows if r is not None])

    async def _arm_one(self, conn: Connection, event: CareTaskOpened, meta: EventMeta) -> None:
        await self.arm_first_stage(conn, [(event, meta)])

    @property
    def timers(self) -> Routes:
        """Kept with each recorded event, but not part of the read models (a rebuild arms no timer)."""
        return Routes.of({CareTaskOpened: self._arm_one}, bulk={CareTaskOpened: self.arm_first_stage})

    # ---------------------------------------------------------------------------------------- deciding

    async def decide_about(self, ctx: CommandContext, task_id: UUID,
                           decide: Callable[[Task], list[Event]]) -> Accepted:
        """Load the task, decide, record (under the unit the task is in afterwards: a transfer moves it), and
        point its timer at its next rung, or drop the timer once the task is closed.
        """
        stream = task_stream(task_id)
        state, version = await load_state(ctx.conn, ctx.store, stream, care_task.evolve, Task())
        events = decide(state)
        after = reduce(care_task.evolve, events, state)
        reply = await ctx.record(stream, version, events, unit=after.unit or "")
        if after.task_id is not None:
            await self._rearm(ctx.conn, after, ctx.now)
        return reply

    async def _rearm(self, conn: Connection, state: Task, now: datetime) -> None:
        assert state.task_id is not None
        timer = _stage_timer(state, self._policies.version(state.policy_version), now)
        if timer is None:
            await timers.cancel(conn, SCHEMA, timer_id(state.task_id))
        else:
            await timers.schedule(conn, SCHEMA, *timer)

    async def task_command(self, ctx: CommandContext, cmd: CareTaskCommand) -> Accepted:
        return await self.decide_about(ctx, cmd.task_id, lambda s: care_task.decide(cmd, s, ctx.now))

    async def on_stage(self, conn: Connection, _timer: str, payload: Stage, now: datetime) -> None:
        ctx = self._recorder.system(conn, now, correlation_id=payload.task_id)
        await self.decide_about(ctx, payload.task_id, lambda s: care_task.decide_stage(
            s, payload.stage, now, self._policies.version(s.policy_version)))

    async def open_of(self, conn: Connection, retiree_id: UUID) -> list[UUID]:
        """The open tasks of a person, for the decisions a death or a transfer takes about each of them."""
        rows = await conn.fetch("SELECT task_id FROM care.tasks WHERE retiree_id = $1 AND status = 'open' "
                                "ORDER BY opened_at, task_id", retiree_id)
        return [r["task_id"] for r in rows]
