"""Helpers of the ceremony integration tests: a unit, retirees approved through profiles, a clock to move."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from backbone.clock import advance_platform_time, set_platform_time
from contracts.id_number import make_id_number
from tests.services_harness import RunningPlatform

UNIT, UNIT_NAME = "U0007", "区教育局"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def staff(unit: str = UNIT) -> dict[str, str]:
    return {"user": f"clerk-{unit}", "role": "unit_staff", "unit": unit}


async def set_today(database_url: str, day: date) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await set_platform_time(conn, datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=10))
    finally:
        await conn.close()


async def advance(database_url: str, delta: timedelta) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await advance_platform_time(conn, delta)
    finally:
        await conn.close()


async def register_unit(platform: RunningPlatform, code: str = UNIT, name: str = UNIT_NAME) -> None:
    reply = await platform.send("profiles", "RegisterUnit", {"code": code, "name": name, "kind": "bureau"})
    assert reply["ok"], reply


async def approved_retiree(platform: RunningPlatform, approved_on: date, name: str = "王建国",
                           unit: str = UNIT, **registration: Any) -> uuid.UUID:
    rid = uuid.uuid4()
    birth = date(1966, 1, 1) + timedelta(days=random.randrange(3000))
    reply = await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": name, "unit": unit,
        "id_number": make_id_number("110105", birth, random.randrange(1, 999)), **registration})
    assert reply["ok"], reply
    reply = await platform.send("profiles", "ApproveRetirement", {
        "retiree_id": str(rid), "unit": unit, "document_number": "教人〔2027〕12号",
        "approved_on": approved_on.isoformat(), "retirement_date": approved_on.isoformat(), "category": "cadre"})
    assert reply["ok"], reply
    return rid


async def case_of(platform: RunningPlatform, rid: uuid.UUID, **expect: Any) -> dict[str, Any]:
    """The case once it matches every expected field (the feed and the ticker are asynchronous)."""
    async def probe() -> dict[str, Any] | None:
        reply = await platform.query("ceremony", "GetCase", {"retiree_id": str(rid)})
        if reply["ok"] and all(reply["data"].get(k) == v for k, v in expect.items()):
            return reply["data"]
        return None
    found = await platform.eventually(probe, seconds=15)
    assert found, (expect, await platform.query("ceremony", "GetCase", {"retiree_id": str(rid)}))
    return found


async def send_ok(platform: RunningPlatform, command: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await platform.send("ceremony", command, body)
    assert reply["ok"], reply
    return reply
