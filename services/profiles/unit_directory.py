"""Which units and staff the district has (单位与经办人): their read model and the queries that list them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.errors import forbidden, not_found
from contracts.profiles import (
    CareContactSet,
    GetCareContact,
    ListStaff,
    ListUnits,
    StaffDeactivated,
    StaffRegistered,
    UnitRegistered,
)


async def unit_registered(conn: Connection, event: UnitRegistered, meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO profiles.units (code, name, kind, parent, registered_at) VALUES ($1, $2, $3, $4, $5)",
        event.code, event.name, event.kind.value, event.parent, meta.occurred_at,
    )


async def care_contact_set(conn: Connection, event: CareContactSet, _meta: EventMeta) -> None:
    await conn.execute("UPDATE profiles.units SET care_contact = $2 WHERE code = $1", event.unit, event.user)


async def staff_registered(conn: Connection, event: StaffRegistered, _meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO profiles.staff (user_id, name, role, unit, phone, email, active) "
        "VALUES ($1, $2, $3, $4, $5, $6, true) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, "
        "role = excluded.role, unit = excluded.unit, phone = excluded.phone, email = excluded.email, active = true",
        event.user, event.name, event.role.value, event.unit, event.phone, event.email,
    )


async def staff_deactivated(conn: Connection, event: StaffDeactivated, _meta: EventMeta) -> None:
    await conn.execute("UPDATE profiles.staff SET active = false WHERE user_id = $1", event.user)
    await conn.execute("UPDATE profiles.units SET care_contact = NULL WHERE care_contact = $1", event.user)


PROJECTION = Routes.of({
    UnitRegistered: unit_registered,
    CareContactSet: care_contact_set,
    StaffRegistered: staff_registered,
    StaffDeactivated: staff_deactivated,
})


async def list_units(conn: Connection, _q: ListUnits, _now: datetime) -> list[Any]:
    return [row_to_json(r) for r in await conn.fetch("SELECT * FROM profiles.units ORDER BY code")]


async def list_staff(conn: Connection, q: ListStaff, _now: datetime) -> list[Any]:
    if q.unit is not None and not q.actor.may_act_for(q.unit):
        raise forbidden(f"{q.actor.user} may not list the staff of {q.unit}",
                        zh=f"无权查看其他单位（{q.unit}）的工作人员")
    unit = q.unit if q.unit is not None else (None if q.actor.oversees_all else q.actor.unit)
    rows = await conn.fetch(
        "SELECT s.*, (u.care_contact = s.user_id) AS care_contact FROM profiles.staff s "
        "JOIN profiles.units u ON u.code = s.unit WHERE $1::text IS NULL OR s.unit = $1 ORDER BY s.unit, s.user_id",
        unit,
    )
    return [row_to_json(r) for r in rows]


async def care_contact(conn: Connection, q: GetCareContact, _now: datetime) -> dict[str, Any]:
    """The person's unit and its care contact (a work contact); the person themselves or the unit's staff."""
    row = await conn.fetchrow(
        "SELECT r.unit, u.name AS unit_name, s.name AS contact_name, s.phone AS contact_phone "
        "FROM profiles.retirees r JOIN profiles.units u ON u.code = r.unit "
        "LEFT JOIN profiles.staff s ON s.user_id = u.care_contact AND s.active WHERE r.retiree_id = $1",
        q.retiree_id)
    if row is None:
        raise not_found(f"no retiree {q.retiree_id}", zh="档案中没有该退休人员")
    if not (q.actor.is_person(q.retiree_id) or q.actor.may_act_for(row["unit"])):
        raise forbidden(f"{q.actor.user} may not see the care contact of {q.retiree_id}", zh="无权查看")
    return row_to_json(row)

