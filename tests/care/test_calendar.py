"""Given a retiree's facts and a sweep day (or a catch-up range), then these calendar obligations are owed."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest

from contracts.base import LOCAL_TZ
from contracts.care import TaskKind
from services.care.calendar import (
    Person,
    age_on,
    anniversary,
    contact_period,
    contact_span,
    for_day,
    for_range,
    is_high_risk,
    superseded_contacts,
)
from services.care.obligations import TaskSpec
from services.care.policy import load_policy

POLICY = load_policy()
TODAY = date(2027, 3, 15)
UNIT = "U0007"


def person(**facts: object) -> Person:
    fields: dict[str, object] = {"retiree_id": uuid.uuid4(), "unit": UNIT, "birth_date": date(1960, 8, 1)}
    return Person(**(fields | facts))  # type: ignore[arg-type]


def of_kind(specs: list[TaskSpec], kind: TaskKind) -> list[TaskSpec]:
    return [s for s in specs if s.kind is kind]


def eod(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=LOCAL_TZ)


class TestMilestoneBirthdays:
    def test_a_70th_birthday_inside_the_window_opens_one_visit(self) -> None:
        specs = of_kind(for_day([person(birth_date=date(1957, 3, 20))], TODAY, POLICY), TaskKind.BIRTHDAY_VISIT)
        assert len(specs) == 1

    def test_the_birthday_visit_is_due_by_the_end_of_the_birthday(self) -> None:
        [spec] = of_kind(for_day([person(birth_date=date(1957, 3, 20))], TODAY, POLICY), TaskKind.BIRTHDAY_VISIT)
        assert spec.due_at == eod(date(2027, 3, 20))

    def test_the_birthday_visit_belongs_to_the_year_and_names_the_age(self) -> None:
        [spec] = of_kind(for_day([person(birth_date=date(1957, 3, 20))], TODAY, POLICY), TaskKind.BIRTHDAY_VISIT)
        assert (spec.period, spec.cause) == ("2027", "MilestoneBirthday:70")

    def test_an_80th_birthday_inside_the_window_opens_a_visit(self) -> None:
        [spec] = of_kind(for_day([person(birth_date=date(1947, 3, 29))], TODAY, POLICY), TaskKind.BIRTHDAY_VISIT)
        assert spec.cause == "MilestoneBirthday:80"

    def test_a_birthday_exactly_14_days_ahead_opens_a_visit(self) -> None:
        specs = for_day([person(birth_date=date(1957, 3, 29))], TODAY, POLICY)
        assert len(of_kind(specs, TaskKind.BIRTHDAY_VISIT)) == 1

    def test_a_birthday_15_days_ahead_opens_nothing_yet(self) -> None:
        specs = for_day([person(birth_date=date(1957, 3, 30))], TODAY, POLICY)
        assert of_kind(specs, TaskKind.BIRTHDAY_VISIT) == []

    def test_a_birthday_that_passed_yesterday_opens_nothing(self) -> None:
        specs = for_day([person(birth_date=date(1957, 3, 14))], TODAY, POLICY)
        assert of_kind(specs, TaskKind.BIRTHDAY_VISIT) == []

    def test_a_birthday_today_opens_a_visit(self) -> None:
        specs = for_day([person(birth_date=date(1957, 3, 15))], TODAY, POLICY)
        assert len(of_kind(specs, TaskKind.BIRTHDAY_VISIT)) == 1

    @pytest.mark.parametrize("born", [date(1956, 3, 20), date(1952, 3, 20), date(1958, 3, 20)])
    def test_a_non_milestone_birthday_opens_nothing(self, born: date) -> None:
        assert of_kind(for_day([person(birth_date=born)], TODAY, POLICY), TaskKind.BIRTHDAY_VISIT) == []

    def test_a_person_without_a_birth_date_gets_no_birthday_visit(self) -> None:
        assert of_kind(for_day([person(birth_date=None)], TODAY, POLICY), TaskKind.BIRTHDAY_VISIT) == []

    def test_sweeping_each_day_of_the_window_gives_the_same_task_id(self) -> None:
        p = person(birth_date=date(1957, 3, 20))
        ids = {s.task_id for day in range(10, 21)
               for s in of_kind(for_day([p], date(2027, 3, day), POLICY), TaskKind.BIRTHDAY_VISIT)}
        assert len(ids) == 1

    def test_a_29_february_birth_is_visited_on_28_february_in_a_common_year(self) -> None:
        specs = for_day([person(birth_date=date(1956, 2, 29))], date(2026, 2, 20), POLICY)
        [spec] = of_kind(specs, TaskKind.BIRTHDAY_VISIT)
        assert spec.due_at == eod(date(2026, 2, 28))

    def test_a_29_february_birth_is_visited_on_29_february_in_a_leap_year(self) -> None:
        specs = for_day([person(birth_date=date(1948, 2, 29))], date(2028, 2, 20), POLICY)
        [spec] = of_kind(specs, TaskKind.BIRTHDAY_VISIT)
        assert (spec.due_at, spec.cause) == (eod(date(2028, 2, 29)), "MilestoneBirthday:80")

    def test_a_window_across_new_year_opens_the_january_birthday(self) -> None:
        specs = for_day([person(birth_date=date(1958, 1, 5))], date(2027, 12, 25), POLICY)
        [spec] = of_kind(specs, TaskKind.BIRTHDAY_VISIT)
        assert (spec.due_at, spec.period) == (eod(date(2028, 1, 5)), "2028")


class TestAnniversaryHelpers:
    def test_anniversary_of_29_february_in_a_common_year_is_28_february(self) -> None:
        assert anniversary(date(1956, 2, 29), 2027) == date(2027, 2, 28)

    def test_age_on_the_day_before_the_birthday(self) -> None:
        assert age_on(date(1947, 3, 15), date(2027, 3, 14)) == 80 - 1

    def test_age_on_the_birthday(self) -> None:
        assert age_on(date(1947, 3, 15), date(2027, 3, 15)) == POLICY.contact.high_risk_age


class TestContactPeriod:
    def test_a_quarter_is_named_and_ends_on_its_last_day(self) -> None:
        assert contact_period(date(2027, 2, 10), 3) == ("2027Q1", date(2027, 3, 31))

    def test_the_last_quarter_ends_on_31_december(self) -> None:
        assert contact_period(date(2027, 11, 1), 3) == ("2027Q4", date(2027, 12, 31))

    def test_a_month_is_named_and_ends_on_its_last_day(self) -> None:
        assert contact_period(date(2027, 2, 10), 1) == ("2027-02", date(2027, 2, 28))

    def test_february_of_a_leap_year_ends_on_the_29th(self) -> None:
        assert contact_period(date(2028, 2, 1), 1) == ("2028-02", date(2028, 2, 29))

    def test_december_ends_on_31_december(self) -> None:
        assert contact_period(date(2027, 12, 31), 1) == ("2027-12", date(2027, 12, 31))

    def test_another_cadence_is_named_by_its_start_month(self) -> None:
        assert contact_period(date(2027, 8, 1), 6) == ("2027M07+6", date(2027, 12, 31))


class TestRegularContact:
    def test_a_normal_retiree_is_contacted_once_a_quarter(self) -> None:
        [spec] = of_kind(for_day([person()], TODAY, POLICY), TaskKind.REGULAR_CONTACT)
        assert (spec.period, spec.due_at) == ("2027Q1", eod(date(2027, 3, 31)))

    def test_a_high_risk_retiree_is_contacted_once_a_month(self) -> None:
        [spec] = of_kind(for_day([person(risk_tier="high")], TODAY, POLICY), TaskKind.REGULAR_CONTACT)
        assert (spec.period, spec.due_at) == ("2027-03", eod(date(2027, 3, 31)))

    def test_a_retiree_living_alone_is_contacted_monthly(self) -> None:
        [spec] = of_kind(for_day([person(living_alone=True)], date(2027, 2, 3), POLICY), TaskKind.REGULAR_CONTACT)
        assert (spec.period, spec.due_at) == ("2027-02", eod(date(2027, 2, 28)))

    def test_a_hospitalised_retiree_is_contacted_monthly(self) -> None:
        [spec] = of_kind(for_day([person(hospitalized=True)], date(2027, 2, 3), POLICY), TaskKind.REGULAR_CONTACT)
        assert spec.period == "2027-02"

    def test_a_retiree_who_has_reached_80_is_contacted_monthly(self) -> None:
        [spec] = of_kind(for_day([person(birth_date=date(1947, 3, 15))], TODAY, POLICY), TaskKind.REGULAR_CONTACT)
        assert spec.period == "2027-03"

    def test_a_retiree_turning_80_tomorrow_is_still_contacted_quarterly(self) -> None:
        [spec] = of_kind(for_day([person(birth_date=date(1947, 3, 16))], TODAY, POLICY), TaskKind.REGULAR_CONTACT)
        assert spec.period == "2027Q1"

    def test_a_retiree_without_a_birth_date_is_judged_by_the_other_reasons(self) -> None:
        assert not is_high_risk(person(birth_date=None), TODAY, POLICY)

    def test_a_catch_up_range_spanning_two_quarters_gives_two_contact_tasks(self) -> None:
        specs = of_kind(for_range([person()], date(2027, 3, 30), date(2027, 4, 2), POLICY), TaskKind.REGULAR_CONTACT)
        assert [(s.period, s.due_at) for s in specs] == [
            ("2027Q1", eod(date(2027, 3, 31))), ("2027Q2", eod(date(2027, 6, 30)))]

    def test_a_catch_up_range_spanning_two_months_gives_two_monthly_tasks_for_high_risk(self) -> None:
        specs = of_kind(for_range([person(living_alone=True)], date(2027, 3, 30), date(2027, 4, 2), POLICY),
                        TaskKind.REGULAR_CONTACT)
        assert [s.period for s in specs] == ["2027-03", "2027-04"]

    def test_each_day_of_a_quarter_gives_the_same_contact_task(self) -> None:
        p = person()
        ids = {s.task_id for d in (date(2027, 1, 1), TODAY, date(2027, 3, 31))
               for s in of_kind(for_day([p], d, POLICY), TaskKind.REGULAR_CONTACT)}
        assert len(ids) == 1


class TestCadenceChange:
    """One contact task for any day: a new cadence's period takes over an overlapping open task of the old one."""

    def test_every_period_label_spans_its_days(self) -> None:
        assert contact_span("2027Q1") == (date(2027, 1, 1), date(2027, 3, 31))
        assert contact_span("2027-02") == (date(2027, 2, 1), date(2027, 2, 28))
        assert contact_span("2027M07+6") == (date(2027, 7, 1), date(2027, 12, 31))

    def test_turning_high_risk_mid_quarter_supersedes_the_open_quarterly_task(self) -> None:
        p = person(hospitalized=True)
        [monthly] = of_kind(for_day([p], date(2027, 2, 3), POLICY), TaskKind.REGULAR_CONTACT)
        quarterly = uuid.uuid4()
        assert superseded_contacts([monthly], [(quarterly, p.retiree_id, "2027Q1")]) == [quarterly]

    def test_back_to_normal_the_quarter_supersedes_the_open_month(self) -> None:
        p = person()
        [quarterly] = of_kind(for_day([p], date(2027, 2, 3), POLICY), TaskKind.REGULAR_CONTACT)
        february = uuid.uuid4()
        assert superseded_contacts([quarterly], [(february, p.retiree_id, "2027-02")]) == [february]

    def test_an_open_task_of_a_period_that_ended_before_stays_owed(self) -> None:
        p = person(living_alone=True)
        [april] = of_kind(for_day([p], date(2027, 4, 1), POLICY), TaskKind.REGULAR_CONTACT)
        last_quarter = uuid.uuid4()
        assert superseded_contacts([april], [(last_quarter, p.retiree_id, "2027Q1")]) == []

    def test_other_people_and_other_kinds_are_not_touched(self) -> None:
        p = person(hospitalized=True)
        specs = for_day([p], date(2027, 2, 3), POLICY)
        exam_only = of_kind(specs, TaskKind.HEALTH_EXAM)
        someone_else = uuid.uuid4()
        assert superseded_contacts(exam_only, [(uuid.uuid4(), p.retiree_id, "2027Q1")]) == []
        assert superseded_contacts(specs, [(uuid.uuid4(), someone_else, "2027Q1")]) == []


