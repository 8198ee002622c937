"""Festival campaigns at work: launch (the people queued at once), fill (their visits opened chunk by chunk on a
timer, so the command answers at once and a crash resumes where it stopped), close.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.aggregate import load_state
from backbone.db import Connection
from backbone.recording import CommandContext, Recorder
from contracts.base import Accepted
from contracts.care import CloseCampaign, LaunchCampaign, campaign_stream
from services.care import campaign, campaign_progress, tasks, unit_contacts
from services.care.campaign import Campaign, Candidate, Facts
from services.care.policy_book import PolicyBook
from services.care.tasks import Tasks

FILL_TIMER = "campaign_fill"
DISTRICT_UNIT = "DISTRICT"


class Fill(BaseModel):
    """The payload of a campaign's fill timer: which campaign, and the launch its visits are caused by."""

    model_config = ConfigDict(frozen=True)
    campaign_id: UUID
    causation_id: UUID
    correlation_id: UUID
    launched_by: str
    chunk: int = 0


def _scope_unit(units: set[str] | tuple[str, ...]) -> str:
    """A campaign of one unit is that unit's event; a wider one is the district's."""
    return next(iter(units)) if len(units) == 1 else DISTRICT_UNIT


class CampaignDesk:
    def __init__(self, recorder: Recorder, task_desk: Tasks, policies: PolicyBook) -> None:
        self._recorder = recorder
        self._tasks = task_desk
        self._policies = policies

    async def launch(self, ctx: CommandContext, cmd: LaunchCampaign) -> Accepted:
        cmd = campaign.effective_scope(cmd, self._policies.current.double_ninth_age_bands)
        stream = campaign_stream(cmd.campaign_id)
        state, version = await load_state(ctx.conn, ctx.store, stream, campaign.evolve, Campaign())
        units = campaign.scope_units(cmd, await unit_contacts.all_units(ctx.conn))
        rows = await ctx.conn.fetch(
            "SELECT retiree_id, unit, status, birth_date, party_member AS party, living_alone, "
            "survivors, erased FROM care.retiree_facts WHERE unit = ANY($1::text[])", list(units))
        people = campaign.eligible(
            (Candidate(r["retiree_id"], r["unit"], r["status"], r["birth_date"], r["party"], r["living_alone"],
                       r["survivors"], r["erased"]) for r in rows), cmd.scope, cmd.year, units)
        events = campaign.decide(cmd, state, Facts(now=ctx.now, units=frozenset(units), tasks=len(people)))
        reply = await ctx.record(stream, version, events, unit=_scope_unit(units))
        await ctx.conn.copy_records_to_table(
            "campaign_pending", schema_name="care", columns=["campaign_id", "retiree_id", "unit", "for_survivor"],
            records=[(cmd.campaign_id, p.retiree_id, p.unit, p.status == "deceased") for p in people])
        await timers.schedule(ctx.conn, "care", f"campaign-fill:{cmd.campaign_id}", FILL_TIMER, ctx.now, Fill(
            campaign_id=cmd.campaign_id, causation_id=reply.event_ids[0], correlation_id=ctx.meta.correlation_id,
            launched_by=cmd.actor.user))
        return reply.model_copy(update={"summary": {"tasks": len(people), "units": len(units)}})

    async def on_fill(self, conn: Connection, timer: str, payload: Fill, now: datetime) -> None:
        """Open the next chunk of a campaign's visits; re-arm at once while people are still waiting."""
        camp = await conn.fetchrow("SELECT festival, year, due_on FROM care.campaigns WHERE campaign_id = $1",
                                   payload.campaign_id)
        assert camp is not None, "the campaign row is written in the launch's own transaction"
        rows = await conn.fetch(
            "DELETE FROM care.campaign_pending WHERE (campaign_id, retiree_id, for_survivor) IN ("
            "SELECT campaign_id, retiree_id, for_survivor FROM care.campaign_pending WHERE campaign_id = $1 "
            "LIMIT $2) RETURNING retiree_id, unit, for_survivor", payload.campaign_id, tasks.CHUNK)
        specs = campaign.specs_for(payload.campaign_id, camp["festival"], camp["year"], camp["due_on"],
                                   [(r["retiree_id"], r["unit"], r["for_survivor"]) for r in rows])
        ctx = self._recorder.system(conn, now, correlation_id=payload.correlation_id,
                                    causation_id=payload.causation_id)
        await self._tasks.open(ctx, specs)
        if len(rows) == tasks.CHUNK:
            # The chunk number makes the re-armed timer differ from the one firing now (see Ticker._fire_one).
            await timers.schedule(conn, "care", timer, FILL_TIMER, now,
                                  payload.model_copy(update={"chunk": payload.chunk + 1}))

    async def close(self, ctx: CommandContext, cmd: CloseCampaign) -> Accepted:
        stream = campaign_stream(cmd.campaign_id)
        state, version = await load_state(ctx.conn, ctx.store, stream, campaign.evolve, Campaign())
        coverage = await campaign_progress.coverage(ctx.conn, cmd.campaign_id)
        events = campaign.decide(cmd, state, Facts(now=ctx.now, coverage=coverage))
        return await ctx.record(stream, version, events, unit=_scope_unit(state.units))
