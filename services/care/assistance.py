"""The assistance case (困难帮扶): applied for → assessed → approved within the approver's limit, or rejected →
paid. Pure decide/evolve; the decision is due `assistance.decision_days` after the case opens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import assert_never
from uuid import UUID

from contracts.base import Actor, Event, Role
from contracts.care import (
    ApplyForAssistance,
    ApproveAssistance,
    AssessAssistance,
    AssistanceApproved,
    AssistanceAssessed,
    AssistanceCaseOpened,
    AssistanceCommand,
    AssistanceDecisionOverdue,
    AssistancePaid,
    AssistanceRejected,
    AssistanceStatus,
    PayAssistance,
    RejectAssistance,
)
from contracts.errors import conflict, forbidden, not_found, refused
from services.care.policy import Policy


@dataclass(frozen=True)
class Case:
    version: int = 0
    status: AssistanceStatus | None = None
    case_id: UUID | None = None
    retiree_id: UUID | None = None
    unit: str | None = None
    decision_due_at: datetime | None = None
    approved_amount: int | None = None
    overdue: bool = False


def evolve(state: Case, event: Event) -> Case:  # noqa: PLR0911 - one case per event
    s = replace(state, version=state.version + 1)
    match event:
        case AssistanceCaseOpened():
            return replace(s, status=AssistanceStatus.OPEN, case_id=event.case_id, retiree_id=event.retiree_id,
                           unit=event.unit, decision_due_at=event.decision_due_at)
        case AssistanceAssessed():
            return replace(s, status=AssistanceStatus.ASSESSED)
        case AssistanceApproved():
            return replace(s, status=AssistanceStatus.APPROVED, approved_amount=event.amount)
        case AssistanceRejected():
            return replace(s, status=AssistanceStatus.REJECTED)
        case AssistancePaid():
            return replace(s, status=AssistanceStatus.PAID)
        case AssistanceDecisionOverdue():
            return replace(s, overdue=True)
        case _:
            return s


# The reason on a case opened from profiles' HardshipReported: the description itself is sealed with profiles'
# key, so care keeps a pointer to the report, not its text.
HARDSHIP_REASON = "见档案困难情况报告（HardshipReported）"


@dataclass(frozen=True)
class Facts:
    """What the case's commands need from outside: the time, the policy, whether the person is a living retiree."""

    now: datetime
    policy: Policy
    living: bool = True


def decide(cmd: AssistanceCommand, state: Case, facts: Facts) -> list[Event]:
    match cmd:
        case ApplyForAssistance():
            return decide_apply(cmd, state, facts.living, facts.now, facts.policy)
        case AssessAssistance():
            return decide_assess(cmd, state)
        case ApproveAssistance():
            return decide_approve(cmd, state, facts.now, facts.policy)
        case RejectAssistance():
            return decide_reject(cmd, state, facts.now)
        case PayAssistance():
            return decide_pay(cmd, state)
        case _:
            assert_never(cmd)


STATUS_ZH = {AssistanceStatus.OPEN: "待评估", AssistanceStatus.ASSESSED: "已评估", AssistanceStatus.APPROVED: "批准",
             AssistanceStatus.REJECTED: "不予批准", AssistanceStatus.PAID: "发放"}


def _status_zh(state: Case) -> str:
    return STATUS_ZH[state.status] if state.status else "未知"


def _unit_or_district(actor: Actor, unit: str | None) -> None:
    if actor.may_act_for(unit):
        return
    raise forbidden(f"{actor.user} of {actor.unit} may not act on assistance cases of {unit}",
                    zh=f"无权办理其他单位（{unit}）的困难帮扶")


def opened(  # noqa: PLR0913
    case_id: UUID, retiree_id: UUID, unit: str, reason: str, amount: int | None, cause_event_id: UUID | None,
    now: datetime, policy: Policy,
) -> AssistanceCaseOpened:
    return AssistanceCaseOpened(case_id=case_id, retiree_id=retiree_id, unit=unit, reason=reason,
                                amount_requested=amount, cause_event_id=cause_event_id,
                                decision_due_at=now + timedelta(days=policy.assistance.decision_days),
                                policy_version=policy.version)


def decide_apply(
    cmd: ApplyForAssistance, state: Case, living: bool, now: datetime, policy: Policy,  # noqa: FBT001
) -> list[Event]:
    _unit_or_district(cmd.actor, cmd.unit)
    if state.status is not None:
        raise conflict(f"assistance case {cmd.case_id} already exists", zh="该困难帮扶申请已存在")
    if not living:
        raise refused("assistance is for a living retiree of the unit", zh="困难帮扶只能为本单位在世的退休人员申请",
                      field="retiree_id")
    return [opened(cmd.case_id, cmd.retiree_id, cmd.unit, cmd.reason, cmd.amount_requested, None, now, policy)]


