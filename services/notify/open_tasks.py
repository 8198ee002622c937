"""The care tasks still open in each unit, from care's events: what the morning digest lists."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.care import (
    CareTaskAssigned,
    CareTaskCancelled,
    CareTaskOpened,
    CareTaskOverdue,
    CareTaskTransferred,
    ContactMade,
    TalkCompleted,
    TaskCompletion,
    VisitCompleted,
)


async def task_opened(conn: Connection, event: CareTaskOpened, meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO notify.care_tasks (task_id, unit, retiree_id, kind, due_at, assignee, opened_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (task_id) DO NOTHING",
        event.task_id, event.unit, event.retiree_id, event.kind.value, event.due_at, event.assignee,
        meta.occurred_at,
    )


async def _upsert(conn: Connection, event: CareTaskAssigned | CareTaskTransferred, on_conflict_set: str) -> None:
    await conn.execute(
        "INSERT INTO notify.care_tasks (task_id, unit, retiree_id, kind, due_at, assignee) "
        f"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (task_id) DO UPDATE SET {on_conflict_set}",
        event.task_id, event.unit, event.retiree_id, event.kind.value, event.due_at, event.assignee,
    )


async def task_assigned(conn: Connection, event: CareTaskAssigned, _meta: EventMeta) -> None:
    await _upsert(conn, event, "assignee = excluded.assignee, due_at = excluded.due_at")


async def task_transferred(conn: Connection, event: CareTaskTransferred, _meta: EventMeta) -> None:
    await _upsert(conn, event, "unit = excluded.unit, assignee = excluded.assignee")


async def task_overdue(conn: Connection, event: CareTaskOverdue, _meta: EventMeta) -> None:
    await conn.execute("UPDATE notify.care_tasks SET overdue = true WHERE task_id = $1", event.task_id)


async def task_closed(conn: Connection, event: TaskCompletion | CareTaskCancelled, _meta: EventMeta) -> None:
    await conn.execute("UPDATE notify.care_tasks SET closed = true WHERE task_id = $1", event.task_id)


PROJECTION = Routes.of({
    CareTaskOpened: task_opened,
    CareTaskAssigned: task_assigned,
    CareTaskTransferred: task_transferred,
    CareTaskOverdue: task_overdue,
    VisitCompleted: task_closed,
    TalkCompleted: task_closed,
    ContactMade: task_closed,
    CareTaskCancelled: task_closed,
})


async def for_digest(conn: Connection, unit: str, due_before: datetime, opened_since: datetime,
                     ) -> list[asyncpg.Record]:
    """A unit's open tasks due before `due_before` or opened since `opened_since`, soonest due first, each with
    its assignee's name where notify knows the staff member.
    """
    return await conn.fetch(
        "SELECT t.task_id, t.kind, t.assignee, s.name AS assignee_name, t.due_at, t.overdue, t.opened_at "
        "FROM notify.care_tasks t LEFT JOIN notify.staff s ON s.user_id = t.assignee "
        "WHERE t.unit = $1 AND NOT t.closed AND (t.due_at < $2 OR t.opened_at >= $3) ORDER BY t.due_at, t.task_id",
        unit, due_before, opened_since)
