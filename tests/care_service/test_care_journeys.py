"""Care through the running services with simulated time: obligations open, fall due, escalate, close."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta

import asyncpg

from contracts.base import LOCAL_TZ
from tests.care_service.conftest import T0
from tests.care_service.district import (
    advance,
    clerk,
    hospitalised_retiree,
    ok,
    retiree,
    setup_units,
    tasks_of,
    wait_for_facts,
    wait_for_tasks,
)
from tests.services_harness import RunningPlatform


async def events_of_task(database_url: str, task_id: uuid.UUID) -> list[str]:
    return [t for t, _ in await task_history(database_url, task_id)]


async def task_history(database_url: str, task_id: uuid.UUID) -> list[tuple[str, str]]:
    """(type, unit) of each event of the task, in order."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT type, unit FROM care.events WHERE stream_id = $1 ORDER BY version",
                                f"task-{task_id}")
        return [(r["type"], r["unit"]) for r in rows]
    finally:
        await conn.close()


class TestHospitalVisitTimeTravel:
    async def test_due_then_overdue_then_escalated_twice_then_completed(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1950, 5, 5))
        await ok(await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2027-03-01", "severity": "serious"}))
        task = await wait_for_tasks(platform, database_url, rid, "hospital_visit")
        assert task["due_at"] == T0 + timedelta(hours=72)
        assert task["assignee"] == "clerk-U0001"  # the unit's default care contact
        tid = task["task_id"]

        await advance(database_url, timedelta(hours=49))  # due within 24 h: reminder
        await wait_for_tasks(platform, database_url, rid, "hospital_visit", overdue=False)
        await platform.eventually(lambda: _has(database_url, tid, "CareTaskDueSoon"))
        await advance(database_url, timedelta(hours=24))  # past due
        await wait_for_tasks(platform, database_url, rid, "hospital_visit", overdue=True)
        await advance(database_url, timedelta(hours=24))  # due + 25 h: to the unit head
        await wait_for_tasks(platform, database_url, rid, "hospital_visit", escalation="unit_head")
        await advance(database_url, timedelta(hours=48))  # due + 73 h: to the district office
        await wait_for_tasks(platform, database_url, rid, "hospital_visit", escalation="district_office")

        done_at = (T0 + timedelta(hours=144)).isoformat()  # the clock now stands at T0 + 145 h
        await ok(await platform.send("care", "CompleteTask", {
            "task_id": str(tid), "done_at": done_at, "done_by": ["clerk-U0001", "head-U0001"], "form": "hospital",
            "notes": "病情稳定，家属在旁", "gifts": "鲜花、水果", "actor": clerk("U0001")}))
        done = await wait_for_tasks(platform, database_url, rid, "hospital_visit", status="done")
        assert done["on_time"] is False
        assert await events_of_task(database_url, tid) == [
            "CareTaskOpened", "CareTaskDueSoon", "CareTaskOverdue", "CareTaskEscalated", "CareTaskEscalated",
            "VisitCompleted"]
        conn = await asyncpg.connect(database_url)
        try:
            raw = await conn.fetchval("SELECT convert_from(envelope, 'UTF8') FROM care.events WHERE type = "
                                      "'VisitCompleted'")
            timer = await conn.fetchval("SELECT count(*) FROM care.timers WHERE timer_id = $1 AND fired_at IS NULL",
                                        f"task:{tid}")
        finally:
            await conn.close()
        assert "病情稳定" not in raw  # visit notes are sealed
        assert timer == 0  # a completed task's ladder is dismantled

        await ok(await platform.send("profiles", "RecordDischarge", {"retiree_id": str(rid),
                                                                      "discharged_on": "2027-03-07"}))
        follow_up = await wait_for_tasks(platform, database_url, rid, "discharge_follow_up")
        assert follow_up["due_at"] - follow_up["opened_at"] == timedelta(days=7)

    async def test_staff_of_another_unit_cannot_complete_it(self, platform: RunningPlatform, database_url: str) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1950, 5, 5))
        await ok(await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2027-03-01"}))
        task = await wait_for_tasks(platform, database_url, rid, "hospital_visit")
        reply = await platform.send("care", "CompleteTask", {
            "task_id": str(task["task_id"]), "done_at": T0.isoformat(), "done_by": ["x"], "form": "home",
            "actor": clerk("U0002")})
        assert (reply["ok"], reply["code"]) == (False, "forbidden")


async def _has(database_url: str, task_id: uuid.UUID, event_type: str) -> bool:
    return event_type in await events_of_task(database_url, task_id)


class TestDeath:
    async def test_open_tasks_stop_bereavement_opens(self, platform: RunningPlatform, database_url: str) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1940, 1, 15))
        await ok(await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2027-02-27"}))
        await ok(await platform.send("profiles", "ReportFamilyEmergency", {
            "retiree_id": str(rid), "kind": "serious_illness", "description": "老伴重病", "happened_on": "2027-02-28"}))
        await wait_for_tasks(platform, database_url, rid, "family_emergency_visit")
        await ok(await platform.send("profiles", "RecordDeath", {"retiree_id": str(rid), "died_on": "2027-03-01"}))
        bereavement = await wait_for_tasks(platform, database_url, rid, "bereavement_visit")
        assert bereavement["due_at"] == T0 + timedelta(hours=48)
        await wait_for_tasks(platform, database_url, rid, "hospital_visit", status="cancelled")
        tasks = await tasks_of(platform, rid, database_url)
        still_open = {t["kind"] for t in tasks if t["status"] == "open"}
        assert still_open == {"bereavement_visit"}
        assert all(t["cancel_reason"] == "退休人员已去世" for t in tasks if t["status"] == "cancelled")


class TestTransfer:
    async def test_open_tasks_follow_the_retiree_to_the_new_unit(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        await setup_units(platform)
        rid, visit = await hospitalised_retiree(platform, database_url)
        own = uuid.uuid4()  # U0001's own campaign does not reach U0002: its visit is cancelled, not moved
        await ok(await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(own), "festival": "custom", "title": "教育局专项慰问", "year": 2027,
            "due_on": "2027-04-30", "actor": clerk("U0001")}))
        await wait_for_tasks(platform, database_url, rid, "festival_visit", campaign_id=own)
        await ok(await platform.send("profiles", "TransferRetiree", {
            "retiree_id": str(rid), "to_unit": "U0002", "effective_on": "2027-03-01"}))

        moved = await wait_for_tasks(platform, database_url, rid, "hospital_visit", unit="U0002")
        assert (moved["assignee"], moved["due_at"], moved["status"]) == ("clerk-U0002", visit["due_at"], "open")
        festival = await wait_for_tasks(platform, database_url, rid, "festival_visit", status="cancelled")
        assert festival["cancel_reason"] == "已调往城关镇，不在本次慰问范围"
        assert festival["unit"] == "U0001"
        assert await events_of_task(database_url, visit["task_id"]) == ["CareTaskOpened", "CareTaskTransferred"]
        mine = await platform.query("care", "ListTasks", {"unit": "U0002", "actor": clerk("U0002")})
        assert str(visit["task_id"]) in json.dumps(mine["data"])
        # The ladder goes on in the new unit: overdue and escalated to the new unit's head.
        await advance(database_url, timedelta(days=4))
        await wait_for_tasks(platform, database_url, rid, "hospital_visit", overdue=True, escalation="unit_head")
        assert (await task_history(database_url, visit["task_id"]))[1:] == [
            ("CareTaskTransferred", "U0002"), ("CareTaskDueSoon", "U0002"), ("CareTaskOverdue", "U0002"),
            ("CareTaskEscalated", "U0002")]


