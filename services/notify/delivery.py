"""The delivery worker: a `notify.send` timer per attempt sends one pending delivery over its channel.

Each attempt runs in the ticker's transaction for that timer: the outcome (sent, retry armed, failed,
suppressed) commits together with the timer being marked fired. A crash after the peer accepted but before
the commit re-sends once on restart; email carries the delivery id as Message-ID and SMS as `id` so a peer can
drop that repeat. Every other path gives at most one delivery per (cause, recipient, channel).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from backbone import timers
from backbone.db import Connection
from contracts.notify import ChannelName
from services.notify.channels import Channel, Outgoing, PermanentFailure, TransientFailure
from services.notify.contacts import Contact, ProfilesContacts, staff_contact
from services.notify.outcomes import Outcomes
from services.notify.planning import SEND_TIMER, Send, send_timer_id
from services.notify.quiet_hours import backoff
from services.notify.recipients import suppression
from services.notify.settings import NotifySettings
from services.notify.templates import TemplateError, Templates, message_context

log = structlog.get_logger()


@dataclass
class DeliveryWorker:
    channels: dict[ChannelName, Channel]
    contacts: ProfilesContacts
    templates: Templates
    settings: NotifySettings
    outcomes: Outcomes

    async def on_timer(self, conn: Connection, _timer_id: str, payload: Send, now: datetime) -> None:
        row = await conn.fetchrow("SELECT * FROM notify.deliveries WHERE delivery_id = $1 FOR UPDATE",
                                  payload.delivery_id)
        if row is None or row["status"] != "pending":
            return  # already finished (a stale retry timer): nothing to do, never a second send
        attempt = row["attempts"] + 1
        try:
            await self._attempt(conn, row, attempt, now)
        except TransientFailure as exc:
            await self._retry_or_give_up(conn, row, attempt, str(exc), now)
        except (PermanentFailure, TemplateError) as exc:
            await self.outcomes.failed(conn, row, attempts=attempt, code="permanent", reason=str(exc), now=now)
            log.warning("notification_failed", delivery_id=str(row["delivery_id"]), error=str(exc))

    async def _attempt(self, conn: Connection, row: asyncpg.Record, attempt: int, now: datetime) -> None:
        channel = self.channels[ChannelName(row["channel"])]
        # Whether the person may be told at all comes first: a message that waited (quiet hours, a retry) for
        # someone who died meanwhile is suppressed, whatever else would have stopped it.
        gone = await suppression(conn, row["recipient"])
        if gone is not None:
            await self.outcomes.suppressed(conn, row, gone, now)
            return
        if not channel.configured:
            await self.outcomes.failed(conn, row, attempts=0, code="not_configured",
                                       reason=f"channel {channel.name} is not configured", now=now)
            return
        contact = await self._contact(conn, row["recipient"], channel)
        if contact is None:
            await self.outcomes.failed(conn, row, attempts=0, code="no_address", reason="recipient unknown", now=now)
            return
        if contact.gone is not None:
            await self._remember_gone(conn, row["recipient"], contact.gone, now)
            await self.outcomes.suppressed(conn, row, contact.gone, now)
            return
        address = getattr(contact, channel.needs) if channel.needs else contact.phone
        if channel.needs and not address:
            await self.outcomes.failed(conn, row, attempts=0, code="no_address",
                                       reason=f"no {channel.needs} for {row['recipient']}", now=now)
            return
        unit_name = await conn.fetchval("SELECT name FROM notify.units WHERE code = $1", row["unit"])
        rendered = self.templates.render(row["template"], message_context(
            row["context"], recipient_name=contact.name, unit_name=unit_name))
        await channel.send(conn, Outgoing(
            delivery_id=row["delivery_id"], recipient=row["recipient"], rule=row["rule"], subject=rendered.subject,
            body=rendered.body, address=address, now=now,
        ))
        await self.outcomes.sent(conn, row, attempt, now)
        log.info("notification_sent", delivery_id=str(row["delivery_id"]), channel=row["channel"], attempts=attempt)

    async def _contact(self, conn: Connection, recipient: str, channel: Channel) -> Contact | None:
        kind, _, key = recipient.partition(":")
        if kind == "staff":
            return await staff_contact(conn, key)
        retiree_id = uuid.UUID(key)
        if channel.name is ChannelName.INBOX:
            # The retiree's own inbox needs no contact, and so their name is not written into notify's tables.
            return Contact(name=None)
        return await self.contacts.retiree(retiree_id, reveal_phone=channel.needs == "phone")

    async def _remember_gone(self, conn: Connection, recipient: str, reason: str, now: datetime) -> None:
        if recipient.startswith("retiree:"):
            await conn.execute("INSERT INTO notify.suppressions (retiree_id, reason, since) VALUES ($1, $2, $3) "
                               "ON CONFLICT DO NOTHING", uuid.UUID(recipient.removeprefix("retiree:")), reason, now)

    async def _retry_or_give_up(self, conn: Connection, row: asyncpg.Record, attempt: int, error: str,
                                now: datetime) -> None:
        if attempt >= self.settings.max_attempts:
            await self.outcomes.failed(conn, row, attempts=attempt, code="exhausted", reason=error, now=now)
            log.warning("notification_gave_up", delivery_id=str(row["delivery_id"]), attempts=attempt, error=error)
            return
        due = now + backoff(attempt, self.settings.backoff_base_s, self.settings.backoff_cap_s)
        await conn.execute("UPDATE notify.deliveries SET attempts = $2, last_error = $3, not_before = $4 "
                           "WHERE delivery_id = $1", row["delivery_id"], attempt, error[:500], due)
        await timers.schedule(conn, "notify", send_timer_id(row["delivery_id"], attempt + 1), SEND_TIMER, due,
                              Send(delivery_id=row["delivery_id"]))
        log.info("notification_retry", delivery_id=str(row["delivery_id"]), attempt=attempt, error=error)
