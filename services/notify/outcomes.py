"""A delivery's final outcome: its row is closed and one event is recorded on its own stream `delivery-<id>`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from backbone.db import Connection
from backbone.recording import Recorder
from contracts.notify import (
    ChannelName,
    DeliveryEvent,
    NotificationFailed,
    NotificationSent,
    NotificationSuppressed,
    delivery_stream,
)

Row = asyncpg.Record | dict[str, Any]


def _common(row: Row) -> dict[str, Any]:
    return {"delivery_id": row["delivery_id"], "rule": row["rule"], "cause_event_id": row["cause_event_id"],
            "recipient": row["recipient"], "channel": ChannelName(row["channel"])}


class Outcomes:
    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    async def _close(  # noqa: PLR0913 - a closed delivery is these things
        self, conn: Connection, row: Row, event: DeliveryEvent, *, status: str, attempts: int, error: str | None,
        now: datetime,
    ) -> None:
        await conn.execute(
            "UPDATE notify.deliveries SET status = $2, attempts = $3, last_error = $4, finished_at = $5 "
            "WHERE delivery_id = $1", row["delivery_id"], status, attempts, error, now,
        )
        ctx = self._recorder.system(conn, now, correlation_id=row["correlation_id"],
                                    causation_id=row["cause_event_id"])
        await ctx.record(delivery_stream(row["delivery_id"]), 0, [event], unit=row["unit"])

    async def sent(self, conn: Connection, row: Row, attempts: int, now: datetime) -> None:
        event = NotificationSent(**_common(row), template=row["template"], attempts=attempts)
        await self._close(conn, row, event, status="sent", attempts=attempts, error=None, now=now)

    async def failed(  # noqa: PLR0913 - the outcome and its why
        self, conn: Connection, row: Row, *, attempts: int, code: str, reason: str, now: datetime,
    ) -> None:
        event = NotificationFailed.model_validate({**_common(row), "attempts": attempts, "code": code,
                                                   "reason": reason[:500]})
        await self._close(conn, row, event, status="failed", attempts=attempts, error=reason[:500], now=now)

    async def suppressed(self, conn: Connection, row: Row, reason: str, now: datetime) -> None:
        event = NotificationSuppressed.model_validate({**_common(row), "reason": reason})
        await self._close(conn, row, event, status="suppressed", attempts=int(row.get("attempts") or 0),
                          error=reason, now=now)
