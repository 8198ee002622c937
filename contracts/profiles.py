"""The profiles service's language: units, staff and the retiree archive (退休人员档案).

Fields listed in an event's SENSITIVE are sealed with the person's key before they are stored or published;
on the bus they are `wqenc:v1:` strings that only profiles can open. Fields listed in SEALED_FACTS (birth date,
sex, health, living alone) are sealed the same way with the person's facts key, which care is given with the event.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import Actor, Command, Event, Message, Query, ReadAccessQuery, Role, Text, UnitCode

SERVICE = "profiles"

LongText = Annotated[str, Field(min_length=1, max_length=2000)]
Purpose = Annotated[str, Field(min_length=1, max_length=200)]  # why sealed data is opened (read-access log)
PersonName = Annotated[str, Field(min_length=1, max_length=50)]
Phone = Annotated[str, Field(min_length=5, max_length=20, pattern=r"^[0-9+\- ]+$")]


class UnitKind(StrEnum):
    DISTRICT = "district"  # 区 (the district itself)
    BUREAU = "bureau"  # 局委
    TOWN = "town"  # 镇
    SUBDISTRICT = "subdistrict"  # 街道办事处
    ENTERPRISE = "enterprise"  # 企业


class RetireeCategory(StrEnum):
    CADRE = "cadre"  # 干部
    WORKER = "worker"  # 工人 / 工勤人员


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class RetireeStatus(StrEnum):
    PLANNED = "planned"  # 临退休
    RETIRED = "retired"  # 已退休
    DECEASED = "deceased"  # 已去世


class RiskTier(StrEnum):
    NORMAL = "normal"
    HIGH = "high"  # 80+, living alone or seriously ill: monthly contact


class Severity(StrEnum):
    ORDINARY = "ordinary"
    SERIOUS = "serious"  # 重病
    CRITICAL = "critical"  # 病危


class FamilyEmergencyKind(StrEnum):
    BEREAVEMENT = "bereavement"  # 亲属去世
    SERIOUS_ILLNESS = "serious_illness"  # 家人重病
    ACCIDENT = "accident"  # 意外事故
    DISASTER = "disaster"  # 灾害
    OTHER = "other"


class BranchRole(StrEnum):
    MEMBER = "member"
    SECRETARY = "secretary"  # 支部书记
    DEPUTY_SECRETARY = "deputy_secretary"
    COMMITTEE_MEMBER = "committee_member"


class Willingness(StrEnum):
    WILLING = "willing"
    OCCASIONAL = "occasional"
    PAUSED = "paused"


def retiree_stream(retiree_id: UUID) -> str:
    return f"retiree-{retiree_id}"


def unit_stream(code: str) -> str:
    return f"unit-{code}"


def staff_stream(user: str) -> str:
    return f"staff-{user}"


# ======================================================================== units and staff


class RegisterUnit(Command):
    code: UnitCode
    name: Text
    kind: UnitKind
    parent: UnitCode | None = None


class UnitRegistered(Event):
    type: Literal["UnitRegistered"] = "UnitRegistered"
    code: UnitCode
    name: str
    kind: UnitKind
    parent: UnitCode | None


class RegisterStaff(Command):
    user: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    name: PersonName
    role: Role
    unit: UnitCode
    phone: Phone | None = None
    email: Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class StaffRegistered(Event):
    """Staff contact details are work contacts, not retirees' personal data: they stay readable."""

    type: Literal["StaffRegistered"] = "StaffRegistered"
    user: str
    name: str
    role: Role
    unit: UnitCode
    phone: str | None
    email: str | None


class DeactivateStaff(Command):
    user: str


class StaffDeactivated(Event):
    type: Literal["StaffDeactivated"] = "StaffDeactivated"
    user: str
    unit: UnitCode


class SetCareContact(Command):
    """The unit's default assignee of care tasks (默认关怀联系人)."""

    unit: UnitCode
    user: str


