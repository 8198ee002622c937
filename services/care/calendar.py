"""Calendar obligations, found by the daily sweep: milestone birthdays, regular contact, yearly exams,
political birthdays, "50 years in the Party" and talent-pool reviews. Pure: facts and a day in, specs out.

Every spec is keyed by (retiree, kind, period), so the sweep can run any number of times a day. A period is a
year, quarter or month: "visited this year" belongs to that year and is never inherited by the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from uuid import UUID

from contracts.care import TaskKind
from services.care.obligations import TaskSpec, end_of_day
from services.care.policy import Policy


@dataclass(frozen=True)
class Person:
    """The facts of one living retiree the calendar needs."""

    retiree_id: UUID
    unit: str
    birth_date: date | None
    risk_tier: str = "normal"
    living_alone: bool = False
    hospitalized: bool = False
    party_joined_on: date | None = None
    talent_reviewed_on: date | None = None


def anniversary(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # born on 29 February: celebrated on 28 February in common years
        return day.replace(year=year, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_high_risk(p: Person, day: date, policy: Policy) -> bool:
    """High risk (monthly contact): 80+, living alone or seriously ill (in hospital), or marked high by staff."""
    old = p.birth_date is not None and age_on(p.birth_date, day) >= policy.contact.high_risk_age
    return p.risk_tier == "high" or p.living_alone or p.hospitalized or old


def contact_period(day: date, months: int) -> tuple[str, date]:
    """The period containing `day` for a cadence of `months`, and its last day."""
    start_month = ((day.month - 1) // months) * months + 1
    end_month = start_month + months - 1
    last = (date(day.year + end_month // 12, end_month % 12 + 1, 1) - timedelta(days=1))
    if months == 1:
        return f"{day.year}-{day.month:02d}", last
    if months == 3:  # noqa: PLR2004
        return f"{day.year}Q{(day.month - 1) // 3 + 1}", last
    return f"{day.year}M{start_month:02d}+{months}", last


def contact_span(period: str) -> tuple[date, date]:
    """The first and last day of a period label made by contact_period."""
    year = int(period[:4])
    if "Q" in period:
        first, months = date(year, 3 * int(period[5:]) - 2, 1), 3
    elif "M" in period:
        start, span = period[5:].split("+")
        first, months = date(year, int(start), 1), int(span)
    else:
        first, months = date(year, int(period[5:]), 1), 1
    return first, contact_period(first, months)[1]


def superseded_contacts(opened: Iterable[TaskSpec], open_contacts: Iterable[tuple[UUID, UUID, str]],
                        ) -> list[UUID]:
    """When a person's cadence changes (hospitalised, turned 80, discharged), the task of the new period takes
    over from an open contact task of the old cadence whose period overlaps it: one contact task a day, never a
    quarterly and a monthly for the same weeks. A task of a period that ended before the new one began is still
    owed and stays. `open_contacts` are (task_id, retiree_id, period) of open contact tasks not just opened.
    """
    starts: dict[UUID, date] = {}
    for s in opened:
        if s.kind is TaskKind.REGULAR_CONTACT and s.period:
            first = contact_span(s.period)[0]
            starts[s.retiree_id] = min(first, starts.get(s.retiree_id, first))
    return [tid for tid, rid, period in open_contacts
            if rid in starts and contact_span(period)[1] >= starts[rid]]


def superseded_reason(new_period: str) -> str:
    return f"联系周期调整，由{new_period}的日常联系替代"


LATE_GRACE = timedelta(days=7)


def months_between(start: date, end: date) -> list[date]:
    """The first day of every month touched by [start, end]."""
    out, cur = [], date(start.year, start.month, 1)
    while cur <= end:
        out.append(cur)
        cur = date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
    return out


def for_range(people: Iterable[Person], start: date, end: date, policy: Policy) -> list[TaskSpec]:
    """Every calendar obligation arising on the days start..end (one day normally; more when the sweep catches
    up after the clock jumped).
    """
    specs: list[TaskSpec] = []
    months = months_between(start, end)
    for p in people:
        specs += _birthday(p, start, end, policy) + _party(p, start, end, policy) + _talent(p, end, policy)
        specs += _contact(p, months, end, policy) + _exam(p, start, end)
    # An obligation found after its date (a person entered late) is owed, but cannot be overdue on arrival.
    floor = end_of_day(start)
    return [s if s.due_at >= floor else replace(s, due_at=end_of_day(start + LATE_GRACE)) for s in specs]


def for_day(people: Iterable[Person], day: date, policy: Policy) -> list[TaskSpec]:
    return for_range(people, day, day, policy)


def _spec(p: Person, kind: TaskKind, due: date, period: str, cause: str) -> TaskSpec:
    return TaskSpec(kind=kind, retiree_id=p.retiree_id, unit=p.unit, due_at=end_of_day(due), cause=cause,
                    period=period)


def _anniversaries(origin: date, start: date, end: date) -> list[date]:
    return [d for year in range(start.year, end.year + 1) if start <= (d := anniversary(origin, year)) <= end]


def _birthday(p: Person, start: date, end: date, policy: Policy) -> list[TaskSpec]:
    if p.birth_date is None:
        return []
    horizon = end + timedelta(days=policy.birthday_open_days_before)
    return [_spec(p, TaskKind.BIRTHDAY_VISIT, when, str(when.year),
                  f"MilestoneBirthday:{when.year - p.birth_date.year}")
            for when in _anniversaries(p.birth_date, start, horizon)
            if when.year - p.birth_date.year in policy.milestone_ages]


def _contact(p: Person, months: list[date], end: date, policy: Policy) -> list[TaskSpec]:
    """One contact per period; the cadence (monthly for high risk) is judged on the sweep's last day."""
    cadence = policy.contact.high_risk_every_months if is_high_risk(p, end, policy) else \
        policy.contact.normal_every_months
    periods = {contact_period(m, cadence) for m in months}
    return [_spec(p, TaskKind.REGULAR_CONTACT, last, period, "RegularContact") for period, last in sorted(periods)]


def _exam(p: Person, start: date, end: date) -> list[TaskSpec]:
    return [_spec(p, TaskKind.HEALTH_EXAM, date(year, 12, 31), str(year), "YearlyHealthExam")
            for year in range(start.year, end.year + 1)]


def _party(p: Person, start: date, end: date, policy: Policy) -> list[TaskSpec]:
    if p.party_joined_on is None:
        return []
    horizon = end + timedelta(days=policy.political_birthday_open_days_before)
    out = [_spec(p, TaskKind.POLITICAL_BIRTHDAY, when, str(when.year), "PoliticalBirthday")
           for when in _anniversaries(p.party_joined_on, start, horizon) if when.year > p.party_joined_on.year]
    honour = anniversary(p.party_joined_on, p.party_joined_on.year + policy.party_honour_years)
    if start.year <= honour.year <= end.year:  # the year they reach 50 years in the Party puts them on the list
        out.append(_spec(p, TaskKind.PARTY_50_YEARS, honour, "honour", f"PartyYears:{policy.party_honour_years}"))
    return out


def _talent(p: Person, end: date, policy: Policy) -> list[TaskSpec]:
    if p.talent_reviewed_on is None:
        return []
    due = anniversary(p.talent_reviewed_on, p.talent_reviewed_on.year + policy.talent_review_every_years)
    if due - timedelta(days=30) <= end:
        return [_spec(p, TaskKind.TALENT_REVIEW, due, f"review-after-{p.talent_reviewed_on.isoformat()}",
                      "TalentReview")]
    return []
