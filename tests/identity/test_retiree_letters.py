"""Retirees' own logins (登录码信) on real services: a unit prints a letter, the person logs in with its code and may
do exactly what concerns them: read their own archive and care contact, answer their ceremony invitation. Nothing
of anybody else, nothing of staff's; the code is nowhere at rest; five wrong codes or a death end it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from nats.js import JetStreamContext

from backbone.credentials import HEADER
from contracts import subjects
from contracts.id_number import make_id_number
from contracts.identity import letter_code_text, new_letter_code
from services.ceremony import app as ceremony_app
from services.identity import app as identity_app
from services.profiles import app as profiles_app
from tests.identity.test_identity_service import auth, sql
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats

CLERK = {"user": "clerk-U0001", "role": "unit_staff", "unit": "U0001"}
OTHER_CLERK = {"user": "clerk-U0002", "role": "unit_staff", "unit": "U0002"}


@pytest.fixture
async def platform(nats_server: EmbeddedNats, js: JetStreamContext, database_url: str,
                   ) -> AsyncIterator[RunningPlatform]:
    running = RunningPlatform(nats_server.url, database_url)
    await running.start((profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
                        (identity_app.NAME, identity_app.MIGRATIONS, identity_app.build, False),
                        (ceremony_app.NAME, ceremony_app.MIGRATIONS, ceremony_app.build, False))
    for code, name in (("U0001", "区教育局"), ("U0002", "区财政局")):
        assert (await running.send("profiles", "RegisterUnit", {"code": code, "name": name, "kind": "bureau"}))["ok"]
    assert (await running.send("profiles", "RegisterStaff", {"user": "clerk-U0001", "name": "王丽",
                                                             "role": "unit_staff", "unit": "U0001",
                                                             "phone": "010-88886666"}))["ok"]
    assert (await running.send("profiles", "SetCareContact", {"unit": "U0001", "user": "clerk-U0001"}))["ok"]
    yield running
    await running.close()


async def approved(platform: RunningPlatform, name: str, seq: int) -> str:
    rid = str(uuid.uuid4())
    reply = await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": rid, "name": name, "id_number": make_id_number("110105", date(1966, 5, 4), seq),
        "unit": "U0001", "retirement_date": "2026-11-30"})
    assert reply["ok"], reply
    reply = await platform.send("profiles", "ApproveRetirement", {
        "retiree_id": rid, "unit": "U0001", "document_number": f"区人社〔2026〕{seq}号", "approved_on": "2026-11-20",
        "retirement_date": "2026-11-30", "category": "cadre"})
    assert reply["ok"], reply
    return rid


async def issue(platform: RunningPlatform, rid: str, actor: dict[str, str]) -> tuple[dict[str, Any], str]:
    letter_id, secret = new_letter_code()
    reply = await platform.send("identity", "IssueLoginLetter", {"retiree_id": rid, "letter_id": letter_id,
                                                                 "secret": secret, "actor": actor})
    return reply, letter_code_text(letter_id, secret)


async def ask(  # noqa: PLR0913 - who asks which service what
    platform: RunningPlatform, credential: str, service: str, name: str, body: dict[str, Any],
    *, command: bool = False,
) -> dict[str, Any]:
    assert platform.nc is not None
    subject = subjects.command(service, name) if command else subjects.query(service, name)
    payload = {"command_id": str(uuid.uuid4()), **body} if command else body
    msg = await platform.nc.request(subject, json.dumps(payload).encode(), timeout=15, headers={HEADER: credential})
    return json.loads(msg.data)


async def test_a_retiree_logs_in_with_the_letter_and_reaches_only_what_is_theirs(
    platform: RunningPlatform, database_url: str,
) -> None:
    me, neighbour = await approved(platform, "赵秀英", 21), await approved(platform, "钱建华", 23)
    refused, _ = await issue(platform, me, OTHER_CLERK)  # another unit's clerk
    assert (refused["ok"], refused["code"]) == (False, "forbidden")
    issued, code = await issue(platform, me, CLERK)
    assert issued["ok"], issued
    granted = await auth(platform, "RetireeLogin", {"code": code})
    assert granted["ok"], granted
    assert granted["actor"] == {"user": f"retiree-{me}", "role": "retiree", "unit": "U0001"}
    cred = granted["credential"]

    own = await ask(platform, cred, "profiles", "GetRetiree", {"retiree_id": me})
    assert own["ok"] and own["data"]["name"] == "赵秀英"
    contact = await ask(platform, cred, "profiles", "GetCareContact", {"retiree_id": me})
    assert contact["ok"] and contact["data"]["contact_phone"] == "010-88886666"
    # Not a neighbour's archive, not staff's lists and searches, not the unit's business.
    for service, name, body in (("profiles", "GetRetiree", {"retiree_id": neighbour}),
                                ("profiles", "GetCareContact", {"retiree_id": neighbour}),
                                ("profiles", "ListRetirees", {"unit": "U0001"}),
                                ("profiles", "SearchRetirees", {"text": "钱建华"}),
                                ("profiles", "GetRetireeCards", {"retiree_ids": [neighbour], "purpose": "看看"}),
                                ("ceremony", "ListCases", {"unit": "U0001"}),
                                ("ceremony", "GetCase", {"retiree_id": neighbour})):
        reply = await ask(platform, cred, service, name, body)
        assert (reply["ok"], reply["code"]) == (False, "forbidden"), (name, reply)
    # Their own invitation: they answer it; a neighbour's, or anything of staff's, they cannot.
    case = await platform.eventually(lambda: ask(platform, cred, "ceremony", "GetCase", {"retiree_id": me}))
    assert case["ok"] and case["data"]["consent"] == "pending", case
    declined = await ask(platform, cred, "ceremony", "DeclineConsent", {"retiree_id": me, "reason": "身体不便"},
                         command=True)
    assert declined["ok"], declined
    for name, body in (("DeclineConsent", {"retiree_id": neighbour, "reason": "代签"}),
                       ("ScheduleCeremony", {"retiree_id": me, "held_on": "2026-12-20", "venue": "会议室"})):
        reply = await ask(platform, cred, "ceremony", name, body, command=True)
        assert (reply["ok"], reply["code"]) == (False, "forbidden"), (name, reply)
    staff_view = await platform.query("ceremony", "GetCase", {"retiree_id": me})
    assert staff_view["data"]["consent"] == "declined"  # the clerk sees the decline
    # A retiree may not print letters either (closed to retirees), nor is the code at rest anywhere.
    again, _ = await issue(platform, me, granted["actor"])
    assert (again["ok"], again["code"]) == (False, "forbidden")
    secret = code.split("-", 1)[1].replace("-", "")
    for table in ("identity.events", "identity.commands", "identity.login_letters", "identity.sessions"):
        rows = await sql(database_url, f"SELECT t::text AS r FROM {table} t")
        assert not [r for r in rows if secret in r["r"]], table


async def test_wrong_codes_end_the_letter_and_a_death_ends_the_session(platform: RunningPlatform) -> None:
    me = await approved(platform, "孙立新", 25)
    _, code = await issue(platform, me, CLERK)
    letter_id = code.split("-", 1)[0]
    for _ in range(5):
        wrong = await auth(platform, "RetireeLogin", {"code": f"{letter_id}-0000-0000-0000"})
        assert (wrong["ok"], wrong["code"]) == (False, "forbidden")
    assert "作废" in wrong["message"]
    ended = await auth(platform, "RetireeLogin", {"code": code})
    assert (ended["ok"], ended["code"]) == (False, "forbidden")  # the right code no longer opens it

    _, code = await issue(platform, me, CLERK)  # a new letter from the unit
    granted = await auth(platform, "RetireeLogin", {"code": code})
    assert granted["ok"], granted
    refreshed = await auth(platform, "Refresh", {"session": granted["session"]})
    assert refreshed["ok"] and refreshed["actor"]["role"] == "retiree"
    assert (await platform.send("profiles", "RecordDeath", {"retiree_id": me, "died_on": "2026-11-28"}))["ok"]

    async def refused() -> bool:
        reply = await auth(platform, "Refresh", {"session": granted["session"]})
        return not reply["ok"]
    assert await platform.eventually(refused, 15), "a deceased person's session still refreshes"
    assert not (await auth(platform, "RetireeLogin", {"code": code}))["ok"]
