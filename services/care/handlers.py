"""Care's command and timer handlers: thin, load → decide → record → project → re-arm."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from backbone import timers
from backbone.aggregate import load_state
from backbone.clock import Clock
from backbone.commands import CommandContext, to_new_event
from backbone.crypto import Keyring
from backbone.store import EventStore, Metadata
from contracts.base import LOCAL_TZ, SYSTEM_ACTOR, Accepted, Event, local_date
from contracts.care import (
    AdoptPolicy,
    ApplyForAssistance,
    ApproveAssistance,
    AssessAssistance,
    AssignTask,
    AssistanceCaseOpened,
    CancelTask,
    CloseCampaign,
    CompleteTask,
    LaunchCampaign,
    PayAssistance,
    RejectAssistance,
    TaskKind,
    assistance_stream,
    campaign_stream,
    task_stream,
)
from contracts.errors import conflict, forbidden, refused
from contracts.registry import EVENTS
from services.care import assistance, board, calendar, campaign, care_task, task_board
from services.care.assistance import Case
from services.care.campaign import Campaign, Candidate
from services.care.obligations import TaskSpec
from services.care.policy import parse_policy
from services.care.policy_book import PolicyBook
from services.care.profiles_feed import record_case_opened

MODELS = EVENTS["care"]
SWEEP_TIMER = "sweep:daily"
SWEEP_AT = time(0, 10)  # local time of the daily calendar sweep


class CareHandlers:
    def __init__(self, store: EventStore, policies: PolicyBook, keyring: Keyring, clock: Clock) -> None:
        self._store = store
        self._policies = policies
        self._keyring = keyring
        self._clock = clock

    # ------------------------------------------------------------------------------------------- policy

    async def adopt_policy(self, ctx: CommandContext, cmd: AdoptPolicy) -> Accepted:
        if cmd.actor.role.value not in ("district_office", "system"):
            raise forbidden("only the district office adopts a care policy")
        raw = {**cmd.policy, "version": cmd.version}
        try:
            policy = parse_policy(raw)
        except ValueError as exc:
            raise refused(f"invalid policy: {exc}", field="policy") from exc
        try:
            changed = await self._policies.adopt(ctx.conn, ctx.store, policy, raw, ctx.now, ctx.meta)
        except ValueError as exc:
            raise conflict(str(exc)) from exc
        if not changed:
            raise conflict(f"policy {policy.version} is already in force")
        version = await ctx.store.stream_version(ctx.conn, "care-policy")
        return Accepted(stream_id="care-policy", version=version, event_ids=())

    # -------------------------------------------------------------------------------------------- tasks

    async def _task_command(self, ctx: CommandContext, task_id: UUID, decide: Any) -> Accepted:
        state, version = await task_board.load_task(ctx.conn, ctx.store, task_id)
        events: list[Event] = decide(state)
        reply = await ctx.record(task_stream(task_id), version, events, unit=state.unit or "")
        for ev in events:
            state = care_task.evolve(state, ev)
            await task_board.apply(ctx.conn, ev, ctx.now)
        policy = self._policies.version(await self._task_policy(ctx.conn, task_id))
        await task_board.rearm(ctx.conn, state, policy, ctx.now)
        return reply

    async def _task_policy(self, conn: asyncpg.Connection, task_id: UUID) -> str:
        return str(await conn.fetchval("SELECT policy_version FROM care.tasks WHERE task_id = $1", task_id) or "")

    async def assign_task(self, ctx: CommandContext, cmd: AssignTask) -> Accepted:
        return await self._task_command(ctx, cmd.task_id, lambda s: care_task.decide_assign(cmd, s))

    async def complete_task(self, ctx: CommandContext, cmd: CompleteTask) -> Accepted:
        return await self._task_command(ctx, cmd.task_id, lambda s: care_task.decide_complete(cmd, s, ctx.now))

    async def cancel_task(self, ctx: CommandContext, cmd: CancelTask) -> Accepted:
        return await self._task_command(ctx, cmd.task_id, lambda s: care_task.decide_cancel(cmd, s))

    async def on_task_stage(self, conn: asyncpg.Connection, _timer: str, payload: dict[str, Any],
                            now: datetime) -> None:
        task_id = UUID(payload["task_id"])
        state, version = await task_board.load_task(conn, self._store, task_id)
        policy = self._policies.version(await self._task_policy(conn, task_id))
        events = care_task.decide_stage(state, payload["stage"], now, policy)
        if events:
            meta = Metadata(actor=SYSTEM_ACTOR, correlation_id=task_id)
            pending = [await to_new_event(conn, self._keyring, ev, state.unit or "", now) for ev in events]
            await self._store.append(conn, task_stream(task_id), version, pending, meta)
            for ev in events:
                state = care_task.evolve(state, ev)
                await task_board.apply(conn, ev, now)
        await task_board.rearm(conn, state, policy, now)

    # ------------------------------------------------------------------------------------- the calendar

    async def on_daily_sweep(self, conn: asyncpg.Connection, _timer: str, payload: dict[str, Any],
                             now: datetime) -> None:
        """Open the calendar obligations of every day since the last sweep (catching up after a clock jump)."""
        today = local_date(now)
        start = datetime.fromisoformat(payload["day"]).date() if payload.get("day") else today
        start = max(start, today - timedelta(days=400))
        rows = await conn.fetch(
            "SELECT retiree_id, unit, birth_date, risk_tier, living_alone, hospitalized_since IS NOT NULL AS h, "
            "party_joined_on, talent_reviewed_on FROM care.retiree_facts WHERE status = 'retired' AND NOT erased")
        people = [calendar.Person(r["retiree_id"], r["unit"], r["birth_date"], r["risk_tier"], r["living_alone"],
                                  r["h"], r["party_joined_on"], r["talent_reviewed_on"]) for r in rows]
        if start <= today:
            policy = self._policies.current
            specs = calendar.for_range(people, start, today, policy)
            meta = Metadata(actor=SYSTEM_ACTOR, correlation_id=UUID(int=today.toordinal()))
            opened = set(await task_board.open_tasks(conn, self._store, specs, policy, now, meta))
            await self._supersede_contacts(conn, [s for s in specs if s.task_id in opened], now, meta)
        await schedule_sweep(conn, today + timedelta(days=1))

    async def _supersede_contacts(self, conn: asyncpg.Connection, opened: list[TaskSpec], now: datetime,
                                  meta: Metadata) -> None:
        """Cancel the open contact tasks of an old cadence that a newly opened period replaces."""
        contacts = [s for s in opened if s.kind is TaskKind.REGULAR_CONTACT]
        if not contacts:
            return
        rows = await conn.fetch(
            "SELECT task_id, retiree_id, period FROM care.tasks WHERE retiree_id = ANY($1::uuid[]) "
            "AND kind = 'regular_contact' AND status = 'open' AND NOT (task_id = ANY($2::uuid[]))",
            list({s.retiree_id for s in contacts}), [s.task_id for s in contacts])
        new_period = {s.retiree_id: s.period for s in contacts}
        by_task = {r["task_id"]: r["retiree_id"] for r in rows}
        for task_id in calendar.superseded_contacts(contacts, [(r["task_id"], r["retiree_id"], r["period"])
                                                               for r in rows]):
            reason = calendar.superseded_reason(new_period[by_task[task_id]])
            await task_board.record_system_events(
                conn, self._store, task_id, lambda s, why=reason: care_task.cancel_if_open(s, why), now, meta)

    # ---------------------------------------------------------------------------------------- campaigns

    async def launch_campaign(self, ctx: CommandContext, cmd: LaunchCampaign) -> Accepted:
        cmd = campaign.effective_scope(cmd, self._policies.current.double_ninth_age_bands)
        state, version = await load_state(ctx.conn, ctx.store, campaign_stream(cmd.campaign_id), MODELS,
                                          campaign.evolve, Campaign())
        all_units = {r["unit"] for r in await ctx.conn.fetch("SELECT unit FROM care.unit_contacts")}
        units = campaign.scope_units(cmd, all_units)
        rows = await ctx.conn.fetch(
            "SELECT retiree_id, unit, status, birth_date, party_joined_on IS NOT NULL AS party, living_alone, "
            "survivors, erased FROM care.retiree_facts WHERE unit = ANY($1::text[])", list(units))
        people = campaign.eligible(
            (Candidate(r["retiree_id"], r["unit"], r["status"], r["birth_date"], r["party"], r["living_alone"],
                       r["survivors"], r["erased"]) for r in rows), cmd.scope, cmd.year, units)
        launched = campaign.decide_launch(cmd, state, units, len(people), ctx.now)
        reply = await ctx.record(campaign_stream(cmd.campaign_id), version, [launched], unit=_scope_unit(units))
        await board.campaign_launched(ctx.conn, launched, ctx.now)  # ctx.now is the event's occurred_at
        # The people are queued in this transaction; the tasks open chunk by chunk from the queue (a timer
        # continues the work), so the command answers at once and a crash resumes where it stopped.
        await ctx.conn.copy_records_to_table(
            "campaign_pending", schema_name="care", columns=["campaign_id", "retiree_id", "unit", "for_survivor"],
            records=[(cmd.campaign_id, p.retiree_id, p.unit, p.status == "deceased") for p in people])
        await timers.schedule(ctx.conn, "care", f"campaign-fill:{cmd.campaign_id}", "campaign_fill", ctx.now,
                              {"campaign_id": str(cmd.campaign_id), "causation_id": str(reply.event_ids[0]),
                               "correlation_id": str(ctx.meta.correlation_id), "launched_by": cmd.actor.user})
        return reply.model_copy(update={"summary": {"tasks": len(people), "units": len(units)}})

    async def on_campaign_fill(self, conn: asyncpg.Connection, timer: str, payload: dict[str, Any],
                               now: datetime) -> None:
        """Open the next chunk of a campaign's tasks; re-arm at once while people are still waiting."""
        cid = UUID(payload["campaign_id"])
        camp = await conn.fetchrow("SELECT festival, year, due_on FROM care.campaigns WHERE campaign_id = $1", cid)
        rows = await conn.fetch(
            "DELETE FROM care.campaign_pending WHERE (campaign_id, retiree_id, for_survivor) IN ("
            "SELECT campaign_id, retiree_id, for_survivor FROM care.campaign_pending WHERE campaign_id = $1 "
            "LIMIT $2) RETURNING retiree_id, unit, for_survivor", cid, task_board.CHUNK)
        specs = campaign.specs_for(cid, camp["festival"], camp["year"], camp["due_on"],
                                   [(r["retiree_id"], r["unit"], r["for_survivor"]) for r in rows])
        meta = Metadata(actor=SYSTEM_ACTOR, correlation_id=UUID(payload["correlation_id"]),
                        causation_id=UUID(payload["causation_id"]))
        await task_board.open_tasks(conn, self._store, specs, self._policies.current, now, meta)
        if len(rows) == task_board.CHUNK:
            # The chunk number makes the re-armed timer differ from the one firing now (see Ticker._fire_one).
            await timers.schedule(conn, "care", timer, "campaign_fill", now,
                                  {**payload, "chunk": int(payload.get("chunk", 0)) + 1})

    async def close_campaign(self, ctx: CommandContext, cmd: CloseCampaign) -> Accepted:
        state, version = await load_state(ctx.conn, ctx.store, campaign_stream(cmd.campaign_id), MODELS,
                                          campaign.evolve, Campaign())
        coverage = await campaign_coverage(ctx.conn, cmd.campaign_id)
        closed = campaign.decide_close(cmd, state, coverage)
        reply = await ctx.record(campaign_stream(cmd.campaign_id), version, [closed],
                                 unit=_scope_unit(set(state.units)))
        await board.campaign_closed(ctx.conn, closed, ctx.now)
        return reply

    # --------------------------------------------------------------------------------------- assistance

    async def _case(self, ctx: CommandContext, case_id: UUID) -> tuple[Case, int]:
        return await load_state(ctx.conn, ctx.store, assistance_stream(case_id), MODELS, assistance.evolve, Case())

    async def apply_for_assistance(self, ctx: CommandContext, cmd: ApplyForAssistance) -> Accepted:
        state, _ = await self._case(ctx, cmd.case_id)
        status = await ctx.conn.fetchval(
            "SELECT status FROM care.retiree_facts WHERE retiree_id = $1 AND unit = $2 AND NOT erased",
            cmd.retiree_id, cmd.unit)
        events = assistance.decide_apply(cmd, state, status == "retired", ctx.now, self._policies.current)
        opened = events[0]
        assert isinstance(opened, AssistanceCaseOpened)
        recorded = await record_case_opened(ctx.conn, ctx.store, self._keyring, opened, ctx.now, ctx.meta)
        return Accepted(stream_id=assistance_stream(cmd.case_id), version=1,
                        event_ids=tuple(r.event_id for r in recorded))

    async def _case_command(self, ctx: CommandContext, case_id: UUID, decide: Any) -> Accepted:
        state, version = await self._case(ctx, case_id)
        events: list[Event] = decide(state)
        reply = await ctx.record(assistance_stream(case_id), version, events, unit=state.unit or "")
        for ev in events:
            await assistance_board(ctx.conn, ev, ctx.now)
        return reply

    async def assess_assistance(self, ctx: CommandContext, cmd: AssessAssistance) -> Accepted:
        return await self._case_command(ctx, cmd.case_id, lambda s: assistance.decide_assess(cmd, s))

    async def approve_assistance(self, ctx: CommandContext, cmd: ApproveAssistance) -> Accepted:
        return await self._case_command(
            ctx, cmd.case_id, lambda s: assistance.decide_approve(cmd, s, ctx.now, self._policies.current))

    async def reject_assistance(self, ctx: CommandContext, cmd: RejectAssistance) -> Accepted:
        return await self._case_command(ctx, cmd.case_id, lambda s: assistance.decide_reject(cmd, s, ctx.now))

    async def pay_assistance(self, ctx: CommandContext, cmd: PayAssistance) -> Accepted:
        return await self._case_command(ctx, cmd.case_id, lambda s: assistance.decide_pay(cmd, s))

    async def on_assistance_deadline(self, conn: asyncpg.Connection, _timer: str, payload: dict[str, Any],
                                     now: datetime) -> None:
        case_id = UUID(payload["case_id"])
        state, version = await load_state(conn, self._store, assistance_stream(case_id), MODELS, assistance.evolve,
                                          Case())
        events = assistance.decide_deadline(state)
        if events:
            meta = Metadata(actor=SYSTEM_ACTOR, correlation_id=case_id)
            await self._store.append(conn, assistance_stream(case_id), version,
                                     [await to_new_event(conn, None, ev, state.unit or "", now) for ev in events],
                                     meta)
            for ev in events:
                await assistance_board(conn, ev, now)


