"""The care service's language: obligations turned into care tasks, campaigns and assistance (关怀关爱).

Notes of a visit are sealed with the retiree's key like profiles' sensitive fields; care holds no other
personal data (names and contacts stay in profiles).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid5

from pydantic import AwareDatetime, Field

from contracts.base import Command, Event, Message, Query, ReadAccessQuery, Role, Text, UnitCode

SERVICE = "care"

Yuan = Annotated[int, Field(ge=0, le=10_000_000)]


class TaskKind(StrEnum):
    TALK_ORG_WITH_HEAD = "talk_org_with_head"  # 组织部门与单位行政一把手谈心谈话
    TALK_HEAD_WITH_RETIREE = "talk_head_with_retiree"  # 单位行政一把手与临退休人员谈心谈话
    HOSPITAL_VISIT = "hospital_visit"  # 住院看望
    DISCHARGE_FOLLOW_UP = "discharge_follow_up"  # 出院回访
    FAMILY_EMERGENCY_VISIT = "family_emergency_visit"  # 家庭重大变故看望
    BEREAVEMENT_VISIT = "bereavement_visit"  # 丧事慰问
    BIRTHDAY_VISIT = "birthday_visit"  # 逢十生日看望
    REGULAR_CONTACT = "regular_contact"  # 日常沟通联系
    HEALTH_EXAM = "health_exam"  # 年度体检
    POLITICAL_BIRTHDAY = "political_birthday"  # 政治生日
    PARTY_50_YEARS = "party_50_years"  # 光荣在党50年
    TALENT_REVIEW = "talent_review"  # 银发人才库复核
    FESTIVAL_VISIT = "festival_visit"  # 节日走访慰问


TASK_KIND_ZH: dict[TaskKind, str] = {
    TaskKind.TALK_ORG_WITH_HEAD: "退休前谈心谈话（组织部门—单位一把手）",
    TaskKind.TALK_HEAD_WITH_RETIREE: "退休前谈心谈话（单位一把手—本人）",
    TaskKind.HOSPITAL_VISIT: "住院看望",
    TaskKind.DISCHARGE_FOLLOW_UP: "出院回访",
    TaskKind.FAMILY_EMERGENCY_VISIT: "家庭重大变故看望",
    TaskKind.BEREAVEMENT_VISIT: "丧事慰问",
    TaskKind.BIRTHDAY_VISIT: "逢十生日看望",
    TaskKind.REGULAR_CONTACT: "日常沟通联系",
    TaskKind.HEALTH_EXAM: "年度体检",
    TaskKind.POLITICAL_BIRTHDAY: "政治生日慰问",
    TaskKind.PARTY_50_YEARS: "光荣在党50年",
    TaskKind.TALENT_REVIEW: "银发人才库复核",
    TaskKind.FESTIVAL_VISIT: "节日走访慰问",
}


class ContactForm(StrEnum):
    HOME = "home"  # 上门
    HOSPITAL = "hospital"  # 医院
    PHONE = "phone"  # 电话
    GROUP = "group"  # 集体（座谈会等）


class EscalationLevel(StrEnum):
    UNIT_HEAD = "unit_head"
    DISTRICT_OFFICE = "district_office"


class Festival(StrEnum):
    SPRING = "spring"  # 春节
    MID_AUTUMN = "mid_autumn"  # 中秋
    DOUBLE_NINTH = "double_ninth"  # 重阳
    WINTER_WARMTH = "winter_warmth"  # 冬送温暖
    SUMMER_COOL = "summer_cool"  # 夏送清凉
    CUSTOM = "custom"


FESTIVAL_ZH: dict[Festival, str] = {
    Festival.SPRING: "春节", Festival.MID_AUTUMN: "中秋", Festival.DOUBLE_NINTH: "重阳",
    Festival.WINTER_WARMTH: "冬送温暖", Festival.SUMMER_COOL: "夏送清凉", Festival.CUSTOM: "专项慰问",
}


def task_stream(task_id: UUID) -> str:
    return f"task-{task_id}"


def campaign_stream(campaign_id: UUID) -> str:
    return f"campaign-{campaign_id}"


def assistance_stream(case_id: UUID) -> str:
    return f"assistance-{case_id}"


POLICY_STREAM = "care-policy"

# The assistance case a HardshipReported opens has an id derived from that event, so a redelivery opens none
# and the office (or the demo) can name the case from the report's event id alone.
HARDSHIP_CASE_NAMESPACE = UUID("b1d0c6f4-4c7e-4c1c-8a57-9a3e2f6d1e02")


def hardship_case_id(hardship_event_id: UUID) -> UUID:
    return uuid5(HARDSHIP_CASE_NAMESPACE, str(hardship_event_id))


# ======================================================================== policy


class AdoptPolicy(Command):
    """Adopt a new version of the care policy (deploy/care-policy.json); new tasks follow it from now on."""

    version: Annotated[str, Field(min_length=1, max_length=40)]
    policy: dict[str, Any]


class PolicyAdopted(Event):
    type: Literal["PolicyAdopted"] = "PolicyAdopted"
    version: str
    policy: dict[str, Any]
    adopted_at: datetime


# ======================================================================== tasks


class TaskCommand(Command):
    task_id: UUID


class AssignTask(TaskCommand):
    assignee: Annotated[str, Field(min_length=1, max_length=64)]


class CompleteTask(TaskCommand):
    """Record the visit, talk or contact that fulfils the task (走访 / 谈话 / 联系记录)."""

    done_at: datetime
    done_by: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=10)]
    form: ContactForm
    notes: Annotated[str, Field(max_length=2000)] | None = None
    gifts: Annotated[str, Field(max_length=200)] | None = None
    amount: Yuan | None = None


class CancelTask(TaskCommand):
    reason: Text


class CareTaskOpened(Event):
    type: Literal["CareTaskOpened"] = "CareTaskOpened"
    task_id: UUID
    kind: TaskKind
    retiree_id: UUID
    unit: UnitCode
    cause_event_id: UUID | None
    cause: str  # the cause's type, e.g. MemberHospitalized, or a timer / campaign name
    due_at: datetime
    period: str | None = None  # the year / quarter / month the task belongs to (year-bound rule)
    campaign_id: UUID | None = None
    policy_version: str
    for_survivor: bool = False
    # The unit's default care contact when the task opened (None: the unit has none yet); a later change of
    # assignee is a CareTaskAssigned.
    assignee: str | None = None


class CareTaskAssigned(Event):
    type: Literal["CareTaskAssigned"] = "CareTaskAssigned"
    task_id: UUID
    retiree_id: UUID
    unit: UnitCode
    assignee: str | None  # None: the unit has no care contact yet
    kind: TaskKind
    due_at: datetime


class CareTaskTransferred(Event):
    """The retiree moved to another unit (RetireeTransferred): the open task goes with them, to the new unit's
    care contact. `unit` is the new unit, as on every later event of the task.
    """

    type: Literal["CareTaskTransferred"] = "CareTaskTransferred"
    task_id: UUID
    retiree_id: UUID
    from_unit: UnitCode
    unit: UnitCode
    assignee: str | None  # the new unit's care contact (None: it has none yet)
    kind: TaskKind
    due_at: datetime


class CareTaskDueSoon(Event):
    type: Literal["CareTaskDueSoon"] = "CareTaskDueSoon"
    task_id: UUID
    retiree_id: UUID
    unit: UnitCode
    assignee: str | None
    kind: TaskKind
    due_at: datetime


class CareTaskOverdue(Event):
    type: Literal["CareTaskOverdue"] = "CareTaskOverdue"
    task_id: UUID
    retiree_id: UUID
    unit: UnitCode
    assignee: str | None
    kind: TaskKind
    due_at: datetime


class CareTaskEscalated(Event):
    type: Literal["CareTaskEscalated"] = "CareTaskEscalated"
    task_id: UUID
    retiree_id: UUID
    unit: UnitCode
    kind: TaskKind
    level: EscalationLevel
    due_at: datetime
    escalated_at: datetime


class TaskCompletion(Event):
    """Base of the completion events; notes are personal (health, family) and sealed."""

    PERSON_FIELD: ClassVar[str | None] = "retiree_id"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("notes",)
    task_id: UUID
    retiree_id: UUID
    unit: UnitCode
    kind: TaskKind
    done_at: datetime
    done_by: list[str]
    form: ContactForm
    on_time: bool
    notes: str | None = None
    gifts: str | None = None
    amount: int | None = None


class VisitCompleted(TaskCompletion):
    type: Literal["VisitCompleted"] = "VisitCompleted"


class TalkCompleted(TaskCompletion):
    type: Literal["TalkCompleted"] = "TalkCompleted"


class ContactMade(TaskCompletion):
    type: Literal["ContactMade"] = "ContactMade"


class CareTaskCancelled(Event):
    type: Literal["CareTaskCancelled"] = "CareTaskCancelled"
    task_id: UUID
    retiree_id: UUID
    unit: UnitCode
    kind: TaskKind
    reason: str


# ======================================================================== campaigns


class CampaignScope(Message):
    """Who a campaign reaches. Empty `units` means every unit (district office only)."""

    units: list[UnitCode] = Field(default_factory=list)
    # Ages reached in the campaign's year; a band is [min, max], max None = open ended (≥90).
    age_bands: list[tuple[int, int | None]] = Field(default_factory=list)
    party_members_only: bool = False
    living_alone_only: bool = False
    include_survivors: bool = True


class LaunchCampaign(Command):
    campaign_id: UUID
    festival: Festival
    title: Text
    year: Annotated[int, Field(ge=2000, le=2100)]
    due_on: date
    scope: CampaignScope = Field(default_factory=CampaignScope)


class CloseCampaign(Command):
    campaign_id: UUID


class CampaignLaunched(Event):
    type: Literal["CampaignLaunched"] = "CampaignLaunched"
    campaign_id: UUID
    festival: Festival
    title: str
    year: int
    due_on: date
    scope: CampaignScope
    launched_by: str
    launcher_role: Role
    units: list[UnitCode]  # the units actually in scope
    tasks: int


class CampaignClosed(Event):
    type: Literal["CampaignClosed"] = "CampaignClosed"
    campaign_id: UUID
    coverage: dict[str, dict[str, int]]  # unit -> {"tasks", "done", "cancelled"}
    tasks: int
    done: int


# ======================================================================== assistance


class AssistanceStatus(StrEnum):
    OPEN = "open"
    ASSESSED = "assessed"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


class ApplyForAssistance(Command):
    """A staff member applies on a retiree's behalf (a HardshipReported event opens a case by itself)."""

    case_id: UUID
    retiree_id: UUID
    unit: UnitCode
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    amount_requested: Yuan | None = None


