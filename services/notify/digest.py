"""The morning digest: each unit's staff get one message listing overdue and due-today care tasks.

A daily `notify.digest` timer (armed by the migration, then re-armed for the next morning each time it fires)
builds it from notify's projection of care tasks. In units with digest mode on (the default), the per-task
due-soon and overdue reminders are not sent separately: the digest carries them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from backbone import timers
from backbone.db import row_to_json
from contracts.notify import ChannelName
from services.notify.planning import STAFF_ROLES_OF_UNIT, Planned, create, preference
from services.notify.quiet_hours import next_morning
from services.notify.rules import effective_channels
from services.notify.settings import NotifySettings

DIGEST_TIMER = "notify.digest"
DIGEST_RULE = "daily_digest"
DIGEST_TEMPLATE = "digest.v1"
DIGEST_CHANNELS = [ChannelName.INBOX, ChannelName.EMAIL]
# Digest ids are derived, so a digest re-run for the same unit and day hits the deliveries' unique key.
DIGEST_NAMESPACE = uuid.UUID("5b0f3a52-8c1e-4f7e-9d6a-2c4b1e0f7a93")


def digest_id(unit: str, day: str) -> uuid.UUID:
    return uuid.uuid5(DIGEST_NAMESPACE, f"digest:{unit}:{day}")


class Digest:
    def __init__(self, settings: NotifySettings) -> None:
        self._s = settings

    async def on_timer(self, conn: asyncpg.Connection, _timer_id: str, payload: dict[str, Any],
                       now: datetime) -> None:
        following = next_morning(now, self._s.digest_hour, self._s.tz)
        await timers.schedule(conn, "notify", f"digest-{following.date().isoformat()}", DIGEST_TIMER, following,
                              {"day": following.date().isoformat()})
        if payload.get("bootstrap"):
            return  # the first firing only arms the next morning
        await self.send_all(conn, now)

    async def send_all(self, conn: asyncpg.Connection, now: datetime) -> int:
        local = now.astimezone(self._s.tz)
        day_start = datetime.combine(local.date(), datetime.min.time(), tzinfo=self._s.tz)
        day_end = day_start + timedelta(days=1)
        units = await conn.fetch("SELECT code FROM notify.units WHERE digest_mode ORDER BY code")
        sent = 0
        for unit in units:
            tasks = await conn.fetch(
                "SELECT task_id, kind, assignee, due_at, overdue FROM notify.care_tasks "
                "WHERE unit = $1 AND NOT closed AND due_at < $2 ORDER BY due_at", unit["code"], day_end)
            if tasks:
                sent += await self._send_unit(conn, unit["code"], tasks, day_start, now)
        return sent

    async def _send_unit(self, conn: asyncpg.Connection, unit: str, tasks: list[asyncpg.Record],
                         day_start: datetime, now: datetime) -> int:
        overdue = [row_to_json(t) for t in tasks if t["overdue"] or t["due_at"] < day_start]
        due_today = [row_to_json(t) for t in tasks if not (t["overdue"] or t["due_at"] < day_start)]
        day = day_start.date().isoformat()
        cause = digest_id(unit, day)
        planned = Planned(
            cause_event_id=cause, correlation_id=cause, rule=DIGEST_RULE, template=DIGEST_TEMPLATE, urgent=False,
            unit=unit, context={"type": "DailyDigest", "unit": unit, "occurred_at": now.isoformat(), "data": {},
                                "extra": {"today": day, "overdue": overdue, "due_today": due_today}},
        )
        staff = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND unit = $1 AND role = ANY($2) "
                                 "ORDER BY user_id", unit, list(STAFF_ROLES_OF_UNIT))
        created = 0
        for member in staff:
            recipient = f"staff:{member['user_id']}"
            channels = effective_channels(DIGEST_CHANNELS, await preference(conn, recipient), to_retiree=False)
            created += len(await create(conn, planned, recipient, channels, now=now, quiet=self._s.quiet_hours))
        return created
