"""The care policy as data (deploy/care-policy.json): every number the care rules use, versioned."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.care import EscalationLevel, TaskKind

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[2] / "deploy" / "care-policy.json"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EscalationStep(Frozen):
    level: EscalationLevel
    after_due_hours: int = Field(ge=0)


class ContactCadence(Frozen):
    high_risk_every_months: int = Field(ge=1, le=12)
    normal_every_months: int = Field(ge=1, le=12)
    high_risk_age: int = Field(ge=50, le=120)


class AssistancePolicy(Frozen):
    decision_days: int = Field(ge=1, le=365)
    approval_limits_yuan: dict[str, int]


# Kinds opened by an event whose due time is a number of hours after it (calendar kinds use dates).
EVENT_TRIGGERED = frozenset({TaskKind.HOSPITAL_VISIT, TaskKind.DISCHARGE_FOLLOW_UP, TaskKind.FAMILY_EMERGENCY_VISIT,
                             TaskKind.BEREAVEMENT_VISIT})


class Policy(Frozen):
    model_config = ConfigDict(frozen=True, extra="ignore")  # "_comment" and future keys are ignored

    version: str = Field(min_length=1, max_length=40)
    due_hours: dict[TaskKind, Annotated[int, Field(ge=0)]]
    due_soon_hours: int = Field(ge=0)
    escalation: list[EscalationStep]
    milestone_ages: list[int]
    birthday_open_days_before: int = Field(ge=0, le=90)
    contact: ContactCadence
    # The district's rule is a yearly exam (健康档案: yearly), and tasks, periods and the exam score are per
    # calendar year; another cadence is refused rather than silently ignored.
    health_exam_every_months: int
    political_birthday_open_days_before: int = Field(ge=0, le=60)
    party_honour_years: int = Field(ge=1, le=100)
    talent_review_every_years: int = Field(ge=1, le=10)
    double_ninth_age_bands: list[tuple[int, int | None]]
    assistance: AssistancePolicy

    @field_validator("health_exam_every_months")
    @classmethod
    def _exams_are_yearly(cls, months: int) -> int:
        if months != 12:  # noqa: PLR2004
            msg = f"{months} is not supported: the health exam is yearly, one per calendar year (12)"
            raise ValueError(msg)
        return months

    @model_validator(mode="after")
    def _event_kinds_have_due_times(self) -> Policy:
        missing = EVENT_TRIGGERED - set(self.due_hours)
        if missing:
            msg = f"due_hours lacks {', '.join(sorted(k.value for k in missing))}"
            raise ValueError(msg)
        return self

    def due_after(self, kind: TaskKind, start: datetime) -> datetime:
        return start + timedelta(hours=self.due_hours[kind])

    def approval_limit(self, level: str) -> int | None:
        return self.assistance.approval_limits_yuan.get(level)


def load_policy(path: Path = DEFAULT_POLICY_FILE) -> Policy:
    return parse_policy(json.loads(path.read_text(encoding="utf-8")))


def parse_policy(raw: dict[str, Any]) -> Policy:
    return Policy.model_validate(raw)
