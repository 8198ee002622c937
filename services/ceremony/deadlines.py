"""Durable timers of a case: armed and cancelled in the same transaction as the events that need them."""

from __future__ import annotations

from datetime import date

import asyncpg

from backbone import timers
from services.ceremony.policy import CeremonyPolicy

SCHEMA = "ceremony"
CEREMONY_DUE = "ceremony_due"
HANDOVER_DUE = "handover_due"


def timer_id(kind: str, retiree_id: str) -> str:
    return f"{kind}:{retiree_id}"


async def arm(conn: asyncpg.Connection, policy: CeremonyPolicy, type_: str, data: dict[str, object]) -> None:
    rid = str(data.get("retiree_id"))
    match type_:
        case "CeremonyCaseOpened":
            for kind, due in ((CEREMONY_DUE, data["ceremony_due_on"]), (HANDOVER_DUE, data["handover_due_on"])):
                at = policy.overdue_at(date.fromisoformat(str(due)))
                await timers.schedule(conn, SCHEMA, timer_id(kind, rid), kind, at, {"retiree_id": rid})
        case "ConsentDeclined" | "CeremonyHeld":
            await timers.cancel(conn, SCHEMA, timer_id(CEREMONY_DUE, rid))
        case "HandoverCompleted":
            await timers.cancel(conn, SCHEMA, timer_id(HANDOVER_DUE, rid))
        case "CaseClosed":
            await timers.cancel(conn, SCHEMA, timer_id(CEREMONY_DUE, rid))
            await timers.cancel(conn, SCHEMA, timer_id(HANDOVER_DUE, rid))
        case _:
            return
