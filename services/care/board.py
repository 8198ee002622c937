"""Care's own read models from care's own events: one pure projection per event, used live and by a rebuild.

Every function here writes only read-model rows (tasks, campaigns, assistance_cases, policies) and takes the
times it stores from the event (its `occurred_at`, or a time field of the event), never from a clock, so a
replay of `care.events` reproduces the rows the live service wrote. Timers and other side effects stay with
the callers (task_board.apply, handlers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from contracts.base import Envelope, Event
from contracts.care import (
    AssistanceCaseOpened,
    CampaignClosed,
    CampaignLaunched,
    CareTaskOpened,
    PolicyAdopted,
)
from services.care.obligations import TaskSpec

TASK_COLUMNS = ["task_id", "dedupe_key", "kind", "retiree_id", "unit", "assignee", "cause", "cause_event_id",
                "period", "campaign_id", "for_survivor", "policy_version", "opened_at", "due_at", "status", "version"]


def dedupe_key(event: CareTaskOpened) -> str:
    """The key of the spec the task was opened from (every part of it is in the event)."""
    return TaskSpec(kind=event.kind, retiree_id=event.retiree_id, unit=event.unit, due_at=event.due_at,
                    cause=event.cause, cause_event_id=event.cause_event_id, period=event.period,
                    campaign_id=event.campaign_id, for_survivor=event.for_survivor).dedupe_key


def task_row(event: CareTaskOpened, opened_at: datetime) -> tuple[Any, ...]:
    """The board row of a task just opened; `opened_at` is the event's occurred_at."""
    return (event.task_id, dedupe_key(event), event.kind.value, event.retiree_id, event.unit, event.assignee,
            event.cause,
            event.cause_event_id, event.period, event.campaign_id, event.for_survivor, event.policy_version,
            opened_at, event.due_at, "open", 1)


async def task_event(conn: asyncpg.Connection, event: Event) -> None:
    """A later event of a task: update its row (no timers)."""
    d = event.model_dump()
    tid = d["task_id"]
    match event.type:
        case "CareTaskAssigned":
            await conn.execute("UPDATE care.tasks SET assignee = $2, version = version + 1 WHERE task_id = $1",
                               tid, d["assignee"])
        case "CareTaskTransferred":
            await conn.execute("UPDATE care.tasks SET unit = $2, assignee = $3, version = version + 1 "
                               "WHERE task_id = $1", tid, d["unit"], d["assignee"])
        case "CareTaskOverdue":
            await conn.execute("UPDATE care.tasks SET overdue = true, version = version + 1 WHERE task_id = $1", tid)
        case "CareTaskEscalated":
            await conn.execute("UPDATE care.tasks SET escalation = $2, version = version + 1 WHERE task_id = $1",
                               tid, d["level"].value)
        case "VisitCompleted" | "TalkCompleted" | "ContactMade":
            await conn.execute(
                "UPDATE care.tasks SET status = 'done', done_at = $2, on_time = $3, form = $4, "
                "version = version + 1 WHERE task_id = $1",
                tid, d["done_at"], d["on_time"], d["form"].value,
            )
        case "CareTaskCancelled":
            await conn.execute(
                "UPDATE care.tasks SET status = 'cancelled', cancel_reason = $2, version = version + 1 "
                "WHERE task_id = $1", tid, d["reason"],
            )
        case _:
            await conn.execute("UPDATE care.tasks SET version = version + 1 WHERE task_id = $1", tid)


async def campaign_launched(conn: asyncpg.Connection, event: CampaignLaunched, launched_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO care.campaigns (campaign_id, festival, title, year, due_on, units, launched_by, launched_at, "
        "tasks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        event.campaign_id, event.festival.value, event.title, event.year, event.due_on, sorted(event.units),
        event.launched_by, launched_at, event.tasks)


async def campaign_closed(conn: asyncpg.Connection, event: CampaignClosed, closed_at: datetime) -> None:
    await conn.execute("UPDATE care.campaigns SET closed_at = $2 WHERE campaign_id = $1", event.campaign_id,
                       closed_at)


async def case_opened(conn: asyncpg.Connection, event: AssistanceCaseOpened, opened_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO care.assistance_cases (case_id, retiree_id, unit, status, cause_event_id, amount_requested, "
        "opened_at, decision_due_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7)",
        event.case_id, event.retiree_id, event.unit, event.cause_event_id, event.amount_requested, opened_at,
        event.decision_due_at,
    )


async def case_event(conn: asyncpg.Connection, event: Event, occurred_at: datetime) -> None:
    """A later event of an assistance case; a decision's time is the event's occurred_at."""
    d = event.model_dump()
    match event.type:
        case "AssistanceAssessed":
            await conn.execute("UPDATE care.assistance_cases SET status = 'assessed', recommended = $2 "
                               "WHERE case_id = $1", d["case_id"], d["recommended_amount"])
        case "AssistanceApproved":
            await conn.execute("UPDATE care.assistance_cases SET status = 'approved', approved_amount = $2, "
                               "decided_at = $3, decided_on_time = $4 WHERE case_id = $1",
                               d["case_id"], d["amount"], occurred_at, d["on_time"])
        case "AssistanceRejected":
            await conn.execute("UPDATE care.assistance_cases SET status = 'rejected', decided_at = $2, "
                               "decided_on_time = $3 WHERE case_id = $1", d["case_id"], occurred_at, d["on_time"])
        case "AssistancePaid":
            await conn.execute("UPDATE care.assistance_cases SET status = 'paid', paid_on = $2 WHERE case_id = $1",
                               d["case_id"], d["paid_on"])
        case "AssistanceDecisionOverdue":
            await conn.execute("UPDATE care.assistance_cases SET overdue = true WHERE case_id = $1", d["case_id"])
        case _:
            pass


async def policy_adopted(conn: asyncpg.Connection, event: PolicyAdopted) -> None:
    await conn.execute("INSERT INTO care.policies (version, policy, adopted_at) VALUES ($1, $2, $3)",
                       event.version, event.policy, event.adopted_at)


async def project(conn: asyncpg.Connection, env: Envelope, event: Event) -> None:
    """Replay one stored care event into the read models (the rebuild's path; live paths call the parts)."""
    match event:
        case CareTaskOpened():
            await conn.copy_records_to_table("tasks", schema_name="care", columns=TASK_COLUMNS,
                                             records=[task_row(event, env.occurred_at)])
        case CampaignLaunched():
            await campaign_launched(conn, event, env.occurred_at)
        case CampaignClosed():
            await campaign_closed(conn, event, env.occurred_at)
        case AssistanceCaseOpened():
            await case_opened(conn, event, env.occurred_at)
        case PolicyAdopted():
            await policy_adopted(conn, event)
        case _ if event.type.startswith("Assistance"):
            await case_event(conn, event, env.occurred_at)
        case _ if "task_id" in type(event).model_fields:
            await task_event(conn, event)
        case _:
            pass
