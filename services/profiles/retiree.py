"""The retiree aggregate: pure decide/evolve over one person's stream (退休人员档案).

No I/O, no clock: the handler passes `Facts` (the time, whether the unit exists, who already holds an ID number).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import assert_never
from uuid import UUID

from contracts.base import Actor, Event, Role, local_date
from contracts.errors import DomainError, ErrorCode, conflict, forbidden, not_found, refused
from contracts.id_number import InvalidIdNumber, parse_id_number
from contracts.profiles import (
    ApproveRetirement,
    ArchiveCommand,
    AssignPartyBranch,
    CommunityRegistered,
    ErasePersonalData,
    ExemplaryRecognized,
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
    RetireeFactCommand,
    RetireeRegistered,
    RetireeStatus,
    RetireeTransferred,
    RetirementApproved,
    RetirementPlanned,
    ReviewTalent,
    Sex,
    SurvivorRecorded,
    TalentPoolJoined,
    TalentPoolLeft,
    TalentPoolReviewed,
    TransferRetiree,
    UpdateProfile,
)

# After death only these facts may still be recorded (survivor care and erasure).
AFTER_DEATH = (RecordSurvivor, ErasePersonalData)

# What staff read for a date field that `not_in_future` refuses.
DATE_LABELS_ZH = {
    "admitted_on": "入院日期",
    "discharged_on": "出院日期",
    "happened_on": "发生日期",
    "examined_on": "体检日期",
    "joined_on": "入党日期",
    "party_joined_on": "入党日期",
    "registered_on": "报到日期",
    "recognized_on": "表彰日期",
    "died_on": "去世日期",
    "approved_on": "批准日期",
}


@dataclass(frozen=True)
class Retiree:
    version: int = 0
    registered: bool = False
    status: RetireeStatus | None = None
    unit: str | None = None
    name: str | None = None
    birth_date: date | None = None
    planned: bool = False
    approved: bool = False
    admitted_on: date | None = None  # set while hospitalised
    party_member: bool = False
    in_talent_pool: bool = False
    groups: frozenset[str] = field(default_factory=frozenset)
    erased: bool = False


@dataclass(frozen=True)
class Facts:
    """What the decider needs from outside, gathered by the handler."""

    now: datetime
    unit_exists: bool = True  # the unit named by the command (registration, approval, transfer)
    id_number_owner: UUID | None = None  # the retiree already holding the command's ID number, if any
    # When the last readable copy of an erased person's key goes (the rotation's old versions are destroyed).
    erasure_expires_at: datetime | None = None
    # Whether the request an erasure names (ErasePersonalData.request_id) was approved by the district office.
    erasure_request_approved: bool = False

    @property
    def today(self) -> date:
        """The district's date (Beijing time), not the UTC date of `now`."""
        return local_date(self.now)


def evolve(state: Retiree, event: Event) -> Retiree:  # noqa: C901, PLR0911, PLR0912 - one case per event type
    s = replace(state, version=state.version + 1)
    match event:
        case RetireeRegistered():
            return replace(s, registered=True, status=event.status, unit=event.unit, name=event.name,
                           birth_date=event.birth_date, approved=event.status is RetireeStatus.RETIRED)
        case RetirementPlanned():
            return replace(s, planned=True)
        case RetirementApproved():
            return replace(s, approved=True, status=RetireeStatus.RETIRED, unit=event.unit,
                           name=event.name or s.name)
        case MemberHospitalized():
            return replace(s, admitted_on=event.admitted_on)
        case MemberDischarged():
            return replace(s, admitted_on=None)
        case PartyMembershipRecorded():
            return replace(s, party_member=True)
        case InterestGroupJoined():
            return replace(s, groups=s.groups | {event.group})
        case InterestGroupLeft():
            return replace(s, groups=s.groups - {event.group})
        case TalentPoolJoined():
            return replace(s, in_talent_pool=True)
        case TalentPoolLeft():
            return replace(s, in_talent_pool=False)
        case RetireeTransferred():
            return replace(s, unit=event.to_unit)
        case MemberDeceased():
            return replace(s, status=RetireeStatus.DECEASED, admitted_on=None)
        case PersonalDataErased():
            return replace(s, erased=True)
        case _:
            return s


