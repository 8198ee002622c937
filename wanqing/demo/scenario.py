"""What happens in the demo's quarter, planned up front from the seed: pure, one list of actions per day.

The staff's behaviour with care tasks is not planned here but decided per task when it is seen open
(`completion_day`): most on time, some late (the ladder escalates them), a few not at all.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from contracts.base import LOCAL_TZ
from wanqing.demo.district import District, new_person

# 重阳 (the 9th day of the 9th lunar month) in the Gregorian calendar.
DOUBLE_NINTH = {2026: date(2026, 10, 18), 2027: date(2027, 10, 8), 2028: date(2028, 10, 26),
                2029: date(2029, 10, 16), 2030: date(2030, 10, 5)}
DOUBLE_NINTH_BANDS: list[list[int | None]] = [[70, 70], [75, 75], [80, 80], [85, 85], [90, None]]
MIN_DAYS = 10


@dataclass(frozen=True)
class Action:
    kind: str  # see run.Simulation.act
    args: dict[str, Any]


@dataclass
class NewRetirement:
    retiree_id: str
    unit: str
    name: str
    id_number: str
    birth: date
    plan_day: int
    approve_day: int
    batch: bool
    decline: bool = False
    late_ceremony: bool = False


@dataclass
class Quarter:
    start: date
    days: int
    batch_units: list[str]
    retirements: list[NewRetirement]
    actions: dict[int, list[Action]] = field(default_factory=dict)

    def add(self, day: int, action: str, /, **args: Any) -> None:
        self.actions.setdefault(min(max(day, 0), self.days - 1), []).append(Action(action, args))

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)


def _uuid(rng: random.Random) -> str:
    import uuid  # noqa: PLC0415 - only here

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def plan(d: District, start: date, days: int, seed: int = 2027) -> Quarter:  # noqa: C901, PLR0912, PLR0915 - one script
    if days < MIN_DAYS:
        raise ValueError(f"the demo needs at least {MIN_DAYS} days")
    rng = random.Random(seed * 7919 + days)  # noqa: S311 - a demo's script, not secrets
    units = [u.code for u in d.member_units]
    batch_units = units[2:5] if len(units) >= 5 else units[-1:] if len(units) >= 2 else []  # noqa: PLR2004
    last = days - 1
    batch_day = last - 2 if days >= 30 else last  # noqa: PLR2004
    q = Quarter(start, days, batch_units, [])
    for code in batch_units:
        q.add(0, "set_mode", unit=code)

    # -------------------------------------------------------------- new retirements: plan → talks → approval
    gap = 5 if days >= 30 else 2  # noqa: PLR2004
    count = max(3, min(24, len(units)))
    taken = {r.id_number for r in d.retirees}
    for i in range(count):
        unit = units[i % len(units)]
        batch = unit in batch_units
        latest_plan = max(0, (batch_day - 8 if batch else last - 2 * gap - 6))
        p = rng.randrange(0, latest_plan + 1)
        birth = start.replace(year=start.year - 60) + timedelta(days=rng.randrange(0, max(1, days - 10)))
        name, _sex, id_number = new_person(rng, birth, taken)
        nr = NewRetirement(_uuid(rng), unit, name, id_number, birth, p, p + gap, batch)
        q.retirements.append(nr)
    individual = [r for r in q.retirements if not r.batch]
    if individual:
        individual[0].decline = True
    if len(individual) > 2 and days >= 60:  # noqa: PLR2004
        individual[1].late_ceremony = True
        individual[1].plan_day = 0
        individual[1].approve_day = gap
    for nr in q.retirements:
        a = nr.approve_day
        q.add(nr.plan_day, "register_planned", r=nr, planned_date=q.date_of(a + 3))
        q.add(a, "approve", r=nr, doc=f"区人社〔{start.year}〕{100 + q.retirements.index(nr)}号")
        q.add(a + 1, "decline" if nr.decline else "consent", r=nr)
        if not nr.batch and not nr.decline:
            held = a + 45 if nr.late_ceremony else min(a + rng.randrange(3, 20) if days >= 30 else a + 2, last)  # noqa: PLR2004
            held = min(held, last)
            q.add(a + 1, "schedule", r=nr, held_on=q.date_of(held))
            q.add(held, "hold", r=nr)
        q.add(a + 2, "handover", r=nr, step="benefits_explained")
        q.add(a + 3, "handover", r=nr, step="wechat_group_joined")
        q.add(a + (40 if nr is q.retirements[-1] and days >= 60 else 4), "handover_ack", r=nr)  # noqa: PLR2004
    for code in batch_units:
        members = [r for r in q.retirements if r.unit == code]
        if members:
            q.add(max(r.approve_day for r in members) + 1, "schedule_batch", unit=code, held_on=q.date_of(batch_day))
            q.add(batch_day, "hold_batch", unit=code)

    # -------------------------------------------------------------- life happens to the retired
    living = [r for r in d.retirees if r.died_on is None]
    rng.shuffle(living)
    n_hosp = max(2, len(living) // 100)
    n_emerg = max(1, len(living) // 300)
    n_death = max(1, len(living) // 200)
    hosp, living = living[:n_hosp], living[n_hosp:]
    emerg, living = living[:n_emerg], living[n_emerg:]
    deaths, living = living[:n_death], living[n_death:]
    hardship, living = living[:2], living[2:]
    hospitals = ("区人民医院", "区中医院", "市第一人民医院", "市第二人民医院", "区妇幼保健院")
    for r in hosp:
        h = rng.randrange(0, max(1, last - 2))
        q.add(h, "hospitalize", r=r, hospital=rng.choice(hospitals), severity=rng.choice(("serious", "critical")))
        out = h + rng.randrange(3, 13)
        if out <= last and rng.random() < 0.85:  # noqa: PLR2004
            q.add(out, "discharge", r=r)
    kinds = (("bereavement", "老伴病故"), ("serious_illness", "子女突发重病住院"), ("accident", "家中失火，财物受损"),
             ("disaster", "暴雨致房屋漏水受损"))
    for r in emerg:
        kind, text = rng.choice(kinds)
        q.add(rng.randrange(0, last), "emergency", r=r, kind=kind, description=text)
    for r in deaths:
        q.add(rng.randrange(1, last + 1), "death", r=r, survivor=rng.random() < 0.7)  # noqa: PLR2004
    for i, r in enumerate(hardship):
        x = rng.randrange(0, max(1, last - 9)) if days >= 30 else 0  # noqa: PLR2004
        q.add(x, "hardship", r=r, amount=3000 + 2000 * i,
              description="老伴长期卧床，医疗费用负担较重，家庭生活困难" if i == 0 else "本人患慢性病，自付药费较高")
        step = 3 if days >= 30 else 1  # noqa: PLR2004
        q.add(x + step, "assess", r=r, amount=3000 + 2000 * i - 500)
        q.add(x + 2 * step, "approve_assistance", r=r)
        q.add(x + 3 * step, "pay", r=r)

    # -------------------------------------------------------------- 重阳: visit the 70/75/80/85/90+ in October
    festival = DOUBLE_NINTH.get(start.year, date(start.year, 10, 10))
    launch = max(0, min((festival - timedelta(days=7) - start).days, last))
    q.add(launch, "double_ninth", year=start.year, due_on=max(festival + timedelta(days=7), q.date_of(launch + 1)))
    return q


# ------------------------------------------------------------------ how staff handle care tasks


def _u(task_id: str, salt: str = "") -> float:
    digest = hashlib.sha256(f"{task_id}{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def local_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).date()


def completion_day(task: dict[str, Any]) -> date | None:  # noqa: PLR0911 - one rule per kind
    """The day staff get to this task (None: they do not, this quarter). Deterministic by task id."""
    tid, kind = task["task_id"], task["kind"]
    opened, due = local_day(task["opened_at"]), local_day(task["due_at"])
    u, v = _u(tid), _u(tid, "v")
    span = max(0, (due - opened).days)
    if kind in ("talk_org_with_head", "talk_head_with_retiree"):
        return opened + timedelta(days=1 + int(v * 2)) if u < 0.9 else opened + timedelta(days=8)  # noqa: PLR2004
    if kind in ("hospital_visit", "family_emergency_visit", "bereavement_visit", "discharge_follow_up"):
        if u < 0.8:  # noqa: PLR2004
            return opened + timedelta(days=min(span, 1 + int(v * 2)))
        return due + timedelta(days=2) if u < 0.94 else None  # noqa: PLR2004
    if kind in ("birthday_visit", "political_birthday", "party_50_years", "talent_review"):
        if u < 0.85:  # noqa: PLR2004
            return max(opened, due - timedelta(days=int(v * 3)))
        return due + timedelta(days=3) if u < 0.95 else None  # noqa: PLR2004
    if kind == "festival_visit":
        if u < 0.88:  # noqa: PLR2004
            return opened + timedelta(days=int(v * max(0, span - 1)))
        return due + timedelta(days=3) if u < 0.95 else None  # noqa: PLR2004
    if kind == "regular_contact":
        return opened + timedelta(days=int(v * max(0, span - 3))) if u < 0.92 else None  # noqa: PLR2004
    if kind == "health_exam":
        return opened + timedelta(days=int(v * 80)) if u < 0.35 else None  # noqa: PLR2004
    return opened + timedelta(days=1)


FORMS = {"talk_org_with_head": "group", "talk_head_with_retiree": "home", "hospital_visit": "hospital",
         "health_exam": "hospital", "political_birthday": "group"}
GIFTS = {"festival_visit": ("重阳慰问品（牛奶、糕点）", 300), "birthday_visit": ("生日蛋糕、鲜花", 200),
         "bereavement_visit": ("花圈、慰问金", 1000), "hospital_visit": ("水果、慰问金", 500),
         "family_emergency_visit": ("慰问金", 800)}
