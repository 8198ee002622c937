"""The honorary-retirement case of one retiree: pure decide/evolve (consent, 6+X checklist, ceremony, handover).

No I/O, no clock: handlers pass `Facts` (today in the district's zone; the generated document of a command that
produces one).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import assert_never
from uuid import UUID

from contracts.base import Actor, Command, Event, Role
from contracts.ceremony import (
    CHECKLIST_ZH,
    REQUIRED_HANDOVER_STEPS,
    AnnounceDecision,
    CaseClosed,
    CeremonyCaseCommand,
    CeremonyCaseOpened,
    CeremonyCommand,
    CeremonyHeld,
    CeremonyMode,
    CeremonyOverdue,
    CeremonyRescheduled,
    CeremonyScheduled,
    CertificateIssued,
    ChecklistItem,
    CompleteHandoverStep,
    Consent,
    ConsentDeclined,
    ConsentGiven,
    ConsentRequested,
    DecisionAnnounced,
    DeclineConsent,
    ExtraItemRecorded,
    FarewellRemarksRecorded,
    GiveConsent,
    GivePlaque,
    GiveSouvenir,
    GiveThankYouLetter,
    HandoverCompleted,
    HandoverOverdue,
    HandoverStep,
    HandoverStepCompleted,
    HoldCeremony,
    IssueCertificate,
    PlaqueGiven,
    RecordExtraItem,
    RecordFarewellRemarks,
    RescheduleCeremony,
    ScheduleCeremony,
    SouvenirGiven,
    ThankYouLetterGiven,
)
from contracts.errors import conflict, forbidden, not_found, refused
from services.ceremony.policy import CeremonyPolicy

NO_RETIREE = UUID(int=0)


CONSENT_ZH = {Consent.PENDING: "待征求", Consent.GIVEN: "同意举办", Consent.DECLINED: "不愿举办"}


def certificate_number(unit: str, year: int, sequence: int) -> str:
    """退休证编号: the unit, the year of issue and the unit's sequence of that year (U0002-2027-0001)."""
    return f"{unit}-{year}-{sequence:04d}"


@dataclass(frozen=True)
class Case:
    opened: bool = False
    # Placeholders until the case is opened; every decision first refuses an unopened case.
    retiree_id: UUID = NO_RETIREE
    unit: str = ""
    approved_on: date = date.min
    mode: CeremonyMode = CeremonyMode.INDIVIDUAL
    batch_id: str | None = None
    ceremony_due_on: date = date.min
    handover_due_on: date = date.min
    consent: Consent = Consent.PENDING
    scheduled_on: date | None = None
    items: frozenset[ChecklistItem] = field(default_factory=frozenset)
    extras: tuple[str, ...] = ()
    held: bool = False
    ceremony_overdue: bool = False
    steps: frozenset[HandoverStep] = field(default_factory=frozenset)
    handover_completed: bool = False
    handover_overdue: bool = False
    closed: bool = False

    @property
    def missing_items(self) -> list[ChecklistItem]:
        return [i for i in ChecklistItem if i not in self.items]

    @property
    def missing_steps(self) -> list[HandoverStep]:
        return [s for s in REQUIRED_HANDOVER_STEPS if s not in self.steps]


@dataclass(frozen=True)
class Document:
    """A generated PDF: its path, and for a certificate the number taken from the unit's sequence."""

    path: str
    number: str | None = None


@dataclass(frozen=True)
class Facts:
    today: date
    document: Document | None = None


ITEM_OF_EVENT: dict[type[Event], ChecklistItem] = {
    DecisionAnnounced: ChecklistItem.DECISION_ANNOUNCED, ThankYouLetterGiven: ChecklistItem.THANK_YOU_LETTER,
    CertificateIssued: ChecklistItem.CERTIFICATE, PlaqueGiven: ChecklistItem.PLAQUE,
    SouvenirGiven: ChecklistItem.SOUVENIR, FarewellRemarksRecorded: ChecklistItem.FAREWELL_REMARKS,
}
ITEM_OF_COMMAND: dict[type[Command], ChecklistItem] = {
    AnnounceDecision: ChecklistItem.DECISION_ANNOUNCED, GiveThankYouLetter: ChecklistItem.THANK_YOU_LETTER,
    IssueCertificate: ChecklistItem.CERTIFICATE, GivePlaque: ChecklistItem.PLAQUE,
    GiveSouvenir: ChecklistItem.SOUVENIR, RecordFarewellRemarks: ChecklistItem.FAREWELL_REMARKS,
}