class TestHealthExam:
    def test_a_sweep_opens_this_years_exam_due_on_31_december(self) -> None:
        [spec] = of_kind(for_day([person()], TODAY, POLICY), TaskKind.HEALTH_EXAM)
        assert (spec.period, spec.due_at) == ("2027", eod(date(2027, 12, 31)))

    def test_the_exam_is_one_task_per_year(self) -> None:
        p = person()
        ids = {s.task_id for d in (date(2027, 1, 1), TODAY, date(2027, 12, 31))
               for s in of_kind(for_day([p], d, POLICY), TaskKind.HEALTH_EXAM)}
        assert len(ids) == 1

    def test_next_years_exam_is_a_new_task(self) -> None:
        p = person()
        [this] = of_kind(for_day([p], date(2027, 12, 31), POLICY), TaskKind.HEALTH_EXAM)
        [next_] = of_kind(for_day([p], date(2028, 1, 1), POLICY), TaskKind.HEALTH_EXAM)
        assert this.task_id != next_.task_id

    def test_a_range_across_new_year_opens_both_years(self) -> None:
        specs = of_kind(for_range([person()], date(2027, 12, 30), date(2028, 1, 2), POLICY), TaskKind.HEALTH_EXAM)
        assert [s.period for s in specs] == ["2027", "2028"]


