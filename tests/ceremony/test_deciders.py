"""Given / when / then tests of the pure deciders: case, batch, unit mode and the due-date policy."""

from __future__ import annotations

import uuid
from datetime import date
from functools import reduce
from uuid import uuid4

import pytest

from contracts.base import Actor, Event, Role
from contracts.ceremony import (
    AnnounceDecision,
    CeremonyCaseOpened,
    CeremonyHeld,
    CeremonyMode,
    CeremonyOverdue,
    ChecklistItem,
    CompleteHandoverStep,
    DeclineConsent,
    GiveConsent,
    GivePlaque,
    GiveSouvenir,
    GiveThankYouLetter,
    HandoverCompleted,
    HandoverStep,
    HoldCeremony,
    IssueCertificate,
    RecordExtraItem,
    RecordFarewellRemarks,
    ScheduleBatchCeremony,
    ScheduleCeremony,
    SetCeremonyMode,
)
from contracts.errors import DomainError, ErrorCode
from contracts.profiles import RetireeCategory, RetirementApproved
from services.ceremony import batch, case, opening, unit_mode
from services.ceremony.batch import Batch
from services.ceremony.case import Case, Document, Facts
from services.ceremony.policy import DEFAULT_POLICY, add_months

RID = uuid.uuid4()
STAFF = Actor(user="clerk", role=Role.UNIT_STAFF, unit="U0007")
OTHER = Actor(user="clerk2", role=Role.UNIT_STAFF, unit="U0008")
OFFICE = Actor(user="office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
TODAY = Facts(today=date(2027, 3, 20))


def cmd(model: type, actor: Actor = STAFF, **fields: object) -> object:
    return model(command_id=uuid.uuid4(), actor=actor, retiree_id=RID, **fields)


def given(*events: Event) -> Case:
    state = Case()
    for ev in events:
        state = case.evolve(state, ev)
    return state


def opened(mode: CeremonyMode = CeremonyMode.INDIVIDUAL, approved: date = date(2027, 3, 5)) -> list[Event]:
    bid = batch.batch_of("U0007", approved) if mode is CeremonyMode.HALF_YEAR_BATCH else None
    return case.open_case(Case(), retiree_id=RID, unit="U0007", document_number="教人〔2027〕12号",
                          approved_on=approved, mode=mode, batch=(bid[0], bid[3]) if bid else None,
                          policy=DEFAULT_POLICY)


def refusal(state: Case, command: object, facts: Facts = TODAY) -> DomainError:
    with pytest.raises(DomainError) as caught:
        case.decide(command, state, facts)  # type: ignore[arg-type]
    return caught.value


def all_six(state: Case) -> Case:
    for command, facts in (
        (cmd(AnnounceDecision, document_number="教人〔2027〕12号"), TODAY),
        (cmd(IssueCertificate), Facts(TODAY.today, Document("/x/c.pdf", "U0007-2027-0001"))),
        (cmd(GivePlaque), TODAY),
        (cmd(GiveSouvenir, souvenir="纪念相册"), TODAY),
        (cmd(RecordFarewellRemarks, text="感谢组织多年培养"), TODAY),
    ):
        for ev in case.decide(command, state, facts):  # type: ignore[arg-type]
            state = case.evolve(state, ev)
    for ev in case.decide(cmd(GiveThankYouLetter, signed_by="张局长"), state,  # type: ignore[arg-type]
                          Facts(TODAY.today, Document("/x/l.pdf"))):
        state = case.evolve(state, ev)
    return state


class TestDueDates:
    def test_one_month_after_approval(self) -> None:
        assert DEFAULT_POLICY.individual_due(date(2027, 3, 5)) == date(2027, 4, 5)

    def test_month_end_is_clamped(self) -> None:
        assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
        assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
        assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)

    def test_approved_30_june_goes_to_the_first_half_batch(self) -> None:
        assert batch.batch_of("U0007", date(2027, 6, 30)) == ("U0007-2027H1", 2027, 1, date(2027, 6, 30))

    def test_approved_1_july_goes_to_the_second_half_batch(self) -> None:
        assert batch.batch_of("U0007", date(2027, 7, 1)) == ("U0007-2027H2", 2027, 2, date(2027, 12, 31))

    def test_a_december_approval_is_due_31_december_of_the_same_year(self) -> None:
        assert batch.batch_of("U0007", date(2027, 12, 28))[3] == date(2027, 12, 31)


