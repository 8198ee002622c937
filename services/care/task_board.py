"""Opening tasks in bulk and keeping the task board (care.tasks) and each task's single timer in step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from backbone import timers
from backbone.aggregate import load_state
from backbone.commands import to_new_event
from backbone.store import EventStore, Metadata, NewEvent
from contracts.base import Event
from contracts.care import CareTaskOpened, task_stream
from contracts.registry import EVENTS
from services.care import board, care_task
from services.care.care_task import Task
from services.care.obligations import TaskSpec
from services.care.policy import Policy

SCHEMA = "care"
TIMER_KIND = "task_stage"
CHUNK = 2000  # tasks per statement: bounds memory for district-wide campaigns


def timer_id(task_id: UUID) -> str:
    return f"task:{task_id}"


async def unit_contacts(conn: asyncpg.Connection, units: set[str]) -> dict[str, str | None]:
    rows = await conn.fetch("SELECT unit, care_contact FROM care.unit_contacts WHERE unit = ANY($1::text[])",
                            list(units))
    return {r["unit"]: r["care_contact"] for r in rows}


async def open_tasks(  # noqa: PLR0913
    conn: asyncpg.Connection, store: EventStore, specs: Sequence[TaskSpec], policy: Policy, now: datetime,
    meta: Metadata,
) -> list[UUID]:
    """Open the tasks not opened yet (by dedupe key); returns the ids opened now."""
    opened: list[UUID] = []
    for start in range(0, len(specs), CHUNK):
        opened += await _open_chunk(conn, store, specs[start:start + CHUNK], policy, now, meta)
    return opened


async def _open_chunk(  # noqa: PLR0913
    conn: asyncpg.Connection, store: EventStore, specs: Sequence[TaskSpec], policy: Policy, now: datetime,
    meta: Metadata,
) -> list[UUID]:
    unique = {s.task_id: s for s in specs}
    existing = {r["task_id"] for r in await conn.fetch(
        "SELECT task_id FROM care.tasks WHERE task_id = ANY($1::uuid[])", list(unique))}
    fresh = [s for tid, s in unique.items() if tid not in existing]
    if not fresh:
        return []
    contacts = await unit_contacts(conn, {s.unit for s in fresh})
    batch: list[tuple[str, int, list[NewEvent]]] = []
    rows, timer_rows = [], []
    for s in fresh:
        assignee = contacts.get(s.unit)
        event = CareTaskOpened(task_id=s.task_id, kind=s.kind, retiree_id=s.retiree_id, unit=s.unit,
                               cause_event_id=s.cause_event_id, cause=s.cause, due_at=s.due_at, period=s.period,
                               campaign_id=s.campaign_id, policy_version=policy.version, for_survivor=s.for_survivor,
                               assignee=assignee)
        batch.append((task_stream(s.task_id), 0, [await to_new_event(conn, None, event, s.unit, now)]))
        rows.append(board.task_row(event, now))  # `now` is the event's occurred_at (to_new_event above)
        state = care_task.evolve(Task(), event)
        stage = care_task.next_stage(state, policy, now)
        if stage is not None:
            timer_rows.append((timer_id(s.task_id), TIMER_KIND, stage[1], {"task_id": str(s.task_id),
                                                                           "stage": stage[0]}))
    await store.append_batch(conn, batch, meta)
    # COPY: the fastest way into the board for district-wide campaigns (a duplicate still fails on dedupe_key).
    await conn.copy_records_to_table("tasks", schema_name=SCHEMA, records=rows, columns=board.TASK_COLUMNS)
    await timers.schedule_many(conn, SCHEMA, timer_rows)
    return [s.task_id for s in fresh]


async def load_task(conn: asyncpg.Connection, store: EventStore, task_id: UUID) -> tuple[Task, int]:
    return await load_state(conn, store, task_stream(task_id), EVENTS["care"], care_task.evolve, Task())


async def record_system_events(  # noqa: PLR0913
    conn: asyncpg.Connection, store: EventStore, task_id: UUID, decide: Callable[[Task], list[Event]],
    now: datetime, meta: Metadata,
) -> list[Event]:
    """What the care service itself decides about one task (death, transfer, a superseded contact): load it,
    decide, append (each event under the unit it names) and project. Returns the events recorded.
    """
    state, version = await load_task(conn, store, task_id)
    events = decide(state)
    if events:
        pending = [await to_new_event(conn, None, ev, str(getattr(ev, "unit", state.unit or "")), now)
                   for ev in events]
        await store.append(conn, task_stream(task_id), version, pending, meta)
        for ev in events:
            await apply(conn, ev, now)
    return events


async def apply(conn: asyncpg.Connection, event: Event, now: datetime) -> None:
    """The task board's projection of one task event (after the event was appended), and its timer."""
    await board.task_event(conn, event)
    if event.type in ("VisitCompleted", "TalkCompleted", "ContactMade", "CareTaskCancelled"):
        await timers.cancel(conn, SCHEMA, timer_id(event.model_dump()["task_id"]))
    del now


async def rearm(conn: asyncpg.Connection, state: Task, policy: Policy, now: datetime) -> None:
    """Point the task's one timer at its next rung (or drop it when the task is closed)."""
    assert state.task_id is not None
    stage = care_task.next_stage(state, policy, now)
    if stage is None:
        await timers.cancel(conn, SCHEMA, timer_id(state.task_id))
        return
    await timers.schedule(conn, SCHEMA, timer_id(state.task_id), TIMER_KIND, stage[1],
                          {"task_id": str(state.task_id), "stage": stage[0]})
