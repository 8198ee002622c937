"""From an event to delivery rows: rule match, recipients, channels, quiet-hour deferral; one timer per row.

Runs inside the consumer's inbox transaction, so a redelivered event plans nothing twice; the unique key
(cause_event_id, recipient, channel) holds even if an event reached notify twice under different ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from backbone import timers
from contracts.base import Envelope
from contracts.notify import ChannelName
from services.notify import outcomes
from services.notify.quiet_hours import QuietHours, not_before
from services.notify.rules import RETIREE_KINDS, RecipientKind, Rule, RuleBook, effective_channels

SEND_TIMER = "notify.send"
STAFF_ROLES_OF_UNIT = ("unit_staff", "unit_head")


def send_timer_id(delivery_id: uuid.UUID, attempt: int) -> str:
    # One timer per attempt: the ticker marks a fired timer by id, so a retry needs a fresh one.
    return f"send-{delivery_id}-{attempt}"


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


def event_unit(env: Envelope) -> str:
    return str(env.data.get("unit") or env.unit)


async def recipients(conn: asyncpg.Connection, kind: RecipientKind, env: Envelope) -> list[str]:
    """Recipient keys for one recipient kind of a rule; staff come from the directory notify projects."""
    unit = event_unit(env)
    match kind:
        case RecipientKind.RETIREE | RecipientKind.APPLICANT:
            return [f"retiree:{env.data['retiree_id']}"]
        case RecipientKind.ASSIGNEE:
            user = env.data.get("assignee") or await conn.fetchval(
                "SELECT care_contact FROM notify.units WHERE code = $1", unit)
            return [f"staff:{user}"] if user else []
        case RecipientKind.UNIT_HEAD:
            rows = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND unit = $1 "
                                    "AND role = 'unit_head' ORDER BY user_id", unit)
        case RecipientKind.DISTRICT_OFFICE:
            rows = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND role = 'district_office' "
                                    "ORDER BY user_id")
        case RecipientKind.UNIT_STAFF:
            rows = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND unit = $1 "
                                    "AND role = ANY($2) ORDER BY user_id", unit, list(STAFF_ROLES_OF_UNIT))
        case RecipientKind.UNITS_IN_SCOPE:
            rows = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND unit = ANY($1) "
                                    "AND role = ANY($2) ORDER BY unit, user_id",
                                    list(env.data.get("units") or []), list(STAFF_ROLES_OF_UNIT))
    return [f"staff:{r['user_id']}" for r in rows]


async def preference(conn: asyncpg.Connection, recipient: str) -> list[ChannelName] | None:
    chosen = await conn.fetchval("SELECT channels FROM notify.channel_preferences WHERE recipient = $1", recipient)
    return [ChannelName(c) for c in chosen] if chosen else None


async def suppression(conn: asyncpg.Connection, recipient: str) -> str | None:
    if not recipient.startswith("retiree:"):
        return None
    reason: str | None = await conn.fetchval("SELECT reason FROM notify.suppressions WHERE retiree_id = $1",
                                             uuid.UUID(recipient.removeprefix("retiree:")))
    return reason


async def create(  # noqa: PLR0913 - one delivery row: what, to whom, how, when
    conn: asyncpg.Connection, planned: Planned, recipient: str, channels: list[ChannelName], *,
    now: datetime, quiet: QuietHours,
) -> list[uuid.UUID]:
    """Insert one delivery per channel (skipping ones that exist) and arm its first send, or suppress it."""
    created = []
    reason = await suppression(conn, recipient)
    for channel in channels:
        due = not_before(now, urgent=planned.urgent, silent_channel=channel is ChannelName.INBOX, quiet=quiet)
        row = await conn.fetchrow(
            "INSERT INTO notify.deliveries (delivery_id, cause_event_id, correlation_id, rule, template, recipient, "
            "channel, urgent, unit, context, status, not_before, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12) "
            "ON CONFLICT (cause_event_id, recipient, channel) DO NOTHING RETURNING *",
            uuid.uuid4(), planned.cause_event_id, planned.correlation_id, planned.rule, planned.template, recipient,
            channel.value, planned.urgent, planned.unit, planned.context, due, now,
        )
        if row is None:
            continue
        if reason is not None:
            await outcomes.suppressed(conn, row, reason, now)
        else:
            await timers.schedule(conn, "notify", send_timer_id(row["delivery_id"], 1), SEND_TIMER, due,
                                  {"delivery_id": str(row["delivery_id"])})
        created.append(row["delivery_id"])
    return created


async def digest_mode(conn: asyncpg.Connection, unit: str) -> bool:
    enabled = await conn.fetchval("SELECT digest_mode FROM notify.units WHERE code = $1", unit)
    return True if enabled is None else bool(enabled)


async def plan_rule(conn: asyncpg.Connection, rule: Rule, env: Envelope, *, now: datetime,
                    quiet: QuietHours) -> list[uuid.UUID]:
    if rule.digestible and await digest_mode(conn, event_unit(env)):
        return []  # folded into the unit's morning digest (services/notify/digest.py)
    planned = Planned(
        cause_event_id=env.event_id, correlation_id=env.correlation_id, rule=rule.id, template=rule.template,
        urgent=rule.urgent, unit=event_unit(env),
        context={"type": env.type, "unit": env.unit, "occurred_at": env.occurred_at.isoformat(), "data": env.data},
    )
    created = []
    for kind in rule.recipients:
        for recipient in await recipients(conn, kind, env):
            channels = effective_channels(rule.channels, await preference(conn, recipient),
                                          to_retiree=kind in RETIREE_KINDS)
            created += await create(conn, planned, recipient, channels, now=now, quiet=quiet)
    return created


async def plan(conn: asyncpg.Connection, env: Envelope, book: RuleBook, *, now: datetime,
               quiet: QuietHours) -> list[uuid.UUID]:
    created = []
    for rule in book.matching(env.type, env.data):
        created += await plan_rule(conn, rule, env, now=now, quiet=quiet)
    return created
