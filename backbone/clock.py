"""Injectable clocks (§8): the wall clock, a fixed test clock, and the platform clock every process follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg

from backbone.db import Connection


class Clock(Protocol):
    async def now(self) -> datetime: ...


class SystemClock:
    async def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock a test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    async def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


class PlatformClock:
    """Reads `platform.clock`: absent row = wall clock; a frozen time or an offset drive every service at once.

    A demo or an end-to-end test advances days in seconds with `wanqing clock advance 3d`, and every running
    service's ticker sees the same simulated time on its next tick.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def now(self) -> datetime:
        row = await self._pool.fetchrow("SELECT frozen_at, offset_s FROM platform.clock")
        real = datetime.now(UTC)
        if row is None:
            return real
        frozen: datetime | None = row["frozen_at"]
        if frozen is not None:
            return frozen
        return real + timedelta(seconds=float(row["offset_s"]))


async def set_platform_time(conn: Connection, when: datetime | None) -> None:
    """Freeze the platform at `when`, or return it to the wall clock with None."""
    if when is None:
        await conn.execute("DELETE FROM platform.clock")
        return
    await conn.execute(
        "INSERT INTO platform.clock (frozen_at) VALUES ($1) ON CONFLICT (singleton) "
        "DO UPDATE SET frozen_at = excluded.frozen_at, offset_s = 0, updated_at = now()",
        when,
    )


async def advance_platform_time(conn: Connection, delta: timedelta) -> datetime:
    """Move simulated time forward; a platform on the wall clock starts from now."""
    async with conn.transaction():
        row = await conn.fetchrow("SELECT frozen_at, offset_s FROM platform.clock FOR UPDATE")
        base = (row["frozen_at"] if row and row["frozen_at"] else None) or (
            datetime.now(UTC) + timedelta(seconds=row["offset_s"] if row else 0)
        )
        target: datetime = base + delta
        await set_platform_time(conn, target)
    return target