class CareContactSet(Event):
    type: Literal["CareContactSet"] = "CareContactSet"
    unit: UnitCode
    user: str


# ======================================================================== retiree commands


class RetireeCommand(Command):
    retiree_id: UUID


class RegisterRetiree(RetireeCommand):
    """Enter a person into the archive: before retirement (planned) or, on import, already retired."""

    name: PersonName
    id_number: Annotated[str, Field(min_length=15, max_length=40)]
    unit: UnitCode
    category: RetireeCategory | None = None
    retirement_date: date | None = None
    already_retired: bool = False
    phone: Phone | None = None
    address: Text | None = None
    # A party member (中共党员); the join date when known. A date alone also says the person is a member.
    party_member: bool = False
    party_joined_on: date | None = None


class PlanRetirement(RetireeCommand):
    planned_date: date


class ApproveRetirement(RetireeCommand):
    """退休文件印发或批复: the approval everything else hangs on."""

    unit: UnitCode
    document_number: Annotated[str, Field(min_length=1, max_length=100)]
    approved_on: date
    retirement_date: date
    category: RetireeCategory


class UpdateProfile(RetireeCommand):
    """Only the fields given change; at least one must be given."""

    phone: Phone | None = None
    address: Text | None = None
    emergency_contact: Text | None = None
    living_alone: bool | None = None
    risk_tier: RiskTier | None = None
    bank_account: Annotated[str, Field(min_length=4, max_length=40)] | None = None


class RecordHospitalization(RetireeCommand):
    hospital: Text
    admitted_on: date
    severity: Severity = Severity.SERIOUS
    diagnosis: LongText | None = None


class RecordDischarge(RetireeCommand):
    discharged_on: date


class ReportFamilyEmergency(RetireeCommand):
    kind: FamilyEmergencyKind
    description: LongText
    happened_on: date


class ReportHardship(RetireeCommand):
    description: LongText
    amount_requested: Annotated[int, Field(ge=0, le=10_000_000)] | None = None  # yuan


class RecordHealthExam(RetireeCommand):
    examined_on: date
    summary: LongText


class RecordPartyMembership(RetireeCommand):
    joined_on: date
    branch: Text


class AssignPartyBranch(RetireeCommand):
    branch: Text
    role: BranchRole = BranchRole.MEMBER


class RegisterCommunity(RetireeCommand):
    """到居住地社区报到 (two-way management, two-way service)."""

    community: Text
    registered_on: date


class JoinInterestGroup(RetireeCommand):
    group: Text


class LeaveInterestGroup(RetireeCommand):
    group: Text


class JoinTalentPool(RetireeCommand):
    skills: Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(min_length=1, max_length=20)]
    domains: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list, max_length=20)
    willingness: Willingness = Willingness.WILLING


class ReviewTalent(RetireeCommand):
    willingness: Willingness
    fit_for_service: bool
    note: Text | None = None


class LeaveTalentPool(RetireeCommand):
    reason: Text | None = None


class RecognizeExemplary(RetireeCommand):
    title: Text
    citation: LongText | None = None
    recognized_on: date


class RecordSurvivor(RetireeCommand):
    survivor_name: PersonName
    relation: Annotated[str, Field(min_length=1, max_length=20)]  # 配偶 / 子女 ...
    phone: Phone | None = None
    address: Text | None = None


class TransferRetiree(RetireeCommand):
    to_unit: UnitCode
    effective_on: date
    reason: Text | None = None


class RecordDeath(RetireeCommand):
    died_on: date


class ErasePersonalData(RetireeCommand):
    reason: Text
    # The approved request this erasure carries out (RequestErasure → DecideErasure), if it came from one.
    request_id: UUID | None = None


class ErasureRequester(StrEnum):
    SELF = "self"  # the person (PIPL Art. 47)
    CLOSE_RELATIVE = "close_relative"  # a close relative of a deceased person (PIPL Art. 49)


