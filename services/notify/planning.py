"""From an event to delivery rows: rule match, recipients, channels, quiet-hour deferral; one timer per row.

Runs inside the consumer's inbox transaction, so a redelivered event plans nothing twice; the unique key
(cause_event_id, recipient, channel) holds even if an event reached notify twice under different ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.clock import Clock
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.base import Event
from contracts.notify import ChannelName
from services.notify.outcomes import Outcomes
from services.notify.preferences import quiet_hours_of
from services.notify.quiet_hours import QuietHours, not_before
from services.notify.recipients import event_unit, preference, recipients, suppression
from services.notify.rules import RETIREE_KINDS, Rule, RuleBook, effective_channels

SEND_TIMER = "notify.send"


def send_timer_id(delivery_id: uuid.UUID, attempt: int) -> str:
    # One timer per attempt: the ticker marks a fired timer by id, so a retry needs a fresh one.
    return f"send-{delivery_id}-{attempt}"


class Send(BaseModel):
    """The payload of a send timer: which delivery to attempt."""

    model_config = ConfigDict(frozen=True)
    delivery_id: uuid.UUID


@dataclass(frozen=True)
class Planned:
    """A delivery to create: the cause, the rule's choices, who and how."""

    cause_event_id: uuid.UUID
    correlation_id: uuid.UUID
    rule: str
    template: str
    urgent: bool
    unit: str
    context: dict[str, Any]


def message_cause(event: Event, meta: EventMeta) -> dict[str, Any]:
    """What a template sees of its cause: the event's fields (sensitive ones still sealed) and its envelope."""
    return {"type": event.type, "unit": meta.unit, "occurred_at": meta.occurred_at.isoformat(),
            "data": event.model_dump(mode="json", exclude={"type", "schema_version"})}


def folded_into_digest(rule: Rule, digest_mode: bool) -> bool:  # noqa: FBT001
    """In a unit with digest mode on, a digestible reminder is not sent by itself: the morning digest carries it."""
    return rule.digestible and digest_mode


class Planner:
    def __init__(self, book: RuleBook, outcomes: Outcomes, clock: Clock, quiet: QuietHours) -> None:
        self._book = book
        self._outcomes = outcomes
        self._clock = clock
        self._quiet = quiet

    async def create(self, conn: Connection, planned: Planned, recipient: str, channels: list[ChannelName], *,
                     now: datetime) -> list[uuid.UUID]:
        """Insert one delivery per channel (skipping ones that exist) and arm its first send, or suppress it."""
        created = []
        reason = await suppression(conn, recipient)
        quiet = await quiet_hours_of(conn, recipient, self._quiet)
        for channel in channels:
            due = not_before(now, urgent=planned.urgent, silent_channel=channel is ChannelName.INBOX, quiet=quiet)
            row = await conn.fetchrow(
                "INSERT INTO notify.deliveries (delivery_id, cause_event_id, correlation_id, rule, template, "
                "recipient, channel, urgent, unit, context, status, not_before, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12) "
                "ON CONFLICT (cause_event_id, recipient, channel) DO NOTHING RETURNING *",
                uuid.uuid4(), planned.cause_event_id, planned.correlation_id, planned.rule, planned.template,
                recipient, channel.value, planned.urgent, planned.unit, planned.context, due, now,
            )
            if row is None:
                continue
            if reason is not None:
                await self._outcomes.suppressed(conn, row, reason, now)
            else:
                await timers.schedule(conn, "notify", send_timer_id(row["delivery_id"], 1), SEND_TIMER, due,
                                      Send(delivery_id=row["delivery_id"]))
            created.append(row["delivery_id"])
        return created

    async def plan_rule(self, conn: Connection, rule: Rule, event: Event, meta: EventMeta, now: datetime,
                        ) -> list[uuid.UUID]:
        unit = event_unit(event, meta)
        if folded_into_digest(rule, await digest_mode(conn, unit)):
            return []  # folded into the unit's morning digest (services/notify/digest.py)
        planned = Planned(cause_event_id=meta.event_id, correlation_id=meta.correlation_id, rule=rule.id,
                          template=rule.template, urgent=rule.urgent, unit=unit, context=message_cause(event, meta))
        created = []
        for kind in rule.recipients:
            for recipient in await recipients(conn, kind, event, meta):
                channels = effective_channels(rule.channels, await preference(conn, recipient),
                                              to_retiree=kind in RETIREE_KINDS)
                created += await self.create(conn, planned, recipient, channels, now=now)
        return created

    async def plan(self, conn: Connection, event: Event, meta: EventMeta) -> None:
        now = await self._clock.now()
        for rule in self._book.matching(event):
            await self.plan_rule(conn, rule, event, meta, now)

    @property
    def routes(self) -> Routes:
        return Routes.of(dict.fromkeys(self._book.event_types, self.plan))


async def digest_mode(conn: Connection, unit: str) -> bool:
    enabled = await conn.fetchval("SELECT digest_mode FROM notify.units WHERE code = $1", unit)
    return True if enabled is None else bool(enabled)
