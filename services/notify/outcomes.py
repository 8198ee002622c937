"""A delivery's final outcome: its row is closed and one event is appended to its own stream `delivery-<id>`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from backbone.commands import to_new_event
from backbone.store import EventStore, Metadata
from contracts.base import SYSTEM_ACTOR, Actor, Role
from contracts.notify import (
    ChannelName,
    NotificationFailed,
    NotificationSent,
    NotificationSuppressed,
    delivery_stream,
)

NOTIFY_ACTOR = Actor(user="notify", role=Role.SYSTEM, unit=SYSTEM_ACTOR.unit)
STORE = EventStore("notify")


def _common(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    return {"delivery_id": row["delivery_id"], "rule": row["rule"], "cause_event_id": row["cause_event_id"],
            "recipient": row["recipient"], "channel": ChannelName(row["channel"])}


async def _close(  # noqa: PLR0913 - a closed delivery is these things
    conn: asyncpg.Connection, row: asyncpg.Record | dict[str, Any], event: Any, *, status: str, attempts: int,
    error: str | None, now: datetime,
) -> None:
    await conn.execute(
        "UPDATE notify.deliveries SET status = $2, attempts = $3, last_error = $4, finished_at = $5 "
        "WHERE delivery_id = $1", row["delivery_id"], status, attempts, error, now,
    )
    new = await to_new_event(conn, None, event, row["unit"], now)
    meta = Metadata(actor=NOTIFY_ACTOR, correlation_id=row["correlation_id"], causation_id=row["cause_event_id"])
    await STORE.append(conn, delivery_stream(row["delivery_id"]), 0, [new], meta)


async def sent(conn: asyncpg.Connection, row: asyncpg.Record, attempts: int, now: datetime) -> None:
    event = NotificationSent(**_common(row), template=row["template"], attempts=attempts)
    await _close(conn, row, event, status="sent", attempts=attempts, error=None, now=now)


async def failed(  # noqa: PLR0913 - the outcome and its why
    conn: asyncpg.Connection, row: asyncpg.Record, *, attempts: int, code: str, reason: str, now: datetime,
) -> None:
    event = NotificationFailed(**_common(row), attempts=attempts, code=code, reason=reason[:500])  # type: ignore[arg-type]
    await _close(conn, row, event, status="failed", attempts=attempts, error=reason[:500], now=now)


async def suppressed(conn: asyncpg.Connection, row: asyncpg.Record | dict[str, Any], reason: str,
                     now: datetime) -> None:
    event = NotificationSuppressed(**_common(row), reason=reason)  # type: ignore[arg-type]
    await _close(conn, row, event, status="suppressed", attempts=int(row.get("attempts") or 0), error=reason,
                 now=now)
