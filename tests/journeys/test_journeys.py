"""Journeys through the whole platform: `wanqing up`, every service its own process, real NATS and Postgres.

The journeys share one platform and one simulated clock (it only moves forward); each uses its own units.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import subjects
from contracts.base import LOCAL_TZ
from services.care.rebuild import READ_MODELS
from tests.journeys.conftest import Wanqing, clerk, head

pytestmark = pytest.mark.slow


async def test_planned_talks_approved_consent_ceremony_held_handover_complete(wq: Wanqing) -> None:
    unit = "U0101"
    await wq.unit(unit, "区教育局")
    today = await wq.today()
    rid = await wq.retiree(unit, date(1967, 2, 3), retired=False)
    await wq.ok("profiles", "PlanRetirement", {"retiree_id": str(rid),
                                               "planned_date": (today + timedelta(days=20)).isoformat()})
    now = await wq.now()
    for kind in ("talk_org_with_head", "talk_head_with_retiree"):
        talk = await wq.task(rid, kind, status="open")
        await wq.ok("care", "CompleteTask", {"task_id": str(talk["task_id"]), "done_at": now.isoformat(),
                                             "done_by": [f"head-{unit}"], "form": "home"}, actor=head(unit))
        await wq.task(rid, kind, status="done", on_time=True)

    await wq.ok("profiles", "ApproveRetirement", {
        "retiree_id": str(rid), "unit": unit, "document_number": "教人〔2027〕12号", "approved_on": today.isoformat(),
        "retirement_date": (today + timedelta(days=20)).isoformat(), "category": "cadre"})
    await wq.facts(rid, status="retired")
    await wq.case(rid, status="awaiting_consent")
    body = {"retiree_id": str(rid)}
    staff = clerk(unit)
    await wq.ok("ceremony", "GiveConsent", body, staff)
    held_on = today + timedelta(days=7)
    await wq.ok("ceremony", "ScheduleCeremony", {**body, "held_on": held_on.isoformat(), "venue": "三楼会议室"}, staff)
    await wq.case(rid, status="scheduled")
    await wq.ok("ceremony", "AnnounceDecision", {**body, "document_number": "教人〔2027〕12号"}, staff)
    await wq.ok("ceremony", "GiveThankYouLetter", {**body, "signed_by": "张局长"}, staff)
    await wq.ok("ceremony", "IssueCertificate", body, staff)
    await wq.ok("ceremony", "GivePlaque", body, staff)
    await wq.ok("ceremony", "GiveSouvenir", {**body, "souvenir": "纪念相册"}, staff)
    await wq.ok("ceremony", "RecordFarewellRemarks", {**body, "text": "感谢组织培养，退休不褪色。"}, staff)
    await wq.ok("ceremony", "RecordExtraItem", {**body, "item": "合影留念"}, staff)
    await wq.set_time(datetime.combine(held_on, time(10), LOCAL_TZ))
    await wq.ok("ceremony", "HoldCeremony", {**body, "held_on": held_on.isoformat()}, staff)
    held = await wq.case(rid, status="held")
    assert held["certificate_number"] == f"{unit}-{held_on.year}-0001"
    assert held["ceremony_on_time"] is True

    await wq.ok("ceremony", "CompleteHandoverStep", {**body, "step": "benefits_explained"}, staff)
    await wq.ok("ceremony", "CompleteHandoverStep", {**body, "step": "wechat_group_joined"}, staff)
    await wq.ok("ceremony", "CompleteHandoverStep", {**body, "step": "handed_over"})  # the district office
    done = await wq.case(rid, handover_status="completed")
    assert done["handover_on_time"] is True

    [rates] = (await wq.query("ceremony", "OnTimeRates", {"unit": unit}))["data"]
    assert (rates["unit"], rates["ceremonies_due"], rates["ceremony_on_time_rate"]) == (unit, 1, 1.0), rates
    assert all(v == 1.0 for k, v in rates.items() if k.endswith("_rate")), rates
    scores = (await wq.query("care", "GetUnitScores", {"period": str(today.year), "unit": unit}))["data"]
    assert scores["units"][0]["talks_before_approval_pct"] == 100.0  # noqa: PLR2004


async def test_hospitalised_overdue_escalated_visited_discharged_follow_up(wq: Wanqing) -> None:
    unit = "U0102"
    await wq.unit(unit, "城关镇")
    # Per-task reminders rather than the morning digest, so the assignee's overdue message is its own.
    await wq.ok("notify", "SetDigestMode", {"unit": unit, "enabled": False})
    rid = await wq.retiree(unit, date(1950, 5, 5))
    await wq.facts(rid)
    today = await wq.today()
    await wq.ok("profiles", "RecordHospitalization", {"retiree_id": str(rid), "hospital": "区人民医院",
                                                      "admitted_on": today.isoformat(), "severity": "serious"})
    visit = await wq.task(rid, "hospital_visit")
    assert visit["due_at"] - visit["opened_at"] == timedelta(days=3)
    assert visit["assignee"] == f"clerk-{unit}"

    await wq.advance(timedelta(days=3, hours=1))  # past due
    await wq.task(rid, "hospital_visit", overdue=True)
    await wq.advance(timedelta(days=1))  # due + 25 h: to the unit head
    await wq.task(rid, "hospital_visit", escalation="unit_head")
    now = await wq.now()
    await wq.ok("care", "CompleteTask", {"task_id": str(visit["task_id"]), "done_at": now.isoformat(),
                                         "done_by": [f"clerk-{unit}", f"head-{unit}"], "form": "hospital",
                                         "notes": "病情稳定"}, actor=clerk(unit))
    done = await wq.task(rid, "hospital_visit", status="done")
    assert done["on_time"] is False
    await wq.ok("profiles", "RecordDischarge", {"retiree_id": str(rid),
                                                "discharged_on": (await wq.today()).isoformat()})
    follow_up = await wq.task(rid, "discharge_follow_up", status="open")
    assert follow_up["due_at"] - follow_up["opened_at"] == timedelta(days=7)

    async def messages(recipient: str, rule: str) -> list[dict[str, Any]]:
        return [m for m in await wq.inbox(recipient) if m["rule"] == rule]
    assignee = await wq.eventually(lambda: messages(f"staff:clerk-{unit}", "task_overdue"),
                                   "the assignee's overdue message")
    unit_head = await wq.eventually(lambda: messages(f"staff:head-{unit}", "escalation_unit_head"),
                                    "the unit head's escalation message")
    assert len(assignee) == 1
    assert len(unit_head) == 1


async def test_death_cancels_care_silences_messages_tells_agencies_keeps_survivor(wq: Wanqing) -> None:
    unit = "U0103"
    await wq.unit(unit, "区民政局")
    rid = await wq.retiree(unit, date(1945, 8, 8))
    await wq.ok("profiles", "RecordSurvivor", {"retiree_id": str(rid), "survivor_name": "李秀英", "relation": "配偶"})
    await wq.facts(rid, survivors=1)
    await wq.ok("profiles", "RecordHospitalization", {"retiree_id": str(rid), "hospital": "区人民医院",
                                                      "admitted_on": (await wq.today()).isoformat()})
    await wq.task(rid, "hospital_visit", status="open")
    recipient = f"retiree:{rid}"
    before = await wq.inbox(recipient)

    agency: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_death(msg: Any) -> None:
        await agency.put(json.loads(msg.data))
    sub = await wq.nc.subscribe(subjects.events_of_type("profiles", "MemberDeceased"), cb=on_death)
    died = await wq.now()
    try:
        await wq.ok("profiles", "RecordDeath", {"retiree_id": str(rid), "died_on": (await wq.today()).isoformat()})
        envelope = await asyncio.wait_for(agency.get(), timeout=30)
    finally:
        await sub.unsubscribe()
    assert (envelope["type"], envelope["data"]["retiree_id"]) == ("MemberDeceased", str(rid))

    await wq.facts(rid, status="deceased")
    await wq.task(rid, "hospital_visit", status="cancelled")
    bereavement = await wq.task(rid, "bereavement_visit", status="open")
    assert bereavement["due_at"] - bereavement["opened_at"] == timedelta(days=2)
    open_for_person = await wq.pool.fetchval(
        "SELECT count(*) FROM care.tasks WHERE retiree_id = $1 AND status = 'open' AND kind <> 'bereavement_visit' "
        "AND NOT for_survivor", rid)
    assert open_for_person == 0

    next_spring = (await wq.today()).year + 1
    campaign_id = uuid.uuid4()
    await wq.ok("care", "LaunchCampaign", {"campaign_id": str(campaign_id), "festival": "spring",
                                           "title": f"{next_spring}年春节慰问", "year": next_spring,
                                           "due_on": f"{next_spring}-01-31", "scope": {"units": [unit]}})
    survivor = await wq.task(rid, "festival_visit", campaign_id=campaign_id)
    assert survivor["for_survivor"] is True
    assert await wq.pool.fetchval("SELECT count(*) FROM care.tasks WHERE campaign_id = $1 AND retiree_id = $2 "
                                  "AND NOT for_survivor", campaign_id, rid) == 0
    # Once notify has handled the death and the campaign, nothing more reached the person.
    launched_id = await wq.pool.fetchval("SELECT event_id FROM care.events WHERE stream_id = $1",
                                         f"campaign-{campaign_id}")
    for event_id in (uuid.UUID(envelope["event_id"]), launched_id):
        await wq.eventually(lambda e=event_id: wq.pool.fetchval("SELECT 1 FROM notify.inbox WHERE event_id = $1", e),
                            f"notify handled {event_id}")
    assert await wq.inbox(recipient) == before
    sent_after = await wq.pool.fetchval(
        "SELECT count(*) FROM notify.deliveries WHERE recipient = $1 AND created_at >= $2 AND status <> 'suppressed'",
        recipient, died)
    assert sent_after == 0


async def test_double_ninth_campaign_with_age_bands_across_two_units(wq: Wanqing) -> None:
    year = (await wq.today()).year
    units = {"U0104": "区卫健委", "U0105": "东城街道"}
    for code, name in units.items():
        await wq.unit(code, name)
    # Ages reached this year: 70, 80, 92 are in the bands; 72 and 86 are not.
    ages = {"U0104": [70, 72, 80], "U0105": [86, 92]}
    people: dict[str, list[uuid.UUID]] = {}
    for code, reached in ages.items():
        people[code] = [await wq.retiree(code, date(year - age, 6, 15)) for age in reached]
    for rids in people.values():
        for rid in rids:
            await wq.facts(rid)
    campaign_id = uuid.uuid4()
    bands = [[70, 70], [75, 75], [80, 80], [85, 85], [90, None]]
    launched = await wq.ok("care", "LaunchCampaign", {
        "campaign_id": str(campaign_id), "festival": "double_ninth", "title": f"{year}年重阳节走访慰问",
        "year": year, "due_on": f"{year}-10-31", "scope": {"units": sorted(units), "age_bands": bands}})
    assert launched["summary"] == {"tasks": 3, "units": 2}

    async def progress() -> bool:
        reply = await wq.query("care", "GetCampaignProgress", {"campaign_id": str(campaign_id)})
        return sum(u["tasks"] for u in reply["data"]["per_unit"]) == 3  # noqa: PLR2004
    await wq.eventually(progress, "the campaign's three tasks")
    in_band = {people["U0104"][0], people["U0104"][2], people["U0105"][1]}
    tasks = await wq.pool.fetch("SELECT task_id, retiree_id, unit FROM care.tasks WHERE campaign_id = $1",
                                campaign_id)
    assert {t["retiree_id"] for t in tasks} == in_band
    now = await wq.now()
    for t in tasks:
        if t["retiree_id"] == people["U0104"][0] or t["unit"] == "U0105":
            await wq.ok("care", "CompleteTask", {"task_id": str(t["task_id"]), "done_at": now.isoformat(),
                                                 "done_by": [f"clerk-{t['unit']}"], "form": "home",
                                                 "gifts": "重阳糕"}, actor=clerk(t["unit"]))
    await wq.eventually(lambda: wq.pool.fetchval(
        "SELECT count(*) = 2 FROM care.tasks WHERE campaign_id = $1 AND status = 'done'", campaign_id),
        "two visits done")
    data = (await wq.query("care", "GetCampaignProgress", {"campaign_id": str(campaign_id)}))["data"]
    per_unit = _per_unit(data)
    assert (per_unit["U0104"]["tasks"], per_unit["U0104"]["done"], per_unit["U0104"]["coverage"]) == (2, 1, 0.5)
    assert (per_unit["U0105"]["tasks"], per_unit["U0105"]["done"], per_unit["U0105"]["coverage"]) == (1, 1, 1.0)

    await wq.ok("care", "CloseCampaign", {"campaign_id": str(campaign_id)})
    closed = await wq.pool.fetchval(
        "SELECT convert_from(envelope, 'UTF8') FROM care.events WHERE stream_id = $1 AND type = 'CampaignClosed'",
        f"campaign-{campaign_id}")
    coverage = json.loads(closed)["data"]["coverage"]
    assert coverage == {"U0104": {"tasks": 2, "done": 1, "cancelled": 0},
                        "U0105": {"tasks": 1, "done": 1, "cancelled": 0}}


def _per_unit(progress: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["unit"]: u for u in progress["per_unit"]}


async def _read_models(wq: Wanqing) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for table in READ_MODELS:
        rows = await wq.pool.fetch(f"SELECT * FROM care.{table}")
        out[table] = sorted((dict(r) for r in rows), key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


async def test_rebuild_care_read_models_gives_the_same_unit_report(wq: Wanqing) -> None:
    year = str((await wq.today()).year)
    before = (await wq.query("care", "GetUnitScores", {"period": year}))["data"]
    models_before = await _read_models(wq)
    assert models_before["tasks"], "the journeys above left tasks to rebuild"
    result = await asyncio.to_thread(wq.up.cli, "rebuild", "care")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["care_events"] > 0
    assert report["profiles_events"] > 0
    after = (await wq.query("care", "GetUnitScores", {"period": year}))["data"]
    assert after == before
    models_after = await _read_models(wq)
    for table in READ_MODELS:
        assert models_after[table] == models_before[table], table


async def test_the_auditor_takes_the_checkpoints_home_from_its_own_account(wq: Wanqing, tmp_path: Path) -> None:
    """`wanqing up` gives the auditor an account of its own whose stream keeps every service's checkpoints; what
    the auditor reads there, as itself, is what the services signed, and it verifies the live history.
    """
    seed = wq.up.data_dir / "secrets" / "nats" / "auditor.nk"
    trust = wq.up.data_dir / "secrets" / "trust.json"

    async def handed_over() -> bool:
        rows = await wq.pool.fetch("SELECT c.seq, w.last_seq FROM (SELECT max(seq) AS seq FROM "
                                   "profiles.audit_checkpoints) c LEFT JOIN profiles.audit_witnessed w "
                                   "ON w.witness = 'auditor'")
        return bool(rows and rows[0]["seq"] and rows[0]["seq"] == rows[0]["last_seq"])

    deadline = asyncio.get_running_loop().time() + 30
    while not await handed_over():
        assert asyncio.get_running_loop().time() < deadline, "the auditor's stream never got the checkpoints"
        await asyncio.sleep(0.5)
    held = tmp_path / "held.json"
    took = await asyncio.to_thread(wq.up.cli, "audit", "checkpoints", "--service", "profiles", "--out", str(held),
                                   "--trust", str(trust), "--nats-url", wq.up.nats_url, "--nkey", str(seed))
    assert took.returncode == 0, took.stdout + took.stderr
    signed = await wq.pool.fetchval("SELECT count(*) FROM profiles.audit_checkpoints")
    assert len(json.loads(held.read_text())["checkpoints"]) == signed > 0
    checked = await asyncio.to_thread(wq.up.cli, "audit", "verify", "--service", "profiles", "--live",
                                      "--checkpoints", str(held), "--trust", str(trust), "--no-bus")
    assert checked.returncode == 0, checked.stdout + checked.stderr
