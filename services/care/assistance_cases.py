"""Where each hardship assistance case stands (困难帮扶): its read model and the case query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.care import (
    AssistanceApproved,
    AssistanceAssessed,
    AssistanceCaseOpened,
    AssistanceDecisionOverdue,
    AssistancePaid,
    AssistanceRejected,
    GetAssistanceCase,
    ListAssistanceCases,
)
from contracts.errors import forbidden, not_found


async def case_opened(conn: Connection, event: AssistanceCaseOpened, meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO care.assistance_cases (case_id, retiree_id, unit, status, cause_event_id, amount_requested, "
        "opened_at, decision_due_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7)",
        event.case_id, event.retiree_id, event.unit, event.cause_event_id, event.amount_requested,
        meta.occurred_at, event.decision_due_at,
    )


async def case_assessed(conn: Connection, event: AssistanceAssessed, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.assistance_cases SET status = 'assessed', recommended = $2 WHERE case_id = $1",
                       event.case_id, event.recommended_amount)


async def case_approved(conn: Connection, event: AssistanceApproved, meta: EventMeta) -> None:
    await conn.execute("UPDATE care.assistance_cases SET status = 'approved', approved_amount = $2, "
                       "decided_at = $3, decided_on_time = $4 WHERE case_id = $1",
                       event.case_id, event.amount, meta.occurred_at, event.on_time)


async def case_rejected(conn: Connection, event: AssistanceRejected, meta: EventMeta) -> None:
    await conn.execute("UPDATE care.assistance_cases SET status = 'rejected', decided_at = $2, "
                       "decided_on_time = $3 WHERE case_id = $1", event.case_id, meta.occurred_at, event.on_time)


async def case_paid(conn: Connection, event: AssistancePaid, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.assistance_cases SET status = 'paid', paid_on = $2 WHERE case_id = $1",
                       event.case_id, event.paid_on)


async def decision_overdue(conn: Connection, event: AssistanceDecisionOverdue, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.assistance_cases SET overdue = true WHERE case_id = $1", event.case_id)


PROJECTION = Routes.of({
    AssistanceCaseOpened: case_opened,
    AssistanceAssessed: case_assessed,
    AssistanceApproved: case_approved,
    AssistanceRejected: case_rejected,
    AssistancePaid: case_paid,
    AssistanceDecisionOverdue: decision_overdue,
})


async def assistance_case(conn: Connection, q: GetAssistanceCase, _now: datetime) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM care.assistance_cases WHERE case_id = $1", q.case_id)
    if row is None:
        raise not_found(f"no assistance case {q.case_id}", zh="找不到该困难帮扶申请")
    if not q.actor.may_act_for(row["unit"]):
        raise forbidden(f"{q.actor.user} may not see cases of {row['unit']}", zh="无权查看其他单位的困难帮扶申请")
    return row_to_json(row)


async def list_assistance_cases(conn: Connection, q: ListAssistanceCases, _now: datetime) -> list[dict[str, Any]]:
    """Undecided cases first (the soonest decision due first), then the rest newest first."""
    unit = q.unit if q.actor.oversees_all else q.actor.unit
    if q.unit is not None and not q.actor.may_act_for(q.unit):
        raise forbidden(f"{q.actor.user} may not see cases of {q.unit}", zh="无权查看其他单位的困难帮扶申请")
    rows = await conn.fetch(
        "SELECT * FROM care.assistance_cases WHERE ($1::text IS NULL OR unit = $1) "
        "AND ($2::text IS NULL OR status = $2) "
        "ORDER BY decided_at IS NOT NULL, CASE WHEN decided_at IS NULL THEN decision_due_at END, opened_at DESC "
        "LIMIT $3", unit, q.status, q.limit)
    return [row_to_json(r) for r in rows]

