"""The ceremony service's language: the honorary retirement process (荣誉退休仪式) and the handover (对接).

One case per retirement (stream `ceremony-case-<retiree_id>`), one batch per unit and half year when the unit
holds its ceremonies in half-yearly batches (stream `ceremony-batch-<unit>-<year>H<half>`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Command, Event, Query, ReadAccessQuery, Text, UnitCode

SERVICE = "ceremony"

LongText = Annotated[str, Field(min_length=1, max_length=4000)]
Half = Annotated[int, Field(ge=1, le=2)]
Year = Annotated[int, Field(ge=2000, le=2200)]


class CeremonyMode(StrEnum):
    INDIVIDUAL = "individual"  # 逐人举办: within one month of approval
    HALF_YEAR_BATCH = "half_year_batch"  # 每半年集中组织1次


class Consent(StrEnum):
    PENDING = "pending"
    GIVEN = "given"
    DECLINED = "declined"


class ChecklistItem(StrEnum):
    """The six fixed items of "6+X", in the order the seed lists them."""

    DECISION_ANNOUNCED = "decision_announced"  # ① 宣布一份退休决定
    THANK_YOU_LETTER = "thank_you_letter"  # ② 致一封感谢信
    CERTIFICATE = "certificate"  # ③ 颁发一本退休证
    PLAQUE = "plaque"  # ④ 发放一个退休纪念牌
    SOUVENIR = "souvenir"  # ⑤ 赠送一份纪念品
    FAREWELL_REMARKS = "farewell_remarks"  # ⑥ 留下一段感言


CHECKLIST_ZH: dict[ChecklistItem, str] = {
    ChecklistItem.DECISION_ANNOUNCED: "①宣布退休决定",
    ChecklistItem.THANK_YOU_LETTER: "②致感谢信",
    ChecklistItem.CERTIFICATE: "③颁发退休证",
    ChecklistItem.PLAQUE: "④发放退休纪念牌",
    ChecklistItem.SOUVENIR: "⑤赠送纪念品",
    ChecklistItem.FAREWELL_REMARKS: "⑥留下感言",
}


class HandoverStep(StrEnum):
    BENEFITS_EXPLAINED = "benefits_explained"  # 讲解退休待遇和政策规定
    ARCHIVE_CREATED = "archive_created"  # 建立退休人员档案 (seen in profiles' events)
    HANDED_OVER = "handed_over"  # 与区老干部工作科室对接 (acknowledged by the district office)
    WECHAT_GROUP_JOINED = "wechat_group_joined"  # 纳入退休人员微信群
    COMMUNITY_REGISTERED = "community_registered"  # 到居住地社区报到 (optional)


REQUIRED_HANDOVER_STEPS: tuple[HandoverStep, ...] = (
    HandoverStep.BENEFITS_EXPLAINED, HandoverStep.ARCHIVE_CREATED, HandoverStep.HANDED_OVER,
    HandoverStep.WECHAT_GROUP_JOINED,
)


def case_stream(retiree_id: UUID) -> str:
    return f"ceremony-case-{retiree_id}"


def batch_id(unit: str, year: int, half: int) -> str:
    return f"{unit}-{year}H{half}"


def batch_stream(batch: str) -> str:
    return f"ceremony-batch-{batch}"


def unit_stream(unit: str) -> str:
    return f"ceremony-unit-{unit}"


# ======================================================================== commands


class SetCeremonyMode(Command):
    unit: UnitCode
    mode: CeremonyMode


class CaseCommand(Command):
    retiree_id: UUID


class GiveConsent(CaseCommand):
    pass


class DeclineConsent(CaseCommand):
    reason: Text


class ScheduleCeremony(CaseCommand):
    """An individual ceremony; cases of a batch are scheduled with ScheduleBatchCeremony."""

    held_on: date
    venue: Text


class RescheduleCeremony(CaseCommand):
    held_on: date
    venue: Text
    reason: Text


class BatchCommand(Command):
    unit: UnitCode
    year: Year
    half: Half


class ScheduleBatchCeremony(BatchCommand):
    held_on: date
    venue: Text


class RescheduleBatchCeremony(BatchCommand):
    held_on: date
    venue: Text
    reason: Text


class AnnounceDecision(CaseCommand):
    document_number: Annotated[str, Field(min_length=1, max_length=100)]


class GiveThankYouLetter(CaseCommand):
    """Generates the letter (PDF) with the retiree's name from the archive."""

    signed_by: Text


