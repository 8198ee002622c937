"""Composition root of the care service."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path

from nats.js import JetStreamContext

from backbone import rebuild as rebuilding
from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.key_upkeep import KeyUpkeep
from backbone.service import Runtime, ServiceSpec
from backbone.timers import Timer
from contracts.care import (
    AdoptPolicy,
    AssistanceCommand,
    CareTaskCommand,
    CloseCampaign,
    GetAssistanceCase,
    GetCampaignProgress,
    GetPolicy,
    GetRetireeFacts,
    GetTask,
    GetUnitScores,
    LaunchCampaign,
    ListAssistanceCases,
    ListCampaigns,
    ListReadAccess,
    ListTasks,
)
from services.care import (
    assistance_cases,
    campaign_progress,
    retiree_facts,
    scores_as_of,
    tasks_as_of,
    todays_tasks,
)
from services.care.assistance_handlers import DEADLINE_TIMER, AssistanceDesk, Deadline
from services.care.calendar_sweep import SWEEP_TIMER_KIND, CalendarSweep, Sweep, ensure_sweep
from services.care.campaign_handlers import FILL_TIMER, CampaignDesk, Fill
from services.care.policy import DEFAULT_POLICY_FILE
from services.care.policy_book import PolicyBook
from services.care.profiles_feed import ProfilesFeed
from services.care.rebuild import RebuildError, RebuildReport, plan, read_models, rebuild
from services.care.tasks import STAGE_TIMER, Stage, Tasks

__all__ = ["MIGRATIONS", "NAME", "RebuildError", "RebuildReport", "build", "check_rebuild", "digests", "main",
           "rebuild"]

NAME = "care"
MIGRATIONS = Path(__file__).parent / "migrations"
OPENS_PERSONAL_DATA = True  # it unwraps per-person keys: the only services given the master key
PROFILES_CONSUMER = "care-profiles"
CONSUMERS: tuple[str, ...] = (PROFILES_CONSUMER,)  # what NATS lets it do beyond its own subjects (nats_auth)
ASKS: tuple[str, ...] = ()


async def startup(rt: Runtime, policies: PolicyBook, policy_file: Path, upkeep: KeyUpkeep | None = None) -> None:
    """Adopt the policy file's version if it is new, make sure the daily calendar sweep is armed, and start the
    key upkeep (re-wrap after rotations, vacuum after erasures, destroy due master versions).
    """
    now = await rt.clock.now()
    async with rt.pool.acquire() as conn:
        await policies.adopt_file(conn, rt.recorder, policy_file, now)
        await ensure_sweep(conn, now)
    if upkeep is not None:
        upkeep.start()


def build(rt: Runtime, policy_file: Path = DEFAULT_POLICY_FILE) -> ServiceSpec:
    assert rt.keyring is not None, "care seals visit notes with the retiree's key"
    policies = PolicyBook()
    tasks = Tasks(rt.recorder, policies)
    cases = AssistanceDesk(rt.recorder, policies)
    campaigns = CampaignDesk(rt.recorder, tasks, policies)
    sweep = CalendarSweep(rt.recorder, tasks, policies)
    rt.recorder.project(read_models(policies) + tasks.timers + cases.timers)
    rt.router.command(AdoptPolicy, policies.adopt_policy)
    for model in typing.get_args(CareTaskCommand):
        rt.router.command(model, tasks.task_command)
    for model in typing.get_args(AssistanceCommand):
        rt.router.command(model, cases.case_command)
    rt.router.command(LaunchCampaign, campaigns.launch)
    rt.router.command(CloseCampaign, campaigns.close)
    rt.router.query(GetRetireeFacts, retiree_facts.get_retiree_facts)
    rt.router.query(ListTasks, tasks_as_of.list_tasks)  # as_of: the list replayed (audits)
    rt.router.query(GetTask, todays_tasks.TaskDetails(rt.store).get_task)
    rt.router.query(GetCampaignProgress, campaign_progress.campaign_progress)
    rt.router.query(GetAssistanceCase, assistance_cases.assistance_case)
    rt.router.query(ListCampaigns, campaign_progress.list_campaigns)
    rt.router.query(ListAssistanceCases, assistance_cases.list_assistance_cases)
    rt.router.query(GetPolicy, policies.get_policy)
    rt.router.query(ListReadAccess, retiree_facts.list_read_access)
    rt.router.query(GetUnitScores, scores_as_of.unit_scores)  # as_of: the scores replayed (audits)
    feed = ProfilesFeed(rt.recorder, tasks, policies, rt.clock, rt.keyring, cases)
    upkeep = KeyUpkeep(rt.pool, rt.keyring, tables=("retiree_facts",), interval_s=rt.settings.key_upkeep_interval_s,
                       clock=rt.clock.now)
    return ServiceSpec(
        consumers=[ConsumerSpec(name=PROFILES_CONSUMER, routes=feed.routes,
                                max_deliver=rt.settings.consumer_max_deliver, batch=rt.settings.consumer_batch,
                                keyring=rt.keyring)],
        timers={STAGE_TIMER: Timer(Stage, tasks.on_stage), SWEEP_TIMER_KIND: Timer(Sweep, sweep.on_sweep),
                DEADLINE_TIMER: Timer(Deadline, cases.on_deadline), FILL_TIMER: Timer(Fill, campaigns.on_fill)},
        startup=lambda: startup(rt, policies, policy_file, upkeep),
    )


async def digests(conn: Connection) -> dict[str, typing.Any]:
    """The sha256 of each of care's read models (docs/care.md, "Rebuilding and digests")."""
    return await rebuilding.digest(conn, plan())


async def check_rebuild(conn: Connection, js: JetStreamContext, keyring: Keyring | None = None,
                        ) -> dict[str, typing.Any]:
    """Rebuild into a transaction that is rolled back, and compare its digests with the live ones (care's
    keyring opens profiles' sealed facts as the live service did).
    """
    return await rebuilding.check(conn, js, plan(keyring))


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build, uses_personal_data=OPENS_PERSONAL_DATA))
