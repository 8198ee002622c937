"""Composition root of the ceremony service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.service import Runtime, ServiceSpec
from contracts import subjects
from contracts.ceremony import (
    COMMANDS,
    BatchCommand,
    CaseCommand,
    GetBatchRoster,
    GetCase,
    ListCases,
    OnTimeRates,
    SetCeremonyMode,
    UpcomingCeremonies,
)
from services.ceremony.archive_lookup import ArchiveLookup
from services.ceremony.deadlines import CEREMONY_DUE, HANDOVER_DUE
from services.ceremony.feed import Deadlines, ProfilesFeed
from services.ceremony.handlers import Handlers
from services.ceremony.policy import DEFAULT_POLICY
from services.ceremony.queries import CeremonyQueries
from services.ceremony.recording import SystemWriter

NAME = "ceremony"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(rt: Runtime) -> ServiceSpec:
    policy = DEFAULT_POLICY
    archive = ArchiveLookup(rt.settings.nats_url)
    handlers = Handlers(policy=policy, archive=archive,
                        documents_dir=Path(rt.settings.data_dir).resolve() / "documents" / "ceremony")
    rt.router.command(SetCeremonyMode, handlers.set_mode)
    for model in COMMANDS:
        if issubclass(model, CaseCommand):
            rt.router.command(model, handlers.case_command)
        elif issubclass(model, BatchCommand):
            rt.router.command(model, handlers.batch_command)
    queries = CeremonyQueries(policy)
    rt.router.query(GetCase, queries.get_case)
    rt.router.query(ListCases, queries.list_cases)
    rt.router.query(UpcomingCeremonies, queries.upcoming)
    rt.router.query(GetBatchRoster, queries.roster)
    rt.router.query(OnTimeRates, queries.on_time_rates)
    writer = SystemWriter(store=rt.store, policy=policy)
    deadlines = Deadlines(writer)
    profiles_feed = ConsumerSpec(
        name="ceremony-profiles",
        filter_subjects=(subjects.events_of_service("profiles"),),
        handler=ProfilesFeed(writer).handle,
        max_deliver=rt.settings.consumer_max_deliver,
        batch=rt.settings.consumer_batch,
    )
    return ServiceSpec(consumers=[profiles_feed],
                       timers={CEREMONY_DUE: deadlines.ceremony_due, HANDOVER_DUE: deadlines.handover_due})


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))