class TestOpening:
    def test_opens_asks_consent_and_notes_the_archive(self) -> None:
        events = opened()
        assert [e.type for e in events] == ["CeremonyCaseOpened", "ConsentRequested", "HandoverStepCompleted"]
        assert events[0].ceremony_due_on == date(2027, 4, 5)  # type: ignore[attr-defined]
        assert events[0].handover_due_on == date(2027, 4, 5)  # type: ignore[attr-defined]

    def test_batch_case_is_due_with_its_batch(self) -> None:
        first = opened(CeremonyMode.HALF_YEAR_BATCH, date(2027, 6, 30))[0]
        assert (first.batch_id, first.ceremony_due_on) == ("U0007-2027H1", date(2027, 6, 30))  # type: ignore[attr-defined]

    def test_a_second_approval_opens_nothing(self) -> None:
        assert case.open_case(given(*opened()), retiree_id=RID, unit="U0007", document_number="x",
                              approved_on=date(2027, 3, 6), mode=CeremonyMode.INDIVIDUAL, batch=None,
                              policy=DEFAULT_POLICY) == []


class TestConsent:
    def test_declined_with_reason_means_no_ceremony(self) -> None:
        state = given(*opened(), *case.decide(cmd(DeclineConsent, reason="本人希望低调"), given(*opened()), TODAY))
        err = refusal(state, cmd(ScheduleCeremony, held_on=date(2027, 3, 28), venue="三楼会议室"))
        assert err.code is ErrorCode.CONFLICT
        assert "declined" in err.message
        assert case.ceremony_overdue(state) == []

    def test_declined_still_allows_the_handover(self) -> None:
        state = given(*opened(), *case.decide(cmd(DeclineConsent, reason="身体原因"), given(*opened()), TODAY))
        events = case.decide(cmd(CompleteHandoverStep, step=HandoverStep.BENEFITS_EXPLAINED), state, TODAY)
        assert [e.type for e in events] == ["HandoverStepCompleted"]

    def test_nothing_before_consent(self) -> None:
        assert refusal(given(*opened()), cmd(GivePlaque)).code is ErrorCode.CONFLICT

    def test_consent_is_answered_once(self) -> None:
        state = given(*opened(), *case.decide(cmd(GiveConsent), given(*opened()), TODAY))
        assert refusal(state, cmd(DeclineConsent, reason="改变主意")).code is ErrorCode.CONFLICT


class TestChecklist:
    def consented(self) -> Case:
        return given(*opened(), *case.decide(cmd(GiveConsent), given(*opened()), TODAY))

    def test_held_is_refused_naming_the_missing_items(self) -> None:
        state = self.consented()
        for command in (cmd(GivePlaque), cmd(RecordFarewellRemarks, text="感谢")):
            for ev in case.decide(command, state, TODAY):  # type: ignore[arg-type]
                state = case.evolve(state, ev)
        err = refusal(state, cmd(HoldCeremony, held_on=date(2027, 3, 20)))
        assert err.code is ErrorCode.VALIDATION
        assert err.details["missing"] == ["decision_announced", "thank_you_letter", "certificate", "souvenir"]
        assert "③颁发退休证" in err.message
        assert "④" not in err.message

    def test_held_when_all_six_recorded_with_the_extras(self) -> None:
        state = all_six(self.consented())
        for ev in case.decide(cmd(RecordExtraItem, item="合影留念"), state, TODAY):  # type: ignore[arg-type]
            state = case.evolve(state, ev)
        [held] = case.decide(cmd(HoldCeremony, held_on=date(2027, 3, 20)), state, TODAY)  # type: ignore[arg-type]
        assert isinstance(held, CeremonyHeld)
        assert held.on_time
        assert held.extra_items == ["合影留念"]
        assert not state.missing_items

    def test_an_item_is_recorded_once(self) -> None:
        state = all_six(self.consented())
        err = refusal(state, cmd(GivePlaque))
        assert (err.code, err.details["item"]) == (ErrorCode.CONFLICT, ChecklistItem.PLAQUE.value)

    def test_staff_of_another_unit_may_not(self) -> None:
        assert refusal(self.consented(), cmd(GivePlaque, actor=OTHER)).code is ErrorCode.FORBIDDEN

    def test_a_ceremony_in_the_future_cannot_be_recorded_as_held(self) -> None:
        err = refusal(all_six(self.consented()), cmd(HoldCeremony, held_on=date(2027, 3, 21)))
        assert err.code is ErrorCode.VALIDATION

    def test_scheduling_in_the_past_is_refused(self) -> None:
        err = refusal(self.consented(), cmd(ScheduleCeremony, held_on=date(2027, 3, 19), venue="会议室"))
        assert err.details["field"] == "held_on"


class TestOverdue:
    def test_overdue_once_when_not_held(self) -> None:
        state = given(*opened())
        [ev] = case.ceremony_overdue(state)
        assert isinstance(ev, CeremonyOverdue)
        assert case.ceremony_overdue(case.evolve(state, ev)) == []

    def test_handover_overdue_lists_missing_steps(self) -> None:
        [ev] = case.handover_overdue(given(*opened()))
        assert ev.missing_steps == [HandoverStep.BENEFITS_EXPLAINED, HandoverStep.HANDED_OVER,  # type: ignore[attr-defined]
                                    HandoverStep.WECHAT_GROUP_JOINED]


