"""What was sent to whom, and how it went (送达记录): the delivery records of a cause or a recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.db import Connection, row_to_json
from contracts.errors import forbidden, refused
from contracts.notify import ListDeliveries

DELIVERY_COLUMNS = ("delivery_id, cause_event_id, rule, template, recipient, channel, urgent, unit, status, "
                    "not_before, attempts, last_error, created_at, finished_at")


async def list_deliveries(conn: Connection, q: ListDeliveries, _now: datetime) -> list[Any]:
    if not q.actor.oversees_all:
        raise forbidden("only the district office may list delivery records", zh="只有区老干部局可以查看送达记录")
    if q.cause_event_id is None and q.recipient is None:
        raise refused("give a cause_event_id or a recipient", zh="请指明要查看哪条事件或哪位收件人的送达记录",
                      field="cause_event_id")
    rows = await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM notify.deliveries WHERE ($1::uuid IS NULL OR cause_event_id = $1) "
        "AND ($2::text IS NULL OR recipient = $2) ORDER BY created_at, recipient, channel LIMIT $3",
        q.cause_event_id, q.recipient, q.limit,
    )
    return [row_to_json(r) for r in rows]
