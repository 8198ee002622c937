"""The demo district generator and the quarter's script: pure, deterministic by seed."""
# ruff: noqa: PLR2004 - the expected counts and bounds are what these tests state

from __future__ import annotations

from collections import Counter
from datetime import date

from contracts.id_number import parse_id_number
from wanqing.demo.district import generate
from wanqing.demo.scenario import completion_day, plan

TODAY = date(2027, 9, 30)


def test_same_seed_same_district_other_seed_other_district() -> None:
    a, b = generate(7, today=TODAY), generate(7, today=TODAY)
    assert a.retirees == b.retirees
    assert a.staff == b.staff
    assert a.units == b.units
    assert generate(8, today=TODAY).retirees != a.retirees


def test_counts_kinds_and_the_district_unit() -> None:
    d = generate(2027, units=30, retirees=3000, district="QU01", today=TODAY)
    assert len(d.retirees) == 3000
    assert d.units[0].code == "QU01"
    assert d.units[0].kind == "district"
    members = d.member_units
    assert [u.code for u in members] == [f"U{i:04d}" for i in range(1, 31)]
    assert all(u.parent == "QU01" for u in members)
    kinds = Counter(u.kind for u in members)
    assert set(kinds) == {"bureau", "town", "subdistrict", "enterprise"}
    assert kinds["bureau"] >= 10
    assert len({u.name for u in d.units}) == len(d.units)
    assert all(d.retirees_of(u.code) for u in members)  # every unit has retirees


def test_staff_per_unit_and_care_contacts() -> None:
    d = generate(2027, units=12, retirees=100, today=TODAY)
    for u in d.member_units:
        roles = Counter(s.role for s in d.staff if s.unit == u.code)
        assert roles["unit_head"] == 1
        assert roles["party_secretary"] == 1
        assert 1 <= roles["unit_staff"] <= 2
        contact = d.care_contacts[u.code]
        assert any(s.user == contact and s.role == "unit_staff" for s in d.staff)
    assert sum(s.role == "district_office" for s in d.staff) >= 1
    assert len({s.user for s in d.staff}) == len(d.staff)


def test_id_numbers_are_valid_unique_and_match_birth_and_sex() -> None:
    d = generate(11, retirees=3000, today=TODAY)
    assert len({r.id_number for r in d.retirees}) == len(d.retirees)
    assert len({r.retiree_id for r in d.retirees}) == len(d.retirees)
    assert len({r.id_number[:6] for r in d.retirees}) > 10  # people came from many regions
    for r in d.retirees:
        parsed = parse_id_number(r.id_number, TODAY)
        assert parsed.birth_date == r.birth_date
        assert parsed.sex == r.sex


def test_realistic_people() -> None:
    d = generate(2027, retirees=3000, today=TODAY)
    people = d.retirees
    party = sum(r.party_joined_on is not None for r in people) / len(people)
    assert 0.36 <= party <= 0.44
    assert all(1930 <= r.birth_date.year <= 1966 for r in people)
    assert all(r.retirement_date <= TODAY for r in people)
    for r in people:
        age = r.retirement_date.year - r.birth_date.year
        assert age == (60 if r.sex == "male" else 55)
        if r.party_joined_on:
            assert r.birth_date < r.party_joined_on < TODAY
        if r.died_on:
            assert r.retirement_date < r.died_on < TODAY
        assert 2 <= len(r.name) <= 3
        assert len(r.phone) == 11
        assert r.phone.startswith("1")
    deceased = [r for r in people if r.died_on]
    assert 30 <= len(deceased) <= 150
    assert any(r.survivor for r in deceased)
    assert 150 <= sum(r.high_risk for r in people) <= 450
    assert sum(r.living_alone for r in people) > 100
    assert len(Counter(r.name[0] for r in people)) > 40  # many surnames, the common ones most


def test_the_quarter_has_every_kind_of_event_and_fits_its_days() -> None:
    d = generate(2027, units=30, retirees=3000, today=TODAY)
    q = plan(d, date(2027, 10, 1), 92)
    kinds = Counter(a.kind for acts in q.actions.values() for a in acts)
    for kind in ("set_mode", "register_planned", "approve", "consent", "decline", "schedule", "hold",
                 "schedule_batch", "hold_batch", "handover", "handover_ack", "hospitalize", "discharge",
                 "emergency", "death", "hardship", "assess", "approve_assistance", "pay", "double_ninth"):
        assert kinds[kind] >= 1, kind
    assert kinds["decline"] == 1
    assert max(q.actions) < 92
    small = plan(generate(1, units=3, retirees=60, today=TODAY), date(2027, 10, 1), 10)
    assert max(small.actions) < 10
    assert Counter(a.kind for acts in small.actions.values() for a in acts)["hold"] >= 1


def test_staff_behaviour_is_deterministic_and_mostly_on_time() -> None:
    tasks = [{"task_id": f"00000000-0000-4000-8000-{i:012d}", "kind": "hospital_visit",
              "opened_at": "2027-10-02T09:00:00+08:00", "due_at": "2027-10-05T09:00:00+08:00"} for i in range(400)]
    days = [completion_day(t) for t in tasks]
    assert days == [completion_day(t) for t in tasks]
    on_time = sum(1 for day in days if day is not None and day <= date(2027, 10, 5))
    late = sum(1 for day in days if day is not None and day > date(2027, 10, 5))
    never = days.count(None)
    assert on_time > 0.7 * len(tasks)
    assert late > 0
    assert never > 0
