"""People log in on real services: profiles (who is staff) and identity (who proves it), on NATS and Postgres.

The credential a login yields is what profiles believes; every login and failure is an event; a lockout, a
reset and a deactivation change what the person can do, within the credential's lifetime.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from backbone.credentials import HEADER
from contracts import subjects
from services.identity import app as identity_app
from services.profiles import app as profiles_app
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats

CLERK = "clerk-U0001"
TEMPORARY = "temporary-pass-2026"
CHOSEN = "my own river 2027"
LIFETIME_S = 3


@pytest.fixture
async def platform(nats_server: EmbeddedNats, js: JetStreamContext, database_url: str,
                   ) -> AsyncIterator[RunningPlatform]:
    running = RunningPlatform(nats_server.url, database_url)
    running.settings = running.settings.model_copy(update={"credential_lifetime_s": LIFETIME_S})
    await running.start((profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
                        (identity_app.NAME, identity_app.MIGRATIONS, identity_app.build, False))
    assert (await running.send("profiles", "RegisterUnit", {"code": "U0001", "name": "区教育局",
                                                            "kind": "bureau"}))["ok"]
    assert (await running.send("profiles", "RegisterStaff", {"user": CLERK, "name": "王丽", "role": "unit_staff",
                                                             "unit": "U0001"}))["ok"]
    await until_identity_knows(running, database_url, CLERK)
    yield running
    await running.close()


async def until_identity_knows(platform: RunningPlatform, database_url: str, user: str, *, active: bool = True,
                               ) -> None:
    async def probe() -> bool:
        rows = await sql(database_url, "SELECT active FROM identity.staff WHERE user_id = $1", user)
        return bool(rows) and rows[0]["active"] is active
    assert await platform.eventually(probe, 15), f"identity never learned that {user} is active={active}"


async def sql(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def auth(platform: RunningPlatform, name: str, body: dict[str, Any]) -> dict[str, Any]:
    assert platform.nc is not None
    msg = await platform.nc.request(subjects.auth(name), json.dumps(body).encode(), timeout=15)
    return json.loads(msg.data)


async def login(platform: RunningPlatform, password: str, user: str = CLERK) -> dict[str, Any]:
    return await auth(platform, "Login", {"user": user, "password": password})


async def as_person(platform: RunningPlatform, credential: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return await platform.query_raw("profiles", name, json.dumps(body).encode(), headers={HEADER: credential})


async def account_events(database_url: str, user: str = CLERK) -> list[str]:
    rows = await sql(database_url, "SELECT type FROM identity.events WHERE stream_id = $1 ORDER BY version",
                     f"account-{user}")
    return [r["type"] for r in rows]


async def set_temporary_password(platform: RunningPlatform) -> None:
    reply = await platform.send("identity", "SetPassword", {"user": CLERK, "password": TEMPORARY})
    assert reply["ok"], reply


class TestLoggingIn:
    async def test_a_temporary_password_must_be_changed_then_the_credential_is_believed(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        await set_temporary_password(platform)
        first = await login(platform, TEMPORARY)
        assert (first["ok"], first["details"]["reason"]) == (False, "must_change_password")
        assert "修改密码" in first["message"]
        weak = await auth(platform, "ChangePassword", {"user": CLERK, "old_password": TEMPORARY,
                                                       "new_password": "short1"})
        assert (weak["code"], weak["details"]["field"]) == ("validation", "new_password")
        changed = await auth(platform, "ChangePassword", {"user": CLERK, "old_password": TEMPORARY,
                                                          "new_password": CHOSEN})
        assert changed["ok"], changed
        assert not (await login(platform, TEMPORARY))["ok"]  # the old password no longer opens anything
        session = await login(platform, CHOSEN)
        assert session["ok"], session
        assert session["actor"] == {"user": CLERK, "role": "unit_staff", "unit": "U0001"}
        mine = await as_person(platform, session["credential"], "ListRetirees", {"unit": "U0001"})
        assert mine["ok"], mine
        other = await as_person(platform, session["credential"], "ListRetirees", {"unit": "U0002"})
        assert other["code"] == "forbidden"  # the credential proves a clerk of U0001, nothing more
        assert await account_events(database_url) == ["PasswordSet", "LoginSucceeded", "PasswordChanged",
                                                      "LoginFailed", "LoginSucceeded"]
        stored = await sql(database_url, "SELECT hash FROM identity.passwords WHERE user_id = $1", CLERK)
        assert stored[0]["hash"].startswith("$argon2id$")
        rows = await sql(database_url, "SELECT envelope FROM identity.events")
        everything = "".join(str(r["envelope"]) for r in rows)
        assert CHOSEN not in everything and TEMPORARY not in everything and "$argon2" not in everything

    async def test_unknown_users_and_wrong_passwords_get_the_same_answer(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        await set_temporary_password(platform)
        nobody = await login(platform, "whatever-2026", user="nobody")
        wrong = await login(platform, "wrong-pass-2026")
        assert nobody["message"] == wrong["message"] == "用户名或密码错误"
        unknown = await sql(database_url, "SELECT envelope FROM identity.events WHERE stream_id = 'account-unknown'")
        assert len(unknown) == 1  # a failure naming nobody is recorded too, on one shared stream

    async def test_five_wrong_passwords_lock_the_account_until_the_district_office_unlocks_it(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        await set_temporary_password(platform)
        assert (await auth(platform, "ChangePassword", {"user": CLERK, "old_password": TEMPORARY,
                                                        "new_password": CHOSEN}))["ok"]
        for _ in range(5):
            assert (await login(platform, "wrong-pass-2026"))["code"] == "forbidden"
        locked = await login(platform, CHOSEN)
        assert locked["ok"] is False and "账号已锁定" in locked["message"]
        events = await account_events(database_url)
        assert events.count("LoginFailed") == 5 + 1 and "AccountLocked" in events  # five wrong, one while locked
        head = {"user": "head-U0001", "role": "unit_head", "unit": "U0001"}
        assert (await platform.send("identity", "UnlockAccount", {"user": CLERK, "actor": head}))["code"] == "forbidden"
        assert (await platform.send("identity", "UnlockAccount", {"user": CLERK}))["ok"]
        assert (await login(platform, CHOSEN))["ok"]


class TestSessions:
    async def _session(self, platform: RunningPlatform) -> dict[str, Any]:
        await set_temporary_password(platform)
        assert (await auth(platform, "ChangePassword", {"user": CLERK, "old_password": TEMPORARY,
                                                        "new_password": CHOSEN}))["ok"]
        session = await login(platform, CHOSEN)
        assert session["ok"], session
        return session

    async def test_a_session_is_refreshed_and_ended_by_logout(self, platform: RunningPlatform,
                                                               database_url: str) -> None:
        session = await self._session(platform)
        fresh = await auth(platform, "Refresh", {"session": session["session"]})
        assert fresh["ok"] and fresh["credential"] != session["credential"]
        assert (await auth(platform, "Logout", {"session": session["session"]}))["ok"]
        ended = await auth(platform, "Refresh", {"session": session["session"]})
        assert (ended["code"], ended["message"]) == ("forbidden", "登录已失效，请重新登录")
        garbage = await auth(platform, "Refresh", {"session": "x" * 43})
        assert garbage["code"] == "forbidden"
        assert (await account_events(database_url))[-1] == "LoggedOut"

    async def test_deactivation_takes_effect_within_the_credential_lifetime(
        self, platform: RunningPlatform, database_url: str,
    ) -> None:
        session = await self._session(platform)
        credential = session["credential"]
        assert (await as_person(platform, credential, "ListRetirees", {"unit": "U0001"}))["ok"]
        assert (await platform.send("profiles", "DeactivateStaff", {"user": CLERK}))["ok"]
        await until_identity_knows(platform, database_url, CLERK, active=False)
        refused = await auth(platform, "Refresh", {"session": session["session"]})
        assert refused["code"] == "forbidden"  # no new credential for a deactivated person
        assert (await login(platform, CHOSEN))["message"].startswith("该账号已停用")
        await asyncio.sleep(LIFETIME_S + 5 + 0.5)  # the lifetime, plus the leeway for clock skew
        expired = await as_person(platform, credential, "ListRetirees", {"unit": "U0001"})
        assert (expired["code"], expired["message"]) == ("forbidden", "登录已过期，请重新登录")
        assert "SessionsRevoked" in await account_events(database_url)

    async def test_a_password_reset_ends_every_session(self, platform: RunningPlatform) -> None:
        session = await self._session(platform)
        await set_temporary_password(platform)
        assert (await auth(platform, "Refresh", {"session": session["session"]}))["code"] == "forbidden"

    async def test_nobody_reads_another_s_account_and_no_hash_is_shown(self, platform: RunningPlatform) -> None:
        await self._session(platform)
        mine = await platform.query("identity", "GetAccount", {"user": CLERK})
        assert mine["ok"] and mine["data"]["open_sessions"] == 1 and mine["data"]["password_set"] is True
        assert "hash" not in json.dumps(mine)
        other = {"user": "clerk-U0002", "role": "unit_staff", "unit": "U0002"}
        assert (await platform.query("identity", "GetAccount", {"user": CLERK, "actor": other}))["code"] == "forbidden"
