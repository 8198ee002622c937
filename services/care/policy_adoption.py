"""Adopting a version of the care policy (stream `care-policy`): pure decide/evolve.

The newest adopted version rules new tasks; every task keeps the version it opened under.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from contracts.base import Actor, Event
from contracts.care import PolicyAdopted
from contracts.errors import conflict, forbidden
from services.care.policy import Policy


@dataclass(frozen=True)
class Adoptions:
    versions: frozenset[str] = frozenset()
    current: str | None = None


def evolve(state: Adoptions, event: Event) -> Adoptions:
    if isinstance(event, PolicyAdopted):
        return replace(state, versions=state.versions | {event.version}, current=event.version)
    return state


def decide_adopt(  # noqa: PLR0913 - who, what, when, and whether it is the policy file at start-up
    state: Adoptions, actor: Actor, policy: Policy, raw: dict[str, Any], now: datetime, *, at_start: bool,
) -> list[Event]:
    """A new version is adopted; the one in force, or one adopted before, is not adopted again.

    At start a file version adopted before (and since replaced by an AdoptPolicy) is left alone: the newer
    policy stays in force until a newer file version is deployed.
    """
    if not actor.oversees_all:
        raise forbidden("only the district office adopts a care policy", zh="只有区老干部局可以发布关怀政策")
    if state.current == policy.version:
        if at_start:
            return []
        raise conflict(f"policy {policy.version} is already in force", zh=f"关怀政策 {policy.version} 版已在执行")
    if policy.version in state.versions:
        if at_start:
            return []
        raise conflict(f"policy version {policy.version} was adopted before; give a new version",
                       zh=f"关怀政策 {policy.version} 版此前已发布过，请使用新的版本号")
    return [PolicyAdopted(version=policy.version, policy=raw, adopted_at=now)]
