"""The retiree archive decider, given / when / then: every rule of `decide` and every case of `evolve`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import reduce
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts.base import Actor, Command, Event, Role
from contracts.errors import DomainError, ErrorCode
from contracts.id_number import check_digit, make_id_number
from contracts.profiles import (
    ApproveRetirement,
    AssignPartyBranch,
    BranchRole,
    CommunityRegistered,
    ErasePersonalData,
    ExemplaryRecognized,
    FamilyEmergencyKind,
    FamilyEmergencyReported,
    HardshipReported,
    HealthExamRecorded,
    InterestGroupJoined,
    InterestGroupLeft,
    JoinInterestGroup,
    JoinTalentPool,
    LeaveInterestGroup,
    LeaveTalentPool,
    MemberDeceased,
    MemberDischarged,
    MemberHospitalized,
    PartyBranchAssigned,
    PartyMembershipRecorded,
    PersonalDataErased,
    PlanRetirement,
    ProfileUpdated,
    RecognizeExemplary,
    RecordDeath,
    RecordDischarge,
    RecordHealthExam,
    RecordHospitalization,
    RecordPartyMembership,
    RecordSurvivor,
    RegisterCommunity,
    RegisterRetiree,
    ReportFamilyEmergency,
    ReportHardship,
    RetireeCategory,
    RetireeCommand,
    RetireeRegistered,
    RetireeStatus,
    RetireeTransferred,
    RetirementApproved,
    RetirementPlanned,
    ReviewTalent,
    RiskTier,
    Severity,
    Sex,
    SurvivorRecorded,
    TalentPoolJoined,
    TalentPoolLeft,
    TalentPoolReviewed,
    TransferRetiree,
    UpdateProfile,
    Willingness,
)
from services.profiles.retiree import Facts, Retiree, decide, evolve

NOW = datetime(2027, 3, 15, 9, tzinfo=UTC)
TODAY = NOW.date()
TOMORROW = date(2027, 3, 16)
FACTS = Facts(now=NOW)

DISTRICT = Actor(user="district.office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
STAFF_U1 = Actor(user="staff.u1", role=Role.UNIT_STAFF, unit="U0001")
STAFF_U2 = Actor(user="staff.u2", role=Role.UNIT_STAFF, unit="U0002")
SYSTEM = Actor(user="system", role=Role.SYSTEM, unit="DISTRICT")

BIRTH = date(1965, 4, 12)
ID_MALE = make_id_number("110101", BIRTH, 123)  # odd sequence code: a man
ID_FEMALE = make_id_number("310104", date(1967, 11, 3), 246)  # even sequence code: a woman


# ---------------------------------------------------------------------------------------------------- helpers


def given(*events: Event) -> Retiree:
    return reduce(evolve, events, Retiree())


def when(command: Command, state: Retiree, facts: Facts = FACTS) -> list[Event]:
    return decide(command, state, facts)


def refusal(command: Command, state: Retiree, facts: Facts = FACTS) -> DomainError:
    with pytest.raises(DomainError) as info:
        decide(command, state, facts)
    return info.value


def register(rid: UUID, actor: Actor = STAFF_U1, **fields: Any) -> RegisterRetiree:
    values: dict[str, Any] = {"name": "张建国", "id_number": ID_MALE, "unit": "U0001"} | fields
    return RegisterRetiree(command_id=uuid4(), actor=actor, retiree_id=rid, **values)


def registered(rid: UUID, *, unit: str = "U0001", status: RetireeStatus = RetireeStatus.PLANNED,
               birth: date = BIRTH) -> RetireeRegistered:
    return RetireeRegistered(
        retiree_id=rid, name="张建国", sex=Sex.MALE, birth_date=birth, unit=unit, category=RetireeCategory.CADRE,
        status=status, retirement_date=date(2025, 4, 30) if status is RetireeStatus.RETIRED else None,
        id_number=ID_MALE, phone=None, address=None,
    )


def approved(rid: UUID, unit: str = "U0001") -> RetirementApproved:
    return RetirementApproved(retiree_id=rid, unit=unit, document_number="区人社〔2027〕12号",
                              approved_on=date(2027, 3, 1), retirement_date=date(2027, 4, 30),
                              category=RetireeCategory.CADRE, name="张建国")


def hospitalized(rid: UUID, on: date = date(2027, 3, 10)) -> MemberHospitalized:
    return MemberHospitalized(retiree_id=rid, unit="U0001", admitted_on=on, severity=Severity.SERIOUS,
                              hospital="区人民医院")


def deceased(rid: UUID, on: date = date(2027, 3, 12)) -> MemberDeceased:
    return MemberDeceased(retiree_id=rid, unit="U0001", died_on=on)


def hardship(rid: UUID) -> HardshipReported:
    return HardshipReported(retiree_id=rid, unit="U0001", description="困难")


def erased(rid: UUID) -> PersonalDataErased:
    return PersonalDataErased(retiree_id=rid, reason="本人申请删除")


def retired(rid: UUID, unit: str = "U0001") -> Retiree:
    """A person of `unit` whose retirement is approved: the usual state for care facts."""
    return given(registered(rid, unit=unit), approved(rid, unit))


def cmd(cls: type[RetireeCommand], rid: UUID, actor: Actor = STAFF_U1, **fields: Any) -> RetireeCommand:
    return cls(command_id=uuid4(), actor=actor, retiree_id=rid, **fields)


def id_with_birth(digits: str) -> str:
    """A well-formed 18-character number (right check digit) around any 8 birth-date digits."""
    first17 = f"110101{digits}123"
    return first17 + check_digit(first17)


# One valid command of each kind about an existing retiree (not registration), keyed by its name.
CommandFactory = Callable[[UUID, Actor], Command]
RECORDED_COMMANDS: dict[str, CommandFactory] = {
    "PlanRetirement": lambda r, a: cmd(PlanRetirement, r, a, planned_date=date(2027, 6, 30)),
    "ApproveRetirement": lambda r, a: cmd(ApproveRetirement, r, a, unit="U0001", document_number="区人社〔2027〕12号",
                                          approved_on=TODAY, retirement_date=date(2027, 4, 30),
                                          category=RetireeCategory.CADRE),
    "UpdateProfile": lambda r, a: cmd(UpdateProfile, r, a, phone="13800000000"),
    "RecordHospitalization": lambda r, a: cmd(RecordHospitalization, r, a, hospital="区人民医院", admitted_on=TODAY),
    "RecordDischarge": lambda r, a: cmd(RecordDischarge, r, a, discharged_on=TODAY),
    "ReportFamilyEmergency": lambda r, a: cmd(ReportFamilyEmergency, r, a, kind=FamilyEmergencyKind.ACCIDENT,
                                              description="老伴摔伤", happened_on=TODAY),
    "ReportHardship": lambda r, a: cmd(ReportHardship, r, a, description="医药费负担重", amount_requested=3000),
    "RecordHealthExam": lambda r, a: cmd(RecordHealthExam, r, a, examined_on=TODAY, summary="血压偏高"),
    "RecordPartyMembership": lambda r, a: cmd(RecordPartyMembership, r, a, joined_on=date(1990, 7, 1),
                                              branch="离退休第一党支部"),
    "AssignPartyBranch": lambda r, a: cmd(AssignPartyBranch, r, a, branch="离退休第一党支部"),
    "RegisterCommunity": lambda r, a: cmd(RegisterCommunity, r, a, community="幸福里社区", registered_on=TODAY),
    "JoinInterestGroup": lambda r, a: cmd(JoinInterestGroup, r, a, group="书画"),
    "LeaveInterestGroup": lambda r, a: cmd(LeaveInterestGroup, r, a, group="书画"),
    "JoinTalentPool": lambda r, a: cmd(JoinTalentPool, r, a, skills=["会计"]),
    "ReviewTalent": lambda r, a: cmd(ReviewTalent, r, a, willingness=Willingness.WILLING, fit_for_service=True),
    "LeaveTalentPool": lambda r, a: cmd(LeaveTalentPool, r, a),
    "RecognizeExemplary": lambda r, a: cmd(RecognizeExemplary, r, a, title="优秀共产党员", recognized_on=TODAY),
    "RecordSurvivor": lambda r, a: cmd(RecordSurvivor, r, a, survivor_name="李秀英", relation="配偶"),
    "TransferRetiree": lambda r, a: cmd(TransferRetiree, r, a, to_unit="U0002", effective_on=TODAY),
    "RecordDeath": lambda r, a: cmd(RecordDeath, r, a, died_on=TODAY),
    "ErasePersonalData": lambda r, a: cmd(ErasePersonalData, r, a, reason="本人申请删除"),
}
# Those that succeed on a freshly registered (planned) person, whoever is allowed to act.
SUCCEED_ON_PLANNED = [name for name in RECORDED_COMMANDS
                      if name not in {"RecordDischarge", "AssignPartyBranch", "LeaveInterestGroup", "ReviewTalent",
                                      "LeaveTalentPool", "ErasePersonalData"}]
AFTER_DEATH_ALLOWED = {"RecordSurvivor", "ErasePersonalData"}


# ---------------------------------------------------------------------------------------------------- registration


class TestRegisterRetiree:
    def test_a_valid_id_number_registers_a_planned_retiree_with_sex_and_birth_date_from_the_id(self) -> None:
        rid = uuid4()
        events = when(register(rid, category=RetireeCategory.CADRE, phone="13800000000", address="幸福里3号"),
                      Retiree())
        assert events == [RetireeRegistered(
            retiree_id=rid, name="张建国", sex=Sex.MALE, birth_date=BIRTH, unit="U0001",
            category=RetireeCategory.CADRE, status=RetireeStatus.PLANNED, retirement_date=None, id_number=ID_MALE,
            phone="13800000000", address="幸福里3号",
        )]

    def test_an_even_sequence_code_is_a_woman(self) -> None:
        rid = uuid4()
        [event] = when(register(rid, id_number=ID_FEMALE), Retiree())
        assert isinstance(event, RetireeRegistered)
        assert (event.sex, event.birth_date) == (Sex.FEMALE, date(1967, 11, 3))

    def test_the_id_number_is_stored_normalised(self) -> None:
        rid = uuid4()
        [event] = when(register(rid, id_number=f"  {ID_MALE}\u3000"), Retiree())
        assert isinstance(event, RetireeRegistered)
        assert event.id_number == ID_MALE

    def test_already_retired_registers_as_retired_with_the_retirement_date(self) -> None:
        rid = uuid4()
        [event] = when(register(rid, already_retired=True, retirement_date=date(2025, 4, 30)), Retiree())
        assert isinstance(event, RetireeRegistered)
        assert (event.status, event.retirement_date) == (RetireeStatus.RETIRED, date(2025, 4, 30))

    def test_already_retired_without_a_retirement_date_is_refused(self) -> None:
        error = refusal(register(uuid4(), already_retired=True), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "needs a retirement date" in error.message
        assert error.details["field"] == "retirement_date"

    def test_a_party_join_date_also_records_the_party_membership(self) -> None:
        rid = uuid4()
        registration, membership = when(register(rid, party_joined_on=date(1990, 7, 1)), Retiree())
        assert isinstance(registration, RetireeRegistered)
        assert membership == PartyMembershipRecorded(retiree_id=rid, joined_on=date(1990, 7, 1), branch="（导入）")

    def test_a_party_join_date_in_the_future_is_refused(self) -> None:
        error = refusal(register(uuid4(), party_joined_on=TOMORROW), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "in the future" in error.message
        assert error.details["field"] == "party_joined_on"

    def test_a_party_join_date_before_birth_is_refused(self) -> None:
        error = refusal(register(uuid4(), party_joined_on=date(1960, 7, 1)), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "before the birth date" in error.message

    def test_a_retirement_date_before_birth_is_refused(self) -> None:
        error = refusal(register(uuid4(), retirement_date=date(1960, 1, 1)), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "before the birth date" in error.message
        assert error.details["field"] == "retirement_date"

    def test_a_wrong_check_digit_is_refused_with_the_reason(self) -> None:
        wrong = ID_MALE[:17] + ("0" if ID_MALE[17] != "0" else "1")
        error = refusal(register(uuid4(), id_number=wrong), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "invalid ID number" in error.message
        assert "check digit" in error.message
        assert error.details["field"] == "id_number"
        assert error.details["reason_zh"] == f"校验码错误，应为 {ID_MALE[17]}"

    def test_a_wrong_length_is_refused_with_the_reason(self) -> None:
        error = refusal(register(uuid4(), id_number=ID_MALE[:16]), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "length is 16" in error.message
        assert error.details["reason_zh"] == "长度应为18位（现为16位）"

    def test_an_impossible_birth_date_is_refused_with_the_reason(self) -> None:
        error = refusal(register(uuid4(), id_number=id_with_birth("19650230")), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "not a calendar date" in error.message
        assert error.details["reason_zh"] == "出生日期无效"

    def test_a_birth_date_after_today_is_refused(self) -> None:
        error = refusal(register(uuid4(), id_number=id_with_birth("20270316")), Retiree())
        assert error.code is ErrorCode.VALIDATION
        assert "after today" in error.message

    def test_an_id_number_held_by_another_retiree_is_a_conflict_naming_that_retiree(self) -> None:
        other = uuid4()
        error = refusal(register(uuid4()), Retiree(), Facts(now=NOW, id_number_owner=other))
        assert error.code is ErrorCode.CONFLICT
        assert "already in the archive" in error.message
        assert error.details["existing_retiree_id"] == str(other)

    def test_an_id_number_held_by_the_same_retiree_id_is_not_a_conflict(self) -> None:
        rid = uuid4()
        [event] = when(register(rid), Retiree(), Facts(now=NOW, id_number_owner=rid))
        assert isinstance(event, RetireeRegistered)

    def test_an_unknown_unit_is_refused(self) -> None:
        error = refusal(register(uuid4(), unit="U0009", actor=DISTRICT), Retiree(), Facts(now=NOW, unit_exists=False))
        assert error.code is ErrorCode.VALIDATION
        assert "unit U0009 is not registered" in error.message
        assert error.details["field"] == "unit"

    def test_registering_the_same_retiree_twice_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(register(rid), given(registered(rid)))
        assert error.code is ErrorCode.CONFLICT
        assert "already in the archive" in error.message


# ------------------------------------------------------------------------------------------------ planning, approval


class TestPlanRetirement:
    def test_a_planned_person_gets_a_planned_date(self) -> None:
        rid = uuid4()
        events = when(cmd(PlanRetirement, rid, planned_date=date(2027, 6, 30)), given(registered(rid)))
        assert events == [RetirementPlanned(retiree_id=rid, unit="U0001", planned_date=date(2027, 6, 30))]

    def test_an_unregistered_retiree_is_not_found(self) -> None:
        error = refusal(cmd(PlanRetirement, uuid4(), planned_date=date(2027, 6, 30)), Retiree())
        assert error.code is ErrorCode.NOT_FOUND
        assert "is not in the archive" in error.message

    def test_planning_after_approval_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(PlanRetirement, rid, planned_date=date(2027, 6, 30)), retired(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "already approved" in error.message

    def test_planning_someone_imported_as_retired_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(PlanRetirement, rid, planned_date=date(2027, 6, 30)),
                        given(registered(rid, status=RetireeStatus.RETIRED)))
        assert error.code is ErrorCode.CONFLICT


class TestApproveRetirement:
    @staticmethod
    def approve(rid: UUID, actor: Actor = STAFF_U1, **fields: Any) -> Command:
        values: dict[str, Any] = {"unit": "U0001", "document_number": "区人社〔2027〕12号", "approved_on": TODAY,
                                  "retirement_date": date(2027, 4, 30), "category": RetireeCategory.WORKER} | fields
        return cmd(ApproveRetirement, rid, actor, **values)

    def test_approval_carries_the_document_and_the_retirees_name(self) -> None:
        rid = uuid4()
        events = when(self.approve(rid), given(registered(rid)))
        assert events == [RetirementApproved(
            retiree_id=rid, unit="U0001", document_number="区人社〔2027〕12号", approved_on=TODAY,
            retirement_date=date(2027, 4, 30), category=RetireeCategory.WORKER, name="张建国",
        )]

    def test_an_unregistered_retiree_is_not_found(self) -> None:
        error = refusal(self.approve(uuid4()), Retiree())
        assert error.code is ErrorCode.NOT_FOUND
        assert "is not in the archive" in error.message

    def test_an_unknown_unit_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(self.approve(rid), given(registered(rid)), Facts(now=NOW, unit_exists=False))
        assert error.code is ErrorCode.VALIDATION
        assert "unit U0001 is not registered" in error.message

    def test_a_unit_other_than_the_retirees_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(self.approve(rid, DISTRICT, unit="U0002"), given(registered(rid)))
        assert error.code is ErrorCode.VALIDATION
        assert "belongs to unit U0001, not U0002" in error.message
        assert error.details["field"] == "unit"

    def test_an_approval_date_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(self.approve(rid, approved_on=TOMORROW), given(registered(rid)))
        assert error.code is ErrorCode.VALIDATION
        assert "in the future" in error.message
        assert error.details["field"] == "approved_on"

    def test_an_approval_dated_today_is_accepted(self) -> None:
        rid = uuid4()
        [event] = when(self.approve(rid, approved_on=TODAY), given(registered(rid)))
        assert isinstance(event, RetirementApproved)

    def test_approving_twice_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(self.approve(rid), retired(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "already approved" in error.message

    def test_approving_someone_imported_as_retired_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(self.approve(rid), given(registered(rid, status=RetireeStatus.RETIRED)))
        assert error.code is ErrorCode.CONFLICT

    def test_a_retirement_date_before_birth_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(self.approve(rid, retirement_date=date(1960, 1, 1)), given(registered(rid)))
        assert error.code is ErrorCode.VALIDATION
        assert "before the birth date" in error.message


# ---------------------------------------------------------------------------------------------------- profile


class TestUpdateProfile:
    def test_nothing_given_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(UpdateProfile, rid), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert "nothing to update" in error.message

    def test_changed_lists_exactly_the_given_fields(self) -> None:
        rid = uuid4()
        events = when(cmd(UpdateProfile, rid, phone="13900000000", risk_tier=RiskTier.HIGH), retired(rid))
        assert events == [ProfileUpdated(retiree_id=rid, changed=["phone", "risk_tier"], phone="13900000000",
                                         risk_tier=RiskTier.HIGH)]

    def test_false_is_a_given_value(self) -> None:
        rid = uuid4()
        [event] = when(cmd(UpdateProfile, rid, living_alone=False), retired(rid))
        assert isinstance(event, ProfileUpdated)
        assert event.changed == ["living_alone"]
        assert event.living_alone is False

    def test_every_field_at_once(self) -> None:
        rid = uuid4()
        [event] = when(cmd(UpdateProfile, rid, phone="13900000000", address="幸福里3号", emergency_contact="张小明",
                           living_alone=True, risk_tier=RiskTier.NORMAL, bank_account="6222000011112222"),
                       retired(rid))
        assert isinstance(event, ProfileUpdated)
        assert event.changed == ["address", "bank_account", "emergency_contact", "living_alone", "phone",
                                 "risk_tier"]


# ---------------------------------------------------------------------------------------------------- health


class TestHospitalisation:
    def test_an_admission_is_recorded_with_the_unit(self) -> None:
        rid = uuid4()
        events = when(cmd(RecordHospitalization, rid, hospital="区人民医院", admitted_on=date(2027, 3, 14),
                          severity=Severity.CRITICAL, diagnosis="脑梗"), retired(rid))
        assert events == [MemberHospitalized(retiree_id=rid, unit="U0001", admitted_on=date(2027, 3, 14),
                                             severity=Severity.CRITICAL, hospital="区人民医院", diagnosis="脑梗")]

    def test_the_default_severity_is_serious(self) -> None:
        rid = uuid4()
        [event] = when(cmd(RecordHospitalization, rid, hospital="区人民医院", admitted_on=TODAY), retired(rid))
        assert isinstance(event, MemberHospitalized)
        assert event.severity is Severity.SERIOUS

    def test_an_admission_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordHospitalization, rid, hospital="区人民医院", admitted_on=TOMORROW), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert "in the future" in error.message
        assert error.details["field"] == "admitted_on"

    def test_an_admission_while_already_hospitalised_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordHospitalization, rid, hospital="市中心医院", admitted_on=TODAY),
                        given(registered(rid), approved(rid), hospitalized(rid)))
        assert error.code is ErrorCode.CONFLICT
        assert "already hospitalised since 2027-03-10" in error.message

    def test_a_new_admission_after_discharge_is_accepted(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid), hospitalized(rid),
                      MemberDischarged(retiree_id=rid, unit="U0001", admitted_on=date(2027, 3, 10),
                                       discharged_on=date(2027, 3, 12)))
        [event] = when(cmd(RecordHospitalization, rid, hospital="区人民医院", admitted_on=TODAY), state)
        assert isinstance(event, MemberHospitalized)

    def test_an_admission_dated_today_in_beijing_is_accepted_early_in_the_morning(self) -> None:
        rid = uuid4()
        early_morning_in_beijing = Facts(now=datetime(2027, 3, 15, 23, 30, tzinfo=UTC))  # 2027-03-16 07:30 +08:00
        [event] = when(cmd(RecordHospitalization, rid, hospital="区人民医院", admitted_on=date(2027, 3, 16)),
                       retired(rid), early_morning_in_beijing)
        assert isinstance(event, MemberHospitalized)


class TestDischarge:
    def test_a_discharge_carries_the_admission_date(self) -> None:
        rid = uuid4()
        events = when(cmd(RecordDischarge, rid, discharged_on=date(2027, 3, 14)),
                      given(registered(rid), approved(rid), hospitalized(rid, date(2027, 3, 10))))
        assert events == [MemberDischarged(retiree_id=rid, unit="U0001", admitted_on=date(2027, 3, 10),
                                           discharged_on=date(2027, 3, 14))]

    def test_a_discharge_on_the_admission_day_is_accepted(self) -> None:
        rid = uuid4()
        [event] = when(cmd(RecordDischarge, rid, discharged_on=date(2027, 3, 10)),
                       given(registered(rid), approved(rid), hospitalized(rid, date(2027, 3, 10))))
        assert isinstance(event, MemberDischarged)

    def test_a_discharge_without_a_hospitalisation_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordDischarge, rid, discharged_on=TODAY), retired(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "not in hospital" in error.message

    def test_a_second_discharge_is_a_conflict(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid), hospitalized(rid),
                      MemberDischarged(retiree_id=rid, unit="U0001", admitted_on=date(2027, 3, 10),
                                       discharged_on=date(2027, 3, 12)))
        error = refusal(cmd(RecordDischarge, rid, discharged_on=TODAY), state)
        assert error.code is ErrorCode.CONFLICT

    def test_a_discharge_before_the_admission_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordDischarge, rid, discharged_on=date(2027, 3, 9)),
                        given(registered(rid), approved(rid), hospitalized(rid, date(2027, 3, 10))))
        assert error.code is ErrorCode.VALIDATION
        assert "before admission 2027-03-10" in error.message
        assert error.details["field"] == "discharged_on"

    def test_a_discharge_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordDischarge, rid, discharged_on=TOMORROW),
                        given(registered(rid), approved(rid), hospitalized(rid)))
        assert error.code is ErrorCode.VALIDATION
        assert "in the future" in error.message


class TestHealthExam:
    def test_an_exam_is_recorded(self) -> None:
        rid = uuid4()
        events = when(cmd(RecordHealthExam, rid, examined_on=date(2027, 3, 1), summary="血压偏高"), retired(rid))
        assert events == [HealthExamRecorded(retiree_id=rid, unit="U0001", examined_on=date(2027, 3, 1),
                                             summary="血压偏高")]

    def test_an_exam_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordHealthExam, rid, examined_on=TOMORROW, summary="体检"), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert error.details["field"] == "examined_on"


# ---------------------------------------------------------------------------------------------------- family, hardship


class TestFamilyEmergency:
    def test_an_emergency_is_reported(self) -> None:
        rid = uuid4()
        events = when(cmd(ReportFamilyEmergency, rid, kind=FamilyEmergencyKind.BEREAVEMENT, description="老伴去世",
                          happened_on=date(2027, 3, 13)), retired(rid))
        assert events == [FamilyEmergencyReported(retiree_id=rid, unit="U0001", kind=FamilyEmergencyKind.BEREAVEMENT,
                                                  happened_on=date(2027, 3, 13), description="老伴去世")]

    def test_an_emergency_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(ReportFamilyEmergency, rid, kind=FamilyEmergencyKind.OTHER, description="搬家",
                            happened_on=TOMORROW), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert error.details["field"] == "happened_on"


class TestHardship:
    def test_a_hardship_is_reported_with_the_amount(self) -> None:
        rid = uuid4()
        events = when(cmd(ReportHardship, rid, description="医药费负担重", amount_requested=3000), retired(rid))
        assert events == [HardshipReported(retiree_id=rid, unit="U0001", description="医药费负担重",
                                           amount_requested=3000)]

    def test_a_hardship_without_an_amount(self) -> None:
        rid = uuid4()
        events = when(cmd(ReportHardship, rid, description="独居无人照料"), retired(rid))
        assert events == [HardshipReported(retiree_id=rid, unit="U0001", description="独居无人照料")]


# ---------------------------------------------------------------------------------------------------- party, community


class TestPartyMembership:
    def test_a_membership_is_recorded(self) -> None:
        rid = uuid4()
        events = when(cmd(RecordPartyMembership, rid, joined_on=date(1990, 7, 1), branch="离退休第一党支部"),
                      retired(rid))
        assert events == [PartyMembershipRecorded(retiree_id=rid, joined_on=date(1990, 7, 1),
                                                  branch="离退休第一党支部")]

    def test_joining_before_birth_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordPartyMembership, rid, joined_on=date(1960, 7, 1), branch="第一支部"), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert "before the birth date" in error.message
        assert error.details["field"] == "joined_on"

    def test_joining_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordPartyMembership, rid, joined_on=TOMORROW, branch="第一支部"), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert "in the future" in error.message

    def test_a_member_is_assigned_to_a_branch(self) -> None:
        rid = uuid4()
        state = given(registered(rid), PartyMembershipRecorded(retiree_id=rid, joined_on=date(1990, 7, 1),
                                                               branch="（导入）"))
        events = when(cmd(AssignPartyBranch, rid, branch="离退休第一党支部", role=BranchRole.SECRETARY), state)
        assert events == [PartyBranchAssigned(retiree_id=rid, branch="离退休第一党支部", role=BranchRole.SECRETARY)]

    def test_a_non_member_cannot_be_assigned_to_a_branch(self) -> None:
        rid = uuid4()
        error = refusal(cmd(AssignPartyBranch, rid, branch="离退休第一党支部"), retired(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "only a party member" in error.message


class TestCommunity:
    def test_a_community_registration_is_recorded(self) -> None:
        rid = uuid4()
        events = when(cmd(RegisterCommunity, rid, community="幸福里社区", registered_on=date(2027, 3, 2)),
                      retired(rid))
        assert events == [CommunityRegistered(retiree_id=rid, community="幸福里社区",
                                              registered_on=date(2027, 3, 2))]

    def test_a_registration_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RegisterCommunity, rid, community="幸福里社区", registered_on=TOMORROW), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert error.details["field"] == "registered_on"


# ---------------------------------------------------------------------------------------------------- playing a role


class TestInterestGroups:
    def test_joining_a_group(self) -> None:
        rid = uuid4()
        assert when(cmd(JoinInterestGroup, rid, group="摄影"), retired(rid)) == [
            InterestGroupJoined(retiree_id=rid, group="摄影")]

    def test_joining_the_same_group_twice_is_a_conflict(self) -> None:
        rid = uuid4()
        state = given(registered(rid), InterestGroupJoined(retiree_id=rid, group="摄影"))
        error = refusal(cmd(JoinInterestGroup, rid, group="摄影"), state)
        assert error.code is ErrorCode.CONFLICT
        assert "already a member of 摄影" in error.message

    def test_joining_another_group_while_in_one(self) -> None:
        rid = uuid4()
        state = given(registered(rid), InterestGroupJoined(retiree_id=rid, group="摄影"))
        assert when(cmd(JoinInterestGroup, rid, group="书画"), state) == [
            InterestGroupJoined(retiree_id=rid, group="书画")]

    def test_leaving_a_group(self) -> None:
        rid = uuid4()
        state = given(registered(rid), InterestGroupJoined(retiree_id=rid, group="摄影"))
        assert when(cmd(LeaveInterestGroup, rid, group="摄影"), state) == [
            InterestGroupLeft(retiree_id=rid, group="摄影")]

    def test_leaving_a_group_one_is_not_in_is_a_conflict(self) -> None:
        rid = uuid4()
        state = given(registered(rid), InterestGroupJoined(retiree_id=rid, group="摄影"))
        error = refusal(cmd(LeaveInterestGroup, rid, group="书画"), state)
        assert error.code is ErrorCode.CONFLICT
        assert "not a member of 书画" in error.message

    def test_rejoining_after_leaving(self) -> None:
        rid = uuid4()
        state = given(registered(rid), InterestGroupJoined(retiree_id=rid, group="摄影"),
                      InterestGroupLeft(retiree_id=rid, group="摄影"))
        assert when(cmd(JoinInterestGroup, rid, group="摄影"), state) == [
            InterestGroupJoined(retiree_id=rid, group="摄影")]


class TestTalentPool:
    @staticmethod
    def in_pool(rid: UUID) -> Retiree:
        return given(registered(rid), approved(rid),
                     TalentPoolJoined(retiree_id=rid, skills=["会计"], domains=[], willingness=Willingness.WILLING,
                                      joined_on=date(2025, 3, 1)))

    def test_joining_is_dated_today(self) -> None:
        rid = uuid4()
        events = when(cmd(JoinTalentPool, rid, skills=["会计", "审计"], domains=["财务"],
                          willingness=Willingness.OCCASIONAL), retired(rid))
        assert events == [TalentPoolJoined(retiree_id=rid, skills=["会计", "审计"], domains=["财务"],
                                           willingness=Willingness.OCCASIONAL, joined_on=TODAY)]

    def test_joining_twice_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(JoinTalentPool, rid, skills=["会计"]), self.in_pool(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "already in the talent pool" in error.message

    def test_a_review_is_dated_today(self) -> None:
        rid = uuid4()
        events = when(cmd(ReviewTalent, rid, willingness=Willingness.PAUSED, fit_for_service=False, note="腿脚不便"),
                      self.in_pool(rid))
        assert events == [TalentPoolReviewed(retiree_id=rid, willingness=Willingness.PAUSED, fit_for_service=False,
                                             reviewed_on=TODAY, note="腿脚不便")]

    def test_reviewing_someone_not_in_the_pool_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(ReviewTalent, rid, willingness=Willingness.WILLING, fit_for_service=True), retired(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "not in the talent pool" in error.message

    def test_leaving(self) -> None:
        rid = uuid4()
        assert when(cmd(LeaveTalentPool, rid, reason="身体原因"), self.in_pool(rid)) == [
            TalentPoolLeft(retiree_id=rid, reason="身体原因")]

    def test_leaving_when_not_in_the_pool_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(LeaveTalentPool, rid), retired(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "not in the talent pool" in error.message

    def test_rejoining_after_leaving(self) -> None:
        rid = uuid4()
        state = reduce(evolve, [TalentPoolLeft(retiree_id=rid)], self.in_pool(rid))
        [event] = when(cmd(JoinTalentPool, rid, skills=["书法"]), state)
        assert isinstance(event, TalentPoolJoined)


class TestExemplary:
    def test_a_recognition_is_recorded(self) -> None:
        rid = uuid4()
        events = when(cmd(RecognizeExemplary, rid, title="优秀共产党员", citation="热心社区服务",
                          recognized_on=date(2027, 3, 1)), retired(rid))
        assert events == [ExemplaryRecognized(retiree_id=rid, title="优秀共产党员", recognized_on=date(2027, 3, 1),
                                              citation="热心社区服务")]

    def test_a_recognition_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecognizeExemplary, rid, title="优秀共产党员", recognized_on=TOMORROW), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert error.details["field"] == "recognized_on"


# ---------------------------------------------------------------------------------------------------- transfer


class TestTransfer:
    def test_a_transfer_carries_from_and_to_unit(self) -> None:
        rid = uuid4()
        events = when(cmd(TransferRetiree, rid, DISTRICT, to_unit="U0002", effective_on=date(2027, 4, 1),
                          reason="单位合并"), retired(rid))
        assert events == [RetireeTransferred(retiree_id=rid, from_unit="U0001", to_unit="U0002",
                                             effective_on=date(2027, 4, 1), reason="单位合并")]

    def test_the_current_unit_staff_may_transfer_out(self) -> None:
        rid = uuid4()
        [event] = when(cmd(TransferRetiree, rid, STAFF_U1, to_unit="U0002", effective_on=TODAY), retired(rid))
        assert isinstance(event, RetireeTransferred)

    def test_a_transfer_to_an_unknown_unit_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(TransferRetiree, rid, to_unit="U0009", effective_on=TODAY), retired(rid),
                        Facts(now=NOW, unit_exists=False))
        assert error.code is ErrorCode.VALIDATION
        assert "unit U0009 is not registered" in error.message
        assert error.details["field"] == "to_unit"

    def test_a_transfer_to_the_same_unit_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(TransferRetiree, rid, to_unit="U0001", effective_on=TODAY), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert "already belongs to U0001" in error.message

    def test_after_a_transfer_facts_carry_the_new_unit(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid),
                      RetireeTransferred(retiree_id=rid, from_unit="U0001", to_unit="U0002", effective_on=TODAY))
        events = when(cmd(ReportHardship, rid, STAFF_U2, description="医药费负担重"), state)
        assert events == [HardshipReported(retiree_id=rid, unit="U0002", description="医药费负担重")]


# ---------------------------------------------------------------------------------------------------- death


class TestDeath:
    def test_a_death_is_recorded_with_the_unit(self) -> None:
        rid = uuid4()
        events = when(cmd(RecordDeath, rid, died_on=date(2027, 3, 14)), retired(rid))
        assert events == [MemberDeceased(retiree_id=rid, unit="U0001", died_on=date(2027, 3, 14))]

    def test_a_death_in_the_future_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordDeath, rid, died_on=TOMORROW), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert "in the future" in error.message
        assert error.details["field"] == "died_on"

    def test_a_death_before_birth_is_refused(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordDeath, rid, died_on=date(1960, 1, 1)), retired(rid))
        assert error.code is ErrorCode.VALIDATION
        assert "before the birth date" in error.message

    def test_a_death_while_hospitalised_is_recorded(self) -> None:
        rid = uuid4()
        events = when(cmd(RecordDeath, rid, died_on=TODAY), given(registered(rid), approved(rid), hospitalized(rid)))
        assert events == [MemberDeceased(retiree_id=rid, unit="U0001", died_on=TODAY)]


class TestAfterDeath:
    @staticmethod
    def dead(rid: UUID) -> Retiree:
        return given(registered(rid), approved(rid), deceased(rid))

    @pytest.mark.parametrize("name", [n for n in RECORDED_COMMANDS if n not in AFTER_DEATH_ALLOWED])
    def test_every_other_command_is_a_conflict(self, name: str) -> None:
        rid = uuid4()
        error = refusal(RECORDED_COMMANDS[name](rid, DISTRICT), self.dead(rid))
        assert error.code is ErrorCode.CONFLICT
        assert "the retiree is deceased" in error.message
        assert error.details["status"] == "deceased"

    def test_registering_again_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(register(rid), self.dead(rid))
        assert error.code is ErrorCode.CONFLICT

    def test_a_survivor_is_still_recorded(self) -> None:
        rid = uuid4()
        events = when(cmd(RecordSurvivor, rid, survivor_name="李秀英", relation="配偶", phone="13700000000"),
                      self.dead(rid))
        assert events == [SurvivorRecorded(retiree_id=rid, unit="U0001", survivor_name="李秀英", relation="配偶",
                                           phone="13700000000")]

    def test_the_data_can_still_be_erased(self) -> None:
        rid = uuid4()
        events = when(cmd(ErasePersonalData, rid, DISTRICT, reason="家属申请"), self.dead(rid))
        assert events == [PersonalDataErased(retiree_id=rid, reason="家属申请")]

    def test_other_units_are_still_forbidden(self) -> None:
        rid = uuid4()
        error = refusal(cmd(RecordSurvivor, rid, STAFF_U2, survivor_name="李秀英", relation="配偶"), self.dead(rid))
        assert error.code is ErrorCode.FORBIDDEN


# ---------------------------------------------------------------------------------------------------- erasure


class TestErasure:
    def test_the_district_office_erases(self) -> None:
        rid = uuid4()
        events = when(cmd(ErasePersonalData, rid, DISTRICT, reason="本人申请删除"), retired(rid))
        assert events == [PersonalDataErased(retiree_id=rid, reason="本人申请删除")]

    def test_staff_of_the_retirees_own_unit_are_forbidden(self) -> None:
        rid = uuid4()
        error = refusal(cmd(ErasePersonalData, rid, STAFF_U1, reason="本人申请删除"), retired(rid))
        assert error.code is ErrorCode.FORBIDDEN
        assert "only the district office may erase" in error.message

    def test_the_unit_head_is_forbidden(self) -> None:
        rid = uuid4()
        head = Actor(user="head.u1", role=Role.UNIT_HEAD, unit="U0001")
        error = refusal(cmd(ErasePersonalData, rid, head, reason="本人申请删除"), retired(rid))
        assert error.code is ErrorCode.FORBIDDEN

    @pytest.mark.parametrize("name", list(RECORDED_COMMANDS))
    def test_after_erasure_every_command_is_a_conflict(self, name: str) -> None:
        rid = uuid4()
        error = refusal(RECORDED_COMMANDS[name](rid, DISTRICT), given(registered(rid), approved(rid), erased(rid)))
        assert error.code is ErrorCode.CONFLICT
        assert "data was erased" in error.message

    def test_after_erasure_of_a_deceased_person_a_survivor_is_a_conflict(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid), deceased(rid), erased(rid))
        error = refusal(cmd(RecordSurvivor, rid, survivor_name="李秀英", relation="配偶"), state)
        assert error.code is ErrorCode.CONFLICT
        assert "data was erased" in error.message

    def test_after_erasure_registering_again_is_a_conflict(self) -> None:
        rid = uuid4()
        error = refusal(register(rid), given(registered(rid), erased(rid)))
        assert error.code is ErrorCode.CONFLICT


# ---------------------------------------------------------------------------------------------------- authorization


class TestAuthorization:
    def test_other_unit_staff_cannot_register_into_a_unit(self) -> None:
        error = refusal(register(uuid4(), STAFF_U2, unit="U0001"), Retiree())
        assert error.code is ErrorCode.FORBIDDEN
        assert "may not act for unit U0001" in error.message
        assert error.details == {"actor_unit": "U0002", "unit": "U0001"}

    def test_unit_staff_register_into_their_own_unit(self) -> None:
        [event] = when(register(uuid4(), STAFF_U1, unit="U0001"), Retiree())
        assert isinstance(event, RetireeRegistered)

    def test_the_district_office_registers_into_any_unit(self) -> None:
        [event] = when(register(uuid4(), DISTRICT, unit="U0002"), Retiree())
        assert isinstance(event, RetireeRegistered)

    @pytest.mark.parametrize("name", list(RECORDED_COMMANDS))
    def test_other_unit_staff_cannot_record_anything(self, name: str) -> None:
        rid = uuid4()
        error = refusal(RECORDED_COMMANDS[name](rid, STAFF_U2), given(registered(rid)))
        assert error.code is ErrorCode.FORBIDDEN
        assert "staff.u2 (unit_staff of U0002) may not act for unit U0001" in error.message

    def test_an_unregistered_retiree_is_not_found_before_authorization(self) -> None:
        error = refusal(cmd(ReportHardship, uuid4(), STAFF_U2, description="困难"), Retiree())
        assert error.code is ErrorCode.NOT_FOUND

    @pytest.mark.parametrize("name", SUCCEED_ON_PLANNED)
    def test_own_unit_staff_may_record(self, name: str) -> None:
        rid = uuid4()
        events = when(RECORDED_COMMANDS[name](rid, STAFF_U1), given(registered(rid)))
        assert len(events) == 1

    @pytest.mark.parametrize("name", SUCCEED_ON_PLANNED)
    def test_the_district_office_may_record(self, name: str) -> None:
        rid = uuid4()
        events = when(RECORDED_COMMANDS[name](rid, DISTRICT), given(registered(rid)))
        assert len(events) == 1

    def test_the_system_actor_may_record_for_any_unit(self) -> None:
        rid = uuid4()
        [event] = when(cmd(RecordHealthExam, rid, SYSTEM, examined_on=TODAY, summary="体检"), given(registered(rid)))
        assert isinstance(event, HealthExamRecorded)

    def test_the_system_actor_may_not_erase(self) -> None:
        rid = uuid4()
        error = refusal(cmd(ErasePersonalData, rid, SYSTEM, reason="批量"), given(registered(rid)))
        assert error.code is ErrorCode.FORBIDDEN

    def test_after_a_transfer_the_old_unit_is_forbidden(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid),
                      RetireeTransferred(retiree_id=rid, from_unit="U0001", to_unit="U0002", effective_on=TODAY))
        error = refusal(cmd(ReportHardship, rid, STAFF_U1, description="困难"), state)
        assert error.code is ErrorCode.FORBIDDEN
        assert "may not act for unit U0002" in error.message

    def test_after_a_transfer_the_new_unit_is_allowed(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid),
                      RetireeTransferred(retiree_id=rid, from_unit="U0001", to_unit="U0002", effective_on=TODAY))
        [event] = when(cmd(RecordHealthExam, rid, STAFF_U2, examined_on=TODAY, summary="体检"), state)
        assert isinstance(event, HealthExamRecorded)

    def test_forbidden_comes_before_the_deceased_conflict(self) -> None:
        rid = uuid4()
        error = refusal(cmd(ReportHardship, rid, STAFF_U2, description="困难"),
                        given(registered(rid), deceased(rid)))
        assert error.code is ErrorCode.FORBIDDEN


# ---------------------------------------------------------------------------------------------------- evolve


class TestEvolve:
    def test_the_initial_state_is_empty(self) -> None:
        assert given() == Retiree()

    def test_every_event_advances_the_version(self) -> None:
        rid = uuid4()
        events = (registered(rid), hardship(rid), approved(rid))
        assert given(*events).version == len(events)

    def test_registration_of_a_planned_person(self) -> None:
        rid = uuid4()
        assert given(registered(rid)) == Retiree(version=1, registered=True, status=RetireeStatus.PLANNED,
                                                 unit="U0001", name="张建国", birth_date=BIRTH, approved=False)

    def test_registration_of_an_already_retired_person_counts_as_approved(self) -> None:
        rid = uuid4()
        state = given(registered(rid, status=RetireeStatus.RETIRED))
        assert (state.status, state.approved) == (RetireeStatus.RETIRED, True)

    def test_planning(self) -> None:
        rid = uuid4()
        state = given(registered(rid), RetirementPlanned(retiree_id=rid, unit="U0001", planned_date=TODAY))
        assert state.planned is True
        assert state.status is RetireeStatus.PLANNED

    def test_approval_retires_and_sets_unit_and_name(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid))
        assert (state.approved, state.status, state.unit, state.name) == (
            True, RetireeStatus.RETIRED, "U0001", "张建国")

    def test_approval_without_a_name_keeps_the_registered_name(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid).model_copy(update={"name": None}))
        assert state.name == "张建国"

    def test_hospitalisation_sets_the_admission_date(self) -> None:
        rid = uuid4()
        assert given(registered(rid), hospitalized(rid, date(2027, 3, 10))).admitted_on == date(2027, 3, 10)

    def test_discharge_clears_the_admission_date(self) -> None:
        rid = uuid4()
        state = given(registered(rid), hospitalized(rid),
                      MemberDischarged(retiree_id=rid, unit="U0001", admitted_on=date(2027, 3, 10),
                                       discharged_on=TODAY))
        assert state.admitted_on is None

    def test_party_membership(self) -> None:
        rid = uuid4()
        state = given(registered(rid), PartyMembershipRecorded(retiree_id=rid, joined_on=date(1990, 7, 1), branch="x"))
        assert state.party_member is True

    def test_interest_groups_are_a_set(self) -> None:
        rid = uuid4()
        state = given(registered(rid), InterestGroupJoined(retiree_id=rid, group="摄影"),
                      InterestGroupJoined(retiree_id=rid, group="书画"),
                      InterestGroupLeft(retiree_id=rid, group="摄影"))
        assert state.groups == frozenset({"书画"})

    def test_talent_pool_join_and_leave(self) -> None:
        rid = uuid4()
        joined = given(registered(rid), TalentPoolJoined(retiree_id=rid, skills=["会计"], domains=[],
                                                         willingness=Willingness.WILLING, joined_on=TODAY))
        assert joined.in_talent_pool is True
        assert evolve(joined, TalentPoolLeft(retiree_id=rid)).in_talent_pool is False

    def test_transfer_moves_the_unit(self) -> None:
        rid = uuid4()
        state = given(registered(rid), RetireeTransferred(retiree_id=rid, from_unit="U0001", to_unit="U0002",
                                                          effective_on=TODAY))
        assert state.unit == "U0002"

    def test_death_sets_deceased_and_ends_a_hospital_stay(self) -> None:
        rid = uuid4()
        state = given(registered(rid), approved(rid), hospitalized(rid), deceased(rid))
        assert (state.status, state.admitted_on) == (RetireeStatus.DECEASED, None)

    def test_erasure(self) -> None:
        rid = uuid4()
        assert given(registered(rid), erased(rid)).erased is True

    @pytest.mark.parametrize("event", [
        HardshipReported(retiree_id=UUID(int=1), unit="U0001", description="x"),
        HealthExamRecorded(retiree_id=UUID(int=1), unit="U0001", examined_on=TODAY, summary="x"),
        ProfileUpdated(retiree_id=UUID(int=1), changed=["phone"], phone="13800000000"),
        SurvivorRecorded(retiree_id=UUID(int=1), unit="U0001", survivor_name="x", relation="配偶"),
        PartyBranchAssigned(retiree_id=UUID(int=1), branch="x", role=BranchRole.MEMBER),
        TalentPoolReviewed(retiree_id=UUID(int=1), willingness=Willingness.WILLING, fit_for_service=True,
                           reviewed_on=TODAY),
    ], ids=lambda e: e.type)
    def test_other_events_only_advance_the_version(self, event: Event) -> None:
        before = given(registered(UUID(int=1)))
        assert evolve(before, event) == replace(before, version=2)
