"""The district office's pages over HTTP, against `wanqing up`: the dashboard with its chart, the report as .xlsx
with GetUnitScores' numbers, a 重阳 campaign launched through the form with its progress per unit, and an
assistance case moved through assessment, a refused approval above the limit, approval and payment.

Each test module makes its own units (unique codes): the platform is shared by the package's tests.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from http import HTTPStatus
from typing import Any

import httpx
import nats
import pytest
from openpyxl import load_workbook

from backbone.credentials import OPS
from backbone.db import create_pool
from contracts import subjects
from contracts.base import LOCAL_TZ
from contracts.id_number import make_id_number
from tests.console.conftest import Browser, ConsolePlatform, _password
from tests.console.conftest import eventually as until
from tests.journeys.conftest import Wanqing
from wanqing.access import nats_options
from wanqing.report import COLUMNS


@dataclass
class OfficeWorld:
    """A district office login and a unit of its own, with a clerk and retirees (name -> retiree_id)."""

    office: str
    unit: str
    unit_name: str
    clerk: str
    people: dict[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> dict[str, str]:
        return {"user": self.office, "role": "district_office", "unit": "DISTRICT"}


def campaign_year() -> int:
    return datetime.now(LOCAL_TZ).year + 1  # next year's 重阳 is always still ahead


async def _make_world(platform: ConsolePlatform, tag: str) -> OfficeWorld:
    up = platform.up
    code = f"D{tag}{uuid.uuid4().hex[:5].upper()}"
    world = OfficeWorld(office=f"office-{code.lower()}", unit=code, unit_name=f"测试街道{code[-5:]}",
                        clerk=f"clerk-{code}")
    nc = await nats.connect(up.nats_url, **nats_options(up.data_dir, OPS))
    pool = await create_pool(up.database_url, min_size=1, max_size=2)
    try:
        wq = Wanqing(up, nc, pool)
        await wq.send("profiles", "RegisterUnit", {"code": "DISTRICT", "name": "区本级", "kind": "district"})
        await wq.ok("profiles", "RegisterStaff", {"user": world.office, "name": "区局同志", "role": "district_office",
                                                  "unit": "DISTRICT", "email": f"{world.office}@example.cn"})
        await wq.unit(code, world.unit_name)
        year = campaign_year()
        draw = random.Random(code)  # ID numbers of this world's own (every world's people live in one archive)
        people = (("陈桂英", date(year - 70, draw.randint(1, 12), draw.randint(1, 28))),  # 70 in that year
                  ("刘国栋", date(year - 66, draw.randint(1, 12), draw.randint(1, 28))))  # 66: no 重阳 visit
        for name, born in people:
            rid = str(uuid.uuid4())
            await wq.ok("profiles", "RegisterRetiree", {
                "retiree_id": rid, "name": name, "unit": code, "already_retired": True,
                "id_number": make_id_number("110105", born, draw.randint(0, 999)),
                "retirement_date": date(born.year + 60, born.month, 1).isoformat()})
            world.people[name] = rid
        for user in (world.office, world.clerk):
            await _password(wq, user, temporary=False)

        async def care_knows() -> bool:  # care learns of units and people from profiles' events
            for rid in world.people.values():
                reply = await _ask(wq, "care", "GetRetireeFacts", {"retiree_id": rid}, world.actor)
                if not reply.get("ok"):
                    return False
            return True
        await wq.eventually(care_knows, "care knows the new unit's people")
    finally:
        await nc.close()
        await pool.close()
    return world


async def _query(platform: ConsolePlatform, service: str, name: str, body: dict[str, Any],
                 actor: dict[str, str]) -> Any:
    up = platform.up
    nc = await nats.connect(up.nats_url, **nats_options(up.data_dir, OPS))
    pool = await create_pool(up.database_url, min_size=1, max_size=1)
    try:
        return (await Wanqing(up, nc, pool).query(service, name, body, actor))["data"]
    finally:
        await nc.close()
        await pool.close()


def make_world(platform: ConsolePlatform, tag: str) -> OfficeWorld:
    return asyncio.run(_make_world(platform, tag))


async def _ask(wq: Wanqing, service: str, name: str, body: dict[str, Any], actor: dict[str, str]) -> dict[str, Any]:
    """A query's whole reply, a refusal included (Wanqing.query asserts it was answered)."""
    msg = await wq.nc.request(subjects.query(service, name), json.dumps(body).encode(), timeout=30,
                              headers=await wq.headers(actor))
    reply: dict[str, Any] = json.loads(msg.data)
    return reply


