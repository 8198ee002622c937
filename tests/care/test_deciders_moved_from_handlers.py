"""Given / when / then tests of the care rules that used to live in handlers and SQL: opening an obligation as a
task, what a death cancels, and adopting a policy version.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from contracts.base import LOCAL_TZ, Actor, Role
from contracts.care import CareTaskCancelled, CareTaskOpened, PolicyAdopted, TaskKind
from contracts.errors import DomainError, ErrorCode
from services.care import care_task, policy_adoption
from services.care.care_task import Task
from services.care.obligations import TaskSpec
from services.care.policy import load_policy
from services.care.policy_adoption import Adoptions

POLICY = load_policy()
NOW = datetime(2027, 3, 15, 9, tzinfo=LOCAL_TZ)
OFFICE = Actor(user="office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
CLERK = Actor(user="clerk", role=Role.UNIT_STAFF, unit="U0007")


def spec(kind: TaskKind = TaskKind.HOSPITAL_VISIT, *, for_survivor: bool = False,
         campaign_id: uuid.UUID | None = None) -> TaskSpec:
    return TaskSpec(kind=kind, retiree_id=uuid.uuid4(), unit="U0007", due_at=NOW + timedelta(hours=72),
                    cause="MemberHospitalized", cause_event_id=uuid.uuid4(), for_survivor=for_survivor,
                    campaign_id=campaign_id)


def opened(s: TaskSpec) -> Task:
    [event] = care_task.decide_open(Task(), s, "clerk", POLICY)
    return care_task.evolve(Task(), event)


class TestOpeningAnObligation:
    def test_an_obligation_opens_one_task_assigned_to_the_care_contact_under_the_current_policy(self) -> None:
        s = spec()
        [event] = care_task.decide_open(Task(), s, "clerk", POLICY)
        assert isinstance(event, CareTaskOpened)
        assert (event.task_id, event.assignee, event.policy_version, event.due_at) == (
            s.task_id, "clerk", POLICY.version, s.due_at)

    def test_the_same_obligation_never_opens_a_second_task(self) -> None:
        s = spec()
        assert care_task.decide_open(opened(s), s, "clerk", POLICY) == []

    def test_a_unit_without_care_contact_gets_an_unassigned_task(self) -> None:
        [event] = care_task.decide_open(Task(), spec(), None, POLICY)
        assert isinstance(event, CareTaskOpened)
        assert event.assignee is None


class TestWhatADeathStops:
    def test_an_open_visit_is_cancelled_because_the_retiree_died(self) -> None:
        [event] = care_task.decide_on_death(opened(spec()))
        assert isinstance(event, CareTaskCancelled)
        assert event.reason == "退休人员已去世"

    def test_the_bereavement_visit_to_the_family_stays_owed(self) -> None:
        assert care_task.decide_on_death(opened(spec(TaskKind.BEREAVEMENT_VISIT))) == []

    def test_festival_care_of_a_survivor_stays_owed(self) -> None:
        survivor = opened(spec(TaskKind.FESTIVAL_VISIT, for_survivor=True, campaign_id=uuid.uuid4()))
        assert care_task.decide_on_death(survivor) == []

    def test_a_task_already_done_is_left_alone(self) -> None:
        state = opened(spec())
        state = care_task.evolve(state, care_task.cancelled(state, "重复登记"))
        assert care_task.decide_on_death(state) == []


class TestAdoptingAPolicy:
    def test_a_new_version_is_adopted_at_the_time_given(self) -> None:
        [event] = policy_adoption.decide_adopt(Adoptions(), OFFICE, POLICY, {"version": POLICY.version}, NOW,
                                               at_start=False)
        assert event == PolicyAdopted(version=POLICY.version, policy={"version": POLICY.version}, adopted_at=NOW)

    def test_the_version_in_force_is_refused_as_a_conflict_but_ignored_at_start(self) -> None:
        state = Adoptions(versions=frozenset({POLICY.version}), current=POLICY.version)
        with pytest.raises(DomainError) as caught:
            policy_adoption.decide_adopt(state, OFFICE, POLICY, {}, NOW, at_start=False)
        assert caught.value.code is ErrorCode.CONFLICT
        assert "already in force" in caught.value.message
        assert policy_adoption.decide_adopt(state, OFFICE, POLICY, {}, NOW, at_start=True) == []

    def test_an_older_version_is_not_adopted_again(self) -> None:
        state = Adoptions(versions=frozenset({POLICY.version, "2099-1"}), current="2099-1")
        with pytest.raises(DomainError, match="was adopted before"):
            policy_adoption.decide_adopt(state, OFFICE, POLICY, {}, NOW, at_start=False)
        # at start the file's older version does not undo an AdoptPolicy that replaced it
        assert policy_adoption.decide_adopt(state, OFFICE, POLICY, {}, NOW, at_start=True) == []

    def test_only_the_district_office_adopts(self) -> None:
        with pytest.raises(DomainError) as caught:
            policy_adoption.decide_adopt(Adoptions(), CLERK, POLICY, {}, NOW, at_start=False)
        assert caught.value.code is ErrorCode.FORBIDDEN
