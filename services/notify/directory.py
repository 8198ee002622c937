"""Projections notify keeps from other services' events: staff and units, suppressions, open care tasks.

A small function per event type; each is idempotent (upserts), so a replay rebuilds the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from contracts.base import Envelope

Projection = Callable[[asyncpg.Connection, dict[str, Any], datetime], Awaitable[None]]


async def unit_registered(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await conn.execute("INSERT INTO notify.units (code, name) VALUES ($1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET name = excluded.name", d["code"], d["name"])


async def staff_registered(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await conn.execute(
        "INSERT INTO notify.staff (user_id, name, role, unit, phone, email, active) "
        "VALUES ($1, $2, $3, $4, $5, $6, true) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, "
        "role = excluded.role, unit = excluded.unit, phone = excluded.phone, email = excluded.email, active = true",
        d["user"], d["name"], d["role"], d["unit"], d.get("phone"), d.get("email"),
    )


async def staff_deactivated(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await conn.execute("UPDATE notify.staff SET active = false WHERE user_id = $1", d["user"])


async def care_contact_set(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await conn.execute("INSERT INTO notify.units (code, name, care_contact) VALUES ($1, $1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET care_contact = excluded.care_contact", d["unit"], d["user"])


def suppress(reason: str) -> Projection:
    async def project(conn: asyncpg.Connection, d: dict[str, Any], at: datetime) -> None:
        # Erasure after death keeps the first reason: both forbid messages equally.
        await conn.execute("INSERT INTO notify.suppressions (retiree_id, reason, since) VALUES ($1, $2, $3) "
                           "ON CONFLICT (retiree_id) DO NOTHING", _uuid(d["retiree_id"]), reason, at)
    return project


async def task_opened(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await conn.execute(
        "INSERT INTO notify.care_tasks (task_id, unit, retiree_id, kind, due_at) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (task_id) DO NOTHING",
        _uuid(d["task_id"]), d["unit"], _uuid(d["retiree_id"]), d["kind"], _time(d["due_at"]),
    )


async def _upsert_task(conn: asyncpg.Connection, d: dict[str, Any], on_conflict_set: str) -> None:
    await conn.execute(
        "INSERT INTO notify.care_tasks (task_id, unit, retiree_id, kind, due_at, assignee) "
        f"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (task_id) DO UPDATE SET {on_conflict_set}",
        _uuid(d["task_id"]), d["unit"], _uuid(d["retiree_id"]), d["kind"], _time(d["due_at"]), d.get("assignee"),
    )


async def task_assigned(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await _upsert_task(conn, d, "assignee = excluded.assignee, due_at = excluded.due_at")


async def task_transferred(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await _upsert_task(conn, d, "unit = excluded.unit, assignee = excluded.assignee")


async def task_overdue(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await conn.execute("UPDATE notify.care_tasks SET overdue = true WHERE task_id = $1", _uuid(d["task_id"]))


async def task_closed(conn: asyncpg.Connection, d: dict[str, Any], _at: datetime) -> None:
    await conn.execute("UPDATE notify.care_tasks SET closed = true WHERE task_id = $1", _uuid(d["task_id"]))


PROJECTIONS: dict[str, Projection] = {
    "UnitRegistered": unit_registered,
    "StaffRegistered": staff_registered,
    "StaffDeactivated": staff_deactivated,
    "CareContactSet": care_contact_set,
    "MemberDeceased": suppress("deceased"),
    "PersonalDataErased": suppress("erased"),
    "CareTaskOpened": task_opened,
    "CareTaskAssigned": task_assigned,
    "CareTaskTransferred": task_transferred,
    "CareTaskOverdue": task_overdue,
    "VisitCompleted": task_closed,
    "TalkCompleted": task_closed,
    "ContactMade": task_closed,
    "CareTaskCancelled": task_closed,
}


async def project(conn: asyncpg.Connection, env: Envelope) -> None:
    handler = PROJECTIONS.get(env.type)
    if handler is not None:
        await handler(conn, env.data, env.occurred_at)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
