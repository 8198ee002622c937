"""节日慰问: the district office launches a festival campaign, follows each unit's progress, and closes it.

Care has no query that lists campaigns: the list is found from the units' tasks (each campaign visit task names
its campaign) and each campaign's progress is asked with GetCampaignProgress. A campaign that reached nobody has
no task, so it is not on the list; its own page (where the launch leads) still shows it.
The due date of 春节, 中秋 and 重阳 is proposed from the lunar calendar (lunardate).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from lunardate import LunarDate  # type: ignore[import-untyped]

from contracts.base import LOCAL_TZ, Refused
from contracts.care import FESTIVAL_ZH, Festival
from contracts.errors import ErrorCode
from edge.console.charts import bar_chart
from edge.console.district_pages import Office, units_of_district
from edge.console.sessions import ConsoleSession
from edge.console.web import TEMPLATES, checked_form, console, data, render, see_other

router = APIRouter()
LUNAR: dict[Festival, tuple[int, int]] = {Festival.SPRING: (1, 1), Festival.MID_AUTUMN: (8, 15),
                                          Festival.DOUBLE_NINTH: (9, 9)}
# The age bands a campaign may reach (ages in the campaign's year); 重阳's default is all of them (practice).
BANDS: dict[str, tuple[int, int | None]] = {"70": (70, 70), "75": (75, 75), "80": (80, 80), "85": (85, 85),
                                           "90": (90, None)}
BAND_ZH = {"70": "70 岁", "75": "75 岁", "80": "80 岁", "85": "85 岁", "90": "90 岁及以上"}


def festival_of(value: str) -> Festival | None:
    try:
        return Festival(value)
    except ValueError:
        return None


def festival_zh(value: str) -> str:
    found = festival_of(value)
    return FESTIVAL_ZH[found] if found is not None else value


TEMPLATES.env.filters["festival_zh"] = festival_zh


def lunar_festival(festival: Festival, year: int) -> date | None:
    """The day of a lunar festival in a Gregorian year (春节 of 2027 is 2027-02-06), None for the others."""
    if festival not in LUNAR:
        return None
    month, day = LUNAR[festival]
    solar: date = LunarDate(year, month, day).toSolarDate()
    return solar


def _year() -> int:
    return datetime.now(LOCAL_TZ).year


def proposals(year: int) -> dict[str, str]:
    """The proposed due dates of the year (each lunar festival's own day), by festival value."""
    return {f.value: d.isoformat() for f in LUNAR if (d := lunar_festival(f, year)) is not None}


@router.get("/district/campaigns", response_class=HTMLResponse)
async def campaigns(request: Request, session: Office) -> HTMLResponse:
    """Every campaign, newest first (care's ListCampaigns), with its tasks done of those owed."""
    found = list(data(await console(request).bus.query(session.credentials, "care", "ListCampaigns", {})))
    for c in found:
        c["owed"] = c["tasks"] - c["cancelled"]
    return render(request, "campaigns.html", campaigns=found)


def _form_values(year: int, festival: str = Festival.DOUBLE_NINTH.value) -> dict[str, Any]:
    fest = festival_of(festival) or Festival.DOUBLE_NINTH
    due = lunar_festival(fest, year)
    return {"festival": fest.value, "year": str(year), "title": f"{year}年{FESTIVAL_ZH[fest]}走访慰问",
            "due_on": due.isoformat() if due else "", "units": [], "bands": list(BANDS) if fest is
            Festival.DOUBLE_NINTH else []}


async def _launch_page(request: Request, session: ConsoleSession, values: dict[str, Any], message: str = "",
                       status: int = 200) -> HTMLResponse:
    units = await units_of_district(request, session)
    year = int(values["year"]) if str(values.get("year", "")).isdigit() else _year()
    return render(request, "campaign_new.html", status, values=values, message=message, units=units,
                  festivals=FESTIVAL_ZH, bands=BAND_ZH, proposals=proposals(year))


@router.get("/district/campaigns/new", response_class=HTMLResponse)
async def new_campaign(request: Request, session: Office, festival: str = "", year: str = "") -> HTMLResponse:
    """The launch form; choosing a festival (and year) first fills in its proposed date."""
    chosen_year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else _year()  # noqa: PLR2004
    return await _launch_page(request, session, _form_values(chosen_year, festival or Festival.DOUBLE_NINTH.value))


@router.post("/district/campaigns", response_model=None)
async def launch(request: Request, session: Office) -> Response:
    form = await checked_form(request, session)
    multi = await request.form()
    units = [str(u) for u in multi.getlist("units") if isinstance(u, str) and u]
    bands = [str(b) for b in multi.getlist("bands") if isinstance(b, str) and b in BANDS]
    values: dict[str, Any] = {**form, "units": units, "bands": bands}
    festival = form.get("festival", "")
    year = form.get("year", "").strip()
    due_on = form.get("due_on", "").strip()
    fest = festival_of(festival)
    if not due_on and fest is not None and year.isdigit():
        proposed = lunar_festival(fest, int(year))
        due_on = proposed.isoformat() if proposed else ""
    campaign_id = str(uuid.uuid4())
    body = {"campaign_id": campaign_id, "festival": festival, "title": form.get("title", "").strip(),
            "year": int(year) if year.isdigit() else year, "due_on": due_on,
            "scope": {"units": units, "age_bands": [list(BANDS[b]) for b in bands]}}
    reply = await console(request).bus.command(session.credentials, "care", "LaunchCampaign", body)
    if isinstance(reply, Refused):
        return await _launch_page(request, session, values, reply.message, 422)
    return see_other(f"/district/campaigns/{campaign_id}?launched=1")


async def _progress_page(request: Request, session: ConsoleSession, campaign_id: str, message: str = "",
                         status: int = 200) -> HTMLResponse:
    reply = await console(request).bus.query(session.credentials, "care", "GetCampaignProgress",
                                             {"campaign_id": campaign_id})
    launched = request.query_params.get("launched") == "1"
    if isinstance(reply, Refused) and reply.code is ErrorCode.NOT_FOUND and launched:
        return render(request, "campaign.html", status, campaign=None, campaign_id=campaign_id, chart="",
                      message="活动已发起，正在为各单位生成走访任务，请稍候刷新本页。", units={}, error=False)
    camp: dict[str, Any] = data(reply)
    units = await units_of_district(request, session)
    chart = bar_chart([(units.get(u["unit"], u["unit"]), None if u["coverage"] is None else u["coverage"] * 100)
                       for u in camp["per_unit"]], title=f"{camp['title']} 各单位完成率（%）", key="camp")
    return render(request, "campaign.html", status, campaign=camp, campaign_id=campaign_id, chart=chart,
                  message=message or _done_message(request), units=units, error=status >= 400)  # noqa: PLR2004


def _done_message(request: Request) -> str:
    if request.query_params.get("launched") == "1":
        return "活动已发起，各单位的走访任务已生成。"
    return "活动已结束。" if request.query_params.get("closed") == "1" else ""


@router.get("/district/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign(request: Request, campaign_id: str, session: Office) -> HTMLResponse:
    return await _progress_page(request, session, campaign_id)


@router.post("/district/campaigns/{campaign_id}/close", response_model=None)
async def close(request: Request, campaign_id: str, session: Office) -> Response:
    await checked_form(request, session)
    reply = await console(request).bus.command(session.credentials, "care", "CloseCampaign",
                                               {"campaign_id": campaign_id})
    if isinstance(reply, Refused):
        return await _progress_page(request, session, campaign_id, reply.message, 422)
    return see_other(f"/district/campaigns/{campaign_id}?closed=1")