def evolve(state: Case, event: Event) -> Case:  # noqa: C901, PLR0911, PLR0912 - one case per event type
    match event:
        case CeremonyCaseOpened():
            return replace(state, opened=True, retiree_id=event.retiree_id, unit=event.unit,
                           approved_on=event.approved_on, mode=event.mode, batch_id=event.batch_id,
                           ceremony_due_on=event.ceremony_due_on, handover_due_on=event.handover_due_on)
        case ConsentGiven():
            return replace(state, consent=Consent.GIVEN)
        case ConsentDeclined():
            return replace(state, consent=Consent.DECLINED)
        case CeremonyScheduled() | CeremonyRescheduled():
            return replace(state, scheduled_on=event.held_on)
        case CeremonyOverdue():
            return replace(state, ceremony_overdue=True)
        case ExtraItemRecorded():
            return replace(state, extras=(*state.extras, event.item))
        case CeremonyHeld():
            return replace(state, held=True)
        case HandoverStepCompleted():
            return replace(state, steps=state.steps | {event.step})
        case HandoverCompleted():
            return replace(state, handover_completed=True)
        case HandoverOverdue():
            return replace(state, handover_overdue=True)
        case CaseClosed():
            return replace(state, closed=True)
        case _ if type(event) in ITEM_OF_EVENT:
            return replace(state, items=state.items | {ITEM_OF_EVENT[type(event)]})
        case _:
            return state


# ======================================================================== driven by profiles' events and timers


def open_case(  # noqa: PLR0913 - the facts of an approval, as profiles published them
    state: Case, *, retiree_id: UUID, unit: str, document_number: str, approved_on: date, mode: CeremonyMode,
    batch: tuple[str, date] | None, policy: CeremonyPolicy,
) -> list[Event]:
    """On RetirementApproved: open the case, ask the retiree's wish, and note that the archive exists."""
    if state.opened:
        return []  # a repeated approval (corrected document) does not restart the process
    due = batch[1] if batch else policy.individual_due(approved_on)
    return [
        CeremonyCaseOpened(retiree_id=retiree_id, unit=unit, document_number=document_number,
                           approved_on=approved_on, mode=mode, ceremony_due_on=due,
                           handover_due_on=policy.handover_due(approved_on), batch_id=batch[0] if batch else None),
        ConsentRequested(retiree_id=retiree_id, unit=unit),
        # The approval is an event of profiles' archive: the retiree archive exists (seed §3).
        HandoverStepCompleted(retiree_id=retiree_id, unit=unit, step=HandoverStep.ARCHIVE_CREATED),
    ]


def ceremony_overdue(state: Case) -> list[Event]:
    if not state.opened or state.closed or state.held or state.ceremony_overdue or state.consent is Consent.DECLINED:
        return []
    return [CeremonyOverdue(retiree_id=state.retiree_id, unit=state.unit, due_on=state.ceremony_due_on)]


def handover_overdue(state: Case) -> list[Event]:
    if not state.opened or state.closed or state.handover_completed or state.handover_overdue:
        return []
    return [HandoverOverdue(retiree_id=state.retiree_id, unit=state.unit, due_on=state.handover_due_on,
                            missing_steps=state.missing_steps)]


def step_seen(state: Case, step: HandoverStep, today: date) -> list[Event]:
    """A handover step learned from profiles' events (e.g. 到社区报到); nothing if already done."""
    if not state.opened or state.closed or step in state.steps:
        return []
    return _with_completion(state, [HandoverStepCompleted(retiree_id=state.retiree_id, unit=state.unit, step=step)],
                            today)


def close(state: Case, reason: str) -> list[Event]:
    finished = (state.held or state.consent is Consent.DECLINED) and state.handover_completed
    if not state.opened or state.closed or finished:
        return []
    return [CaseClosed(retiree_id=state.retiree_id, unit=state.unit, reason=reason)]


# ======================================================================== commands of staff


