"""Durable timers fire once when the injected clock passes them; the platform clock drives every process."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.clock import ManualClock, PlatformClock, advance_platform_time, set_platform_time
from backbone.timers import Ticker, Timer
from tests.backbone.helpers import make_store

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


class Payload(BaseModel):
    model_config = ConfigDict(extra="allow")  # each test's own payload


class TestTicker:
    async def test_a_timer_fires_once_when_the_clock_passes_its_due_time(
        self, pool: asyncpg.Pool, schema: str
    ) -> None:
        await make_store(pool, schema)
        fired: list[tuple[str, dict[str, Any], datetime]] = []

        async def on_due(_conn: asyncpg.Connection, timer_id: str, payload: Payload, now: datetime) -> None:
            fired.append((timer_id, payload.model_dump(), now))

        clock = ManualClock(T0)
        ticker = Ticker(pool=pool, schema=schema, service="t", clock=clock,
                        handlers={"visit_due": Timer(Payload, on_due)})
        async with pool.acquire() as conn:
            await timers.schedule(conn, schema, "task-1:due", "visit_due", T0 + timedelta(days=3), {"task": "1"})
        assert await ticker.fire_due() == 0
        clock.advance(timedelta(days=2, hours=23))
        assert await ticker.fire_due() == 0
        clock.advance(timedelta(hours=1))
        assert await ticker.fire_due() == 1
        assert fired == [("task-1:due", {"task": "1"}, T0 + timedelta(days=3))]
        clock.advance(timedelta(days=30))
        assert await ticker.fire_due() == 0  # never twice

    async def test_a_failing_handler_leaves_the_timer_armed(self, pool: asyncpg.Pool, schema: str) -> None:
        await make_store(pool, schema)
        calls = 0

        async def flaky(_conn: asyncpg.Connection, _id: str, _payload: Payload, _now: datetime) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise asyncpg.PostgresError("transient")

        clock = ManualClock(T0)
        ticker = Ticker(pool=pool, schema=schema, service="t", clock=clock, handlers={"k": Timer(Payload, flaky)})
        async with pool.acquire() as conn:
            await timers.schedule(conn, schema, "x", "k", T0, {})
        with contextlib.suppress(asyncpg.PostgresError):
            await ticker.fire_due()
        assert await ticker.fire_due() == 0  # pushed back a minute, so it cannot block the others
        clock.advance(timedelta(minutes=1))
        assert await ticker.fire_due() == 1
        assert calls == 2  # noqa: PLR2004

    async def test_rescheduling_moves_and_cancelling_removes(self, pool: asyncpg.Pool, schema: str) -> None:
        await make_store(pool, schema)
        seen: list[str] = []

        async def on_due(_conn: asyncpg.Connection, timer_id: str, _p: Payload, _now: datetime) -> None:
            seen.append(timer_id)

        clock = ManualClock(T0)
        ticker = Ticker(pool=pool, schema=schema, service="t", clock=clock, handlers={"k": Timer(Payload, on_due)})
        async with pool.acquire() as conn:
            await timers.schedule(conn, schema, "a", "k", T0 + timedelta(days=1), {})
            await timers.schedule(conn, schema, "a", "k", T0 + timedelta(days=5), {})
            await timers.schedule(conn, schema, "b", "k", T0 + timedelta(days=1), {})
            await timers.cancel(conn, schema, "b")
        clock.advance(timedelta(days=2))
        assert await ticker.fire_due() == 0
        clock.advance(timedelta(days=3))
        assert await ticker.fire_due() == 1
        assert seen == ["a"]


class TestPlatformClock:
    async def test_follows_the_wall_clock_until_set_then_everyone_sees_the_simulated_time(
        self, pool: asyncpg.Pool, schema: str
    ) -> None:
        await make_store(pool, schema)
        clock_a, clock_b = PlatformClock(pool), PlatformClock(pool)  # two "processes"
        assert abs((await clock_a.now()) - datetime.now(UTC)) < timedelta(seconds=5)
        async with pool.acquire() as conn:
            await set_platform_time(conn, T0)
            assert await clock_b.now() == T0
            moved = await advance_platform_time(conn, timedelta(days=3))
        assert moved == T0 + timedelta(days=3)
        assert await clock_a.now() == await clock_b.now() == moved
        async with pool.acquire() as conn:
            await set_platform_time(conn, None)
        assert abs((await clock_a.now()) - datetime.now(UTC)) < timedelta(seconds=5)
