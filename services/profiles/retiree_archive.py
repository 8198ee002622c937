"""Who a retiree is, and who a unit's retirees are (退休人员档案): the archive's read model and its queries.

The rows hold sensitive fields sealed, exactly as the events carry them. Sealed fields are opened only for a
caller allowed to see them, and every opening of sensitive plaintext is written to the read-access log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from backbone.crypto import ERASED, KeyErased, Keyring
from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.base import local_date
from contracts.errors import forbidden, not_found, refused
from contracts.profiles import (
    CommunityRegistered,
    CountRetireesPerUnit,
    ExemplaryRecognized,
    FamilyEmergencyReported,
    GetRetiree,
    GetRetireeCards,
    HardshipReported,
    HealthExamRecorded,
    InterestGroupJoined,
    InterestGroupLeft,
    ListRetirees,
    MemberDeceased,
    MemberDischarged,
    MemberHospitalized,
    PartyBranchAssigned,
    PartyMembershipRecorded,
    PersonalDataErased,
    PersonEvent,
    ProfileUpdated,
    RetireeCard,
    RetireeRegistered,
    RetireeStatus,
    RetireeTransferred,
    RetirementApproved,
    RetirementPlanned,
    SurvivorRecorded,
    TalentPoolJoined,
    TalentPoolLeft,
    TalentPoolReviewed,
)
from services.profiles.read_access import Access, record_access, record_accesses

# Plain columns the profile fields of ProfileUpdated land in; every other changed field is sealed.
PLAIN_PROFILE_FIELDS = frozenset({"living_alone", "risk_tier"})

# ------------------------------------------------------------------------------------------------ projection


async def _set(conn: Connection, retiree_id: UUID, **columns: Any) -> None:
    """Update the person's row; every event of theirs counts in `version`, with or without a change."""
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    sql = f"UPDATE profiles.retirees SET {assignments + ', ' if assignments else ''}version = version + 1 "
    await conn.execute(sql + "WHERE retiree_id = $1", retiree_id, *columns.values())


def _registered_row(event: RetireeRegistered) -> tuple[Any, ...]:
    return (event.retiree_id, event.unit, event.status.value, event.sex.value if event.sex else None, event.birth_date,
            event.category.value if event.category else None, event.name, event.id_number, event.phone,
            event.address, event.retirement_date)


INSERT_RETIREE = (
    "INSERT INTO profiles.retirees (retiree_id, unit, status, sex, birth_date, category, sealed_name, "
    "sealed_id_number, sealed_phone, sealed_address, retirement_date, version) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)")
INSERT_MEMBERSHIP = "INSERT INTO profiles.unit_memberships (retiree_id, unit, since) VALUES ($1, $2, $3)"


async def retiree_registered(conn: Connection, event: RetireeRegistered, meta: EventMeta) -> None:
    await retirees_registered(conn, [(event, meta)])


async def retirees_registered(conn: Connection, items: Sequence[tuple[RetireeRegistered, EventMeta]],
                              ) -> None:
    """A roster import's people in two statements."""
    await conn.executemany(INSERT_RETIREE, [_registered_row(e) for e, _ in items])
    await conn.executemany(INSERT_MEMBERSHIP, [(e.retiree_id, e.unit, e.retirement_date) for e, _ in items])


async def retirement_planned(conn: Connection, event: RetirementPlanned, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, planned_date=event.planned_date)


async def retirement_approved(conn: Connection, event: RetirementApproved, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, status="retired", document_number=event.document_number,
               approved_on=event.approved_on, retirement_date=event.retirement_date, category=event.category.value)


async def profile_updated(conn: Connection, event: ProfileUpdated, _meta: EventMeta) -> None:
    values = event.model_dump(mode="json", include=set(event.changed))
    changes = {name if name in PLAIN_PROFILE_FIELDS else f"sealed_{name}": values[name] for name in event.changed}
    await _set(conn, event.retiree_id, **changes)


async def member_hospitalized(conn: Connection, event: MemberHospitalized, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, hospitalized_since=event.admitted_on, sealed_hospital=event.hospital)


async def member_discharged(conn: Connection, event: MemberDischarged, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, hospitalized_since=None)


async def party_membership_recorded(conn: Connection, event: PartyMembershipRecorded,
                                    meta: EventMeta) -> None:
    await party_memberships_recorded(conn, [(event, meta)])