class TestPoliticalBirthday:
    def test_an_anniversary_within_7_days_opens_a_greeting_due_on_the_date(self) -> None:
        [spec] = of_kind(for_day([person(party_joined_on=date(1980, 3, 22))], TODAY, POLICY),
                         TaskKind.POLITICAL_BIRTHDAY)
        assert (spec.due_at, spec.period) == (eod(date(2027, 3, 22)), "2027")

    def test_an_anniversary_8_days_ahead_opens_nothing_yet(self) -> None:
        specs = for_day([person(party_joined_on=date(1980, 3, 23))], TODAY, POLICY)
        assert of_kind(specs, TaskKind.POLITICAL_BIRTHDAY) == []

    def test_an_anniversary_that_passed_opens_nothing(self) -> None:
        specs = for_day([person(party_joined_on=date(1980, 3, 14))], TODAY, POLICY)
        assert of_kind(specs, TaskKind.POLITICAL_BIRTHDAY) == []

    def test_the_year_of_joining_has_no_political_birthday(self) -> None:
        specs = for_day([person(party_joined_on=date(2027, 3, 10))], date(2027, 3, 8), POLICY)
        assert of_kind(specs, TaskKind.POLITICAL_BIRTHDAY) == []

    def test_a_non_member_has_no_political_birthday(self) -> None:
        assert of_kind(for_day([person()], TODAY, POLICY), TaskKind.POLITICAL_BIRTHDAY) == []


