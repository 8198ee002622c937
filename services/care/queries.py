"""Care's queries: the morning task lists, one task with its history, campaign progress, cases, the policy."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import asyncpg

from backbone.db import row_to_json
from backbone.store import EventStore
from contracts.base import LOCAL_TZ, Actor, Role, local_date
from contracts.care import (
    TASK_KIND_ZH,
    GetAssistanceCase,
    GetCampaignProgress,
    GetPolicy,
    GetTask,
    ListTasks,
    TaskKind,
    task_stream,
)
from contracts.errors import forbidden, not_found, refused
from services.care.policy_book import PolicyBook

TASK_COLUMNS = ("task_id, kind, retiree_id, unit, assignee, cause, period, campaign_id, for_survivor, opened_at, "
                "due_at, status, overdue, escalation, done_at, on_time, form, cancel_reason, policy_version")


def _may_see(actor: Actor, unit: str | None) -> bool:
    return actor.role in (Role.DISTRICT_OFFICE, Role.SYSTEM) or (unit is not None and actor.unit == unit)


def _task_json(row: asyncpg.Record) -> dict[str, Any]:
    out = row_to_json(row)
    out["kind_zh"] = TASK_KIND_ZH[TaskKind(row["kind"])]
    return out


class CareQueries:
    def __init__(self, store: EventStore, policies: PolicyBook) -> None:
        self._store = store
        self._policies = policies

    async def list_tasks(self, conn: asyncpg.Connection, q: ListTasks, now: datetime) -> dict[str, Any]:
        if q.unit is None and q.assignee is None:
            raise refused("give a unit or an assignee", field="unit")
        if q.unit is not None and not _may_see(q.actor, q.unit):
            raise forbidden(f"{q.actor.user} of {q.actor.unit} may not see tasks of {q.unit}")
        if q.assignee is not None and q.assignee != q.actor.user and q.actor.role is not Role.DISTRICT_OFFICE \
                and q.unit is None:
            raise forbidden("only your own tasks, or a unit you belong to")
        day_start = datetime.combine(local_date(now), time(0), LOCAL_TZ)
        day_end = day_start + timedelta(days=1)
        where = ["($1::text IS NULL OR unit = $1)", "($2::text IS NULL OR assignee = $2)"]
        args: list[Any] = [q.unit, q.assignee]
        if q.view != "all":
            where.append("status = 'open'")
        match q.view:
            case "today":
                where.append("due_at >= $3 AND due_at < $4")
                args += [day_start, day_end]
            case "overdue":
                where.append("due_at < $3")
                args.append(now)
            case "upcoming":
                where.append("due_at >= $3 AND due_at < $4")
                args += [day_end, day_start + timedelta(days=q.days_ahead + 1)]
            case _:
                pass
        sql = " AND ".join(where)
        rows = await conn.fetch(f"SELECT {TASK_COLUMNS} FROM care.tasks WHERE {sql} ORDER BY due_at, task_id "
                                f"LIMIT {q.limit}", *args)
        total = await conn.fetchval(f"SELECT count(*) FROM care.tasks WHERE {sql}", *args)
        return {"view": q.view, "total": total, "items": [_task_json(r) for r in rows]}

    async def get_task(self, conn: asyncpg.Connection, q: GetTask, _now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow(f"SELECT {TASK_COLUMNS} FROM care.tasks WHERE task_id = $1", q.task_id)
        if row is None:
            raise not_found(f"no care task {q.task_id}")
        if not _may_see(q.actor, row["unit"]):
            raise forbidden(f"{q.actor.user} may not see tasks of {row['unit']}")
        history = [
            {"version": e.version, "type": e.type, "occurred_at": e.occurred_at.isoformat(),
             "actor": e.actor.user, "data": {k: v for k, v in e.data.items() if k != "notes"}}
            for e in await self._store.load(conn, task_stream(q.task_id))
        ]
        return {**_task_json(row), "history": history}

    async def campaign_progress(self, conn: asyncpg.Connection, q: GetCampaignProgress,
                                _now: datetime) -> dict[str, Any]:
        camp = await conn.fetchrow("SELECT * FROM care.campaigns WHERE campaign_id = $1", q.campaign_id)
        if camp is None:
            raise not_found(f"no campaign {q.campaign_id}")
        rows = await conn.fetch(
            "SELECT unit, count(*) AS tasks, count(*) FILTER (WHERE status = 'done') AS done, "
            "count(*) FILTER (WHERE status = 'cancelled') AS cancelled, "
            "count(*) FILTER (WHERE for_survivor) AS survivors FROM care.tasks WHERE campaign_id = $1 "
            "GROUP BY unit ORDER BY unit", q.campaign_id)
        units = [row_to_json(r) | {"coverage": _ratio(r["done"], r["tasks"] - r["cancelled"])} for r in rows
                 if _may_see(q.actor, r["unit"])]
        return {**row_to_json(camp), "per_unit": units}

    async def assistance_case(self, conn: asyncpg.Connection, q: GetAssistanceCase,
                              _now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow("SELECT * FROM care.assistance_cases WHERE case_id = $1", q.case_id)
        if row is None:
            raise not_found(f"no assistance case {q.case_id}")
        if not _may_see(q.actor, row["unit"]):
            raise forbidden(f"{q.actor.user} may not see cases of {row['unit']}")
        return row_to_json(row)

    async def policy(self, _conn: asyncpg.Connection, _q: GetPolicy, _now: datetime) -> dict[str, Any]:
        return self._policies.current.model_dump(mode="json")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