def _scope_unit(units: set[str]) -> str:
    """A campaign of one unit is that unit's event; a wider one is the district's."""
    return next(iter(units)) if len(units) == 1 else "DISTRICT"


async def campaign_coverage(conn: asyncpg.Connection, campaign_id: UUID) -> dict[str, dict[str, int]]:
    rows = await conn.fetch(
        "SELECT unit, count(*) AS tasks, count(*) FILTER (WHERE status = 'done') AS done, "
        "count(*) FILTER (WHERE status = 'cancelled') AS cancelled FROM care.tasks WHERE campaign_id = $1 "
        "GROUP BY unit ORDER BY unit", campaign_id)
    return {r["unit"]: {"tasks": r["tasks"], "done": r["done"], "cancelled": r["cancelled"]} for r in rows}


async def assistance_board(conn: asyncpg.Connection, event: Event, occurred_at: datetime) -> None:
    """The case row (decision time = the event's occurred_at) and, once decided, its deadline timer."""
    await board.case_event(conn, event, occurred_at)
    if event.type in ("AssistanceApproved", "AssistanceRejected"):
        await timers.cancel(conn, "care", f"assistance:{event.model_dump()['case_id']}")


async def schedule_sweep(conn: asyncpg.Connection, day: Any) -> None:
    """The next sweep covers `day` onwards; it fires at 00:10 of that day, district time."""
    at = datetime.combine(day, SWEEP_AT, LOCAL_TZ)
    await timers.schedule(conn, "care", SWEEP_TIMER, "daily_sweep", at, {"day": day.isoformat()})
