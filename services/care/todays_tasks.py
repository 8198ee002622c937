"""What staff see first each morning (今日工作): the task board (care.tasks), kept from care's own task events,
and its queries: a unit's or an assignee's tasks by view, and one task with its history.

The board also answers the scores, the death and transfer fan-out and campaign coverage. Every time stored is
taken from the event, never from a clock, so a replay of care.events writes the rows the live service wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

import asyncpg

from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from backbone.store import EventStore
from contracts.base import LOCAL_TZ, local_date
from contracts.care import (
    TASK_KIND_ZH,
    CareTaskAssigned,
    CareTaskCancelled,
    CareTaskDueSoon,
    CareTaskEscalated,
    CareTaskOpened,
    CareTaskOverdue,
    CareTaskTransferred,
    ContactMade,
    GetTask,
    ListTasks,
    TalkCompleted,
    TaskCompletion,
    TaskKind,
    VisitCompleted,
    task_stream,
)
from contracts.errors import forbidden, not_found, refused
from services.care.obligations import TaskSpec

TASK_COLUMNS = ["task_id", "dedupe_key", "kind", "retiree_id", "unit", "assignee", "cause", "cause_event_id",
                "period", "campaign_id", "for_survivor", "policy_version", "opened_at", "due_at", "status", "version"]

# ------------------------------------------------------------------------------------------------ projection


def dedupe_key(event: CareTaskOpened) -> str:
    """The key of the spec the task was opened from (every part of it is in the event)."""
    return TaskSpec(kind=event.kind, retiree_id=event.retiree_id, unit=event.unit, due_at=event.due_at,
                    cause=event.cause, cause_event_id=event.cause_event_id, period=event.period,
                    campaign_id=event.campaign_id, for_survivor=event.for_survivor).dedupe_key


def task_row(event: CareTaskOpened, opened_at: datetime) -> tuple[Any, ...]:
    """The board row of a task just opened; `opened_at` is the event's occurred_at."""
    return (event.task_id, dedupe_key(event), event.kind.value, event.retiree_id, event.unit, event.assignee,
            event.cause, event.cause_event_id, event.period, event.campaign_id, event.for_survivor,
            event.policy_version, opened_at, event.due_at, "open", 1)


async def tasks_opened(conn: Connection, items: Sequence[tuple[CareTaskOpened, EventMeta]]) -> None:
    """COPY: the fastest way onto the board for district-wide campaigns (a duplicate still fails on dedupe_key)."""
    await conn.copy_records_to_table("tasks", schema_name="care", columns=TASK_COLUMNS,
                                     records=[task_row(e, m.occurred_at) for e, m in items])


async def task_opened(conn: Connection, event: CareTaskOpened, meta: EventMeta) -> None:
    await tasks_opened(conn, [(event, meta)])


async def task_assigned(conn: Connection, event: CareTaskAssigned, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.tasks SET assignee = $2, version = version + 1 WHERE task_id = $1",
                       event.task_id, event.assignee)


async def task_transferred(conn: Connection, event: CareTaskTransferred, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.tasks SET unit = $2, assignee = $3, version = version + 1 WHERE task_id = $1",
                       event.task_id, event.unit, event.assignee)


