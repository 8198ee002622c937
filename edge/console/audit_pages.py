"""审计：按时点查询 — a retiree, a unit's task list or a unit's scores as they stood at a past time; and 查阅记录,
the read-access log filtered by person, reader, the reader's unit and dates (the district office).

Each page asks the owning service its live query with `as_of` (docs/audit-as-of.md), with the person's own
credential: what they may see today, as it stood then. A time typed in the form is Beijing time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from contracts.base import LOCAL_TZ, Refused
from edge.console.labels import now_beijing_input
from edge.console.names import UNIT_NAMES
from edge.console.sessions import ConsoleSession
from edge.console.web import RefusedError, console, current, render

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


def _day(text: str) -> datetime | None:
    """A date typed in the form (Beijing time): its midnight, or None."""
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=LOCAL_TZ) if text.strip() else None
    except ValueError:
        return None


@router.get("/audit/reads", response_class=HTMLResponse)
async def reads(  # noqa: PLR0913 - the form's fields
    request: Request, session: Session, retiree_id: str = "", user: str = "", unit: str = "", since: str = "",
    until: str = "",
) -> HTMLResponse:
    """查阅记录: who read whose personal data, for the district office (profiles' chained read-access log)."""
    values = {"retiree_id": retiree_id.strip(), "user": user.strip(), "unit": unit.strip(), "since": since,
              "until": until}
    body: dict[str, Any] = {"limit": 500, **{k: values[k] for k in ("retiree_id", "user") if values[k]}}
    if values["unit"]:
        body["actor_unit"] = values["unit"]
    first, last = _day(since), _day(until)
    message = ""
    if (since.strip() and first is None) or (until.strip() and last is None):
        message = "日期格式有误，请填写如 2027-03-05"
    else:
        if first is not None:
            body["since"] = first.isoformat()
        if last is not None:
            body["until"] = (last + timedelta(days=1)).isoformat()  # the whole last day
    rows: list[Any] = []
    if not message:
        for service in LOGS:  # each service that opens personal data keeps its own log: all of them, merged
            reply = await console(request).bus.query(session.credentials, service, "ListReadAccess", body)
            if isinstance(reply, Refused):
                raise RefusedError(reply)
            rows += [_entry(service, r) for r in reply.data]
        rows.sort(key=lambda r: str(r["at"]), reverse=True)
    return render(request, "audit_reads.html", values=values, rows=rows[:500], message=message)


LOGS = {"profiles": "档案", "care": "关怀", "ceremony": "文书"}
DOCUMENT_ZH = {"certificate": "荣誉退休证", "thank_you_letter": "感谢信"}


def _entry(service: str, row: dict[str, Any]) -> dict[str, Any]:
    """One line of the merged log: what was read, said the same way whichever log it is from."""
    purpose: str | None
    if service == "care":
        what, purpose, ok = "关怀信息（住院、独居等）", "办理关怀", True
    elif service == "ceremony":
        what, purpose, ok = f"下载{DOCUMENT_ZH.get(row.get('document', ''), '文书')}", row.get("purpose"), True
    else:
        what, purpose, ok = "、".join(row.get("fields") or []), row.get("purpose"), bool(row.get("success"))
    return {**row, "log": LOGS[service], "what": what, "purpose": purpose, "success": ok,
            "detail": row.get("detail") if service == "profiles" else None}