class AssessAssistance(Command):
    case_id: UUID
    finding: Annotated[str, Field(min_length=1, max_length=2000)]
    recommended_amount: Yuan


class ApproveAssistance(Command):
    case_id: UUID
    amount: Yuan


class RejectAssistance(Command):
    case_id: UUID
    reason: Text


class PayAssistance(Command):
    case_id: UUID
    paid_on: date
    amount: Yuan
    voucher: Annotated[str, Field(min_length=1, max_length=100)]  # 凭证号


class AssistanceCaseOpened(Event):
    type: Literal["AssistanceCaseOpened"] = "AssistanceCaseOpened"
    PERSON_FIELD: ClassVar[str | None] = "retiree_id"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("reason",)
    case_id: UUID
    retiree_id: UUID
    unit: UnitCode
    reason: str
    amount_requested: int | None
    cause_event_id: UUID | None
    decision_due_at: datetime
    policy_version: str


class AssistanceAssessed(Event):
    type: Literal["AssistanceAssessed"] = "AssistanceAssessed"
    PERSON_FIELD: ClassVar[str | None] = "retiree_id"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("finding",)
    case_id: UUID
    retiree_id: UUID
    unit: UnitCode
    finding: str
    recommended_amount: int


class AssistanceApproved(Event):
    type: Literal["AssistanceApproved"] = "AssistanceApproved"
    case_id: UUID
    retiree_id: UUID
    unit: UnitCode
    amount: int
    approved_by: str
    approver_level: Role
    on_time: bool