class RequestErasure(RetireeCommand):
    """A request to erase the person's data (删除个人信息申请), received and recorded by staff."""

    request_id: UUID
    requester: ErasureRequester
    requester_name: PersonName
    relation: Annotated[str, Field(min_length=1, max_length=20)] | None = None  # 配偶 / 子女 / 父母 ...
    contact: Text
    reason: LongText


class DecideErasure(RetireeCommand):
    """The district office approves or refuses a request, with its reason."""

    request_id: UUID
    approve: bool
    reason: Text


class RosterRow(Message):
    """One person of an imported roster (退休人员花名册), already normalised by the importer."""

    row: Annotated[int, Field(ge=1)]
    retiree_id: UUID
    name: PersonName
    id_number: Annotated[str, Field(min_length=15, max_length=40)]
    retirement_date: date
    category: RetireeCategory | None = None
    phone: Phone | None = None
    address: Text | None = None
    party_member: bool = False  # 政治面貌 中共党员, with or without a known 入党时间
    party_joined_on: date | None = None


class ImportRoster(Command):
    """A batch of an imported spreadsheet; people already in the archive (same ID number) are skipped."""

    unit: UnitCode
    source: Annotated[str, Field(min_length=1, max_length=300)]
    rows: Annotated[list[RosterRow], Field(min_length=1, max_length=2000)]


# ======================================================================== retiree events


class PersonEvent(Event):
    PERSON_FIELD: ClassVar[str | None] = "retiree_id"
    retiree_id: UUID


class FactsEvent(PersonEvent):
    """An event with SEALED_FACTS: care opens them with the facts key carried here (wrapped by the master key,
    `wqkey:` string, set when the event is recorded); ceremony and notify see None.
    """

    facts_key: str | None = None


class RetireeRegistered(FactsEvent):
    type: Literal["RetireeRegistered"] = "RetireeRegistered"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("name", "id_number", "phone", "address")
    SEALED_FACTS: ClassVar[tuple[str, ...]] = ("sex", "birth_date")
    name: str
    sex: Sex | None
    birth_date: date | None
    unit: UnitCode
    category: RetireeCategory | None
    status: RetireeStatus
    retirement_date: date | None
    id_number: str
    phone: str | None
    address: str | None


class RetirementPlanned(PersonEvent):
    type: Literal["RetirementPlanned"] = "RetirementPlanned"
    unit: UnitCode
    planned_date: date


class RetirementApproved(PersonEvent):
    type: Literal["RetirementApproved"] = "RetirementApproved"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("name",)
    unit: UnitCode
    document_number: str
    approved_on: date
    retirement_date: date
    category: RetireeCategory
    # Repeated here so consumers (ceremony, notify) need no other event to address the person.
    name: str | None = None


class ProfileUpdated(FactsEvent):
    type: Literal["ProfileUpdated"] = "ProfileUpdated"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("phone", "address", "emergency_contact", "bank_account")
    SEALED_FACTS: ClassVar[tuple[str, ...]] = ("living_alone", "risk_tier")
    changed: list[str]
    phone: str | None = None
    address: str | None = None
    emergency_contact: str | None = None
    living_alone: bool | None = None
    risk_tier: RiskTier | None = None
    bank_account: str | None = None


class MemberHospitalized(FactsEvent):
    type: Literal["MemberHospitalized"] = "MemberHospitalized"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("hospital", "diagnosis")
    SEALED_FACTS: ClassVar[tuple[str, ...]] = ("admitted_on", "severity")
    unit: UnitCode
    admitted_on: date | None
    severity: Severity | None
    hospital: str
    diagnosis: str | None = None


class MemberDischarged(FactsEvent):
    type: Literal["MemberDischarged"] = "MemberDischarged"
    SEALED_FACTS: ClassVar[tuple[str, ...]] = ("admitted_on", "discharged_on")
    unit: UnitCode
    admitted_on: date | None
    discharged_on: date | None


