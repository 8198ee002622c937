"""The profiles service's language: the retiree archive (退休人员档案)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Command, Event, Query

SERVICE = "profiles"

UnitCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
DocumentNumber = Annotated[str, Field(min_length=1, max_length=100)]


class RetireeCategory(StrEnum):
    CADRE = "cadre"  # 干部
    WORKER = "worker"  # 工人 / 工勤人员


def retiree_stream(retiree_id: UUID) -> str:
    return f"retiree-{retiree_id}"


# ---- commands ----


class ApproveRetirement(Command):
    """退休文件印发或批复: the approval everything else hangs on."""

    retiree_id: UUID
    unit: UnitCode
    document_number: DocumentNumber
    approved_on: date
    retirement_date: date
    category: RetireeCategory


# ---- events ----


class RetirementApproved(Event):
    type: Literal["RetirementApproved"] = "RetirementApproved"
    retiree_id: UUID
    unit: str
    document_number: str
    approved_on: date
    retirement_date: date
    category: RetireeCategory


# ---- queries ----


class GetRetiree(Query):
    retiree_id: UUID


COMMANDS: tuple[type[Command], ...] = (ApproveRetirement,)
EVENTS: tuple[type[Event], ...] = (RetirementApproved,)
QUERIES: tuple[type[Query], ...] = (GetRetiree,)
