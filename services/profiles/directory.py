"""Units and staff (单位与经办人): pure deciders for the district's directory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from contracts.base import Actor, Event, Role
from contracts.errors import conflict, forbidden, not_found, refused
from contracts.profiles import (
    CareContactSet,
    DeactivateStaff,
    RegisterStaff,
    RegisterUnit,
    SetCareContact,
    StaffCommand,
    StaffDeactivated,
    StaffRegistered,
    UnitCommand,
    UnitKind,
    UnitRegistered,
)


@dataclass(frozen=True)
class Unit:
    version: int = 0
    exists: bool = False
    kind: UnitKind | None = None


@dataclass(frozen=True)
class Staff:
    version: int = 0
    exists: bool = False
    active: bool = False
    unit: str | None = None


def evolve_unit(state: Unit, event: Event) -> Unit:
    if isinstance(event, UnitRegistered):
        return Unit(version=state.version + 1, exists=True, kind=event.kind)
    return Unit(version=state.version + 1, exists=state.exists, kind=state.kind)


def evolve_staff(state: Staff, event: Event) -> Staff:
    match event:
        case StaffRegistered():
            return Staff(version=state.version + 1, exists=True, active=True, unit=event.unit)
        case StaffDeactivated():
            return Staff(version=state.version + 1, exists=True, active=False, unit=state.unit)
        case _:
            return Staff(version=state.version + 1, exists=state.exists, active=state.active, unit=state.unit)


@dataclass(frozen=True)
class UnitFacts:
    """What a unit's commands need from other streams, gathered by the handler."""

    parent: Unit = Unit()  # the parent unit a registration names
    contact: Staff = Staff()  # the staff member named as care contact


def decide_unit(cmd: UnitCommand, state: Unit, facts: UnitFacts) -> list[Event]:
    match cmd:
        case RegisterUnit():
            return decide_register_unit(cmd, state, facts.parent)
        case SetCareContact():
            return decide_set_care_contact(cmd, state, facts.contact)
        case _:
            assert_never(cmd)


def decide_staff(cmd: StaffCommand, state: Staff, unit: Unit) -> list[Event]:
    """A staff member's commands; `unit` is the unit a registration names."""
    match cmd:
        case RegisterStaff():
            return decide_register_staff(cmd, state, unit)
        case DeactivateStaff():
            return decide_deactivate_staff(cmd, state)
        case _:
            assert_never(cmd)


WHAT_ZH = {"register units": "登记单位", "register its staff": "登记本单位工作人员",
           "deactivate its staff": "停用本单位工作人员", "choose its care contact": "指定本单位关怀联系人"}


def _district_only(actor: Actor, what: str) -> None:
    if not actor.oversees_all:
        raise forbidden(f"only the district office may {what}", zh=f"只有区老干部局可以{WHAT_ZH[what]}")


def decide_register_unit(cmd: RegisterUnit, state: Unit, parent: Unit | None) -> list[Event]:
    _district_only(cmd.actor, "register units")
    if state.exists:
        raise conflict(f"unit {cmd.code} is already registered", zh=f"单位代码 {cmd.code} 已登记")
    if cmd.kind is UnitKind.DISTRICT:
        if cmd.parent is not None:
            raise refused("the district itself has no parent unit", zh="区本身没有上级单位", field="parent")
    elif cmd.parent is not None and (parent is None or not parent.exists):
        raise refused(f"parent unit {cmd.parent} is not registered", zh=f"上级单位 {cmd.parent} 尚未登记",
                      field="parent")
    if cmd.parent == cmd.code:
        raise refused("a unit cannot be its own parent", zh="单位不能以自己为上级单位", field="parent")
    return [UnitRegistered(code=cmd.code, name=cmd.name, kind=cmd.kind, parent=cmd.parent)]


def _unit_head_or_district(actor: Actor, unit: str, what: str) -> None:
    if actor.oversees_all:
        return
    if actor.role is Role.UNIT_HEAD and actor.unit == unit:
        return
    raise forbidden(f"only the district office or the head of {unit} may {what}",
                    zh=f"只有区老干部局或该单位负责人可以{WHAT_ZH[what]}")


def decide_register_staff(cmd: RegisterStaff, state: Staff, unit: Unit) -> list[Event]:
    _unit_head_or_district(cmd.actor, cmd.unit, "register its staff")
    if state.exists and state.active:
        raise conflict(f"staff user {cmd.user} is already registered", zh=f"工作人员账号 {cmd.user} 已登记")
    if not unit.exists:
        raise refused(f"unit {cmd.unit} is not registered", zh=f"单位 {cmd.unit} 尚未登记", field="unit")
    if cmd.role is Role.DISTRICT_OFFICE and unit.kind is not UnitKind.DISTRICT:
        raise refused("district office staff belong to the district unit", zh="区老干部局工作人员应登记在区本级单位",
                      field="role")
    if cmd.role is Role.SYSTEM:
        raise refused("the system role is not for people", zh="“系统”角色不能分配给工作人员", field="role")
    if cmd.role is Role.RETIREE:
        raise refused("retirees are not staff: they log in with a code letter", zh="退休人员不是工作人员，"
                      "请为其打印登录码信", field="role")
    return [StaffRegistered(user=cmd.user, name=cmd.name, role=cmd.role, unit=cmd.unit, phone=cmd.phone,
                            email=cmd.email)]


def decide_deactivate_staff(cmd: DeactivateStaff, state: Staff) -> list[Event]:
    if not state.exists:
        raise not_found(f"no staff user {cmd.user}", zh=f"没有工作人员账号 {cmd.user}")
    assert state.unit is not None
    _unit_head_or_district(cmd.actor, state.unit, "deactivate its staff")
    if not state.active:
        raise conflict(f"staff user {cmd.user} is already deactivated", zh=f"工作人员账号 {cmd.user} 已停用")
    return [StaffDeactivated(user=cmd.user, unit=state.unit)]


def decide_set_care_contact(cmd: SetCareContact, unit: Unit, staff: Staff) -> list[Event]:
    _unit_head_or_district(cmd.actor, cmd.unit, "choose its care contact")
    if not unit.exists:
        raise not_found(f"unit {cmd.unit} is not registered", zh=f"单位 {cmd.unit} 尚未登记")
    if not staff.exists or not staff.active:
        raise refused(f"{cmd.user} is not an active staff member", zh=f"{cmd.user} 不是在岗的工作人员", field="user")
    if staff.unit != cmd.unit:
        raise refused(f"{cmd.user} belongs to {staff.unit}, not {cmd.unit}",
                      zh=f"{cmd.user} 属于单位 {staff.unit}，不是 {cmd.unit} 的工作人员", field="user")
    return [CareContactSet(unit=cmd.unit, user=cmd.user)]
