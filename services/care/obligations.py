"""Obligations (what the policy promises) as task specifications; pure, one function per trigger.

A `TaskSpec` carries its own dedupe key, and the task id is derived from it, so the same cause can never open
two tasks of one kind: a redelivered event or a re-run sweep finds the task already there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property
from uuid import UUID

from backbone.events import EventMeta
from contracts.base import LOCAL_TZ, Event
from contracts.care import TaskKind
from contracts.profiles import (
    FamilyEmergencyReported,
    MemberDeceased,
    MemberDischarged,
    MemberHospitalized,
    PersonEvent,
    RetirementPlanned,
)
from services.care.policy import Policy

TASK_NAMESPACE = uuid.UUID("6f0e4a8e-8d0a-4a53-9c1e-2f4b7d0c9a11")


@dataclass(frozen=True)
class TaskSpec:
    kind: TaskKind
    retiree_id: UUID
    unit: str
    due_at: datetime
    cause: str
    cause_event_id: UUID | None = None
    period: str | None = None
    campaign_id: UUID | None = None
    for_survivor: bool = False

    # Cached: a district-wide campaign asks each of 50,000 specs for its id several times (uuid5 is a hash).
    @cached_property
    def dedupe_key(self) -> str:
        if self.campaign_id is not None:
            return f"campaign:{self.campaign_id}:{self.retiree_id}:{'survivor' if self.for_survivor else 'self'}"
        if self.cause_event_id is not None:
            return f"event:{self.cause_event_id}:{self.kind.value}"
        return f"period:{self.retiree_id}:{self.kind.value}:{self.period}"

    @cached_property
    def task_id(self) -> UUID:
        return uuid.uuid5(TASK_NAMESPACE, self.dedupe_key)


def end_of_day(day: date) -> datetime:
    """Due "on a date" means by the end of that day in the district."""
    return datetime.combine(day, time(23, 59, 59), LOCAL_TZ)


def _spec(kind: TaskKind, event: PersonEvent, meta: EventMeta, unit: str, due_at: datetime) -> TaskSpec:
    return TaskSpec(kind=kind, retiree_id=event.retiree_id, unit=unit, due_at=due_at, cause=event.type,
                    cause_event_id=meta.event_id)


def for_event(event: Event, meta: EventMeta, policy: Policy) -> list[TaskSpec]:
    """The tasks a profiles event opens by itself (calendar obligations come from the daily sweep).

    Due times run from when the fact was recorded (the office cannot visit before it knows).
    """
    at = meta.occurred_at
    match event:
        case RetirementPlanned():
            # Two talks are owed before the retirement document is issued: due by the planned date.
            due = end_of_day(event.planned_date)
            return [_spec(TaskKind.TALK_ORG_WITH_HEAD, event, meta, event.unit, due),
                    _spec(TaskKind.TALK_HEAD_WITH_RETIREE, event, meta, event.unit, due)]
        case MemberHospitalized():
            return [_spec(TaskKind.HOSPITAL_VISIT, event, meta, event.unit,
                          policy.due_after(TaskKind.HOSPITAL_VISIT, at))]
        case MemberDischarged():
            return [_spec(TaskKind.DISCHARGE_FOLLOW_UP, event, meta, event.unit,
                          policy.due_after(TaskKind.DISCHARGE_FOLLOW_UP, at))]
        case FamilyEmergencyReported():
            return [_spec(TaskKind.FAMILY_EMERGENCY_VISIT, event, meta, event.unit,
                          policy.due_after(TaskKind.FAMILY_EMERGENCY_VISIT, at))]
        case MemberDeceased():
            return [_spec(TaskKind.BEREAVEMENT_VISIT, event, meta, event.unit,
                          policy.due_after(TaskKind.BEREAVEMENT_VISIT, at))]
        case _:
            return []
