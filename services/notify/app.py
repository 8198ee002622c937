"""Composition root of the notify service.

Consumes the events its rules name (and the directory and task events it keeps), runs the delivery worker
and the morning digest on durable timers, and answers the inbox commands and queries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from backbone import rebuild as rebuilding
from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.db import Connection
from backbone.rebuild import RebuildReport
from backbone.service import Runtime, ServiceSpec
from backbone.timers import Timer
from contracts.notify import ListDeliveries, ListInbox, MarkRead, SetChannelPreference, SetDigestMode, SetQuietHours
from services.notify import delivery_log, digest, handlers, inbox, open_tasks, preferences, recipients
from services.notify.channels import build_channels
from services.notify.contacts import ProfilesContacts
from services.notify.delivery import DeliveryWorker
from services.notify.digest import DIGEST_TIMER, Digest, Morning
from services.notify.outcomes import Outcomes
from services.notify.planning import SEND_TIMER, Planner, Send
from services.notify.preview import PreviewError, preview
from services.notify.rebuild import PLAN
from services.notify.rules import UnknownRuleError, load_rules
from services.notify.settings import NotifySettings
from services.notify.templates import TemplateError, Templates

__all__ = ["MIGRATIONS", "NAME", "PreviewError", "TemplateError", "UnknownRuleError", "build", "main", "make_build",
           "preview"]

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"
CONSUMERS: tuple[str, ...] = ("notify-events",)  # what NATS lets it do beyond its own subjects (nats_auth)
ASKS: tuple[str, ...] = ("profiles",)  # GetRetiree, for contacts


def make_build(settings: NotifySettings | None = None) -> Callable[[Runtime], ServiceSpec]:
    """The build function with notify's own settings (the environment's by default; tests pass theirs)."""

    def build(rt: Runtime) -> ServiceSpec:
        config = settings or NotifySettings()
        rt.recorder.project(inbox.PROJECTION + preferences.PROJECTION + digest.PROJECTION)
        rt.router.command(MarkRead, handlers.mark_read, for_retirees=True)
        rt.router.command(SetChannelPreference, handlers.set_channel_preference, for_retirees=True)
        rt.router.command(SetQuietHours, handlers.set_quiet_hours, for_retirees=True)
        rt.router.command(SetDigestMode, handlers.set_digest_mode)
        rt.router.query(ListInbox, inbox.list_inbox, for_retirees=True)
        rt.router.query(ListDeliveries, delivery_log.list_deliveries)
        outcomes = Outcomes(rt.recorder)
        planner = Planner(load_rules(), outcomes, rt.clock, config.quiet_hours)
        # One consumer over every source keeps one retiree's events in the order they were recorded; the
        # directory and task projections come first, so a death or a new staff member counts for this very
        # event's recipients.
        feed = ConsumerSpec(name=CONSUMERS[0], routes=recipients.PROJECTION + open_tasks.PROJECTION + planner.routes,
                            max_deliver=rt.settings.consumer_max_deliver, batch=rt.settings.consumer_batch)
        worker = DeliveryWorker(channels=build_channels(config), contacts=ProfilesContacts(rt.asker),
                                templates=Templates(config.tz), settings=config, outcomes=outcomes)
        return ServiceSpec(consumers=[feed], timers={SEND_TIMER: Timer(Send, worker.on_timer),
                                                     DIGEST_TIMER: Timer(Morning, Digest(config, planner).on_timer)})

    return build


build = make_build()


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))


async def rebuild(conn: Connection, js: JetStreamContext | None) -> RebuildReport:
    """Drop notify's read models and rebuild them from history (docs/audit-as-of.md)."""
    return await rebuilding.rebuild(conn, js, PLAN)


async def digests(conn: Connection) -> dict[str, Any]:
    """The sha256 of each of notify's read models."""
    return await rebuilding.digest(conn, PLAN)


async def check_rebuild(conn: Connection, js: JetStreamContext | None) -> dict[str, Any]:
    """Rebuild into a transaction that is rolled back, and compare its digests with the live ones."""
    return await rebuilding.check(conn, js, PLAN)
