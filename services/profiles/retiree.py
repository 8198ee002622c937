"""The retiree aggregate: pure decide/evolve over the retiree's event stream."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from contracts.base import Event
from contracts.errors import conflict, refused
from contracts.profiles import ApproveRetirement, RetirementApproved


class Status(StrEnum):
    UNKNOWN = "unknown"
    APPROVED = "approved"


@dataclass(frozen=True)
class Retiree:
    status: Status = Status.UNKNOWN
    unit: str | None = None
    version: int = 0


def evolve(state: Retiree, event: Event) -> Retiree:
    match event:
        case RetirementApproved(unit=unit):
            return replace(state, status=Status.APPROVED, unit=unit, version=state.version + 1)
        case _:
            return replace(state, version=state.version + 1)


def decide_approve(cmd: ApproveRetirement, state: Retiree, now: datetime) -> list[Event]:
    if state.status is Status.APPROVED:
        raise conflict("the retirement of this retiree is already approved", retiree_id=str(cmd.retiree_id))
    if cmd.approved_on > now.date():
        raise refused(f"approval date {cmd.approved_on} is in the future", field="approved_on")
    return [
        RetirementApproved(
            retiree_id=cmd.retiree_id,
            unit=cmd.unit,
            document_number=cmd.document_number,
            approved_on=cmd.approved_on,
            retirement_date=cmd.retirement_date,
            category=cmd.category,
        )
    ]
