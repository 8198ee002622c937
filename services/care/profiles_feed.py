"""What care does with profiles' events: keep its facts and contacts, open the obligations an event brings, stop
what a death stops, move what a transfer moves, open an assistance case for a hardship report.
"""

from __future__ import annotations

from functools import partial

import structlog

from backbone.clock import Clock
from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.events import EventMeta, Handler, Routes
from backbone.recording import Recorder
from contracts.base import Event
from contracts.care import hardship_case_id
from contracts.profiles import (
    FamilyEmergencyReported,
    HardshipReported,
    MemberDeceased,
    MemberDischarged,
    MemberHospitalized,
    PersonalDataErased,
    RetireeTransferred,
    RetirementPlanned,
)
from services.care import assistance, care_task, obligations, retiree_facts, unit_contacts
from services.care.assistance_handlers import AssistanceDesk
from services.care.policy_book import PolicyBook
from services.care.tasks import Tasks

log = structlog.get_logger()

# The profiles events that bring obligations by themselves (obligations.for_event).
OBLIGATION_CAUSES: tuple[type[Event], ...] = (RetirementPlanned, MemberHospitalized, MemberDischarged,
                                               FamilyEmergencyReported, MemberDeceased)


class ProfilesFeed:
    def __init__(  # noqa: PLR0913 - what the feed decides with
        self, recorder: Recorder, tasks: Tasks, policies: PolicyBook, clock: Clock, keyring: Keyring,
        assistance_desk: AssistanceDesk,
    ) -> None:
        self._recorder = recorder
        self._tasks = tasks
        self._policies = policies
        self._clock = clock
        self._keyring = keyring
        self._assistance = assistance_desk

    async def open_obligations(self, conn: Connection, event: Event, meta: EventMeta) -> None:
        """The tasks the event itself brings (a hospital visit, two talks, a bereavement visit...)."""
        specs = obligations.for_event(event, meta, self._policies.current)
        ctx = self._recorder.system(conn, await self._clock.now(), cause=meta)
        await self._tasks.open(ctx, specs)

    async def on_death(self, conn: Connection, event: MemberDeceased, meta: EventMeta) -> None:
        ctx = self._recorder.system(conn, await self._clock.now(), cause=meta)
        cancelled = 0
        for task_id in await self._tasks.open_of(conn, event.retiree_id):
            cancelled += len((await self._tasks.decide_about(ctx, task_id, care_task.decide_on_death)).event_ids)
        log.info("tasks_cancelled_on_death", retiree_id=str(event.retiree_id), cancelled=cancelled)

    async def on_transfer(self, conn: Connection, event: RetireeTransferred, meta: EventMeta) -> None:
        """Each open task of the person follows them to the new unit (care_task.decide_transfer)."""
        name, assignee = await unit_contacts.unit_of(conn, event.to_unit)
        rows = await conn.fetch(
            "SELECT t.task_id, c.units AS campaign_units FROM care.tasks t "
            "LEFT JOIN care.campaigns c ON c.campaign_id = t.campaign_id "
            "WHERE t.retiree_id = $1 AND t.status = 'open' ORDER BY t.opened_at, t.task_id", event.retiree_id)
        ctx = self._recorder.system(conn, await self._clock.now(), cause=meta)
        moved = 0
        for r in rows:
            reply = await self._tasks.decide_about(ctx, r["task_id"], partial(
                care_task.decide_transfer, to_unit=event.to_unit, to_unit_name=name, assignee=assignee,
                campaign_units=r["campaign_units"]))
            moved += len(reply.event_ids)
        log.info("tasks_transferred", retiree_id=str(event.retiree_id), to_unit=event.to_unit, decided=moved)

    async def on_hardship(self, conn: Connection, event: HardshipReported, meta: EventMeta) -> None:
        ctx = self._recorder.system(conn, await self._clock.now(), cause=meta)
        # The hardship description is sealed with profiles' key: care keeps a pointer, not the text.
        opened = assistance.opened(hardship_case_id(meta.event_id), event.retiree_id, event.unit,
                                   assistance.HARDSHIP_REASON,
                                   event.amount_requested, meta.event_id, ctx.now, self._policies.current)
        await self._assistance.record_opened(ctx, opened)

    async def on_erasure(self, conn: Connection, event: PersonalDataErased, _meta: EventMeta) -> None:
        await self._keyring.erase(conn, str(event.retiree_id))  # care's sealed notes go with it

    @property
    def routes(self) -> Routes:
        """Facts and contacts first: the obligations of this very event are decided with them."""
        triggered: dict[type[Event], Handler] = dict.fromkeys(OBLIGATION_CAUSES, self.open_obligations)
        return (unit_contacts.PROJECTION + retiree_facts.PROJECTION + Routes.of(triggered)
                + Routes.of({MemberDeceased: self.on_death, RetireeTransferred: self.on_transfer,
                             HardshipReported: self.on_hardship, PersonalDataErased: self.on_erasure}))
