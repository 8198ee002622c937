"""What care does with each profiles event: update its facts, open the obligations, stop what death stops."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from backbone import timers
from backbone.clock import Clock
from backbone.commands import to_new_event
from backbone.crypto import Keyring
from backbone.store import EventStore, Metadata, Recorded
from contracts.base import SYSTEM_ACTOR, Envelope
from contracts.care import AssistanceCaseOpened, assistance_stream
from services.care import assistance, board, care_task, obligations, retiree_facts, task_board
from services.care.policy_book import PolicyBook

log = structlog.get_logger()

HARDSHIP_NAMESPACE = uuid.UUID("b1d0c6f4-4c7e-4c1c-8a57-9a3e2f6d1e02")


def system_meta(env: Envelope) -> Metadata:
    return Metadata(actor=SYSTEM_ACTOR, correlation_id=env.correlation_id, causation_id=env.event_id)


class ProfilesFeed:
    def __init__(self, store: EventStore, policies: PolicyBook, clock: Clock, keyring: Keyring) -> None:
        self._store = store
        self._policies = policies
        self._clock = clock
        self._keyring = keyring

    async def handle(self, conn: asyncpg.Connection, env: Envelope) -> None:
        await directory(conn, env)
        await retiree_facts.project(conn, env)
        now = await self._clock.now()
        policy = self._policies.current
        meta = system_meta(env)
        await task_board.open_tasks(conn, self._store, obligations.for_event(env, policy), policy, now, meta)
        if env.type == obligations.CANCELS_OPEN_TASKS:
            await self.cancel_on_death(conn, UUID(env.data["retiree_id"]), now, meta)
        elif env.type == "RetireeTransferred":
            await self.transfer_open_tasks(conn, env, now, meta)
        elif env.type == "HardshipReported":
            await self.open_assistance(conn, env, now, meta)
        elif env.type == "PersonalDataErased":
            await self._keyring.erase(conn, env.data["retiree_id"])  # care's sealed notes go with it

    async def cancel_on_death(self, conn: asyncpg.Connection, retiree_id: UUID, now: datetime,
                              meta: Metadata) -> None:
        """Every open task of the person stops, except the bereavement visit to the family."""
        rows = await conn.fetch(
            "SELECT task_id FROM care.tasks WHERE retiree_id = $1 AND status = 'open' AND NOT for_survivor "
            "AND kind <> ALL($2::text[])", retiree_id, [k.value for k in obligations.KEEP_ON_DEATH])
        for r in rows:
            await task_board.record_system_events(
                conn, self._store, r["task_id"],
                lambda s: care_task.cancel_if_open(s, "退休人员已去世"), now, meta)
        log.info("tasks_cancelled_on_death", retiree_id=str(retiree_id), cancelled=len(rows))

    async def transfer_open_tasks(self, conn: asyncpg.Connection, env: Envelope, now: datetime,
                                  meta: Metadata) -> None:
        """Each open task of the person follows them to the new unit (care_task.decide_transfer)."""
        retiree_id, to_unit = UUID(env.data["retiree_id"]), env.data["to_unit"]
        unit = await conn.fetchrow("SELECT name, care_contact FROM care.unit_contacts WHERE unit = $1", to_unit)
        name, assignee = (unit["name"], unit["care_contact"]) if unit else (None, None)
        rows = await conn.fetch(
            "SELECT t.task_id, c.units AS campaign_units FROM care.tasks t "
            "LEFT JOIN care.campaigns c ON c.campaign_id = t.campaign_id "
            "WHERE t.retiree_id = $1 AND t.status = 'open' AND t.unit <> $2", retiree_id, to_unit)
        recorded: list[str] = []
        for r in rows:
            events = await task_board.record_system_events(
                conn, self._store, r["task_id"],
                lambda s, units=r["campaign_units"]: care_task.decide_transfer(s, to_unit, name, assignee, units),
                now, meta)
            recorded += [e.type for e in events]
        log.info("tasks_transferred", retiree_id=str(retiree_id), to_unit=to_unit,
                 moved=recorded.count("CareTaskTransferred"), cancelled=recorded.count("CareTaskCancelled"))

    async def open_assistance(self, conn: asyncpg.Connection, env: Envelope, now: datetime, meta: Metadata) -> None:
        d = env.data
        case_id = uuid.uuid5(HARDSHIP_NAMESPACE, str(env.event_id))
        # The hardship description is sealed with profiles' key: care keeps a pointer, not the text.
        event = assistance.opened(case_id, UUID(d["retiree_id"]), d["unit"], "见档案困难情况报告（HardshipReported）",
                                  d.get("amount_requested"), env.event_id, now, self._policies.current)
        await record_case_opened(conn, self._store, self._keyring, event, now, meta)


async def record_case_opened(  # noqa: PLR0913
    conn: asyncpg.Connection, store: EventStore, keyring: Keyring, event: AssistanceCaseOpened,
    now: datetime, meta: Metadata,
) -> list[Recorded]:
    recorded = await store.append(conn, assistance_stream(event.case_id), 0,
                                  [await to_new_event(conn, keyring, event, event.unit, now)], meta)
    await board.case_opened(conn, event, now)  # `now` is the event's occurred_at
    await timers.schedule(conn, "care", f"assistance:{event.case_id}", "assistance_deadline",
                          event.decision_due_at, {"case_id": str(event.case_id)})
    return recorded


async def directory(conn: asyncpg.Connection, env: Envelope) -> None:
    """Who does each unit's care work, from profiles' directory events."""
    d = env.data
    match env.type:
        case "UnitRegistered":
            await conn.execute("INSERT INTO care.unit_contacts (unit, name) VALUES ($1, $2) "
                               "ON CONFLICT (unit) DO UPDATE SET name = excluded.name", d["code"], d["name"])
        case "CareContactSet":
            await conn.execute(
                "INSERT INTO care.unit_contacts (unit, care_contact) VALUES ($1, $2) "
                "ON CONFLICT (unit) DO UPDATE SET care_contact = excluded.care_contact", d["unit"], d["user"])
        case "StaffRegistered":
            await conn.execute(
                "INSERT INTO care.staff (user_id, unit, role, active) VALUES ($1, $2, $3, true) "
                "ON CONFLICT (user_id) DO UPDATE SET unit = excluded.unit, role = excluded.role, active = true",
                d["user"], d["unit"], d["role"])
        case "StaffDeactivated":
            await conn.execute("UPDATE care.staff SET active = false WHERE user_id = $1", d["user"])
            await conn.execute("UPDATE care.unit_contacts SET care_contact = NULL WHERE care_contact = $1",
                               d["user"])
        case _:
            pass