def authorize(actor: Actor, unit: str) -> None:
    """Unit staff act only within their unit; the district office (and the platform itself) everywhere."""
    if not actor.may_act_for(unit):
        raise forbidden(f"{actor.user} ({actor.role.value} of {actor.unit}) may not act for unit {unit}",
                        zh=f"您（{actor.unit}）无权办理其他单位（{unit}）的事项", actor_unit=actor.unit, unit=unit)


def decide(command: CeremonyCaseCommand, state: Case, facts: Facts) -> list[Event]:
    check(command, state, facts)
    return _events(command, state, facts)


def check(command: CeremonyCaseCommand, state: Case, facts: Facts) -> None:
    """Every refusal, before any side effect (a certificate number is taken only after this passed)."""
    if not state.opened:
        raise not_found(f"no honorary-retirement case for retiree {command.retiree_id}",
                        zh="该退休人员没有荣誉退休仪式记录（退休批准后才会建立）")
    if isinstance(command, GiveConsent | DeclineConsent) and command.actor.is_person(command.retiree_id):
        pass  # the person answers for themselves (their own pages); anything else of the case is staff's
    else:
        authorize(command.actor, state.unit)
    if state.closed:
        raise conflict("the case is closed (the retiree died); nothing more is recorded",
                       zh="该退休人员已去世，荣誉退休仪式事项已终止，不再登记")
    match command:
        case GiveConsent() | DeclineConsent():
            if state.consent is not Consent.PENDING:
                raise conflict(f"the retiree's wish is already recorded: {state.consent.value}",
                               zh=f"已登记本人意愿（{CONSENT_ZH[state.consent]}），不能重复登记",
                               consent=state.consent.value)
        case CompleteHandoverStep():
            _check_step(command, state)
        case _:
            _check_ceremony(command, state, facts)


def _check_step(cmd: CompleteHandoverStep, state: Case) -> None:
    if cmd.step in state.steps:
        raise conflict(f"handover step {cmd.step.value} is already done", zh="该交接步骤已办结", step=cmd.step.value)
    if cmd.step is HandoverStep.HANDED_OVER and cmd.actor.role is not Role.DISTRICT_OFFICE:
        raise forbidden("only the district veteran-cadre office acknowledges the handover (区老干部工作科室确认接收)",
                        zh="交接须由区老干部局确认接收", step=cmd.step.value)


def _check_ceremony(cmd: CeremonyCommand, state: Case, facts: Facts) -> None:  # noqa: C901, PLR0912 - one rule per line
    if state.consent is Consent.DECLINED:
        raise conflict("the retiree declined the ceremony (本人不愿举办); their wish is respected",
                       zh="本人不愿举办荣誉退休仪式，应尊重本人意愿")
    if state.consent is Consent.PENDING:
        raise conflict("ask the retiree's wish first: consent is not given yet (举办前需征求本人意愿)",
                       zh="举办前需征求本人意愿：尚未登记本人同意")
    if state.held:
        raise conflict("the ceremony was already held", zh="荣誉退休仪式已经举办")
    item = ITEM_OF_COMMAND.get(type(cmd))
    if item is not None and item in state.items:
        raise conflict(f"{CHECKLIST_ZH[item]} is already recorded", zh=f"“{CHECKLIST_ZH[item]}”已登记", item=item.value)
    match cmd:
        case ScheduleCeremony() | RescheduleCeremony():
            if state.mode is CeremonyMode.HALF_YEAR_BATCH:
                raise refused(f"this unit holds half-yearly batches: schedule batch {state.batch_id}",
                              zh="本单位按每半年集中举办，请安排所在批次的仪式日期", batch_id=state.batch_id)
            if isinstance(cmd, ScheduleCeremony) and state.scheduled_on is not None:
                raise conflict(f"already scheduled on {state.scheduled_on}: reschedule with a reason",
                               zh=f"仪式已定于 {state.scheduled_on} 举办；如需改期，请填写改期原因")
            if isinstance(cmd, RescheduleCeremony) and state.scheduled_on is None:
                raise conflict("nothing to reschedule: the ceremony is not scheduled yet",
                               zh="仪式尚未安排日期，无需改期")
            if cmd.held_on < facts.today:
                raise refused(f"the date {cmd.held_on} is in the past (today is {facts.today})",
                              zh=f"仪式日期 {cmd.held_on} 早于今天（{facts.today}），请重新选择", field="held_on")
        case RecordExtraItem() if cmd.item in state.extras:
            raise conflict(f"extra item {cmd.item} is already recorded", zh=f"“{cmd.item}”已登记", item=cmd.item)
        case HoldCeremony():
            _check_hold(cmd, state, facts)
        case IssueCertificate() | GiveThankYouLetter() if facts.document is None:
            return  # the handler generates the document only after this check passed
        case _:
            return