def authorize(actor: Actor, unit: str | None) -> None:
    """Unit staff act only within their unit; the district office (and the platform itself) everywhere."""
    if not actor.may_act_for(unit):
        raise forbidden(f"{actor.user} ({actor.role.value} of {actor.unit}) may not act for unit {unit}",
                        zh=f"您只能办理本单位（{actor.unit}）的事项，不能办理单位 {unit} 的事项",
                        actor_unit=actor.unit, unit=unit)


def not_in_future(day: date, what: str, facts: Facts) -> None:
    if day > facts.today:
        label = DATE_LABELS_ZH.get(what, "日期")
        raise refused(f"{what} {day} is in the future (today is {facts.today})",
                      zh=f"{label} {day} 晚于今天（{facts.today}），请核对", field=what)


def decide(command: ArchiveCommand, state: Retiree, facts: Facts) -> list[Event]:
    """Every rule of the archive; refusals raise DomainError with a stable code."""
    if isinstance(command, RegisterRetiree):
        return _register(command, state, facts)
    if not state.registered:
        raise not_found(f"retiree {command.retiree_id} is not in the archive",
                        zh="档案中没有这位退休人员，请先登记")
    authorize(command.actor, state.unit)
    if state.erased:
        raise conflict("this person's data was erased; nothing more can be recorded",
                       zh="这位人员的个人信息已删除，不能再登记任何情况")
    if state.status is RetireeStatus.DECEASED and not isinstance(command, AFTER_DEATH):
        raise conflict("the retiree is deceased: only survivor and erasure facts can be recorded",
                       zh="这位退休人员已去世，只能登记遗属信息或删除个人信息", status=state.status.value)
    return _decide_recorded(command, state, facts)


def _register(cmd: RegisterRetiree, state: Retiree, facts: Facts) -> list[Event]:
    authorize(cmd.actor, cmd.unit)
    if state.registered:
        raise conflict(f"retiree {cmd.retiree_id} is already in the archive", zh="这位退休人员已在档案中，无需重复登记")
    if not facts.unit_exists:
        raise refused(f"unit {cmd.unit} is not registered", zh=f"单位 {cmd.unit} 尚未登记，请核对单位", field="unit")
    try:
        ident = parse_id_number(cmd.id_number, facts.today)
    except InvalidIdNumber as exc:
        raise DomainError(ErrorCode.VALIDATION, f"invalid ID number: {exc}", zh=f"身份证号码有误：{exc.reason_zh}",
                          field="id_number", reason_zh=exc.reason_zh) from exc
    if facts.id_number_owner is not None and facts.id_number_owner != cmd.retiree_id:
        raise conflict("this ID number is already in the archive",
                       zh="这个身份证号码已登记在另一位人员的档案中，请核对",
                       existing_retiree_id=str(facts.id_number_owner))
    if cmd.retirement_date is not None and cmd.retirement_date < ident.birth_date:
        raise refused("retirement date is before the birth date", zh="退休日期早于出生日期，请核对",
                      field="retirement_date")
    if cmd.party_joined_on is not None:
        not_in_future(cmd.party_joined_on, "party_joined_on", facts)
        if cmd.party_joined_on < ident.birth_date:
            raise refused("party join date is before the birth date", zh="入党日期早于出生日期，请核对",
                          field="party_joined_on")
    status = RetireeStatus.RETIRED if cmd.already_retired else RetireeStatus.PLANNED
    if cmd.already_retired and cmd.retirement_date is None:
        raise refused("an already retired person needs a retirement date", zh="已退休人员须填写退休日期",
                      field="retirement_date")
    events: list[Event] = [RetireeRegistered(
        retiree_id=cmd.retiree_id, name=cmd.name, sex=Sex(ident.sex), birth_date=ident.birth_date, unit=cmd.unit,
        category=cmd.category, status=status, retirement_date=cmd.retirement_date, id_number=ident.value,
        phone=cmd.phone, address=cmd.address,
    )]
    if cmd.party_member or cmd.party_joined_on is not None:  # a member, with the join date when it is known
        events.append(PartyMembershipRecorded(retiree_id=cmd.retiree_id, joined_on=cmd.party_joined_on,
                                              branch="（导入）"))
    return events


