"""The archive through the running profiles service: authorization, sealed data, erasure, read-access records."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from contracts import subjects
from contracts.id_number import make_id_number
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats

ID_NUMBER = make_id_number("110105", date(1960, 2, 29), 28)  # even sequence: female
PHONE = "13800138000"
ADDRESS = "朝阳区幸福里小区5号楼"


def staff(unit: str, user: str = "clerk", role: str = "unit_staff") -> dict[str, str]:
    return {"user": f"{user}-{unit}", "role": role, "unit": unit}


async def seed(platform: RunningPlatform) -> uuid.UUID:
    """Two units; one retiree in U0001 with a phone and an address."""
    for code, name in (("U0001", "区教育局"), ("U0002", "城关镇")):
        assert (await platform.send("profiles", "RegisterUnit", {"code": code, "name": name, "kind": "bureau"}))["ok"]
    rid = uuid.uuid4()
    reply = await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": "李秀英", "id_number": ID_NUMBER, "unit": "U0001", "phone": PHONE,
        "address": ADDRESS, "retirement_date": "2020-03-01", "already_retired": True,
        "actor": staff("U0001"),
    })
    assert reply["ok"], reply
    return rid


class TestAuthorization:
    async def test_staff_of_another_unit_can_neither_read_nor_change(self, platform: RunningPlatform) -> None:
        rid = await seed(platform)
        outsider = staff("U0002")
        read = await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid), "actor": outsider})
        assert (read["ok"], read["code"]) == (False, "forbidden")
        change = await platform.send("profiles", "UpdateProfile",
                                     {"retiree_id": str(rid), "living_alone": True, "actor": outsider})
        assert (change["ok"], change["code"]) == (False, "forbidden")
        listing = await platform.query("profiles", "ListRetirees", {"unit": "U0001", "actor": outsider})
        assert (listing["ok"], listing["code"]) == (False, "forbidden")

    async def test_own_unit_staff_and_the_district_office_can(self, platform: RunningPlatform) -> None:
        rid = await seed(platform)
        own = await platform.query("profiles", "GetRetiree", {
            "retiree_id": str(rid), "actor": staff("U0001"), "reveal": ["phone"], "purpose": "节日慰问联系"})
        assert own["ok"], own
        assert own["data"]["name"] == "李秀英"
        assert own["data"]["phone"] == PHONE
        assert own["data"]["sex"] == "female"
        district = await platform.send("profiles", "UpdateProfile", {"retiree_id": str(rid), "risk_tier": "high"})
        assert district["ok"], district

    async def test_the_same_id_number_twice_names_the_existing_retiree(self, platform: RunningPlatform) -> None:
        rid = await seed(platform)
        again = await platform.send("profiles", "RegisterRetiree", {
            "retiree_id": str(uuid.uuid4()), "name": "李秀英", "id_number": ID_NUMBER, "unit": "U0002"})
        assert (again["ok"], again["code"]) == (False, "conflict")
        assert again["details"]["existing_retiree_id"] == str(rid)


class TestReadAccessRecords:
    async def test_every_plaintext_read_is_recorded_with_who_what_why_and_outcome(
        self, platform: RunningPlatform
    ) -> None:
        rid = await seed(platform)
        await platform.query("profiles", "GetRetiree", {
            "retiree_id": str(rid), "actor": staff("U0001"), "reveal": ["id_number", "address"],
            "purpose": "办理体检预约"})
        await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid), "actor": staff("U0002")})
        records = await platform.query("profiles", "ListReadAccess", {"retiree_id": str(rid)})
        assert records["ok"], records
        rows = records["data"]
        denied = rows[0]
        assert (denied["user_id"], denied["success"], denied["detail"]) == ("clerk-U0002", False, "forbidden")
        granted = rows[1]
        assert granted["user_id"] == "clerk-U0001"
        assert granted["fields"] == ["name", "id_number", "address"]
        assert granted["purpose"] == "办理体检预约"
        assert granted["success"] is True
        assert granted["at"]

    async def test_a_list_records_who_saw_whom_one_row_per_person(self, platform: RunningPlatform) -> None:
        rid = await seed(platform)
        other = uuid.uuid4()
        reply = await platform.send("profiles", "RegisterRetiree", {
            "retiree_id": str(other), "name": "周建国", "id_number": make_id_number("110105", date(1955, 6, 1), 11),
            "unit": "U0001", "retirement_date": "2015-07-01", "already_retired": True})
        assert reply["ok"], reply
        listing = await platform.query("profiles", "ListRetirees", {"unit": "U0001", "actor": staff("U0001")})
        assert sorted(i["name"] for i in listing["data"]["items"]) == ["周建国", "李秀英"]
        for person in (rid, other):
            rows = (await platform.query("profiles", "ListReadAccess", {"retiree_id": str(person)}))["data"]
            [seen] = [r for r in rows if r["purpose"] == "list"]
            assert (seen["user_id"], seen["fields"], seen["success"]) == ("clerk-U0001", ["name"], True)
            assert seen["detail"].startswith("ListRetirees U0001")
        # A page of nobody records nobody.
        empty = await platform.query("profiles", "ListRetirees", {"unit": "U0002", "actor": staff("U0002")})
        assert empty["data"]["items"] == []
        everyone = (await platform.query("profiles", "ListReadAccess", {"user": "clerk-U0002"}))["data"]
        assert everyone == []

    async def test_revealing_without_a_purpose_is_refused(self, platform: RunningPlatform) -> None:
        rid = await seed(platform)
        reply = await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid), "reveal": ["phone"]})
        assert (reply["ok"], reply["code"]) == (False, "validation")

    async def test_only_the_district_office_lists_read_access(self, platform: RunningPlatform) -> None:
        await seed(platform)
        reply = await platform.query("profiles", "ListReadAccess", {"actor": staff("U0001", role="unit_head")})
        assert (reply["ok"], reply["code"]) == (False, "forbidden")


async def bus_bytes(js: JetStreamContext) -> bytes:
    sub = await js.pull_subscribe(subjects.events_of_service("profiles"), durable=f"scan-{uuid.uuid4().hex[:6]}")
    msgs = await sub.fetch(100, timeout=5)
    return b"\n".join(m.data for m in msgs)


class TestErasure:
    async def test_after_erasure_the_data_is_unreadable_everywhere_and_history_still_loads(
        self, platform: RunningPlatform, js: JetStreamContext, database_url: str, nats_server: EmbeddedNats
    ) -> None:
        rid = await seed(platform)
        await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2026-10-01", "diagnosis": "肺炎"})
        # On the bus and in the store, the sensitive values are ciphertext even before erasure.
        await asyncio.sleep(0.5)
        raw_bus = await bus_bytes(js)
        assert b"RetireeRegistered" in raw_bus
        for secret in (PHONE, ADDRESS, ID_NUMBER, "区人民医院", "肺炎", "李秀英"):
            assert secret.encode() not in raw_bus, secret
        erased = await platform.send("profiles", "ErasePersonalData", {"retiree_id": str(rid), "reason": "本人申请"})
        assert erased["ok"], erased

        result = await platform.query("profiles", "GetRetiree", {
            "retiree_id": str(rid), "reveal": ["phone", "id_number", "hospital"], "purpose": "核查"})
        assert result["ok"], result
        data = result["data"]
        assert data["name"] == data["phone"] == data["id_number"] == data["hospital"] == "[已删除]"
        assert data["erased"] is True

        conn = await asyncpg.connect(database_url)
        try:
            assert await conn.fetchval(
                "SELECT wrapped_key FROM profiles.person_keys WHERE person_id = $1", str(rid)) is None
            events = await conn.fetch("SELECT type, convert_from(envelope, 'UTF8') AS j FROM profiles.events "
                                      "WHERE stream_id = $1 ORDER BY version", f"retiree-{rid}")
            assert [e["type"] for e in events] == ["RetireeRegistered", "MemberHospitalized", "PersonalDataErased"]
            stored = json.loads(events[0]["j"])["data"]
            assert stored["phone"].startswith("wqenc:v1:")  # still ciphertext, now without any key
            from backbone.chain import verify  # noqa: PLC0415

            assert (await verify(conn, "profiles")).ok
        finally:
            await conn.close()
        again = await platform.send("profiles", "UpdateProfile", {"retiree_id": str(rid), "living_alone": True})
        assert (again["ok"], again["code"]) == (False, "conflict")
        # The ID number is free again: the blind index row went with the key.
        fresh = await platform.send("profiles", "RegisterRetiree", {
            "retiree_id": str(uuid.uuid4()), "name": "李秀英", "id_number": ID_NUMBER, "unit": "U0001"})
        assert fresh["ok"], fresh


class TestQueries:
    async def _people(self, platform: RunningPlatform) -> dict[str, uuid.UUID]:
        await seed(platform)
        people: dict[str, uuid.UUID] = {}
        specs: list[tuple[str, date, dict[str, Any]]] = [
            ("王大明", date(1945, 6, 1), {"party_joined_on": "1968-07-01"}),
            ("赵小红", date(1958, 1, 20), {}),
            ("钱老三", date(1950, 9, 9), {}),
        ]
        for i, (name, born, extra) in enumerate(specs):
            rid = uuid.uuid4()
            r = await platform.send("profiles", "RegisterRetiree", {
                "retiree_id": str(rid), "name": name, "id_number": make_id_number("110105", born, 31 + i * 2),
                "unit": "U0001", "retirement_date": "2018-01-01", "already_retired": True, **extra})
            assert r["ok"], r
            people[name] = rid
        await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(people["钱老三"]), "hospital": "区医院", "admitted_on": "2026-11-01"})
        await platform.send("profiles", "JoinTalentPool", {
            "retiree_id": str(people["赵小红"]), "skills": ["书法", "摄影"], "domains": ["文化"]})
        await platform.send("profiles", "UpdateProfile", {"retiree_id": str(people["王大明"]), "risk_tier": "high"})
        return people

    async def list_names(self, platform: RunningPlatform, **filters: Any) -> list[str]:
        reply = await platform.query("profiles", "ListRetirees", {"unit": "U0001", **filters})
        assert reply["ok"], reply
        return sorted(item["name"] for item in reply["data"]["items"])

    async def test_filters(self, platform: RunningPlatform) -> None:
        await self._people(platform)
        assert await self.list_names(platform, party_member=True) == ["王大明"]
        assert await self.list_names(platform, hospitalized=True) == ["钱老三"]
        assert await self.list_names(platform, talent_skill="书法") == ["赵小红"]
        assert await self.list_names(platform, risk_tier="high") == ["王大明"]
        assert await self.list_names(platform, min_age=80) == ["王大明"]
        assert await self.list_names(platform, min_age=60, max_age=70) == ["李秀英", "赵小红"]

    async def test_counts_per_unit(self, platform: RunningPlatform) -> None:
        await self._people(platform)
        reply = await platform.query("profiles", "CountRetireesPerUnit", {})
        by_unit = {r["unit"]: r for r in reply["data"]}
        assert by_unit["U0001"]["retired"] == 4  # noqa: PLR2004
        assert by_unit["U0001"]["party_members"] == 1
        assert by_unit["U0001"]["hospitalized"] == 1
        assert by_unit["U0002"]["retired"] == 0
        own = await platform.query("profiles", "CountRetireesPerUnit", {"actor": staff("U0002")})
        assert [r["unit"] for r in own["data"]] == ["U0002"]


@pytest.mark.parametrize("field", ["phone", "address"])
async def test_sealed_fields_in_the_read_model_are_ciphertext(
    platform: RunningPlatform, database_url: str, field: str
) -> None:
    rid = await seed(platform)
    conn = await asyncpg.connect(database_url)
    try:
        value = await conn.fetchval(f"SELECT sealed_{field} FROM profiles.retirees WHERE retiree_id = $1", rid)
    finally:
        await conn.close()
    assert value.startswith("wqenc:v1:")


class TestPartyMembersWithoutAJoinDate:
    async def test_an_imported_member_without_a_date_is_a_member_everywhere_but_gets_no_political_birthday(
        self, platform: RunningPlatform,
    ) -> None:
        await seed(platform)
        rid = uuid.uuid4()
        row = {"row": 3, "retiree_id": str(rid), "name": "王党员", "retirement_date": "2010-07-01",
               "id_number": make_id_number("110105", date(1950, 7, 1), 13), "party_member": True}
        reply = await platform.send("profiles", "ImportRoster", {"unit": "U0001", "source": "名册.xlsx", "rows": [row]})
        assert reply["ok"], reply
        archive = await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid)})
        assert (archive["data"]["party_member"], archive["data"]["party_joined_on"]) == (True, None)

        async def care_knows() -> dict[str, Any] | None:
            facts = await platform.query("care", "GetRetireeFacts", {"retiree_id": str(rid)})
            return facts["data"] if facts["ok"] and facts["data"]["party_member"] else None
        facts = await platform.eventually(care_knows)
        assert facts is not None, "care never learned that the person is a party member"
        assert facts["party_joined_on"] is None
        launched = await platform.send("care", "LaunchCampaign", {
            "campaign_id": str(uuid.uuid4()), "festival": "custom", "title": "七一走访老党员", "year": 2099,
            "due_on": "2099-07-01", "scope": {"units": ["U0001"], "party_members_only": True}})
        assert launched["summary"]["tasks"] == 1  # the member is reached