class IssueCertificate(CaseCommand):
    """Takes the next number of the unit's yearly sequence and generates the certificate (PDF)."""


class GivePlaque(CaseCommand):
    inscription: Text | None = None


class GiveSouvenir(CaseCommand):
    souvenir: Text


class RecordFarewellRemarks(CaseCommand):
    text: LongText


class RecordExtraItem(CaseCommand):
    """An "X" item: 合影留念, 献花, 退休第一课 ..."""

    item: Text
    note: Text | None = None


class HoldCeremony(CaseCommand):
    held_on: date


class CompleteHandoverStep(CaseCommand):
    step: HandoverStep
    note: Text | None = None


# What each aggregate decides: its own commands, matched exhaustively by its decider.
CeremonyItemCommand = (AnnounceDecision | GiveThankYouLetter | IssueCertificate | GivePlaque | GiveSouvenir
                       | RecordFarewellRemarks)
CeremonyCommand = ScheduleCeremony | RescheduleCeremony | CeremonyItemCommand | RecordExtraItem | HoldCeremony
CeremonyCaseCommand = GiveConsent | DeclineConsent | CeremonyCommand | CompleteHandoverStep
BatchCeremonyCommand = ScheduleBatchCeremony | RescheduleBatchCeremony

COMMANDS: tuple[type[Command], ...] = (
    SetCeremonyMode, GiveConsent, DeclineConsent, ScheduleCeremony, RescheduleCeremony, ScheduleBatchCeremony,
    RescheduleBatchCeremony, AnnounceDecision, GiveThankYouLetter, IssueCertificate, GivePlaque, GiveSouvenir,
    RecordFarewellRemarks, RecordExtraItem, HoldCeremony, CompleteHandoverStep,
)


# ======================================================================== events


class CaseEvent(Event):
    retiree_id: UUID


class CeremonyModeSet(Event):
    type: Literal["CeremonyModeSet"] = "CeremonyModeSet"
    unit: UnitCode
    mode: CeremonyMode


class CeremonyCaseOpened(CaseEvent):
    type: Literal["CeremonyCaseOpened"] = "CeremonyCaseOpened"
    unit: UnitCode
    document_number: str
    approved_on: date
    mode: CeremonyMode
    ceremony_due_on: date
    handover_due_on: date
    batch_id: str | None = None


class ConsentRequested(CaseEvent):
    """notify turns this into a message to the retiree (征求意愿)."""

    type: Literal["ConsentRequested"] = "ConsentRequested"
    unit: UnitCode


class ConsentGiven(CaseEvent):
    type: Literal["ConsentGiven"] = "ConsentGiven"
    unit: UnitCode


class ConsentDeclined(CaseEvent):
    type: Literal["ConsentDeclined"] = "ConsentDeclined"
    unit: UnitCode
    reason: str


class CeremonyScheduled(CaseEvent):
    type: Literal["CeremonyScheduled"] = "CeremonyScheduled"
    unit: UnitCode
    held_on: date
    venue: str


class CeremonyRescheduled(CaseEvent):
    type: Literal["CeremonyRescheduled"] = "CeremonyRescheduled"
    unit: UnitCode
    held_on: date
    venue: str
    previous_held_on: date
    reason: str


class CeremonyOverdue(CaseEvent):
    """The due date passed without a held ceremony; care or notify escalate."""

    type: Literal["CeremonyOverdue"] = "CeremonyOverdue"
    unit: UnitCode
    due_on: date


class BatchOpened(Event):
    type: Literal["BatchOpened"] = "BatchOpened"
    batch_id: str
    unit: UnitCode
    year: int
    half: int
    due_on: date


class RetireeAddedToBatch(CaseEvent):
    type: Literal["RetireeAddedToBatch"] = "RetireeAddedToBatch"
    batch_id: str
    unit: UnitCode


class BatchCeremonyScheduled(Event):
    type: Literal["BatchCeremonyScheduled"] = "BatchCeremonyScheduled"
    batch_id: str
    unit: UnitCode
    held_on: date
    venue: str


class BatchCeremonyRescheduled(Event):
    type: Literal["BatchCeremonyRescheduled"] = "BatchCeremonyRescheduled"
    batch_id: str
    unit: UnitCode
    held_on: date
    venue: str
    previous_held_on: date
    reason: str


class DecisionAnnounced(CaseEvent):
    type: Literal["DecisionAnnounced"] = "DecisionAnnounced"
    unit: UnitCode
    document_number: str


