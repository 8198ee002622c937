"""Composition root of the care service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.service import Runtime, ServiceSpec
from contracts import subjects
from contracts.care import GetRetireeFacts
from services.care import retiree_facts

NAME = "care"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(rt: Runtime) -> ServiceSpec:
    rt.router.query(GetRetireeFacts, retiree_facts.get_retiree_facts)
    profiles_feed = ConsumerSpec(
        name="care-profiles",
        filter_subjects=(subjects.events_of_service("profiles"),),
        handler=retiree_facts.project,
        max_deliver=rt.settings.consumer_max_deliver,
        batch=rt.settings.consumer_batch,
    )
    return ServiceSpec(consumers=[profiles_feed])


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))
