"""What ceremony learns from profiles' events: unit names, the retiree facts, and when to open or close a case.

A case's events decided here occur when profiles recorded their cause (the approval, the death), not when
this consumer got round to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from backbone.aggregate import load_state
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.recording import Recorder
from contracts.base import Event
from contracts.ceremony import DEFAULT_MODE, CeremonyMode, HandoverStep, batch_stream, case_stream
from contracts.profiles import (
    CommunityRegistered,
    MemberDeceased,
    PartyMembershipRecorded,
    RetireeTransferred,
    RetirementApproved,
    UnitRegistered,
)
from services.ceremony import batch, case, opening
from services.ceremony.batch import Batch
from services.ceremony.case import Case
from services.ceremony.policy import CeremonyPolicy

CASE_CLOSED_ON_DEATH = "退休人员去世"

# ------------------------------------------------------------------ the facts kept (replayed by rebuild.py)


async def unit_registered(conn: Connection, event: UnitRegistered, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO ceremony.units (code, name) VALUES ($1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET name = excluded.name", event.code, event.name)


async def retiree_approved(conn: Connection, event: RetirementApproved, _meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO ceremony.retirees (retiree_id, unit, status, approved_on, document_number, "
        "retirement_date) VALUES ($1, $2, 'retired', $3, $4, $5) ON CONFLICT (retiree_id) DO UPDATE SET "
        "unit = excluded.unit, status = excluded.status, approved_on = excluded.approved_on, "
        "document_number = excluded.document_number, retirement_date = excluded.retirement_date",
        event.retiree_id, event.unit, event.approved_on, event.document_number, event.retirement_date,
    )


async def party_member(conn: Connection, event: PartyMembershipRecorded, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO ceremony.party_members (retiree_id) VALUES ($1) ON CONFLICT DO NOTHING",
                       event.retiree_id)


async def retiree_transferred(conn: Connection, event: RetireeTransferred, _meta: EventMeta) -> None:
    await conn.execute("UPDATE ceremony.retirees SET unit = $2 WHERE retiree_id = $1", event.retiree_id,
                       event.to_unit)


async def retiree_deceased(conn: Connection, event: MemberDeceased, _meta: EventMeta) -> None:
    await conn.execute("UPDATE ceremony.retirees SET status = 'deceased', died_on = $2 WHERE retiree_id = $1",
                       event.retiree_id, event.died_on)


# What ceremony keeps of profiles' events, without the decisions it takes on them (cases opened and closed).
FACTS = Routes.of({UnitRegistered: unit_registered, RetirementApproved: retiree_approved,
                   PartyMembershipRecorded: party_member, RetireeTransferred: retiree_transferred,
                   MemberDeceased: retiree_deceased})

# ------------------------------------------------------------------------------------------------ the feed


@dataclass(frozen=True)
class ProfilesFeed:
    recorder: Recorder
    policy: CeremonyPolicy

    async def approved(self, conn: Connection, event: RetirementApproved, meta: EventMeta) -> None:
        await retiree_approved(conn, event, meta)
        ctx = self.recorder.system(conn, meta.occurred_at, cause=meta)
        state, version = await load_state(conn, ctx.store, case_stream(event.retiree_id), case.evolve, Case())
        if state.opened:
            return  # a repeated approval (corrected document) does not restart the process
        mode = CeremonyMode(await conn.fetchval("SELECT mode FROM ceremony.units WHERE code = $1", event.unit)
                            or DEFAULT_MODE)
        bid = opening.batch_of(event)
        b_state, b_version = (await load_state(conn, ctx.store, batch_stream(bid), batch.evolve, Batch())
                              if mode is CeremonyMode.HALF_YEAR_BATCH else (Batch(), 0))
        case_events, batch_events = opening.decide_open(state, event, mode, b_state, self.policy)
        await ctx.record(batch_stream(bid), b_version, batch_events, unit=event.unit)
        await ctx.record(case_stream(event.retiree_id), version, case_events, unit=event.unit)

    async def community_registered(self, conn: Connection, event: CommunityRegistered, meta: EventMeta) -> None:
        today = self.policy.today(meta.occurred_at)
        await self._on_case(conn, meta, event.retiree_id,
                            lambda s: case.step_seen(s, HandoverStep.COMMUNITY_REGISTERED, today))

    async def deceased(self, conn: Connection, event: MemberDeceased, meta: EventMeta) -> None:
        await retiree_deceased(conn, event, meta)
        await self._on_case(conn, meta, event.retiree_id, lambda s: case.close(s, CASE_CLOSED_ON_DEATH))

    async def _on_case(self, conn: Connection, meta: EventMeta, retiree_id: UUID,
                       decide: Callable[[Case], list[Event]]) -> None:
        ctx = self.recorder.system(conn, meta.occurred_at, cause=meta)
        state, version = await load_state(conn, ctx.store, case_stream(retiree_id), case.evolve, Case())
        await ctx.record(case_stream(retiree_id), version, decide(state), unit=state.unit)

    @property
    def routes(self) -> Routes:
        return Routes.of({UnitRegistered: unit_registered, RetirementApproved: self.approved,
                          CommunityRegistered: self.community_registered, RetireeTransferred: retiree_transferred,
                          MemberDeceased: self.deceased, PartyMembershipRecorded: party_member})
