"""Durable timers (§8): scheduled in the same transaction as the decision, fired when the clock passes them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from pydantic import BaseModel

from backbone import metrics
from backbone.clock import Clock
from backbone.db import UNREACHABLE, Connection, quote_ident

log = structlog.get_logger()

RETRY_AFTER = timedelta(minutes=1)

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class Timer(Generic[P]):
    """A kind of timer: the model its payload is stored as, and what firing it does (in the tick's transaction)."""

    payload: type[P]
    fire: Callable[[Connection, str, P, datetime], Awaitable[None]]


def _json(payload: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    return payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload)


async def schedule(  # noqa: PLR0913 - a timer is these six things
    conn: Connection, schema: str, timer_id: str, kind: str, due_at: datetime,
    payload: BaseModel | Mapping[str, Any],
) -> None:
    """Idempotent by timer_id: rescheduling the same id moves it and re-arms it."""
    await conn.execute(
        f"INSERT INTO {quote_ident(schema)}.timers (timer_id, kind, due_at, payload) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (timer_id) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload, fired_at = NULL",
        timer_id, kind, due_at, _json(payload),
    )


async def schedule_many(
    conn: Connection, schema: str, rows: list[tuple[str, str, datetime, BaseModel | Mapping[str, Any]]]
) -> None:
    """Many timers in one statement: rows of (timer_id, kind, due_at, payload)."""
    if not rows:
        return
    await conn.execute(
        f"INSERT INTO {quote_ident(schema)}.timers (timer_id, kind, due_at, payload) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[]) "
        "ON CONFLICT (timer_id) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload, fired_at = NULL",
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [_json(r[3]) for r in rows],
    )


async def cancel(conn: Connection, schema: str, timer_id: str) -> None:
    await conn.execute(f"DELETE FROM {quote_ident(schema)}.timers WHERE timer_id = $1 AND fired_at IS NULL", timer_id)


class Ticker:
    """Fires due timers one transaction each; replicas share the work through SKIP LOCKED."""

    def __init__(  # noqa: PLR0913
        self,
        *,
        pool: asyncpg.Pool,
        schema: str,
        service: str,
        clock: Clock,
        handlers: Mapping[str, Timer[Any]],
        interval_s: float = 0.5,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._s = quote_ident(schema)
        self._service = service
        self._clock = clock
        self._handlers = handlers
        self._interval = interval_s
        self._on_commit = on_commit

    async def run(self, stop: asyncio.Event) -> None:
        unreachable_since: float | None = None
        while not stop.is_set():
            try:
                await self.fire_due()
                unreachable_since = None
            except UNREACHABLE as exc:  # an outage: one line when it starts, then quiet until it is over
                if unreachable_since is None:
                    unreachable_since = time.monotonic()
                    log.warning("ticker_database_unavailable", service=self._service, error=repr(exc))
            except Exception:  # the ticker must outlive any one bad tick (logged with its traceback)
                log.exception("ticker_failed", service=self._service)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

    async def fire_due(self, limit: int = 500) -> int:
        """Fire what is due now; a failing handler's timer is pushed back so it cannot block the others."""
        now = await self._clock.now()
        fired = 0
        while fired < limit:
            try:
                kind = await self._fire_one(now)
            except Exception as exc:
                await self._postpone(getattr(exc, "timer_id", None), exc)
                raise
            if kind is None:
                break
            fired += 1
            metrics.TIMERS_FIRED.labels(self._service, kind).inc()
            if self._on_commit:
                self._on_commit()
        return fired

    async def _fire_one(self, now: datetime) -> str | None:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT timer_id, kind, payload, due_at FROM {self._s}.timers "
                "WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at, timer_id "
                "LIMIT 1 FOR UPDATE SKIP LOCKED",
                now,
            )
            if row is None:
                return None
            timer = self._handlers.get(row["kind"])
            if timer is None:
                log.error("timer_without_handler", kind=row["kind"], timer_id=row["timer_id"])
            else:
                try:
                    await timer.fire(conn, row["timer_id"], timer.payload.model_validate(row["payload"]), now)
                except Exception as exc:
                    exc.timer_id = row["timer_id"]  # type: ignore[attr-defined]
                    raise
            # A handler may re-arm its own timer (same id, next due time): then it is not the one that fired.
            await conn.execute(
                f"UPDATE {self._s}.timers SET fired_at = $2 WHERE timer_id = $1 AND due_at = $3 AND payload = $4",
                row["timer_id"], now, row["due_at"], row["payload"],
            )
            return str(row["kind"])

    async def _postpone(self, timer_id: str | None, exc: BaseException) -> None:
        if timer_id is None:
            return
        log.warning("timer_failed", timer_id=timer_id, error=repr(exc), retry_in_s=RETRY_AFTER.total_seconds())
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"UPDATE {self._s}.timers SET due_at = due_at + $2 WHERE timer_id = $1 AND fired_at IS NULL",
                timer_id, RETRY_AFTER,
            )
