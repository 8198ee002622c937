"""The thin slice: profiles records RetirementApproved, care consumes it and records it exactly once."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import asyncpg

from contracts.id_number import make_id_number
from tests.services_harness import RunningPlatform


def approval(retiree_id: uuid.UUID | None = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "retiree_id": str(retiree_id or uuid.uuid4()),
        "unit": "U0007",
        "document_number": "区人社〔2026〕12号",
        "approved_on": "2026-11-01",
        "retirement_date": "2026-11-30",
        "category": "cadre",
    }
    body.update(overrides)
    return body


async def event_count(database_url: str) -> int:
    """Events about retirees (the unit and person set up by `registered` are not counted)."""
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM profiles.events WHERE type NOT IN ('UnitRegistered', 'RetireeRegistered')"))
    finally:
        await conn.close()


async def registered(platform: RunningPlatform, retiree_id: uuid.UUID | None = None) -> uuid.UUID:
    """Unit U0007 and a person in the archive: approval needs both."""
    rid = retiree_id or uuid.uuid4()
    await platform.send("profiles", "RegisterUnit", {"code": "U0007", "name": "区财政局", "kind": "bureau"})
    reply = await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": "张建国", "id_number": make_id_number("110105", date(1966, 5, 4), 13),
        "unit": "U0007",
    })
    assert reply["ok"], reply
    return rid


class TestApproveRetirement:
    async def test_approval_is_recorded_and_care_records_it_once(self, platform: RunningPlatform) -> None:
        rid = await registered(platform)
        reply = await platform.send("profiles", "ApproveRetirement", approval(rid))
        assert reply["ok"] is True
        assert reply["version"] == 2  # noqa: PLR2004 - after RetireeRegistered
        assert len(reply["event_ids"]) == 1

        async def facts() -> dict[str, Any] | None:
            r = await platform.query("care", "GetRetireeFacts", {"retiree_id": str(rid)})
            return r if r["ok"] and r["data"]["status"] == "retired" else None

        found = await platform.eventually(facts)
        assert found is not None, "care never recorded the approval"
        assert found["data"]["unit"] == "U0007"
        assert found["data"]["applied_events"] == 2  # noqa: PLR2004 - registered, then approved: once each

    async def test_the_same_command_id_twice_has_one_effect_and_the_same_reply(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        rid = await registered(platform)
        body = {"command_id": str(uuid.uuid4()), **approval(rid)}
        raw = json.dumps(body).encode()
        first = await platform.send_raw("profiles", "ApproveRetirement", raw)
        second = await platform.send_raw("profiles", "ApproveRetirement", raw)  # a new credential, the same request
        assert first == second
        assert first["ok"] is True
        assert await event_count(database_url) == 1

    async def test_approving_twice_with_new_command_ids_is_a_conflict(self, platform: RunningPlatform) -> None:
        rid = await registered(platform)
        assert (await platform.send("profiles", "ApproveRetirement", approval(rid)))["ok"]
        again = await platform.send("profiles", "ApproveRetirement", approval(rid))
        assert again["ok"] is False
        assert again["code"] == "conflict"


class TestBadCommands:
    async def test_malformed_json(self, platform: RunningPlatform, database_url: str) -> None:
        reply = await platform.send_raw("profiles", "ApproveRetirement", b'{"retiree_id": ')
        assert (reply["ok"], reply["code"]) == (False, "validation")
        assert "malformed JSON" in reply["developer_message"]
        assert "无法识别" in reply["message"]
        assert await event_count(database_url) == 0

    async def test_unknown_command(self, platform: RunningPlatform, database_url: str) -> None:
        reply = await platform.send("profiles", "LaunchRocket", {})
        assert (reply["ok"], reply["code"]) == (False, "validation")
        assert "unknown command 'LaunchRocket'" in reply["developer_message"]
        assert "没有这项操作" in reply["message"]
        assert "ApproveRetirement" in reply["details"]["known"]
        assert await event_count(database_url) == 0

    async def test_missing_field(self, platform: RunningPlatform, database_url: str) -> None:
        body = approval()
        del body["document_number"]
        reply = await platform.send("profiles", "ApproveRetirement", body)
        assert (reply["ok"], reply["code"]) == (False, "validation")
        assert "document_number" in reply["developer_message"]
        assert "缺少必填项" in reply["message"]
        assert reply["details"]["errors"][0]["field"] == "document_number"
        assert await event_count(database_url) == 0

    async def test_wrongly_typed_fields(self, platform: RunningPlatform, database_url: str) -> None:
        reply = await platform.send("profiles", "ApproveRetirement",
                                    approval(approved_on="yesterday", category="astronaut"))
        assert (reply["ok"], reply["code"]) == (False, "validation")
        fields = {e["field"] for e in reply["details"]["errors"]}
        assert fields == {"approved_on", "category"}
        assert await event_count(database_url) == 0

    async def test_a_body_that_is_not_an_object(self, platform: RunningPlatform) -> None:
        reply = await platform.send_raw("profiles", "ApproveRetirement", b"[1, 2]")
        assert (reply["ok"], reply["code"]) == (False, "validation")

    async def test_approval_dated_in_the_future_is_refused(
        self, platform: RunningPlatform, database_url: str
    ) -> None:
        rid = await registered(platform)
        reply = await platform.send("profiles", "ApproveRetirement", approval(rid, approved_on="2999-01-01"))
        assert (reply["ok"], reply["code"]) == (False, "validation")
        assert "future" in reply["developer_message"]
        assert "晚于今天" in reply["message"]
        assert await event_count(database_url) == 0

    async def test_unknown_query(self, platform: RunningPlatform) -> None:
        reply = await platform.query("care", "Nope", {})
        assert (reply["ok"], reply["code"]) == (False, "validation")


class TestCommandIdsAreNotReused:
    """A command id names one request: only an identical repeat gets the stored reply (issue 12.4)."""

    async def test_another_command_under_a_used_id_is_refused_and_records_nothing(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        rid = await registered(platform)
        await platform.send("profiles", "ApproveRetirement", approval(rid))
        used = str(uuid.uuid4())
        exam = await platform.send("profiles", "RecordHealthExam", {
            "command_id": used, "retiree_id": str(rid), "examined_on": "2026-11-02", "summary": "血压正常"})
        assert exam["ok"] is True
        before = await event_count(database_url)
        hospital = await platform.send("profiles", "RecordHospitalization", {
            "command_id": used, "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2026-11-02"})
        assert (hospital["ok"], hospital["code"]) == (False, "conflict")
        assert "RecordHealthExam" in hospital["message"]  # says what the id was used for
        assert "already used for another request" in hospital["developer_message"]
        assert await event_count(database_url) == before  # no hospitalisation recorded under the exam's reply

    async def test_the_same_command_with_another_body_is_refused_an_identical_repeat_is_answered(
        self, platform: RunningPlatform,
    ) -> None:
        rid = await registered(platform)
        await platform.send("profiles", "ApproveRetirement", approval(rid))
        body = {"command_id": str(uuid.uuid4()), "retiree_id": str(rid), "examined_on": "2026-11-02",
                "summary": "血压正常"}
        first = await platform.send("profiles", "RecordHealthExam", body)
        repeat = await platform.send("profiles", "RecordHealthExam", body)
        other = await platform.send("profiles", "RecordHealthExam", {**body, "summary": "血糖偏高"})
        assert first["ok"] is True
        assert repeat == first
        assert (other["ok"], other["code"]) == (False, "conflict")


class TestStrictSchemas:
    async def test_a_number_where_the_schema_says_date_time_is_refused(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        reply = await platform.send("care", "CompleteTask", {
            "task_id": str(uuid.uuid4()), "done_at": 1796152848, "done_by": ["clerk"], "form": "phone"})
        assert (reply["ok"], reply["code"]) == (False, "validation")
        assert reply["details"]["errors"][0]["field"] == "done_at"
        assert "日期时间" in reply["message"]

    async def test_a_string_where_the_schema_says_integer_is_refused(self, platform: RunningPlatform) -> None:
        reply = await platform.send("profiles", "ReportHardship", {
            "retiree_id": str(uuid.uuid4()), "description": "医药费负担重", "amount_requested": "3000"})
        assert (reply["ok"], reply["code"]) == (False, "validation")
        assert reply["details"]["errors"][0]["field"] == "amount_requested"