async def party_memberships_recorded(conn: Connection,
                                     items: Sequence[tuple[PartyMembershipRecorded, EventMeta]]) -> None:
    await conn.executemany(
        "UPDATE profiles.retirees SET party_member = true, party_joined_on = $2, party_branch = $3, "
        "version = version + 1 WHERE retiree_id = $1", [(e.retiree_id, e.joined_on, e.branch) for e, _ in items])


async def party_branch_assigned(conn: Connection, event: PartyBranchAssigned, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, party_branch=event.branch)


async def community_registered(conn: Connection, event: CommunityRegistered, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, community=event.community)


async def interest_group_joined(conn: Connection, event: InterestGroupJoined, _meta: EventMeta) -> None:
    await conn.execute("UPDATE profiles.retirees SET interest_groups = array_append(interest_groups, $2), "
                       "version = version + 1 WHERE retiree_id = $1", event.retiree_id, event.group)


async def interest_group_left(conn: Connection, event: InterestGroupLeft, _meta: EventMeta) -> None:
    await conn.execute("UPDATE profiles.retirees SET interest_groups = array_remove(interest_groups, $2), "
                       "version = version + 1 WHERE retiree_id = $1", event.retiree_id, event.group)


async def talent_pool_joined(conn: Connection, event: TalentPoolJoined, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, talent_skills=list(event.skills), talent_reviewed_on=event.joined_on)


async def talent_pool_reviewed(conn: Connection, event: TalentPoolReviewed, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, talent_reviewed_on=event.reviewed_on)


async def talent_pool_left(conn: Connection, event: TalentPoolLeft, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, talent_skills=None, talent_reviewed_on=None)


