"""The care task aggregate: opened by a trigger, assigned, reminded, overdue, escalated, completed or cancelled.

Pure: the handler passes `now` and the task's policy. The task's timer walks a ladder of stages
(due soon → overdue → each escalation step); `next_stage` says what the one timer of a task waits for next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from contracts.base import Actor, Event
from contracts.care import (
    AssignTask,
    CancelTask,
    CareTaskAssigned,
    CareTaskCancelled,
    CareTaskCommand,
    CareTaskDueSoon,
    CareTaskEscalated,
    CareTaskOpened,
    CareTaskOverdue,
    CareTaskTransferred,
    CompleteTask,
    ContactForm,
    ContactMade,
    EscalationLevel,
    TalkCompleted,
    TaskKind,
    VisitCompleted,
)
from contracts.errors import conflict, forbidden, not_found, refused
from services.care.obligations import TaskSpec
from services.care.policy import Policy


class Status(StrEnum):
    NONE = "none"
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Task:
    version: int = 0
    status: Status = Status.NONE
    task_id: UUID | None = None
    kind: TaskKind | None = None
    retiree_id: UUID | None = None
    unit: str | None = None
    assignee: str | None = None
    due_at: datetime | None = None
    for_survivor: bool = False
    campaign_id: UUID | None = None
    policy_version: str = ""  # the policy the task opened under: its due times and ladder
    reminded: bool = False
    overdue: bool = False
    escalations: int = 0

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN


def evolve(state: Task, event: Event) -> Task:  # noqa: PLR0911 - one case per event
    s = replace(state, version=state.version + 1)
    match event:
        case CareTaskOpened():
            return replace(s, status=Status.OPEN, task_id=event.task_id, kind=event.kind,
                           retiree_id=event.retiree_id, unit=event.unit, due_at=event.due_at,
                           assignee=event.assignee, for_survivor=event.for_survivor, campaign_id=event.campaign_id,
                           policy_version=event.policy_version)
        case CareTaskAssigned():
            return replace(s, assignee=event.assignee)
        case CareTaskTransferred():
            return replace(s, unit=event.unit, assignee=event.assignee)
        case CareTaskDueSoon():
            return replace(s, reminded=True)
        case CareTaskOverdue():
            return replace(s, overdue=True)
        case CareTaskEscalated():
            return replace(s, escalations=s.escalations + 1)
        case VisitCompleted() | TalkCompleted() | ContactMade():
            return replace(s, status=Status.DONE)
        case CareTaskCancelled():
            return replace(s, status=Status.CANCELLED)
        case _:
            return s


TALKS = (TaskKind.TALK_ORG_WITH_HEAD, TaskKind.TALK_HEAD_WITH_RETIREE)
CONTACTS = (TaskKind.REGULAR_CONTACT, TaskKind.POLITICAL_BIRTHDAY, TaskKind.TALENT_REVIEW)
# What a death leaves owed: the bereavement visit to the family (and, by `for_survivor`, the survivors' care).
KEEP_ON_DEATH = (TaskKind.BEREAVEMENT_VISIT,)
DIED = "退休人员已去世"


def decide_open(state: Task, spec: TaskSpec, assignee: str | None, policy: Policy) -> list[Event]:
    """An obligation becomes a task, assigned to the unit's care contact; a task opened before stays as it is
    (the id comes from the obligation, so a repeated cause never opens a second one).
    """
    if state.status is not Status.NONE:
        return []
    return [CareTaskOpened(task_id=spec.task_id, kind=spec.kind, retiree_id=spec.retiree_id, unit=spec.unit,
                           cause_event_id=spec.cause_event_id, cause=spec.cause, due_at=spec.due_at,
                           period=spec.period, campaign_id=spec.campaign_id, policy_version=policy.version,
                           for_survivor=spec.for_survivor, assignee=assignee)]


def decide(cmd: CareTaskCommand, state: Task, now: datetime) -> list[Event]:
    match cmd:
        case AssignTask():
            return decide_assign(cmd, state)
        case CompleteTask():
            return decide_complete(cmd, state, now)
        case CancelTask():
            return decide_cancel(cmd, state)
        case _:
            assert_never(cmd)


def _may_act(actor: Actor, unit: str | None) -> None:
    if not actor.may_act_for(unit):
        raise forbidden(f"{actor.user} of {actor.unit} may not act on tasks of {unit}",
                        zh=f"无权办理其他单位（{unit}）的关怀任务")


def _require_open(state: Task) -> None:
    if state.status is Status.NONE:
        raise not_found("no such care task", zh="找不到该关怀任务")
    if state.status is not Status.OPEN:
        raise conflict(f"the task is already {state.status.value}",
                       zh="该关怀任务已办结" if state.status is Status.DONE else "该关怀任务已撤销")


def decide_assign(cmd: AssignTask, state: Task) -> list[Event]:
    _require_open(state)
    _may_act(cmd.actor, state.unit)
    if cmd.assignee == state.assignee:
        raise conflict(f"the task is already assigned to {cmd.assignee}", zh=f"该任务的经办人已是 {cmd.assignee}")
    assert state.task_id and state.retiree_id and state.unit and state.kind and state.due_at
    return [CareTaskAssigned(task_id=state.task_id, retiree_id=state.retiree_id, unit=state.unit,
                             assignee=cmd.assignee, kind=state.kind, due_at=state.due_at)]


def decide_complete(cmd: CompleteTask, state: Task, now: datetime) -> list[Event]:
    _require_open(state)
    _may_act(cmd.actor, state.unit)
    if cmd.done_at > now + timedelta(minutes=5):
        raise refused(f"done_at {cmd.done_at.isoformat()} is in the future",
                      zh="办理时间晚于现在，请填写实际办理的时间", field="done_at")
    assert state.task_id and state.retiree_id and state.unit and state.kind and state.due_at
    if state.kind in TALKS and cmd.form is ContactForm.PHONE:
        raise refused("a heart-to-heart talk is held in person, individually or in a group",
                      zh="谈心谈话须当面进行（个别谈或集体谈），不能以电话代替", field="form")
    completion = TalkCompleted if state.kind in TALKS else ContactMade if (
        state.kind in CONTACTS or cmd.form is ContactForm.PHONE) else VisitCompleted
    return [completion(task_id=state.task_id, retiree_id=state.retiree_id, unit=state.unit, kind=state.kind,
                       done_at=cmd.done_at, done_by=cmd.done_by, form=cmd.form, on_time=cmd.done_at <= state.due_at,
                       notes=cmd.notes, gifts=cmd.gifts, amount=cmd.amount)]


def decide_cancel(cmd: CancelTask, state: Task) -> list[Event]:
    _require_open(state)
    _may_act(cmd.actor, state.unit)
    return [cancelled(state, cmd.reason)]


def decide_transfer(state: Task, to_unit: str, to_unit_name: str | None, assignee: str | None,
                    campaign_units: list[str] | None) -> list[Event]:
    """The retiree moved to `to_unit`: an open task follows them to that unit's care contact, except a festival
    visit of a campaign that does not reach the new unit (another unit's own campaign), which is cancelled.
    """
    if not state.is_open or state.unit == to_unit:
        return []
    if campaign_units is not None and to_unit not in campaign_units:
        return [cancelled(state, f"已调往{to_unit_name or to_unit}，不在本次慰问范围")]
    assert state.task_id and state.retiree_id and state.unit and state.kind and state.due_at
    return [CareTaskTransferred(task_id=state.task_id, retiree_id=state.retiree_id, from_unit=state.unit,
                                unit=to_unit, assignee=assignee, kind=state.kind, due_at=state.due_at)]


def decide_on_death(state: Task) -> list[Event]:
    """Every open task of the person stops, except the bereavement visit and what is owed to survivors."""
    if state.for_survivor or state.kind in KEEP_ON_DEATH:
        return []
    return cancel_if_open(state, DIED)


def cancel_if_open(state: Task, reason: str) -> list[Event]:
    """A cancellation the service itself decides (death, a superseded contact): nothing if already closed."""
    return [cancelled(state, reason)] if state.is_open else []


def cancelled(state: Task, reason: str) -> CareTaskCancelled:
    assert state.task_id and state.retiree_id and state.unit and state.kind
    return CareTaskCancelled(task_id=state.task_id, retiree_id=state.retiree_id, unit=state.unit, kind=state.kind,
                             reason=reason)


# ---------------------------------------------------------------------------------------- the timer ladder


def stages(policy: Policy) -> list[tuple[str, timedelta]]:
    """(stage, offset from the due time) in the order they happen."""
    ladder = [("due_soon", -timedelta(hours=policy.due_soon_hours)), ("overdue", timedelta(0))]
    ladder += [(f"escalate:{s.level.value}", timedelta(hours=s.after_due_hours)) for s in policy.escalation]
    return ladder


def next_stage(state: Task, policy: Policy, now: datetime | None = None) -> tuple[str, datetime] | None:
    """The next rung the task's single timer waits for. A reminder already past at `now` is skipped (a task
    opened less than a day before it is due gets no "due tomorrow" message); a past overdue rung is not.
    """
    if not state.is_open or state.due_at is None:
        return None
    passed = 2 + state.escalations if state.overdue else (1 if state.reminded else 0)
    for name, offset in stages(policy)[passed:]:
        at = state.due_at + offset
        if name == "due_soon" and now is not None and at <= now:
            continue
        return name, at
    return None


def decide_stage(state: Task, stage: str, now: datetime, policy: Policy | None = None) -> list[Event]:
    """What a fired rung records; nothing if the task closed meanwhile."""
    if not state.is_open:
        return []
    assert state.task_id and state.retiree_id and state.unit and state.kind and state.due_at
    tid, rid, unit, kind, due = state.task_id, state.retiree_id, state.unit, state.kind, state.due_at
    if stage == "due_soon":
        return [] if state.reminded else [
            CareTaskDueSoon(task_id=tid, retiree_id=rid, unit=unit, kind=kind, due_at=due, assignee=state.assignee)]
    if stage == "overdue":
        return [] if state.overdue else [
            CareTaskOverdue(task_id=tid, retiree_id=rid, unit=unit, kind=kind, due_at=due, assignee=state.assignee)]
    level = EscalationLevel(stage.split(":", 1)[1])
    order = [s.level for s in policy.escalation] if policy else [EscalationLevel.UNIT_HEAD,
                                                                 EscalationLevel.DISTRICT_OFFICE]
    rung = order.index(level) if level in order else -1
    if not state.overdue or rung != state.escalations:
        return []  # a repeated or stale rung: each level is escalated to once, in the ladder's order
    return [CareTaskEscalated(task_id=tid, retiree_id=rid, unit=unit, kind=kind, due_at=due, level=level,
                              escalated_at=now)]
