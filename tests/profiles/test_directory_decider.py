"""The directory deciders (units and staff), given / when / then."""

from __future__ import annotations

from functools import reduce
from typing import Any
from uuid import uuid4

import pytest

from contracts.base import Actor, Event, Role
from contracts.errors import DomainError, ErrorCode
from contracts.profiles import (
    CareContactSet,
    DeactivateStaff,
    RegisterStaff,
    RegisterUnit,
    SetCareContact,
    StaffDeactivated,
    StaffRegistered,
    UnitKind,
    UnitRegistered,
)
from services.profiles.directory import (
    Staff,
    Unit,
    decide_deactivate_staff,
    decide_register_staff,
    decide_register_unit,
    decide_set_care_contact,
    evolve_staff,
    evolve_unit,
)

DISTRICT = Actor(user="district.office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
SYSTEM = Actor(user="system", role=Role.SYSTEM, unit="DISTRICT")
STAFF_U1 = Actor(user="staff.u1", role=Role.UNIT_STAFF, unit="U0001")
HEAD_U1 = Actor(user="head.u1", role=Role.UNIT_HEAD, unit="U0001")
HEAD_U2 = Actor(user="head.u2", role=Role.UNIT_HEAD, unit="U0002")


# ---------------------------------------------------------------------------------------------------- helpers


def given_unit(*events: Event) -> Unit:
    return reduce(evolve_unit, events, Unit())


def given_staff(*events: Event) -> Staff:
    return reduce(evolve_staff, events, Staff())


def unit_registered(code: str = "U0001", kind: UnitKind = UnitKind.BUREAU, parent: str | None = "DISTRICT") -> Event:
    return UnitRegistered(code=code, name=f"{code} 局", kind=kind, parent=parent)


def staff_registered(user: str = "wang.li", unit: str = "U0001", role: Role = Role.UNIT_STAFF) -> Event:
    return StaffRegistered(user=user, name="王丽", role=role, unit=unit, phone=None, email=None)


DISTRICT_UNIT = given_unit(unit_registered("DISTRICT", UnitKind.DISTRICT, None))
U1 = given_unit(unit_registered("U0001"))


def register_unit(actor: Actor = DISTRICT, **fields: Any) -> RegisterUnit:
    values: dict[str, Any] = {"code": "U0001", "name": "区教育局", "kind": UnitKind.BUREAU, "parent": "DISTRICT"}
    return RegisterUnit(command_id=uuid4(), actor=actor, **(values | fields))


def register_staff(actor: Actor = DISTRICT, **fields: Any) -> RegisterStaff:
    values: dict[str, Any] = {"user": "wang.li", "name": "王丽", "role": Role.UNIT_STAFF, "unit": "U0001"}
    return RegisterStaff(command_id=uuid4(), actor=actor, **(values | fields))


def deactivate(user: str = "wang.li", actor: Actor = DISTRICT) -> DeactivateStaff:
    return DeactivateStaff(command_id=uuid4(), actor=actor, user=user)


def set_contact(unit: str = "U0001", user: str = "wang.li", actor: Actor = DISTRICT) -> SetCareContact:
    return SetCareContact(command_id=uuid4(), actor=actor, unit=unit, user=user)


def refusal(decider: Any, *args: Any) -> DomainError:
    with pytest.raises(DomainError) as info:
        decider(*args)
    return info.value


# ---------------------------------------------------------------------------------------------------- units


class TestRegisterUnit:
    def test_the_district_office_registers_a_unit_under_a_parent(self) -> None:
        events = decide_register_unit(register_unit(), Unit(), DISTRICT_UNIT)
        assert events == [UnitRegistered(code="U0001", name="区教育局", kind=UnitKind.BUREAU, parent="DISTRICT")]

    def test_the_district_itself_without_a_parent(self) -> None:
        events = decide_register_unit(register_unit(code="DISTRICT", name="某区", kind=UnitKind.DISTRICT, parent=None),
                                      Unit(), None)
        assert events == [UnitRegistered(code="DISTRICT", name="某区", kind=UnitKind.DISTRICT, parent=None)]

    def test_a_unit_without_a_parent(self) -> None:
        events = decide_register_unit(register_unit(parent=None), Unit(), None)
        assert events == [UnitRegistered(code="U0001", name="区教育局", kind=UnitKind.BUREAU, parent=None)]

    def test_the_system_actor_may_register_units(self) -> None:
        [event] = decide_register_unit(register_unit(SYSTEM), Unit(), DISTRICT_UNIT)
        assert isinstance(event, UnitRegistered)

    @pytest.mark.parametrize("actor", [STAFF_U1, HEAD_U1], ids=["unit_staff", "unit_head"])
    def test_anyone_else_is_forbidden(self, actor: Actor) -> None:
        error = refusal(decide_register_unit, register_unit(actor), Unit(), DISTRICT_UNIT)
        assert error.code is ErrorCode.FORBIDDEN
        assert "only the district office may register units" in error.message

    def test_registering_twice_is_a_conflict(self) -> None:
        error = refusal(decide_register_unit, register_unit(), U1, DISTRICT_UNIT)
        assert error.code is ErrorCode.CONFLICT
        assert "unit U0001 is already registered" in error.message

    def test_an_unknown_parent_is_refused(self) -> None:
        error = refusal(decide_register_unit, register_unit(parent="U0099"), Unit(), Unit())
        assert error.code is ErrorCode.VALIDATION
        assert "parent unit U0099 is not registered" in error.message
        assert error.details["field"] == "parent"

    def test_a_missing_parent_state_is_refused(self) -> None:
        error = refusal(decide_register_unit, register_unit(parent="U0099"), Unit(), None)
        assert error.code is ErrorCode.VALIDATION
        assert "parent unit U0099 is not registered" in error.message

    def test_the_district_kind_with_a_parent_is_refused(self) -> None:
        error = refusal(decide_register_unit, register_unit(code="D2", kind=UnitKind.DISTRICT, parent="DISTRICT"),
                        Unit(), DISTRICT_UNIT)
        assert error.code is ErrorCode.VALIDATION
        assert "the district itself has no parent unit" in error.message

    def test_a_unit_cannot_be_its_own_parent(self) -> None:
        error = refusal(decide_register_unit, register_unit(code="U0001", parent="U0001"), Unit(), Unit())
        assert error.code is ErrorCode.VALIDATION
        assert error.details["field"] == "parent"


# ---------------------------------------------------------------------------------------------------- staff


class TestRegisterStaff:
    def test_the_district_office_registers_staff_with_contacts(self) -> None:
        events = decide_register_staff(register_staff(phone="010-12345678", email="wang.li@example.cn"), Staff(), U1)
        assert events == [StaffRegistered(user="wang.li", name="王丽", role=Role.UNIT_STAFF, unit="U0001",
                                          phone="010-12345678", email="wang.li@example.cn")]

    def test_the_unit_head_registers_staff_of_their_unit(self) -> None:
        [event] = decide_register_staff(register_staff(HEAD_U1), Staff(), U1)
        assert isinstance(event, StaffRegistered)

    def test_the_head_of_another_unit_is_forbidden(self) -> None:
        error = refusal(decide_register_staff, register_staff(HEAD_U2), Staff(), U1)
        assert error.code is ErrorCode.FORBIDDEN
        assert "only the district office or the head of U0001" in error.message

    def test_ordinary_staff_of_the_unit_are_forbidden(self) -> None:
        error = refusal(decide_register_staff, register_staff(STAFF_U1), Staff(), U1)
        assert error.code is ErrorCode.FORBIDDEN

    def test_an_active_user_registered_twice_is_a_conflict(self) -> None:
        error = refusal(decide_register_staff, register_staff(), given_staff(staff_registered()), U1)
        assert error.code is ErrorCode.CONFLICT
        assert "already registered" in error.message

    def test_a_deactivated_user_can_be_registered_again(self) -> None:
        state = given_staff(staff_registered(), StaffDeactivated(user="wang.li", unit="U0001"))
        [event] = decide_register_staff(register_staff(), state, U1)
        assert isinstance(event, StaffRegistered)

    def test_an_unknown_unit_is_refused(self) -> None:
        error = refusal(decide_register_staff, register_staff(unit="U0099"), Staff(), Unit())
        assert error.code is ErrorCode.VALIDATION
        assert "unit U0099 is not registered" in error.message
        assert error.details["field"] == "unit"

    def test_a_district_office_role_outside_the_district_unit_is_refused(self) -> None:
        error = refusal(decide_register_staff, register_staff(role=Role.DISTRICT_OFFICE), Staff(), U1)
        assert error.code is ErrorCode.VALIDATION
        assert "district office staff belong to the district unit" in error.message
        assert error.details["field"] == "role"

    def test_a_district_office_role_in_the_district_unit(self) -> None:
        events = decide_register_staff(register_staff(role=Role.DISTRICT_OFFICE, unit="DISTRICT"), Staff(),
                                       DISTRICT_UNIT)
        assert events == [StaffRegistered(user="wang.li", name="王丽", role=Role.DISTRICT_OFFICE, unit="DISTRICT",
                                          phone=None, email=None)]

    def test_the_system_role_is_refused(self) -> None:
        error = refusal(decide_register_staff, register_staff(role=Role.SYSTEM), Staff(), U1)
        assert error.code is ErrorCode.VALIDATION
        assert "the system role is not for people" in error.message


class TestDeactivateStaff:
    def test_the_district_office_deactivates(self) -> None:
        events = decide_deactivate_staff(deactivate(), given_staff(staff_registered()))
        assert events == [StaffDeactivated(user="wang.li", unit="U0001")]

    def test_the_unit_head_deactivates_staff_of_their_unit(self) -> None:
        events = decide_deactivate_staff(deactivate(actor=HEAD_U1), given_staff(staff_registered()))
        assert events == [StaffDeactivated(user="wang.li", unit="U0001")]

    def test_the_head_of_another_unit_is_forbidden(self) -> None:
        error = refusal(decide_deactivate_staff, deactivate(actor=HEAD_U2), given_staff(staff_registered()))
        assert error.code is ErrorCode.FORBIDDEN
        assert "deactivate its staff" in error.message

    def test_an_unknown_user_is_not_found(self) -> None:
        error = refusal(decide_deactivate_staff, deactivate("nobody"), Staff())
        assert error.code is ErrorCode.NOT_FOUND
        assert "no staff user nobody" in error.message

    def test_deactivating_twice_is_a_conflict(self) -> None:
        state = given_staff(staff_registered(), StaffDeactivated(user="wang.li", unit="U0001"))
        error = refusal(decide_deactivate_staff, deactivate(), state)
        assert error.code is ErrorCode.CONFLICT
        assert "already deactivated" in error.message


class TestSetCareContact:
    def test_the_district_office_sets_an_active_staff_member_of_the_unit(self) -> None:
        events = decide_set_care_contact(set_contact(), U1, given_staff(staff_registered()))
        assert events == [CareContactSet(unit="U0001", user="wang.li")]

    def test_the_unit_head_of_that_unit_may_set_it(self) -> None:
        events = decide_set_care_contact(set_contact(actor=HEAD_U1), U1, given_staff(staff_registered()))
        assert events == [CareContactSet(unit="U0001", user="wang.li")]

    def test_the_head_of_another_unit_is_forbidden(self) -> None:
        error = refusal(decide_set_care_contact, set_contact(actor=HEAD_U2), U1, given_staff(staff_registered()))
        assert error.code is ErrorCode.FORBIDDEN
        assert "choose its care contact" in error.message

    def test_ordinary_staff_are_forbidden(self) -> None:
        error = refusal(decide_set_care_contact, set_contact(actor=STAFF_U1), U1, given_staff(staff_registered()))
        assert error.code is ErrorCode.FORBIDDEN

    def test_an_unknown_unit_is_not_found(self) -> None:
        error = refusal(decide_set_care_contact, set_contact(unit="U0099"), Unit(), given_staff(staff_registered()))
        assert error.code is ErrorCode.NOT_FOUND
        assert "unit U0099 is not registered" in error.message

    def test_staff_of_another_unit_are_refused(self) -> None:
        error = refusal(decide_set_care_contact, set_contact(), U1, given_staff(staff_registered(unit="U0002")))
        assert error.code is ErrorCode.VALIDATION
        assert "belongs to U0002, not U0001" in error.message
        assert error.details["field"] == "user"

    def test_inactive_staff_are_refused(self) -> None:
        state = given_staff(staff_registered(), StaffDeactivated(user="wang.li", unit="U0001"))
        error = refusal(decide_set_care_contact, set_contact(), U1, state)
        assert error.code is ErrorCode.VALIDATION
        assert "is not an active staff member" in error.message

    def test_an_unknown_user_is_refused(self) -> None:
        error = refusal(decide_set_care_contact, set_contact(user="nobody"), U1, Staff())
        assert error.code is ErrorCode.VALIDATION
        assert "nobody is not an active staff member" in error.message


# ---------------------------------------------------------------------------------------------------- evolve


class TestEvolveDirectory:
    def test_a_registered_unit_exists_with_its_kind(self) -> None:
        assert given_unit(unit_registered(kind=UnitKind.TOWN)) == Unit(version=1, exists=True, kind=UnitKind.TOWN)

    def test_other_unit_events_only_advance_the_version(self) -> None:
        state = given_unit(unit_registered(), CareContactSet(unit="U0001", user="wang.li"))
        assert state == Unit(version=2, exists=True, kind=UnitKind.BUREAU)

    def test_a_registered_staff_member_is_active_in_their_unit(self) -> None:
        assert given_staff(staff_registered()) == Staff(version=1, exists=True, active=True, unit="U0001")

    def test_a_deactivated_staff_member_keeps_their_unit(self) -> None:
        state = given_staff(staff_registered(), StaffDeactivated(user="wang.li", unit="U0001"))
        assert state == Staff(version=2, exists=True, active=False, unit="U0001")

    def test_re_registration_reactivates_in_the_new_unit(self) -> None:
        state = given_staff(staff_registered(), StaffDeactivated(user="wang.li", unit="U0001"),
                            staff_registered(unit="U0002"))
        assert state == Staff(version=3, exists=True, active=True, unit="U0002")