def _decide_recorded(cmd: RetireeFactCommand, state: Retiree, facts: Facts) -> list[Event]:  # noqa: C901, PLR0911, PLR0912, PLR0915
    rid: UUID = cmd.retiree_id
    unit = state.unit or ""
    match cmd:
        case PlanRetirement():
            if state.approved:
                raise conflict("the retirement is already approved", zh="退休已批准，不能再登记退休计划")
            return [RetirementPlanned(retiree_id=rid, unit=unit, planned_date=cmd.planned_date)]
        case ApproveRetirement():
            if state.approved:
                raise conflict("the retirement of this retiree is already approved",
                               zh="这位人员的退休已批准，无需重复审批")
            if not facts.unit_exists:
                raise refused(f"unit {cmd.unit} is not registered", zh=f"单位 {cmd.unit} 尚未登记，请核对单位",
                              field="unit")
            if cmd.unit != state.unit:
                raise refused(f"the retiree belongs to unit {state.unit}, not {cmd.unit}",
                              zh=f"这位退休人员属于单位 {state.unit}，不属于单位 {cmd.unit}，请核对", field="unit")
            not_in_future(cmd.approved_on, "approved_on", facts)
            if state.birth_date and cmd.retirement_date < state.birth_date:
                raise refused("retirement date is before the birth date", zh="退休日期早于出生日期，请核对",
                              field="retirement_date")
            return [RetirementApproved(retiree_id=rid, unit=cmd.unit, document_number=cmd.document_number,
                                       approved_on=cmd.approved_on, retirement_date=cmd.retirement_date,
                                       category=cmd.category, name=state.name)]
        case UpdateProfile():
            changed = sorted(k for k in UpdateProfile.model_fields
                             if k not in {"command_id", "actor", "correlation_id", "retiree_id"}
                             and getattr(cmd, k) is not None)
            if not changed:
                raise refused("nothing to update: give at least one field", zh="没有要修改的内容，请至少填写一项")
            return [ProfileUpdated(retiree_id=rid, changed=changed, phone=cmd.phone, address=cmd.address,
                                   emergency_contact=cmd.emergency_contact, living_alone=cmd.living_alone,
                                   risk_tier=cmd.risk_tier, bank_account=cmd.bank_account)]
        case RecordHospitalization():
            not_in_future(cmd.admitted_on, "admitted_on", facts)
            if state.admitted_on is not None:
                raise conflict(f"already hospitalised since {state.admitted_on}; record the discharge first",
                               zh=f"这位退休人员自 {state.admitted_on} 起已在住院，请先登记出院")
            return [MemberHospitalized(retiree_id=rid, unit=unit, admitted_on=cmd.admitted_on,
                                       severity=cmd.severity, hospital=cmd.hospital, diagnosis=cmd.diagnosis)]
        case RecordDischarge():
            if state.admitted_on is None:
                raise conflict("the retiree is not in hospital: a discharge needs a hospitalisation",
                               zh="这位退休人员没有住院记录，请先登记住院再登记出院")
            not_in_future(cmd.discharged_on, "discharged_on", facts)
            if cmd.discharged_on < state.admitted_on:
                raise refused(f"discharge {cmd.discharged_on} is before admission {state.admitted_on}",
                              zh=f"出院日期 {cmd.discharged_on} 早于入院日期 {state.admitted_on}，请核对",
                              field="discharged_on")
            return [MemberDischarged(retiree_id=rid, unit=unit, admitted_on=state.admitted_on,
                                     discharged_on=cmd.discharged_on)]
        case ReportFamilyEmergency():
            not_in_future(cmd.happened_on, "happened_on", facts)
            return [FamilyEmergencyReported(retiree_id=rid, unit=unit, kind=cmd.kind, happened_on=cmd.happened_on,
                                            description=cmd.description)]
        case ReportHardship():
            return [HardshipReported(retiree_id=rid, unit=unit, description=cmd.description,
                                     amount_requested=cmd.amount_requested)]
        case RecordHealthExam():
            not_in_future(cmd.examined_on, "examined_on", facts)
            return [HealthExamRecorded(retiree_id=rid, unit=unit, examined_on=cmd.examined_on, summary=cmd.summary)]
        case RecordPartyMembership():
            not_in_future(cmd.joined_on, "joined_on", facts)
            if state.birth_date and cmd.joined_on < state.birth_date:
                raise refused("party join date is before the birth date", zh="入党日期早于出生日期，请核对",
                              field="joined_on")
            return [PartyMembershipRecorded(retiree_id=rid, joined_on=cmd.joined_on, branch=cmd.branch)]
        case AssignPartyBranch():
            if not state.party_member:
                raise conflict("only a party member can be assigned to a party branch",
                               zh="只有党员才能编入党支部，请先登记入党时间")
            return [PartyBranchAssigned(retiree_id=rid, branch=cmd.branch, role=cmd.role)]
        case RegisterCommunity():
            not_in_future(cmd.registered_on, "registered_on", facts)
            return [CommunityRegistered(retiree_id=rid, community=cmd.community, registered_on=cmd.registered_on)]
        case JoinInterestGroup():
            if cmd.group in state.groups:
                raise conflict(f"already a member of {cmd.group}", zh=f"已是兴趣团队“{cmd.group}”的成员")
            return [InterestGroupJoined(retiree_id=rid, group=cmd.group)]
        case LeaveInterestGroup():
            if cmd.group not in state.groups:
                raise conflict(f"not a member of {cmd.group}", zh=f"不是兴趣团队“{cmd.group}”的成员")
            return [InterestGroupLeft(retiree_id=rid, group=cmd.group)]
        case JoinTalentPool():
            if state.in_talent_pool:
                raise conflict("already in the talent pool", zh="已在银发人才库中")
            return [TalentPoolJoined(retiree_id=rid, skills=cmd.skills, domains=cmd.domains,
                                     willingness=cmd.willingness, joined_on=facts.today)]
        case ReviewTalent():
            if not state.in_talent_pool:
                raise conflict("not in the talent pool", zh="不在银发人才库中，请先入库")
            return [TalentPoolReviewed(retiree_id=rid, willingness=cmd.willingness,
                                       fit_for_service=cmd.fit_for_service, reviewed_on=facts.today, note=cmd.note)]
        case LeaveTalentPool():
            if not state.in_talent_pool:
                raise conflict("not in the talent pool", zh="不在银发人才库中")
            return [TalentPoolLeft(retiree_id=rid, reason=cmd.reason)]
        case RecognizeExemplary():
            not_in_future(cmd.recognized_on, "recognized_on", facts)
            return [ExemplaryRecognized(retiree_id=rid, title=cmd.title, recognized_on=cmd.recognized_on,
                                        citation=cmd.citation)]
        case RecordSurvivor():
            return [SurvivorRecorded(retiree_id=rid, unit=unit, survivor_name=cmd.survivor_name,
                                     relation=cmd.relation, phone=cmd.phone, address=cmd.address)]
        case TransferRetiree():
            if not facts.unit_exists:
                raise refused(f"unit {cmd.to_unit} is not registered", zh=f"单位 {cmd.to_unit} 尚未登记，请核对单位",
                              field="to_unit")
            if cmd.to_unit == state.unit:
                raise refused(f"the retiree already belongs to {cmd.to_unit}",
                              zh=f"这位退休人员已属于单位 {cmd.to_unit}，无需转移", field="to_unit")
            return [RetireeTransferred(retiree_id=rid, from_unit=unit, to_unit=cmd.to_unit,
                                       effective_on=cmd.effective_on, reason=cmd.reason)]
        case RecordDeath():
            not_in_future(cmd.died_on, "died_on", facts)
            if state.birth_date and cmd.died_on < state.birth_date:
                raise refused("date of death is before the birth date", zh="去世日期早于出生日期，请核对",
                              field="died_on")
            return [MemberDeceased(retiree_id=rid, unit=unit, died_on=cmd.died_on)]
        case ErasePersonalData():
            if cmd.actor.role is not Role.DISTRICT_OFFICE:
                raise forbidden("only the district office may erase a person's data",
                                zh="只有区老干部局可以删除人员的个人信息")
            if cmd.request_id is not None and not facts.erasure_request_approved:
                raise conflict("the erasure request is not approved", zh="该删除申请尚未审批同意，不能办理删除")
            return [PersonalDataErased(retiree_id=rid, reason=cmd.reason, request_id=cmd.request_id,
                                       readable_copies_expire_at=facts.erasure_expires_at)]
        case _:
            assert_never(cmd)
