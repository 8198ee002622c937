"""Hardship assistance cases at work: the case commands, the case opened from a report, the decision deadline."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.aggregate import load_state
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.recording import CommandContext, Recorder
from contracts.base import Accepted
from contracts.care import (
    ApplyForAssistance,
    AssistanceApproved,
    AssistanceCaseOpened,
    AssistanceCommand,
    AssistanceRejected,
    assistance_stream,
)
from services.care import assistance
from services.care.assistance import Case, Facts
from services.care.policy_book import PolicyBook

DEADLINE_TIMER = "assistance_deadline"


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True)
    case_id: UUID


def timer_id(case_id: UUID) -> str:
    return f"assistance:{case_id}"


class AssistanceDesk:
    def __init__(self, recorder: Recorder, policies: PolicyBook) -> None:
        self._recorder = recorder
        self._policies = policies

    async def _case(self, ctx: CommandContext, case_id: UUID) -> tuple[Case, int]:
        return await load_state(ctx.conn, ctx.store, assistance_stream(case_id), assistance.evolve, Case())

    async def case_command(self, ctx: CommandContext, cmd: AssistanceCommand) -> Accepted:
        state, version = await self._case(ctx, cmd.case_id)
        living = True
        if isinstance(cmd, ApplyForAssistance):
            status = await ctx.conn.fetchval(
                "SELECT status FROM care.retiree_facts WHERE retiree_id = $1 AND unit = $2 AND NOT erased",
                cmd.retiree_id, cmd.unit)
            living = status == "retired"
        events = assistance.decide(cmd, state, Facts(now=ctx.now, policy=self._policies.current, living=living))
        unit = cmd.unit if isinstance(cmd, ApplyForAssistance) else state.unit or ""
        return await ctx.record(assistance_stream(cmd.case_id), version, events, unit=unit)

    async def record_opened(self, ctx: CommandContext, opened: AssistanceCaseOpened) -> Accepted:
        """A case the service opens itself (from a hardship report): a new stream."""
        return await ctx.record(assistance_stream(opened.case_id), 0, [opened], unit=opened.unit)

    async def on_deadline(self, conn: Connection, _timer: str, payload: Deadline, now: datetime) -> None:
        ctx = self._recorder.system(conn, now, correlation_id=payload.case_id)
        state, version = await self._case(ctx, payload.case_id)
        await ctx.record(assistance_stream(payload.case_id), version, assistance.decide_deadline(state),
                         unit=state.unit or "")

    # ------------------------------------------------------------------------ the deadline, kept in step

    async def _arm(self, conn: Connection, event: AssistanceCaseOpened, _meta: EventMeta) -> None:
        await timers.schedule(conn, "care", timer_id(event.case_id), DEADLINE_TIMER, event.decision_due_at,
                              Deadline(case_id=event.case_id))

    async def _decided(self, conn: Connection, event: AssistanceApproved | AssistanceRejected,
                       _meta: EventMeta) -> None:
        await timers.cancel(conn, "care", timer_id(event.case_id))

    @property
    def timers(self) -> Routes:
        return Routes.of({AssistanceCaseOpened: self._arm, AssistanceApproved: self._decided,
                          AssistanceRejected: self._decided})
