"""Stop the whole platform mid-flow and start it again on the same data: nothing lost, nothing done twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import nats
import pytest

from backbone.credentials import OPS
from backbone.db import create_pool
from tests.journeys.conftest import UpPlatform, Wanqing
from wanqing.access import nats_options

pytestmark = pytest.mark.slow

UNIT = "U0201"
PEOPLE = 16


async def connect(up: UpPlatform, *, reconnect: bool = True) -> Wanqing:
    nc = await nats.connect(up.nats_url, allow_reconnect=reconnect, **nats_options(up.data_dir, OPS))
    return Wanqing(up, nc, await create_pool(up.database_url, min_size=1, max_size=4))


async def close(wq: Wanqing) -> None:
    await wq.nc.close()
    await wq.pool.close()


async def test_sigterm_mid_flow_then_up_again_loses_nothing_and_repeats_nothing(up_platform: UpPlatform) -> None:
    wq = await connect(up_platform, reconnect=False)  # the servers go away under it
    try:
        await wq.unit(UNIT, "区档案馆")
        rids = [await wq.retiree(UNIT, date(1948, 1 + i % 12, 10)) for i in range(PEOPLE)]
        for rid in rids:
            await wq.facts(rid)  # the campaign reaches everyone care knows of when it launches
        today = (await wq.today()).isoformat()
        campaign_id = uuid.uuid4()

        async def attempt(service: str, command: str, body: dict[str, Any]) -> dict[str, Any] | None:
            try:
                return await asyncio.wait_for(wq.send(service, command, body), timeout=10)
            except (nats.errors.Error, TimeoutError):
                return None  # stopped under it: neither accepted nor refused as far as we know

        # Hospitalisations and a campaign in flight while the supervisor is told to stop.
        in_flight = [asyncio.create_task(attempt("profiles", "RecordHospitalization", {
            "retiree_id": str(r), "hospital": "区人民医院", "admitted_on": today})) for r in rids]
        in_flight.append(asyncio.create_task(attempt("care", "LaunchCampaign", {
            "campaign_id": str(campaign_id), "festival": "spring", "title": "春节慰问", "year": 2028,
            "due_on": "2028-01-31", "scope": {"units": [UNIT]}})))
        await asyncio.sleep(0.05)
        assert await asyncio.to_thread(up_platform.stop) == 0, up_platform.tail()
        replies = await asyncio.gather(*in_flight)
    finally:
        await close(wq)

    hospitalised = {rids[i] for i, r in enumerate(replies[:PEOPLE]) if r is not None and r["ok"]}
    launched = replies[-1]
    campaign_tasks = launched["summary"]["tasks"] if launched is not None and launched["ok"] else 0

    await asyncio.to_thread(up_platform.start)
    wq = await connect(up_platform)
    try:
        # Every accepted command's events are stored, and care (and notify) consumed every profiles event.
        for rid in hospitalised:
            assert await wq.pool.fetchval("SELECT count(*) FROM profiles.events WHERE stream_id = $1 "
                                          "AND type = 'MemberHospitalized'", f"retiree-{rid}") == 1
        profile_events = {r["event_id"] for r in await wq.pool.fetch("SELECT event_id FROM profiles.events")}

        async def consumed(schema: str, consumer: str) -> bool:
            seen = {r["event_id"] for r in await wq.pool.fetch(
                f"SELECT event_id FROM {schema}.inbox WHERE consumer = $1", consumer)}
            return profile_events <= seen
        await wq.eventually(lambda: consumed("care", "care-profiles"), "care consumed every profiles event", 60)
        notify_consumers = [r["consumer"] for r in await wq.pool.fetch(
            "SELECT DISTINCT consumer FROM notify.inbox WHERE consumer LIKE '%profiles%'")]
        for consumer in notify_consumers:
            await wq.eventually(lambda c=consumer: consumed("notify", c), f"notify's {consumer} consumed all", 60)

        # Every hospitalisation opened exactly one visit; the facts applied each event once.
        for rid in rids:
            expected = 1 if rid in hospitalised else 0
            await wq.eventually(lambda r=rid, n=expected: wq.pool.fetchval(
                "SELECT count(*) = $2 FROM care.tasks WHERE retiree_id = $1 AND kind = 'hospital_visit'", r, n),
                f"{expected} hospital visit(s) for {rid}", 60)
            facts = await wq.facts(rid)
            assert facts["applied_events"] == 1 + expected, facts  # registered (+ hospitalised), once each
        if campaign_tasks:
            assert campaign_tasks == PEOPLE
            await wq.eventually(lambda: wq.pool.fetchval(
                "SELECT count(*) = $2 FROM care.tasks WHERE campaign_id = $1", campaign_id, PEOPLE),
                "the campaign's tasks, all of them, once", 60)
            greetings = await wq.eventually(lambda: _greetings(wq, campaign_id), "a greeting per retiree", 60)
            assert greetings == PEOPLE

        duplicates = await wq.pool.fetch(
            "SELECT cause_event_id, recipient, channel, count(*) FROM notify.deliveries "
            "GROUP BY cause_event_id, recipient, channel HAVING count(*) > 1")
        assert duplicates == []
        assert await wq.pool.fetchval("SELECT count(*) FROM care.events GROUP BY event_id ORDER BY 1 DESC LIMIT 1") \
            in (None, 1)
        verify = await asyncio.to_thread(up_platform.cli, "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        await close(wq)


async def _greetings(wq: Wanqing, campaign_id: uuid.UUID) -> int:
    """Retirees with a festival greeting in their inbox from this campaign's task openings."""
    causes = [r["event_id"] for r in await wq.pool.fetch(
        "SELECT e.event_id FROM care.events e JOIN care.tasks t ON e.stream_id = 'task-' || t.task_id "
        "WHERE t.campaign_id = $1 AND e.type = 'CareTaskOpened'", campaign_id)]
    count: int = await wq.pool.fetchval(
        "SELECT count(DISTINCT recipient) FROM notify.deliveries WHERE cause_event_id = ANY($1::uuid[]) "
        "AND channel = 'inbox'", causes)
    return count if count == PEOPLE else 0

