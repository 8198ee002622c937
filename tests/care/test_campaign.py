"""Given / when / then tests of festival campaigns: who is eligible, which units, launching and closing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import ClassVar

import pytest

from contracts.base import LOCAL_TZ, Actor, Role
from contracts.care import (
    CampaignClosed,
    CampaignLaunched,
    CampaignScope,
    CloseCampaign,
    Festival,
    LaunchCampaign,
    TaskKind,
)
from contracts.errors import DomainError, ErrorCode
from services.care import campaign
from services.care.campaign import (
    Campaign,
    Candidate,
    decide_close,
    decide_launch,
    eligible,
    in_band,
    scope_units,
    task_specs,
)
from services.care.policy import load_policy

POLICY = load_policy()
NOW = datetime(2027, 10, 1, 9, tzinfo=LOCAL_TZ)
YEAR = 2027
UNITS = {"U0007", "U0008", "U0009"}
STAFF = Actor(user="clerk", role=Role.UNIT_STAFF, unit="U0007")
HEAD = Actor(user="head", role=Role.UNIT_HEAD, unit="U0007")
OFFICE = Actor(user="office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
DOUBLE_NINTH = CampaignScope(age_bands=POLICY.double_ninth_age_bands)
CID = uuid.uuid4()


def candidate(**facts: object) -> Candidate:
    fields: dict[str, object] = {
        "retiree_id": uuid.uuid4(), "unit": "U0007", "status": "retired", "birth_date": date(1957, 5, 1),
        "party_member": False, "living_alone": False, "survivors": 0, "erased": False,
    }
    return Candidate(**(fields | facts))  # type: ignore[arg-type]


def is_eligible(p: Candidate, scope: CampaignScope | None = None, year: int = YEAR,
                units: set[str] | None = None) -> bool:
    return eligible([p], scope or CampaignScope(), year, UNITS if units is None else units) == [p]


def launch(actor: Actor = OFFICE, scope: CampaignScope | None = None, due_on: date = date(2027, 10, 20),
           festival: Festival = Festival.DOUBLE_NINTH) -> LaunchCampaign:
    return LaunchCampaign(command_id=uuid.uuid4(), actor=actor, campaign_id=CID, festival=festival,
                          title="2027年重阳节走访慰问", year=YEAR, due_on=due_on, scope=scope or CampaignScope())


def launched(units: tuple[str, ...] = ("U0007", "U0008")) -> Campaign:
    event = decide_launch(launch(), Campaign(), set(units), 10, NOW)
    return campaign.evolve(Campaign(), event)


def close(actor: Actor = OFFICE) -> CloseCampaign:
    return CloseCampaign(command_id=uuid.uuid4(), actor=actor, campaign_id=CID)


def refusal(fn: object, *args: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value


class TestDoubleNinthBands:
    @pytest.mark.parametrize(("born", "age"), [(1957, 70), (1952, 75), (1947, 80), (1942, 85), (1937, 90),
                                               (1927, 100)])
    def test_an_age_in_a_band_is_eligible(self, born: int, age: int) -> None:
        assert is_eligible(candidate(birth_date=date(born, 6, 1)), DOUBLE_NINTH), age

    @pytest.mark.parametrize(("born", "age"), [(1958, 69), (1956, 71), (1953, 74), (1951, 76), (1946, 81),
                                               (1938, 89)])
    def test_an_age_between_bands_is_not_eligible(self, born: int, age: int) -> None:
        assert not is_eligible(candidate(birth_date=date(born, 6, 1)), DOUBLE_NINTH), age

    def test_born_31_december_1957_is_70_in_2027_even_before_the_birthday(self) -> None:
        assert is_eligible(candidate(birth_date=date(1957, 12, 31)), DOUBLE_NINTH)

    def test_born_1_january_1958_is_69_in_2027(self) -> None:
        assert not is_eligible(candidate(birth_date=date(1958, 1, 1)), DOUBLE_NINTH)

    def test_the_age_is_the_one_reached_in_the_campaign_year_not_the_launch_year(self) -> None:
        assert is_eligible(candidate(birth_date=date(1958, 1, 1)), DOUBLE_NINTH, year=2028)

    def test_no_birth_date_is_not_eligible_for_an_age_band(self) -> None:
        assert not is_eligible(candidate(birth_date=None), DOUBLE_NINTH)

    def test_no_birth_date_is_eligible_without_age_bands(self) -> None:
        assert is_eligible(candidate(birth_date=None))

    def test_in_band_with_an_open_ended_band(self) -> None:
        assert in_band(104, [(90, None)])

    def test_in_band_with_no_bands_is_false(self) -> None:
        assert not in_band(70, [])


class TestWhoIsEligible:
    def test_a_living_retiree_of_a_unit_in_scope_is_eligible(self) -> None:
        assert is_eligible(candidate())

    def test_a_retiree_of_a_unit_out_of_scope_is_not_eligible(self) -> None:
        assert not is_eligible(candidate(unit="U0099"))

    def test_the_unit_filter_keeps_only_the_given_units(self) -> None:
        people = [candidate(unit="U0007"), candidate(unit="U0008")]
        assert [p.unit for p in eligible(people, CampaignScope(), YEAR, {"U0008"})] == ["U0008"]

    def test_a_deceased_retiree_without_survivors_is_not_eligible(self) -> None:
        assert not is_eligible(candidate(status="deceased", survivors=0))

    def test_the_survivors_of_a_deceased_retiree_keep_festival_care(self) -> None:
        assert is_eligible(candidate(status="deceased", survivors=1))

    def test_survivors_are_left_out_when_the_scope_says_so(self) -> None:
        scope = CampaignScope(include_survivors=False)
        assert not is_eligible(candidate(status="deceased", survivors=1), scope)

    def test_survivors_are_left_out_of_an_age_band_campaign(self) -> None:
        assert not is_eligible(candidate(status="deceased", survivors=1, birth_date=date(1957, 5, 1)), DOUBLE_NINTH)

    def test_survivors_are_left_out_of_a_party_only_campaign(self) -> None:
        scope = CampaignScope(party_members_only=True)
        assert not is_eligible(candidate(status="deceased", survivors=1, party_member=True), scope)

    def test_an_erased_retiree_is_not_eligible(self) -> None:
        assert not is_eligible(candidate(erased=True))

    def test_an_erased_deceased_retirees_survivors_are_not_eligible(self) -> None:
        assert not is_eligible(candidate(status="deceased", survivors=2, erased=True))

    def test_a_planned_retiree_not_yet_retired_is_not_eligible(self) -> None:
        assert not is_eligible(candidate(status="planned"))

    def test_a_party_only_campaign_keeps_party_members(self) -> None:
        assert is_eligible(candidate(party_member=True), CampaignScope(party_members_only=True))

    def test_a_party_only_campaign_leaves_out_non_members(self) -> None:
        assert not is_eligible(candidate(party_member=False), CampaignScope(party_members_only=True))

    def test_a_living_alone_campaign_keeps_those_living_alone(self) -> None:
        assert is_eligible(candidate(living_alone=True), CampaignScope(living_alone_only=True))

    def test_a_living_alone_campaign_leaves_out_the_others(self) -> None:
        assert not is_eligible(candidate(living_alone=False), CampaignScope(living_alone_only=True))

    def test_filters_combine(self) -> None:
        scope = CampaignScope(age_bands=[(80, None)], party_members_only=True, living_alone_only=True)
        people = [candidate(birth_date=date(1940, 1, 1), party_member=True, living_alone=True),
                  candidate(birth_date=date(1940, 1, 1), party_member=True, living_alone=False),
                  candidate(birth_date=date(1960, 1, 1), party_member=True, living_alone=True)]
        assert eligible(people, scope, YEAR, UNITS) == people[:1]


class TestScopeUnits:
    def test_the_district_office_without_units_reaches_every_unit(self) -> None:
        assert scope_units(launch(OFFICE), UNITS) == UNITS

    def test_the_district_office_may_reach_some_units(self) -> None:
        assert scope_units(launch(OFFICE, CampaignScope(units=["U0007", "U0009"])), UNITS) == {"U0007", "U0009"}

    def test_an_unknown_unit_is_refused(self) -> None:
        error = refusal(scope_units, launch(OFFICE, CampaignScope(units=["U0007", "U0404"])), UNITS)
        assert (error.code, error.details) == (ErrorCode.VALIDATION, {"field": "scope.units"})

    def test_unit_staff_without_units_reach_only_their_own_unit(self) -> None:
        assert scope_units(launch(STAFF), UNITS) == {"U0007"}

    def test_unit_staff_may_name_their_own_unit(self) -> None:
        assert scope_units(launch(STAFF, CampaignScope(units=["U0007"])), UNITS) == {"U0007"}

    def test_unit_staff_may_not_reach_another_unit(self) -> None:
        error = refusal(scope_units, launch(STAFF, CampaignScope(units=["U0007", "U0008"])), UNITS)
        assert error.code is ErrorCode.FORBIDDEN

    def test_a_unit_head_may_not_reach_another_unit(self) -> None:
        assert refusal(scope_units, launch(HEAD, CampaignScope(units=["U0008"])), UNITS).code is ErrorCode.FORBIDDEN


class TestLaunching:
    def test_a_launch_records_the_units_in_scope_and_the_task_count(self) -> None:
        event = decide_launch(launch(), Campaign(), {"U0008", "U0007"}, 42, NOW)
        assert isinstance(event, CampaignLaunched)
        assert (event.units, event.tasks, event.launched_by, event.launcher_role) == (
            ["U0007", "U0008"], 42, "office", Role.DISTRICT_OFFICE)

    def test_a_launched_campaign_exists_with_its_units(self) -> None:
        state = launched(("U0007", "U0008"))
        assert (state.exists, state.units) == (True, ("U0007", "U0008"))

    def test_launching_twice_is_a_conflict(self) -> None:
        assert refusal(decide_launch, launch(), launched(), UNITS, 1, NOW).code is ErrorCode.CONFLICT

    def test_a_due_date_in_the_past_is_refused(self) -> None:
        error = refusal(decide_launch, launch(due_on=date(2027, 9, 30)), Campaign(), UNITS, 1, NOW)
        assert (error.code, error.details) == (ErrorCode.VALIDATION, {"field": "due_on"})

    def test_a_due_date_of_today_is_accepted(self) -> None:
        assert decide_launch(launch(due_on=date(2027, 10, 1)), Campaign(), UNITS, 1, NOW)

    def test_an_empty_age_band_is_refused(self) -> None:
        error = refusal(decide_launch, launch(scope=CampaignScope(age_bands=[(80, 75)])), Campaign(), UNITS, 1, NOW)
        assert (error.code, error.details) == (ErrorCode.VALIDATION, {"field": "scope.age_bands"})

    def test_a_one_age_band_is_accepted(self) -> None:
        assert decide_launch(launch(scope=CampaignScope(age_bands=[(80, 80)])), Campaign(), UNITS, 1, NOW)

    def test_past_due_is_judged_by_the_districts_day(self) -> None:
        now = datetime(2027, 9, 30, 17, tzinfo=UTC)  # 1 October 01:00 in the district
        error = refusal(decide_launch, launch(due_on=date(2027, 9, 30)), Campaign(), UNITS, 1, now)
        assert error.code is ErrorCode.VALIDATION

    def test_a_due_date_of_the_districts_today_is_accepted_while_utc_is_still_yesterday(self) -> None:
        now = datetime(2027, 9, 30, 17, tzinfo=UTC)  # 1 October 01:00 in the district
        assert decide_launch(launch(due_on=date(2027, 10, 1)), Campaign(), UNITS, 1, now)


class TestTaskSpecs:
    def test_each_eligible_person_gets_a_festival_visit_due_at_the_end_of_the_due_date(self) -> None:
        people = [candidate(), candidate(unit="U0008")]
        specs = task_specs(launch(), people)
        assert [(s.kind, s.retiree_id, s.unit, s.due_at) for s in specs] == [
            (TaskKind.FESTIVAL_VISIT, p.retiree_id, p.unit, datetime(2027, 10, 20, 23, 59, 59, tzinfo=LOCAL_TZ))
            for p in people]

    def test_a_festival_visit_belongs_to_the_campaign_and_its_year(self) -> None:
        [spec] = task_specs(launch(), [candidate()])
        assert (spec.campaign_id, spec.period, spec.cause) == (CID, "2027", "Campaign:double_ninth")

    def test_the_visit_of_a_deceased_retiree_is_for_the_survivors(self) -> None:
        [spec] = task_specs(launch(), [candidate(status="deceased", survivors=1)])
        assert spec.for_survivor

    def test_the_visit_of_a_living_retiree_is_for_themselves(self) -> None:
        [spec] = task_specs(launch(), [candidate()])
        assert not spec.for_survivor

    def test_relaunch_specs_give_the_same_task_ids(self) -> None:
        p = candidate()
        assert task_specs(launch(), [p])[0].task_id == task_specs(launch(), [p])[0].task_id


class TestClosing:
    COVERAGE: ClassVar[dict[str, dict[str, int]]] = {
        "U0007": {"tasks": 5, "done": 4, "cancelled": 1}, "U0008": {"tasks": 3, "done": 1, "cancelled": 0}}

    def test_closing_sums_tasks_and_done_over_the_units(self) -> None:
        event = decide_close(close(), launched(), self.COVERAGE)
        assert isinstance(event, CampaignClosed)
        assert (event.tasks, event.done, event.coverage) == (8, 5, self.COVERAGE)

    def test_closing_with_no_coverage_sums_to_zero(self) -> None:
        event = decide_close(close(), launched(), {})
        assert (event.tasks, event.done) == (0, 0)

    def test_a_closed_campaign_is_closed(self) -> None:
        state = campaign.evolve(launched(), decide_close(close(), launched(), self.COVERAGE))
        assert state.closed

    def test_closing_twice_is_a_conflict(self) -> None:
        state = campaign.evolve(launched(), decide_close(close(), launched(), self.COVERAGE))
        assert refusal(decide_close, close(), state, self.COVERAGE).code is ErrorCode.CONFLICT

    def test_closing_an_unknown_campaign_is_not_found(self) -> None:
        assert refusal(decide_close, close(), Campaign(), {}).code is ErrorCode.NOT_FOUND

    def test_unit_staff_may_not_close_a_campaign_reaching_other_units(self) -> None:
        assert refusal(decide_close, close(STAFF), launched(("U0007", "U0008")), {}).code is ErrorCode.FORBIDDEN

    def test_unit_staff_may_close_their_own_units_campaign(self) -> None:
        assert decide_close(close(STAFF), launched(("U0007",)), {})


DISTRICT_ACTOR = Actor(user="office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")


class TestDoubleNinthDefaults:
    def test_a_double_ninth_campaign_without_bands_takes_the_policys(self) -> None:
        from services.care.campaign import effective_scope  # noqa: PLC0415
        from services.care.policy import load_policy  # noqa: PLC0415

        cmd = LaunchCampaign(command_id=uuid.uuid4(), actor=DISTRICT_ACTOR, campaign_id=uuid.uuid4(),
                             festival=Festival.DOUBLE_NINTH, title="重阳", year=2027, due_on=date(2027, 10, 20))
        assert effective_scope(cmd, load_policy().double_ninth_age_bands).scope.age_bands == [
            (70, 70), (75, 75), (80, 80), (85, 85), (90, None)]

    def test_other_festivals_and_given_bands_are_kept(self) -> None:
        from services.care.campaign import effective_scope  # noqa: PLC0415

        cmd = LaunchCampaign(command_id=uuid.uuid4(), actor=DISTRICT_ACTOR, campaign_id=uuid.uuid4(),
                             festival=Festival.SPRING, title="春节", year=2027, due_on=date(2027, 2, 1))
        assert effective_scope(cmd, [(70, 70)]).scope.age_bands == []
