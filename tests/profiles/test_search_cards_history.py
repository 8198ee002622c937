"""SearchRetirees, GetRetireeCards and GetRetireeHistory through the running profiles service (real NATS and
Postgres): who may find and read whom, the index that holds no plaintext, erasure, the backfill at start.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest

from backbone import service
from backbone.crypto import Keyring, parse_master_key
from backbone.db import create_pool
from contracts.id_number import make_id_number
from services.profiles import app as profiles_app
from services.profiles.search_index import SearchIndex
from tests.services_harness import RunningPlatform

ZHANG_ID = make_id_number("110105", date(1955, 3, 12), 37)
ZHANG_PHONE = "139 0123 4567"
WANG_ID = make_id_number("110106", date(1957, 8, 1), 42)
CLERK_A = {"user": "clerk-U0001", "role": "unit_staff", "unit": "U0001"}
HEAD_A = {"user": "head-U0001", "role": "unit_head", "unit": "U0001"}
CLERK_B = {"user": "clerk-U0002", "role": "unit_staff", "unit": "U0002"}


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def register(platform: RunningPlatform, name: str, id_number: str, unit: str, actor: dict[str, str],
                   **extra: Any) -> uuid.UUID:
    rid = uuid.uuid4()
    reply = await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": name, "id_number": id_number, "unit": unit, "actor": actor, **extra})
    assert reply["ok"], reply
    return rid


async def seed(platform: RunningPlatform) -> dict[str, uuid.UUID]:
    """U0001: 张建国 (ID number, phone), 李建国, 建国; U0002: 王建华."""
    for code, name in (("U0001", "区教育局"), ("U0002", "城关镇")):
        assert (await platform.send("profiles", "RegisterUnit", {"code": code, "name": name, "kind": "bureau"}))["ok"]
    return {
        "张建国": await register(platform, "张建国", ZHANG_ID, "U0001", CLERK_A, phone=ZHANG_PHONE,
                              address="朝阳区幸福路8号"),
        "李建国": await register(platform, "李建国", make_id_number("110105", date(1950, 1, 2), 11), "U0001", CLERK_A),
        "建国": await register(platform, "建国", make_id_number("110105", date(1952, 5, 6), 13), "U0001", CLERK_A),
        "王建华": await register(platform, "王建华", WANG_ID, "U0002", CLERK_B, phone="13700001111"),
    }


async def search(platform: RunningPlatform, text: str, actor: dict[str, str] | None = None,
                 **extra: Any) -> list[dict[str, Any]]:
    reply = await platform.query("profiles", "SearchRetirees", {"text": text, **extra,
                                                                **({"actor": actor} if actor else {})})
    assert reply["ok"], reply
    return list(reply["data"])


def names(found: list[dict[str, Any]]) -> list[str]:
    return [f["name"] for f in found]


async def security_log(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM profiles.security_log ORDER BY entry_id"))


class TestSearch:
    async def test_by_full_name_a_part_of_it_the_id_number_its_tail_the_phone_and_its_tail(
        self, platform: RunningPlatform,
    ) -> None:
        people = await seed(platform)
        zhang = str(people["张建国"])
        full = await search(platform, "张建国")
        assert [(f["retiree_id"], f["name"], f["matched"], f["unit"], f["status"], f["erased"]) for f in full] == [
            (zhang, "张建国", "name", "U0001", "planned", False)]
        assert names(await search(platform, " 张 建国 ")) == ["张建国"]
        for text, matched in ((ZHANG_ID, "id_number"), (ZHANG_ID[-6:], "id_number_tail"),
                              ("13901234567", "phone"), ("+86 139-0123-4567", "phone"), ("4567", "phone_tail")):
            found = await search(platform, text)
            assert [(f["retiree_id"], f["matched"]) for f in found] == [(zhang, matched)], text

    async def test_a_bigram_finds_every_name_containing_it_the_whole_name_first(
        self, platform: RunningPlatform,
    ) -> None:
        await seed(platform)
        found = await search(platform, "建国")
        assert (found[0]["name"], found[0]["matched"]) == ("建国", "name")
        assert sorted(names(found)[1:]) == ["张建国", "李建国"]
        assert {f["matched"] for f in found[1:]} == {"name_part"}
        assert names(await search(platform, "建华")) == ["王建华"]

    async def test_a_longer_text_needs_all_its_bigrams(self, platform: RunningPlatform) -> None:
        await seed(platform)
        assert await search(platform, "张建华") == []  # 张建 is 张建国's, 建华 王建华's: neither has both
        assert await search(platform, "王二小") == []

    async def test_limit_and_unit(self, platform: RunningPlatform) -> None:
        await seed(platform)
        assert len(await search(platform, "建国", limit=2)) == 2  # noqa: PLR2004
        assert await search(platform, "建华", unit="U0001") == []
        assert names(await search(platform, "建华", unit="U0002")) == ["王建华"]
        assert names(await search(platform, "建国", HEAD_A, unit="U0001"))[0] == "建国"

    async def test_a_text_that_can_match_nothing_is_refused(self, platform: RunningPlatform) -> None:
        await seed(platform)
        for text in ("张", "123"):
            reply = await platform.query("profiles", "SearchRetirees", {"text": text})
            assert (reply["ok"], reply["code"], reply["details"]["field"]) == (False, "validation", "text")

    async def test_found_names_are_recorded_as_read_with_the_purpose(
        self, platform: RunningPlatform, db: asyncpg.Connection,
    ) -> None:
        people = await seed(platform)
        await search(platform, "建国", CLERK_A, purpose="电话回访")
        rows = await db.fetch("SELECT * FROM profiles.read_access WHERE detail = 'search' ORDER BY access_id")
        assert sorted(r["retiree_id"] for r in rows) == sorted(people[n] for n in ("张建国", "李建国", "建国"))
        assert {(r["user_id"], tuple(r["fields"]), r["purpose"], r["success"]) for r in rows} == {
            ("clerk-U0001", ("name",), "电话回访", True)}
        await search(platform, ZHANG_ID[-6:], CLERK_A)
        last = await db.fetchrow("SELECT * FROM profiles.read_access ORDER BY access_id DESC LIMIT 1")
        assert (last["retiree_id"], last["purpose"]) == (people["张建国"], "查找人员")


class TestWhoFindsWhom:
    async def test_a_clerk_finds_only_people_of_their_own_unit(self, platform: RunningPlatform) -> None:
        people = await seed(platform)
        assert await search(platform, "王建华", CLERK_A) == []
        assert await search(platform, WANG_ID, CLERK_A) == []
        assert await search(platform, "1111", CLERK_A) == []
        assert sorted(names(await search(platform, "建国", HEAD_A))) == ["建国", "张建国", "李建国"]
        assert await search(platform, "建国", CLERK_B) == []
        assert [f["retiree_id"] for f in await search(platform, WANG_ID, CLERK_B)] == [str(people["王建华"])]
        assert names(await search(platform, "建华")) == ["王建华"]  # the district office finds everyone

    async def test_searching_another_unit_is_forbidden_and_logged(
        self, platform: RunningPlatform, db: asyncpg.Connection,
    ) -> None:
        await seed(platform)
        reply = await platform.query("profiles", "SearchRetirees",
                                     {"text": "王建华", "unit": "U0002", "actor": CLERK_A})
        assert (reply["ok"], reply["code"]) == (False, "forbidden")
        assert "无权" in reply["message"]
        entry = (await security_log(db))[-1]
        assert (entry["kind"], entry["name"], entry["principal"], entry["role"], entry["unit"]) == (
            "query", "SearchRetirees", "clerk-U0001", "unit_staff", "U0001")
        assert "U0002" in entry["reason"]
        assert "王建华" not in entry["reason"]  # the search text is never logged


class TestIndexAtRest:
    async def test_the_index_holds_no_plaintext(self, platform: RunningPlatform, db: asyncpg.Connection) -> None:
        people = await seed(platform)
        rows = await db.fetch("SELECT term_hash, kind, retiree_id, s::text AS t FROM profiles.search_index s")
        zhang = [r for r in rows if r["retiree_id"] == people["张建国"]]
        assert sorted(r["kind"] for r in zhang) == sorted(
            ["name", "name_bigram", "name_bigram", "id_number", "id_tail", "phone", "phone_tail"])
        raw = b"".join(bytes(r["term_hash"]) + r["kind"].encode() + r["retiree_id"].bytes for r in rows)
        text = "\n".join(r["t"] for r in rows)
        secrets = ["张建国", "张建", "建国", "李建国", "王建华", "建华", ZHANG_ID, ZHANG_ID[-6:], WANG_ID,
                   "13901234567", "13700001111"]
        for secret in secrets:
            for encoded in (secret.encode("utf-8"), secret.encode("utf-16-le"), secret.encode("gb18030")):
                assert encoded not in raw, secret
            assert secret not in text, secret
        for tail in ("4567", "1111"):  # 4 digits: in the raw bytes only (a hex text has every short run)
            assert tail.encode() not in raw, tail

    async def test_a_new_phone_replaces_the_old_one(self, platform: RunningPlatform) -> None:
        people = await seed(platform)
        reply = await platform.send("profiles", "UpdateProfile", {"retiree_id": str(people["张建国"]),
                                                                  "phone": "13612345678", "actor": CLERK_A})
        assert reply["ok"], reply
        assert await search(platform, "13901234567") == []
        assert await search(platform, "4567") == []
        assert names(await search(platform, "5678")) == ["张建国"]
        assert names(await search(platform, "张建国")) == ["张建国"]  # the name terms stay

    async def test_after_erasure_the_persons_rows_are_gone_and_nothing_finds_them(
        self, platform: RunningPlatform, db: asyncpg.Connection,
    ) -> None:
        people = await seed(platform)
        zhang = people["张建国"]
        erased = await platform.send("profiles", "ErasePersonalData", {"retiree_id": str(zhang), "reason": "本人申请"})
        assert erased["ok"], erased
        assert await db.fetchval("SELECT count(*) FROM profiles.search_index WHERE retiree_id = $1", zhang) == 0
        assert await db.fetchval("SELECT count(*) FROM profiles.search_index") > 0  # the others' stay
        for text in ("张建国", ZHANG_ID, ZHANG_ID[-6:], "13901234567", "4567"):
            assert await search(platform, text) == [], text
        assert sorted(names(await search(platform, "建国"))) == ["建国", "李建国"]


class TestBackfill:
    async def test_the_backfill_indexes_a_person_without_rows_once_and_never_an_erased_one(
        self, platform: RunningPlatform, db: asyncpg.Connection, database_url: str,
    ) -> None:
        people = await seed(platform)
        assert (await platform.send("profiles", "ErasePersonalData",
                                    {"retiree_id": str(people["李建国"]), "reason": "家属申请"}))["ok"]
        await db.execute("DELETE FROM profiles.search_index WHERE retiree_id = $1", people["张建国"])
        # phone rows only (a phone changed before the person was indexed): still to be indexed
        await db.execute("DELETE FROM profiles.search_index WHERE retiree_id = $1 AND kind NOT LIKE 'phone%'",
                         people["王建华"])
        assert await search(platform, "张建国") == []
        assert await search(platform, "王建华") == []
        assert platform.settings.master_key is not None
        keyring = Keyring("profiles", parse_master_key(platform.settings.master_key.get_secret_value()))
        pool = await create_pool(database_url, max_size=2)
        try:
            index = SearchIndex(keyring)
            assert await index.backfill(pool, batch=1) == 2  # noqa: PLR2004
            assert await index.backfill(pool) == 0  # idempotent
        finally:
            await pool.close()
        assert await db.fetchval("SELECT count(*) FROM profiles.search_index WHERE retiree_id = $1",
                                 people["李建国"]) == 0
        for text in ("张建国", ZHANG_ID, "4567"):
            assert names(await search(platform, text)) == ["张建国"], text
        assert names(await search(platform, WANG_ID)) == ["王建华"]
        assert await db.fetchval("SELECT count(*) FROM profiles.search_index WHERE retiree_id = $1",
                                 people["王建华"]) == 7  # noqa: PLR2004 - name, 2 bigrams, ID and tail, phone and tail

    async def test_profiles_indexes_unindexed_people_when_it_starts(
        self, platform: RunningPlatform, db: asyncpg.Connection,
    ) -> None:
        people = await seed(platform)
        await db.execute("DELETE FROM profiles.search_index WHERE retiree_id = ANY($1::uuid[])",
                         [people["张建国"], people["王建华"]])
        stop = asyncio.Event()
        replica = asyncio.create_task(service.run(  # a second profiles process starting on the same database
            profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, settings=platform.settings_of("profiles"),
            stop=stop, uses_personal_data=True))

        async def indexed() -> bool:
            if replica.done():
                replica.result()
            return await db.fetchval("SELECT count(DISTINCT retiree_id) FROM profiles.search_index") == 4  # noqa: PLR2004

        try:
            assert await platform.eventually(indexed, seconds=20)
        finally:
            stop.set()
            await replica
        assert names(await search(platform, "王建华")) == ["王建华"]


class TestCards:
    async def test_cards_of_three_people_in_the_order_asked_with_three_reads_recorded(
        self, platform: RunningPlatform, db: asyncpg.Connection,
    ) -> None:
        people = await seed(platform)
        asked = [people["建国"], uuid.uuid4(), people["张建国"], people["李建国"], people["建国"]]
        reply = await platform.query("profiles", "GetRetireeCards", {
            "retiree_ids": [str(i) for i in asked], "purpose": "任务列表显示姓名", "actor": CLERK_A})
        assert reply["ok"], reply
        assert [(c["name"], c["unit"], c["status"], c["erased"]) for c in reply["data"]] == [
            ("建国", "U0001", "planned", False), ("张建国", "U0001", "planned", False),
            ("李建国", "U0001", "planned", False)]
        assert all(c["phone"] is None for c in reply["data"])  # names only
        rows = await db.fetch("SELECT * FROM profiles.read_access ORDER BY access_id")
        assert [r["retiree_id"] for r in rows] == [people["建国"], people["张建国"], people["李建国"]]
        assert {(r["user_id"], tuple(r["fields"]), r["purpose"], r["success"]) for r in rows} == {
            ("clerk-U0001", ("name",), "任务列表显示姓名", True)}

    async def test_a_person_of_another_unit_refuses_the_whole_request_and_is_logged(
        self, platform: RunningPlatform, db: asyncpg.Connection,
    ) -> None:
        people = await seed(platform)
        reply = await platform.query("profiles", "GetRetireeCards", {
            "retiree_ids": [str(people["张建国"]), str(people["王建华"])], "purpose": "任务列表", "actor": CLERK_A})
        assert (reply["ok"], reply["code"]) == (False, "forbidden")
        assert "王建华" not in json.dumps(reply, ensure_ascii=False)
        assert "张建国" not in json.dumps(reply, ensure_ascii=False)
        entry = (await security_log(db))[-1]
        assert (entry["name"], entry["principal"], entry["unit"]) == ("GetRetireeCards", "clerk-U0001", "U0001")
        assert str(people["王建华"]) in entry["reason"]
        [refused] = await db.fetch("SELECT * FROM profiles.read_access")  # nothing was opened
        assert (refused["retiree_id"], refused["success"], refused["detail"], refused["purpose"]) == (
            people["王建华"], False, "forbidden", "任务列表")

    async def test_an_erased_persons_card_says_so(self, platform: RunningPlatform) -> None:
        people = await seed(platform)
        assert (await platform.send("profiles", "ErasePersonalData",
                                    {"retiree_id": str(people["张建国"]), "reason": "本人申请"}))["ok"]
        reply = await platform.query("profiles", "GetRetireeCards", {
            "retiree_ids": [str(people["张建国"])], "purpose": "核对"})
        assert [(c["erased"], c["name"]) for c in reply["data"]] == [(True, "[已删除]")]

    async def test_a_purpose_and_at_most_200_ids_are_required(self, platform: RunningPlatform) -> None:
        no_purpose = await platform.query("profiles", "GetRetireeCards", {"retiree_ids": [str(uuid.uuid4())]})
        too_many = await platform.query("profiles", "GetRetireeCards", {
            "retiree_ids": [str(uuid.uuid4()) for _ in range(201)], "purpose": "x"})
        assert (no_purpose["code"], too_many["code"]) == ("validation", "validation")


class TestHistory:
    async def _approved(self, platform: RunningPlatform) -> dict[str, uuid.UUID]:
        people = await seed(platform)
        reply = await platform.send("profiles", "ApproveRetirement", {
            "retiree_id": str(people["张建国"]), "unit": "U0001", "document_number": "教人〔2026〕48号",
            "approved_on": "2026-11-20", "retirement_date": "2026-12-31", "category": "cadre", "actor": HEAD_A})
        assert reply["ok"], reply
        return people

    async def test_registration_then_approval_with_who_recorded_them_and_no_sealed_value(
        self, platform: RunningPlatform,
    ) -> None:
        people = await self._approved(platform)
        reply = await platform.query("profiles", "GetRetireeHistory",
                                     {"retiree_id": str(people["张建国"]), "actor": CLERK_A})
        assert reply["ok"], reply
        history = reply["data"]
        assert history["total"] == 2  # noqa: PLR2004
        registered, approved = history["items"]
        assert [(i["version"], i["type"]) for i in history["items"]] == [
            (1, "RetireeRegistered"), (2, "RetirementApproved")]
        assert registered["position"] < approved["position"]
        assert registered["recorded_by"] == CLERK_A
        assert approved["recorded_by"] == HEAD_A
        assert registered["occurred_at"].endswith("+08:00") and registered["recorded_at"]
        assert "birth_date" not in registered["data"]  # sealed for care (backbone/facts.py), like the name
        assert registered["data"]["unit"] == "U0001"
        assert approved["data"]["document_number"] == "教人〔2026〕48号"
        assert approved["data"]["approved_on"] == "2026-11-20"
        assert registered["sealed_details"] is approved["sealed_details"] is True
        assert not {"name", "id_number", "phone", "address"} & set(registered["data"])
        assert "name" not in approved["data"]
        raw = json.dumps(reply, ensure_ascii=False)
        for secret in ("张建国", ZHANG_ID, ZHANG_ID[-6:], "13901234567", ZHANG_PHONE, "朝阳区幸福路8号", "wqenc:",
                       "wqkey:", "1955-03-12"):
            assert secret not in raw, secret

    async def test_paging_and_a_plain_event(self, platform: RunningPlatform) -> None:
        people = await self._approved(platform)
        rid = str(people["张建国"])
        assert (await platform.send("profiles", "JoinInterestGroup", {"retiree_id": rid, "group": "书法组"}))["ok"]
        page = await platform.query("profiles", "GetRetireeHistory", {"retiree_id": rid, "after_version": 1,
                                                                      "limit": 1})
        assert [(i["version"], i["type"]) for i in page["data"]["items"]] == [(2, "RetirementApproved")]
        assert page["data"]["total"] == 3  # noqa: PLR2004
        last = await platform.query("profiles", "GetRetireeHistory", {"retiree_id": rid, "after_version": 2})
        [joined] = last["data"]["items"]
        assert (joined["type"], joined["data"]["group"], joined["sealed_details"]) == (
            "InterestGroupJoined", "书法组", False)
        assert joined["recorded_by"]["role"] == "district_office"

    async def test_another_unit_is_forbidden_and_logged_an_unknown_person_not_found(
        self, platform: RunningPlatform, db: asyncpg.Connection,
    ) -> None:
        people = await self._approved(platform)
        reply = await platform.query("profiles", "GetRetireeHistory",
                                     {"retiree_id": str(people["张建国"]), "actor": CLERK_B})
        assert (reply["ok"], reply["code"]) == (False, "forbidden")
        assert "无权" in reply["message"]
        entry = (await security_log(db))[-1]
        assert (entry["name"], entry["principal"], entry["unit"]) == ("GetRetireeHistory", "clerk-U0002", "U0002")
        assert str(people["张建国"]) in entry["reason"]
        unknown = await platform.query("profiles", "GetRetireeHistory", {"retiree_id": str(uuid.uuid4())})
        assert unknown["code"] == "not_found"