class ThankYouLetterGiven(CaseEvent):
    type: Literal["ThankYouLetterGiven"] = "ThankYouLetterGiven"
    unit: UnitCode
    signed_by: str
    document_path: str


class CertificateIssued(CaseEvent):
    type: Literal["CertificateIssued"] = "CertificateIssued"
    unit: UnitCode
    certificate_number: str
    document_path: str


class PlaqueGiven(CaseEvent):
    type: Literal["PlaqueGiven"] = "PlaqueGiven"
    unit: UnitCode
    inscription: str | None = None


class SouvenirGiven(CaseEvent):
    type: Literal["SouvenirGiven"] = "SouvenirGiven"
    unit: UnitCode
    souvenir: str


class FarewellRemarksRecorded(CaseEvent):
    type: Literal["FarewellRemarksRecorded"] = "FarewellRemarksRecorded"
    unit: UnitCode
    text: str


class ExtraItemRecorded(CaseEvent):
    type: Literal["ExtraItemRecorded"] = "ExtraItemRecorded"
    unit: UnitCode
    item: str
    note: str | None = None


class CeremonyHeld(CaseEvent):
    type: Literal["CeremonyHeld"] = "CeremonyHeld"
    unit: UnitCode
    held_on: date
    due_on: date
    on_time: bool
    extra_items: list[str]
    batch_id: str | None = None


class HandoverStepCompleted(CaseEvent):
    type: Literal["HandoverStepCompleted"] = "HandoverStepCompleted"
    unit: UnitCode
    step: HandoverStep
    note: str | None = None


class HandoverCompleted(CaseEvent):
    type: Literal["HandoverCompleted"] = "HandoverCompleted"
    unit: UnitCode
    completed_on: date
    due_on: date
    on_time: bool


class HandoverOverdue(CaseEvent):
    type: Literal["HandoverOverdue"] = "HandoverOverdue"
    unit: UnitCode
    due_on: date
    missing_steps: list[HandoverStep]


class CaseClosed(CaseEvent):
    """The case stops before completion (the retiree died): no more reminders, timers cancelled."""

    type: Literal["CaseClosed"] = "CaseClosed"
    unit: UnitCode
    reason: str


EVENTS: tuple[type[Event], ...] = (
    CeremonyModeSet, CeremonyCaseOpened, ConsentRequested, ConsentGiven, ConsentDeclined, CeremonyScheduled,
    CeremonyRescheduled, CeremonyOverdue, BatchOpened, RetireeAddedToBatch, BatchCeremonyScheduled,
    BatchCeremonyRescheduled, DecisionAnnounced, ThankYouLetterGiven, CertificateIssued, PlaqueGiven, SouvenirGiven,
    FarewellRemarksRecorded, ExtraItemRecorded, CeremonyHeld, HandoverStepCompleted, HandoverCompleted,
    HandoverOverdue, CaseClosed,
)

# ======================================================================== queries


class GetCase(Query):
    retiree_id: UUID


class ListCases(Query):
    unit: UnitCode
    status: Annotated[str, Field(max_length=30)] | None = None


class UpcomingCeremonies(Query):
    unit: UnitCode | None = None  # None: every unit the actor may see (the district office: all)
    days: Annotated[int, Field(ge=1, le=366)] = 30


class GetBatchRoster(Query):
    unit: UnitCode
    year: Year
    half: Half


class OnTimeRates(Query):
    unit: UnitCode | None = None


class DocumentKind(StrEnum):
    CERTIFICATE = "certificate"  # 荣誉退休证
    THANK_YOU_LETTER = "thank_you_letter"  # 感谢信


class GetDocument(Query):
    """A case's PDF, to download or print: it bears the person's name, so every answer is in ceremony's
    read-access log with the verified actor and the purpose.
    """

    retiree_id: UUID
    kind: DocumentKind
    purpose: Annotated[str, Field(min_length=1, max_length=200)]


class ListReadAccess(ReadAccessQuery):
    """Who downloaded a person's certificate or letter (GetDocument)."""


QUERIES: tuple[type[Query], ...] = (GetCase, ListCases, UpcomingCeremonies, GetBatchRoster, OnTimeRates,
                                    GetDocument, ListReadAccess)

# A unit that never chose holds individual ceremonies (DOMAIN.md).
DEFAULT_MODE = CeremonyMode.INDIVIDUAL
