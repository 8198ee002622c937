"""Given / when / then tests of the care task aggregate: its timer ladder, completion, assignment and cancel."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from contracts.base import LOCAL_TZ, SYSTEM_ACTOR, Actor, Event, Role
from contracts.care import (
    AssignTask,
    CancelTask,
    CareTaskAssigned,
    CareTaskCancelled,
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
from contracts.errors import DomainError, ErrorCode
from services.care import care_task
from services.care.care_task import (
    Status,
    Task,
    decide_assign,
    decide_cancel,
    decide_complete,
    decide_stage,
    next_stage,
)
from services.care.policy import load_policy

POLICY = load_policy()
NOW = datetime(2027, 3, 15, 9, tzinfo=LOCAL_TZ)
DUE = NOW + timedelta(hours=72)
UNIT = "U0007"
STAFF = Actor(user="clerk", role=Role.UNIT_STAFF, unit=UNIT)
HEAD = Actor(user="head", role=Role.UNIT_HEAD, unit=UNIT)
OTHER = Actor(user="clerk2", role=Role.UNIT_STAFF, unit="U0008")
OFFICE = Actor(user="office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
TID = uuid.uuid4()
RID = uuid.uuid4()


def opened_event(kind: TaskKind = TaskKind.HOSPITAL_VISIT, due_at: datetime = DUE) -> CareTaskOpened:
    return CareTaskOpened(task_id=TID, kind=kind, retiree_id=RID, unit=UNIT, cause_event_id=uuid.uuid4(),
                          cause="MemberHospitalized", due_at=due_at, policy_version=POLICY.version)


def given(*events: Event) -> Task:
    state = Task()
    for ev in events:
        state = care_task.evolve(state, ev)
    return state


def open_task(kind: TaskKind = TaskKind.HOSPITAL_VISIT, due_at: datetime = DUE) -> Task:
    return given(opened_event(kind, due_at))


def apply(state: Task, events: list[Event]) -> Task:
    for ev in events:
        state = care_task.evolve(state, ev)
    return state


def complete(actor: Actor = STAFF, done_at: datetime = NOW, form: ContactForm = ContactForm.HOSPITAL) -> CompleteTask:
    return CompleteTask(command_id=uuid.uuid4(), actor=actor, task_id=TID, done_at=done_at, done_by=["clerk"],
                        form=form, notes="精神尚好", gifts="水果", amount=500)


def assign(actor: Actor = STAFF, assignee: str = "clerk") -> AssignTask:
    return AssignTask(command_id=uuid.uuid4(), actor=actor, task_id=TID, assignee=assignee)


def cancel(actor: Actor = STAFF) -> CancelTask:
    return CancelTask(command_id=uuid.uuid4(), actor=actor, task_id=TID, reason="重复登记")


def refusal(fn: object, *args: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value


def done(state: Task) -> Task:
    return apply(state, decide_complete(complete(), state, NOW))


def cancelled_task(state: Task) -> Task:
    return apply(state, decide_cancel(cancel(), state))


class TestOpening:
    def test_an_opened_task_is_open_with_its_due_time(self) -> None:
        state = open_task()
        assert (state.status, state.due_at, state.unit, state.kind) == (Status.OPEN, DUE, UNIT,
                                                                           TaskKind.HOSPITAL_VISIT)

    def test_every_event_bumps_the_version(self) -> None:
        assert open_task().version == 1


class TestTheLadder:
    def test_the_ladder_follows_the_policy(self) -> None:
        assert care_task.stages(POLICY) == [
            ("due_soon", -timedelta(hours=24)), ("overdue", timedelta(0)),
            ("escalate:unit_head", timedelta(hours=24)), ("escalate:district_office", timedelta(hours=72))]

    def test_a_fresh_task_first_waits_for_the_reminder_a_day_before_it_is_due(self) -> None:
        assert next_stage(open_task(), POLICY, NOW) == ("due_soon", DUE - timedelta(hours=24))

    def test_without_now_the_reminder_is_never_skipped(self) -> None:
        state = open_task(due_at=NOW + timedelta(hours=12))
        assert next_stage(state, POLICY) == ("due_soon", NOW - timedelta(hours=12))

    def test_a_reminder_already_past_at_opening_is_skipped(self) -> None:
        due = NOW + timedelta(hours=12)
        assert next_stage(open_task(due_at=due), POLICY, NOW) == ("overdue", due)

    def test_a_reminder_exactly_now_is_skipped(self) -> None:
        due = NOW + timedelta(hours=24)
        assert next_stage(open_task(due_at=due), POLICY, NOW) == ("overdue", due)

    def test_a_past_overdue_rung_is_not_skipped(self) -> None:
        due = NOW - timedelta(hours=1)
        assert next_stage(open_task(due_at=due), POLICY, NOW) == ("overdue", due)

    def test_after_the_reminder_the_task_waits_for_its_due_time(self) -> None:
        state = apply(open_task(), decide_stage(open_task(), "due_soon", DUE - timedelta(hours=24)))
        assert next_stage(state, POLICY, DUE - timedelta(hours=24)) == ("overdue", DUE)

    def test_after_overdue_the_task_escalates_to_the_unit_head_a_day_later(self) -> None:
        state = apply(open_task(), decide_stage(open_task(), "overdue", DUE))
        assert next_stage(state, POLICY, DUE) == ("escalate:unit_head", DUE + timedelta(hours=24))

    def test_after_the_unit_head_the_district_office_three_days_after_due(self) -> None:
        state = given(opened_event(), overdue_event(), escalated_event(EscalationLevel.UNIT_HEAD))
        assert next_stage(state, POLICY, DUE + timedelta(hours=24)) == (
            "escalate:district_office", DUE + timedelta(hours=72))

    def test_after_the_district_office_nothing_is_left(self) -> None:
        state = given(opened_event(), overdue_event(), escalated_event(EscalationLevel.UNIT_HEAD),
                      escalated_event(EscalationLevel.DISTRICT_OFFICE))
        assert next_stage(state, POLICY, DUE + timedelta(hours=72)) is None

    def test_a_done_task_waits_for_nothing(self) -> None:
        assert next_stage(done(open_task()), POLICY, NOW) is None

    def test_a_cancelled_task_waits_for_nothing(self) -> None:
        assert next_stage(cancelled_task(open_task()), POLICY, NOW) is None

    def test_no_task_waits_for_nothing(self) -> None:
        assert next_stage(Task(), POLICY, NOW) is None


def overdue_event() -> CareTaskOverdue:
    return CareTaskOverdue(task_id=TID, retiree_id=RID, unit=UNIT, assignee=None, kind=TaskKind.HOSPITAL_VISIT,
                           due_at=DUE)


def escalated_event(level: EscalationLevel) -> CareTaskEscalated:
    return CareTaskEscalated(task_id=TID, retiree_id=RID, unit=UNIT, kind=TaskKind.HOSPITAL_VISIT, level=level,
                             due_at=DUE, escalated_at=DUE)


class TestFiringARung:
    def test_the_reminder_rung_records_due_soon_for_the_assignee(self) -> None:
        state = apply(open_task(), decide_assign(assign(assignee="wang"), open_task()))
        [event] = decide_stage(state, "due_soon", DUE - timedelta(hours=24))
        assert isinstance(event, CareTaskDueSoon)
        assert (event.assignee, event.due_at) == ("wang", DUE)

    def test_the_reminder_is_recorded_once(self) -> None:
        state = apply(open_task(), decide_stage(open_task(), "due_soon", NOW))
        assert decide_stage(state, "due_soon", NOW) == []

    def test_the_overdue_rung_records_overdue(self) -> None:
        [event] = decide_stage(open_task(), "overdue", DUE)
        assert isinstance(event, CareTaskOverdue)

    def test_overdue_is_recorded_once(self) -> None:
        state = given(opened_event(), overdue_event())
        assert decide_stage(state, "overdue", DUE) == []

    def test_an_escalation_rung_records_the_level_and_when(self) -> None:
        state = given(opened_event(), overdue_event())
        at = DUE + timedelta(hours=24)
        [event] = decide_stage(state, "escalate:unit_head", at)
        assert isinstance(event, CareTaskEscalated)
        assert (event.level, event.escalated_at) == (EscalationLevel.UNIT_HEAD, at)

    def test_the_district_office_escalation_records_its_level(self) -> None:
        state = given(opened_event(), overdue_event(), escalated_event(EscalationLevel.UNIT_HEAD))
        [event] = decide_stage(state, "escalate:district_office", DUE + timedelta(hours=72))
        assert event.level is EscalationLevel.DISTRICT_OFFICE  # type: ignore[attr-defined]

    def test_an_escalation_is_recorded_once(self) -> None:
        state = given(opened_event(), overdue_event(), escalated_event(EscalationLevel.UNIT_HEAD))
        assert decide_stage(state, "escalate:unit_head", DUE + timedelta(hours=24)) == []

    @pytest.mark.parametrize("stage", ["due_soon", "overdue", "escalate:unit_head", "escalate:district_office"])
    def test_a_rung_of_a_done_task_records_nothing(self, stage: str) -> None:
        assert decide_stage(done(open_task()), stage, DUE) == []

    @pytest.mark.parametrize("stage", ["due_soon", "overdue", "escalate:unit_head"])
    def test_a_rung_of_a_cancelled_task_records_nothing(self, stage: str) -> None:
        assert decide_stage(cancelled_task(open_task()), stage, DUE) == []

    def test_a_reminded_task_remembers_it(self) -> None:
        state = apply(open_task(), decide_stage(open_task(), "due_soon", NOW))
        assert state.reminded


class TestCompleting:
    def test_a_visit_done_before_the_due_time_is_on_time(self) -> None:
        [event] = decide_complete(complete(done_at=NOW), open_task(), NOW)
        assert event.on_time  # type: ignore[attr-defined]

    def test_a_visit_done_exactly_at_the_due_time_is_on_time(self) -> None:
        [event] = decide_complete(complete(done_at=DUE), open_task(), DUE)
        assert event.on_time  # type: ignore[attr-defined]

    def test_a_visit_done_after_the_due_time_is_late(self) -> None:
        late = DUE + timedelta(seconds=1)
        [event] = decide_complete(complete(done_at=late), open_task(), late)
        assert not event.on_time  # type: ignore[attr-defined]

    def test_lateness_is_judged_by_done_at_not_by_when_it_was_recorded(self) -> None:
        [event] = decide_complete(complete(done_at=NOW), open_task(), DUE + timedelta(days=3))
        assert event.on_time  # type: ignore[attr-defined]

    def test_a_done_at_in_the_future_is_refused(self) -> None:
        error = refusal(decide_complete, complete(done_at=NOW + timedelta(hours=1)), open_task(), NOW)
        assert (error.code, error.details) == (ErrorCode.VALIDATION, {"field": "done_at"})

    def test_a_done_at_within_five_minutes_of_now_is_accepted(self) -> None:
        assert decide_complete(complete(done_at=NOW + timedelta(minutes=4)), open_task(), NOW)

    def test_a_hospital_visit_completes_as_a_visit(self) -> None:
        [event] = decide_complete(complete(form=ContactForm.HOSPITAL), open_task(), NOW)
        assert isinstance(event, VisitCompleted)

    def test_a_visit_by_phone_completes_as_a_contact(self) -> None:
        [event] = decide_complete(complete(form=ContactForm.PHONE), open_task(), NOW)
        assert isinstance(event, ContactMade)

    def test_regular_contact_completes_as_a_contact_even_at_home(self) -> None:
        state = open_task(TaskKind.REGULAR_CONTACT)
        [event] = decide_complete(complete(form=ContactForm.HOME), state, NOW)
        assert isinstance(event, ContactMade)

    @pytest.mark.parametrize("kind", [TaskKind.TALK_ORG_WITH_HEAD, TaskKind.TALK_HEAD_WITH_RETIREE])
    def test_a_talk_completes_as_a_talk(self, kind: TaskKind) -> None:
        [event] = decide_complete(complete(form=ContactForm.HOME), open_task(kind), NOW)
        assert isinstance(event, TalkCompleted)

    def test_a_group_talk_completes_as_a_talk(self) -> None:
        [event] = decide_complete(complete(form=ContactForm.GROUP), open_task(TaskKind.TALK_HEAD_WITH_RETIREE), NOW)
        assert isinstance(event, TalkCompleted)

    @pytest.mark.parametrize("kind", [TaskKind.TALK_ORG_WITH_HEAD, TaskKind.TALK_HEAD_WITH_RETIREE])
    def test_a_talk_by_phone_is_refused(self, kind: TaskKind) -> None:
        error = refusal(decide_complete, complete(form=ContactForm.PHONE), open_task(kind), NOW)
        assert (error.code, error.details) == (ErrorCode.VALIDATION, {"field": "form"})

    def test_a_birthday_visit_at_home_completes_as_a_visit(self) -> None:
        [event] = decide_complete(complete(form=ContactForm.HOME), open_task(TaskKind.BIRTHDAY_VISIT), NOW)
        assert isinstance(event, VisitCompleted)

    def test_the_completion_carries_the_record_of_the_visit(self) -> None:
        [event] = decide_complete(complete(), open_task(), NOW)
        assert (event.notes, event.gifts, event.amount, event.done_by) == (  # type: ignore[attr-defined]
            "精神尚好", "水果", 500, ["clerk"])

    def test_a_completed_task_is_done(self) -> None:
        assert done(open_task()).status is Status.DONE

    def test_completing_a_done_task_is_a_conflict(self) -> None:
        assert refusal(decide_complete, complete(), done(open_task()), NOW).code is ErrorCode.CONFLICT

    def test_completing_a_cancelled_task_is_a_conflict(self) -> None:
        assert refusal(decide_complete, complete(), cancelled_task(open_task()), NOW).code is ErrorCode.CONFLICT

    def test_completing_an_unknown_task_is_not_found(self) -> None:
        assert refusal(decide_complete, complete(), Task(), NOW).code is ErrorCode.NOT_FOUND

    def test_staff_of_another_unit_may_not_complete(self) -> None:
        assert refusal(decide_complete, complete(actor=OTHER), open_task(), NOW).code is ErrorCode.FORBIDDEN

    def test_the_district_office_may_complete(self) -> None:
        assert decide_complete(complete(actor=OFFICE), open_task(), NOW)


class TestAssigning:
    def test_assigning_records_the_assignee(self) -> None:
        [event] = decide_assign(assign(assignee="wang"), open_task())
        assert isinstance(event, CareTaskAssigned)
        assert (event.assignee, event.due_at, event.kind) == ("wang", DUE, TaskKind.HOSPITAL_VISIT)

    def test_an_assigned_task_remembers_its_assignee(self) -> None:
        state = apply(open_task(), decide_assign(assign(assignee="wang"), open_task()))
        assert state.assignee == "wang"

    def test_assigning_to_the_same_assignee_again_is_a_conflict(self) -> None:
        state = apply(open_task(), decide_assign(assign(assignee="wang"), open_task()))
        assert refusal(decide_assign, assign(assignee="wang"), state).code is ErrorCode.CONFLICT

    def test_reassigning_to_someone_else_is_allowed(self) -> None:
        state = apply(open_task(), decide_assign(assign(assignee="wang"), open_task()))
        [event] = decide_assign(assign(assignee="li"), state)
        assert event.assignee == "li"  # type: ignore[attr-defined]

    def test_the_unit_head_may_assign(self) -> None:
        assert decide_assign(assign(actor=HEAD), open_task())

    def test_staff_of_another_unit_may_not_assign(self) -> None:
        assert refusal(decide_assign, assign(actor=OTHER), open_task()).code is ErrorCode.FORBIDDEN

    def test_the_district_office_may_assign(self) -> None:
        assert decide_assign(assign(actor=OFFICE), open_task())

    def test_assigning_a_done_task_is_a_conflict(self) -> None:
        assert refusal(decide_assign, assign(), done(open_task())).code is ErrorCode.CONFLICT

    def test_assigning_an_unknown_task_is_not_found(self) -> None:
        assert refusal(decide_assign, assign(), Task()).code is ErrorCode.NOT_FOUND


class TestCancelling:
    def test_cancelling_records_the_reason(self) -> None:
        [event] = decide_cancel(cancel(), open_task())
        assert isinstance(event, CareTaskCancelled)
        assert event.reason == "重复登记"

    def test_a_cancelled_task_is_cancelled(self) -> None:
        assert cancelled_task(open_task()).status is Status.CANCELLED

    def test_cancelling_twice_is_a_conflict(self) -> None:
        assert refusal(decide_cancel, cancel(), cancelled_task(open_task())).code is ErrorCode.CONFLICT

    def test_cancelling_a_done_task_is_a_conflict(self) -> None:
        assert refusal(decide_cancel, cancel(), done(open_task())).code is ErrorCode.CONFLICT

    def test_staff_of_another_unit_may_not_cancel(self) -> None:
        assert refusal(decide_cancel, cancel(actor=OTHER), open_task()).code is ErrorCode.FORBIDDEN

    def test_the_district_office_may_cancel(self) -> None:
        assert decide_cancel(cancel(actor=OFFICE), open_task())

    def test_the_system_may_cancel_on_a_death(self) -> None:
        assert decide_cancel(cancel(actor=SYSTEM_ACTOR), open_task())

    def test_cancelling_an_unknown_task_is_not_found(self) -> None:
        assert refusal(decide_cancel, cancel(), Task()).code is ErrorCode.NOT_FOUND


class TestTransfer:
    def test_an_open_task_moves_to_the_new_unit_and_its_contact(self) -> None:
        [event] = care_task.decide_transfer(open_task(), "U0009", "城关镇", "clerk-U0009", None)
        assert isinstance(event, CareTaskTransferred)
        assert (event.from_unit, event.unit, event.assignee, event.due_at) == (UNIT, "U0009", "clerk-U0009", DUE)
        moved = apply(open_task(), [event])
        assert (moved.unit, moved.assignee, moved.status) == ("U0009", "clerk-U0009", Status.OPEN)

    def test_after_the_move_staff_of_the_new_unit_may_complete_it_and_the_old_may_not(self) -> None:
        moved = apply(open_task(), care_task.decide_transfer(open_task(), "U0008", None, "clerk2", None))
        assert decide_complete(complete(actor=OTHER), moved, NOW)
        assert refusal(decide_complete, complete(), moved, NOW).code is ErrorCode.FORBIDDEN

    def test_the_ladder_keeps_its_rungs_and_later_events_name_the_new_unit(self) -> None:
        moved = apply(open_task(), care_task.decide_transfer(open_task(), "U0009", None, None, None))
        assert next_stage(moved, POLICY, NOW) == next_stage(open_task(), POLICY, NOW)
        [overdue] = decide_stage(moved, "overdue", DUE, POLICY)
        assert overdue.unit == "U0009"  # type: ignore[attr-defined]

    def test_a_festival_visit_of_a_campaign_reaching_the_new_unit_moves(self) -> None:
        task = open_task(TaskKind.FESTIVAL_VISIT)
        [event] = care_task.decide_transfer(task, "U0009", None, None, ["U0007", "U0009"])
        assert isinstance(event, CareTaskTransferred)

    def test_a_festival_visit_of_a_campaign_not_reaching_the_new_unit_is_cancelled(self) -> None:
        task = open_task(TaskKind.FESTIVAL_VISIT)
        [event] = care_task.decide_transfer(task, "U0009", "城关镇", None, ["U0007"])
        assert isinstance(event, CareTaskCancelled)
        assert event.reason == "已调往城关镇，不在本次慰问范围"

    def test_closed_tasks_and_tasks_already_there_stay_as_they_are(self) -> None:
        assert care_task.decide_transfer(done(open_task()), "U0009", None, None, None) == []
        assert care_task.decide_transfer(cancelled_task(open_task()), "U0009", None, None, None) == []
        assert care_task.decide_transfer(open_task(), UNIT, None, None, None) == []


class TestAssigneeFromOpening:
    def test_reminders_go_to_the_assignee_named_when_the_task_opened(self) -> None:
        import uuid as _uuid  # noqa: PLC0415
        from datetime import UTC, datetime, timedelta  # noqa: PLC0415

        from contracts.care import CareTaskOpened, TaskKind  # noqa: PLC0415
        from services.care.care_task import Task, decide_stage, evolve  # noqa: PLC0415

        due = datetime(2027, 3, 4, 9, tzinfo=UTC)
        opened = CareTaskOpened(task_id=_uuid.uuid4(), kind=TaskKind.HOSPITAL_VISIT, retiree_id=_uuid.uuid4(),
                                unit="U0001", cause_event_id=_uuid.uuid4(), cause="MemberHospitalized", due_at=due,
                                policy_version="2026.1", assignee="clerk-U0001")
        [reminder] = decide_stage(evolve(Task(), opened), "due_soon", due - timedelta(hours=24))
        assert reminder.assignee == "clerk-U0001"  # type: ignore[attr-defined]
