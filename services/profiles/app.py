"""Composition root of the profiles service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backbone import service
from backbone.service import Runtime, ServiceSpec
from contracts.profiles import (
    COMMANDS,
    CountRetireesPerUnit,
    DeactivateStaff,
    GetRetiree,
    ImportRoster,
    ListReadAccess,
    ListRetirees,
    ListStaff,
    ListUnits,
    RegisterStaff,
    RegisterUnit,
    RetireeCommand,
    SetCareContact,
)
from services.profiles import handlers, importing
from services.profiles.queries import ArchiveQueries

NAME = "profiles"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(rt: Runtime) -> ServiceSpec:
    assert rt.keyring is not None, "profiles holds personal data: it needs the keyring"
    directory_handlers = {
        RegisterUnit: handlers.register_unit,
        RegisterStaff: handlers.register_staff,
        DeactivateStaff: handlers.deactivate_staff,
        SetCareContact: handlers.set_care_contact,
    }
    for model, handler in directory_handlers.items():
        rt.router.command(model, handler)
    for model in COMMANDS:
        if issubclass(model, RetireeCommand):
            rt.router.command(model, handlers.retiree_command)
    rt.router.command(ImportRoster, importing.import_roster)
    queries = ArchiveQueries(rt.keyring)
    rt.router.query(GetRetiree, queries.get_retiree)
    rt.router.query(ListRetirees, queries.list_retirees)
    rt.router.query(CountRetireesPerUnit, queries.count_per_unit)
    rt.router.query(ListUnits, queries.list_units)
    rt.router.query(ListStaff, queries.list_staff)
    rt.router.query(ListReadAccess, queries.list_read_access)
    return ServiceSpec()


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build, uses_personal_data=True))
