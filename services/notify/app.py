"""Composition root of the notify service.

Consumes profiles', care's and ceremony's events; runs the delivery worker and the morning digest on durable
timers; answers the inbox commands and queries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg

from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.service import Runtime, ServiceSpec
from contracts import subjects
from contracts.base import Envelope
from contracts.notify import ListDeliveries, ListInbox, MarkRead, SetChannelPreference, SetDigestMode
from services.notify import directory, handlers, planning, queries
from services.notify.channels import build_channels
from services.notify.contacts import ProfilesContacts
from services.notify.delivery import DeliveryWorker
from services.notify.digest import DIGEST_TIMER, Digest
from services.notify.rules import load_rules
from services.notify.settings import NotifySettings
from services.notify.templates import Templates

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"
SOURCES = ("profiles", "care", "ceremony")


def make_build(settings: NotifySettings | None = None) -> Callable[[Runtime], ServiceSpec]:
    """The build function with notify's own settings (the environment's by default; tests pass theirs)."""

    def build(rt: Runtime) -> ServiceSpec:
        config = settings or NotifySettings()
        book = load_rules()
        rt.router.command(MarkRead, handlers.mark_read)
        rt.router.command(SetChannelPreference, handlers.set_channel_preference)
        rt.router.command(SetDigestMode, handlers.set_digest_mode)
        rt.router.query(ListInbox, queries.list_inbox)
        rt.router.query(ListDeliveries, queries.list_deliveries)

        async def on_event(conn: asyncpg.Connection, env: Envelope) -> None:
            # Project first: a death or a new staff member must count for this very event's recipients.
            await directory.project(conn, env)
            await planning.plan(conn, env, book, now=await rt.clock.now(), quiet=config.quiet_hours)

        feed = ConsumerSpec(
            name="notify-events",
            # One consumer over the three sources keeps one retiree's events in the order they were recorded.
            filter_subjects=tuple(subjects.events_of_service(s) for s in SOURCES),
            handler=on_event,
            max_deliver=rt.settings.consumer_max_deliver,
            batch=rt.settings.consumer_batch,
        )
        worker = DeliveryWorker(channels=build_channels(config), contacts=ProfilesContacts(lambda: rt.nc),
                                templates=Templates(config.tz), settings=config)
        return ServiceSpec(consumers=[feed],
                           timers={planning.SEND_TIMER: worker.on_timer, DIGEST_TIMER: Digest(config).on_timer})

    return build


build = make_build()


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))
