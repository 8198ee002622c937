"""Festival campaigns (节日走访慰问): who is eligible, and the rules of launching and closing. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import assert_never
from uuid import UUID

from contracts.base import Actor, Event, local_date
from contracts.care import (
    CampaignClosed,
    CampaignCommand,
    CampaignLaunched,
    CampaignScope,
    CloseCampaign,
    Festival,
    LaunchCampaign,
    TaskKind,
)
from contracts.errors import conflict, forbidden, not_found, refused
from services.care.obligations import TaskSpec, end_of_day


@dataclass(frozen=True)
class Campaign:
    version: int = 0
    exists: bool = False
    closed: bool = False
    units: tuple[str, ...] = ()
    launched_by_unit: str | None = None


def evolve(state: Campaign, event: Event) -> Campaign:
    s = replace(state, version=state.version + 1)
    match event:
        case CampaignLaunched():
            return replace(s, exists=True, units=tuple(event.units))
        case CampaignClosed():
            return replace(s, closed=True)
        case _:
            return s


@dataclass(frozen=True)
class Candidate:
    """A retiree's facts as campaigns see them."""

    retiree_id: UUID
    unit: str
    status: str
    birth_date: date | None
    party_member: bool
    living_alone: bool
    survivors: int
    erased: bool


@dataclass(frozen=True)
class Facts:
    """What a campaign's commands are decided with, gathered by the handler."""

    now: datetime
    units: frozenset[str] = frozenset()  # the units a launch reaches (scope_units)
    tasks: int = 0  # the visits a launch owes (len of eligible)
    coverage: Mapping[str, dict[str, int]] = field(default_factory=dict)  # a close's counts per unit


def decide(cmd: CampaignCommand, state: Campaign, facts: Facts) -> list[Event]:
    match cmd:
        case LaunchCampaign():
            return [decide_launch(cmd, state, set(facts.units), facts.tasks, facts.now)]
        case CloseCampaign():
            return [decide_close(cmd, state, dict(facts.coverage))]
        case _:
            assert_never(cmd)


def in_band(age: int, bands: list[tuple[int, int | None]]) -> bool:
    return any(low <= age and (high is None or age <= high) for low, high in bands)


def eligible(people: Iterable[Candidate], scope: CampaignScope, year: int, units: set[str]) -> list[Candidate]:
    """Living retirees in scope by the age they reach in the campaign's year; survivors of the deceased stay in
    festival care (practice) unless the scope leaves them out; the deceased themselves and erased are never in.
    """
    out = []
    for p in people:
        if p.unit not in units or p.erased:
            continue
        if p.status == "deceased":
            # Survivors stay in festival care, but filters about the retiree (age, party, living alone) cannot
            # be judged for a survivor, so a filtered campaign leaves them out.
            filtered = scope.age_bands or scope.party_members_only or scope.living_alone_only
            if scope.include_survivors and p.survivors > 0 and not filtered:
                out.append(p)
            continue
        if p.status != "retired":
            continue
        if scope.age_bands and (p.birth_date is None or not in_band(year - p.birth_date.year, scope.age_bands)):
            continue
        if scope.party_members_only and not p.party_member:
            continue
        if scope.living_alone_only and not p.living_alone:
            continue
        out.append(p)
    return out


def effective_scope(
    cmd: LaunchCampaign, double_ninth_bands: list[tuple[int, int | None]],
) -> LaunchCampaign:
    """重阳 visits the policy's age bands (70/75/80/85/≥90 by default) unless the launcher gave bands."""
    if cmd.festival is Festival.DOUBLE_NINTH and not cmd.scope.age_bands:
        return cmd.model_copy(update={"scope": cmd.scope.model_copy(update={"age_bands": double_ninth_bands})})
    return cmd


def scope_units(cmd: LaunchCampaign, all_units: set[str]) -> set[str]:
    """The district office may reach all or some units; a unit only itself."""
    asked = set(cmd.scope.units)
    if unknown := asked - all_units:
        raise refused(f"unknown units in scope: {', '.join(sorted(unknown))}",
                      zh=f"慰问范围中有未登记的单位：{'、'.join(sorted(unknown))}", field="scope.units")
    if cmd.actor.oversees_all:
        return asked or all_units
    if asked and asked != {cmd.actor.unit}:
        raise forbidden(f"{cmd.actor.user} may launch a campaign only for {cmd.actor.unit}",
                        zh="单位只能为本单位发起节日慰问活动")
    return {cmd.actor.unit}


def decide_launch(cmd: LaunchCampaign, state: Campaign, units: set[str], task_count: int, now: datetime) -> Event:
    if state.exists:
        raise conflict(f"campaign {cmd.campaign_id} was already launched", zh="该节日慰问活动已发起")
    if cmd.due_on < local_date(now):
        raise refused(f"due date {cmd.due_on} has passed", zh=f"完成期限 {cmd.due_on} 已过，请重新填写", field="due_on")
    for low, high in cmd.scope.age_bands:
        if high is not None and high < low:
            raise refused(f"age band [{low}, {high}] is empty", zh=f"年龄段 {low}—{high} 岁有误：上限小于下限",
                          field="scope.age_bands")
    return CampaignLaunched(campaign_id=cmd.campaign_id, festival=cmd.festival, title=cmd.title, year=cmd.year,
                            due_on=cmd.due_on, scope=cmd.scope, launched_by=cmd.actor.user,
                            launcher_role=cmd.actor.role, units=sorted(units), tasks=task_count)


def task_specs(cmd: LaunchCampaign, people: list[Candidate]) -> list[TaskSpec]:
    return specs_for(cmd.campaign_id, cmd.festival.value, cmd.year, cmd.due_on,
                     [(p.retiree_id, p.unit, p.status == "deceased") for p in people])


def specs_for(campaign_id: UUID, festival: str, year: int, due_on: date,
              people: list[tuple[UUID, str, bool]]) -> list[TaskSpec]:
    """One festival visit per (person, survivor or self), due at the end of the campaign's due date."""
    due = end_of_day(due_on)
    return [TaskSpec(kind=TaskKind.FESTIVAL_VISIT, retiree_id=rid, unit=unit, due_at=due,
                     cause=f"Campaign:{festival}", period=str(year), campaign_id=campaign_id,
                     for_survivor=for_survivor)
            for rid, unit, for_survivor in people]


def decide_close(cmd: CloseCampaign, state: Campaign, coverage: dict[str, dict[str, int]]) -> Event:
    if not state.exists:
        raise not_found(f"no campaign {cmd.campaign_id}", zh="找不到该节日慰问活动")
    if state.closed:
        raise conflict("the campaign is already closed", zh="该节日慰问活动已结束")
    _may_close(cmd.actor, state)
    tasks = sum(c["tasks"] for c in coverage.values())
    done = sum(c["done"] for c in coverage.values())
    return CampaignClosed(campaign_id=cmd.campaign_id, coverage=coverage, tasks=tasks, done=done)


def _may_close(actor: Actor, state: Campaign) -> None:
    if actor.oversees_all:
        return
    if state.units != (actor.unit,):
        raise forbidden("only the district office closes a campaign that reaches other units",
                        zh="涉及多个单位的慰问活动只能由区老干部局结束")
