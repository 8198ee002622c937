"""Queries of the ceremony service: cases of a unit, one case, upcoming ceremonies, a batch roster, on-time rates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from backbone.db import row_to_json
from contracts.base import Actor, Role
from contracts.ceremony import GetBatchRoster, GetCase, ListCases, OnTimeRates, UpcomingCeremonies, batch_id
from contracts.errors import forbidden, not_found
from services.ceremony.policy import CeremonyPolicy

CASE_COLUMNS = (
    "retiree_id, unit, status, handover_status, consent, decline_reason, mode, batch_id, approved_on, "
    "document_number, ceremony_due_on, handover_due_on, coalesce(scheduled_on, batch_scheduled_on) AS scheduled_on, "
    "coalesce(venue, batch_venue) AS venue, items, extra_items, certificate_number, certificate_path, letter_path, "
    "held_on, ceremony_on_time, ceremony_overdue, handover_steps, handover_completed_on, handover_on_time, "
    "handover_overdue, closed_reason"
)


def _is_district(actor: Actor) -> bool:
    return actor.role in (Role.DISTRICT_OFFICE, Role.SYSTEM)


def _may_see(actor: Actor, unit: str) -> None:
    if not _is_district(actor) and actor.unit != unit:
        raise forbidden(f"{actor.user} of {actor.unit} may not read ceremonies of unit {unit}")


class CeremonyQueries:
    def __init__(self, policy: CeremonyPolicy) -> None:
        self._policy = policy

    async def get_case(self, conn: asyncpg.Connection, q: GetCase, _now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow(f"SELECT {CASE_COLUMNS} FROM ceremony.case_overview WHERE retiree_id = $1",
                                  q.retiree_id)
        if row is None:
            raise not_found(f"no honorary-retirement case for retiree {q.retiree_id}")
        _may_see(q.actor, row["unit"])
        return row_to_json(row)

    async def list_cases(self, conn: asyncpg.Connection, q: ListCases, _now: datetime) -> list[dict[str, Any]]:
        _may_see(q.actor, q.unit)
        rows = await conn.fetch(
            f"SELECT {CASE_COLUMNS} FROM ceremony.case_overview WHERE unit = $1 AND ($2::text IS NULL OR status = $2) "
            "ORDER BY ceremony_due_on, retiree_id", q.unit, q.status)
        return [row_to_json(r) for r in rows]

    async def upcoming(self, conn: asyncpg.Connection, q: UpcomingCeremonies, now: datetime) -> list[dict[str, Any]]:
        """Individual ceremonies and batch ceremonies from today to today + days, soonest first."""
        if q.unit is not None:
            _may_see(q.actor, q.unit)
        unit = q.unit if q.unit is not None or _is_district(q.actor) else q.actor.unit
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

    async def roster(self, conn: asyncpg.Connection, q: GetBatchRoster, _now: datetime) -> dict[str, Any]:
        _may_see(q.actor, q.unit)
        bid = batch_id(q.unit, q.year, q.half)
        head = await conn.fetchrow("SELECT * FROM ceremony.batches WHERE batch_id = $1", bid)
        if head is None:
            raise not_found(f"no batch {bid}: nobody of this unit was approved in that half year")
        members = await conn.fetch(
            "SELECT retiree_id, status, consent, approved_on, items, certificate_number, held_on "
            "FROM ceremony.case_overview WHERE batch_id = $1 ORDER BY approved_on, retiree_id", bid)
        return {**row_to_json(head), "roster": [row_to_json(m) for m in members]}

    async def on_time_rates(self, conn: asyncpg.Connection, q: OnTimeRates, now: datetime) -> list[dict[str, Any]]:
        """Per unit: of the ceremonies (handovers) that are held or already past due, how many were on time.

        Declined and closed cases owe no ceremony and do not count; a case not yet due counts nowhere.
        """
        if q.unit is not None:
            _may_see(q.actor, q.unit)
        elif not _is_district(q.actor):
            raise forbidden("only the district office compares every unit; ask for your own unit")
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


def _rate(on_time: int, due: int) -> float | None:
    return round(on_time / due, 4) if due else None
