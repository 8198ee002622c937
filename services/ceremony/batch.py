"""A unit's half-yearly batch ceremony (每半年集中组织1次): its roster and its date. Pure decide/evolve."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import assert_never
from uuid import UUID

from contracts.base import Event
from contracts.ceremony import (
    BatchCeremonyCommand,
    BatchCeremonyRescheduled,
    BatchCeremonyScheduled,
    BatchOpened,
    RescheduleBatchCeremony,
    RetireeAddedToBatch,
    ScheduleBatchCeremony,
    batch_id,
)
from contracts.errors import conflict, not_found, refused
from services.ceremony.case import authorize
from services.ceremony.policy import batch_due, half_of

HALF_ZH = {1: "上半年", 2: "下半年"}


@dataclass(frozen=True)
class Batch:
    opened: bool = False
    batch_id: str = ""
    unit: str = ""
    due_on: date | None = None
    members: frozenset[UUID] = frozenset()
    scheduled_on: date | None = None


def evolve(state: Batch, event: Event) -> Batch:
    match event:
        case BatchOpened():
            return replace(state, opened=True, batch_id=event.batch_id, unit=event.unit, due_on=event.due_on)
        case RetireeAddedToBatch():
            return replace(state, members=state.members | {event.retiree_id})
        case BatchCeremonyScheduled() | BatchCeremonyRescheduled():
            return replace(state, scheduled_on=event.held_on)
        case _:
            return state


def batch_of(unit: str, approved_on: date) -> tuple[str, int, int, date]:
    """Approvals of January–June go to the first-half batch (due 30 June), July–December to the second."""
    half = half_of(approved_on)
    return batch_id(unit, approved_on.year, half), approved_on.year, half, batch_due(approved_on.year, half)


def add_retiree(state: Batch, unit: str, approved_on: date, retiree_id: UUID) -> list[Event]:
    bid, year, half, due = batch_of(unit, approved_on)
    events: list[Event] = []
    if not state.opened:
        events.append(BatchOpened(batch_id=bid, unit=unit, year=year, half=half, due_on=due))
    if retiree_id not in state.members:
        events.append(RetireeAddedToBatch(batch_id=bid, unit=unit, retiree_id=retiree_id))
    return events


def decide(command: BatchCeremonyCommand, state: Batch, today: date) -> list[Event]:
    bid = batch_id(command.unit, command.year, command.half)
    authorize(command.actor, command.unit)
    if not state.opened:
        raise not_found(f"no batch {bid}: nobody of this unit was approved in that half year",
                        zh=f"没有{command.year}年{HALF_ZH[command.half]}的集中仪式批次：该半年本单位无人批准退休")
    if command.held_on < today:
        raise refused(f"the date {command.held_on} is in the past (today is {today})",
                      zh=f"仪式日期 {command.held_on} 早于今天（{today}），请重新选择", field="held_on")
    match command:
        case ScheduleBatchCeremony():
            if state.scheduled_on is not None:
                raise conflict(f"batch {bid} is already scheduled on {state.scheduled_on}: reschedule with a reason",
                               zh=f"该批次已定于 {state.scheduled_on} 举办；如需改期，请填写改期原因")
            return [BatchCeremonyScheduled(batch_id=bid, unit=command.unit, held_on=command.held_on,
                                           venue=command.venue)]
        case RescheduleBatchCeremony():
            if state.scheduled_on is None:
                raise conflict(f"batch {bid} is not scheduled yet", zh="该批次尚未安排日期，无需改期")
            return [BatchCeremonyRescheduled(batch_id=bid, unit=command.unit, held_on=command.held_on,
                                             venue=command.venue, previous_held_on=state.scheduled_on,
                                             reason=command.reason)]
        case _:
            assert_never(command)
