"""The trust boundary on real services: who acts is what a valid credential says, and nothing else.

Each refusal is `forbidden` (or `validation` for a body naming an actor), appends nothing, and a turned-away
request is written to the service's security log with who (if anyone was proven) and why.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from backbone import metrics
from backbone.credentials import HEADER, Signer, load_signing_key
from contracts.base import Actor, Role
from contracts.id_number import make_id_number
from tests.services_harness import RunningPlatform, profiles_and_care
from wanqing.embedded import EmbeddedNats

CLERK_U1 = {"user": "clerk-U0001", "role": "unit_staff", "unit": "U0001"}
CLERK_U2 = {"user": "clerk-U0002", "role": "unit_staff", "unit": "U0002"}
FORGED_OFFICE = {"user": "nobody", "role": "district_office", "unit": "DISTRICT"}


@pytest.fixture
async def platform(nats_server: EmbeddedNats, js: JetStreamContext, database_url: str,
                   ) -> AsyncIterator[RunningPlatform]:
    async with profiles_and_care(nats_server.url, database_url) as running:
        yield running


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def events(database_url: str) -> int:
    return len(await fetch(database_url, "SELECT 1 FROM profiles.events"))


async def security_log(database_url: str) -> list[asyncpg.Record]:
    return await fetch(database_url, "SELECT * FROM profiles.security_log ORDER BY entry_id")


async def a_retiree_of_u0001(platform: RunningPlatform) -> uuid.UUID:
    rid = uuid.uuid4()
    for code in ("U0001", "U0002"):
        assert (await platform.send("profiles", "RegisterUnit", {"code": code, "name": f"单位{code}",
                                                                  "kind": "bureau"}))["ok"]
    assert (await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": "李秀英", "id_number": make_id_number("110105", date(1950, 3, 2), 21),
        "unit": "U0001", "phone": "13800000001"}))["ok"]
    return rid


def unit_body() -> bytes:
    return json.dumps({"command_id": str(uuid.uuid4()), "code": "U0099", "name": "伪造单位",
                       "kind": "bureau"}).encode()


class TestWithoutAValidCredential:
    async def test_no_credential_is_forbidden_nothing_is_recorded_and_it_is_logged(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        reply = await platform.send_raw("profiles", "RegisterUnit", unit_body(), headers={})
        assert (reply["ok"], reply["code"]) == (False, "forbidden")
        assert "请先登录" in reply["message"]
        assert await events(database_url) == 0
        [entry] = await security_log(database_url)
        assert (entry["kind"], entry["name"], entry["principal"]) == ("command", "RegisterUnit", None)
        assert "no credential" in entry["reason"]

    async def test_an_expired_credential_is_forbidden(self, platform: RunningPlatform, database_url: str) -> None:
        old = platform.ops.mint(Actor.model_validate(FORGED_OFFICE), now=datetime.now(UTC) - timedelta(hours=1))
        reply = await platform.send_raw("profiles", "RegisterUnit", unit_body(), headers={HEADER: old})
        assert (reply["code"], reply["message"]) == ("forbidden", "登录已过期，请重新登录")
        assert await events(database_url) == 0
        assert "expired" in (await security_log(database_url))[-1]["reason"]

    async def test_a_tampered_credential_is_forbidden(self, platform: RunningPlatform, database_url: str) -> None:
        token = platform.ops.mint(Actor.model_validate(CLERK_U1))
        head, claims, signature = token.split(".")
        tampered = f"{head}.{claims}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
        reply = await platform.send_raw("profiles", "RegisterUnit", unit_body(), headers={HEADER: tampered})
        assert reply["code"] == "forbidden"
        assert await events(database_url) == 0

    async def test_a_service_key_cannot_make_a_district_office(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        """Care's own key (which every care process holds) vouches for care only, never for a person."""
        care = Signer("care", load_signing_key(platform.secrets.signing_key("care")))
        reply = await platform.send_raw("profiles", "RegisterUnit", unit_body(),
                                        headers={HEADER: care.mint(Actor.model_validate(FORGED_OFFICE))})
        assert reply["code"] == "forbidden"
        assert await events(database_url) == 0
        assert "may not vouch" in (await security_log(database_url))[-1]["reason"]

    async def test_reading_a_retiree_needs_a_credential_too(self, platform: RunningPlatform, database_url: str,
                                                            ) -> None:
        rid = await a_retiree_of_u0001(platform)
        body = json.dumps({"retiree_id": str(rid), "reveal": ["id_number", "phone"], "purpose": "核对"}).encode()
        reply = await platform.query_raw("profiles", "GetRetiree", body, headers={})
        assert reply["code"] == "forbidden"
        assert await fetch(database_url, "SELECT 1 FROM profiles.read_access") == []  # nobody read anything
        assert (await security_log(database_url))[-1]["kind"] == "query"


