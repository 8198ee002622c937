"""Given a profiles event, when obligations.for_event reads it, then these care tasks are owed (or none)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from backbone.events import EventMeta, decode
from contracts.base import LOCAL_TZ, Actor, Envelope, Event, Role
from contracts.care import TaskKind
from contracts.profiles import (
    FamilyEmergencyKind,
    FamilyEmergencyReported,
    HardshipReported,
    HealthExamRecorded,
    MemberDeceased,
    MemberDischarged,
    MemberHospitalized,
    PartyMembershipRecorded,
    ProfileUpdated,
    RetireeCategory,
    RetirementApproved,
    RetirementPlanned,
    Severity,
    retiree_stream,
)
from services.care import obligations
from services.care.obligations import TaskSpec, end_of_day
from services.care.policy import Policy, load_policy

POLICY = load_policy()
NOW = datetime(2027, 3, 15, 9, tzinfo=LOCAL_TZ)
UNIT = "U0007"
STAFF = Actor(user="clerk", role=Role.UNIT_STAFF, unit=UNIT)
RID = uuid.uuid4()


def envelope(event: Event, occurred_at: datetime = NOW, event_id: uuid.UUID | None = None) -> Envelope:
    return Envelope(
        event_id=event_id or uuid.uuid4(), type=event.type, schema_version=event.schema_version,
        stream_id=retiree_stream(RID), version=3, unit=UNIT, occurred_at=occurred_at,
        recorded_at=occurred_at + timedelta(seconds=1), correlation_id=uuid.uuid4(), causation_id=None,
        actor=STAFF, data=event.model_dump(mode="json", exclude={"type", "schema_version"}),
    )


def for_event(env: Envelope, policy: Policy) -> list[TaskSpec]:
    """The envelope as care's consumer gets it: decoded into its model at the edge."""
    event = decode(env, "profiles")
    assert event is not None
    return obligations.for_event(event, EventMeta.of(env), policy)


def hospitalized(retiree_id: uuid.UUID = RID) -> MemberHospitalized:
    return MemberHospitalized(retiree_id=retiree_id, unit=UNIT, admitted_on=date(2027, 3, 13),
                              severity=Severity.SERIOUS, hospital="区人民医院", diagnosis="肺炎")


def only(specs: list[TaskSpec]) -> TaskSpec:
    assert len(specs) == 1
    return specs[0]


class TestHospitalisation:
    def test_a_hospitalisation_opens_one_hospital_visit(self) -> None:
        spec = only(for_event(envelope(hospitalized()), POLICY))
        assert spec.kind is TaskKind.HOSPITAL_VISIT

    def test_the_hospital_visit_is_due_72_hours_after_the_event(self) -> None:
        spec = only(for_event(envelope(hospitalized()), POLICY))
        assert spec.due_at == NOW + timedelta(hours=72)

    def test_the_hospital_visit_belongs_to_the_retiree_and_unit_of_the_event(self) -> None:
        spec = only(for_event(envelope(hospitalized()), POLICY))
        assert (spec.retiree_id, spec.unit) == (RID, UNIT)

    def test_the_hospital_visit_names_its_cause(self) -> None:
        env = envelope(hospitalized())
        spec = only(for_event(env, POLICY))
        assert (spec.cause, spec.cause_event_id) == ("MemberHospitalized", env.event_id)


class TestDischarge:
    def test_a_discharge_opens_a_follow_up_due_168_hours_later(self) -> None:
        event = MemberDischarged(retiree_id=RID, unit=UNIT, admitted_on=date(2027, 3, 1),
                                 discharged_on=date(2027, 3, 15))
        spec = only(for_event(envelope(event), POLICY))
        assert (spec.kind, spec.due_at) == (TaskKind.DISCHARGE_FOLLOW_UP, NOW + timedelta(hours=168))


class TestFamilyEmergency:
    def test_a_family_emergency_opens_a_home_visit_due_72_hours_later(self) -> None:
        event = FamilyEmergencyReported(retiree_id=RID, unit=UNIT, kind=FamilyEmergencyKind.ACCIDENT,
                                        happened_on=date(2027, 3, 14), description="老伴摔伤")
        spec = only(for_event(envelope(event), POLICY))
        assert (spec.kind, spec.due_at) == (TaskKind.FAMILY_EMERGENCY_VISIT, NOW + timedelta(hours=72))


class TestDeath:
    def test_a_death_opens_a_bereavement_visit_due_48_hours_later(self) -> None:
        event = MemberDeceased(retiree_id=RID, unit=UNIT, died_on=date(2027, 3, 14))
        spec = only(for_event(envelope(event), POLICY))
        assert (spec.kind, spec.due_at) == (TaskKind.BEREAVEMENT_VISIT, NOW + timedelta(hours=48))


class TestPlannedRetirement:
    def planned(self) -> Envelope:
        return envelope(RetirementPlanned(retiree_id=RID, unit=UNIT, planned_date=date(2027, 6, 30)))

    def test_a_planned_retirement_opens_the_two_talks(self) -> None:
        kinds = {s.kind for s in for_event(self.planned(), POLICY)}
        assert kinds == {TaskKind.TALK_ORG_WITH_HEAD, TaskKind.TALK_HEAD_WITH_RETIREE}

    def test_both_talks_are_due_by_the_end_of_the_planned_date(self) -> None:
        due = {s.due_at for s in for_event(self.planned(), POLICY)}
        assert due == {datetime(2027, 6, 30, 23, 59, 59, tzinfo=LOCAL_TZ)}

    def test_the_two_talks_have_different_task_ids(self) -> None:
        [a, b] = for_event(self.planned(), POLICY)
        assert a.task_id != b.task_id


