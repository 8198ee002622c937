"""Who can be told (staff and units, from profiles' directory events) and who must never be (the deceased and
the erased), and the recipients of a rule for an event. Projections are upserts: a replay writes the same rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from backbone.crypto import ERASED
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.base import Actor, Event
from contracts.notify import ChannelName
from contracts.profiles import (
    CareContactSet,
    MemberDeceased,
    PersonalDataErased,
    StaffDeactivated,
    StaffRegistered,
    UnitRegistered,
)
from services.notify.rules import RecipientKind

STAFF_ROLES_OF_UNIT = ("unit_staff", "unit_head")


def may_manage(actor: Actor, recipient: str) -> bool:
    """A staff member manages their own inbox and preferences, a retiree theirs; the district office anyone's."""
    if actor.retiree_id is not None:
        return recipient == f"retiree:{actor.retiree_id}"
    return actor.oversees_all or recipient == f"staff:{actor.user}"


async def unit_registered(conn: Connection, event: UnitRegistered, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO notify.units (code, name) VALUES ($1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET name = excluded.name", event.code, event.name)


async def staff_registered(conn: Connection, event: StaffRegistered, _meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO notify.staff (user_id, name, role, unit, phone, email, active) "
        "VALUES ($1, $2, $3, $4, $5, $6, true) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, "
        "role = excluded.role, unit = excluded.unit, phone = excluded.phone, email = excluded.email, active = true",
        event.user, event.name, event.role.value, event.unit, event.phone, event.email,
    )


async def staff_deactivated(conn: Connection, event: StaffDeactivated, _meta: EventMeta) -> None:
    await conn.execute("UPDATE notify.staff SET active = false WHERE user_id = $1", event.user)


async def care_contact_set(conn: Connection, event: CareContactSet, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO notify.units (code, name, care_contact) VALUES ($1, $1, $2) "
                       "ON CONFLICT (code) DO UPDATE SET care_contact = excluded.care_contact", event.unit, event.user)


async def _suppress(conn: Connection, retiree_id: uuid.UUID, reason: str, since: datetime) -> None:
    # Erasure after death keeps the first reason: both forbid messages equally.
    await conn.execute("INSERT INTO notify.suppressions (retiree_id, reason, since) VALUES ($1, $2, $3) "
                       "ON CONFLICT (retiree_id) DO NOTHING", retiree_id, reason, since)


async def deceased(conn: Connection, event: MemberDeceased, meta: EventMeta) -> None:
    await _suppress(conn, event.retiree_id, "deceased", meta.occurred_at)


async def erased(conn: Connection, event: PersonalDataErased, meta: EventMeta) -> None:
    """No message reaches the person any more, and the messages their own inbox held are blanked."""
    await _suppress(conn, event.retiree_id, "erased", meta.occurred_at)
    await conn.execute("UPDATE notify.inbox_messages SET subject = $2, body = $2 WHERE recipient = $1",
                       f"retiree:{event.retiree_id}", ERASED)


PROJECTION = Routes.of({
    UnitRegistered: unit_registered,
    StaffRegistered: staff_registered,
    StaffDeactivated: staff_deactivated,
    CareContactSet: care_contact_set,
    MemberDeceased: deceased,
    PersonalDataErased: erased,
})


def event_unit(event: Event, meta: EventMeta) -> str:
    """The unit an event is about (its own `unit` field), else the unit it was published under."""
    return str(getattr(event, "unit", None) or meta.unit)


async def recipients(conn: Connection, kind: RecipientKind, event: Event, meta: EventMeta) -> list[str]:
    """Recipient keys for one recipient kind of a rule (the rule book checked the event has what each needs)."""
    unit = event_unit(event, meta)
    match kind:
        case RecipientKind.RETIREE | RecipientKind.APPLICANT:
            return [f"retiree:{getattr(event, 'retiree_id')}"]  # noqa: B009 - the rule book checked it is there
        case RecipientKind.ASSIGNEE:
            user = getattr(event, "assignee", None) or await conn.fetchval(
                "SELECT care_contact FROM notify.units WHERE code = $1", unit)
            return [f"staff:{user}"] if user else []
        case RecipientKind.UNIT_HEAD:
            rows = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND unit = $1 "
                                    "AND role = 'unit_head' ORDER BY user_id", unit)
        case RecipientKind.DISTRICT_OFFICE:
            rows = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND role = 'district_office' "
                                    "ORDER BY user_id")
        case RecipientKind.UNIT_STAFF:
            return [f"staff:{user}" for user in await unit_staff(conn, [unit])]
        case RecipientKind.UNITS_IN_SCOPE:
            units = list(getattr(event, "units"))  # noqa: B009 - the rule book checked the event has them
            return [f"staff:{user}" for user in await unit_staff(conn, units)]
    return [f"staff:{r['user_id']}" for r in rows]


async def unit_staff(conn: Connection, units: list[str]) -> list[str]:
    """The user ids of the active staff and heads of these units."""
    rows = await conn.fetch("SELECT user_id FROM notify.staff WHERE active AND unit = ANY($1) AND role = ANY($2) "
                            "ORDER BY unit, user_id", units, list(STAFF_ROLES_OF_UNIT))
    return [r["user_id"] for r in rows]


async def preference(conn: Connection, recipient: str) -> list[ChannelName] | None:
    chosen = await conn.fetchval("SELECT channels FROM notify.channel_preferences WHERE recipient = $1", recipient)
    return [ChannelName(c) for c in chosen] if chosen else None


async def suppression(conn: Connection, recipient: str) -> str | None:
    if not recipient.startswith("retiree:"):
        return None
    reason: str | None = await conn.fetchval("SELECT reason FROM notify.suppressions WHERE retiree_id = $1",
                                             uuid.UUID(recipient.removeprefix("retiree:")))
    return reason