class AssistanceRejected(Event):
    type: Literal["AssistanceRejected"] = "AssistanceRejected"
    case_id: UUID
    retiree_id: UUID
    unit: UnitCode
    reason: str
    rejected_by: str
    on_time: bool


class AssistancePaid(Event):
    type: Literal["AssistancePaid"] = "AssistancePaid"
    case_id: UUID
    retiree_id: UUID
    unit: UnitCode
    amount: int
    paid_on: date
    voucher: str


class AssistanceDecisionOverdue(Event):
    type: Literal["AssistanceDecisionOverdue"] = "AssistanceDecisionOverdue"
    case_id: UUID
    retiree_id: UUID
    unit: UnitCode
    decision_due_at: datetime


# ======================================================================== queries


class GetRetireeFacts(Query):
    """Care's own projection of a retiree, built from profiles' events (never a call into profiles)."""

    retiree_id: UUID


class ListTasks(Query):
    """What staff see first each morning: a unit's or an assignee's tasks, by view."""

    unit: UnitCode | None = None
    assignee: str | None = None
    retiree_id: UUID | None = None  # one person's tasks (with their unit or assignee)
    view: Literal["today", "overdue", "upcoming", "open", "all"] = "open"
    days_ahead: Annotated[int, Field(ge=1, le=366)] = 14
    limit: Annotated[int, Field(ge=1, le=2000)] = 200
    # For auditors: the list as it stood at this time, replayed from the task events recorded up to it
    # (docs/care.md, "As of a time"); the views are judged at that time. None: the live board.
    as_of: AwareDatetime | None = None


