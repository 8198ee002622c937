"""The morning digest: each unit's staff get one message listing the open care tasks they must know of today:
overdue, due today, due tomorrow, and opened since the last digest.

A daily `notify.digest` timer (armed by the migration, then re-armed for the next morning each time it fires)
builds it from notify's projection of open care tasks. In units with digest mode on (the default), the per-task
due-soon and overdue reminders are not sent separately: the digest carries them (planning.folded_into_digest),
so it must list what they would have said — a task due tomorrow included — or the assignee hears nothing
before the day it is due.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

from backbone import timers
from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.base import Event, Role
from contracts.errors import forbidden
from contracts.notify import ChannelName, DigestModeSet, SetDigestMode
from services.notify import open_tasks
from services.notify.planning import Planned, Planner
from services.notify.quiet_hours import next_morning
from services.notify.recipients import preference, unit_staff
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


class Morning(BaseModel):
    """The payload of the digest timer: the morning it is for; the first one only arms the next morning."""

    model_config = ConfigDict(frozen=True)
    day: str | None = None
    bootstrap: bool = False


@dataclass(frozen=True)
class DigestContent:
    overdue: list[dict[str, Any]]
    due_today: list[dict[str, Any]]
    due_tomorrow: list[dict[str, Any]]
    new: list[dict[str, Any]]  # opened since the last digest and due later than tomorrow


def compose(tasks: Sequence[asyncpg.Record | dict[str, Any]], day_start: datetime, since: datetime,
            ) -> DigestContent | None:
    """What a unit's digest lists, each open task once: overdue (flagged, or due before today), due today, due
    tomorrow, and the tasks opened since `since` (the last digest) that are due later; None if none of these.
    """
    tomorrow, after = day_start + timedelta(days=1), day_start + timedelta(days=2)
    content = DigestContent([], [], [], [])
    for t in tasks:
        if t["overdue"] or t["due_at"] < day_start:
            content.overdue.append(row_to_json(t))
        elif t["due_at"] < tomorrow:
            content.due_today.append(row_to_json(t))
        elif t["due_at"] < after:
            content.due_tomorrow.append(row_to_json(t))
        elif t["opened_at"] is not None and t["opened_at"] >= since:
            content.new.append(row_to_json(t))
    if not (content.overdue or content.due_today or content.due_tomorrow or content.new):
        return None
    return content


def decide_set_digest_mode(cmd: SetDigestMode) -> list[Event]:
    """A unit's digest mode is the unit head's choice, or the district office's."""
    if not cmd.actor.oversees_all and not (cmd.actor.unit == cmd.unit and cmd.actor.role is Role.UNIT_HEAD):
        raise forbidden("only the unit head or the district office may change a unit's digest mode",
                        zh="只有单位负责人或区老干部局可以更改本单位的每日汇总设置")
    return [DigestModeSet(unit=cmd.unit, enabled=cmd.enabled)]


async def digest_mode_set(conn: Connection, event: DigestModeSet, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO notify.units (code, name, digest_mode) VALUES ($1, $1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET digest_mode = excluded.digest_mode", event.unit, event.enabled)


PROJECTION = Routes.of({DigestModeSet: digest_mode_set})


class Digest:
    def __init__(self, settings: NotifySettings, planner: Planner) -> None:
        self._s = settings
        self._planner = planner

    async def on_timer(self, conn: Connection, _timer_id: str, payload: Morning, now: datetime) -> None:
        following = next_morning(now, self._s.digest_hour, self._s.tz)
        await timers.schedule(conn, "notify", f"digest-{following.date().isoformat()}", DIGEST_TIMER, following,
                              Morning(day=following.date().isoformat()))
        if payload.bootstrap:
            return  # the first firing only arms the next morning
        await self.send_all(conn, now)

    async def send_all(self, conn: Connection, now: datetime) -> int:
        local = now.astimezone(self._s.tz)
        day_start = datetime.combine(local.date(), datetime.min.time(), tzinfo=self._s.tz)
        since = now - timedelta(days=1)  # the previous morning's digest
        units = await conn.fetch("SELECT code FROM notify.units WHERE digest_mode ORDER BY code")
        sent = 0
        for unit in units:
            tasks = await open_tasks.for_digest(conn, unit["code"], day_start + timedelta(days=2), since)
            content = compose(tasks, day_start, since)
            if content is not None:
                sent += await self._send_unit(conn, unit["code"], content, day_start, now)
        return sent

    async def _send_unit(self, conn: Connection, unit: str, content: DigestContent, day_start: datetime,
                         now: datetime) -> int:
        day = day_start.date().isoformat()
        cause = digest_id(unit, day)
        planned = Planned(
            cause_event_id=cause, correlation_id=cause, rule=DIGEST_RULE, template=DIGEST_TEMPLATE, urgent=False,
            unit=unit, context={"type": "DailyDigest", "unit": unit, "occurred_at": now.isoformat(), "data": {},
                                "extra": {"today": day, "overdue": content.overdue, "due_today": content.due_today,
                                          "due_tomorrow": content.due_tomorrow, "new": content.new}},
        )
        created = 0
        for user in await unit_staff(conn, [unit]):
            recipient = f"staff:{user}"
            channels = effective_channels(DIGEST_CHANNELS, await preference(conn, recipient), to_retiree=False)
            created += len(await self._planner.create(conn, planned, recipient, channels, now=now))
        return created
