"""今日工作, a task and its forms, and the inbox: the clerk's and the head's daily work."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from contracts.base import Refused, Role
from edge.console.forms import COMPLETE_TASK, FormState
from edge.console.labels import now_beijing_input
from edge.console.names import names_of
from edge.console.sessions import ConsoleSession
from edge.console.web import checked_form, console, current, data, render, see_other

router = APIRouter()
TASK_PURPOSE = "办理关怀任务"
HEADS = (Role.UNIT_HEAD, Role.PARTY_SECRETARY)
Session = Annotated[ConsoleSession, Depends(current)]


async def _tasks(request: Request, session: ConsoleSession, **query: Any) -> dict[str, Any]:
    reply = await console(request).bus.query(session.credentials, "care", "ListTasks", query)
    found: dict[str, Any] = data(reply)
    return found


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: Session) -> HTMLResponse:
    me = session.actor
    names_of_views = ("overdue", "today", "upcoming")
    asked = [_tasks(request, session, assignee=me.user, view=view, limit=100) for view in names_of_views]
    if me.role in HEADS:
        asked.append(_tasks(request, session, unit=me.unit, view="open", limit=500))
    answers = await asyncio.gather(*asked)  # one round trip's time, not four: care answers them side by side
    views = dict(zip(names_of_views, answers, strict=False))
    escalated = [t for t in answers[3]["items"] if t.get("escalation")] if me.role in HEADS else []
    every = [t for v in views.values() for t in v["items"]] + escalated
    names = await names_of(console(request).bus, session.credentials, (t["retiree_id"] for t in every), TASK_PURPOSE)
    return render(request, "home.html", views=views, escalated=escalated, names=names)


async def _task_page(request: Request, session: ConsoleSession, task_id: str, state: FormState,
                     status: int = 200) -> HTMLResponse:
    bus = console(request).bus
    task = data(await bus.query(session.credentials, "care", "GetTask", {"task_id": task_id}))
    person: dict[str, Any] = {}
    reveal = ["hospital"] if task["kind"] in ("hospital_visit", "discharge_follow_up") else []
    reply = await bus.query(session.credentials, "profiles", "GetRetiree",
                            {"retiree_id": task["retiree_id"], "reveal": reveal, "purpose": TASK_PURPOSE})
    if not isinstance(reply, Refused):
        person = reply.data
    if not state.values:
        state.values = {"done_at": now_beijing_input(), "done_by": session.actor.user,
                        "form": "hospital" if task["kind"] == "hospital_visit" else "home"}
    return render(request, "task.html", status, task=task, person=person, form=COMPLETE_TASK, state=state)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def show_task(request: Request, task_id: str, session: Session, draft: str | None = None) -> HTMLResponse:
    kept = console(request).sessions.take_draft(draft, f"/tasks/{task_id}", session.actor.user)
    state = FormState(values=kept or {}, message="登录已恢复，您填写的内容已保留，请核对后提交" if kept else "")
    return await _task_page(request, session, task_id, state)


def _completion(form: dict[str, str]) -> dict[str, Any]:
    body = COMPLETE_TASK.body(form)
    if isinstance(body.get("done_by"), str):
        body["done_by"] = [p for p in re.split(r"[、,，;；\s]+", body["done_by"]) if p]
    when = str(body.get("done_at", ""))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", when):
        body["done_at"] = f"{when}:00+08:00"  # typed in Beijing time
    return body


@router.post("/tasks/{task_id}/complete", response_model=None)
async def complete_task(request: Request, task_id: str, session: Session) -> Response:
    form = await checked_form(request, session)
    reply = await console(request).bus.command(session.credentials, "care", "CompleteTask",
                                               {"task_id": task_id, **_completion(form)})
    if isinstance(reply, Refused):
        state = FormState.refused(form, reply, COMPLETE_TASK)
        return await _task_page(request, session, task_id, state, 422)
    return see_other(f"/tasks/{task_id}?done=1")


# The two small forms of a task page: the command, and the one field it takes from the form.
TASK_ACTIONS = {"assign": ("AssignTask", "assignee"), "cancel": ("CancelTask", "reason")}


@router.post("/tasks/{task_id}/{action}", response_model=None)
async def task_action(request: Request, task_id: str, action: str, session: Session) -> Response:
    """改派 (assign) or 取消 (cancel, with its reason); a refusal shows the task page again with its reason."""
    form = await checked_form(request, session)
    if action not in TASK_ACTIONS:
        return render(request, "refused.html", 404, title="没有找到", refusal=None, text="没有这项操作")
    command, field_name = TASK_ACTIONS[action]
    reply = await console(request).bus.command(session.credentials, "care", command,
                                               {"task_id": task_id, field_name: form.get(field_name, "").strip()})
    if isinstance(reply, Refused):
        return await _task_page(request, session, task_id, FormState(message=reply.message), 422)
    return see_other(f"/tasks/{task_id}")


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, session: Session) -> HTMLResponse:
    found = data(await console(request).bus.query(session.credentials, "notify", "ListInbox",
                                                  {"recipient": f"staff:{session.actor.user}", "limit": 100}))
    return render(request, "inbox.html", messages=found.get("items", found) if isinstance(found, dict) else found)


@router.get("/inbox/{message_id}", response_class=HTMLResponse)
async def inbox_message(request: Request, message_id: str, session: Session) -> HTMLResponse:
    bus = console(request).bus
    found = data(await bus.query(session.credentials, "notify", "ListInbox",
                                 {"recipient": f"staff:{session.actor.user}", "limit": 500}))
    items = found.get("items", found) if isinstance(found, dict) else found
    message = next((m for m in items if str(m.get("message_id", m.get("id"))) == message_id), None)
    if message is None:
        return render(request, "refused.html", 404, title="没有找到", refusal=None, text="没有这条消息")
    if not message.get("read_at"):
        await bus.command(session.credentials, "notify", "MarkRead", {"message_id": message_id})
    return render(request, "message.html", message=message)
