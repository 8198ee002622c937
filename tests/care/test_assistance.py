"""Given / when / then tests of the assistance case (困难帮扶): apply, assess, approve or reject, pay, deadline."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from contracts.base import LOCAL_TZ, Actor, Event, Role
from contracts.care import (
    ApplyForAssistance,
    ApproveAssistance,
    AssessAssistance,
    AssistanceApproved,
    AssistanceAssessed,
    AssistanceCaseOpened,
    AssistanceDecisionOverdue,
    AssistancePaid,
    AssistanceRejected,
    AssistanceStatus,
    PayAssistance,
    RejectAssistance,
)
from contracts.errors import DomainError, ErrorCode
from services.care import assistance
from services.care.assistance import (
    Case,
    decide_apply,
    decide_approve,
    decide_assess,
    decide_deadline,
    decide_pay,
    decide_reject,
)
from services.care.policy import load_policy

POLICY = load_policy()
NOW = datetime(2027, 3, 15, 9, tzinfo=LOCAL_TZ)
DECISION_DUE = NOW + timedelta(days=15)
UNIT = "U0007"
STAFF = Actor(user="clerk", role=Role.UNIT_STAFF, unit=UNIT)
HEAD = Actor(user="head", role=Role.UNIT_HEAD, unit=UNIT)
OTHER_HEAD = Actor(user="head2", role=Role.UNIT_HEAD, unit="U0008")
OTHER = Actor(user="clerk2", role=Role.UNIT_STAFF, unit="U0008")
OFFICE = Actor(user="office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
CASE_ID = uuid.uuid4()
RID = uuid.uuid4()


def apply_cmd(actor: Actor = STAFF, unit: str = UNIT) -> ApplyForAssistance:
    return ApplyForAssistance(command_id=uuid.uuid4(), actor=actor, case_id=CASE_ID, retiree_id=RID, unit=unit,
                              reason="老伴重病，医疗费负担重", amount_requested=3000)


def assess_cmd(actor: Actor = STAFF) -> AssessAssistance:
    return AssessAssistance(command_id=uuid.uuid4(), actor=actor, case_id=CASE_ID, finding="情况属实",
                            recommended_amount=2000)


def approve_cmd(actor: Actor = HEAD, amount: int = 2000) -> ApproveAssistance:
    return ApproveAssistance(command_id=uuid.uuid4(), actor=actor, case_id=CASE_ID, amount=amount)


def reject_cmd(actor: Actor = HEAD) -> RejectAssistance:
    return RejectAssistance(command_id=uuid.uuid4(), actor=actor, case_id=CASE_ID, reason="不符合帮扶条件")


def pay_cmd(amount: int = 2000, actor: Actor = STAFF) -> PayAssistance:
    return PayAssistance(command_id=uuid.uuid4(), actor=actor, case_id=CASE_ID, paid_on=date(2027, 3, 25),
                         amount=amount, voucher="记-2027-031")


def then(state: Case, events: list[Event]) -> Case:
    for ev in events:
        state = assistance.evolve(state, ev)
    return state


def open_case() -> Case:
    return then(Case(), decide_apply(apply_cmd(), Case(), True, NOW, POLICY))  # noqa: FBT003


def assessed() -> Case:
    state = open_case()
    return then(state, decide_assess(assess_cmd(), state))


def approved(amount: int = 2000) -> Case:
    state = assessed()
    return then(state, decide_approve(approve_cmd(amount=amount), state, NOW, POLICY))


def rejected() -> Case:
    state = assessed()
    return then(state, decide_reject(reject_cmd(), state, NOW))


def paid() -> Case:
    state = approved()
    return then(state, decide_pay(pay_cmd(), state))


def refusal(fn: object, *args: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value


class TestApplying:
    def test_an_application_opens_a_case(self) -> None:
        [event] = decide_apply(apply_cmd(), Case(), True, NOW, POLICY)  # noqa: FBT003
        assert isinstance(event, AssistanceCaseOpened)
        assert (event.retiree_id, event.unit, event.amount_requested, event.policy_version) == (
            RID, UNIT, 3000, POLICY.version)

    def test_the_decision_is_due_15_days_after_the_application(self) -> None:
        [event] = decide_apply(apply_cmd(), Case(), True, NOW, POLICY)  # noqa: FBT003
        assert event.decision_due_at == DECISION_DUE  # type: ignore[attr-defined]

    def test_an_opened_case_is_open(self) -> None:
        state = open_case()
        assert (state.status, state.decision_due_at) == (AssistanceStatus.OPEN, DECISION_DUE)

    def test_applying_for_an_existing_case_is_a_conflict(self) -> None:
        assert refusal(decide_apply, apply_cmd(), open_case(), True, NOW, POLICY).code is ErrorCode.CONFLICT  # noqa: FBT003

    def test_applying_for_someone_not_living_is_refused(self) -> None:
        error = refusal(decide_apply, apply_cmd(), Case(), False, NOW, POLICY)  # noqa: FBT003
        assert (error.code, error.details) == (ErrorCode.VALIDATION, {"field": "retiree_id"})

    def test_staff_of_another_unit_may_not_apply(self) -> None:
        assert refusal(decide_apply, apply_cmd(OTHER), Case(), True, NOW, POLICY).code is ErrorCode.FORBIDDEN  # noqa: FBT003

    def test_the_district_office_may_apply_for_any_unit(self) -> None:
        assert decide_apply(apply_cmd(OFFICE), Case(), True, NOW, POLICY)  # noqa: FBT003


class TestAssessing:
    def test_an_open_case_is_assessed(self) -> None:
        [event] = decide_assess(assess_cmd(), open_case())
        assert isinstance(event, AssistanceAssessed)
        assert (event.finding, event.recommended_amount) == ("情况属实", 2000)

    def test_an_assessed_case_is_assessed(self) -> None:
        assert assessed().status is AssistanceStatus.ASSESSED

    def test_assessing_twice_is_a_conflict(self) -> None:
        assert refusal(decide_assess, assess_cmd(), assessed()).code is ErrorCode.CONFLICT

    def test_assessing_an_approved_case_is_a_conflict(self) -> None:
        assert refusal(decide_assess, assess_cmd(), approved()).code is ErrorCode.CONFLICT

    def test_assessing_an_unknown_case_is_not_found(self) -> None:
        assert refusal(decide_assess, assess_cmd(), Case()).code is ErrorCode.NOT_FOUND

    def test_staff_of_another_unit_may_not_assess(self) -> None:
        assert refusal(decide_assess, assess_cmd(OTHER), open_case()).code is ErrorCode.FORBIDDEN


class TestApproving:
    def test_approving_before_the_assessment_is_a_conflict(self) -> None:
        assert refusal(decide_approve, approve_cmd(), open_case(), NOW, POLICY).code is ErrorCode.CONFLICT

    def test_a_unit_head_approves_up_to_2000_yuan(self) -> None:
        [event] = decide_approve(approve_cmd(HEAD, 2000), assessed(), NOW, POLICY)
        assert isinstance(event, AssistanceApproved)
        assert (event.amount, event.approved_by, event.approver_level) == (2000, "head", Role.UNIT_HEAD)

    def test_a_unit_head_may_not_approve_2001_yuan(self) -> None:
        assert refusal(decide_approve, approve_cmd(HEAD, 2001), assessed(), NOW, POLICY).code is ErrorCode.FORBIDDEN

    def test_the_refusal_above_the_unit_head_limit_names_the_district_office(self) -> None:
        error = refusal(decide_approve, approve_cmd(HEAD, 2001), assessed(), NOW, POLICY)
        assert "the district office" in error.message
        assert error.details == {"limit": 2000, "level": "unit_head"}

    def test_the_district_office_approves_up_to_20000_yuan(self) -> None:
        [event] = decide_approve(approve_cmd(OFFICE, 20000), assessed(), NOW, POLICY)
        assert event.approver_level is Role.DISTRICT_OFFICE  # type: ignore[attr-defined]

    def test_the_district_office_may_not_approve_20001_yuan(self) -> None:
        error = refusal(decide_approve, approve_cmd(OFFICE, 20001), assessed(), NOW, POLICY)
        assert (error.code, error.details) == (ErrorCode.FORBIDDEN, {"limit": 20000, "level": "district_office"})

    def test_unit_staff_may_not_approve(self) -> None:
        assert refusal(decide_approve, approve_cmd(STAFF, 100), assessed(), NOW, POLICY).code is ErrorCode.FORBIDDEN

    def test_the_head_of_another_unit_may_not_approve(self) -> None:
        assert refusal(decide_approve, approve_cmd(OTHER_HEAD, 100), assessed(), NOW,
                       POLICY).code is ErrorCode.FORBIDDEN

    def test_an_approval_by_the_decision_due_time_is_on_time(self) -> None:
        [event] = decide_approve(approve_cmd(), assessed(), DECISION_DUE, POLICY)
        assert event.on_time  # type: ignore[attr-defined]

    def test_an_approval_after_the_decision_due_time_is_late(self) -> None:
        [event] = decide_approve(approve_cmd(), assessed(), DECISION_DUE + timedelta(seconds=1), POLICY)
        assert not event.on_time  # type: ignore[attr-defined]

    def test_an_approved_case_remembers_the_amount(self) -> None:
        assert (approved(1500).status, approved(1500).approved_amount) == (AssistanceStatus.APPROVED, 1500)

    def test_approving_twice_is_a_conflict(self) -> None:
        assert refusal(decide_approve, approve_cmd(), approved(), NOW, POLICY).code is ErrorCode.CONFLICT

    def test_approving_a_rejected_case_is_a_conflict(self) -> None:
        assert refusal(decide_approve, approve_cmd(), rejected(), NOW, POLICY).code is ErrorCode.CONFLICT

    def test_the_limits_follow_the_policy(self) -> None:
        limits = POLICY.assistance.model_copy(update={"approval_limits_yuan": {"unit_head": 500}})
        policy = POLICY.model_copy(update={"assistance": limits})
        assert refusal(decide_approve, approve_cmd(HEAD, 501), assessed(), NOW, policy).code is ErrorCode.FORBIDDEN


class TestRejecting:
    def test_a_unit_head_rejects_an_assessed_case(self) -> None:
        [event] = decide_reject(reject_cmd(), assessed(), NOW)
        assert isinstance(event, AssistanceRejected)
        assert (event.reason, event.rejected_by, event.on_time) == ("不符合帮扶条件", "head", True)

    def test_a_late_rejection_is_not_on_time(self) -> None:
        [event] = decide_reject(reject_cmd(), assessed(), DECISION_DUE + timedelta(days=1))
        assert not event.on_time  # type: ignore[attr-defined]

    def test_a_rejected_case_is_rejected(self) -> None:
        assert rejected().status is AssistanceStatus.REJECTED

    def test_the_district_office_may_reject(self) -> None:
        assert decide_reject(reject_cmd(OFFICE), assessed(), NOW)

    def test_unit_staff_may_not_reject(self) -> None:
        assert refusal(decide_reject, reject_cmd(STAFF), assessed(), NOW).code is ErrorCode.FORBIDDEN

    def test_rejecting_before_the_assessment_is_a_conflict(self) -> None:
        assert refusal(decide_reject, reject_cmd(), open_case(), NOW).code is ErrorCode.CONFLICT

    def test_rejecting_an_approved_case_is_a_conflict(self) -> None:
        assert refusal(decide_reject, reject_cmd(), approved(), NOW).code is ErrorCode.CONFLICT


class TestPaying:
    def test_an_approved_case_is_paid_the_approved_amount(self) -> None:
        [event] = decide_pay(pay_cmd(2000), approved(2000))
        assert isinstance(event, AssistancePaid)
        assert (event.amount, event.paid_on, event.voucher) == (2000, date(2027, 3, 25), "记-2027-031")

    def test_a_paid_case_is_paid(self) -> None:
        assert paid().status is AssistanceStatus.PAID

    def test_a_different_amount_is_refused(self) -> None:
        error = refusal(decide_pay, pay_cmd(1999), approved(2000))
        assert (error.code, error.details) == (ErrorCode.VALIDATION, {"field": "amount"})

    def test_paying_an_assessed_case_is_a_conflict(self) -> None:
        assert refusal(decide_pay, pay_cmd(), assessed()).code is ErrorCode.CONFLICT

    def test_paying_a_rejected_case_is_a_conflict(self) -> None:
        assert refusal(decide_pay, pay_cmd(), rejected()).code is ErrorCode.CONFLICT

    def test_paying_twice_is_a_conflict(self) -> None:
        assert refusal(decide_pay, pay_cmd(), paid()).code is ErrorCode.CONFLICT

    def test_staff_of_another_unit_may_not_pay(self) -> None:
        assert refusal(decide_pay, pay_cmd(actor=OTHER), approved()).code is ErrorCode.FORBIDDEN

    def test_paying_an_unknown_case_is_not_found(self) -> None:
        assert refusal(decide_pay, pay_cmd(), Case()).code is ErrorCode.NOT_FOUND


class TestDecisionDeadline:
    def test_an_undecided_open_case_becomes_overdue(self) -> None:
        [event] = decide_deadline(open_case())
        assert isinstance(event, AssistanceDecisionOverdue)
        assert event.decision_due_at == DECISION_DUE

    def test_an_undecided_assessed_case_becomes_overdue(self) -> None:
        assert len(decide_deadline(assessed())) == 1

    def test_the_deadline_is_recorded_once(self) -> None:
        state = then(open_case(), decide_deadline(open_case()))
        assert decide_deadline(state) == []

    def test_an_overdue_case_remembers_it(self) -> None:
        assert then(open_case(), decide_deadline(open_case())).overdue

    @pytest.mark.parametrize("state", [approved, rejected, paid], ids=["approved", "rejected", "paid"])
    def test_a_decided_case_has_no_deadline(self, state: object) -> None:
        assert decide_deadline(state()) == []  # type: ignore[operator]

    def test_no_case_has_no_deadline(self) -> None:
        assert decide_deadline(Case()) == []