class TestFiftyYearsInTheParty:
    def test_the_year_of_reaching_50_years_puts_the_member_on_the_list(self) -> None:
        [spec] = of_kind(for_day([person(party_joined_on=date(1977, 7, 1))], TODAY, POLICY), TaskKind.PARTY_50_YEARS)
        assert (spec.due_at, spec.period, spec.cause) == (eod(date(2027, 7, 1)), "honour", "PartyYears:50")

    def test_the_year_before_puts_nobody_on_the_list(self) -> None:
        specs = for_day([person(party_joined_on=date(1977, 7, 1))], date(2026, 12, 31), POLICY)
        assert of_kind(specs, TaskKind.PARTY_50_YEARS) == []

    def test_the_year_after_puts_nobody_on_the_list(self) -> None:
        specs = for_day([person(party_joined_on=date(1977, 7, 1))], date(2028, 1, 1), POLICY)
        assert of_kind(specs, TaskKind.PARTY_50_YEARS) == []

    def test_more_than_50_years_is_not_listed_again(self) -> None:
        specs = for_day([person(party_joined_on=date(1970, 7, 1))], TODAY, POLICY)
        assert of_kind(specs, TaskKind.PARTY_50_YEARS) == []


class TestTalentReview:
    def test_a_review_opens_30_days_before_it_is_due(self) -> None:
        [spec] = of_kind(for_day([person(talent_reviewed_on=date(2025, 4, 14))], TODAY, POLICY),
                         TaskKind.TALENT_REVIEW)
        assert spec.due_at == eod(date(2027, 4, 14))

    def test_a_review_31_days_ahead_opens_nothing_yet(self) -> None:
        specs = for_day([person(talent_reviewed_on=date(2025, 4, 15))], TODAY, POLICY)
        assert of_kind(specs, TaskKind.TALENT_REVIEW) == []

    def test_an_overdue_review_is_still_owed(self) -> None:
        specs = for_day([person(talent_reviewed_on=date(2024, 1, 10))], TODAY, POLICY)
        [spec] = of_kind(specs, TaskKind.TALENT_REVIEW)
        assert spec.period == "review-after-2024-01-10"

    def test_someone_never_reviewed_is_not_in_the_pool(self) -> None:
        assert of_kind(for_day([person()], TODAY, POLICY), TaskKind.TALENT_REVIEW) == []


class TestTheSweep:
    def test_every_spec_belongs_to_the_persons_unit(self) -> None:
        p = person(birth_date=date(1957, 3, 20), party_joined_on=date(1977, 3, 20), talent_reviewed_on=date(2025, 4, 1))
        assert {s.unit for s in for_day([p], TODAY, POLICY)} == {UNIT}

    def test_a_plain_retiree_owes_contact_and_exam_only(self) -> None:
        assert {s.kind for s in for_day([person()], TODAY, POLICY)} == {TaskKind.REGULAR_CONTACT, TaskKind.HEALTH_EXAM}

    def test_nobody_to_sweep_owes_nothing(self) -> None:
        assert for_day([], TODAY, POLICY) == []


class TestLateArrivals:
    def test_an_obligation_found_after_its_date_is_due_a_week_after_it_is_found(self) -> None:
        late = date(2027, 11, 24)
        [spec] = of_kind(for_day([person(party_joined_on=date(1977, 7, 1))], late, POLICY), TaskKind.PARTY_50_YEARS)
        assert spec.due_at == eod(date(2027, 12, 1))
