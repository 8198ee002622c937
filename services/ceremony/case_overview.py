"""Where every honorary-retirement case and batch stands (the case_overview view over cases and batches), kept
from ceremony's own events, and the queries that read it: one case, a unit's cases, upcoming ceremonies, a
batch roster, on-time rates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.base import Actor
from contracts.ceremony import (
    BatchCeremonyRescheduled,
    BatchCeremonyScheduled,
    BatchOpened,
    CaseClosed,
    CaseEvent,
    CeremonyCaseOpened,
    CeremonyHeld,
    CeremonyModeSet,
    CeremonyOverdue,
    CeremonyRescheduled,
    CeremonyScheduled,
    CertificateIssued,
    ConsentDeclined,
    ConsentGiven,
    DecisionAnnounced,
    ExtraItemRecorded,
    FarewellRemarksRecorded,
    GetBatchRoster,
    GetCase,
    HandoverCompleted,
    HandoverOverdue,
    HandoverStepCompleted,
    ListCases,
    OnTimeRates,
    PlaqueGiven,
    SouvenirGiven,
    ThankYouLetterGiven,
    UpcomingCeremonies,
    batch_id,
)
from contracts.errors import forbidden, not_found
from services.ceremony.case import ITEM_OF_EVENT
from services.ceremony.policy import CeremonyPolicy

# ------------------------------------------------------------------------------------------------ projection


async def _set(conn: Connection, event: CaseEvent, assignments: str, *values: Any) -> None:
    await conn.execute(f"UPDATE ceremony.cases SET {assignments} WHERE retiree_id = $1", event.retiree_id, *values)


async def mode_set(conn: Connection, event: CeremonyModeSet, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO ceremony.units (code, mode) VALUES ($1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET mode = excluded.mode", event.unit, event.mode.value)


async def case_opened(conn: Connection, event: CeremonyCaseOpened, _meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO ceremony.cases (retiree_id, unit, document_number, approved_on, mode, batch_id, "
        "ceremony_due_on, handover_due_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        event.retiree_id, event.unit, event.document_number, event.approved_on, event.mode.value, event.batch_id,
        event.ceremony_due_on, event.handover_due_on,
    )


async def consent_given(conn: Connection, event: ConsentGiven, _meta: EventMeta) -> None:
    await _set(conn, event, "consent = 'given'")


async def consent_declined(conn: Connection, event: ConsentDeclined, _meta: EventMeta) -> None:
    await _set(conn, event, "consent = 'declined', decline_reason = $2", event.reason)


async def scheduled(conn: Connection, event: CeremonyScheduled | CeremonyRescheduled, _meta: EventMeta) -> None:
    await _set(conn, event, "scheduled_on = $2, venue = $3", event.held_on, event.venue)


async def overdue(conn: Connection, event: CeremonyOverdue, _meta: EventMeta) -> None:
    await _set(conn, event, "ceremony_overdue = true")


async def item_given(conn: Connection, event: CaseEvent, _meta: EventMeta) -> None:
    """One of the six items of "6+X"; the thank-you letter and the certificate keep their document."""
    await _set(conn, event, "items = array_append(items, $2)", ITEM_OF_EVENT[type(event)].value)
    match event:
        case ThankYouLetterGiven():
            await _set(conn, event, "letter_path = $2", event.document_path)
        case CertificateIssued():
            await _set(conn, event, "certificate_number = $2, certificate_path = $3", event.certificate_number,
                       event.document_path)
        case _:
            pass


async def extra_item(conn: Connection, event: ExtraItemRecorded, _meta: EventMeta) -> None:
    await _set(conn, event, "extra_items = array_append(extra_items, $2)", event.item)


async def held(conn: Connection, event: CeremonyHeld, _meta: EventMeta) -> None:
    await _set(conn, event, "held_on = $2, ceremony_on_time = $3", event.held_on, event.on_time)


async def step_completed(conn: Connection, event: HandoverStepCompleted, _meta: EventMeta) -> None:
    await _set(conn, event, "handover_steps = array_append(handover_steps, $2)", event.step.value)


async def handover_completed(conn: Connection, event: HandoverCompleted, _meta: EventMeta) -> None:
    await _set(conn, event, "handover_completed_on = $2, handover_on_time = $3", event.completed_on, event.on_time)


async def handover_overdue(conn: Connection, event: HandoverOverdue, _meta: EventMeta) -> None:
    await _set(conn, event, "handover_overdue = true")


async def closed(conn: Connection, event: CaseClosed, _meta: EventMeta) -> None:
    await _set(conn, event, "closed_reason = $2", event.reason)


async def batch_opened(conn: Connection, event: BatchOpened, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO ceremony.batches (batch_id, unit, year, half, due_on) VALUES ($1, $2, $3, $4, $5)",
                       event.batch_id, event.unit, event.year, event.half, event.due_on)


async def batch_scheduled(conn: Connection, event: BatchCeremonyScheduled | BatchCeremonyRescheduled,
                          _meta: EventMeta) -> None:
    await conn.execute("UPDATE ceremony.batches SET scheduled_on = $2, venue = $3 WHERE batch_id = $1",
                       event.batch_id, event.held_on, event.venue)


PROJECTION = Routes.of({
    CeremonyModeSet: mode_set,
    CeremonyCaseOpened: case_opened,
    ConsentGiven: consent_given,
    ConsentDeclined: consent_declined,
    CeremonyScheduled: scheduled,
    CeremonyRescheduled: scheduled,
    CeremonyOverdue: overdue,
    DecisionAnnounced: item_given,
    ThankYouLetterGiven: item_given,
    CertificateIssued: item_given,
    PlaqueGiven: item_given,
    SouvenirGiven: item_given,
    FarewellRemarksRecorded: item_given,
    ExtraItemRecorded: extra_item,
    CeremonyHeld: held,
    HandoverStepCompleted: step_completed,
    HandoverCompleted: handover_completed,
    HandoverOverdue: handover_overdue,
    CaseClosed: closed,
    BatchOpened: batch_opened,
    BatchCeremonyScheduled: batch_scheduled,
    BatchCeremonyRescheduled: batch_scheduled,
})

# --------------------------------------------------------------------------------------------------- queries

CASE_COLUMNS = (
    "retiree_id, unit, status, handover_status, consent, decline_reason, mode, batch_id, approved_on, "
    "document_number, ceremony_due_on, handover_due_on, coalesce(scheduled_on, batch_scheduled_on) AS scheduled_on, "
    "coalesce(venue, batch_venue) AS venue, items, extra_items, certificate_number, certificate_path, letter_path, "
    "held_on, ceremony_on_time, ceremony_overdue, handover_steps, handover_completed_on, handover_on_time, "
    "handover_overdue, closed_reason"
)


def _may_see(actor: Actor, unit: str) -> None:
    if not actor.may_act_for(unit):
        raise forbidden(f"{actor.user} of {actor.unit} may not read ceremonies of unit {unit}",
                        zh=f"无权查看其他单位（{unit}）的荣誉退休仪式")


def _rate(on_time: int, due: int) -> float | None:
    return round(on_time / due, 4) if due else None


class CaseOverview:
    def __init__(self, policy: CeremonyPolicy) -> None:
        self._policy = policy

    async def get_case(self, conn: Connection, q: GetCase, _now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow(f"SELECT {CASE_COLUMNS} FROM ceremony.case_overview WHERE retiree_id = $1",
                                  q.retiree_id)
        if row is None:
            raise not_found(f"no honorary-retirement case for retiree {q.retiree_id}",
                            zh="该退休人员没有荣誉退休仪式记录")
        if not q.actor.is_person(q.retiree_id):
            _may_see(q.actor, row["unit"])
        return row_to_json(row)

    async def list_cases(self, conn: Connection, q: ListCases, _now: datetime) -> list[dict[str, Any]]:
        _may_see(q.actor, q.unit)
        rows = await conn.fetch(
            f"SELECT {CASE_COLUMNS} FROM ceremony.case_overview WHERE unit = $1 AND ($2::text IS NULL OR status = $2) "
            "ORDER BY ceremony_due_on, retiree_id", q.unit, q.status)
        return [row_to_json(r) for r in rows]

    async def upcoming(self, conn: Connection, q: UpcomingCeremonies, now: datetime) -> list[dict[str, Any]]:
        """Individual ceremonies and batch ceremonies from today to today + days, soonest first."""
        if q.unit is not None:
            _may_see(q.actor, q.unit)
        unit = q.unit if q.unit is not None or q.actor.oversees_all else q.actor.unit
        today = self._policy.today(now)
        rows = await conn.fetch(
            "SELECT 'individual' AS kind, unit, retiree_id::text AS subject, scheduled_on, venue, 1 AS retirees "
            "FROM ceremony.case_overview WHERE mode = 'individual' AND status = 'scheduled' "
            "AND scheduled_on BETWEEN $1 AND $2 AND ($3::text IS NULL OR unit = $3) "
            "UNION ALL SELECT 'batch', b.unit, b.batch_id, b.scheduled_on, b.venue, "
            "(SELECT count(*) FROM ceremony.cases c WHERE c.batch_id = b.batch_id AND c.consent = 'given' "
            " AND c.held_on IS NULL AND c.closed_reason IS NULL) "
            "FROM ceremony.batches b WHERE b.scheduled_on BETWEEN $1 AND $2 AND ($3::text IS NULL OR b.unit = $3) "
            "ORDER BY scheduled_on, subject", today, today + timedelta(days=q.days), unit)
        return [row_to_json(r) for r in rows]

    async def roster(self, conn: Connection, q: GetBatchRoster, _now: datetime) -> dict[str, Any]:
        _may_see(q.actor, q.unit)
        bid = batch_id(q.unit, q.year, q.half)
        head = await conn.fetchrow("SELECT * FROM ceremony.batches WHERE batch_id = $1", bid)
        if head is None:
            raise not_found(f"no batch {bid}: nobody of this unit was approved in that half year",
                            zh="没有该半年的集中仪式批次：该半年本单位无人批准退休")
        members = await conn.fetch(
            "SELECT retiree_id, status, consent, approved_on, items, certificate_number, held_on "
            "FROM ceremony.case_overview WHERE batch_id = $1 ORDER BY approved_on, retiree_id", bid)
        return {**row_to_json(head), "roster": [row_to_json(m) for m in members]}

    async def on_time_rates(self, conn: Connection, q: OnTimeRates, now: datetime) -> list[dict[str, Any]]:
        """Per unit: of the ceremonies (handovers) that are held or already past due, how many were on time.

        Declined and closed cases owe no ceremony and do not count; a case not yet due counts nowhere.
        """
        if q.unit is not None:
            _may_see(q.actor, q.unit)
        elif not q.actor.oversees_all:
            raise forbidden("only the district office compares every unit; ask for your own unit",
                            zh="只有区老干部局可以查看各单位的比较，请查询本单位")
        rows = await conn.fetch(
            "SELECT unit, "
            "count(*) FILTER (WHERE c_owed AND (held_on IS NOT NULL OR ceremony_due_on < $1)) AS ceremonies_due, "
            "count(*) FILTER (WHERE c_owed AND ceremony_on_time) AS ceremonies_on_time, "
            "count(*) FILTER (WHERE closed_reason IS NULL AND (handover_completed_on IS NOT NULL "
            "                 OR handover_due_on < $1)) AS handovers_due, "
            "count(*) FILTER (WHERE closed_reason IS NULL AND handover_on_time) AS handovers_on_time "
            "FROM (SELECT *, consent <> 'declined' AND closed_reason IS NULL AS c_owed FROM ceremony.cases) c "
            "WHERE ($2::text IS NULL OR unit = $2) GROUP BY unit ORDER BY unit", self._policy.today(now), q.unit)
        result = []
        for r in rows:
            item = dict(r)
            item["ceremony_on_time_rate"] = _rate(r["ceremonies_on_time"], r["ceremonies_due"])
            item["handover_on_time_rate"] = _rate(r["handovers_on_time"], r["handovers_due"])
            result.append(item)
        return result
