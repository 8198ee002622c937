"""Queries of the archive. Sealed fields are opened only for a caller allowed to see them, and every opening
of sensitive plaintext is written to `read_access` (who, when, which retiree, which fields, purpose, success).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from backbone.crypto import ERASED, KeyErased, Keyring
from backbone.db import row_to_json
from contracts.base import Actor, Role, local_date
from contracts.errors import forbidden, not_found, refused
from contracts.profiles import (
    CountRetireesPerUnit,
    GetRetiree,
    ListReadAccess,
    ListRetirees,
    ListStaff,
    ListUnits,
)

PLAIN_COLUMNS = (
    "retiree_id", "unit", "status", "sex", "birth_date", "category", "planned_date", "document_number",
    "approved_on", "retirement_date", "living_alone", "risk_tier", "hospitalized_since", "party_member",
    "party_joined_on", "party_branch", "community", "interest_groups", "talent_skills", "talent_reviewed_on",
    "died_on", "erased",
)


def may_see_unit(actor: Actor, unit: str) -> bool:
    return actor.role in (Role.DISTRICT_OFFICE, Role.SYSTEM) or actor.unit == unit


async def record_access(  # noqa: PLR0913
    conn: asyncpg.Connection, actor: Actor, retiree_id: UUID | None, fields: list[str], purpose: str | None,
    *, success: bool, detail: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO profiles.read_access (user_id, role, actor_unit, retiree_id, fields, purpose, success, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        actor.user, actor.role.value, actor.unit, retiree_id, fields, purpose, success, detail,
    )


async def open_field(conn: asyncpg.Connection, keyring: Keyring, rid: UUID, field: str, sealed: str | None) -> Any:
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


class ArchiveQueries:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    async def get_retiree(self, conn: asyncpg.Connection, q: GetRetiree, now: datetime) -> dict[str, Any]:
        row = await conn.fetchrow("SELECT * FROM profiles.retirees WHERE retiree_id = $1", q.retiree_id)
        if row is None:
            raise not_found(f"no retiree {q.retiree_id}")
        fields = ["name", *q.reveal]
        if not may_see_unit(q.actor, row["unit"]):
            await record_access(conn, q.actor, q.retiree_id, fields, q.purpose, success=False, detail="forbidden")
            raise forbidden(f"{q.actor.user} of {q.actor.unit} may not read retirees of {row['unit']}")
        if q.reveal and not q.purpose:
            raise refused("say why: revealing sensitive fields needs a purpose", field="purpose")
        result = {c: row[c] for c in PLAIN_COLUMNS}
        result["age"] = _age(row["birth_date"], local_date(now))
        result["name"] = await open_field(conn, self._keyring, q.retiree_id, "name", row["sealed_name"])
        for name in q.reveal:
            if name == "survivor":
                result["survivors"] = await self._survivors(conn, q.retiree_id)
            else:
                result[name] = await open_field(conn, self._keyring, q.retiree_id, name, row[f"sealed_{name}"])
        erased = row["erased"]
        await record_access(conn, q.actor, q.retiree_id, fields, q.purpose, success=not erased,
                            detail="erased" if erased else None)
        return row_to_json(result)

    async def _survivors(self, conn: asyncpg.Connection, rid: UUID) -> list[dict[str, Any]]:
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
        self, conn: asyncpg.Connection, q: ListRetirees, now: datetime,
    ) -> dict[str, Any]:
        if not may_see_unit(q.actor, q.unit):
            raise forbidden(f"{q.actor.user} of {q.actor.unit} may not list retirees of {q.unit}")
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
        items = []
        for r in rows:
            item = row_to_json({c: r[c] for c in PLAIN_COLUMNS})
            item["age"] = _age(r["birth_date"], today)
            item["name"] = await open_field(conn, self._keyring, r["retiree_id"], "name", r["sealed_name"])
            items.append(item)
        if items:
            await record_access(conn, q.actor, None, ["name"], "list", success=True,
                                detail=f"unit {q.unit}: {len(items)} names")
        return {"total": total, "items": items}

    async def count_per_unit(self, conn: asyncpg.Connection, q: CountRetireesPerUnit, _now: datetime) -> list[Any]:
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
        return [row_to_json(r) for r in rows if may_see_unit(q.actor, r["unit"])]

    async def list_units(self, conn: asyncpg.Connection, _q: ListUnits, _now: datetime) -> list[Any]:
        return [row_to_json(r) for r in await conn.fetch("SELECT * FROM profiles.units ORDER BY code")]

    async def list_staff(self, conn: asyncpg.Connection, q: ListStaff, _now: datetime) -> list[Any]:
        if q.unit is not None and not may_see_unit(q.actor, q.unit):
            raise forbidden(f"{q.actor.user} may not list the staff of {q.unit}")
        unit = q.unit if q.unit is not None else (None if may_see_unit(q.actor, "*") else q.actor.unit)
        rows = await conn.fetch(
            "SELECT s.*, (u.care_contact = s.user_id) AS care_contact FROM profiles.staff s "
            "JOIN profiles.units u ON u.code = s.unit WHERE $1::text IS NULL OR s.unit = $1 ORDER BY s.unit, s.user_id",
            unit,
        )
        return [row_to_json(r) for r in rows]

    async def list_read_access(self, conn: asyncpg.Connection, q: ListReadAccess, _now: datetime) -> list[Any]:
        if q.actor.role is not Role.DISTRICT_OFFICE:
            raise forbidden("only the district office may list read-access records")
        rows = await conn.fetch(
            "SELECT * FROM profiles.read_access WHERE ($1::uuid IS NULL OR retiree_id = $1) "
            "AND ($2::text IS NULL OR user_id = $2) ORDER BY access_id DESC LIMIT $3",
            q.retiree_id, q.user, q.limit,
        )
        return [row_to_json(r) for r in rows]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)

