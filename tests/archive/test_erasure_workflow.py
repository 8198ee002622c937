"""The erasure request workflow through the running profiles service: request → decision → erasure → 证明."""

from __future__ import annotations

import uuid

import asyncpg

from tests.archive.test_archive_service import seed, staff
from tests.services_harness import RunningPlatform


async def test_a_relatives_request_is_decided_carried_out_and_certified(platform: RunningPlatform) -> None:
    rid = await seed(platform)
    assert (await platform.send("profiles", "RecordDeath", {"retiree_id": str(rid), "died_on": "2026-11-20"}))["ok"]
    req = str(uuid.uuid4())
    requested = await platform.send("profiles", "RequestErasure", {
        "retiree_id": str(rid), "request_id": req, "requester": "close_relative", "requester_name": "王建华",
        "relation": "子女", "contact": "13900001111", "reason": "家属依法申请删除", "actor": staff("U0001")})
    assert requested["ok"], requested
    early = await platform.send("profiles", "ErasePersonalData",
                                {"retiree_id": str(rid), "reason": "依申请", "request_id": req})
    assert (early["ok"], early["code"]) == (False, "conflict")  # not approved yet
    by_clerk = await platform.send("profiles", "DecideErasure", {
        "retiree_id": str(rid), "request_id": req, "approve": True, "reason": "同意", "actor": staff("U0001")})
    assert (by_clerk["ok"], by_clerk["code"]) == (False, "forbidden")
    decided = await platform.send("profiles", "DecideErasure",
                                  {"retiree_id": str(rid), "request_id": req, "approve": True, "reason": "符合条件"})
    assert decided["ok"], decided
    erased = await platform.send("profiles", "ErasePersonalData",
                                 {"retiree_id": str(rid), "reason": "依申请", "request_id": req})
    assert erased["ok"], erased
    cert = await platform.query("profiles", "GetErasureCertificate", {"retiree_id": str(rid), "request_id": req})
    assert cert["ok"], cert
    text = cert["data"]["text"]
    assert text.startswith("删除个人信息证明")
    assert "王建华（子女）" in text
    assert "李秀英" not in text  # the erased person's name is in no certificate
    assert "未启用主密钥轮换" in text  # this platform runs on one unversioned key: no expiry to promise


async def test_care_facts_answer_only_the_persons_unit_and_every_read_is_recorded(
    platform: RunningPlatform, database_url: str,
) -> None:
    rid = await seed(platform)

    async def known() -> bool:
        return bool((await platform.query("care", "GetRetireeFacts", {"retiree_id": str(rid)}))["ok"])

    assert await platform.eventually(known)
    outsider = await platform.query("care", "GetRetireeFacts", {"retiree_id": str(rid), "actor": staff("U0002")})
    assert (outsider["ok"], outsider["code"]) == (False, "forbidden")
    own = await platform.query("care", "GetRetireeFacts", {"retiree_id": str(rid), "actor": staff("U0001")})
    assert own["ok"], own
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT user_id, actor_unit FROM care.read_access WHERE retiree_id = $1 "
                                "ORDER BY access_id", rid)
        refused = await conn.fetchval("SELECT count(*) FROM care.security_log WHERE name = 'GetRetireeFacts'")
    finally:
        await conn.close()
    assert ("clerk-U0001", "U0001") in [(r["user_id"], r["actor_unit"]) for r in rows]
    assert "clerk-U0002" not in [r["user_id"] for r in rows]
    assert refused == 1  # the refusal is in care's security log
