"""Read models of the archive, a small function per event type; fed the events as stored (fields sealed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

Data = dict[str, Any]


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


async def unit_registered(conn: asyncpg.Connection, d: Data, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO profiles.units (code, name, kind, parent, registered_at) VALUES ($1, $2, $3, $4, $5)",
        d["code"], d["name"], d["kind"], d["parent"], at,
    )


async def care_contact_set(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await conn.execute("UPDATE profiles.units SET care_contact = $2 WHERE code = $1", d["unit"], d["user"])


async def staff_registered(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await conn.execute(
        "INSERT INTO profiles.staff (user_id, name, role, unit, phone, email, active) "
        "VALUES ($1, $2, $3, $4, $5, $6, true) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, "
        "role = excluded.role, unit = excluded.unit, phone = excluded.phone, email = excluded.email, active = true",
        d["user"], d["name"], d["role"], d["unit"], d["phone"], d["email"],
    )


async def staff_deactivated(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await conn.execute("UPDATE profiles.staff SET active = false WHERE user_id = $1", d["user"])
    await conn.execute("UPDATE profiles.units SET care_contact = NULL WHERE care_contact = $1", d["user"])


async def retiree_registered(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    rid = UUID(d["retiree_id"])
    await conn.execute(
        "INSERT INTO profiles.retirees (retiree_id, unit, status, sex, birth_date, category, sealed_name, "
        "sealed_id_number, sealed_phone, sealed_address, retirement_date, version) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)",
        rid, d["unit"], d["status"], d["sex"], _d(d["birth_date"]), d["category"], d["name"], d["id_number"],
        d["phone"], d["address"], _d(d["retirement_date"]),
    )
    await conn.execute("INSERT INTO profiles.unit_memberships (retiree_id, unit, since) VALUES ($1, $2, $3)",
                       rid, d["unit"], _d(d["retirement_date"]))


async def retirement_planned(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, planned_date=_d(d["planned_date"]))


async def retirement_approved(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, status="retired", document_number=d["document_number"], approved_on=_d(d["approved_on"]),
               retirement_date=_d(d["retirement_date"]), category=d["category"])


async def profile_updated(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    changes: dict[str, Any] = {}
    for name in d["changed"]:
        column = name if name in {"living_alone", "risk_tier"} else f"sealed_{name}"
        changes[column] = d[name]
    await _set(conn, d, **changes)


async def member_hospitalized(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, hospitalized_since=_d(d["admitted_on"]), sealed_hospital=d["hospital"])


async def member_discharged(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, hospitalized_since=None)


async def party_membership_recorded(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, party_member=True, party_joined_on=_d(d["joined_on"]), party_branch=d["branch"])


async def party_branch_assigned(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, party_branch=d["branch"])


async def community_registered(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, community=d["community"])


async def interest_group_joined(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await conn.execute("UPDATE profiles.retirees SET interest_groups = array_append(interest_groups, $2), "
                       "version = version + 1 WHERE retiree_id = $1", UUID(d["retiree_id"]), d["group"])


async def interest_group_left(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await conn.execute("UPDATE profiles.retirees SET interest_groups = array_remove(interest_groups, $2), "
                       "version = version + 1 WHERE retiree_id = $1", UUID(d["retiree_id"]), d["group"])


async def talent_pool_joined(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, talent_skills=list(d["skills"]), talent_reviewed_on=_d(d["joined_on"]))


async def talent_pool_reviewed(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, talent_reviewed_on=_d(d["reviewed_on"]))


async def talent_pool_left(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, talent_skills=None, talent_reviewed_on=None)


async def survivor_recorded(conn: asyncpg.Connection, d: Data, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO profiles.survivors (retiree_id, relation, sealed_name, sealed_phone, sealed_address, "
        "recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
        UUID(d["retiree_id"]), d["relation"], d["survivor_name"], d["phone"], d["address"], at,
    )
    await _set(conn, d)


async def retiree_transferred(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    rid, on = UUID(d["retiree_id"]), _d(d["effective_on"])
    await conn.execute("UPDATE profiles.unit_memberships SET until = $2 WHERE retiree_id = $1 AND until IS NULL",
                       rid, on)
    await conn.execute("INSERT INTO profiles.unit_memberships (retiree_id, unit, since) VALUES ($1, $2, $3)",
                       rid, d["to_unit"], on)
    await _set(conn, d, unit=d["to_unit"])


async def member_deceased(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    await _set(conn, d, status="deceased", died_on=_d(d["died_on"]), hospitalized_since=None)


async def personal_data_erased(conn: asyncpg.Connection, d: Data, _at: datetime) -> None:
    rid = UUID(d["retiree_id"])
    await conn.execute("DELETE FROM profiles.id_index WHERE retiree_id = $1", rid)
    await _set(conn, d, erased=True)


async def _set(conn: asyncpg.Connection, d: Data, **columns: Any) -> None:
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    sql = f"UPDATE profiles.retirees SET {assignments + ', ' if assignments else ''}version = version + 1 "
    await conn.execute(sql + "WHERE retiree_id = $1", UUID(d["retiree_id"]), *columns.values())


Projector = Callable[[asyncpg.Connection, Data, datetime], Awaitable[None]]

PROJECTORS: dict[str, Projector] = {
    "UnitRegistered": unit_registered,
    "CareContactSet": care_contact_set,
    "StaffRegistered": staff_registered,
    "StaffDeactivated": staff_deactivated,
    "RetireeRegistered": retiree_registered,
    "RetirementPlanned": retirement_planned,
    "RetirementApproved": retirement_approved,
    "ProfileUpdated": profile_updated,
    "MemberHospitalized": member_hospitalized,
    "MemberDischarged": member_discharged,
    "PartyMembershipRecorded": party_membership_recorded,
    "PartyBranchAssigned": party_branch_assigned,
    "CommunityRegistered": community_registered,
    "InterestGroupJoined": interest_group_joined,
    "InterestGroupLeft": interest_group_left,
    "TalentPoolJoined": talent_pool_joined,
    "TalentPoolReviewed": talent_pool_reviewed,
    "TalentPoolLeft": talent_pool_left,
    "SurvivorRecorded": survivor_recorded,
    "RetireeTransferred": retiree_transferred,
    "MemberDeceased": member_deceased,
    "PersonalDataErased": personal_data_erased,
}


async def project(conn: asyncpg.Connection, event_type: str, data: Data, at: datetime) -> None:
    """Events without a read-model change (e.g. FamilyEmergencyReported) only bump nothing."""
    projector = PROJECTORS.get(event_type)
    if projector is not None:
        await projector(conn, data, at)
    elif "retiree_id" in data:
        await _set(conn, data)
