"""Queries: a recipient's inbox, and the delivery records of a cause or a recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from backbone.db import row_to_json
from contracts.errors import forbidden, refused
from contracts.notify import ListDeliveries, ListInbox
from services.notify.handlers import OVERSEERS, may_act_for

DELIVERY_COLUMNS = ("delivery_id, cause_event_id, rule, template, recipient, channel, urgent, unit, status, "
                    "not_before, attempts, last_error, created_at, finished_at")


async def list_inbox(conn: asyncpg.Connection, q: ListInbox, _now: datetime) -> list[Any]:
    if not may_act_for(q.actor, q.recipient):
        raise forbidden(f"{q.actor.user} may not read {q.recipient}'s inbox")
    rows = await conn.fetch(
        "SELECT message_id, subject, body, rule, created_at, read_at FROM notify.inbox_messages "
        "WHERE recipient = $1 AND (NOT $2 OR read_at IS NULL) ORDER BY created_at DESC, message_id LIMIT $3",
        q.recipient, q.unread_only, q.limit,
    )
    return [row_to_json(r) for r in rows]


async def list_deliveries(conn: asyncpg.Connection, q: ListDeliveries, _now: datetime) -> list[Any]:
    if q.actor.role not in OVERSEERS:
        raise forbidden("only the district office may list delivery records")
    if q.cause_event_id is None and q.recipient is None:
        raise refused("give a cause_event_id or a recipient", field="cause_event_id")
    rows = await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM notify.deliveries WHERE ($1::uuid IS NULL OR cause_event_id = $1) "
        "AND ($2::text IS NULL OR recipient = $2) ORDER BY created_at, recipient, channel LIMIT $3",
        q.cause_event_id, q.recipient, q.limit,
    )
    return [row_to_json(r) for r in rows]