def _check_hold(cmd: HoldCeremony, state: Case, facts: Facts) -> None:
    if cmd.held_on > facts.today:
        raise refused(f"a ceremony on {cmd.held_on} has not happened yet (today is {facts.today})",
                      zh=f"举办日期 {cmd.held_on} 晚于今天（{facts.today}），仪式举办后再登记", field="held_on")
    if cmd.held_on < state.approved_on:
        raise refused(f"held on {cmd.held_on}, before the approval on {state.approved_on}",
                      zh=f"举办日期 {cmd.held_on} 早于退休批准日期 {state.approved_on}，请核对", field="held_on")
    missing = state.missing_items
    if missing:
        names = "、".join(CHECKLIST_ZH[i] for i in missing)
        raise refused(f"仪式内容不全，尚缺：{names} (the 6 items of 6+X must all be recorded first)",
                      zh=f"仪式内容不全，尚缺：{names}", missing=[i.value for i in missing])


def _events(command: CeremonyCaseCommand, state: Case, facts: Facts) -> list[Event]:  # noqa: C901, PLR0911, PLR0912 - one case per command
    rid, unit = command.retiree_id, state.unit
    match command:
        case GiveConsent():
            return [ConsentGiven(retiree_id=rid, unit=unit)]
        case DeclineConsent():
            return [ConsentDeclined(retiree_id=rid, unit=unit, reason=command.reason)]
        case ScheduleCeremony():
            return [CeremonyScheduled(retiree_id=rid, unit=unit, held_on=command.held_on, venue=command.venue)]
        case RescheduleCeremony():
            return [CeremonyRescheduled(retiree_id=rid, unit=unit, held_on=command.held_on, venue=command.venue,
                                        previous_held_on=state.scheduled_on or command.held_on,
                                        reason=command.reason)]
        case AnnounceDecision():
            return [DecisionAnnounced(retiree_id=rid, unit=unit, document_number=command.document_number)]
        case GiveThankYouLetter():
            doc = _document(facts)
            return [ThankYouLetterGiven(retiree_id=rid, unit=unit, signed_by=command.signed_by, document_path=doc.path)]
        case IssueCertificate():
            doc = _document(facts)
            return [CertificateIssued(retiree_id=rid, unit=unit, certificate_number=doc.number or "",
                                      document_path=doc.path)]
        case GivePlaque():
            return [PlaqueGiven(retiree_id=rid, unit=unit, inscription=command.inscription)]
        case GiveSouvenir():
            return [SouvenirGiven(retiree_id=rid, unit=unit, souvenir=command.souvenir)]
        case RecordFarewellRemarks():
            return [FarewellRemarksRecorded(retiree_id=rid, unit=unit, text=command.text)]
        case RecordExtraItem():
            return [ExtraItemRecorded(retiree_id=rid, unit=unit, item=command.item, note=command.note)]
        case HoldCeremony():
            return [CeremonyHeld(retiree_id=rid, unit=unit, held_on=command.held_on, due_on=state.ceremony_due_on,
                                 on_time=command.held_on <= state.ceremony_due_on, extra_items=list(state.extras),
                                 batch_id=state.batch_id)]
        case CompleteHandoverStep():
            step = HandoverStepCompleted(retiree_id=rid, unit=unit, step=command.step, note=command.note)
            return _with_completion(state, [step], facts.today)
        case _:
            assert_never(command)


def _document(facts: Facts) -> Document:
    if facts.document is None:
        raise refused("the document was not generated", zh="文书未能生成，请重试")
    return facts.document


def _with_completion(state: Case, events: list[Event], today: date) -> list[Event]:
    """HandoverCompleted follows the step that completes the required ones (the optional one does not count)."""
    after = state
    for ev in events:
        after = evolve(after, ev)
    if state.handover_completed or after.missing_steps:
        return events
    done = HandoverCompleted(retiree_id=state.retiree_id, unit=state.unit, completed_on=today,
                             due_on=state.handover_due_on, on_time=today <= state.handover_due_on)
    return [*events, done]
