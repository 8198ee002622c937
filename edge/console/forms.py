"""The life events staff record, as forms: each input is named as its command's field, so a refusal's field
errors land next to the right input. The services validate; the console only turns form text into JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.base import Refused

Choices = tuple[tuple[str, str], ...]

SEVERITY: Choices = (("serious", "重病"), ("critical", "病危"), ("ordinary", "一般"))
EMERGENCY: Choices = (("bereavement", "亲属去世"), ("serious_illness", "家人重病"), ("accident", "意外事故"),
                      ("disaster", "灾害"), ("other", "其他"))
CATEGORY: Choices = (("cadre", "干部"), ("worker", "工人"))
CONTACT_FORM: Choices = (("home", "上门"), ("hospital", "医院看望"), ("phone", "电话"), ("group", "集体（座谈会等）"))


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: str = "text"  # text, date, datetime, textarea, select, number, checkbox
    required: bool = True
    choices: Choices = ()
    hint: str = ""


@dataclass(frozen=True)
class LifeEventForm:
    command: str
    title: str
    inputs: tuple[Input, ...]
    note: str = ""
    with_unit: bool = False  # the command names the unit too (the retiree's own)
    danger: bool = False

    def body(self, form: dict[str, str]) -> dict[str, Any]:
        """The command's JSON from the typed text: empty optional fields are left out, numbers are numbers."""
        out: dict[str, Any] = {}
        for spec in self.inputs:
            raw = form.get(spec.name, "").strip()
            if spec.kind == "checkbox":
                out[spec.name] = raw in ("on", "true", "1")
                continue
            if not raw:
                if spec.required:
                    out[spec.name] = raw  # the service names the field as missing or too short
                continue
            if spec.kind == "number":
                out[spec.name] = int(raw) if raw.isdigit() else raw
            else:
                out[spec.name] = raw
        return out


LIFE_EVENTS: dict[str, LifeEventForm] = {f.command: f for f in (
    LifeEventForm("RecordHospitalization", "住院登记", (
        Input("hospital", "医院"), Input("admitted_on", "入院日期", "date"),
        Input("severity", "病情", "select", choices=SEVERITY),
        Input("diagnosis", "诊断（选填，加密保存）", "textarea", required=False)),
        note="登记后系统将生成住院看望任务，交本单位经办人办理。"),
    LifeEventForm("RecordDischarge", "出院登记", (Input("discharged_on", "出院日期", "date"),),
                  note="登记后系统将生成出院回访任务。"),
    LifeEventForm("ReportFamilyEmergency", "家庭重大变故", (
        Input("kind", "变故类别", "select", choices=EMERGENCY), Input("happened_on", "发生日期", "date"),
        Input("description", "情况说明（加密保存）", "textarea"))),
    LifeEventForm("ReportHardship", "生活困难", (
        Input("description", "困难情况（加密保存）", "textarea"),
        Input("amount_requested", "申请金额（元，选填）", "number", required=False))),
    LifeEventForm("RecordHealthExam", "体检登记", (
        Input("examined_on", "体检日期", "date"), Input("summary", "体检结论（加密保存）", "textarea"))),
    LifeEventForm("RecordPartyMembership", "党员信息", (
        Input("joined_on", "入党日期", "date"), Input("branch", "所在党支部"))),
    LifeEventForm("PlanRetirement", "拟退休", (Input("planned_date", "拟退休日期", "date"),),
                  note="登记后系统将安排退休前谈心谈话。"),
    LifeEventForm("ApproveRetirement", "退休批准", (
        Input("document_number", "批准文号", hint="如：区人社〔2026〕12号"), Input("approved_on", "批准日期", "date"),
        Input("retirement_date", "退休日期", "date"), Input("category", "人员类别", "select", choices=CATEGORY)),
        with_unit=True, note="批准后将启动荣誉退休流程（一个月内举办荣誉退休仪式）。"),
    LifeEventForm("TransferRetiree", "调往其他单位", (
        Input("to_unit", "调入单位代码", hint="如：U0002"), Input("effective_on", "生效日期", "date"),
        Input("reason", "原因（选填）", required=False))),
    LifeEventForm("RecordSurvivor", "登记遗属", (
        Input("survivor_name", "遗属姓名"), Input("relation", "关系", hint="配偶、子女……"),
        Input("phone", "联系电话（选填）", required=False), Input("address", "住址（选填）", required=False))),
    LifeEventForm("RecordDeath", "去世登记", (Input("died_on", "去世日期", "date"),),
                  note="登记后：未办的关怀任务将取消，丧事慰问任务将生成。请核实后再提交。", danger=True),
)}

NEW_RETIREE = LifeEventForm("RegisterRetiree", "登记新人员", (
    Input("name", "姓名"), Input("id_number", "身份证号码"),
    Input("unit", "所在单位代码", hint="如：U0001"),
    Input("category", "人员类别（选填）", "select", required=False, choices=(("", "—"), *CATEGORY)),
    Input("retirement_date", "退休日期（选填）", "date", required=False),
    Input("phone", "联系电话（选填）", required=False), Input("address", "住址（选填）", required=False),
    Input("party_member", "中共党员", "checkbox", required=False),
    Input("party_joined_on", "入党日期（选填）", "date", required=False)),
    note="人员编号由系统生成；登记后在人员页面记录退休批准等事项。")

COMPLETE_TASK = LifeEventForm("CompleteTask", "记录办理情况", (
    Input("form", "方式", "select", choices=CONTACT_FORM), Input("done_at", "办理时间", "datetime"),
    Input("done_by", "参加人员", hint="多人用顿号或逗号分隔"),
    Input("notes", "情况记录（选填，加密保存）", "textarea", required=False),
    Input("gifts", "慰问品（选填）", required=False), Input("amount", "慰问金（元，选填）", "number", required=False)))


@dataclass
class FormState:
    """What a form page shows: the values typed (kept on every error) and the errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""

    @classmethod
    def refused(cls, typed: dict[str, str], refusal: Refused, spec: LifeEventForm) -> FormState:
        """The form again as typed, the refusal's words next to the fields it names and above the form."""
        names = {i.name for i in spec.inputs}
        return cls(typed, field_errors(refusal.details, names, refusal.message), refusal.message)


def field_errors(details: dict[str, Any], names: set[str], message: str = "") -> dict[str, str]:
    """A refusal's problems by the form's input names (the rest are the form's general message); a refusal
    that names one field gets its whole message next to that field.
    """
    out: dict[str, str] = {}
    for problem in details.get("errors", []) or []:
        name = str(problem.get("field", "")).split(".")[0]
        if name in names:
            out.setdefault(name, str(problem.get("problem_zh") or problem.get("problem") or "格式不正确"))
    named = details.get("field")
    if isinstance(named, str) and named in names and named not in out:
        out[named] = message
    return out