@pytest.fixture(scope="module")
def world(console_platform: ConsolePlatform) -> OfficeWorld:
    return make_world(console_platform, "H")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def launch_double_ninth(b: Browser, world: OfficeWorld) -> str:
    """The office launches next year's 重阳 campaign for the world's unit through the form; its page's path."""
    year = campaign_year()
    form = b.get("/district/campaigns/new", params={"festival": "double_ninth", "year": str(year)})
    assert form.status_code == HTTPStatus.OK, form.text[:500]
    from lunardate import LunarDate  # noqa: PLC0415

    proposed = LunarDate(year, 9, 9).toSolarDate().isoformat()
    assert f'value="{proposed}"' in form.text  # the lunar calendar's 九月初九, proposed
    token = re.search(r'name="csrf" value="([0-9a-f]*)"', form.text)
    assert token
    data = {"csrf": token.group(1), "festival": "double_ninth", "year": str(year),
            "title": f"{year}年重阳节走访慰问（{world.unit}）", "due_on": proposed, "units": [world.unit],
            "bands": ["70", "75", "80", "85", "90"]}
    reply = b.http.post("/district/campaigns", data=data, headers=b._header())  # noqa: SLF001 - the cookies
    assert reply.status_code == HTTPStatus.SEE_OTHER, _text(reply.text)[:800]
    return str(reply.headers["location"]).split("?")[0]


def test_the_district_office_sees_every_unit_and_a_chart(console_platform: ConsolePlatform, world: OfficeWorld,
                                                         browser_for: Any) -> None:
    b: Browser = browser_for(world.office)
    page = b.get("/district")
    assert page.status_code == HTTPStatus.OK, page.text[:500]
    assert "<svg" in page.text
    assert "各单位按时办结率" in page.text
    for name in ("区财政局", "区教育局", world.unit_name):
        assert name in page.text
    assert "区老干部局" in page.text  # the office's own menu entry
    quarter = b.get("/district", params={"period": "2027Q1"})
    assert quarter.status_code == HTTPStatus.OK
    assert "2027年第一季度" in quarter.text
    typo = b.get("/district", params={"period": "27Q9"})
    assert "不是考评期间" in typo.text
    unit = b.get(f"/district/units/{world.unit}")
    assert unit.status_code == HTTPStatus.OK
    assert "工作质量考评" in unit.text
    assert b.get("/district/escalated").status_code == HTTPStatus.OK


def test_a_units_clerk_gets_403_pages(world: OfficeWorld, browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0001")
    for path in ("/district", f"/district/units/{world.unit}", "/district/escalated", "/district/report",
                 "/district/report.xlsx", "/district/campaigns", "/district/campaigns/new", "/district/assistance"):
        reply = b.get(path)
        assert reply.status_code == HTTPStatus.FORBIDDEN, path
        assert "只有区老干部局可以查看此页面" in reply.text, path
    assert 'href="/district"' not in b.get("/").text  # no menu entry for them


def test_the_report_downloads_as_xlsx_with_the_scores_numbers(console_platform: ConsolePlatform,
                                                              world: OfficeWorld, browser_for: Any) -> None:
    b: Browser = browser_for(world.office)
    period = f"{datetime.now(LOCAL_TZ).year}"
    page = b.get("/district/report", params={"period": period})
    assert page.status_code == HTTPStatus.OK
    assert f"/district/report.xlsx?period={period}" in page.text
    reply = b.get("/district/report.xlsx", params={"period": period})
    assert reply.status_code == HTTPStatus.OK
    assert reply.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(reply.content)).active
    assert ws is not None
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[2] == [title for _, title in COLUMNS]
    scores = asyncio.run(_query(console_platform, "care", "GetUnitScores", {"period": period}, world.actor))
    sheet = {r[0]: r for r in rows[3:] if r[0] and r[0] != "合计"}
    for unit in scores["units"]:
        if unit["unit"] in (world.unit, "U0001", "U0002"):
            expected = ["—" if unit.get(key) is None else unit.get(key) for key, _ in COLUMNS]
            assert sheet[unit["unit"]] == expected, unit["unit"]
    assert world.unit in sheet