def _existing(state: Case, actor: Actor) -> None:
    if state.status is None:
        raise not_found("no such assistance case", zh="找不到该困难帮扶申请")
    _unit_or_district(actor, state.unit)


def decide_assess(cmd: AssessAssistance, state: Case) -> list[Event]:
    _existing(state, cmd.actor)
    if state.status is not AssistanceStatus.OPEN:
        raise conflict(f"the case is {state.status.value if state.status else '?'}, not open for assessment",
                       zh=f"该申请当前{_status_zh(state)}，不能再评估")
    assert state.case_id and state.retiree_id and state.unit
    return [AssistanceAssessed(case_id=state.case_id, retiree_id=state.retiree_id, unit=state.unit,
                               finding=cmd.finding, recommended_amount=cmd.recommended_amount)]


def _decidable(state: Case) -> None:
    if state.status not in (AssistanceStatus.OPEN, AssistanceStatus.ASSESSED):
        raise conflict(f"the case is already {state.status.value if state.status else '?'}",
                       zh=f"该申请已{_status_zh(state)}，不能再审批")
    if state.status is AssistanceStatus.OPEN:
        raise conflict("assess the case before deciding it", zh="请先评估，再审批")


def decide_approve(cmd: ApproveAssistance, state: Case, now: datetime, policy: Policy) -> list[Event]:
    _existing(state, cmd.actor)
    _decidable(state)
    level = {Role.UNIT_HEAD: "unit_head", Role.DISTRICT_OFFICE: "district_office"}.get(cmd.actor.role)
    if level is None:
        raise forbidden("assistance is approved by the unit head or the district office",
                        zh="困难帮扶由单位负责人或区老干部局审批")
    limit = policy.approval_limit(level)
    if limit is None or cmd.amount > limit:
        needs = "the district office" if level == "unit_head" else "a policy exception"
        needs_zh = "须报区老干部局审批" if level == "unit_head" else "须按政策特批"
        raise forbidden(f"{cmd.amount} yuan is above the {level} limit of {limit} yuan: it needs {needs}",
                        zh=f"{cmd.amount} 元超过审批权限（{limit} 元），{needs_zh}", limit=limit, level=level)
    assert state.case_id and state.retiree_id and state.unit and state.decision_due_at
    return [AssistanceApproved(case_id=state.case_id, retiree_id=state.retiree_id, unit=state.unit,
                               amount=cmd.amount, approved_by=cmd.actor.user, approver_level=cmd.actor.role,
                               on_time=now <= state.decision_due_at)]


def decide_reject(cmd: RejectAssistance, state: Case, now: datetime) -> list[Event]:
    _existing(state, cmd.actor)
    _decidable(state)
    if cmd.actor.role not in (Role.UNIT_HEAD, Role.DISTRICT_OFFICE):
        raise forbidden("assistance is decided by the unit head or the district office",
                        zh="困难帮扶由单位负责人或区老干部局审批")
    assert state.case_id and state.retiree_id and state.unit and state.decision_due_at
    return [AssistanceRejected(case_id=state.case_id, retiree_id=state.retiree_id, unit=state.unit,
                               reason=cmd.reason, rejected_by=cmd.actor.user, on_time=now <= state.decision_due_at)]


def decide_pay(cmd: PayAssistance, state: Case) -> list[Event]:
    _existing(state, cmd.actor)
    if state.status is not AssistanceStatus.APPROVED:
        raise conflict("only an approved case is paid", zh="只有已批准的帮扶才能发放")
    if cmd.amount != state.approved_amount:
        raise refused(f"paid amount {cmd.amount} differs from the approved {state.approved_amount}",
                      zh=f"发放金额 {cmd.amount} 元与批准金额 {state.approved_amount} 元不一致", field="amount")
    assert state.case_id and state.retiree_id and state.unit
    return [AssistancePaid(case_id=state.case_id, retiree_id=state.retiree_id, unit=state.unit, amount=cmd.amount,
                           paid_on=cmd.paid_on, voucher=cmd.voucher)]


def decide_deadline(state: Case) -> list[Event]:
    if state.status not in (AssistanceStatus.OPEN, AssistanceStatus.ASSESSED) or state.overdue:
        return []
    assert state.case_id and state.retiree_id and state.unit and state.decision_due_at
    return [AssistanceDecisionOverdue(case_id=state.case_id, retiree_id=state.retiree_id, unit=state.unit,
                                      decision_due_at=state.decision_due_at)]
