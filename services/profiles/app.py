"""Composition root of the profiles service."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path

from backbone import service
from backbone.service import Runtime, ServiceSpec
from contracts.profiles import (
    ArchiveCommand,
    CountRetireesPerUnit,
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
    handlers,
    importing,
    read_access,
    retiree_archive,
    retiree_history,
    search_index,
    unit_directory,
)

NAME = "profiles"
MIGRATIONS = Path(__file__).parent / "migrations"
OPENS_PERSONAL_DATA = True  # it unwraps per-person keys: the only services given the master key
CONSUMERS: tuple[str, ...] = ()  # what NATS lets it do beyond its own subjects (wanqing/nats_auth.py)
ASKS: tuple[str, ...] = ()


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
    archive = retiree_archive.ArchiveQueries(rt.keyring)
    rt.router.query(GetRetiree, archive.get_retiree)
    rt.router.query(GetRetireeCards, archive.get_cards)
    rt.router.query(GetRetireeHistory, retiree_history.get_history)
    rt.router.query(SearchRetirees, index.search)
    rt.router.query(ListRetirees, archive.list_retirees)
    rt.router.query(CountRetireesPerUnit, retiree_archive.count_per_unit)
    rt.router.query(ListUnits, unit_directory.list_units)
    rt.router.query(ListStaff, unit_directory.list_staff)
    rt.router.query(ListReadAccess, read_access.list_read_access)

    async def startup() -> None:  # people registered before the search index existed are indexed now
        await index.backfill(rt.pool)

    return ServiceSpec(startup=startup)


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build, uses_personal_data=OPENS_PERSONAL_DATA))
