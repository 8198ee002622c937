"""What care knows of each retiree (the facts it decides with), projected from profiles' events, and the query
that shows it. A small function per event type; a duplicate delivery never changes a row twice (the inbox).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from backbone import read_access
from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.care import GetRetireeFacts, ListReadAccess
from contracts.errors import forbidden, not_found
from contracts.profiles import (
    MemberDeceased,
    MemberDischarged,
    MemberHospitalized,
    PartyMembershipRecorded,
    PersonalDataErased,
    ProfileUpdated,
    RetireeRegistered,
    RetireeTransferred,
    RetirementApproved,
    RetirementPlanned,
    SurvivorRecorded,
    TalentPoolJoined,
    TalentPoolLeft,
    TalentPoolReviewed,
)


async def _set(conn: Connection, retiree_id: UUID, meta: EventMeta, **columns: Any) -> None:
    assignments = "".join(f"{c} = ${i}, " for i, c in enumerate(columns, start=3))
    await conn.execute(
        f"UPDATE care.retiree_facts SET {assignments}source_version = $2, applied_events = applied_events + 1 "
        "WHERE retiree_id = $1",
        retiree_id, meta.version, *columns.values(),
    )


async def retiree_registered(conn: Connection, event: RetireeRegistered, meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO care.retiree_facts (retiree_id, unit, status, birth_date, retirement_date, category, "
        "source_version) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (retiree_id) DO NOTHING",
        event.retiree_id, event.unit, event.status.value, event.birth_date, event.retirement_date,
        event.category.value if event.category else None, meta.version,
    )


async def retirement_planned(conn: Connection, event: RetirementPlanned, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, planned_date=event.planned_date)


async def retirement_approved(conn: Connection, event: RetirementApproved, meta: EventMeta) -> None:
    # An approval of a person care never saw registered (history before care existed) still creates the row.
    await conn.execute(
        "INSERT INTO care.retiree_facts (retiree_id, unit, status, approved_on, retirement_date, category, "
        "source_version) VALUES ($1, $2, 'retired', $3, $4, $5, $6) ON CONFLICT (retiree_id) DO UPDATE SET "
        "unit = excluded.unit, status = 'retired', approved_on = excluded.approved_on, "
        "retirement_date = excluded.retirement_date, category = excluded.category, "
        "source_version = excluded.source_version, applied_events = care.retiree_facts.applied_events + 1",
        event.retiree_id, event.unit, event.approved_on, event.retirement_date, event.category.value, meta.version,
    )


async def profile_updated(conn: Connection, event: ProfileUpdated, meta: EventMeta) -> None:
    changes: dict[str, Any] = {}
    if "risk_tier" in event.changed:
        changes["risk_tier"] = event.risk_tier.value if event.risk_tier else None
    if "living_alone" in event.changed:
        changes["living_alone"] = event.living_alone
    await _set(conn, event.retiree_id, meta, **changes)


async def member_hospitalized(conn: Connection, event: MemberHospitalized, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, hospitalized_since=event.admitted_on)


async def member_discharged(conn: Connection, event: MemberDischarged, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, hospitalized_since=None)


async def party_membership_recorded(conn: Connection, event: PartyMembershipRecorded, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, party_member=True, party_joined_on=event.joined_on)


async def talent_pool_joined(conn: Connection, event: TalentPoolJoined, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, talent_since=event.joined_on, talent_reviewed_on=event.joined_on)


async def talent_pool_reviewed(conn: Connection, event: TalentPoolReviewed, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, talent_reviewed_on=event.reviewed_on)


async def talent_pool_left(conn: Connection, event: TalentPoolLeft, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, talent_since=None, talent_reviewed_on=None)


async def survivor_recorded(conn: Connection, event: SurvivorRecorded, meta: EventMeta) -> None:
    await conn.execute(
        "UPDATE care.retiree_facts SET survivors = survivors + 1, source_version = $2, "
        "applied_events = applied_events + 1 WHERE retiree_id = $1",
        event.retiree_id, meta.version,
    )


async def retiree_transferred(conn: Connection, event: RetireeTransferred, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, unit=event.to_unit)


async def member_deceased(conn: Connection, event: MemberDeceased, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, status="deceased", died_on=event.died_on, hospitalized_since=None)


# Everything care knew of the person goes; the row stays (unit, status) so that obligations and counts still add
# up, and the key upkeep vacuums the table so no dead tuple keeps the old values (backbone/key_upkeep.py).
ERASED_FACTS: dict[str, Any] = {
    "birth_date": None, "planned_date": None, "approved_on": None, "retirement_date": None, "category": None,
    "risk_tier": "normal", "living_alone": False, "hospitalized_since": None, "party_joined_on": None,
    "talent_since": None, "talent_reviewed_on": None, "survivors": 0, "died_on": None, "party_member": False,
}


async def personal_data_erased(conn: Connection, event: PersonalDataErased, meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, meta, erased=True, **ERASED_FACTS)


PROJECTION = Routes.of({
    RetireeRegistered: retiree_registered,
    RetirementPlanned: retirement_planned,
    RetirementApproved: retirement_approved,
    ProfileUpdated: profile_updated,
    MemberHospitalized: member_hospitalized,
    MemberDischarged: member_discharged,
    PartyMembershipRecorded: party_membership_recorded,
    TalentPoolJoined: talent_pool_joined,
    TalentPoolReviewed: talent_pool_reviewed,
    TalentPoolLeft: talent_pool_left,
    SurvivorRecorded: survivor_recorded,
    RetireeTransferred: retiree_transferred,
    MemberDeceased: member_deceased,
    PersonalDataErased: personal_data_erased,
})


async def load_facts(conn: Connection, retiree_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM care.retiree_facts WHERE retiree_id = $1", retiree_id)


async def get_retiree_facts(conn: Connection, query: GetRetireeFacts, _now: datetime) -> dict[str, Any]:
    """A unit's staff see only their unit's people; every answer is in care's read-access log."""
    row = await load_facts(conn, query.retiree_id)
    if row is None:
        raise not_found(f"care has no facts about retiree {query.retiree_id}", zh="关怀服务中没有该退休人员的信息")
    if not query.actor.may_act_for(row["unit"]):
        raise forbidden(f"{query.actor.user} of {query.actor.unit} may not read facts of {row['unit']}",
                        zh="无权查看其他单位人员的信息")
    await conn.execute(
        "INSERT INTO care.read_access (user_id, role, actor_unit, query, retiree_id) VALUES ($1, $2, $3, $4, $5)",
        query.actor.user, query.actor.role.value, query.actor.unit, "GetRetireeFacts", query.retiree_id,
    )
    if row["erased"]:
        return {"retiree_id": str(row["retiree_id"]), "erased": True}
    return row_to_json(row)


async def list_read_access(conn: Connection, q: ListReadAccess, _now: datetime) -> list[Any]:
    return await read_access.list_read_access(conn, "care", q, "query")

