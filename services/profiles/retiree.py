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
                        actor_unit=actor.unit, unit=unit)


def not_in_future(day: date, what: str, facts: Facts) -> None:
    if day > facts.today:
        raise refused(f"{what} {day} is in the future (today is {facts.today})", field=what)


def decide(command: ArchiveCommand, state: Retiree, facts: Facts) -> list[Event]:
    """Every rule of the archive; refusals raise DomainError with a stable code."""
    if isinstance(command, RegisterRetiree):
        return _register(command, state, facts)
    if not state.registered:
        raise not_found(f"retiree {command.retiree_id} is not in the archive")
    authorize(command.actor, state.unit)
    if state.erased:
        raise conflict("this person's data was erased; nothing more can be recorded")
    if state.status is RetireeStatus.DECEASED and not isinstance(command, AFTER_DEATH):
        raise conflict("the retiree is deceased: only survivor and erasure facts can be recorded",
                       status=state.status.value)
    return _decide_recorded(command, state, facts)


def _register(cmd: RegisterRetiree, state: Retiree, facts: Facts) -> list[Event]:
    authorize(cmd.actor, cmd.unit)
    if state.registered:
        raise conflict(f"retiree {cmd.retiree_id} is already in the archive")
    if not facts.unit_exists:
        raise refused(f"unit {cmd.unit} is not registered", field="unit")
    try:
        ident = parse_id_number(cmd.id_number, facts.today)
    except InvalidIdNumber as exc:
        raise DomainError(ErrorCode.VALIDATION, f"invalid ID number: {exc}", field="id_number",
                          reason_zh=getattr(exc, "reason_zh", str(exc))) from exc
    if facts.id_number_owner is not None and facts.id_number_owner != cmd.retiree_id:
        raise conflict("this ID number is already in the archive", existing_retiree_id=str(facts.id_number_owner))
    if cmd.retirement_date is not None and cmd.retirement_date < ident.birth_date:
        raise refused("retirement date is before the birth date", field="retirement_date")
    if cmd.party_joined_on is not None:
        not_in_future(cmd.party_joined_on, "party_joined_on", facts)
        if cmd.party_joined_on < ident.birth_date:
            raise refused("party join date is before the birth date", field="party_joined_on")
    status = RetireeStatus.RETIRED if cmd.already_retired else RetireeStatus.PLANNED
    if cmd.already_retired and cmd.retirement_date is None:
        raise refused("an already retired person needs a retirement date", field="retirement_date")
    events: list[Event] = [RetireeRegistered(
        retiree_id=cmd.retiree_id, name=cmd.name, sex=Sex(ident.sex), birth_date=ident.birth_date, unit=cmd.unit,
        category=cmd.category, status=status, retirement_date=cmd.retirement_date, id_number=ident.value,
        phone=cmd.phone, address=cmd.address,
    )]
    if cmd.party_joined_on is not None:
        events.append(PartyMembershipRecorded(retiree_id=cmd.retiree_id, joined_on=cmd.party_joined_on,
                                              branch="（导入）"))
    return events


