"""What ceremony learns from profiles' events: unit names, the retiree facts, and when to open or close a case.

Also the timer handlers: a passed due date becomes CeremonyOverdue / HandoverOverdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from backbone.aggregate import load_state
from contracts.base import Envelope
from contracts.ceremony import DEFAULT_MODE, CeremonyMode, HandoverStep, batch_stream, case_stream
from contracts.profiles import CommunityRegistered, MemberDeceased, RetireeTransferred, RetirementApproved
from contracts.registry import EVENTS
from services.ceremony import batch, case
from services.ceremony.batch import Batch
from services.ceremony.case import Case
from services.ceremony.recording import SystemWriter

MODELS = EVENTS["ceremony"]


@dataclass(frozen=True)
class ProfilesFeed:
    writer: SystemWriter

    async def handle(self, conn: asyncpg.Connection, env: Envelope) -> None:
        """Routing table of profiles' events; other types are not ceremony's concern."""
        data = {**env.data, "type": env.type}
        match env.type:
            case "UnitRegistered":
                await conn.execute("INSERT INTO ceremony.units (code, name) VALUES ($1, $2) "
                                   "ON CONFLICT (code) DO UPDATE SET name = excluded.name", data["code"], data["name"])
            case "RetirementApproved":
                await self.approved(conn, env, RetirementApproved.model_validate(data))
            case "CommunityRegistered":
                ev = CommunityRegistered.model_validate(data)
                await self._on_case(conn, env, ev.retiree_id,
                                    lambda s: case.step_seen(s, HandoverStep.COMMUNITY_REGISTERED,
                                                             self.writer.policy.today(env.occurred_at)))
            case "RetireeTransferred":
                moved = RetireeTransferred.model_validate(data)
                await conn.execute("UPDATE ceremony.retirees SET unit = $2 WHERE retiree_id = $1",
                                   moved.retiree_id, moved.to_unit)
            case "MemberDeceased":
                dead = MemberDeceased.model_validate(data)
                await conn.execute("UPDATE ceremony.retirees SET status = 'deceased', died_on = $2 "
                                   "WHERE retiree_id = $1", dead.retiree_id, dead.died_on)
                await self._on_case(conn, env, dead.retiree_id, lambda s: case.close(s, "退休人员去世"))

    async def approved(self, conn: asyncpg.Connection, env: Envelope, ev: RetirementApproved) -> None:
        await conn.execute(
            "INSERT INTO ceremony.retirees (retiree_id, unit, status, approved_on, document_number, retirement_date) "
            "VALUES ($1, $2, 'retired', $3, $4, $5) ON CONFLICT (retiree_id) DO UPDATE SET unit = excluded.unit, "
            "status = excluded.status, approved_on = excluded.approved_on, "
            "document_number = excluded.document_number, retirement_date = excluded.retirement_date",
            ev.retiree_id, ev.unit, ev.approved_on, ev.document_number, ev.retirement_date,
        )
        store, policy = self.writer.store, self.writer.policy
        state, version = await load_state(conn, store, case_stream(ev.retiree_id), MODELS, case.evolve, Case())
        if state.opened:
            return
        mode = CeremonyMode(await conn.fetchval("SELECT mode FROM ceremony.units WHERE code = $1", ev.unit)
                            or DEFAULT_MODE)
        chosen: tuple[str, Any] | None = None
        if mode is CeremonyMode.HALF_YEAR_BATCH:
            bid, _year, _half, due = batch.batch_of(ev.unit, ev.approved_on)
            b_state, b_version = await load_state(conn, store, batch_stream(bid), MODELS, batch.evolve, Batch())
            await self.writer.record(conn, batch_stream(bid), b_version,
                                     batch.add_retiree(b_state, ev.unit, ev.approved_on, ev.retiree_id),
                                     unit=ev.unit, now=env.occurred_at, cause=env.event_id,
                                     correlation=env.correlation_id)
            chosen = (bid, due)
        events = case.open_case(state, retiree_id=ev.retiree_id, unit=ev.unit, document_number=ev.document_number,
                                approved_on=ev.approved_on, mode=mode, batch=chosen, policy=policy)
        await self.writer.record(conn, case_stream(ev.retiree_id), version, events, unit=ev.unit,
                                 now=env.occurred_at, cause=env.event_id, correlation=env.correlation_id)

    async def _on_case(self, conn: asyncpg.Connection, env: Envelope, rid: UUID, decide: Any) -> None:
        store = self.writer.store
        state, version = await load_state(conn, store, case_stream(rid), MODELS, case.evolve, Case())
        await self.writer.record(conn, case_stream(rid), version, decide(state), unit=state.unit,
                                 now=env.occurred_at, cause=env.event_id, correlation=env.correlation_id)


@dataclass(frozen=True)
class Deadlines:
    writer: SystemWriter

    async def _fire(self, conn: asyncpg.Connection, payload: dict[str, Any], now: datetime, decide: Any) -> None:
        rid = UUID(payload["retiree_id"])
        state, version = await load_state(conn, self.writer.store, case_stream(rid), MODELS, case.evolve, Case())
        await self.writer.record(conn, case_stream(rid), version, decide(state), unit=state.unit, now=now)

    async def ceremony_due(self, conn: asyncpg.Connection, _timer_id: str, payload: dict[str, Any],
                           now: datetime) -> None:
        await self._fire(conn, payload, now, case.ceremony_overdue)

    async def handover_due(self, conn: asyncpg.Connection, _timer_id: str, payload: dict[str, Any],
                           now: datetime) -> None:
        await self._fire(conn, payload, now, case.handover_overdue)