class FamilyEmergencyReported(PersonEvent):
    type: Literal["FamilyEmergencyReported"] = "FamilyEmergencyReported"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("description",)
    unit: UnitCode
    kind: FamilyEmergencyKind
    happened_on: date
    description: str


class HardshipReported(PersonEvent):
    type: Literal["HardshipReported"] = "HardshipReported"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("description",)
    unit: UnitCode
    description: str
    amount_requested: int | None = None


class HealthExamRecorded(PersonEvent):
    type: Literal["HealthExamRecorded"] = "HealthExamRecorded"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("summary",)
    unit: UnitCode
    examined_on: date
    summary: str


class PartyMembershipRecorded(PersonEvent):
    """A party member; `joined_on` is None when the archive does not know the date (then no political
    birthday can be kept for them).
    """

    type: Literal["PartyMembershipRecorded"] = "PartyMembershipRecorded"
    joined_on: date | None
    branch: str


class PartyBranchAssigned(PersonEvent):
    type: Literal["PartyBranchAssigned"] = "PartyBranchAssigned"
    branch: str
    role: BranchRole


class CommunityRegistered(PersonEvent):
    type: Literal["CommunityRegistered"] = "CommunityRegistered"
    community: str
    registered_on: date


class InterestGroupJoined(PersonEvent):
    type: Literal["InterestGroupJoined"] = "InterestGroupJoined"
    group: str


class InterestGroupLeft(PersonEvent):
    type: Literal["InterestGroupLeft"] = "InterestGroupLeft"
    group: str


class TalentPoolJoined(PersonEvent):
    type: Literal["TalentPoolJoined"] = "TalentPoolJoined"
    skills: list[str]
    domains: list[str]
    willingness: Willingness
    joined_on: date


class TalentPoolReviewed(PersonEvent):
    type: Literal["TalentPoolReviewed"] = "TalentPoolReviewed"
    willingness: Willingness
    fit_for_service: bool
    reviewed_on: date
    note: str | None = None


class TalentPoolLeft(PersonEvent):
    type: Literal["TalentPoolLeft"] = "TalentPoolLeft"
    reason: str | None = None


class ExemplaryRecognized(PersonEvent):
    type: Literal["ExemplaryRecognized"] = "ExemplaryRecognized"
    title: str
    recognized_on: date
    citation: str | None = None


class SurvivorRecorded(PersonEvent):
    """遗属: kept in festival care after the retiree's death (practice)."""

    type: Literal["SurvivorRecorded"] = "SurvivorRecorded"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("survivor_name", "phone", "address")
    unit: UnitCode
    survivor_name: str
    relation: str
    phone: str | None = None
    address: str | None = None


class RetireeTransferred(PersonEvent):
    type: Literal["RetireeTransferred"] = "RetireeTransferred"
    from_unit: UnitCode
    to_unit: UnitCode
    effective_on: date
    reason: str | None = None


class MemberDeceased(PersonEvent):
    type: Literal["MemberDeceased"] = "MemberDeceased"
    unit: UnitCode
    died_on: date


class PersonalDataErased(PersonEvent):
    """The person's key was destroyed: every sealed field of theirs is unreadable from now on. Copies of the key
    made before (dead tuples, WAL, backups, the stream) are wrapped by master key versions that are destroyed at
    `readable_copies_expire_at` (the erasure rotates the master key; None: an unversioned key, never rotated).
    """

    type: Literal["PersonalDataErased"] = "PersonalDataErased"
    reason: str
    readable_copies_expire_at: AwareDatetime | None = None
    request_id: UUID | None = None


def erasure_requester_key(request_id: UUID) -> str:
    """Whose key seals a request's requester details: the request's own, so that they survive the erasure they
    asked for (the certificate names the requester) and can be erased apart.
    """
    return f"erasure-request-{request_id}"