class GetTask(Query):
    task_id: UUID


class GetCampaignProgress(Query):
    campaign_id: UUID


class GetAssistanceCase(Query):
    case_id: UUID


class ListReadAccess(ReadAccessQuery):
    """Who read care's facts about a person (GetRetireeFacts)."""


class ListCampaigns(Query):
    """Festival campaigns, newest first; a unit's staff see those that reach their unit."""

    year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    open_only: bool = False
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class ListAssistanceCases(Query):
    """Assistance cases (困难帮扶), the oldest undecided first; a unit's staff see their unit's only."""

    unit: UnitCode | None = None
    status: Annotated[str, Field(max_length=30)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 200


class GetUnitScores(Query):
    period: Annotated[str, Field(pattern=r"^\d{4}(Q[1-4]|H[12]|-\d{2})?$")]  # 2027, 2027Q1, 2027H1, 2027-03
    unit: UnitCode | None = None
    # For auditors: the scores as they stood at this time, from the history recorded up to it. None: now.
    as_of: AwareDatetime | None = None


class GetPolicy(Query):
    pass


# What each aggregate decides: its own commands, matched exhaustively by its decider.
CareTaskCommand = AssignTask | CompleteTask | CancelTask
CampaignCommand = LaunchCampaign | CloseCampaign
AssistanceCommand = ApplyForAssistance | AssessAssistance | ApproveAssistance | RejectAssistance | PayAssistance

COMMANDS: tuple[type[Command], ...] = (
    AdoptPolicy, AssignTask, CompleteTask, CancelTask, LaunchCampaign, CloseCampaign,
    ApplyForAssistance, AssessAssistance, ApproveAssistance, RejectAssistance, PayAssistance,
)
EVENTS: tuple[type[Event], ...] = (
    PolicyAdopted, CareTaskOpened, CareTaskAssigned, CareTaskTransferred, CareTaskDueSoon, CareTaskOverdue,
    CareTaskEscalated, VisitCompleted, TalkCompleted, ContactMade, CareTaskCancelled, CampaignLaunched, CampaignClosed,
    AssistanceCaseOpened, AssistanceAssessed, AssistanceApproved, AssistanceRejected, AssistancePaid,
    AssistanceDecisionOverdue,
)
QUERIES: tuple[type[Query], ...] = (
    GetRetireeFacts, ListTasks, GetTask, GetCampaignProgress, GetAssistanceCase, GetUnitScores, GetPolicy,
    ListCampaigns, ListAssistanceCases, ListReadAccess,
)
