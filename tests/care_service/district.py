"""A small district for care's end-to-end tests: two units, their staff, and retirees with known birthdays."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg

from backbone.clock import advance_platform_time
from contracts.id_number import make_id_number
from tests.services_harness import RunningPlatform

UNITS = {"U0001": "区教育局", "U0002": "城关镇"}


def head(unit: str) -> dict[str, str]:
    return {"user": f"head-{unit}", "role": "unit_head", "unit": unit}


def clerk(unit: str) -> dict[str, str]:
    return {"user": f"clerk-{unit}", "role": "unit_staff", "unit": unit}


async def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["ok"], reply
    return reply


async def setup_units(p: RunningPlatform) -> None:
    for code, name in UNITS.items():
        await ok(await p.send("profiles", "RegisterUnit", {"code": code, "name": name, "kind": "bureau"}))
        for who, role in ((f"head-{code}", "unit_head"), (f"clerk-{code}", "unit_staff")):
            await ok(await p.send("profiles", "RegisterStaff", {"user": who, "name": "工作人员", "role": role,
                                                                  "unit": code, "email": f"{who}@example.cn"}))
        await ok(await p.send("profiles", "SetCareContact", {"unit": code, "user": f"clerk-{code}"}))


_seq = iter(range(11, 999, 2))


async def retiree(p: RunningPlatform, unit: str, born: date, **extra: Any) -> uuid.UUID:
    rid = uuid.uuid4()
    await ok(await p.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": "测试人员", "id_number": make_id_number("110105", born, next(_seq)),
        "unit": unit, "retirement_date": (born + timedelta(days=365 * 60)).isoformat(), "already_retired": True,
        **extra}))
    return rid


async def advance(database_url: str, delta: timedelta) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await advance_platform_time(conn, delta)
    finally:
        await conn.close()


async def tasks_of(p: RunningPlatform, retiree_id: uuid.UUID, database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch("SELECT * FROM care.tasks WHERE retiree_id = $1 ORDER BY opened_at, kind",
                                     retiree_id))
    finally:
        await conn.close()


async def wait_for_tasks(p: RunningPlatform, database_url: str, retiree_id: uuid.UUID, kind: str,
                         **expected: Any) -> asyncpg.Record:
    async def probe() -> asyncpg.Record | None:
        for t in await tasks_of(p, retiree_id, database_url):
            if t["kind"] == kind and all(t[k] == v for k, v in expected.items()):
                return t
        return None

    found = await p.eventually(probe)
    assert found is not None, f"no {kind} task with {expected} for {retiree_id}"
    return found


async def hospitalised_retiree(p: RunningPlatform, database_url: str, unit: str = "U0001",
                               admitted_on: str = "2027-03-01") -> tuple[uuid.UUID, asyncpg.Record]:
    """A retiree of `unit` admitted to hospital, and the hospital visit that opened for them."""
    rid = await retiree(p, unit, date(1950, 5, 5))
    await ok(await p.send("profiles", "RecordHospitalization", {
        "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": admitted_on}))
    return rid, await wait_for_tasks(p, database_url, rid, "hospital_visit")


async def wait_for_facts(p: RunningPlatform, database_url: str, retiree_id: uuid.UUID, **expected: Any) -> None:
    """Wait until care's projection of the person shows `expected` (profiles' events arrive asynchronously, so
    a test that moves the clock first could sweep facts that are not there yet).
    """
    async def probe() -> bool:
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow("SELECT * FROM care.retiree_facts WHERE retiree_id = $1", retiree_id)
        finally:
            await conn.close()
        return row is not None and all(row[k] == v for k, v in expected.items())

    assert await p.eventually(probe), f"care never saw {expected} for {retiree_id}"
