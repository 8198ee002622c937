"""A unit's task list as it stood at a time (某一时点的任务清单), for auditors: ListTasks with `as_of`.

Nothing is read from the board (care.tasks): the task events recorded up to T (by the platform time of
recording, the envelope's `occurred_at`) are folded, stream by stream, through the task aggregate's pure
`evolve` (care_task.py: status, overdue, assignee, unit, due time) and `evolve_row` below (what the board shows
besides: cause, period, opening time, the highest escalation, the completion, the cancel reason). The views are
judged at T exactly as ListTasks judges them now. Authorization is ListTasks' own (`todays_tasks.authorize`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from backbone.db import Connection, row_to_json
from backbone.envelope import parse
from backbone.events import decode
from contracts.base import LOCAL_TZ, Event, local_date
from contracts.care import (
    TASK_KIND_ZH,
    CareTaskCancelled,
    CareTaskEscalated,
    CareTaskOpened,
    ListTasks,
    TaskCompletion,
)
from contracts.errors import refused
from services.care import care_task, todays_tasks
from services.care.care_task import Status, Task


@dataclass(frozen=True)
class BoardRow:
    """One task as the board showed it: the aggregate's state plus what only the board keeps."""

    task: Task = field(default_factory=Task)
    cause: str | None = None
    period: str | None = None
    opened_at: datetime | None = None
    escalation: str | None = None
    done_at: datetime | None = None
    on_time: bool | None = None
    form: str | None = None
    cancel_reason: str | None = None


def evolve_row(row: BoardRow, event: Event, occurred_at: datetime) -> BoardRow:
    """Pure: the row after one more event of its task (the same facts todays_tasks' projection writes)."""
    row = replace(row, task=care_task.evolve(row.task, event))
    match event:
        case CareTaskOpened():
            return replace(row, cause=event.cause, period=event.period, opened_at=occurred_at)
        case CareTaskEscalated():
            return replace(row, escalation=event.level.value)
        case CareTaskCancelled():
            return replace(row, cancel_reason=event.reason)
        case TaskCompletion():
            return replace(row, done_at=event.done_at, on_time=event.on_time, form=event.form.value)
        case _:
            return row


def item(row: BoardRow) -> dict[str, Any]:
    """A ListTasks item, with the same keys and JSON forms as the live answer."""
    t = row.task
    assert t.kind is not None
    out = row_to_json({
        "task_id": t.task_id, "kind": t.kind.value, "retiree_id": t.retiree_id, "unit": t.unit,
        "assignee": t.assignee, "cause": row.cause, "period": row.period, "campaign_id": t.campaign_id,
        "for_survivor": t.for_survivor, "opened_at": row.opened_at, "due_at": t.due_at, "status": t.status.value,
        "overdue": t.overdue, "escalation": row.escalation, "done_at": row.done_at, "on_time": row.on_time,
        "form": row.form, "cancel_reason": row.cancel_reason, "policy_version": t.policy_version,
    })
    out["kind_zh"] = TASK_KIND_ZH[t.kind]
    return out


def not_after_now(at: datetime, now: datetime) -> datetime:
    """An as-of time is a time already past: the future has no recorded history to replay."""
    if at > now:
        raise refused(f"as_of {at.isoformat()} is after now ({now.isoformat()})",
                      zh=f"查询时点 {at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} 晚于当前时间，请填写过去的时间",
                      field="as_of")
    return at


def in_view(q: ListTasks, t: Task, at: datetime) -> bool:  # noqa: PLR0911 - one return per view
    """The live query's WHERE clause, judged at `at`."""
    assert t.due_at is not None
    if (q.unit is not None and t.unit != q.unit) or (q.assignee is not None and t.assignee != q.assignee):
        return False
    if q.retiree_id is not None and t.retiree_id != q.retiree_id:
        return False
    if q.view == "all":
        return True
    if t.status is not Status.OPEN:
        return False
    day_start = datetime.combine(local_date(at), time(0), LOCAL_TZ)
    day_end = day_start + timedelta(days=1)
    match q.view:
        case "today":
            return day_start <= t.due_at < day_end
        case "overdue":
            return t.due_at < at
        case "upcoming":
            return day_end <= t.due_at < day_start + timedelta(days=q.days_ahead + 1)
        case _:
            return True


async def board_at(conn: Connection, at: datetime, unit: str | None = None) -> dict[UUID, BoardRow]:
    """Every task as it stood at `at` (those that ever belonged to `unit`, when given), from care.events."""
    rows = await conn.fetch(
        "SELECT envelope FROM care.events WHERE stream_id LIKE 'task-%' AND occurred_at <= $1 "
        "AND ($2::text IS NULL OR stream_id IN (SELECT stream_id FROM care.events "
        "WHERE unit = $2 AND stream_id LIKE 'task-%' AND occurred_at <= $1)) ORDER BY stream_id, version",
        at, unit)
    board: dict[UUID, BoardRow] = {}
    for r in rows:
        env = parse(bytes(r["envelope"]))
        event = decode(env, "care")
        task_id = getattr(event, "task_id", None)
        if event is None or not isinstance(task_id, UUID):
            continue
        board[task_id] = evolve_row(board.get(task_id, BoardRow()), event, env.occurred_at)
    return {k: v for k, v in board.items() if v.task.status is not Status.NONE}


async def list_tasks(conn: Connection, q: ListTasks, now: datetime) -> dict[str, Any]:
    """ListTasks: the live board, or (with `as_of`) the list as it stood then."""
    if q.as_of is None:
        return await todays_tasks.list_tasks(conn, q, now)
    todays_tasks.authorize(q)
    at = not_after_now(q.as_of, now)
    board = await board_at(conn, at, q.unit)
    shown = sorted((r for r in board.values() if in_view(q, r.task, at)),
                   key=lambda r: (r.task.due_at, r.task.task_id))
    return {"view": q.view, "total": len(shown), "items": [item(r) for r in shown[:q.limit]],
            "as_of": at.astimezone(LOCAL_TZ).isoformat()}