class ErasureRequested(PersonEvent):
    type: Literal["ErasureRequested"] = "ErasureRequested"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("requester_name", "relation", "contact", "reason")
    PERSON_FIELD: ClassVar[str | None] = "requester_key"
    request_id: UUID
    requester_key: str
    requester: ErasureRequester
    requester_name: str
    relation: str | None = None
    contact: str
    reason: str
    requested_at: AwareDatetime


class ErasureDecided(PersonEvent):
    type: Literal["ErasureDecided"] = "ErasureDecided"
    request_id: UUID
    approved: bool
    reason: str
    decided_by: str
    decided_at: AwareDatetime


# ======================================================================== queries


class GetRetiree(Query):
    retiree_id: UUID
    # Sensitive fields are opened only when asked, with a purpose; every such read is recorded.
    reveal: list[Literal["id_number", "phone", "address", "emergency_contact", "bank_account", "hospital",
                         "survivor"]] = Field(
        default_factory=list
    )
    purpose: Annotated[str, Field(max_length=200)] | None = None
    # For auditors: the archive as it stood at this time, replayed from the person's events recorded up to it
    # (docs/profiles.md, "As of a time"). None: today's archive.
    as_of: AwareDatetime | None = None


class RetireeCard(Message):
    """What other services read of GetRetiree's answer: who the person is, and whether they can be reached.

    `name` and `phone` are plaintext only in this reply (audited by profiles with the caller's purpose);
    `erased` is true once the person's data was erased, and then neither is readable.
    """

    retiree_id: UUID
    unit: UnitCode
    status: RetireeStatus
    erased: bool
    name: str | None = None
    phone: str | None = None

    @property
    def reachable_name(self) -> str | None:
        """The name to print or greet with; None after erasure."""
        return None if self.erased or not self.name else self.name


class SearchRetirees(Query):
    """Find people by name, part of a name, ID number, its last 6 characters, phone or its last 4 digits.

    Matched through keyed hashes (profiles.search_index): the index holds no plaintext. What the text is taken
    for follows from its shape: 18 characters (17 digits and a digit or X) or 15 digits an ID number, 6 an ID
    number's tail, 4 digits a phone's tail, other runs of 5-17 digits a phone, anything else a name (at least 2
    characters). A unit role searches its own unit only; the names answered are recorded as read with `purpose`.
    """

    text: Annotated[str, Field(min_length=1, max_length=50)]
    unit: UnitCode | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 20
    purpose: Purpose = "查找人员"


SearchMatch = Literal["name", "name_part", "id_number", "id_number_tail", "phone", "phone_tail"]


class RetireeFound(Message):
    """One answer of SearchRetirees; `name` is plaintext only in this reply (recorded in the read-access log)."""

    retiree_id: UUID
    unit: UnitCode
    status: RetireeStatus
    name: str
    erased: bool = False  # erased people have no index rows: never found
    matched: SearchMatch  # how the text matched: the whole name, part of it, the ID number, its tail...


class GetRetireeCards(Query):
    """The cards (name, status, unit) of up to 200 people at once, e.g. for a list of tasks.

    Refused as a whole (forbidden) if any of them belongs to a unit the actor may not see; ids not in the
    archive are left out. Every name opened is recorded in the read-access log with `purpose`.
    """

    retiree_ids: Annotated[list[UUID], Field(min_length=1, max_length=200)]
    purpose: Purpose


class GetRetireeHistory(Query):
    """A person's events from profiles' event table, oldest first, without their sealed fields."""

    retiree_id: UUID
    after_version: Annotated[int, Field(ge=0)] = 0  # to page on: the last version already shown
    limit: Annotated[int, Field(ge=1, le=500)] = 200


class HistoryEntry(Message):
    """One event of a person's history: where it stands, when, who recorded it, and its plain fields.

    Sealed fields (name, ID number, phone, address, health and hospital texts...) are never included;
    `sealed_details` says whether the event had any.
    """

    position: int  # in profiles' event table (global order)
    version: int  # in the person's stream
    type: str
    occurred_at: datetime  # the platform's time of the decision
    recorded_at: datetime  # when the store wrote it
    recorded_by: Actor
    data: dict[str, Any]
    sealed_details: bool


