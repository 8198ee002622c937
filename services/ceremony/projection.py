"""Read models of the ceremony service, a small function per event type, fed the events as recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

Data = dict[str, Any]


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


async def _set(conn: asyncpg.Connection, d: Data, assignments: str, *values: Any) -> None:
    await conn.execute(f"UPDATE ceremony.cases SET {assignments} WHERE retiree_id = $1", UUID(d["retiree_id"]),
                       *values)


async def mode_set(conn: asyncpg.Connection, d: Data) -> None:
    await conn.execute("INSERT INTO ceremony.units (code, mode) VALUES ($1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET mode = excluded.mode", d["unit"], d["mode"])


async def case_opened(conn: asyncpg.Connection, d: Data) -> None:
    await conn.execute(
        "INSERT INTO ceremony.cases (retiree_id, unit, document_number, approved_on, mode, batch_id, "
        "ceremony_due_on, handover_due_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        UUID(d["retiree_id"]), d["unit"], d["document_number"], _d(d["approved_on"]), d["mode"], d["batch_id"],
        _d(d["ceremony_due_on"]), _d(d["handover_due_on"]),
    )


async def consent_given(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "consent = 'given'")


async def consent_declined(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "consent = 'declined', decline_reason = $2", d["reason"])


async def scheduled(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "scheduled_on = $2, venue = $3", _d(d["held_on"]), d["venue"])


async def overdue(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "ceremony_overdue = true")


def item(name: str, extra: str = "", key: str | None = None) -> Callable[[asyncpg.Connection, Data], Awaitable[None]]:
    async def apply(conn: asyncpg.Connection, d: Data) -> None:
        if key is None:
            await _set(conn, d, f"items = array_append(items, '{name}'){extra}")
        else:
            await _set(conn, d, f"items = array_append(items, '{name}'){extra}", d[key])
    return apply


async def extra_item(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "extra_items = array_append(extra_items, $2)", d["item"])


async def held(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "held_on = $2, ceremony_on_time = $3", _d(d["held_on"]), d["on_time"])


async def step_completed(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "handover_steps = array_append(handover_steps, $2)", d["step"])


async def handover_completed(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "handover_completed_on = $2, handover_on_time = $3", _d(d["completed_on"]), d["on_time"])


async def handover_overdue(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "handover_overdue = true")


async def closed(conn: asyncpg.Connection, d: Data) -> None:
    await _set(conn, d, "closed_reason = $2", d["reason"])


async def batch_opened(conn: asyncpg.Connection, d: Data) -> None:
    await conn.execute("INSERT INTO ceremony.batches (batch_id, unit, year, half, due_on) VALUES ($1, $2, $3, $4, $5)",
                       d["batch_id"], d["unit"], d["year"], d["half"], _d(d["due_on"]))


async def batch_scheduled(conn: asyncpg.Connection, d: Data) -> None:
    await conn.execute("UPDATE ceremony.batches SET scheduled_on = $2, venue = $3 WHERE batch_id = $1",
                       d["batch_id"], _d(d["held_on"]), d["venue"])


PROJECTIONS: dict[str, Callable[[asyncpg.Connection, Data], Awaitable[None]]] = {
    "CeremonyModeSet": mode_set,
    "CeremonyCaseOpened": case_opened,
    "ConsentGiven": consent_given,
    "ConsentDeclined": consent_declined,
    "CeremonyScheduled": scheduled,
    "CeremonyRescheduled": scheduled,
    "CeremonyOverdue": overdue,
    "DecisionAnnounced": item("decision_announced"),
    "ThankYouLetterGiven": item("thank_you_letter", ", letter_path = $2", "document_path"),
    "CertificateIssued": item("certificate", ", certificate_number = $2", "certificate_number"),
    "PlaqueGiven": item("plaque"),
    "SouvenirGiven": item("souvenir"),
    "FarewellRemarksRecorded": item("farewell_remarks"),
    "ExtraItemRecorded": extra_item,
    "CeremonyHeld": held,
    "HandoverStepCompleted": step_completed,
    "HandoverCompleted": handover_completed,
    "HandoverOverdue": handover_overdue,
    "CaseClosed": closed,
    "BatchOpened": batch_opened,
    "BatchCeremonyScheduled": batch_scheduled,
    "BatchCeremonyRescheduled": batch_scheduled,
}


async def project(conn: asyncpg.Connection, type_: str, data: Data) -> None:
    handler = PROJECTIONS.get(type_)
    if handler is not None:
        await handler(conn, data)
    if type_ == "CertificateIssued":
        await _set(conn, data, "certificate_path = $2", data["document_path"])