class TestOneTaskPerCause:
    async def test_a_redelivered_cause_never_opens_a_second_task(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        from backbone.events import EventMeta, decode  # noqa: PLC0415
        from backbone.recording import Recorder  # noqa: PLC0415
        from backbone.store import EventStore  # noqa: PLC0415
        from contracts.base import Envelope  # noqa: PLC0415
        from services.care import obligations  # noqa: PLC0415
        from services.care.policy import load_policy  # noqa: PLC0415
        from services.care.policy_book import PolicyBook  # noqa: PLC0415
        from services.care.tasks import Tasks  # noqa: PLC0415

        await setup_units(platform)
        rid, _ = await hospitalised_retiree(platform, database_url)
        conn = await asyncpg.connect(database_url)
        try:
            raw = await conn.fetchval("SELECT envelope FROM profiles.events WHERE type = 'MemberHospitalized'")
            env = Envelope.model_validate_json(raw)
            event = decode(env, "profiles")
            assert event is not None
            specs = obligations.for_event(event, EventMeta.of(env), load_policy())
            recorder = Recorder("care", EventStore("care"))
            again = await Tasks(recorder, PolicyBook()).open(recorder.system(conn, T0), specs)
        finally:
            await conn.close()
        assert again == []
        assert [t["kind"] for t in await tasks_of(platform, rid, database_url)].count("hospital_visit") == 1


class TestCalendar:
    async def test_the_daily_sweep_opens_birthday_contact_and_exam_tasks(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0002", date(1957, 3, 20), party_joined_on="1977-03-05")
        await wait_for_facts(platform, database_url, rid, party_joined_on=date(1977, 3, 5))
        await advance(database_url, timedelta(days=6))  # the sweep catches up 2..7 March; the 70th is 14 days off
        birthday = await wait_for_tasks(platform, database_url, rid, "birthday_visit")
        assert birthday["period"] == "2027"
        assert birthday["due_at"] == datetime(2027, 3, 20, 23, 59, 59, tzinfo=LOCAL_TZ)
        contact = await wait_for_tasks(platform, database_url, rid, "regular_contact")
        assert contact["period"] == "2027Q1"
        await wait_for_tasks(platform, database_url, rid, "health_exam", period="2027")
        await wait_for_tasks(platform, database_url, rid, "political_birthday", period="2027")
        await advance(database_url, timedelta(days=1))
        kinds = [t["kind"] for t in await tasks_of(platform, rid, database_url)]
        assert kinds.count("regular_contact") == 1  # the sweep again: nothing twice

    async def test_a_cadence_change_mid_quarter_leaves_one_open_contact_task(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1950, 5, 5))
        await wait_for_facts(platform, database_url, rid, status="retired")
        await advance(database_url, timedelta(days=1))
        await wait_for_tasks(platform, database_url, rid, "regular_contact", period="2027Q1", status="open")
        await ok(await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2027-03-02"}))
        await wait_for_facts(platform, database_url, rid, hospitalized_since=date(2027, 3, 2))
        await advance(database_url, timedelta(days=1))  # in hospital: high risk, contacted monthly
        await wait_for_tasks(platform, database_url, rid, "regular_contact", period="2027-03", status="open")
        quarter = await wait_for_tasks(platform, database_url, rid, "regular_contact", period="2027Q1",
                                       status="cancelled")
        assert quarter["cancel_reason"] == "联系周期调整，由2027-03的日常联系替代"
        contacts = [t for t in await tasks_of(platform, rid, database_url) if t["kind"] == "regular_contact"]
        assert [t["period"] for t in contacts if t["status"] == "open"] == ["2027-03"]


class TestAssistance:
    async def test_hardship_to_payment(self, platform: RunningPlatform, database_url: str) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1948, 8, 8))
        await ok(await platform.send("profiles", "ReportHardship", {
            "retiree_id": str(rid), "description": "老伴住院，医疗费负担重", "amount_requested": 5000}))

        async def case() -> asyncpg.Record | None:
            conn = await asyncpg.connect(database_url)
            try:
                return await conn.fetchrow("SELECT * FROM care.assistance_cases WHERE retiree_id = $1", rid)
            finally:
                await conn.close()

        opened = await platform.eventually(case)
        assert opened is not None
        assert opened["decision_due_at"] == T0 + timedelta(days=15)
        cid = str(opened["case_id"])
        await ok(await platform.send("care", "AssessAssistance", {
            "case_id": cid, "finding": "情况属实", "recommended_amount": 3000, "actor": clerk("U0001")}))
        too_much = await platform.send("care", "ApproveAssistance", {
            "case_id": cid, "amount": 3000, "actor": {"user": "head-U0001", "role": "unit_head", "unit": "U0001"}})
        assert (too_much["ok"], too_much["code"]) == (False, "forbidden")
        assert "district office" in too_much["developer_message"]
        assert "区老干部局" in too_much["message"]  # what the unit head reads
        await ok(await platform.send("care", "ApproveAssistance", {"case_id": cid, "amount": 3000}))
        await ok(await platform.send("care", "PayAssistance", {
            "case_id": cid, "amount": 3000, "paid_on": "2027-03-01", "voucher": "2027-凭-0031"}))
        paid = await case()
        assert paid is not None
        assert (paid["status"], paid["decided_on_time"], paid["approved_amount"]) == ("paid", True, 3000)




class TestTimesPeopleRead:
    async def test_a_tasks_due_time_is_answered_in_beijing_time(self, platform: RunningPlatform,
                                                               database_url: str) -> None:
        await setup_units(platform)
        _, visit = await hospitalised_retiree(platform, database_url)
        listed = await platform.query("care", "ListTasks", {"unit": "U0001", "view": "open"})
        due = next(t["due_at"] for t in listed["data"]["items"] if t["task_id"] == str(visit["task_id"]))
        assert due.endswith("+08:00")  # the instant the database keeps in UTC, shown as people read it
        assert datetime.fromisoformat(due) == visit["due_at"]