def _decide_recorded(cmd: RetireeFactCommand, state: Retiree, facts: Facts) -> list[Event]:  # noqa: C901, PLR0911, PLR0912, PLR0915
    rid: UUID = cmd.retiree_id
    unit = state.unit or ""
    match cmd:
        case PlanRetirement():
            if state.approved:
                raise conflict("the retirement is already approved")
            return [RetirementPlanned(retiree_id=rid, unit=unit, planned_date=cmd.planned_date)]
        case ApproveRetirement():
            if state.approved:
                raise conflict("the retirement of this retiree is already approved")
            if not facts.unit_exists:
                raise refused(f"unit {cmd.unit} is not registered", field="unit")
            if cmd.unit != state.unit:
                raise refused(f"the retiree belongs to unit {state.unit}, not {cmd.unit}", field="unit")
            not_in_future(cmd.approved_on, "approved_on", facts)
            if state.birth_date and cmd.retirement_date < state.birth_date:
                raise refused("retirement date is before the birth date", field="retirement_date")
            return [RetirementApproved(retiree_id=rid, unit=cmd.unit, document_number=cmd.document_number,
                                       approved_on=cmd.approved_on, retirement_date=cmd.retirement_date,
                                       category=cmd.category, name=state.name)]
        case UpdateProfile():
            changed = sorted(k for k in UpdateProfile.model_fields
                             if k not in {"command_id", "actor", "correlation_id", "retiree_id"}
                             and getattr(cmd, k) is not None)
            if not changed:
                raise refused("nothing to update: give at least one field")
            return [ProfileUpdated(retiree_id=rid, changed=changed, phone=cmd.phone, address=cmd.address,
                                   emergency_contact=cmd.emergency_contact, living_alone=cmd.living_alone,
                                   risk_tier=cmd.risk_tier, bank_account=cmd.bank_account)]
        case RecordHospitalization():
            not_in_future(cmd.admitted_on, "admitted_on", facts)
            if state.admitted_on is not None:
                raise conflict(f"already hospitalised since {state.admitted_on}; record the discharge first")
            return [MemberHospitalized(retiree_id=rid, unit=unit, admitted_on=cmd.admitted_on,
                                       severity=cmd.severity, hospital=cmd.hospital, diagnosis=cmd.diagnosis)]
        case RecordDischarge():
            if state.admitted_on is None:
                raise conflict("the retiree is not in hospital: a discharge needs a hospitalisation")
            not_in_future(cmd.discharged_on, "discharged_on", facts)
            if cmd.discharged_on < state.admitted_on:
                raise refused(f"discharge {cmd.discharged_on} is before admission {state.admitted_on}",
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
                raise refused("party join date is before the birth date", field="joined_on")
            return [PartyMembershipRecorded(retiree_id=rid, joined_on=cmd.joined_on, branch=cmd.branch)]
        case AssignPartyBranch():
            if not state.party_member:
                raise conflict("only a party member can be assigned to a party branch")
            return [PartyBranchAssigned(retiree_id=rid, branch=cmd.branch, role=cmd.role)]
        case RegisterCommunity():
            not_in_future(cmd.registered_on, "registered_on", facts)
            return [CommunityRegistered(retiree_id=rid, community=cmd.community, registered_on=cmd.registered_on)]
        case JoinInterestGroup():
            if cmd.group in state.groups:
                raise conflict(f"already a member of {cmd.group}")
            return [InterestGroupJoined(retiree_id=rid, group=cmd.group)]
        case LeaveInterestGroup():
            if cmd.group not in state.groups:
                raise conflict(f"not a member of {cmd.group}")
            return [InterestGroupLeft(retiree_id=rid, group=cmd.group)]
        case JoinTalentPool():
            if state.in_talent_pool:
                raise conflict("already in the talent pool")
            return [TalentPoolJoined(retiree_id=rid, skills=cmd.skills, domains=cmd.domains,
                                     willingness=cmd.willingness, joined_on=facts.today)]
        case ReviewTalent():
            if not state.in_talent_pool:
                raise conflict("not in the talent pool")
            return [TalentPoolReviewed(retiree_id=rid, willingness=cmd.willingness,
                                       fit_for_service=cmd.fit_for_service, reviewed_on=facts.today, note=cmd.note)]
        case LeaveTalentPool():
            if not state.in_talent_pool:
                raise conflict("not in the talent pool")
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
                raise refused(f"unit {cmd.to_unit} is not registered", field="to_unit")
            if cmd.to_unit == state.unit:
                raise refused(f"the retiree already belongs to {cmd.to_unit}", field="to_unit")
            return [RetireeTransferred(retiree_id=rid, from_unit=unit, to_unit=cmd.to_unit,
                                       effective_on=cmd.effective_on, reason=cmd.reason)]
        case RecordDeath():
            not_in_future(cmd.died_on, "died_on", facts)
            if state.birth_date and cmd.died_on < state.birth_date:
                raise refused("date of death is before the birth date", field="died_on")
            return [MemberDeceased(retiree_id=rid, unit=unit, died_on=cmd.died_on)]
        case ErasePersonalData():
            if cmd.actor.role is not Role.DISTRICT_OFFICE:
                raise forbidden("only the district office may erase a person's data")
            return [PersonalDataErased(retiree_id=rid, reason=cmd.reason)]
        case _:
            assert_never(cmd)
