"""Festival campaigns across units, and the work-quality scores computed on a known small history."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from contracts.base import LOCAL_TZ
from tests.care_service.conftest import T0
from tests.care_service.district import advance, clerk, ok, retiree, setup_units, wait_for_tasks
from tests.services_harness import RunningPlatform


async def facts_count(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM care.retiree_facts"))
    finally:
        await conn.close()


async def settle(platform: RunningPlatform, database_url: str, expected: int) -> None:
    """Wait until care has projected `expected` retirees (the feed is asynchronous)."""
    async def probe() -> bool:
        return await facts_count(database_url) >= expected

    assert await platform.eventually(probe)


class TestDoubleNinthCampaign:
    async def test_age_bands_across_two_units_with_coverage_per_unit(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        await setup_units(platform)
        # Ages reached in 2027: 70, 69, 75, 91 in U0001; 80, 86 and a deceased 85 with a survivor in U0002.
        a70 = await retiree(platform, "U0001", date(1957, 12, 31))
        await retiree(platform, "U0001", date(1958, 1, 1))
        a75 = await retiree(platform, "U0001", date(1952, 6, 1))
        a91 = await retiree(platform, "U0001", date(1936, 2, 2))
        b80 = await retiree(platform, "U0002", date(1947, 10, 10))
        await retiree(platform, "U0002", date(1941, 3, 3))
        dead = await retiree(platform, "U0002", date(1942, 4, 4))
        await ok(await platform.send("profiles", "RecordSurvivor", {
            "retiree_id": str(dead), "survivor_name": "王桂兰", "relation": "配偶"}))
        await ok(await platform.send("profiles", "RecordDeath", {"retiree_id": str(dead), "died_on": "2027-02-01"}))
        await settle(platform, database_url, 7)
        await platform.eventually(lambda: _deceased(database_url, dead))

        cid = uuid.uuid4()
        launched = await ok(await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(cid), "festival": "double_ninth", "title": "2027年重阳节走访慰问", "year": 2027,
            "due_on": "2027-10-20",
            "scope": {"units": ["U0001", "U0002"], "age_bands": [[70, 70], [75, 75], [80, 80], [85, 85], [90, None]],
                      "include_survivors": True}}))
        assert launched["summary"] == {"tasks": 4, "units": 2}
        progress = await filled(platform, cid, 4)  # tasks open in chunks after the reply
        per_unit = {u["unit"]: u for u in progress["data"]["per_unit"]}
        assert (per_unit["U0001"]["tasks"], per_unit["U0002"]["tasks"]) == (3, 1)
        conn = await asyncpg.connect(database_url)
        try:
            reached = {r["retiree_id"] for r in await conn.fetch(
                "SELECT retiree_id FROM care.tasks WHERE campaign_id = $1", cid)}
        finally:
            await conn.close()
        assert reached == {a70, a75, a91, b80}  # 69, 86 and the deceased are out (bands given: no survivors)

        task = (await ok(await platform.query("care", "ListTasks", {"unit": "U0001", "view": "open",
                                                                      "actor": clerk("U0001")})))["data"]["items"]
        festival = next(t for t in task if t["kind"] == "festival_visit")
        await ok(await platform.send("care", "CompleteTask", {
            "task_id": festival["task_id"], "done_at": T0.isoformat(), "done_by": ["clerk-U0001"], "form": "home",
            "gifts": "重阳糕、慰问金", "amount": 500, "actor": clerk("U0001")}))
        closed = await ok(await platform.send("care", "CloseCampaign", {"campaign_id": str(cid)}))
        assert closed["ok"]
        progress = await ok(await platform.query("care", "GetCampaignProgress", {"campaign_id": str(cid)}))
        cov = {u["unit"]: u["coverage"] for u in progress["data"]["per_unit"]}
        assert cov == {"U0001": round(1 / 3, 4), "U0002": 0.0}

    async def test_a_campaign_larger_than_one_chunk_opens_every_task(
        self, platform: RunningPlatform, database_url: str, monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from services.care import tasks  # noqa: PLC0415

        monkeypatch.setattr(tasks, "CHUNK", 2)  # 5 people: chunks of 2, 2, 1 through the fill timer
        await setup_units(platform)
        for year in range(1950, 1955):
            await retiree(platform, "U0001", date(year, 1, 1))
        await settle(platform, database_url, 5)
        cid = uuid.uuid4()
        await ok(await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(cid), "festival": "mid_autumn", "title": "中秋慰问", "year": 2027,
            "due_on": "2027-09-15", "scope": {"units": ["U0001"]}}))
        progress = await filled(platform, cid, 5)
        assert progress["data"]["per_unit"][0]["tasks"] == 5  # noqa: PLR2004

    async def test_spring_festival_keeps_survivors_and_a_unit_launches_only_for_itself(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        await setup_units(platform)
        await retiree(platform, "U0002", date(1950, 1, 1))
        dead = await retiree(platform, "U0002", date(1942, 4, 4))
        await ok(await platform.send("profiles", "RecordSurvivor", {
            "retiree_id": str(dead), "survivor_name": "王桂兰", "relation": "配偶"}))
        await ok(await platform.send("profiles", "RecordDeath", {"retiree_id": str(dead), "died_on": "2027-02-01"}))
        await settle(platform, database_url, 2)
        await platform.eventually(lambda: _deceased(database_url, dead))
        refused = await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(uuid.uuid4()), "festival": "spring", "title": "春节慰问", "year": 2028,
            "due_on": "2028-02-01", "scope": {"units": ["U0001"]}, "actor": clerk("U0002")})
        assert (refused["ok"], refused["code"]) == (False, "forbidden")
        own = await ok(await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(uuid.uuid4()), "festival": "spring", "title": "春节慰问", "year": 2028,
            "due_on": "2028-02-01", "actor": clerk("U0002")}))
        assert own["summary"] == {"tasks": 2, "units": 1}  # the living retiree and the survivor
        # ListCampaigns: the district office sees it; U0002's clerk sees its own; U0001's clerk does not.
        district = (await ok(await platform.query("care", "ListCampaigns", {"year": 2028})))["data"]
        assert [(c["title"], c["units"], c["tasks"]) for c in district] == [("春节慰问", ["U0002"], 2)]
        assert len((await ok(await platform.query("care", "ListCampaigns", {"actor": clerk("U0002")})))["data"]) == 1
        assert (await ok(await platform.query("care", "ListCampaigns", {"actor": clerk("U0001")})))["data"] == []
        assert (await ok(await platform.query("care", "ListCampaigns", {"year": 2027})))["data"] == []


async def filled(platform: RunningPlatform, cid: uuid.UUID, tasks: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        reply = await platform.query("care", "GetCampaignProgress", {"campaign_id": str(cid)})
        return reply if sum(u["tasks"] for u in reply["data"]["per_unit"]) == tasks else None

    found = await platform.eventually(probe)
    assert found is not None, "the campaign's tasks never opened"
    return found


async def _deceased(database_url: str, rid: uuid.UUID) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT status FROM care.retiree_facts WHERE retiree_id = $1", rid) == "deceased"
    finally:
        await conn.close()


async def contact_tasks(database_url: str, unit: str, at_least: int) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        n = await conn.fetchval("SELECT count(*) FROM care.tasks WHERE unit = $1 AND kind = 'regular_contact'", unit)
    finally:
        await conn.close()
    return int(n) >= at_least


class TestScores:
    async def test_scores_on_a_known_small_history(self, platform: RunningPlatform, database_url: str) -> None:
        await setup_units(platform)
        r1 = await retiree(platform, "U0001", date(1950, 5, 5))
        r2 = await retiree(platform, "U0001", date(1951, 6, 6))
        await retiree(platform, "U0002", date(1949, 7, 7))
        for rid in (r1, r2):
            await ok(await platform.send("profiles", "RecordHospitalization", {
                "retiree_id": str(rid), "hospital": "区医院", "admitted_on": "2027-03-01"}))
        await settle(platform, database_url, 3)

        async def hospital_tasks() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(database_url)
            try:
                rows = await conn.fetch("SELECT task_id, retiree_id FROM care.tasks WHERE kind = 'hospital_visit'")
            finally:
                await conn.close()
            return list(rows) if len(rows) == 2 else []  # noqa: PLR2004

        tasks = {r["retiree_id"]: r["task_id"] for r in await platform.eventually(hospital_tasks)}
        # r1 visited after 24 h (on time); r2 never visited; the clock then moves past every due time.
        await ok(await platform.send("care", "CompleteTask", {
            "task_id": str(tasks[r1]), "done_at": T0.isoformat(), "done_by": ["clerk-U0001"], "form": "hospital",
            "actor": clerk("U0001")}))
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("UPDATE care.tasks SET done_at = opened_at + interval '24 hours' WHERE task_id = $1",
                               tasks[r1])
            from backbone.clock import advance_platform_time  # noqa: PLC0415

            await advance_platform_time(conn, timedelta(days=5))
        finally:
            await conn.close()
        await platform.eventually(lambda: contact_tasks(database_url, "U0001", 2))  # the sweep opened March's
        reply = await ok(await platform.query("care", "GetUnitScores", {"period": "2027Q1"}))
        units = {u["unit"]: u for u in reply["data"]["units"]}
        u1 = units["U0001"]
        assert u1["hospital_visits_on_time_pct"] == 50.0  # noqa: PLR2004
        assert u1["median_hours_to_hospital_visit"] == 24.0  # noqa: PLR2004
        # Both owe March's contact (in hospital: monthly) and nobody was contacted: a hospital visit is not one.
        assert u1["contacted_pct"] == 0.0
        assert u1["overdue_open_tasks"] >= 1
        assert units["U0002"]["hospital_visits_on_time_pct"] is None  # nothing owed: no score, not 0
        assert reply["data"]["district"]["hospital_visits_on_time_pct"] == 50.0  # noqa: PLR2004
        own = await ok(await platform.query("care", "GetUnitScores", {"period": "2027Q1", "actor": clerk("U0002")}))
        assert [u["unit"] for u in own["data"]["units"]] == ["U0002"]


class TestScoresCountObligationsMet:
    """A score falls when the work was not done: only a completion of the obligation itself, in its own period
    (or by its due date), fills a rate.
    """

    async def test_contact_coverage_counts_contacts_made_in_their_period_not_other_tasks(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        await setup_units(platform)
        r1 = await retiree(platform, "U0001", date(1955, 5, 5))
        r2 = await retiree(platform, "U0001", date(1956, 6, 6))
        await settle(platform, database_url, 2)
        await advance(database_url, timedelta(days=1))  # the sweep opens 2027Q1's contacts for both
        contact = {rid: await wait_for_tasks(platform, database_url, rid, "regular_contact") for rid in (r1, r2)}
        cid = uuid.uuid4()
        await ok(await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(cid), "festival": "custom", "title": "走访", "year": 2027, "due_on": "2027-03-20",
            "scope": {"units": ["U0001"]}}))
        visit = await wait_for_tasks(platform, database_url, r1, "festival_visit")

        async def contacted() -> float | None:
            reply = await ok(await platform.query("care", "GetUnitScores", {"period": "2027Q1", "unit": "U0001"}))
            value: float | None = reply["data"]["units"][0]["contacted_pct"]
            return value

        async def complete(task: asyncpg.Record, done_at: datetime, form: str = "phone") -> None:
            await ok(await platform.send("care", "CompleteTask", {
                "task_id": str(task["task_id"]), "done_at": done_at.isoformat(), "done_by": ["clerk-U0001"],
                "form": form, "actor": clerk("U0001")}))

        assert await contacted() == 0.0  # two contacts owed, none made
        await complete(visit, T0, form="home")
        assert await contacted() == 0.0  # a festival visit is not the quarter's contact
        await complete(contact[r2], T0)
        assert await contacted() == 50.0  # noqa: PLR2004
        await complete(contact[r1], datetime(2026, 12, 20, 10, tzinfo=LOCAL_TZ))  # dated before its quarter began
        assert await contacted() == 50.0  # noqa: PLR2004

    async def test_a_festival_visit_after_the_campaigns_due_date_does_not_cover_it(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1955, 5, 5))
        await settle(platform, database_url, 1)
        await ok(await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(uuid.uuid4()), "festival": "custom", "title": "走访", "year": 2027,
            "due_on": "2027-03-02", "scope": {"units": ["U0001"]}}))
        visit = await wait_for_tasks(platform, database_url, rid, "festival_visit")
        await advance(database_url, timedelta(days=5))
        await ok(await platform.send("care", "CompleteTask", {
            "task_id": str(visit["task_id"]), "done_at": (T0 + timedelta(days=4)).isoformat(),
            "done_by": ["clerk-U0001"], "form": "home", "actor": clerk("U0001")}))
        reply = await ok(await platform.query("care", "GetUnitScores", {"period": "2027Q1", "unit": "U0001"}))
        assert reply["data"]["units"][0]["festival_coverage_pct"] == 0.0


class TestTheReportIsOfUnits:
    async def test_the_district_itself_is_no_row_and_a_clerk_sees_a_report_of_their_unit(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        await ok(await platform.send("profiles", "RegisterUnit", {"code": "DISTRICT", "name": "某区",
                                                                    "kind": "district"}))
        await setup_units(platform)
        await retiree(platform, "U0001", date(1955, 5, 5))
        await settle(platform, database_url, 1)  # the feed is ordered: the units came before the retiree
        office = await ok(await platform.query("care", "GetUnitScores", {"period": "2027Q1"}))
        assert office["data"]["scope"] == "district"
        assert [u["unit"] for u in office["data"]["units"]] == ["U0001", "U0002"]  # no row of dashes for DISTRICT
        own = await ok(await platform.query("care", "GetUnitScores", {"period": "2027Q1", "actor": clerk("U0001")}))
        assert own["data"]["scope"] == "unit"
