"""Composition root of the ceremony service."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from backbone import rebuild as rebuilding
from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.db import Connection
from backbone.rebuild import RebuildReport
from backbone.service import Runtime, ServiceSpec
from contracts.ceremony import (
    BatchCeremonyCommand,
    CeremonyCaseCommand,
    DeclineConsent,
    GetBatchRoster,
    GetCase,
    GetDocument,
    GiveConsent,
    ListCases,
    ListReadAccess,
    OnTimeRates,
    SetCeremonyMode,
    UpcomingCeremonies,
)
from services.ceremony import case_overview, document_access
from services.ceremony.archive_lookup import ArchiveLookup
from services.ceremony.deadlines import Deadlines
from services.ceremony.document_access import DocumentDesk
from services.ceremony.erasure import ErasedDocuments
from services.ceremony.handlers import Handlers
from services.ceremony.policy import DEFAULT_POLICY
from services.ceremony.profiles_feed import ProfilesFeed
from services.ceremony.rebuild import PLAN

NAME = "ceremony"
MIGRATIONS = Path(__file__).parent / "migrations"
CONSUMERS: tuple[str, ...] = ("ceremony-profiles",)  # what NATS lets it do beyond its own subjects (nats_auth)
ASKS: tuple[str, ...] = ("profiles",)  # GetRetiree, for the archive lookup


def build(rt: Runtime) -> ServiceSpec:
    policy = DEFAULT_POLICY
    deadlines = Deadlines(rt.recorder, policy)
    rt.recorder.project(case_overview.PROJECTION + deadlines.routes)
    documents_dir = Path(rt.settings.data_dir).resolve() / "documents" / "ceremony"
    handlers = Handlers(policy=policy, archive=ArchiveLookup(rt.asker), documents_dir=documents_dir)
    rt.router.command(SetCeremonyMode, handlers.set_mode)
    for model in typing.get_args(CeremonyCaseCommand):  # a retiree may only answer the invitation, for themselves
        rt.router.command(model, handlers.case_command, for_retirees=model in (GiveConsent, DeclineConsent))
    for model in typing.get_args(BatchCeremonyCommand):
        rt.router.command(model, handlers.batch_command)
    overview = case_overview.CaseOverview(policy)
    rt.router.query(GetCase, overview.get_case, for_retirees=True)
    rt.router.query(ListCases, overview.list_cases)
    rt.router.query(UpcomingCeremonies, overview.upcoming)
    rt.router.query(GetBatchRoster, overview.roster)
    rt.router.query(OnTimeRates, overview.on_time_rates)
    rt.router.query(GetDocument, DocumentDesk(documents_dir).get_document, for_retirees=True)
    rt.router.query(ListReadAccess, document_access.list_read_access)
    feed = ProfilesFeed(rt.recorder, policy)
    return ServiceSpec(
        consumers=[ConsumerSpec(name=CONSUMERS[0], routes=feed.routes + ErasedDocuments(documents_dir).routes,
                                max_deliver=rt.settings.consumer_max_deliver, batch=rt.settings.consumer_batch)],
        timers=dict(deadlines.timers))


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))


async def rebuild(conn: Connection, js: JetStreamContext | None) -> RebuildReport:
    """Drop ceremony's read models and rebuild them from history (docs/audit-as-of.md)."""
    return await rebuilding.rebuild(conn, js, PLAN)


async def digests(conn: Connection) -> dict[str, Any]:
    """The sha256 of each of ceremony's read models."""
    return await rebuilding.digest(conn, PLAN)


async def check_rebuild(conn: Connection, js: JetStreamContext | None) -> dict[str, Any]:
    """Rebuild into a transaction that is rolled back, and compare its digests with the live ones."""
    return await rebuilding.check(conn, js, PLAN)