def test_a_campaign_launched_through_the_form_shows_progress_per_unit(
    console_platform: ConsolePlatform, world: OfficeWorld, browser_for: Any,
) -> None:
    b: Browser = browser_for(world.office)
    path = launch_double_ninth(b, world)

    def progress() -> str:
        page = b.get(path)
        return page.text if page.status_code == HTTPStatus.OK and f'data-unit="{world.unit}"' in page.text else ""
    page = until(progress, "the campaign's page with the unit's row")
    row = re.search(rf'<tr data-unit="{world.unit}">(.*?)</tr>', page, re.DOTALL)
    assert row
    assert re.findall(r"<td[^>]*>(\d+)</td>", row.group(1))[:3] == ["1", "0", "0"]  # 陈桂英 (70) only
    assert "<svg" in page
    campaign_id = path.rsplit("/", 1)[1]

    def listed() -> str:
        text = b.get("/district/campaigns").text
        return text if campaign_id in text else ""
    listing = until(listed, "the campaign on the list")
    assert "0 / 1" in listing

    # The clerk records the visit; the office sees the unit's progress move.
    clerk: Browser = browser_for(world.clerk)
    tasks = asyncio.run(_query(console_platform, "care", "ListTasks", {"unit": world.unit, "view": "open"},
                               world.actor))
    task = next(t for t in tasks["items"] if t["kind"] == "festival_visit")
    token = clerk.csrf_of(f"/tasks/{task['task_id']}")
    done = clerk.post(f"/tasks/{task['task_id']}/complete", {
        "csrf": token, "form": "home", "done_at": datetime.now(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"),
        "done_by": world.clerk, "gifts": "重阳糕"})
    assert done.status_code == HTTPStatus.SEE_OTHER, _text(done.text)[:800]
    until(lambda: "100.0%" in b.get(path).text, "the unit's coverage at 100 %")

    token = b.csrf_of(path)
    closed = b.post(f"{path}/close", {"csrf": token})
    assert closed.status_code == HTTPStatus.SEE_OTHER
    assert "已结束" in b.get(closed.headers["location"]).text
    again = b.post(f"{path}/close", {"csrf": token})
    assert again.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "该节日慰问活动已结束" in again.text  # the service's refusal, in Chinese


def test_a_campaign_with_a_past_due_date_is_refused_in_chinese(world: OfficeWorld, browser_for: Any) -> None:
    b: Browser = browser_for(world.office)
    token = b.csrf_of("/district/campaigns/new")
    reply = b.post("/district/campaigns", {"csrf": token, "festival": "mid_autumn", "year": "2020",
                                           "title": "过期的活动", "due_on": "2020-10-01", "units": world.unit})
    assert reply.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "已过" in reply.text


def _case_status(b: Browser, path: str) -> str:
    page = b.get(path)
    if page.status_code != HTTPStatus.OK:
        return ""
    found = re.search(r'class="case-status">([^<]*)<', page.text)
    return found.group(1) if found else ""


def _act(b: Browser, path: str, action: str, fields: dict[str, str]) -> httpx.Response:
    return b.post(f"{path}/{action}", {"csrf": b.csrf_of(path), **fields})


def test_an_assistance_case_moves_through_approval_and_payment(world: OfficeWorld, browser_for: Any) -> None:
    b: Browser = browser_for(world.office)
    token = b.csrf_of("/district/assistance")
    opened = b.post("/district/assistance", {"csrf": token, "retiree_id": world.people["刘国栋"],
                                             "unit": world.unit, "reason": "老伴重病，医疗费用负担重",
                                             "amount_requested": "3000"})
    assert opened.status_code == HTTPStatus.SEE_OTHER, _text(opened.text)[:800]
    path = opened.headers["location"].split("?")[0]
    assert until(lambda: _case_status(b, path) == "待评估", "the new case's page")
    assert "刘国栋" in b.get(path).text

    assessed = _act(b, path, "assess", {"finding": "情况属实", "recommended_amount": "3000"})
    assert assessed.status_code == HTTPStatus.SEE_OTHER
    until(lambda: _case_status(b, path) == "已评估，待审批", "the case assessed")
    too_much = _act(b, path, "approve", {"amount": "30000"})
    assert too_much.status_code == HTTPStatus.FORBIDDEN
    assert "超过审批权限" in _text(too_much.text)  # care's refusal, next to the form
    assert _act(b, path, "approve", {"amount": "3000"}).status_code == HTTPStatus.SEE_OTHER
    until(lambda: _case_status(b, path) == "已批准，待发放", "the case approved")
    paid = _act(b, path, "pay", {"paid_on": datetime.now(LOCAL_TZ).date().isoformat(), "amount": "3000",
                                 "voucher": "PZ-2026-001"})
    assert paid.status_code == HTTPStatus.SEE_OTHER, _text(paid.text)[:800]
    until(lambda: _case_status(b, path) == "已发放", "the case paid")
    case_id = path.rsplit("/", 1)[1]
    assert b.get("/district/assistance", params={"case": case_id}).headers["location"] == path
    # The list of cases (care's ListAssistanceCases) shows it, with the person's name and its state.
    listed = b.get("/district/assistance").text
    assert f"/district/assistance/{case_id}" in listed and "已发放" in _text(listed) and "刘国栋" in listed
