"""Operator actions on a platform's database: the simulated clock and history verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from backbone.chain import Verification, verify
from backbone.clock import PlatformClock, advance_platform_time, set_platform_time
from backbone.db import create_pool
from wanqing.catalog import migrations_of


@dataclass(frozen=True)
class ClockReading:
    now: datetime
    mode: str  # "wall clock", "frozen" or "offset"


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
    """ISO 8601; a time without an offset is taken as UTC, a bare date as its midnight UTC."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def change_clock(database_url: str, *, to: datetime | None = None, by: timedelta | None = None,
                       reset: bool = False) -> ClockReading:
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
    return await read_clock(database_url)


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
