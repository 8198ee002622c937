"""Operator actions on a platform's database: the simulated clock and history verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from backbone.chain import Verification, verify
from backbone.clock import PlatformClock, advance_platform_time, set_platform_time
from backbone.db import create_pool
from contracts.base import LOCAL_TZ
from wanqing.catalog import migrations_of


@dataclass(frozen=True)
class ClockReading:
    now: datetime
    mode: str  # "wall clock", "frozen" or "offset"

    @property
    def beijing(self) -> str:
        """The time as people read it: Beijing time, to the second, with its offset."""
        return self.now.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S+08:00")

    @property
    def mode_zh(self) -> str:
        if self.mode == "wall clock":
            return "实际时间"
        if self.mode == "frozen":
            return "模拟时间，已冻结"
        return f"模拟时间，{self.mode.removeprefix('offset ')}的偏移"


class BackwardsError(ValueError):
    """The change would move the platform's time back: timers already fired, events already dated later."""

    def __init__(self, before: ClockReading, after: datetime) -> None:
        self.before, self.after = before, after
        back = before.now - after
        super().__init__(f"this would move the platform clock back by {back} (from {before.now.isoformat()} to "
                         f"{after.isoformat()}); give --backwards to do it anyway")

    @property
    def zh(self) -> str:
        back = self.before.now - self.after
        to = self.after.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        return (f"平台时钟将倒退 {_zh_duration(back)}（从 {self.before.beijing[:16]} 回到 {to}，北京时间）；"
                "已到期的提醒和已记录的事件不会撤回。确需如此，请加 --backwards")


def _zh_duration(delta: timedelta) -> str:
    days, seconds = delta.days, delta.seconds
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{minutes}分钟" if minutes else ""]
    return "".join(parts) or "不到1分钟"


async def read_clock(database_url: str) -> ClockReading:
    pool = await create_pool(database_url, max_size=1)
    try:
        row = await pool.fetchrow("SELECT frozen_at, offset_s FROM platform.clock")
        now = await PlatformClock(pool).now()
    finally:
        await pool.close()
    if row is None:
        return ClockReading(now, "wall clock")
    if row["frozen_at"] is not None:
        return ClockReading(now, "frozen")
    return ClockReading(now, f"offset {timedelta(seconds=row['offset_s'])}")


def parse_instant(text: str) -> datetime:
    """ISO 8601; a time without an offset is Beijing time (the district's), a bare date its midnight there."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=LOCAL_TZ)


@dataclass(frozen=True)
class ClockChange:
    before: ClockReading
    after: ClockReading

    @property
    def moved(self) -> timedelta:
        return self.after.now - self.before.now


async def change_clock(database_url: str, *, to: datetime | None = None, by: timedelta | None = None,
                       reset: bool = False, backwards: bool = False) -> ClockChange:
    """Set, advance or reset the platform clock; refused (BackwardsError) if it would go back, unless asked."""
    before = await read_clock(database_url)
    target = datetime.now(before.now.tzinfo) if reset else (before.now + by if by is not None else to)
    assert target is not None
    if target < before.now - timedelta(seconds=1) and not backwards:
        raise BackwardsError(before, target)
    conn = await asyncpg.connect(database_url)
    try:
        if reset:
            await set_platform_time(conn, None)
        elif by is not None:
            await advance_platform_time(conn, by)
        else:
            await set_platform_time(conn, to)
    finally:
        await conn.close()
    return ClockChange(before, await read_clock(database_url))


async def verify_services(database_url: str, services: tuple[str, ...]) -> dict[str, Verification | None]:
    """Each service's chain; None for a service whose schema does not exist yet."""
    conn = await asyncpg.connect(database_url)
    try:
        results: dict[str, Verification | None] = {}
        for service in services:
            schema, _ = migrations_of(service)
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{schema}".events')
            results[service] = await verify(conn, schema) if exists else None
        return results
    finally:
        await conn.close()
