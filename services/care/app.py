"""Composition root of the care service."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.service import Runtime, ServiceSpec
from backbone.store import Metadata
from contracts import subjects
from contracts.base import SYSTEM_ACTOR, local_date
from contracts.care import (
    AdoptPolicy,
    ApplyForAssistance,
    ApproveAssistance,
    AssessAssistance,
    AssignTask,
    CancelTask,
    CloseCampaign,
    CompleteTask,
    GetAssistanceCase,
    GetCampaignProgress,
    GetPolicy,
    GetRetireeFacts,
    GetTask,
    GetUnitScores,
    LaunchCampaign,
    ListTasks,
    PayAssistance,
    RejectAssistance,
)
from services.care import retiree_facts, scores
from services.care.handlers import SWEEP_TIMER, CareHandlers, schedule_sweep
from services.care.policy import DEFAULT_POLICY_FILE, parse_policy
from services.care.policy_book import PolicyBook
from services.care.profiles_feed import ProfilesFeed
from services.care.queries import CareQueries

NAME = "care"
MIGRATIONS = Path(__file__).parent / "migrations"


async def startup(rt: Runtime, policies: PolicyBook, policy_file: Path) -> None:
    """Adopt the policy file's version if it is new, and make sure the daily calendar sweep is armed."""
    raw = json.loads(policy_file.read_text(encoding="utf-8"))  # noqa: ASYNC240 - once, at start
    now = await rt.clock.now()
    meta = Metadata(actor=SYSTEM_ACTOR, correlation_id=uuid.uuid4())
    async with rt.pool.acquire() as conn, conn.transaction():
        await policies.adopt(conn, rt.store, parse_policy(raw), raw, now, meta, at_start=True)
        armed = await conn.fetchval("SELECT 1 FROM care.timers WHERE timer_id = $1 AND fired_at IS NULL",
                                    SWEEP_TIMER)
        if not armed:
            await schedule_sweep(conn, local_date(now))


def build(rt: Runtime, policy_file: Path = DEFAULT_POLICY_FILE) -> ServiceSpec:
    assert rt.keyring is not None, "care seals visit notes with the retiree's key"
    policies = PolicyBook()
    handlers = CareHandlers(rt.store, policies, rt.keyring, rt.clock)
    queries = CareQueries(rt.store, policies)
    commands = {
        AdoptPolicy: handlers.adopt_policy, AssignTask: handlers.assign_task, CompleteTask: handlers.complete_task,
        CancelTask: handlers.cancel_task, LaunchCampaign: handlers.launch_campaign,
        CloseCampaign: handlers.close_campaign, ApplyForAssistance: handlers.apply_for_assistance,
        AssessAssistance: handlers.assess_assistance, ApproveAssistance: handlers.approve_assistance,
        RejectAssistance: handlers.reject_assistance, PayAssistance: handlers.pay_assistance,
    }
    for model, handler in commands.items():
        rt.router.command(model, handler)
    query_handlers = {
        GetRetireeFacts: retiree_facts.get_retiree_facts, ListTasks: queries.list_tasks, GetTask: queries.get_task,
        GetCampaignProgress: queries.campaign_progress, GetAssistanceCase: queries.assistance_case,
        GetPolicy: queries.policy, GetUnitScores: scores.unit_scores,
    }
    for model, handler in query_handlers.items():
        rt.router.query(model, handler)
    feed = ProfilesFeed(rt.store, policies, rt.clock, rt.keyring)
    profiles_feed = ConsumerSpec(
        name="care-profiles",
        filter_subjects=(subjects.events_of_service("profiles"),),
        handler=feed.handle,
        max_deliver=rt.settings.consumer_max_deliver,
        batch=rt.settings.consumer_batch,
    )
    return ServiceSpec(
        consumers=[profiles_feed],
        timers={"task_stage": handlers.on_task_stage, "daily_sweep": handlers.on_daily_sweep,
                "assistance_deadline": handlers.on_assistance_deadline, "campaign_fill": handlers.on_campaign_fill},
        startup=lambda: startup(rt, policies, policy_file),
    )


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build, uses_personal_data=True))
