"""人员: find a person, their page (facts, what happened, what was done, open tasks), and the life event forms."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from contracts.base import Refused
from edge.console.forms import LIFE_EVENTS, NEW_RETIREE, FormState, LifeEventForm
from edge.console.names import UNIT_NAMES
from edge.console.sessions import ConsoleSession
from edge.console.web import checked_form, console, current, data, render, see_other

router = APIRouter()
SEARCH_PURPOSE = "查找人员"
PAGE_PURPOSE = "查看人员档案"
Session = Annotated[ConsoleSession, Depends(current)]


@router.get("/retirees", response_class=HTMLResponse)
async def search(request: Request, session: Session, q: str = "") -> HTMLResponse:
    text = q.strip()
    found: list[dict[str, Any]] = []
    message = ""
    if text:
        reply = await console(request).bus.query(session.credentials, "profiles", "SearchRetirees",
                                                  {"text": text, "purpose": SEARCH_PURPOSE, "limit": 50})
        if isinstance(reply, Refused):
            message = reply.message
        else:
            found = reply.data.get("items", []) if isinstance(reply.data, dict) else reply.data
            message = "" if found else f"没有找到与“{text}”相符的人员"
    units = await UNIT_NAMES.get(console(request).bus, session.credentials)
    return render(request, "search.html", q=text, found=found, message=message, units=units)


@router.get("/retirees/{retiree_id}", response_class=HTMLResponse)
async def person(request: Request, retiree_id: str, session: Session) -> HTMLResponse:
    bus, creds = console(request).bus, session.credentials
    facts = data(await bus.query(creds, "profiles", "GetRetiree",
                                 {"retiree_id": retiree_id, "purpose": PAGE_PURPOSE}))
    history = await bus.query(creds, "profiles", "GetRetireeHistory", {"retiree_id": retiree_id})
    tasks = await bus.query(creds, "care", "ListTasks", {"unit": facts["unit"], "retiree_id": retiree_id,
                                                          "view": "all", "limit": 200})
    events = [] if isinstance(history, Refused) else _items(history.data)
    task_list = [] if isinstance(tasks, Refused) else _items(tasks.data)
    units = await UNIT_NAMES.get(bus, creds)
    return render(request, "person.html", person=facts, events=events, tasks=task_list, forms=LIFE_EVENTS,
                  done=request.query_params.get("done"), units=units)


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        for key in ("items", "events"):
            if key in value:
                return list(value[key])
        return []
    return list(value)


def _form_page(request: Request, spec: LifeEventForm, action: str, state: FormState, *,  # noqa: PLR0913 - a form page's parts
               person: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    return render(request, "event_form.html", status, spec=spec, action=action, state=state, person=person)


def _kept(request: Request, session: ConsoleSession, path: str, draft: str | None) -> FormState:
    kept = console(request).sessions.take_draft(draft, path, session.actor.user)
    return FormState(values=kept or {}, message="登录已恢复，您填写的内容已保留，请核对后提交" if kept else "")


@router.get("/retirees-new", response_class=HTMLResponse)
async def new_person(request: Request, session: Session, draft: str | None = None) -> HTMLResponse:
    state = _kept(request, session, "/retirees-new", draft)
    state.values.setdefault("unit", session.actor.unit if not session.actor.oversees_all else "")
    return _form_page(request, NEW_RETIREE, "/retirees-new", state)


@router.post("/retirees-new", response_model=None)
async def register(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    retiree_id = form.get("retiree_id") or str(uuid.uuid4())  # made by the system, kept across a refusal
    reply = await console(request).bus.command(session.credentials, "profiles", "RegisterRetiree",
                                               {"retiree_id": retiree_id, **NEW_RETIREE.body(form)})
    if isinstance(reply, Refused):
        state = FormState.refused({**form, "retiree_id": retiree_id}, reply, NEW_RETIREE)
        return _form_page(request, NEW_RETIREE, "/retirees-new", state, status=422)
    return see_other(f"/retirees/{retiree_id}?done=RegisterRetiree")


@router.get("/retirees/{retiree_id}/record/{command}", response_class=HTMLResponse)
async def event_form(request: Request, retiree_id: str, command: str, session: Session,
                     draft: str | None = None) -> HTMLResponse:
    spec = LIFE_EVENTS.get(command)
    if spec is None:
        return render(request, "refused.html", 404, title="没有找到", refusal=None, text="没有这项登记")
    facts = data(await console(request).bus.query(session.credentials, "profiles", "GetRetiree",
                                                  {"retiree_id": retiree_id, "purpose": PAGE_PURPOSE}))
    path = f"/retirees/{retiree_id}/record/{command}"
    return _form_page(request, spec, path, _kept(request, session, path, draft), person=facts)


@router.post("/retirees/{retiree_id}/record/{command}", response_model=None)
async def record(request: Request, retiree_id: str, command: str, session: Session) -> Response:
    spec = LIFE_EVENTS.get(command)
    if spec is None:
        return render(request, "refused.html", 404, title="没有找到", refusal=None, text="没有这项登记")
    form = await checked_form(request, session)
    bus = console(request).bus
    facts = data(await bus.query(session.credentials, "profiles", "GetRetiree",
                                 {"retiree_id": retiree_id, "purpose": PAGE_PURPOSE}))
    body = {"retiree_id": retiree_id, **spec.body(form)}
    if spec.with_unit:
        body["unit"] = facts["unit"]
    reply = await bus.command(session.credentials, "profiles", command, body)
    if isinstance(reply, Refused):
        state = FormState.refused(form, reply, spec)
        path = f"/retirees/{retiree_id}/record/{command}"
        return _form_page(request, spec, path, state, person=facts, status=422)
    return see_other(f"/retirees/{retiree_id}?done={command}")