class TestHandover:
    def test_only_the_district_office_acknowledges_the_handover(self) -> None:
        err = refusal(given(*opened()), cmd(CompleteHandoverStep, step=HandoverStep.HANDED_OVER))
        assert err.code is ErrorCode.FORBIDDEN

    def test_completed_after_the_required_steps_not_waiting_for_the_optional_one(self) -> None:
        state = given(*opened())
        for step, actor in ((HandoverStep.BENEFITS_EXPLAINED, STAFF), (HandoverStep.WECHAT_GROUP_JOINED, STAFF)):
            for ev in case.decide(cmd(CompleteHandoverStep, actor=actor, step=step), state, TODAY):  # type: ignore[arg-type]
                state = case.evolve(state, ev)
        events = case.decide(cmd(CompleteHandoverStep, actor=OFFICE, step=HandoverStep.HANDED_OVER), state, TODAY)  # type: ignore[arg-type]
        assert isinstance(events[-1], HandoverCompleted)
        assert events[-1].on_time

    def test_death_closes_an_unfinished_case(self) -> None:
        [closed] = case.close(given(*opened()), "退休人员去世")
        assert closed.type == "CaseClosed"


class TestBatchAndMode:
    def test_first_member_opens_the_batch(self) -> None:
        events = batch.add_retiree(Batch(), "U0007", date(2027, 7, 1), RID)
        assert [e.type for e in events] == ["BatchOpened", "RetireeAddedToBatch"]

    def test_a_batch_is_scheduled_once(self) -> None:
        state = Batch()
        for ev in batch.add_retiree(state, "U0007", date(2027, 7, 1), RID):
            state = batch.evolve(state, ev)
        schedule = ScheduleBatchCeremony(command_id=uuid.uuid4(), actor=STAFF, unit="U0007", year=2027, half=2,
                                         held_on=date(2027, 12, 20), venue="礼堂")
        for ev in batch.decide(schedule, state, date(2027, 7, 2)):
            state = batch.evolve(state, ev)
        with pytest.raises(DomainError):
            batch.decide(schedule, state, date(2027, 7, 2))

    def test_the_same_mode_again_is_refused(self) -> None:
        command = SetCeremonyMode(command_id=uuid.uuid4(), actor=STAFF, unit="U0007", mode=CeremonyMode.INDIVIDUAL)
        with pytest.raises(DomainError):
            unit_mode.decide(command)


class TestOpeningACase:
    """On RetirementApproved (opening.decide_open): the unit's mode decides the promise."""

    def approval(self, approved_on: date = date(2027, 3, 1)) -> RetirementApproved:
        return RetirementApproved(retiree_id=uuid4(), unit="U0001", document_number="区人社〔2027〕1号",
                                  approved_on=approved_on, retirement_date=approved_on, category=RetireeCategory.CADRE)

    def test_an_individual_ceremony_is_due_a_month_after_the_approval_and_no_batch_is_touched(self) -> None:
        case_events, batch_events = opening.decide_open(Case(), self.approval(), CeremonyMode.INDIVIDUAL, Batch(),
                                                        DEFAULT_POLICY)
        assert batch_events == []
        opened = case_events[0]
        assert isinstance(opened, CeremonyCaseOpened)
        assert (opened.ceremony_due_on, opened.batch_id) == (date(2027, 4, 1), None)

    def test_in_batch_mode_the_first_approval_of_a_half_year_opens_its_batch(self) -> None:
        approval = self.approval(date(2027, 8, 9))
        case_events, batch_events = opening.decide_open(Case(), approval, CeremonyMode.HALF_YEAR_BATCH, Batch(),
                                                        DEFAULT_POLICY)
        assert [type(e).__name__ for e in batch_events] == ["BatchOpened", "RetireeAddedToBatch"]
        opened = case_events[0]
        assert isinstance(opened, CeremonyCaseOpened)
        assert (opened.batch_id, opened.ceremony_due_on) == ("U0001-2027H2", date(2027, 12, 31))

    def test_a_case_already_open_is_not_opened_again(self) -> None:
        approval = self.approval()
        case_events, _ = opening.decide_open(Case(), approval, CeremonyMode.INDIVIDUAL, Batch(), DEFAULT_POLICY)
        state = reduce(case.evolve, case_events, Case())
        assert opening.decide_open(state, approval, CeremonyMode.INDIVIDUAL, Batch(), DEFAULT_POLICY) == ([], [])

    def test_a_certificate_number_is_the_unit_the_year_and_a_four_digit_sequence(self) -> None:
        assert case.certificate_number("U0002", 2027, 1) == "U0002-2027-0001"