async def survivor_recorded(conn: Connection, event: SurvivorRecorded, meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO profiles.survivors (retiree_id, relation, sealed_name, sealed_phone, sealed_address, "
        "recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
        event.retiree_id, event.relation, event.survivor_name, event.phone, event.address, meta.occurred_at,
    )
    await _set(conn, event.retiree_id)


async def retiree_transferred(conn: Connection, event: RetireeTransferred, _meta: EventMeta) -> None:
    await conn.execute("UPDATE profiles.unit_memberships SET until = $2 WHERE retiree_id = $1 AND until IS NULL",
                       event.retiree_id, event.effective_on)
    await conn.execute(INSERT_MEMBERSHIP, event.retiree_id, event.to_unit, event.effective_on)
    await _set(conn, event.retiree_id, unit=event.to_unit)


async def member_deceased(conn: Connection, event: MemberDeceased, _meta: EventMeta) -> None:
    await _set(conn, event.retiree_id, status="deceased", died_on=event.died_on, hospitalized_since=None)


# The plaintext facts of the row go with the key (birth date and sex, health, family, groups); the row stays for
# counts and history, its sealed columns unreadable. The key upkeep vacuums the table (backbone/key_upkeep.py).
ERASED_FACTS: dict[str, Any] = {
    "sex": None, "birth_date": None, "hospitalized_since": None, "living_alone": False, "risk_tier": "normal",
    "party_branch": None, "community": None, "interest_groups": [], "talent_skills": None,
    "talent_reviewed_on": None,
}


async def personal_data_erased(conn: Connection, event: PersonalDataErased, _meta: EventMeta) -> None:
    await conn.execute("DELETE FROM profiles.id_index WHERE retiree_id = $1", event.retiree_id)
    await _set(conn, event.retiree_id, erased=True, **ERASED_FACTS)


async def counted(conn: Connection, event: PersonEvent, _meta: EventMeta) -> None:
    """A fact with no column of its own (a health exam, a hardship report...) still counts in `version`."""
    await _set(conn, event.retiree_id)


PROJECTION = Routes.of({
    RetireeRegistered: retiree_registered,
    RetirementPlanned: retirement_planned,
    RetirementApproved: retirement_approved,
    ProfileUpdated: profile_updated,
    MemberHospitalized: member_hospitalized,
    MemberDischarged: member_discharged,
    FamilyEmergencyReported: counted,
    HardshipReported: counted,
    HealthExamRecorded: counted,
    PartyMembershipRecorded: party_membership_recorded,
    PartyBranchAssigned: party_branch_assigned,
    CommunityRegistered: community_registered,
    InterestGroupJoined: interest_group_joined,
    InterestGroupLeft: interest_group_left,
    TalentPoolJoined: talent_pool_joined,
    TalentPoolReviewed: talent_pool_reviewed,
    TalentPoolLeft: talent_pool_left,
    ExemplaryRecognized: counted,
    SurvivorRecorded: survivor_recorded,
    RetireeTransferred: retiree_transferred,
    MemberDeceased: member_deceased,
    PersonalDataErased: personal_data_erased,
}, bulk={RetireeRegistered: retirees_registered, PartyMembershipRecorded: party_memberships_recorded})

# --------------------------------------------------------------------------------------------------- queries

PLAIN_COLUMNS = (
    "retiree_id", "unit", "status", "sex", "birth_date", "category", "planned_date", "document_number",
    "approved_on", "retirement_date", "living_alone", "risk_tier", "hospitalized_since", "party_member",
    "party_joined_on", "party_branch", "community", "interest_groups", "talent_skills", "talent_reviewed_on",
    "died_on", "erased",
)


async def open_field(conn: Connection, keyring: Keyring, rid: UUID, field: str, sealed: str | None) -> Any:
    """The stored JSON value of a sealed field, or ERASED once the person's key is gone."""
    if sealed is None:
        return None
    try:
        return json.loads(await keyring.open(conn, str(rid), field, sealed))
    except KeyErased:
        return ERASED


def _age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class ArchiveQueries:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    async def get_retiree(self, conn: Connection, q: GetRetiree, now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow("SELECT * FROM profiles.retirees WHERE retiree_id = $1", q.retiree_id)
        if row is None:
            raise not_found(f"no retiree {q.retiree_id}", zh="档案中没有该退休人员")
        fields = ["name", *q.reveal]
        if not q.actor.may_act_for(row["unit"]) and not q.actor.is_person(q.retiree_id):  # PIPL Art. 45: one's own
            await record_access(conn, q.actor, q.retiree_id, fields, q.purpose, success=False, detail="forbidden")
            raise forbidden(f"{q.actor.user} of {q.actor.unit} may not read retirees of {row['unit']}",
                            zh="无权查看其他单位的退休人员档案")
        if q.reveal and not q.purpose:
            raise refused("say why: revealing sensitive fields needs a purpose",
                          zh="查看身份证号、电话等敏感信息须说明用途", field="purpose")
        result = await self.opened(conn, row, q.reveal, local_date(now))
        erased = row["erased"]
        await record_access(conn, q.actor, q.retiree_id, fields, q.purpose, success=not erased,
                            detail="erased" if erased else None)
        return row_to_json(result)

    async def get_cards(self, conn: Connection, q: GetRetireeCards, _now: datetime) -> list[dict[str, Any]]:
        """Cards in the order asked (each person once); ids not in the archive are left out. One person of a
        unit the actor may not see refuses the whole request, and those attempts are logged as refused reads.
        """
        ids = list(dict.fromkeys(q.retiree_ids))
        rows = {r["retiree_id"]: r for r in await conn.fetch(
            "SELECT retiree_id, unit, status, erased, sealed_name FROM profiles.retirees "
            "WHERE retiree_id = ANY($1::uuid[])", ids)}
        known = [rows[i] for i in ids if i in rows]
        others = [r["retiree_id"] for r in known if not q.actor.may_act_for(r["unit"])]
        if others:
            await record_accesses(conn, q.actor, [Access(rid, ["name"], q.purpose, success=False,
                                                         detail="forbidden") for rid in others])
            shown = ", ".join(str(rid) for rid in others[:5]) + (", ..." if len(others) > 5 else "")  # noqa: PLR2004
            raise forbidden(f"{q.actor.user} ({q.actor.role.value} of {q.actor.unit}) may not read retirees of "
                            f"other units: {len(others)} of the {len(ids)} asked ({shown})",
                            zh=f"无权查看其他单位的退休人员档案（所查 {len(ids)} 人中有 {len(others)} 人不属于本单位）",
                            refused=len(others))
        await self._keyring.preload(conn, [str(r["retiree_id"]) for r in known if not r["erased"]])
        cards = [
            RetireeCard(retiree_id=r["retiree_id"], unit=r["unit"], status=RetireeStatus(r["status"]),
                        erased=r["erased"],
                        name=await open_field(conn, self._keyring, r["retiree_id"], "name", r["sealed_name"]))
            for r in known
        ]
        await record_accesses(conn, q.actor, [
            Access(c.retiree_id, ["name"], q.purpose, success=not c.erased, detail="erased" if c.erased else "cards")
            for c in cards])
        return [c.model_dump(mode="json") for c in cards]

    async def opened(self, conn: Connection, row: asyncpg.Record, reveal: Sequence[str], today: date,
                     ) -> dict[str, Any]:
        """A person's row as GetRetiree answers it: the plain facts, the age on `today`, the name, and the sealed
        fields asked for (already authorised and to be recorded by the caller).
        """
        rid = row["retiree_id"]
        result = {c: row[c] for c in PLAIN_COLUMNS}
        result["age"] = _age(row["birth_date"], today)
        result["name"] = await open_field(conn, self._keyring, rid, "name", row["sealed_name"])
        for name in reveal:
            if name == "survivor":
                result["survivors"] = await self._survivors(conn, rid)
            else:
                result[name] = await open_field(conn, self._keyring, rid, name, row[f"sealed_{name}"])
        return result

    async def _survivors(self, conn: Connection, rid: UUID) -> list[dict[str, Any]]:
        rows = await conn.fetch("SELECT * FROM profiles.survivors WHERE retiree_id = $1 ORDER BY recorded_at", rid)
        return [
            {
                "relation": r["relation"],
                "name": await open_field(conn, self._keyring, rid, "survivor_name", r["sealed_name"]),
                "phone": await open_field(conn, self._keyring, rid, "phone", r["sealed_phone"]),
                "address": await open_field(conn, self._keyring, rid, "address", r["sealed_address"]),
            }
            for r in rows
        ]

    async def list_retirees(  # noqa: C901 - one clause per filter
        self, conn: Connection, q: ListRetirees, now: datetime,
    ) -> dict[str, Any]:
        if not q.actor.may_act_for(q.unit):
            raise forbidden(f"{q.actor.user} of {q.actor.unit} may not list retirees of {q.unit}",
                            zh=f"无权查看其他单位（{q.unit}）的退休人员名单")
        where, args = ["unit = $1", "NOT erased"], [q.unit]

        def add(clause: str, value: Any) -> None:
            args.append(value)
            where.append(clause.replace("?", f"${len(args)}"))

        today = local_date(now)
        if q.status is not None:
            add("status = ?", q.status.value)
        if q.min_age is not None:  # age >= n  <=>  born on or before today minus n years
            add("birth_date <= ?", _years_before(today, q.min_age))
        if q.max_age is not None:  # age <= n  <=>  born after today minus n+1 years
            add("birth_date > ?", _years_before(today, q.max_age + 1))
        if q.party_member is not None:
            add("party_member = ?", q.party_member)
        if q.hospitalized is not None:
            where.append("hospitalized_since IS NOT NULL" if q.hospitalized else "hospitalized_since IS NULL")
        if q.risk_tier is not None:
            add("risk_tier = ?", q.risk_tier.value)
        if q.talent_skill is not None:
            add("? = ANY(talent_skills)", q.talent_skill)
        sql = " AND ".join(where)
        total = await conn.fetchval(f"SELECT count(*) FROM profiles.retirees WHERE {sql}", *args)
        rows = await conn.fetch(
            f"SELECT * FROM profiles.retirees WHERE {sql} ORDER BY birth_date, retiree_id "
            f"LIMIT {q.limit} OFFSET {q.offset}", *args,
        )
        await self._keyring.preload(conn, [str(r["retiree_id"]) for r in rows])
        items = []
        for r in rows:
            item = row_to_json({c: r[c] for c in PLAIN_COLUMNS})
            item["age"] = _age(r["birth_date"], today)
            item["name"] = await open_field(conn, self._keyring, r["retiree_id"], "name", r["sealed_name"])
            items.append(item)
        # Who saw whom: one row per person named on the page (the list's filters in the detail).
        detail = f"ListRetirees {q.unit} offset {q.offset}"
        await record_accesses(conn, q.actor, [Access(r["retiree_id"], ["name"], "list", detail=detail) for r in rows])
        return {"total": total, "items": items}


async def count_per_unit(conn: Connection, q: CountRetireesPerUnit, _now: datetime) -> list[Any]:
    rows = await conn.fetch(
        "SELECT u.code AS unit, u.name, "
        "count(r.*) FILTER (WHERE r.status = 'planned') AS planned, "
        "count(r.*) FILTER (WHERE r.status = 'retired') AS retired, "
        "count(r.*) FILTER (WHERE r.status = 'deceased') AS deceased, "
        "count(r.*) FILTER (WHERE r.party_member AND r.status = 'retired') AS party_members, "
        "count(r.*) FILTER (WHERE r.hospitalized_since IS NOT NULL) AS hospitalized "
        "FROM profiles.units u LEFT JOIN profiles.retirees r ON r.unit = u.code AND NOT r.erased "
        "GROUP BY u.code, u.name ORDER BY u.code"
    )
    return [row_to_json(r) for r in rows if q.actor.may_act_for(r["unit"])]