class TestEventsThatOpenNothing:
    def test_an_approved_retirement_opens_no_care_task(self) -> None:
        event = RetirementApproved(retiree_id=RID, unit=UNIT, document_number="教人〔2027〕12号",
                                   approved_on=date(2027, 3, 10), retirement_date=date(2027, 3, 31),
                                   category=RetireeCategory.CADRE)
        assert for_event(envelope(event), POLICY) == []

    def test_a_hardship_report_opens_no_care_task(self) -> None:
        event = HardshipReported(retiree_id=RID, unit=UNIT, description="医疗费负担重", amount_requested=3000)
        assert for_event(envelope(event), POLICY) == []

    def test_a_profile_update_opens_no_care_task(self) -> None:
        event = ProfileUpdated(retiree_id=RID, changed=["living_alone"], living_alone=True)
        assert for_event(envelope(event), POLICY) == []

    def test_a_recorded_health_exam_opens_no_care_task(self) -> None:
        event = HealthExamRecorded(retiree_id=RID, unit=UNIT, examined_on=date(2027, 3, 1), summary="正常")
        assert for_event(envelope(event), POLICY) == []

    def test_a_party_membership_opens_no_care_task(self) -> None:
        event = PartyMembershipRecorded(retiree_id=RID, joined_on=date(1980, 7, 1), branch="第一支部")
        assert for_event(envelope(event), POLICY) == []


class TestDueTimesFollowThePolicy:
    def test_a_changed_policy_changes_the_hospital_visit_due_time(self) -> None:
        policy = POLICY.model_copy(update={"due_hours": {**POLICY.due_hours, TaskKind.HOSPITAL_VISIT: 24}})
        spec = only(for_event(envelope(hospitalized()), policy))
        assert spec.due_at == NOW + timedelta(hours=24)

    def test_the_due_time_runs_from_the_event_time_not_the_admission_date(self) -> None:
        later = datetime(2027, 3, 20, 14, tzinfo=UTC)
        spec = only(for_event(envelope(hospitalized(), occurred_at=later), POLICY))
        assert spec.due_at == later + timedelta(hours=72)


class TestDedupe:
    def test_a_redelivered_event_gives_the_same_task_id(self) -> None:
        event_id = uuid.uuid4()
        first = only(for_event(envelope(hospitalized(), event_id=event_id), POLICY))
        again = only(for_event(envelope(hospitalized(), event_id=event_id), POLICY))
        assert first.task_id == again.task_id

    def test_a_different_cause_event_gives_a_different_task_id(self) -> None:
        first = only(for_event(envelope(hospitalized()), POLICY))
        second = only(for_event(envelope(hospitalized()), POLICY))
        assert first.task_id != second.task_id

    def test_the_dedupe_key_names_the_cause_event_and_the_kind(self) -> None:
        env = envelope(hospitalized())
        spec = only(for_event(env, POLICY))
        assert spec.dedupe_key == f"event:{env.event_id}:hospital_visit"

    def test_a_calendar_spec_is_keyed_by_retiree_kind_and_period(self) -> None:
        spec = TaskSpec(kind=TaskKind.HEALTH_EXAM, retiree_id=RID, unit=UNIT, due_at=NOW, cause="YearlyHealthExam",
                        period="2027")
        same = TaskSpec(kind=TaskKind.HEALTH_EXAM, retiree_id=RID, unit="U0008", due_at=NOW + timedelta(days=1),
                        cause="YearlyHealthExam", period="2027")
        assert spec.task_id == same.task_id

    def test_a_calendar_spec_of_another_period_has_another_task_id(self) -> None:
        a = TaskSpec(kind=TaskKind.HEALTH_EXAM, retiree_id=RID, unit=UNIT, due_at=NOW, cause="x", period="2027")
        b = TaskSpec(kind=TaskKind.HEALTH_EXAM, retiree_id=RID, unit=UNIT, due_at=NOW, cause="x", period="2028")
        assert a.task_id != b.task_id

    def test_a_campaign_spec_is_keyed_by_campaign_retiree_and_survivor_flag(self) -> None:
        cid = uuid.uuid4()
        self_visit = TaskSpec(kind=TaskKind.FESTIVAL_VISIT, retiree_id=RID, unit=UNIT, due_at=NOW, cause="c",
                              campaign_id=cid)
        survivor = TaskSpec(kind=TaskKind.FESTIVAL_VISIT, retiree_id=RID, unit=UNIT, due_at=NOW, cause="c",
                            campaign_id=cid, for_survivor=True)
        assert self_visit.task_id != survivor.task_id


class TestEndOfDay:
    def test_end_of_day_is_the_last_second_of_the_local_day(self) -> None:
        assert end_of_day(date(2027, 3, 15)) == datetime(2027, 3, 15, 23, 59, 59, tzinfo=LOCAL_TZ)

    def test_end_of_day_is_afternoon_utc(self) -> None:
        assert end_of_day(date(2027, 3, 15)).astimezone(UTC) == datetime(2027, 3, 15, 15, 59, 59, tzinfo=UTC)