async def task_due_soon(conn: Connection, event: CareTaskDueSoon, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.tasks SET version = version + 1 WHERE task_id = $1", event.task_id)


async def task_overdue(conn: Connection, event: CareTaskOverdue, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.tasks SET overdue = true, version = version + 1 WHERE task_id = $1",
                       event.task_id)


async def task_escalated(conn: Connection, event: CareTaskEscalated, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.tasks SET escalation = $2, version = version + 1 WHERE task_id = $1",
                       event.task_id, event.level.value)


async def task_done(conn: Connection, event: TaskCompletion, _meta: EventMeta) -> None:
    await conn.execute(
        "UPDATE care.tasks SET status = 'done', done_at = $2, on_time = $3, form = $4, version = version + 1 "
        "WHERE task_id = $1", event.task_id, event.done_at, event.on_time, event.form.value)


async def task_cancelled(conn: Connection, event: CareTaskCancelled, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.tasks SET status = 'cancelled', cancel_reason = $2, version = version + 1 "
                       "WHERE task_id = $1", event.task_id, event.reason)


PROJECTION = Routes.of({
    CareTaskOpened: task_opened,
    CareTaskAssigned: task_assigned,
    CareTaskTransferred: task_transferred,
    CareTaskDueSoon: task_due_soon,
    CareTaskOverdue: task_overdue,
    CareTaskEscalated: task_escalated,
    VisitCompleted: task_done,
    TalkCompleted: task_done,
    ContactMade: task_done,
    CareTaskCancelled: task_cancelled,
}, bulk={CareTaskOpened: tasks_opened})

# --------------------------------------------------------------------------------------------------- queries

QUERY_COLUMNS = ("task_id, kind, retiree_id, unit, assignee, cause, period, campaign_id, for_survivor, opened_at, "
                 "due_at, status, overdue, escalation, done_at, on_time, form, cancel_reason, policy_version")


def _task_json(row: asyncpg.Record) -> dict[str, Any]:
    out = row_to_json(row)
    out["kind_zh"] = TASK_KIND_ZH[TaskKind(row["kind"])]
    return out


def authorize(q: ListTasks) -> None:
    """Who may list which tasks (the live list and the list as of a time alike)."""
    if q.unit is None and q.assignee is None:
        raise refused("give a unit or an assignee", zh="请指明查看哪个单位或哪位经办人的任务", field="unit")
    if q.unit is not None and not q.actor.may_act_for(q.unit):
        raise forbidden(f"{q.actor.user} of {q.actor.unit} may not see tasks of {q.unit}",
                        zh=f"无权查看其他单位（{q.unit}）的关怀任务")
    if q.assignee is not None and q.assignee != q.actor.user and not q.actor.oversees_all and q.unit is None:
        raise forbidden("only your own tasks, or a unit you belong to", zh="只能查看本人或本单位的关怀任务")


async def list_tasks(conn: Connection, q: ListTasks, now: datetime) -> dict[str, Any]:
    authorize(q)
    day_start = datetime.combine(local_date(now), time(0), LOCAL_TZ)
    day_end = day_start + timedelta(days=1)
    where = ["($1::text IS NULL OR unit = $1)", "($2::text IS NULL OR assignee = $2)",
             "($3::uuid IS NULL OR retiree_id = $3)"]
    args: list[Any] = [q.unit, q.assignee, q.retiree_id]
    if q.view != "all":
        where.append("status = 'open'")
    match q.view:
        case "today":
            where.append("due_at >= $4 AND due_at < $5")
            args += [day_start, day_end]
        case "overdue":
            where.append("due_at < $4")
            args.append(now)
        case "upcoming":
            where.append("due_at >= $4 AND due_at < $5")
            args += [day_end, day_start + timedelta(days=q.days_ahead + 1)]
        case _:
            pass
    sql = " AND ".join(where)
    rows = await conn.fetch(f"SELECT {QUERY_COLUMNS} FROM care.tasks WHERE {sql} ORDER BY due_at, task_id "
                            f"LIMIT {q.limit}", *args)
    total = await conn.fetchval(f"SELECT count(*) FROM care.tasks WHERE {sql}", *args)
    return {"view": q.view, "total": total, "items": [_task_json(r) for r in rows]}


class TaskDetails:
    """One task with its history (read from the task's stream)."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def get_task(self, conn: Connection, q: GetTask, _now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow(f"SELECT {QUERY_COLUMNS} FROM care.tasks WHERE task_id = $1", q.task_id)
        if row is None:
            raise not_found(f"no care task {q.task_id}", zh="找不到该关怀任务")
        if not q.actor.may_act_for(row["unit"]):
            raise forbidden(f"{q.actor.user} may not see tasks of {row['unit']}", zh="无权查看其他单位的关怀任务")
        history = [
            {"version": e.version, "type": e.type, "occurred_at": e.occurred_at.isoformat(),
             "actor": e.actor.user, "data": {k: v for k, v in e.data.items() if k != "notes"}}
            for e in await self._store.load(conn, task_stream(q.task_id))
        ]
        return {**_task_json(row), "history": history}
