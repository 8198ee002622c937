"""What staff read: Chinese names of roles, kinds, states and events; times in Beijing time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from contracts.base import LOCAL_TZ, Role
from contracts.care import TASK_KIND_ZH, TaskKind

ROLE_ZH = {Role.UNIT_STAFF: "单位经办人", Role.UNIT_HEAD: "单位负责人", Role.PARTY_SECRETARY: "党支部书记",
           Role.DISTRICT_OFFICE: "区委老干部局", Role.SYSTEM: "系统"}
STATUS_ZH = {"planned": "临退休", "retired": "已退休", "deceased": "已去世"}
TASK_STATUS_ZH = {"open": "待办", "done": "已办结", "cancelled": "已取消"}
FORM_ZH = {"home": "上门", "hospital": "医院看望", "phone": "电话", "group": "集体（座谈会等）"}
ESCALATION_ZH = {"unit_head": "已督办至单位负责人", "district_office": "已督办至区委老干部局"}
CAUSE_ZH = {
    "MemberHospitalized": "住院", "MemberDischarged": "出院", "FamilyEmergencyReported": "家庭重大变故",
    "MemberDeceased": "去世", "RetirementApproved": "退休批准", "RetirementPlanned": "临退休",
    "campaign": "节日走访慰问活动",
}
EVENT_ZH = {
    "RetireeRegistered": "登记入档", "RetirementPlanned": "拟退休", "RetirementApproved": "退休批准",
    "ProfileUpdated": "更新个人信息", "MemberHospitalized": "住院", "MemberDischarged": "出院",
    "FamilyEmergencyReported": "家庭重大变故", "HardshipReported": "生活困难", "HealthExamRecorded": "体检",
    "PartyMembershipRecorded": "党员信息", "PartyBranchAssigned": "编入党支部", "CommunityRegistered": "社区报到",
    "InterestGroupJoined": "加入兴趣小组", "InterestGroupLeft": "退出兴趣小组", "TalentPoolJoined": "入选银发人才库",
    "TalentPoolReviewed": "人才库复核", "TalentPoolLeft": "退出银发人才库", "ExemplaryRecognized": "评为先进典型",
    "SurvivorRecorded": "登记遗属", "RetireeTransferred": "调往其他单位", "MemberDeceased": "去世",
    "PersonalDataErased": "个人信息已删除",
    "CareTaskOpened": "生成关怀任务", "CareTaskAssigned": "分派经办人", "CareTaskTransferred": "随人员调转",
    "CareTaskDueSoon": "即将到期提醒", "CareTaskOverdue": "已逾期", "CareTaskEscalated": "督办",
    "VisitCompleted": "已看望", "TalkCompleted": "已谈话", "ContactMade": "已联系", "CareTaskCancelled": "已取消",
}


def kind_zh(kind: str) -> str:
    try:
        return TASK_KIND_ZH[TaskKind(kind)]
    except ValueError:
        return kind


def beijing(value: Any, *, with_time: bool = True) -> str:
    """An ISO time (or a datetime) as Beijing time: 2026-12-02 09:30 (dates as they are)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    local = moment.astimezone(LOCAL_TZ)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def now_beijing_input() -> str:
    """The value of a datetime-local field for now, in Beijing time."""
    return datetime.now(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def today_beijing() -> str:
    return datetime.now(LOCAL_TZ).date().isoformat()


FILTERS = {"beijing": beijing, "kind_zh": kind_zh, "role_zh": lambda r: ROLE_ZH.get(Role(r), r),
           "status_zh": lambda s: STATUS_ZH.get(s, s), "task_status_zh": lambda s: TASK_STATUS_ZH.get(s, s),
           "form_zh": lambda f: FORM_ZH.get(f, f or "—"), "escalation_zh": lambda e: ESCALATION_ZH.get(e, ""),
           "cause_zh": lambda c: CAUSE_ZH.get(c, c), "event_zh": lambda e: EVENT_ZH.get(e, e)}