class TestTheBodyDoesNotSayWhoActs:
    async def test_an_actor_in_the_body_is_refused_whatever_the_credential(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        body = json.dumps({"command_id": str(uuid.uuid4()), "actor": FORGED_OFFICE, "code": "U0099",
                           "name": "伪造单位", "kind": "bureau"}).encode()
        for headers in ({}, platform.credential(CLERK_U1), platform.credential()):
            reply = await platform.send_raw("profiles", "RegisterUnit", body, headers=headers)
            assert reply["ok"] is False
            assert reply["code"] in {"forbidden", "validation"}
        with_credential = await platform.send_raw("profiles", "RegisterUnit", body, headers=platform.credential())
        assert (with_credential["code"], with_credential["details"]["field"]) == ("validation", "actor")
        assert "办理人以登录凭证为准" in with_credential["message"]
        assert await events(database_url) == 0

    async def test_the_read_access_log_names_the_proven_reader(self, platform: RunningPlatform,
                                                               database_url: str) -> None:
        rid = await a_retiree_of_u0001(platform)
        reply = await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid), "reveal": ["phone"],
                                                                "purpose": "节日慰问联系", "actor": CLERK_U1})
        assert reply["ok"], reply
        readers = [r["user_id"] for r in await fetch(database_url, "SELECT * FROM profiles.read_access")]
        assert readers == ["clerk-U0001"]


class TestOnlyOwnRights:
    async def test_a_clerk_of_another_unit_is_forbidden_and_logged(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        rid = await a_retiree_of_u0001(platform)
        before = await events(database_url)
        reply = await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2026-11-30", "actor": CLERK_U2})
        assert (reply["ok"], reply["code"]) == (False, "forbidden")
        assert await events(database_url) == before
        entry = (await security_log(database_url))[-1]
        assert (entry["principal"], entry["role"], entry["unit"], entry["name"]) == (
            "clerk-U0002", "unit_staff", "U0002", "RecordHospitalization")
        own = await platform.send("profiles", "RecordHospitalization", {
            "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": "2026-11-30", "actor": CLERK_U1})
        assert own["ok"], own  # the same request from the retiree's own unit is accepted

    async def test_a_clerk_cannot_register_units_or_district_staff(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        unit = await platform.send("profiles", "RegisterUnit", {"code": "U0099", "name": "伪造单位", "kind": "bureau",
                                                                "actor": CLERK_U1})
        staff = await platform.send("profiles", "RegisterStaff", {"user": "mole", "name": "某人",
                                                                  "role": Role.DISTRICT_OFFICE.value,
                                                                  "unit": "DISTRICT", "actor": CLERK_U1})
        assert (unit["code"], staff["code"]) == ("forbidden", "forbidden")
        assert await events(database_url) == 0


class TestInputLimits:
    async def test_deep_nesting_is_a_validation_error_not_silence(self, platform: RunningPlatform) -> None:
        reply = await platform.send_raw("profiles", "RegisterUnit", b"[" * 100_000 + b"]" * 100_000)
        assert (reply["ok"], reply["code"]) == (False, "validation")
        nested = json.dumps({"command_id": str(uuid.uuid4()), "code": "U1", "name": "x", "kind": "bureau",
                             "extra": json.loads("[" * 40 + "]" * 40)}).encode()
        assert (await platform.send_raw("profiles", "RegisterUnit", nested))["code"] == "validation"

    async def test_a_nul_character_is_a_validation_error_naming_the_field(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        reply = await platform.send("profiles", "RegisterUnit", {"code": "U0003", "name": "区\u0000教育局",
                                                                 "kind": "bureau"})
        assert (reply["code"], reply["details"]["field"]) == ("validation", "name")
        assert "空字符" in reply["message"]
        assert await events(database_url) == 0

    async def test_thousands_of_made_up_commands_share_one_metrics_label(self, platform: RunningPlatform) -> None:
        async def made_up(i: int) -> dict[str, Any]:
            return await platform.send_raw("profiles", f"Fake{i}", b"{}")

        for start in range(0, 3000, 300):
            replies = await asyncio.gather(*(made_up(i) for i in range(start, start + 300)))
            assert all(r["code"] == "validation" for r in replies)
        labels = {s.labels["command"] for s in metrics.COMMANDS.collect()[0].samples
                  if s.labels.get("service") == "profiles"}
        assert not any(label.startswith("Fake") for label in labels)
        assert "(unknown)" in labels
