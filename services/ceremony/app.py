"""Composition root of the ceremony service."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path

from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.service import Runtime, ServiceSpec
from contracts.ceremony import (
    BatchCeremonyCommand,
    CeremonyCaseCommand,
    GetBatchRoster,
    GetCase,
    ListCases,
    OnTimeRates,
    SetCeremonyMode,
    UpcomingCeremonies,
)
from services.ceremony import case_overview
from services.ceremony.archive_lookup import ArchiveLookup
from services.ceremony.deadlines import Deadlines
from services.ceremony.handlers import Handlers
from services.ceremony.policy import DEFAULT_POLICY
from services.ceremony.profiles_feed import ProfilesFeed

NAME = "ceremony"
MIGRATIONS = Path(__file__).parent / "migrations"
CONSUMERS: tuple[str, ...] = ("ceremony-profiles",)  # what NATS lets it do beyond its own subjects (nats_auth)
ASKS: tuple[str, ...] = ("profiles",)  # GetRetiree, for the archive lookup


def build(rt: Runtime) -> ServiceSpec:
    policy = DEFAULT_POLICY
    deadlines = Deadlines(rt.recorder, policy)
    rt.recorder.project(case_overview.PROJECTION + deadlines.routes)
    handlers = Handlers(policy=policy, archive=ArchiveLookup(rt.asker),
                        documents_dir=Path(rt.settings.data_dir).resolve() / "documents" / "ceremony")
    rt.router.command(SetCeremonyMode, handlers.set_mode)
    for model in typing.get_args(CeremonyCaseCommand):
        rt.router.command(model, handlers.case_command)
    for model in typing.get_args(BatchCeremonyCommand):
        rt.router.command(model, handlers.batch_command)
    overview = case_overview.CaseOverview(policy)
    rt.router.query(GetCase, overview.get_case)
    rt.router.query(ListCases, overview.list_cases)
    rt.router.query(UpcomingCeremonies, overview.upcoming)
    rt.router.query(GetBatchRoster, overview.roster)
    rt.router.query(OnTimeRates, overview.on_time_rates)
    feed = ProfilesFeed(rt.recorder, policy)
    return ServiceSpec(
        consumers=[ConsumerSpec(name=CONSUMERS[0], routes=feed.routes,
                                max_deliver=rt.settings.consumer_max_deliver, batch=rt.settings.consumer_batch)],
        timers=dict(deadlines.timers))


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))
