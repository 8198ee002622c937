"""审计：按时点查询 — a retiree, a unit's task list or a unit's scores as they stood at a past time.

Each page asks the owning service its live query with `as_of` (docs/audit-as-of.md), with the person's own
credential: what they may see today, as it stood then. A time typed in the form is Beijing time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from contracts.base import LOCAL_TZ, Refused
from edge.console.labels import now_beijing_input
from edge.console.names import UNIT_NAMES
from edge.console.sessions import ConsoleSession
from edge.console.web import console, current, render

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(current)]
AUDIT_PURPOSE = "审计：按时点查看档案"
KINDS = {"retiree": "人员档案", "tasks": "单位关怀任务清单", "scores": "单位工作质量考评"}


def _moment(text: str) -> datetime | None:
    """A datetime-local value (Beijing time), or one with an offset; None if it is not a time."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=LOCAL_TZ)


@router.get("/audit", response_class=HTMLResponse)
async def as_of(  # noqa: PLR0913 - the form's fields
    request: Request, session: Session, kind: str = "", at: str = "", retiree_id: str = "", unit: str = "",
    period: str = "",
) -> HTMLResponse:
    bus, creds = console(request).bus, session.credentials
    units = await UNIT_NAMES.get(bus, creds)
    values = {"kind": kind or "tasks", "at": at or now_beijing_input(), "retiree_id": retiree_id,
              "unit": unit or ("" if session.actor.oversees_all else session.actor.unit), "period": period}
    result: Any = None
    message = ""
    if kind:
        moment = _moment(at)
        if kind not in KINDS:
            message = "请选择要查询的内容"
        elif moment is None:
            message = "请填写查询时点（北京时间），如 2027-03-05 10:30"
        else:
            service, query, body = _request(kind, moment, values)
            reply = await bus.query(creds, service, query, body)
            if isinstance(reply, Refused):
                message = reply.message
            else:
                result = reply.data
    return render(request, "audit.html", kinds=KINDS, values=values, result=result, message=message, units=units)


def _request(kind: str, moment: datetime, values: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    at = moment.isoformat()
    if kind == "retiree":
        return "profiles", "GetRetiree", {"retiree_id": values["retiree_id"].strip(), "as_of": at,
                                          "purpose": AUDIT_PURPOSE}
    if kind == "scores":
        body: dict[str, Any] = {"period": values["period"].strip(), "as_of": at}
        if values["unit"].strip():
            body["unit"] = values["unit"].strip()
        return "care", "GetUnitScores", body
    return "care", "ListTasks", {"unit": values["unit"].strip(), "view": "all", "limit": 2000, "as_of": at}
