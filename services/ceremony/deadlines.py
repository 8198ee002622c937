"""The two due dates of a case (ceremony, handover) as durable timers, kept in step with the case's events, and
what a passed date records (CeremonyOverdue / HandoverOverdue).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.aggregate import load_state
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.recording import Recorder
from backbone.timers import Timer
from contracts.base import Event
from contracts.ceremony import (
    CaseClosed,
    CeremonyCaseOpened,
    CeremonyHeld,
    ConsentDeclined,
    HandoverCompleted,
    case_stream,
)
from services.ceremony import case
from services.ceremony.case import Case
from services.ceremony.policy import CeremonyPolicy

SCHEMA = "ceremony"
CEREMONY_DUE = "ceremony_due"
HANDOVER_DUE = "handover_due"


class Due(BaseModel):
    model_config = ConfigDict(frozen=True)
    retiree_id: UUID


def timer_id(kind: str, retiree_id: UUID) -> str:
    return f"{kind}:{retiree_id}"


class Deadlines:
    def __init__(self, recorder: Recorder, policy: CeremonyPolicy) -> None:
        self._recorder = recorder
        self._policy = policy

    async def _opened(self, conn: Connection, event: CeremonyCaseOpened, _meta: EventMeta) -> None:
        for kind, due in ((CEREMONY_DUE, event.ceremony_due_on), (HANDOVER_DUE, event.handover_due_on)):
            await timers.schedule(conn, SCHEMA, timer_id(kind, event.retiree_id), kind, self._policy.overdue_at(due),
                                  Due(retiree_id=event.retiree_id))

    async def _no_ceremony_owed(self, conn: Connection, event: ConsentDeclined | CeremonyHeld,
                                _meta: EventMeta) -> None:
        await timers.cancel(conn, SCHEMA, timer_id(CEREMONY_DUE, event.retiree_id))

    async def _handed_over(self, conn: Connection, event: HandoverCompleted, _meta: EventMeta) -> None:
        await timers.cancel(conn, SCHEMA, timer_id(HANDOVER_DUE, event.retiree_id))

    async def _closed(self, conn: Connection, event: CaseClosed, _meta: EventMeta) -> None:
        for kind in (CEREMONY_DUE, HANDOVER_DUE):
            await timers.cancel(conn, SCHEMA, timer_id(kind, event.retiree_id))

    @property
    def routes(self) -> Routes:
        return Routes.of({CeremonyCaseOpened: self._opened, ConsentDeclined: self._no_ceremony_owed,
                          CeremonyHeld: self._no_ceremony_owed, HandoverCompleted: self._handed_over,
                          CaseClosed: self._closed})

    async def _fire(self, conn: Connection, payload: Due, now: datetime, decide: Callable[[Case], list[Event]],
                    ) -> None:
        ctx = self._recorder.system(conn, now)
        state, version = await load_state(conn, ctx.store, case_stream(payload.retiree_id), case.evolve, Case())
        await ctx.record(case_stream(payload.retiree_id), version, decide(state), unit=state.unit)

    async def ceremony_due(self, conn: Connection, _timer_id: str, payload: Due, now: datetime) -> None:
        await self._fire(conn, payload, now, case.ceremony_overdue)

    async def handover_due(self, conn: Connection, _timer_id: str, payload: Due, now: datetime) -> None:
        await self._fire(conn, payload, now, case.handover_overdue)

    @property
    def timers(self) -> dict[str, Timer[Due]]:
        return {CEREMONY_DUE: Timer(Due, self.ceremony_due), HANDOVER_DUE: Timer(Due, self.handover_due)}
