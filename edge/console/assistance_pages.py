"""困难帮扶: the district office opens an assistance case, assesses it, approves it (within its approval limit:
care enforces it and its refusal is shown), rejects it, and records the payment.

Care has no query that lists cases: the list page finds a case by its number (a case opened here leads to its own
page) and opens new ones; cases opened by a hardship report are named by the report (docs/care.md).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from contracts.base import Refused
from edge.console.district_pages import Office, units_of_district
from edge.console.forms import FormState, Input, LifeEventForm
from edge.console.labels import today_beijing
from edge.console.names import names_of
from edge.console.sessions import ConsoleSession
from edge.console.web import STATUS, TEMPLATES, checked_form, console, data, render, see_other

router = APIRouter()
PURPOSE = "办理困难帮扶"
UUID_TEXT = re.compile(r"^[0-9a-fA-F-]{36}$")
STATUS_ZH = {"open": "待评估", "assessed": "已评估，待审批", "approved": "已批准，待发放", "rejected": "未予批准",
             "paid": "已发放"}
TEMPLATES.env.filters["assistance_zh"] = lambda s: STATUS_ZH.get(s, s)

APPLY = LifeEventForm("ApplyForAssistance", "代为申请困难帮扶", (
    Input("retiree_id", "人员编号", hint="人员页面上的编号"), Input("unit", "所在单位代码", hint="如：U0001"),
    Input("reason", "困难情况（加密保存）", "textarea"),
    Input("amount_requested", "申请金额（元，选填）", "number", required=False)))
# Each action of a case: its form, and the statuses it is offered in.
ACTIONS: dict[str, tuple[LifeEventForm, tuple[str, ...]]] = {
    "assess": (LifeEventForm("AssessAssistance", "评估", (
        Input("finding", "评估意见（加密保存）", "textarea"),
        Input("recommended_amount", "建议金额（元）", "number"))), ("open",)),
    "approve": (LifeEventForm("ApproveAssistance", "批准", (Input("amount", "批准金额（元）", "number"),),
                              note="超过本人审批权限的金额，系统将拒绝并说明应由谁审批。"), ("open", "assessed")),
    "reject": (LifeEventForm("RejectAssistance", "不予批准", (Input("reason", "理由"),), danger=True),
               ("open", "assessed")),
    "pay": (LifeEventForm("PayAssistance", "记录发放", (
        Input("paid_on", "发放日期", "date"), Input("amount", "发放金额（元）", "number"),
        Input("voucher", "凭证号"))), ("approved",)),
}


@router.get("/district/assistance", response_model=None)
async def assistance(request: Request, session: Office, case: str = "") -> Response:
    if case.strip():
        if UUID_TEXT.fullmatch(case.strip()):
            return see_other(f"/district/assistance/{case.strip()}")
        return await _list_page(request, session, FormState(), "请填写完整的申请编号（36 位）", 422)
    return await _list_page(request, session, FormState())


async def _list_page(request: Request, session: ConsoleSession, state: FormState, message: str = "",
                     status: int = 200) -> HTMLResponse:
    units = await units_of_district(request, session)
    bus = console(request).bus
    cases = list(data(await bus.query(session.credentials, "care", "ListAssistanceCases", {})))
    names = await names_of(bus, session.credentials, [c["retiree_id"] for c in cases], PURPOSE)
    return render(request, "assistance.html", status, form=APPLY, state=state, message=message, units=units,
                  cases=cases, names=names)


@router.post("/district/assistance", response_model=None)
async def apply(request: Request, session: Office) -> Response:
    form = await checked_form(request, session)
    case_id = str(uuid.uuid4())
    reply = await console(request).bus.command(session.credentials, "care", "ApplyForAssistance",
                                               {"case_id": case_id, **APPLY.body(form)})
    if isinstance(reply, Refused):
        return await _list_page(request, session, FormState.refused(form, reply, APPLY), reply.message, 422)
    return see_other(f"/district/assistance/{case_id}?opened=1")


async def _case_page(request: Request, session: ConsoleSession, case_id: str, states: dict[str, FormState],
                     status: int = 200) -> HTMLResponse:
    bus = console(request).bus
    case: dict[str, Any] = data(await bus.query(session.credentials, "care", "GetAssistanceCase",
                                                {"case_id": case_id}))
    names = await names_of(bus, session.credentials, [case["retiree_id"]], PURPOSE)
    units = await units_of_district(request, session)
    offered = {key: spec for key, (spec, when) in ACTIONS.items() if case["status"] in when}
    for key in offered:
        states.setdefault(key, FormState(values=_defaults(key, case)))
    done = {"opened": "已登记申请。", "done": "已办理。"}
    notice = next((text for key, text in done.items() if request.query_params.get(key) == "1"), "")
    return render(request, "assistance_case.html", status, case=case, name=names.get(str(case["retiree_id"]), "—"),
                  unit_name=units.get(case["unit"], case["unit"]), offered=offered, states=states, notice=notice)


def _defaults(action: str, case: dict[str, Any]) -> dict[str, str]:
    suggested = case.get("recommended") or case.get("amount_requested")
    if action == "approve" and suggested is not None:
        return {"amount": str(suggested)}
    if action == "pay":
        return {"paid_on": today_beijing(), "amount": str(case.get("approved_amount") or "")}
    return {}


@router.get("/district/assistance/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str, session: Office) -> HTMLResponse:
    return await _case_page(request, session, case_id, {})


@router.post("/district/assistance/{case_id}/{action}", response_model=None)
async def case_action(request: Request, case_id: str, action: str, session: Office) -> Response:
    form = await checked_form(request, session)
    if action not in ACTIONS:
        return render(request, "refused.html", 404, title="没有找到", refusal=None, text="没有这项操作")
    spec, _ = ACTIONS[action]
    reply = await console(request).bus.command(session.credentials, "care", spec.command,
                                               {"case_id": case_id, **spec.body(form)})
    if isinstance(reply, Refused):
        state = FormState.refused(form, reply, spec)
        return await _case_page(request, session, case_id, {action: state}, STATUS.get(reply.code, 422))
    return see_other(f"/district/assistance/{case_id}?done=1")