class ListRetirees(Query):
    unit: UnitCode
    status: RetireeStatus | None = None
    min_age: Annotated[int, Field(ge=0, le=130)] | None = None
    max_age: Annotated[int, Field(ge=0, le=130)] | None = None
    party_member: bool | None = None
    hospitalized: bool | None = None
    risk_tier: RiskTier | None = None
    talent_skill: Annotated[str, Field(max_length=50)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0)] = 0


class CountRetireesPerUnit(Query):
    pass


class ListUnits(Query):
    pass


class ListStaff(Query):
    unit: UnitCode | None = None


class GetErasureCertificate(Query):
    """The certificate of erasure (删除个人信息证明) for the requester of an erasure carried out."""

    retiree_id: UUID
    request_id: UUID


class GetCareContact(Query):
    """我的联系人: the care contact of a retiree's unit (a work contact: name and phone), for the person
    themselves on their own pages, and for staff of the unit.
    """

    retiree_id: UUID


class ListReadAccess(ReadAccessQuery):
    """Who opened whose sealed fields (names, ID numbers, phones...)."""


# What each aggregate decides: its own commands, matched exhaustively by its decider.
UnitCommand = RegisterUnit | SetCareContact
StaffCommand = RegisterStaff | DeactivateStaff
RetireeFactCommand = (
    PlanRetirement | ApproveRetirement | UpdateProfile | RecordHospitalization | RecordDischarge
    | ReportFamilyEmergency | ReportHardship | RecordHealthExam | RecordPartyMembership | AssignPartyBranch
    | RegisterCommunity | JoinInterestGroup | LeaveInterestGroup | JoinTalentPool | ReviewTalent | LeaveTalentPool
    | RecognizeExemplary | RecordSurvivor | TransferRetiree | RecordDeath | ErasePersonalData
)
ErasureRequestCommand = RequestErasure | DecideErasure  # the request workflow (services/profiles/erasure_request)
ArchiveCommand = RegisterRetiree | RetireeFactCommand  # every command about one retiree's stream

COMMANDS: tuple[type[Command], ...] = (
    RegisterUnit, RegisterStaff, DeactivateStaff, SetCareContact,
    RegisterRetiree, PlanRetirement, ApproveRetirement, UpdateProfile, RecordHospitalization, RecordDischarge,
    ReportFamilyEmergency, ReportHardship, RecordHealthExam, RecordPartyMembership, AssignPartyBranch,
    RegisterCommunity, JoinInterestGroup, LeaveInterestGroup, JoinTalentPool, ReviewTalent, LeaveTalentPool,
    RecognizeExemplary, RecordSurvivor, TransferRetiree, RecordDeath, ErasePersonalData, ImportRoster,
    RequestErasure, DecideErasure,
)
EVENTS: tuple[type[Event], ...] = (
    UnitRegistered, StaffRegistered, StaffDeactivated, CareContactSet,
    RetireeRegistered, RetirementPlanned, RetirementApproved, ProfileUpdated, MemberHospitalized, MemberDischarged,
    FamilyEmergencyReported, HardshipReported, HealthExamRecorded, PartyMembershipRecorded, PartyBranchAssigned,
    CommunityRegistered, InterestGroupJoined, InterestGroupLeft, TalentPoolJoined, TalentPoolReviewed,
    TalentPoolLeft, ExemplaryRecognized, SurvivorRecorded, RetireeTransferred, MemberDeceased, PersonalDataErased,
    ErasureRequested, ErasureDecided,
)
QUERIES: tuple[type[Query], ...] = (GetRetiree, ListRetirees, CountRetireesPerUnit, ListUnits, ListStaff,
                                    ListReadAccess, SearchRetirees, GetRetireeCards, GetRetireeHistory,
                                    GetErasureCertificate, GetCareContact)
