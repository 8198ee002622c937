"""Care's projection of profiles' events into retiree facts; a small function per event type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from backbone.db import row_to_json
from contracts.base import Envelope
from contracts.care import GetRetireeFacts
from contracts.errors import not_found

Data = dict[str, Any]


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


async def retiree_registered(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await conn.execute(
        "INSERT INTO care.retiree_facts (retiree_id, unit, status, birth_date, retirement_date, category, "
        "source_version) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (retiree_id) DO NOTHING",
        UUID(d["retiree_id"]), d["unit"], d["status"], _d(d["birth_date"]), _d(d["retirement_date"]),
        d["category"], env.version,
    )


async def retirement_planned(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, planned_date=_d(d["planned_date"]))


async def retirement_approved(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    # An approval of a person care never saw registered (history before care existed) still creates the row.
    await conn.execute(
        "INSERT INTO care.retiree_facts (retiree_id, unit, status, approved_on, retirement_date, category, "
        "source_version) VALUES ($1, $2, 'retired', $3, $4, $5, $6) ON CONFLICT (retiree_id) DO UPDATE SET "
        "unit = excluded.unit, status = 'retired', approved_on = excluded.approved_on, "
        "retirement_date = excluded.retirement_date, category = excluded.category, "
        "source_version = excluded.source_version, applied_events = care.retiree_facts.applied_events + 1",
        UUID(d["retiree_id"]), d["unit"], _d(d["approved_on"]), _d(d["retirement_date"]), d["category"],
        env.version,
    )


async def profile_updated(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    changes = {k: d[k] for k in ("risk_tier", "living_alone") if k in d["changed"]}
    await _set(conn, env, d, **changes)


async def member_hospitalized(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, hospitalized_since=_d(d["admitted_on"]))


async def member_discharged(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, hospitalized_since=None)


async def party_membership_recorded(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, party_joined_on=_d(d["joined_on"]))


async def talent_pool_joined(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    joined = _d(d["joined_on"])
    await _set(conn, env, d, talent_since=joined, talent_reviewed_on=joined)


async def talent_pool_reviewed(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, talent_reviewed_on=_d(d["reviewed_on"]))


async def talent_pool_left(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, talent_since=None, talent_reviewed_on=None)


async def survivor_recorded(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await conn.execute(
        "UPDATE care.retiree_facts SET survivors = survivors + 1, source_version = $2, "
        "applied_events = applied_events + 1 WHERE retiree_id = $1",
        UUID(d["retiree_id"]), env.version,
    )


async def retiree_transferred(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, unit=d["to_unit"])


async def member_deceased(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, status="deceased", died_on=_d(d["died_on"]), hospitalized_since=None)


async def personal_data_erased(conn: asyncpg.Connection, env: Envelope, d: Data) -> None:
    await _set(conn, env, d, erased=True)


async def _set(conn: asyncpg.Connection, env: Envelope, d: Data, **columns: Any) -> None:
    assignments = "".join(f"{c} = ${i}, " for i, c in enumerate(columns, start=3))
    await conn.execute(
        f"UPDATE care.retiree_facts SET {assignments}source_version = $2, applied_events = applied_events + 1 "
        "WHERE retiree_id = $1",
        UUID(d["retiree_id"]), env.version, *columns.values(),
    )


Projector = Callable[[asyncpg.Connection, Envelope, Data], Awaitable[None]]

PROJECTORS: dict[str, Projector] = {
    "RetireeRegistered": retiree_registered,
    "RetirementPlanned": retirement_planned,
    "RetirementApproved": retirement_approved,
    "ProfileUpdated": profile_updated,
    "MemberHospitalized": member_hospitalized,
    "MemberDischarged": member_discharged,
    "PartyMembershipRecorded": party_membership_recorded,
    "TalentPoolJoined": talent_pool_joined,
    "TalentPoolReviewed": talent_pool_reviewed,
    "TalentPoolLeft": talent_pool_left,
    "SurvivorRecorded": survivor_recorded,
    "RetireeTransferred": retiree_transferred,
    "MemberDeceased": member_deceased,
    "PersonalDataErased": personal_data_erased,
}


async def project(conn: asyncpg.Connection, env: Envelope) -> None:
    projector = PROJECTORS.get(env.type)
    if projector is not None:
        await projector(conn, env, env.data)


async def load_facts(conn: asyncpg.Connection, retiree_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM care.retiree_facts WHERE retiree_id = $1", retiree_id)


async def get_retiree_facts(conn: asyncpg.Connection, query: GetRetireeFacts, _now: datetime) -> dict[str, Any]:
    row = await load_facts(conn, query.retiree_id)
    if row is None:
        raise not_found(f"care has no facts about retiree {query.retiree_id}")
    return row_to_json(row)
