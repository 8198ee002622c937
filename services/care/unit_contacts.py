"""Who does each unit's care work (关怀联系人), from profiles' directory events: care's own copy, never a call."""

from __future__ import annotations

from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.profiles import CareContactSet, StaffDeactivated, StaffRegistered, UnitRegistered


async def unit_registered(conn: Connection, event: UnitRegistered, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO care.unit_contacts (unit, name, kind) VALUES ($1, $2, $3) "
                       "ON CONFLICT (unit) DO UPDATE SET name = excluded.name, kind = excluded.kind",
                       event.code, event.name, event.kind.value)


async def care_contact_set(conn: Connection, event: CareContactSet, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO care.unit_contacts (unit, care_contact) VALUES ($1, $2) "
                       "ON CONFLICT (unit) DO UPDATE SET care_contact = excluded.care_contact", event.unit, event.user)


async def staff_registered(conn: Connection, event: StaffRegistered, _meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO care.staff (user_id, unit, role, active) VALUES ($1, $2, $3, true) "
        "ON CONFLICT (user_id) DO UPDATE SET unit = excluded.unit, role = excluded.role, active = true",
        event.user, event.unit, event.role.value)


async def staff_deactivated(conn: Connection, event: StaffDeactivated, _meta: EventMeta) -> None:
    await conn.execute("UPDATE care.staff SET active = false WHERE user_id = $1", event.user)
    await conn.execute("UPDATE care.unit_contacts SET care_contact = NULL WHERE care_contact = $1", event.user)


PROJECTION = Routes.of({
    UnitRegistered: unit_registered,
    CareContactSet: care_contact_set,
    StaffRegistered: staff_registered,
    StaffDeactivated: staff_deactivated,
})


async def care_contacts(conn: Connection, units: set[str]) -> dict[str, str | None]:
    """Each unit's default assignee of care tasks (None: it has none yet)."""
    rows = await conn.fetch("SELECT unit, care_contact FROM care.unit_contacts WHERE unit = ANY($1::text[])",
                            list(units))
    return {r["unit"]: r["care_contact"] for r in rows}


async def unit_of(conn: Connection, unit: str) -> tuple[str | None, str | None]:
    """A unit's name and care contact."""
    row = await conn.fetchrow("SELECT name, care_contact FROM care.unit_contacts WHERE unit = $1", unit)
    return (row["name"], row["care_contact"]) if row else (None, None)


async def all_units(conn: Connection) -> set[str]:
    return {r["unit"] for r in await conn.fetch("SELECT unit FROM care.unit_contacts")}
