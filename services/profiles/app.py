"""Composition root of the profiles service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backbone import service
from backbone.service import Runtime, ServiceSpec
from contracts.profiles import ApproveRetirement, GetRetiree
from services.profiles import handlers

NAME = "profiles"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(rt: Runtime) -> ServiceSpec:
    rt.router.command(ApproveRetirement, handlers.approve_retirement)
    rt.router.query(GetRetiree, handlers.get_retiree)
    return ServiceSpec()


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build, uses_personal_data=True))
