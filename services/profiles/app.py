"""Composition root of the profiles service."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from backbone import rebuild as rebuilding
from backbone import service
from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.key_upkeep import KeyUpkeep
from backbone.rebuild import RebuildReport
from backbone.service import Runtime, ServiceSpec
from contracts.profiles import (
    ArchiveCommand,
    CountRetireesPerUnit,
    ErasureRequestCommand,
    GetCareContact,
    GetErasureCertificate,
    GetRetiree,
    GetRetireeCards,
    GetRetireeHistory,
    ImportRoster,
    ListReadAccess,
    ListRetirees,
    ListStaff,
    ListUnits,
    SearchRetirees,
    StaffCommand,
    UnitCommand,
)
from services.profiles import (
    erasure_handlers,
    handlers,
    importing,
    read_access,
    retiree_archive,
    retiree_as_of,
    retiree_history,
    search_index,
    unit_directory,
)
from services.profiles.rebuild import plan as rebuild_plan

NAME = "profiles"
MIGRATIONS = Path(__file__).parent / "migrations"
OPENS_PERSONAL_DATA = True  # it unwraps per-person keys: the only services given the master key
CONSUMERS: tuple[str, ...] = ()  # what NATS lets it do beyond its own subjects (wanqing/nats_auth.py)
ASKS: tuple[str, ...] = ()
# The read models that hold something of a person (sealed values, index tokens): vacuumed after an erasure.
PERSONAL_TABLES = ("retirees", "survivors", "id_index", "search_index")


def build(rt: Runtime) -> ServiceSpec:
    assert rt.keyring is not None, "profiles holds personal data: it needs the keyring"
    index = search_index.SearchIndex(rt.keyring)
    rt.recorder.project(unit_directory.PROJECTION + retiree_archive.PROJECTION + index.projection)
    for model in typing.get_args(UnitCommand):
        rt.router.command(model, handlers.unit_command)
    for model in typing.get_args(StaffCommand):
        rt.router.command(model, handlers.staff_command)
    for model in typing.get_args(ArchiveCommand):
        rt.router.command(model, handlers.retiree_command)
    rt.router.command(ImportRoster, importing.import_roster)
    for model in typing.get_args(ErasureRequestCommand):
        rt.router.command(model, erasure_handlers.erasure_request_command)
    rt.router.query(GetErasureCertificate, erasure_handlers.ErasureCertificates(rt.store, rt.keyring).get_certificate)
    archive = retiree_archive.ArchiveQueries(rt.keyring)
    # as_of: audits. A retiree reads their own archive (never as of a past time: RetireeAsOf refuses).
    rt.router.query(GetRetiree, retiree_as_of.RetireeAsOf(rt.keyring, archive).get_retiree, for_retirees=True)
    rt.router.query(GetCareContact, unit_directory.care_contact, for_retirees=True)
    rt.router.query(GetRetireeCards, archive.get_cards)
    rt.router.query(GetRetireeHistory, retiree_history.get_history)
    rt.router.query(SearchRetirees, index.search)
    rt.router.query(ListRetirees, archive.list_retirees)
    rt.router.query(CountRetireesPerUnit, retiree_archive.count_per_unit)
    rt.router.query(ListUnits, unit_directory.list_units)
    rt.router.query(ListStaff, unit_directory.list_staff)
    rt.router.query(ListReadAccess, read_access.list_read_access)

    upkeep = KeyUpkeep(rt.pool, rt.keyring, tables=PERSONAL_TABLES, interval_s=rt.settings.key_upkeep_interval_s,
                       clock=rt.clock.now)

    async def startup() -> None:  # people registered before the search index existed are indexed now
        await index.backfill(rt.pool)
        upkeep.start()  # re-wrap after rotations, vacuum after erasures, destroy due master versions

    return ServiceSpec(startup=startup)


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build, uses_personal_data=OPENS_PERSONAL_DATA))


async def rebuild(conn: Connection, js: JetStreamContext | None, keyring: Keyring | None = None) -> RebuildReport:
    """Drop profiles's read models and rebuild them from history (docs/audit-as-of.md)."""
    return await rebuilding.rebuild(conn, js, rebuild_plan(keyring))


async def digests(conn: Connection, keyring: Keyring | None = None) -> dict[str, Any]:
    """The sha256 of each of profiles's read models."""
    return await rebuilding.digest(conn, rebuild_plan(keyring))


async def check_rebuild(conn: Connection, js: JetStreamContext | None, keyring: Keyring | None = None,
                        ) -> dict[str, Any]:
    """Rebuild into a transaction that is rolled back, and compare its digests with the live ones."""
    return await rebuilding.check(conn, js, rebuild_plan(keyring))
