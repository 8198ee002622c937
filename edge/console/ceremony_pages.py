"""荣誉退休: a unit's cases by status, one case with its forms (consent, schedule, the 6+X items, hold, handover),
and the download of its certificate and thank-you letter (GetDocument: the purpose is asked, ceremony logs it).

Every change is one of ceremony's own commands; the console only turns the typed text into its JSON.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from contracts.base import Refused
from contracts.ceremony import CHECKLIST_ZH, ChecklistItem, HandoverStep
from contracts.errors import ErrorCode
from edge.console.forms import FormState, Input, LifeEventForm
from edge.console.labels import today_beijing
from edge.console.names import UNIT_NAMES, names_of
from edge.console.sessions import ConsoleSession
from edge.console.web import checked_form, console, current, data, render, see_other

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(current)]
PURPOSE = "办理荣誉退休"

STATUSES = (("awaiting_consent", "待征求意愿"), ("consented", "已同意，待安排"), ("scheduled", "已安排"),
            ("held", "已举办"), ("declined", "本人谢绝"), ("closed", "已终止"))
STATUS_ZH = dict(STATUSES)
OPEN_STATUSES = ("awaiting_consent", "consented", "scheduled")
MODE_ZH = {"individual": "逐人举办（批准后一个月内）", "half_year_batch": "每半年集中举办"}
HANDOVER_ZH = {"open": "办理中", "completed": "已完成", "closed": "已终止"}
STEP_ZH = {HandoverStep.BENEFITS_EXPLAINED: "讲解退休待遇和政策规定", HandoverStep.ARCHIVE_CREATED: "建立退休人员档案",
           HandoverStep.HANDED_OVER: "与区委老干部局对接（由老干部局确认）",
           HandoverStep.WECHAT_GROUP_JOINED: "纳入退休人员微信群",
           HandoverStep.COMMUNITY_REGISTERED: "到居住地社区报到（选填）"}
DOCUMENTS = {"certificate": ("荣誉退休证", "certificate_path"), "thank_you_letter": ("感谢信", "letter_path")}
BATCH = re.compile(r"-(\d{4})H([12])$")

_DATE = "date"
# action -> the command and its inputs (named as the command's fields, so a refusal lands next to the input).
ACTIONS: dict[str, LifeEventForm] = {
    "consent": LifeEventForm("GiveConsent", "本人同意举办", ()),
    "decline": LifeEventForm("DeclineConsent", "本人谢绝", (Input("reason", "谢绝原因"),)),
    "schedule": LifeEventForm("ScheduleCeremony", "安排仪式", (
        Input("held_on", "举办日期", _DATE), Input("venue", "地点"))),
    "reschedule": LifeEventForm("RescheduleCeremony", "改期", (
        Input("held_on", "新日期", _DATE), Input("venue", "地点"), Input("reason", "改期原因"))),
    "batch-schedule": LifeEventForm("ScheduleBatchCeremony", "安排本批集中仪式", (
        Input("held_on", "举办日期", _DATE), Input("venue", "地点"))),
    "batch-reschedule": LifeEventForm("RescheduleBatchCeremony", "本批改期", (
        Input("held_on", "新日期", _DATE), Input("venue", "地点"), Input("reason", "改期原因"))),
    "decision_announced": LifeEventForm("AnnounceDecision", CHECKLIST_ZH[ChecklistItem.DECISION_ANNOUNCED], (
        Input("document_number", "退休决定文号", hint="如：区人社〔2026〕12号"),)),
    "thank_you_letter": LifeEventForm("GiveThankYouLetter", CHECKLIST_ZH[ChecklistItem.THANK_YOU_LETTER], (
        Input("signed_by", "署名（单位负责人）"),)),
    "certificate": LifeEventForm("IssueCertificate", CHECKLIST_ZH[ChecklistItem.CERTIFICATE], (),
                                 note="系统按本单位年度顺序编号并生成退休证。"),
    "plaque": LifeEventForm("GivePlaque", CHECKLIST_ZH[ChecklistItem.PLAQUE], (
        Input("inscription", "铭文（选填）", required=False),)),
    "souvenir": LifeEventForm("GiveSouvenir", CHECKLIST_ZH[ChecklistItem.SOUVENIR], (Input("souvenir", "纪念品"),)),
    "farewell_remarks": LifeEventForm("RecordFarewellRemarks", CHECKLIST_ZH[ChecklistItem.FAREWELL_REMARKS], (
        Input("text", "感言", "textarea"),)),
    "extra": LifeEventForm("RecordExtraItem", "X：其他内容", (
        Input("item", "内容", hint="合影留念、献花、退休第一课……"), Input("note", "说明（选填）", required=False))),
    "hold": LifeEventForm("HoldCeremony", "登记仪式已举办", (Input("held_on", "举办日期", _DATE),)),
    "handover": LifeEventForm("CompleteHandoverStep", "对接步骤", (Input("note", "说明（选填）", required=False),)),
}
ITEM_ACTIONS = tuple(i.value for i in ChecklistItem)


def _unit_of(session: ConsoleSession, asked: str) -> str | None:
    """The unit whose cases are shown: staff their own; the district office the one it chose (None: not yet)."""
    if session.actor.oversees_all:
        return asked.strip() or None
    return session.actor.unit


def _overdue(case: dict[str, Any], today: str) -> bool:
    due = str(case.get("ceremony_due_on") or "")
    return bool(case.get("ceremony_overdue")) or (case.get("status") in OPEN_STATUSES and bool(due) and due < today)


@router.get("/ceremonies", response_class=HTMLResponse)
async def cases(request: Request, session: Session, unit: str = "") -> HTMLResponse:
    bus, creds = console(request).bus, session.credentials
    units = await UNIT_NAMES.get(bus, creds)
    code = _unit_of(session, unit)
    if code is None:
        return render(request, "ceremonies.html", unit=None, units=units, groups=[], names={})
    found: list[dict[str, Any]] = data(await bus.query(creds, "ceremony", "ListCases", {"unit": code}))
    names = await names_of(bus, creds, (c["retiree_id"] for c in found), PURPOSE)
    today = today_beijing()
    for c in found:
        c["overdue"] = _overdue(c, today)
    groups = [(status, zh, [c for c in found if c["status"] == status]) for status, zh in STATUSES]
    return render(request, "ceremonies.html", unit=code, units=units, groups=groups, names=names,
                  modes=MODE_ZH, done=request.query_params.get("done"), message="")


@router.post("/ceremonies/mode", response_model=None)
async def set_mode(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    code = _unit_of(session, form.get("unit", "")) or ""
    reply = await console(request).bus.command(session.credentials, "ceremony", "SetCeremonyMode",
                                               {"unit": code, "mode": form.get("mode", "")})
    if isinstance(reply, Refused):
        return render(request, "refused.html", 422, title="无法办理", refusal=reply)
    return see_other(f"/ceremonies?unit={quote(code)}&done=mode")


async def _case_page(request: Request, session: ConsoleSession, retiree_id: str, *,  # noqa: PLR0913 - a page's parts
                     state: FormState | None = None, action: str = "", status: int = 200) -> HTMLResponse:
    bus, creds = console(request).bus, session.credentials
    case: dict[str, Any] = data(await bus.query(creds, "ceremony", "GetCase", {"retiree_id": retiree_id}))
    names = await names_of(bus, creds, [retiree_id], PURPOSE)
    units = await UNIT_NAMES.get(bus, creds)
    today = today_beijing()
    case["overdue"] = _overdue(case, today)
    batch = BATCH.search(str(case.get("batch_id") or ""))
    return render(request, "ceremony_case.html", status, case=case, name=names.get(retiree_id, "（未能显示姓名）"),
                  units=units, today=today, state=state or FormState(), blank=FormState(), action=action,
                  actions=ACTIONS,
                  items=[(i.value, CHECKLIST_ZH[i]) for i in ChecklistItem], status_zh=STATUS_ZH, modes=MODE_ZH,
                  handover_zh=HANDOVER_ZH, steps=[(s.value, z) for s, z in STEP_ZH.items()],
                  batch=(batch.group(1), batch.group(2)) if batch else None, documents=DOCUMENTS,
                  done=request.query_params.get("done"))


@router.get("/ceremonies/{retiree_id}", response_class=HTMLResponse)
async def case_page(request: Request, retiree_id: str, session: Session) -> HTMLResponse:
    return await _case_page(request, session, retiree_id)


@router.post("/ceremonies/{retiree_id}/do/{action}", response_model=None)
async def act(request: Request, retiree_id: str, action: str, session: Session) -> Response:
    """One command of the case; a refusal shows the case again with its reason next to the form."""
    form = await checked_form(request, session)
    spec = ACTIONS.get(action)
    if spec is None:
        return render(request, "refused.html", 404, title="没有找到", refusal=None, text="没有这项操作")
    bus, creds = console(request).bus, session.credentials
    body: dict[str, Any] = spec.body(form)
    if action.startswith("batch-"):
        case = data(await bus.query(creds, "ceremony", "GetCase", {"retiree_id": retiree_id}))
        batch = BATCH.search(str(case.get("batch_id") or ""))
        if batch is None:
            return render(request, "refused.html", 422, title="无法办理", refusal=None,
                          text="该人员不在半年集中仪式批次中，请按个人安排仪式")
        body |= {"unit": case["unit"], "year": int(batch.group(1)), "half": int(batch.group(2))}
    else:
        body["retiree_id"] = retiree_id
    if action == "handover":
        body["step"] = form.get("step", "")
    reply = await bus.command(creds, "ceremony", spec.command, body)
    if isinstance(reply, Refused):
        return await _case_page(request, session, retiree_id, state=FormState.refused(form, reply, spec),
                                action=action, status=422)
    return see_other(f"/ceremonies/{retiree_id}?done={quote(action)}#{quote(action)}")


@router.post("/ceremonies/{retiree_id}/documents/{kind}", response_model=None)
async def download(request: Request, retiree_id: str, kind: str, session: Session) -> Response:
    """The PDF as an attachment, fetched through GetDocument with the purpose typed (ceremony logs the read)."""
    form = await checked_form(request, session)
    if kind not in DOCUMENTS:
        return render(request, "refused.html", 404, title="没有找到", refusal=None, text="没有这种文书")
    purpose = form.get("purpose", "").strip()
    action = f"download-{kind}"
    if not purpose:
        state = FormState(values=form, errors={"purpose": "请填写下载用途"}, message="下载文书须填写用途")
        return await _case_page(request, session, retiree_id, state=state, action=action, status=422)
    reply = await console(request).bus.query(session.credentials, "ceremony", "GetDocument",
                                             {"retiree_id": retiree_id, "kind": kind, "purpose": purpose})
    if isinstance(reply, Refused):
        if reply.code is ErrorCode.FORBIDDEN:
            data(reply)  # the refusal's own page
        state = FormState(values=form, message=reply.message)
        return await _case_page(request, session, retiree_id, state=state, action=action, status=422)
    document = reply.data
    content = base64.b64decode(document["content_base64"])
    filename = str(document.get("filename") or f"{kind}.pdf")
    disposition = f"attachment; filename=\"{kind}.pdf\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type="application/pdf", headers={"Content-Disposition": disposition})
