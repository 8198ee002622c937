"""Recording decided events outside a command (profiles' feed, timers), with projections and timers alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from backbone.commands import CommandContext, to_new_event
from backbone.store import EventStore, Metadata, NewEvent
from contracts.base import SYSTEM_ACTOR, Event
from services.ceremony import deadlines, projection
from services.ceremony.policy import CeremonyPolicy


async def after_append(conn: asyncpg.Connection, policy: CeremonyPolicy, appended: Sequence[NewEvent]) -> None:
    """What every recorded event does to the read models and the timers, in the same transaction."""
    for new in appended:
        await projection.project(conn, new.type, new.data)
        await deadlines.arm(conn, policy, new.type, new.data)


async def after_command(ctx: CommandContext, policy: CeremonyPolicy, done: int = 0) -> None:
    """Apply the effects of what this command appended since `done` (a handler may record twice)."""
    await after_append(ctx.conn, policy, [new for new, _ in ctx.appended[done:]])


@dataclass(frozen=True)
class SystemWriter:
    """Appends the platform's own decisions (a case opened from an approval, an overdue deadline)."""

    store: EventStore
    policy: CeremonyPolicy

    async def record(  # noqa: PLR0913 - a stream append is these things
        self, conn: asyncpg.Connection, stream: str, version: int, events: Sequence[Event], *, unit: str,
        now: datetime, cause: uuid.UUID | None = None, correlation: uuid.UUID | None = None,
    ) -> None:
        if not events:
            return
        pending = [await to_new_event(conn, None, ev, unit, now) for ev in events]
        meta = Metadata(actor=SYSTEM_ACTOR, correlation_id=correlation or uuid.uuid4(), causation_id=cause)
        await self.store.append(conn, stream, version, pending, meta)
        await after_append(conn, self.policy, pending)
