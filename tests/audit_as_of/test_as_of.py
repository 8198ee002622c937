"""As of a time: a retiree, a unit's task list and a unit's scores as they stood, replayed from history;
authorized like the live queries; and every service's read models rebuilt from history with equal digests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from nats.js import JetStreamContext

from backbone.crypto import Keyring
from backbone.db import create_pool
from contracts.base import LOCAL_TZ, Actor
from contracts.id_number import make_id_number
from services.care import app as care_app
from services.ceremony import app as ceremony_app
from services.identity import app as identity_app
from services.notify import app as notify_app
from services.profiles import app as profiles_app
from tests.audit_as_of.conftest import T0
from tests.care_service.district import advance, clerk, ok, retiree, setup_units, wait_for_tasks
from tests.services_harness import RunningPlatform
from wanqing import keys_cli
from wanqing.audit import as_of_cli

DAY = timedelta(days=1)
LIVE_ONLY = ("as_of", "events_replayed", "as_of_requested")


def at(t: datetime) -> str:
    return t.isoformat()


async def read_access(database_url: str, rid: uuid.UUID) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch("SELECT * FROM profiles.read_access WHERE retiree_id = $1 ORDER BY access_id",
                                     rid))
    finally:
        await conn.close()


async def hospitalise(p: RunningPlatform, rid: uuid.UUID, on: str) -> None:
    await ok(await p.send("profiles", "RecordHospitalization", {
        "retiree_id": str(rid), "hospital": "区人民医院", "admitted_on": on}))


class TestRetireeAsOf:
    async def test_hospitalised_on_day_1_discharged_on_day_5(self, platform: RunningPlatform,
                                                            database_url: str) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1950, 5, 5))
        await hospitalise(platform, rid, "2027-03-01")
        await advance(database_url, 4 * DAY)  # day 5
        await ok(await platform.send("profiles", "RecordDischarge", {"retiree_id": str(rid),
                                                                     "discharged_on": "2027-03-05"}))
        await advance(database_url, DAY)  # day 6

        def ask(when: datetime, **extra: Any) -> Coroutine[Any, Any, dict[str, Any]]:
            return platform.query("profiles", "GetRetiree", {"retiree_id": str(rid), "as_of": at(when), **extra})

        day3 = await ok(await ask(T0 + 2 * DAY))
        assert day3["data"]["hospitalized_since"] == "2027-03-01"
        assert day3["data"]["name"] == "测试人员"
        assert day3["data"]["events_replayed"] == 2  # noqa: PLR2004 - registered, hospitalised
        day6 = await ok(await ask(T0 + 5 * DAY))
        assert day6["data"]["hospitalized_since"] is None
        assert "住院：自 2027-03-01 起住院" in "\n".join(as_of_cli.retiree_lines(day3["data"]))
        assert "住院：否" in "\n".join(as_of_cli.retiree_lines(day6["data"]))
        # Revealed as GetRetiree reveals: with a purpose, opened from the replayed (sealed) fields.
        hospital = await ok(await ask(T0 + 2 * DAY, reveal=["hospital"], purpose="审计核查"))
        assert hospital["data"]["hospital"] == "区人民医院"
        # As of now, the replay answers what the live query answers.
        live = await ok(await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid)}))
        now = await ok(await ask(T0 + 5 * DAY))
        assert {k: v for k, v in now["data"].items() if k not in LIVE_ONLY} == live["data"]

        before = await ask(T0 - timedelta(minutes=5))
        assert before["code"] == "not_found"
        future = await ask(T0 + 9 * DAY)
        assert future["code"] == "validation"
        # Today's read model was not changed by the replays.
        assert live == await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid)})

        # Authorized exactly as GetRetiree: another unit's clerk is refused, and the attempt is logged.
        refused = await ask(T0 + 2 * DAY, actor=clerk("U0002"))
        assert refused["code"] == "forbidden"
        own = await ok(await ask(T0 + 2 * DAY, actor=clerk("U0001")))
        assert own["data"]["unit"] == "U0001"
        log = await read_access(database_url, rid)
        assert [(r["user_id"], r["success"], r["detail"]) for r in log][-2:] == [
            ("clerk-U0002", False, "forbidden"), ("clerk-U0001", True, f"as_of {at(T0 + 2 * DAY)}")]


class TestErasedStaysErased:
    async def test_an_erased_person_is_not_opened_at_any_time(self, platform: RunningPlatform,
                                                              database_url: str) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1950, 5, 5))
        await hospitalise(platform, rid, "2027-03-01")
        await advance(database_url, DAY)
        await ok(await platform.send("profiles", "RecordDeath", {"retiree_id": str(rid), "died_on": "2027-03-02"}))
        await ok(await platform.send("profiles", "ErasePersonalData", {"retiree_id": str(rid),
                                                                       "reason": "家属申请删除"}))
        before = await ok(await platform.query("profiles", "GetRetiree", {
            "retiree_id": str(rid), "as_of": at(T0 + timedelta(hours=1)), "reveal": ["hospital"],
            "purpose": "审计核查"}))
        assert before["data"]["erased"] is True
        assert "测试人员" not in str(before["data"]) and "区人民医院" not in str(before["data"])
        assert before["data"]["events_replayed"] == 0
        log = await read_access(database_url, rid)
        assert (log[-1]["success"], log[-1]["detail"]) == (False, "erased")


async def list_at(p: RunningPlatform, when: datetime, actor: dict[str, str] | None = None,
                  view: str = "all") -> dict[str, Any]:
    body: dict[str, Any] = {"unit": "U0001", "view": view, "as_of": at(when)}
    if actor:
        body["actor"] = actor
    return await p.query("care", "ListTasks", body)


async def scores_at(p: RunningPlatform, when: datetime | None, actor: dict[str, str] | None = None,
                    ) -> dict[str, Any]:
    body: dict[str, Any] = {"period": "2027-03", "unit": "U0001"}
    if when is not None:
        body["as_of"] = at(when)
    if actor:
        body["actor"] = actor
    return await p.query("care", "GetUnitScores", body)


def by_task(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["task_id"]: t for t in reply["data"]["items"]}


@dataclass(frozen=True)
class History:
    late: str  # a hospital visit open at t_open, overdue and escalated at t2, done (late) before t3
    prompt: str  # a hospital visit done on time before t1
    t_open: datetime
    t1: datetime
    t2: datetime
    t3: datetime


async def known_history(platform: RunningPlatform, database_url: str) -> History:
    await setup_units(platform)
    late = await retiree(platform, "U0001", date(1950, 5, 5))
    prompt = await retiree(platform, "U0001", date(1951, 6, 6))
    await hospitalise(platform, late, "2027-03-01")
    await hospitalise(platform, prompt, "2027-03-01")
    a = str((await wait_for_tasks(platform, database_url, late, "hospital_visit"))["task_id"])
    b = str((await wait_for_tasks(platform, database_url, prompt, "hospital_visit"))["task_id"])
    await advance(database_url, timedelta(hours=1))  # T0 + 1 h: the prompt visit is done, on time
    await ok(await platform.send("care", "CompleteTask", {
        "task_id": b, "done_at": at(T0 + timedelta(hours=1)), "done_by": ["clerk-U0001"], "form": "hospital",
        "actor": clerk("U0001")}))
    await advance(database_url, timedelta(hours=72))  # T0 + 73 h: the late one is overdue
    await wait_for_tasks(platform, database_url, late, "hospital_visit", overdue=True)
    await advance(database_url, timedelta(hours=24))  # T0 + 97 h: and escalated to the unit head
    await wait_for_tasks(platform, database_url, late, "hospital_visit", escalation="unit_head")
    await advance(database_url, timedelta(hours=1))  # T0 + 98 h: the late visit is recorded
    await ok(await platform.send("care", "CompleteTask", {
        "task_id": a, "done_at": at(T0 + timedelta(hours=98)), "done_by": ["clerk-U0001"], "form": "hospital",
        "actor": clerk("U0001")}))
    await wait_for_tasks(platform, database_url, late, "hospital_visit", status="done")
    await advance(database_url, timedelta(hours=1))
    return History(late=a, prompt=b, t_open=T0 + timedelta(minutes=30), t1=T0 + timedelta(hours=1, minutes=1),
                   t2=T0 + timedelta(hours=97, minutes=30), t3=T0 + timedelta(hours=98, minutes=30))


def unit_row(reply: dict[str, Any]) -> dict[str, Any]:
    [unit] = reply["data"]["units"]
    return unit


class TestTasksAndScoresAsOf:
    async def test_the_task_list_shows_each_state_as_it_stood(self, platform: RunningPlatform,
                                                             database_url: str) -> None:
        h = await known_history(platform, database_url)
        a, b = h.late, h.prompt
        opened = by_task(await ok(await list_at(platform, h.t_open)))
        assert (opened[a]["status"], opened[a]["overdue"], opened[a]["escalation"]) == ("open", False, None)
        assert opened[b]["status"] == "open"
        late_state = by_task(await ok(await list_at(platform, h.t2)))
        assert (late_state[a]["status"], late_state[a]["overdue"], late_state[a]["escalation"]) == (
            "open", True, "unit_head")
        assert (late_state[b]["status"], late_state[b]["on_time"]) == ("done", True)
        assert list(by_task(await ok(await list_at(platform, h.t2, view="overdue")))) == [a]
        done = by_task(await ok(await list_at(platform, h.t3)))
        assert (done[a]["status"], done[a]["on_time"], done[a]["escalation"]) == ("done", False, "unit_head")
        # As of now, the replay answers what the live board answers.
        live = await ok(await platform.query("care", "ListTasks", {"unit": "U0001", "view": "all"}))
        assert live["data"]["items"] == (await ok(await list_at(platform, h.t3)))["data"]["items"]
        text = as_of_cli.task_lines((await ok(await list_at(platform, h.t2)))["data"], "U0001")
        assert "已逾期" in "".join(text) and "已督办至单位负责人" in "".join(text)

    async def test_scores_are_lower_while_the_work_was_not_done(self, platform: RunningPlatform,
                                                                database_url: str) -> None:
        h = await known_history(platform, database_url)
        s_open, s1, s2, s3 = [unit_row(await ok(await scores_at(platform, t))) for t in (h.t_open, h.t1, h.t2, h.t3)]
        assert s_open["hospital_visits_on_time_pct"] is None  # nothing done or due yet
        assert s1["hospital_visits_on_time_pct"] == 100.0  # noqa: PLR2004 - the prompt visit, done on time
        assert s2["hospital_visits_on_time_pct"] == 50.0  # noqa: PLR2004 - lower: the late visit was due, not done
        assert (s2["overdue_open_tasks"], s3["overdue_open_tasks"]) == (1, 0)
        assert s2["median_hours_to_hospital_visit"] == 1.0
        assert s3["median_hours_to_hospital_visit"] == 49.5  # noqa: PLR2004 - median of 1 h and 98 h
        live_scores = await ok(await scores_at(platform, None))
        as_of_now = await ok(await scores_at(platform, h.t3))
        assert {k: v for k, v in as_of_now["data"].items() if k not in LIVE_ONLY} == {
            k: v for k, v in live_scores["data"].items() if k not in LIVE_ONLY}
        assert live_scores == await scores_at(platform, None)  # the replays changed nothing
        assert as_of_cli.score_lines(as_of_now["data"])[1].startswith("（历史回放")

    async def test_authorized_exactly_as_the_live_queries(self, platform: RunningPlatform,
                                                          database_url: str) -> None:
        h = await known_history(platform, database_url)
        assert (await list_at(platform, h.t2, actor=clerk("U0002")))["code"] == "forbidden"
        assert (await scores_at(platform, h.t2, actor=clerk("U0002")))["code"] == "forbidden"
        assert (await list_at(platform, h.t2, actor=clerk("U0001")))["ok"]
        assert (await scores_at(platform, h.t2, actor=clerk("U0001")))["ok"]
        assert (await list_at(platform, T0 + 30 * DAY))["code"] == "validation"  # no history of the future
        # The command line's own requests (`wanqing audit as-of …`), as the operator and as a clerk.
        at_t2 = as_of_cli.parse_at(h.t2.astimezone(LOCAL_TZ).replace(tzinfo=None).isoformat())  # Beijing time
        assert at_t2 == h.t2
        tasks = await ok(await as_of_cli.ask_tasks(platform.access, "U0001", at_t2))
        assert by_task(tasks)[h.late]["escalation"] == "unit_head"
        other = Actor.model_validate(clerk("U0002"))
        assert (await as_of_cli.ask_scores(platform.access, "2027-03", at_t2, "U0001", other))["code"] == "forbidden"
        assert (await as_of_cli.ask_tasks(platform.access, "U0001", at_t2, actor=other))["code"] == "forbidden"


class TestRebuildDigests:
    async def test_every_service_rebuilds_to_identical_digests(self, platform: RunningPlatform,
                                                              database_url: str, js: JetStreamContext,
                                                              tmp_path: Path) -> None:
        await setup_units(platform)
        rid = await retiree(platform, "U0001", date(1950, 5, 5))
        await hospitalise(platform, rid, "2027-03-01")
        planned = uuid.uuid4()
        await ok(await platform.send("profiles", "RegisterRetiree", {
            "retiree_id": str(planned), "name": "待退人员", "id_number": make_id_number("110105", date(1967, 3, 7), 13),
            "unit": "U0002", "retirement_date": "2027-04-30"}))
        await ok(await platform.send("profiles", "ApproveRetirement", {
            "retiree_id": str(planned), "approved_on": "2027-03-01", "document_number": "教人〔2027〕1号",
            "unit": "U0002", "retirement_date": "2027-04-30", "category": "cadre"}))
        task = await wait_for_tasks(platform, database_url, rid, "hospital_visit")
        await ok(await platform.send("care", "CompleteTask", {
            "task_id": str(task["task_id"]), "done_at": at(T0), "done_by": ["clerk-U0001"], "form": "hospital",
            "actor": clerk("U0001")}))
        await advance(database_url, 2 * DAY)
        await settled(database_url)

        pool = await create_pool(database_url, max_size=2)
        try:
            async with pool.acquire() as conn:
                checks: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
                    "profiles": profiles_app.check_rebuild, "care": care_app.check_rebuild,
                    "ceremony": ceremony_app.check_rebuild, "notify": notify_app.check_rebuild,
                    "identity": identity_app.check_rebuild}
                keyrings = {n: k for n in checks if (k := keys_cli.rebuild_keyring(n, platform.settings))}
                assert set(keyrings) == {"profiles", "care"}
                for name, check in checks.items():
                    before = await _digests(name, conn, keyrings.get(name))
                    result = await (check(conn, js, keyrings[name]) if name in keyrings else check(conn, js))
                    assert result["equal"], (name, result["differing_tables"], result)
                    assert result["live"] == before
                    assert await _digests(name, conn, keyrings.get(name)) == before  # nothing changed
                    assert sum(t["rows"] for t in before["tables"].values()) > 0, name
                # A real rebuild (committed) leaves the same digests.
                for name, app in (("profiles", profiles_app), ("ceremony", ceremony_app), ("notify", notify_app),
                                  ("identity", identity_app), ("care", care_app)):
                    before = await _digests(name, conn, keyrings.get(name))
                    await (app.rebuild(conn, js, keyrings[name]) if name in keyrings else app.rebuild(conn, js))
                    assert await _digests(name, conn, keyrings.get(name)) == before, name
                # What `wanqing audit rebuild-digests` runs: every service equal, nothing changed.
                everything = {name: await _digests(name, conn, keyrings.get(name)) for name in checks}
                results = await as_of_cli.rebuild_digests(database_url, platform.settings.nats_url, tmp_path,
                                                          keyrings=keyrings)
                assert {name: r["equal"] for name, r in results.items()} == dict.fromkeys(checks, True)
                assert {name: await _digests(name, conn, keyrings.get(name)) for name in checks} == everything
                assert "不一致" not in "".join(as_of_cli.digest_lines(results))
                # A tampered read model is told apart.
                await conn.execute("UPDATE ceremony.retirees SET unit = 'U0001'")
                tampered = await ceremony_app.check_rebuild(conn, js)
                assert not tampered["equal"] and tampered["differing_tables"] == ["retirees"]
        finally:
            await pool.close()


async def _digests(name: str, conn: asyncpg.Connection, keyring: Keyring | None = None) -> dict[str, Any]:
    """Profiles' with its keyring include the search index (rebuilt only by a process holding the keys)."""
    if name == "profiles":
        return await profiles_app.digests(conn, keyring)
    apps = {"care": care_app, "ceremony": ceremony_app, "notify": notify_app, "identity": identity_app}
    return await apps[name].digests(conn)


async def settled(database_url: str) -> None:
    """Until every consumer has applied what is on the stream (the inbox rows stop growing for a while)."""
    conn = await asyncpg.connect(database_url)
    try:
        last, still = -1, 0
        while still < 3:  # noqa: PLR2004 - three quiet looks in a row
            n = sum([await conn.fetchval(f"SELECT count(*) FROM {s}.inbox") for s in
                     ("care", "ceremony", "notify", "identity")])
            still = still + 1 if n == last else 0
            last = n
            await asyncio.sleep(0.3)
    finally:
        await conn.close()
